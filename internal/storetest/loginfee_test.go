package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
)

// choosePlan records an account's plan choice for an area, under its lock,
// as billing does (without billing's ledger and audit rows).
func choosePlan(t *testing.T, s *store.Store, a access.Account, area, plan string) {
	t.Helper()
	ctx := context.Background()
	err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.LockAccount(ctx, tx, a.ID); err != nil {
			return err
		}
		return s.ChoosePlanTx(ctx, tx, a.ID, area, plan, a.Username)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLoginBatchReadsNextPlan: the login batch tells each request in an
// area with plans which plan the next cycle would run under and its fee —
// the account's choice, or the default when it chose none or chose a plan
// the area no longer offers — and reads no choice for a request in an area
// without plans (the same account's choice of another area's name is not
// its plan there). One batch mixes them all.
func TestLoginBatchReadsNextPlan(t *testing.T) {
	t.Parallel()
	plans := []access.Plan{
		{Name: "dorm-a", Fee: 2000, Cycle: 720 * time.Hour},
		{Name: "dorm-b", Fee: 3000, Cycle: 720 * time.Hour},
	}
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		aaa := store.NewAAA(s)
		defer aaa.Close()
		chose := newAccount(t, s, "fee-chose-b")
		none := newAccount(t, s, "fee-none")
		gone := newAccount(t, s, "fee-gone")
		choosePlan(t, s, chose, "dorm", "dorm-b")
		choosePlan(t, s, chose, "flat", "dorm-b") // a choice in a flat area is never read
		choosePlan(t, s, gone, "dorm", "dorm-old")

		reqs := []access.LoginRequest{
			{Username: chose.Username, NAS: "n1", Area: "dorm", Billed: true, Plans: plans},
			{Username: chose.Username, NAS: "n2", Area: "flat", Billed: true},
			{Username: none.Username, NAS: "n1", Area: "dorm", Billed: true, Plans: plans},
			{Username: gone.Username, NAS: "n1", Area: "dorm", Billed: true, Plans: plans},
			{Username: "fee-nobody", NAS: "n1", Area: "dorm", Billed: true, Plans: plans},
		}
		type got struct {
			found bool
			plan  string
			fee   access.Fen
		}
		want := []got{{true, "dorm-b", 3000}, {true, "", 0}, {true, "dorm-a", 2000}, {true, "dorm-a", 2000}, {false, "", 0}}
		var seen []got
		_, err := aaa.AuthorizeLogins(ctx, reqs, func(i int, st *access.LoginState) access.LoginDecision {
			if i == 0 {
				seen = seen[:0] // a retried transaction decides again
			}
			seen = append(seen, got{st.Found, st.NextPlan, st.NextFee})
			return access.LoginDecision{Log: access.AuthLogEntry{Username: reqs[i].Username, Result: "reject", Reason: "TEST"}}
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != len(want) {
			t.Fatalf("decided %d requests, want %d", len(seen), len(want))
		}
		for i := range want {
			if seen[i] != want[i] {
				t.Errorf("request %d (%s in %s): found %v, next plan %q at %s; want found %v, %q at %s", i, reqs[i].Username, reqs[i].Area,
					seen[i].found, seen[i].plan, seen[i].fee, want[i].found, want[i].plan, want[i].fee)
			}
		}

		// A batch of flat areas only reads no choice at all.
		_, err = aaa.AuthorizeLogins(ctx, []access.LoginRequest{{Username: chose.Username, NAS: "n2", Area: "flat", Billed: true}},
			func(i int, st *access.LoginState) access.LoginDecision {
				if !st.Found || st.NextPlan != "" || st.NextFee != 0 {
					t.Errorf("flat-only batch: found %v, next plan %q at %s; want the account, no plan", st.Found, st.NextPlan, st.NextFee)
				}
				return access.LoginDecision{Log: access.AuthLogEntry{Username: chose.Username, Result: "reject", Reason: "TEST"}}
			})
		if err != nil {
			t.Fatal(err)
		}
	})
}
