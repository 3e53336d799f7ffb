package radius_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusnet/campusnet/billing"
	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/internal/testwait"
	"github.com/campusnet/campusnet/radius"
)

// planConfig is a dorm with a 50 GB plan that slows down past it and a
// walled garden for students in arrears, behind a Huawei BAS.
const planConfig = `
[[area]]
name = "dorm"
plans = ["dorm-50g"]
arrears = "garden"
rate_up_kbps = 10000
rate_down_kbps = 20000

[[plan]]
name = "dorm-50g"
fee = 20.00
allowance_gb = 50
over = "slow"
slow_up_kbps = 2048
slow_down_kbps = 4096

[[nas]]
name = "dorm-bras-1"
ip = "127.0.0.1"
secret = "testing123"
area = "dorm"
vendor = "huawei"
garden_filter_id = "campusnet-garden"
slow_filter_id = "campusnet-slow"
`

var (
	fullAuth       = bas.Authorization{UpKbps: 10000, DownKbps: 20000}
	slowAuth       = bas.Authorization{UpKbps: 2048, DownKbps: 4096, FilterID: "campusnet-slow"}
	restrictedAuth = bas.Authorization{UpKbps: 10000, DownKbps: 20000, FilterID: "campusnet-garden"}
)

type planEnv struct {
	*env
	enf *radius.Enforcer
	b   *bas.BAS
}

func startPlanEnv(t *testing.T, kind string) *planEnv {
	t.Helper()
	clock := storetest.NewClock(time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC))
	st := storetest.New(t, kind, store.WithClock(clock.Now))
	e := startEnvConfig(t, planConfig, st, clock)
	enf := radius.NewEnforcer(radius.EnforcerConfig{Store: st, Areas: e.cfg.AccessAreas(), NAS: e.cfg.AccessBASes(),
		Disconnector: e.disc, Timeout: 200 * time.Millisecond, Tries: 2, StaleAfter: access.StaleAfter(interim),
		Now: clock.Now, Registerer: prometheus.NewRegistry(), Log: testLog(t)})
	t.Cleanup(func() { enf.Close() })
	b := e.bas("dorm-bras-1")
	e.serveCoA(b)
	return &planEnv{env: e, enf: enf, b: b}
}

// online logs mac in by MAC authentication and starts its accounting.
func (e *planEnv) online(mac, ip string) string {
	e.t.Helper()
	r := mustAuth(e.t, e.b, bas.AuthRequest{MAC: mac, UserIP: addr(ip)})
	if !r.Accepted {
		e.t.Fatalf("%s refused: %q", mac, r.ReplyMessage)
	}
	if err := e.b.Start(context.Background(), r.AcctSessionID); err != nil {
		e.t.Fatal(err)
	}
	return r.AcctSessionID
}

func (e *planEnv) authorization(acctSessionID string) bas.Authorization {
	e.t.Helper()
	s, ok := e.b.Session(acctSessionID)
	if !ok {
		e.t.Fatalf("session %s is not on the BAS", acctSessionID)
	}
	return s.Authorization
}

// session is the account's session row of an Acct-Session-Id.
func (e *planEnv) session(a access.Account, acctSessionID string) access.Session {
	e.t.Helper()
	for _, s := range e.sessions(a, false) {
		if s.AcctSessionID == acctSessionID {
			return s
		}
	}
	e.t.Fatalf("no session %s", acctSessionID)
	return access.Session{}
}

