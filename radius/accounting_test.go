package radius_test

import (
	"context"
	"testing"

	"layeh.com/radius/rfc2866"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/internal/storetest"
)

func TestAccounting(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := startEnv(t, kind)
			dorm := e.bas("dorm-bras-1")
			ctx := context.Background()
			a := e.account("2026060", "pw", access.RoleStudent, 5000)
			e.bind(a, "02:00:00:00:60:01", access.ClassMobile)

			res := mustAuth(t, dorm, bas.AuthRequest{MAC: "02:00:00:00:60:01", UserIP: addr("10.0.6.1")})
			if !res.Accepted {
				t.Fatalf("refused: %q", res.ReplyMessage)
			}
			live := e.sessions(a, true)
			if len(live) != 1 || live[0].Status != access.SessionReserved || live[0].Class != access.ClassMobile || live[0].Correlation != string(res.Class) {
				t.Fatalf("after Access-Accept: %+v", live)
			}
			// Start: the reservation goes online; a billed area starts the cycle.
			if err := dorm.Start(ctx, res.AcctSessionID); err != nil {
				t.Fatal(err)
			}
			s := e.sessions(a, true)[0]
			// NAS-Port-Id of the Start says where on the BAS the student is.
			if s.Status != access.SessionOnline || s.AcctSessionID != res.AcctSessionID || s.IP != "10.0.6.1" || s.StartedAt == 0 ||
				s.NASPort != "slot=0;subslot=0;port=7;vlanid=1538" {
				t.Fatalf("after Start: %+v", s)
			}
			if c, err := e.st.ActiveCycle(ctx, a.ID, "dorm"); err != nil || c.Fee != 2000 {
				t.Fatalf("cycle after the first Start in the dorm: %+v, %v", c, err)
			}
			// A repeated Start (new Identifier, so not a retransmission) records nothing.
			snap, _ := dorm.Session(res.AcctSessionID)
			if err := dorm.Account(ctx, rfc2866.AcctStatusType_Value_Start, snap); err != nil {
				t.Fatal(err)
			}
			if all := e.sessions(a, false); len(all) != 1 {
				t.Fatalf("%d sessions after a repeated Start, want 1", len(all))
			}
			// Interim-Update with more than 4 GiB: gigawords count.
			if err := dorm.AddTraffic(res.AcctSessionID, 5<<30, 7<<30); err != nil {
				t.Fatal(err)
			}
			if err := dorm.Interim(ctx, res.AcctSessionID); err != nil {
				t.Fatal(err)
			}
			s = e.sessions(a, true)[0]
			if s.InputOctets != 5<<30+1<<20 || s.OutputOctets != 7<<30+4<<20 {
				t.Fatalf("octets after Interim-Update: in %d out %d", s.InputOctets, s.OutputOctets)
			}
			snap, _ = dorm.Session(res.AcctSessionID)
			// Stop, twice: closed once, same counters.
			if err := dorm.Stop(ctx, res.AcctSessionID); err != nil {
				t.Fatal(err)
			}
			if err := dorm.Account(ctx, rfc2866.AcctStatusType_Value_Stop, snap); err != nil {
				t.Fatal(err)
			}
			all := e.sessions(a, false)
			if len(all) != 1 || all[0].Status != access.SessionClosed || all[0].CloseReason != "stop" ||
				all[0].TerminateCause != "User-Request" || all[0].InputOctets != 5<<30+1<<20 {
				t.Fatalf("after Stop: %+v", all)
			}

			// A Start with no reservation (another node decided, or this one
			// restarted) still records the session.
			// Its NAS-Port-Id has a control character: not recorded.
			orphan := bas.Session{AcctSessionID: "ORPHAN-1", UserName: a.Username, MAC: "02:00:00:00:60:09", UserIP: addr("10.0.6.9"), NASPortID: "port\x1b[2J"}
			if err := dorm.Account(ctx, rfc2866.AcctStatusType_Value_Start, orphan); err != nil {
				t.Fatal(err)
			}
			live = e.sessions(a, true)
			if len(live) != 1 || live[0].AcctSessionID != "ORPHAN-1" || live[0].Status != access.SessionOnline || live[0].NASPort != "" {
				t.Fatalf("Start without reservation: %+v", live)
			}
			// …also when User-Name is the MAC of a bound device.
			byMAC := bas.Session{AcctSessionID: "ORPHAN-2", UserName: "02-00-00-00-60-01", MAC: "02:00:00:00:60:01"}
			if err := dorm.Account(ctx, rfc2866.AcctStatusType_Value_Start, byMAC); err != nil {
				t.Fatal(err)
			}
			if live = e.sessions(a, true); len(live) != 2 {
				t.Fatalf("Start by a bound MAC: %+v", live)
			}
			// A Start naming nobody is acknowledged and not recorded.
			if err := dorm.Account(ctx, rfc2866.AcctStatusType_Value_Start, bas.Session{AcctSessionID: "X", UserName: "nobody"}); err != nil {
				t.Fatal(err)
			}
			// An Interim-Update for a session never started records it.
			late := bas.Session{AcctSessionID: "LATE-1", UserName: a.Username, InputOctets: 100, OutputOctets: 200}
			if err := dorm.Account(ctx, rfc2866.AcctStatusType_Value_InterimUpdate, late); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, s := range e.sessions(a, true) {
				if s.AcctSessionID == "LATE-1" && s.InputOctets == 100 {
					found = true
				}
			}
			if !found {
				t.Fatal("an Interim-Update without Start was not recorded")
			}
			// Accounting-Off closes every session of the BAS.
			if err := dorm.Account(ctx, rfc2866.AcctStatusType_Value_AccountingOff, bas.Session{AcctSessionID: "OFF"}); err != nil {
				t.Fatal(err)
			}
			if live = e.sessions(a, true); len(live) != 0 {
				t.Fatalf("live sessions after Accounting-Off: %+v", live)
			}
		})
	}
}
