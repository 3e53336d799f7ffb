package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/config"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/storetest"
)

// TestSecondDemoRunPrintsTheRealState: a second `serve --demo` on the same
// database does not reseed; what it prints about the accounts is what a
// login meets now — after a recharge, a password reset and a disabling —
// not the seeded values. staff1 starts with nothing and is billed in the
// dorm like everyone else.
func TestSecondDemoRunPrintsTheRealState(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.NewSQLite(t)
	log := slog.New(slog.DiscardHandler)
	def, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	lines := func() string {
		if err := seedDemo(ctx, st, log); err != nil {
			t.Fatal(err)
		}
		return strings.Join(demoAccountLines(ctx, st, def.AccessAreas(), "dorm"), "\n")
	}
	first := lines()
	for _, want := range []string{"student1 / student1-pass", "50.00 yuan, the dorm opens", "student2 / student2-pass",
		"10.00 yuan, in arrears for the dorm (20.00 per cycle)", "staff1 / staff1-pass", "staff, 0.00 yuan, in arrears for the dorm"} {
		if !strings.Contains(first, want) {
			t.Fatalf("first run lacks %q:\n%s", want, first)
		}
	}
	// What an operator does in the demo: recharge student2, reset staff1's
	// password, disable student1.
	if err := st.InTx(ctx, func(tx *sqlx.Tx) error {
		a, err := st.AccountByUsername(ctx, "student2")
		if err != nil {
			return err
		}
		a, err = st.LockAccount(ctx, tx, a.ID)
		if err != nil {
			return err
		}
		_, err = st.AddLedgerTx(ctx, tx, &a, access.LedgerRecharge, 2000, "admin", "test:recharge", "demo")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	hash, err := identity.HashPassword("temp-123456", identity.InitialParams)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.ResetPassword(ctx, "admin", "staff1", hash, "forgot"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetDisabled(ctx, "admin", "student1", true, "demo: disabled"); err != nil {
		t.Fatal(err)
	}
	second := lines()
	for _, want := range []string{"30.00 yuan, the dorm opens", "staff1 / (a temporary password from an operator)", "disabled: demo: disabled"} {
		if !strings.Contains(second, want) {
			t.Fatalf("second run lacks %q:\n%s", want, second)
		}
	}
	if strings.Contains(second, "10.00 yuan") || strings.Contains(second, "staff1 / staff1-pass") {
		t.Fatalf("second run prints the seeded state:\n%s", second)
	}
}
