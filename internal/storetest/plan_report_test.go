package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
)

// TestTrafficByPlan: the NOC's daily traffic by plan attributes each
// account's day (usage_days, fed by accounting) to the plan of the cycle
// active that day: a day without a cycle to none, a cycle from before
// plans to the area's flat plan, the day a cycle ends and the next begins
// to the new one; days outside the window count nowhere.
func TestTrafficByPlan(t *testing.T) {
	t.Parallel()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, shanghai)
	var clock *Clock
	ForEach(t, func(t *testing.T, s *store.Store) {
		clock = NewClock(t0)
		ctx := context.Background()
		aaa := store.NewAAA(s)
		defer aaa.Close()
		a := billingAccount(t, s, "plan-a", 10000)
		b := billingAccount(t, s, "plan-b", 0)
		c := billingAccount(t, s, "plan-c", 10000)
		record := func(r access.AcctRecord) access.AcctResult {
			t.Helper()
			res, err := aaa.RecordAccounting(ctx, []access.AcctRecord{r})
			if err != nil {
				t.Fatal(err)
			}
			return res[0]
		}
		rec := func(kind string, acc access.Account, area string, in, out int64) access.AcctRecord {
			r := access.AcctRecord{Kind: kind, NAS: "n1", Area: area, AcctSessionID: "s-" + acc.Username, Username: acc.Username,
				MAC: fmt.Sprintf("02:00:00:00:0b:%02x", acc.ID%256), IP: fmt.Sprintf("10.6.0.%d", acc.ID%250+1), InputOctets: in, OutputOctets: out}
			if area == "dorm" {
				r.Fee, r.CycleLength = 2000, 72*time.Hour
			}
			return r
		}
		cycle := func(acc access.Account) access.Cycle {
			t.Helper()
			cy, err := s.ActiveCycle(ctx, acc.ID, "dorm")
			if err != nil {
				t.Fatal(err)
			}
			return cy
		}
		// 2026-11-30: a and c start their dorm cycles (to 12-03 10:00);
		// b is in a free area. a's traffic of today is before the window.
		if r := record(rec(access.AcctStart, a, "dorm", 0, 0)); !r.CycleStarted {
			t.Fatalf("a's Start: %+v", r)
		}
		if r := record(rec(access.AcctStart, c, "dorm", 0, 0)); !r.CycleStarted {
			t.Fatalf("c's Start: %+v", r)
		}
		record(rec(access.AcctStart, b, "office", 0, 0))
		SetCycleTerms(t, s, cycle(a).ID, "dorm-50g", 50*access.GB, access.ProfileFull)
		record(rec(access.AcctInterim, a, "dorm", 7, 7))

		clock.Advance(24 * time.Hour) // 12-01
		record(rec(access.AcctInterim, a, "dorm", 7+400, 7+600))
		record(rec(access.AcctInterim, b, "office", 200, 300))
		record(rec(access.AcctInterim, c, "dorm", 100, 200))
		clock.Advance(24 * time.Hour) // 12-02
		record(rec(access.AcctInterim, a, "dorm", 407+500, 607+500))

		// 12-03 12:00: a's first cycle ended at 10:00 and the next began,
		// under another plan; today's traffic is the new plan's.
		clock.Advance(26 * time.Hour)
		old := cycle(a)
		err := s.InTx(ctx, func(tx *sqlx.Tx) error {
			if _, err := s.LockAccount(ctx, tx, a.ID); err != nil {
				return err
			}
			if err := s.MarkCycleSettledTx(ctx, tx, old.ID, 0); err != nil {
				return err
			}
			_, err := s.InsertCycleTx(ctx, tx, a.ID, "dorm", 2000, access.FromMillis(old.EndsAt), 72*time.Hour)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		SetCycleTerms(t, s, cycle(a).ID, "dorm-flat", 0, access.ProfileFull)
		record(rec(access.AcctInterim, a, "dorm", 907+2000, 1107+2000))

		got, err := s.TrafficByPlan(ctx, "2026-12-01", "2026-12-04")
		if err != nil {
			t.Fatal(err)
		}
		want := []access.PlanDay{
			{Day: "2026-12-01", Area: "", Plan: "", Bytes: 500, Accounts: 1},
			{Day: "2026-12-01", Area: "dorm", Plan: "", Bytes: 300, Accounts: 1},
			{Day: "2026-12-01", Area: "dorm", Plan: "dorm-50g", Bytes: 1000, Accounts: 1},
			{Day: "2026-12-02", Area: "dorm", Plan: "dorm-50g", Bytes: 1000, Accounts: 1},
			{Day: "2026-12-03", Area: "dorm", Plan: "dorm-flat", Bytes: 4000, Accounts: 1},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("traffic by plan:\n got %v\nwant %v", got, want)
		}
		for _, bad := range [][2]string{{"2026-12-04", "2026-12-01"}, {"2026-10-01", "2026-12-31"}, {"12/01/2026", "2026-12-02"}, {"2026-12-01", "x\x00"}} {
			if _, err := s.TrafficByPlan(ctx, bad[0], bad[1]); !errors.Is(err, access.ErrInvalid) {
				t.Errorf("TrafficByPlan(%q, %q): %v, want ErrInvalid", bad[0], bad[1], err)
			}
		}
	}, store.WithClock(func() time.Time { return clock.Now() }), store.WithLocation(shanghai))
}

// TestAddCycleUsage: the meter's write adds to the cycle's counted traffic
// and returns the total, which PlanStatus then shows against the limit; a
// negative delta or an unknown cycle changes nothing.
func TestAddCycleUsage(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acc := billingAccount(t, s, "usage-a", 5000)
		var cy access.Cycle
		err := s.InTx(ctx, func(tx *sqlx.Tx) error {
			var started bool
			var err error
			cy, started, err = s.StartCycleTx(ctx, tx, &acc, "dorm", 2000, 720*time.Hour)
			if err == nil && !started {
				err = errors.New("no cycle started")
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		SetCycleTerms(t, s, cy.ID, "dorm-50g", 50*access.GB, access.ProfileFull)
		if used := AddCycleUsage(t, s, cy.ID, 3*access.GB); used != 3*access.GB {
			t.Fatalf("used after 3 GB: %d", used)
		}
		if used := AddCycleUsage(t, s, cy.ID, access.GB/2); used != 3*access.GB+access.GB/2 {
			t.Fatalf("used after 3.5 GB: %d", used)
		}
		for _, tc := range []struct {
			id, bytes int64
			want      error
		}{{cy.ID, -1, access.ErrInvalid}, {cy.ID + 1000, 10, access.ErrNotFound}} {
			err := s.InTx(ctx, func(tx *sqlx.Tx) error {
				_, err := s.AddCycleUsageTx(ctx, tx, tc.id, tc.bytes)
				return err
			})
			if !errors.Is(err, tc.want) {
				t.Errorf("AddCycleUsageTx(#%d, %d): %v, want %v", tc.id, tc.bytes, err, tc.want)
			}
		}
		area := access.Area{Name: "dorm", Fee: 2000, Cycle: 720 * time.Hour,
			Plans: []access.Plan{{Name: "dorm-50g", Fee: 2000, Cycle: 720 * time.Hour, Allowance: 50 * access.GB, Over: access.OverSlow, SlowUpKbps: 2048, SlowDownKbps: 2048}}}
		st, err := s.PlanStatus(ctx, acc.ID, area)
		if err != nil {
			t.Fatal(err)
		}
		if st.Used() != 3*access.GB+access.GB/2 || st.Remaining() != 50*access.GB-st.Used() || st.Percent() != 7 {
			t.Errorf("plan status: used %d, remaining %d, %d %%", st.Used(), st.Remaining(), st.Percent())
		}
	})
}
