package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
)

// TestUsageDaysExact: per-day traffic comes from the counters' growth, so
// retransmitted and out-of-order Interim-Updates, repeated Stops and the
// same Interim recorded by several nodes at once add nothing; traffic
// reported after midnight (campus time) counts on the new day; counters
// past 4 GiB (Gigawords) count in full.
func TestUsageDaysExact(t *testing.T) {
	t.Parallel()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	// 23:50 in Shanghai on 2026-12-01 is 15:50 UTC.
	start := time.Date(2026, 12, 1, 23, 50, 0, 0, shanghai)
	var clock *Clock
	ForEach(t, func(t *testing.T, s *store.Store) {
		clock = NewClock(start) // each store's run starts at 23:50
		ctx := context.Background()
		aaa := store.NewAAA(s)
		defer aaa.Close()
		acc := newAccount(t, s, "traffic-a")
		other := newAccount(t, s, "traffic-b")
		rec := func(kind, asid, user string, in, out int64) access.AcctRecord {
			return access.AcctRecord{Kind: kind, NAS: "n1", Area: "office", AcctSessionID: asid, Username: user,
				MAC: "02:00:00:00:0a:0" + asid[len(asid)-1:], IP: "10.5.0.1", InputOctets: in, OutputOctets: out}
		}
		record := func(recs ...access.AcctRecord) []access.AcctResult {
			t.Helper()
			res, err := aaa.RecordAccounting(ctx, recs)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		usage := func(a access.Account) map[string][2]int64 {
			t.Helper()
			days, err := s.UsageDays(ctx, a.ID, "2026-01-01", "2026-12-31")
			if err != nil {
				t.Fatal(err)
			}
			m := map[string][2]int64{}
			for _, d := range days {
				m[d.Day] = [2]int64{d.InputOctets, d.OutputOctets}
			}
			return m
		}
		record(rec(access.AcctStart, "S1", "traffic-a", 0, 0))
		record(rec(access.AcctInterim, "S1", "traffic-a", 100, 1000))
		record(rec(access.AcctInterim, "S1", "traffic-a", 100, 1000)) // retransmitted
		record(rec(access.AcctInterim, "S1", "traffic-a", 300, 3000))
		record(rec(access.AcctInterim, "S1", "traffic-a", 200, 2000)) // late, out of order
		// The same Interim from several nodes at once.
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := aaa.RecordAccounting(ctx, []access.AcctRecord{rec(access.AcctInterim, "S1", "traffic-a", 400, 4000)}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		clock.Advance(20 * time.Minute) // 00:10 on 2026-12-02
		record(rec(access.AcctInterim, "S1", "traffic-a", 500, 5000))
		// A Stop with an older Interim of it in one batch, and a retransmitted Stop.
		record(rec(access.AcctInterim, "S1", "traffic-a", 450, 4500), rec(access.AcctStop, "S1", "traffic-a", 600, 6000))
		record(rec(access.AcctStop, "S1", "traffic-a", 600, 6000))
		// Another account's session: its Start was lost, so its first
		// Interim records it, with counters past 4 GiB; its Stop arrives
		// in the same batch as an Interim of someone else.
		big := int64(5)<<32 + 7
		record(rec(access.AcctInterim, "S2", "traffic-b", big, 2*big))
		record(rec(access.AcctStop, "S2", "traffic-b", big+10, 2*big+20), rec(access.AcctInterim, "S1", "traffic-a", 700, 7000))
		// A Stop that names no session and no account counts nowhere.
		if res := record(rec(access.AcctStop, "S9", "nobody", 1<<20, 1<<20)); res[0].Outcome != access.AcctUnknown {
			t.Errorf("stop of nobody: %s", res[0].Outcome)
		}

		wantA := map[string][2]int64{"2026-12-01": {400, 4000}, "2026-12-02": {200, 2000}}
		if got := usage(acc); fmt.Sprint(got) != fmt.Sprint(wantA) {
			t.Errorf("traffic-a per day: %v, want %v", got, wantA)
		}
		wantB := map[string][2]int64{"2026-12-02": {big + 10, 2*big + 20}}
		if got := usage(other); fmt.Sprint(got) != fmt.Sprint(wantB) {
			t.Errorf("traffic-b per day: %v, want %v", got, wantB)
		}
		sessions, err := s.SessionsByAccount(ctx, acc.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(sessions) != 1 || sessions[0].InputOctets != 600 || sessions[0].OutputOctets != 6000 {
			t.Errorf("session S1: %+v, want closed with 600/6000", sessions)
		}
	}, store.WithClock(func() time.Time { return clock.Now() }), store.WithLocation(shanghai))
}
