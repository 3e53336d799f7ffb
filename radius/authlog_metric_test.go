package radius_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/internal/testwait"
	"github.com/campusnet/campusnet/radius"
)

// TestAuthLogMetricCountsWrites: campusnet_radius_authlog_written_total
// counts the entries the database took, not the decisions queued; when the
// insert fails (here: the table is gone) they count as lost instead.
func TestAuthLogMetricCountsWrites(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := startEnv(t, "sqlite", func(c *radius.Config) { c.Registerer = reg })
	e.account("2026001", "pass-one", access.RoleStudent, 5000)
	dorm := e.bas("dorm-bras-1")
	ctx := context.Background()
	metric := func(name string) float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == name {
				return mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		return 0
	}
	login := func() {
		t.Helper()
		if _, err := dorm.Authenticate(ctx, bas.AuthRequest{UserName: "2026001", Password: "wrong"}); err != nil {
			t.Fatal(err)
		}
	}
	login()
	testwait.For(t, "one entry written", func() bool { return len(e.authLog("2026001")) == 1 })
	if w := metric("campusnet_radius_authlog_written_total"); w != 1 {
		t.Fatalf("written = %v after one entry written", w)
	}
	if _, err := e.st.DB().ExecContext(ctx, `DROP TABLE auth_log`); err != nil {
		t.Fatal(err)
	}
	login()
	login()
	// The writer retries for about 3 s before it gives a batch up.
	deadline := time.Now().Add(20 * time.Second)
	for metric("campusnet_radius_authlog_lost_total") < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if l := metric("campusnet_radius_authlog_lost_total"); l != 2 {
		t.Fatalf("lost = %v, want 2", l)
	}
	if w := metric("campusnet_radius_authlog_written_total"); w != 1 {
		t.Fatalf("written = %v with the table gone, want still 1", w)
	}
}
