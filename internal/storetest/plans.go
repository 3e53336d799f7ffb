package storetest

import (
	"testing"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
)

// CyclePlan is what a cycle holds of its plan and traffic (docs/plans.md):
// what the cycle start copies from the plan and what the meter counts.
type CyclePlan struct {
	Plan      string
	Allowance int64
	Used      int64
	Profile   access.Profile
}

// SetCyclePlan gives a cycle its plan, allowance, counted traffic and
// profile, as the cycle start and the meter would have.
func SetCyclePlan(t testing.TB, st *store.Store, cycleID int64, p CyclePlan) {
	t.Helper()
	res, err := st.DB().Exec(st.Rebind(`UPDATE cycles SET plan = ?, allowance_bytes = ?, used_bytes = ?, profile = ? WHERE id = ?`),
		p.Plan, p.Allowance, p.Used, string(p.Profile), cycleID)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("cycle #%d: %d rows, %v", cycleID, n, err)
	}
}
