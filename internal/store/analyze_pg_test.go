package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/internal/testwait"
)

// TestAnalyzeGrown: on a new install whose tables grow, the store analyzes
// the hot tables that grew (as autovacuum would, where it is off), and
// only those, and not again until they grow again.
func TestAnalyzeGrown(t *testing.T) {
	ctx := context.Background()
	st := storetest.NewPostgres(t)
	db := st.DB()
	if _, err := db.ExecContext(ctx, `ALTER TABLE accounts SET (autovacuum_enabled = false)`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AnalyzeGrown(ctx); err != nil { // whatever the migrations left
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO accounts (username, name, role, balance_fen, created_at, updated_at)
		SELECT 'g' || i, '', 'student', 0, 0, 0 FROM generate_series(1, 500) i`); err != nil {
		t.Fatal(err)
	}
	// The statistics collector reports the inserts a moment later.
	var done []string
	testwait.For(t, "AnalyzeGrown to see the inserts", func() bool {
		var err error
		done, err = st.AnalyzeGrown(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(done) > 0
	})
	if !slices.Equal(done, []string{"accounts"}) {
		t.Fatalf("analyzed %v, want [accounts]", done)
	}
	var tuples float64
	if err := db.GetContext(ctx, &tuples, `SELECT reltuples FROM pg_class WHERE oid = 'accounts'::regclass`); err != nil {
		t.Fatal(err)
	}
	if tuples < 500 {
		t.Fatalf("accounts reltuples = %v after the analyze, want 500", tuples)
	}
	if again, err := st.AnalyzeGrown(ctx); err != nil || len(again) != 0 {
		t.Fatalf("second call analyzed %v (%v), want nothing", again, err)
	}
}
