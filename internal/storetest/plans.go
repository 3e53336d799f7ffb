package storetest

import (
	"context"
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

// SetCycleTerms gives a cycle the plan, allowance and profile that billing
// copies into it when it starts under a plan (and the enforcer sets past
// the allowance), for the tests of what pages show of them.
func SetCycleTerms(t testing.TB, st *store.Store, cycleID int64, plan string, allowance int64, profile access.Profile) {
	t.Helper()
	res, err := st.DB().Exec(st.Rebind(`UPDATE cycles SET plan = ?, allowance_bytes = ?, profile = ? WHERE id = ?`), plan, allowance, string(profile), cycleID)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("cycle #%d: %d rows, %v", cycleID, n, err)
	}
}

// AddCycleUsage adds counted traffic to a cycle through the store's
// AddCycleUsageTx (the meter's write), in a transaction of its own.
func AddCycleUsage(t testing.TB, st *store.Store, cycleID, bytes int64) int64 {
	t.Helper()
	ctx := context.Background()
	tx, err := st.DB().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	used, err := st.AddCycleUsageTx(ctx, tx, cycleID, bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return used
}