// setProfile sets the account's active cycle's profile, as the meter does.
func (e *planEnv) setProfile(a access.Account, p access.Profile) {
	e.t.Helper()
	ctx := context.Background()
	err := e.st.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := e.st.LockAccount(ctx, tx, a.ID); err != nil {
			return err
		}
		c, err := e.st.ActiveCycleTx(ctx, tx, a.ID, "dorm")
		if err != nil {
			return err
		}
		return e.st.SetCycleProfileTx(ctx, tx, c.ID, p)
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *planEnv) enforce(wantChecked, wantACK, wantNAK int) {
	e.t.Helper()
	rep, err := e.enf.Enforce(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	if rep.Checked != wantChecked || rep.ACK != wantACK || rep.NAK != wantNAK {
		e.t.Fatalf("enforce = %+v, want %d changed, %d ACK, %d NAK", rep, wantChecked, wantACK, wantNAK)
	}
}

// TestEnforceSlowProfile: a cycle whose profile becomes slow gets its
// sessions slowed by CoA (the simulator applies the rate and Filter-Id),
// recorded and audited; the next Access-Accept carries the slow rate; back
// to full restores the area's rate; a BAS that NAKs the CoA gets a
// Disconnect-Request.
func TestEnforceSlowProfile(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := startPlanEnv(t, kind)
			ctx := context.Background()
			a := e.account("2026301", "pw", access.RoleStudent, 5000)
			e.bind(a, "02:00:00:03:01:01", access.ClassPC)
			e.bind(a, "02:00:00:03:01:02", access.ClassMobile)
			s1 := e.online("02:00:00:03:01:01", "10.3.1.1")
			if got := e.authorization(s1); got != fullAuth {
				t.Fatalf("login at the full rate: BAS applies %+v, want %+v", got, fullAuth)
			}
			testwait.For(t, "the cycle", func() bool { _, err := e.st.ActiveCycle(ctx, a.ID, "dorm"); return err == nil })
			e.enforce(0, 0, 0) // nothing differs

			e.setProfile(a, access.ProfileSlow)
			e.enforce(1, 1, 0)
			if got := e.authorization(s1); got != slowAuth {
				t.Fatalf("after the CoA the BAS applies %+v, want the slow rate %+v", got, slowAuth)
			}
			if p := e.session(a, s1).Profile; p != access.ProfileSlow {
				t.Fatalf("session profile %q, want slow", p)
			}
			audit, err := e.st.AuditLog(ctx, a.Username, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(audit) == 0 || audit[0].Action != "session.coa" || audit[0].Actor != "billing" || !strings.Contains(audit[0].Detail, "to=slow") {
				t.Fatalf("audit log %+v, want a session.coa entry by billing", audit)
			}
			e.enforce(0, 0, 0) // recorded: not sent again

			// A new login of the account carries the slow rate, and starts
			// with the slow profile: no CoA follows.
			s2 := e.online("02:00:00:03:01:02", "10.3.1.2")
			if got := e.authorization(s2); got != slowAuth {
				t.Fatalf("login while slow: Access-Accept gave %+v, want %+v", got, slowAuth)
			}
			if p := e.session(a, s2).Profile; p != access.ProfileSlow {
				t.Fatalf("new session's profile %q, want slow", p)
			}
			e.enforce(0, 0, 0)

			e.setProfile(a, access.ProfileFull)
			e.enforce(2, 2, 0)
			for _, s := range []string{s1, s2} {
				if got := e.authorization(s); got != fullAuth {
					t.Fatalf("restored: BAS applies %+v to %s, want %+v", got, s, fullAuth)
				}
			}

			// A BAS that cannot change a live session: NAK, then Disconnect.
			e.b.SetCoANAK(405)
			e.setProfile(a, access.ProfileSlow)
			e.enforce(2, 0, 2)
			if _, naks := e.b.CoACounts(); naks != 2 {
				t.Fatalf("CoA NAKs %d, want 2", naks)
			}
			for _, s := range []string{s1, s2} {
				if _, ok := e.b.Session(s); ok {
					t.Fatalf("session %s still on the BAS after its CoA was refused", s)
				}
				if st := e.session(a, s).Status; st != access.SessionClosed {
					t.Fatalf("session %s is %s, want closed", s, st)
				}
			}
			if acks, _ := e.b.DisconnectCounts(); acks != 2 {
				t.Fatalf("Disconnect ACKs %d, want 2", acks)
			}
		})
	}
}

// TestGardenArrears: in a garden area, a login whose balance does not
// cover the cycle is accepted into the restricted profile (no cycle
// starts); settlement's sweep leaves it online; a recharge starts the
// cycle and lifts the restriction by CoA, without a new login.
func TestGardenArrears(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := startPlanEnv(t, kind)
			ctx := context.Background()
			a := e.account("2026302", "pw", access.RoleStudent, 500) // 5 yuan, the fee is 20
			e.bind(a, "02:00:00:03:02:01", access.ClassPC)
			s := e.online("02:00:00:03:02:01", "10.3.2.1")
			if got := e.authorization(s); got != restrictedAuth {
				t.Fatalf("login in arrears: BAS applies %+v, want the garden %+v", got, restrictedAuth)
			}
			testwait.For(t, "the session online", func() bool { return e.session(a, s).Status == access.SessionOnline })
			if p := e.session(a, s).Profile; p != access.ProfileRestricted {
				t.Fatalf("session profile %q, want restricted", p)
			}
			if _, err := e.st.ActiveCycle(ctx, a.ID, "dorm"); err == nil {
				t.Fatal("a cycle started for a balance that does not cover it")
			}
			e.enforce(0, 0, 0)

			svc, err := billing.New(e.st, billing.Config{Areas: e.cfg.AccessAreas(), Disconnector: e.disc, Enforcer: e.enf,
				StaleAfter: access.StaleAfter(interim), Registerer: prometheus.NewRegistry(), Log: testLog(t)})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := svc.Settle(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Disconnects) != 0 || rep.Started != 0 {
				t.Fatalf("settlement %s: the garden session must stay online, restricted", rep)
			}
			if _, ok := e.b.Session(s); !ok {
				t.Fatal("the garden session was disconnected")
			}
			// The student hears of the arrears once, whatever the runs.
			if _, err := svc.Settle(ctx); err != nil {
				t.Fatal(err)
			}
			events, err := e.st.Notifications(ctx, store.NotificationFilter{AccountID: a.ID})
			if err != nil {
				t.Fatal(err)
			}
			if n := countEvents(events, access.EventArrears); n != 1 {
				t.Fatalf("%d arrears events for a student kept in the garden, want 1: %+v", n, events)
			}

			if _, err := svc.Recharge(ctx, a.Username, 2000, "desk", "r-2026302-1", "cash"); err != nil {
				t.Fatal(err)
			}
			if _, err := e.st.ActiveCycle(ctx, a.ID, "dorm"); err != nil {
				t.Fatalf("no cycle after the recharge: %v", err)
			}
			if got := e.authorization(s); got != fullAuth {
				t.Fatalf("after the recharge the BAS applies %+v, want the full rate %+v without a new login", got, fullAuth)
			}
			if p := e.session(a, s).Profile; p != access.ProfileFull {
				t.Fatalf("session profile %q after the recharge, want full", p)
			}
		})
	}
}

// countEvents counts the notifications of one event.
func countEvents(ns []access.Notification, event string) int {
	n := 0
	for _, x := range ns {
		if x.Event == event {
			n++
		}
	}
	return n
}
