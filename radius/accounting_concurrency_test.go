package radius_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"layeh.com/radius/rfc2866"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/internal/storetest"
)

// TestAccountingConcurrent sends many Accounting-Requests at once, so they
// are recorded in batches: Starts with and without reservation, repeated
// Starts, Interim-Updates and Stops. Each session ends recorded once, with
// its Stop's counters.
func TestAccountingConcurrent(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := startEnv(t, kind)
			b := e.basRetry("dorm-bras-1", 3e9)
			ctx := context.Background()
			const n = 60
			accts := make([]access.Account, n)
			for i := range accts {
				accts[i] = e.account(fmt.Sprintf("2026%03d", 500+i), "pw", access.RoleStudent, 5000)
			}
			// Half with a reservation (Access-Accept first), half without.
			sessions := make([]bas.Session, n)
			for i := range n {
				mac := fmt.Sprintf("02:00:00:05:00:%02x", i)
				if i%2 == 0 {
					e.bind(accts[i], mac, access.ClassPC)
					r := mustAuth(t, b, bas.AuthRequest{MAC: mac})
					if !r.Accepted {
						t.Fatalf("refused: %q", r.ReplyMessage)
					}
					sessions[i], _ = b.Session(r.AcctSessionID)
				} else {
					sessions[i] = bas.Session{AcctSessionID: fmt.Sprintf("CC-%d", i), UserName: accts[i].Username, MAC: mac}
				}
			}
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(2)
				go func() {
					defer wg.Done()
					s := sessions[i]
					for _, st := range []rfc2866.AcctStatusType{rfc2866.AcctStatusType_Value_Start, rfc2866.AcctStatusType_Value_InterimUpdate,
						rfc2866.AcctStatusType_Value_Stop} {
						if st == rfc2866.AcctStatusType_Value_Stop {
							s.InputOctets, s.OutputOctets = uint64(1000+i), uint64(2000+i)
						}
						if err := b.Account(ctx, st, s); err != nil {
							t.Error(err)
						}
					}
				}()
				go func() { // the same Start again, at the same time
					defer wg.Done()
					if err := b.Account(ctx, rfc2866.AcctStatusType_Value_Start, sessions[i]); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			for i, a := range accts {
				all := e.sessions(a, false)
				if len(all) != 1 {
					t.Fatalf("account %d: %d sessions, want 1: %+v", i, len(all), all)
				}
				s := all[0]
				if s.AcctSessionID != sessions[i].AcctSessionID || s.Status != access.SessionClosed || s.InputOctets != int64(1000+i) {
					t.Fatalf("account %d: %+v", i, s)
				}
			}
		})
	}
}
