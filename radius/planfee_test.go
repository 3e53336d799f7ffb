package radius_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/internal/testwait"
	"github.com/campusnet/campusnet/radius/internal/radclient"
)

// planFeeConfig offers two plans, A at 20.00 and B at 30.00, in a dorm that
// refuses students in arrears and in one that puts them in the garden.
const planFeeConfig = `
[[area]]
name = "dorm"
plans = ["plan-a", "plan-b"]

[[area]]
name = "gdorm"
plans = ["plan-a", "plan-b"]
arrears = "garden"

[[plan]]
name = "plan-a"
fee = 20.00

[[plan]]
name = "plan-b"
fee = 30.00

[[nas]]
name = "dorm-bras-1"
ip = "127.0.0.1"
secret = "testing123"
area = "dorm"

[[nas]]
name = "gdorm-bras"
ip = "127.0.0.2"
secret = "testing123"
area = "gdorm"
garden_filter_id = "campusnet-garden"
`

func startPlanFeeEnv(t *testing.T, kind string) *env {
	t.Helper()
	clock := storetest.NewClock(time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC))
	st := storetest.New(t, kind, store.WithClock(clock.Now))
	return startEnvConfig(t, planFeeConfig, st, clock)
}

// choose records the account's plan for its next cycle in area, under the
// account's lock (billing adds its ledger and audit rows).
func (e *env) choose(a access.Account, area, plan string) {
	e.t.Helper()
	ctx := context.Background()
	err := e.st.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := e.st.LockAccount(ctx, tx, a.ID); err != nil {
			return err
		}
		return e.st.ChoosePlanTx(ctx, tx, a.ID, area, plan, a.Username)
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// loginMAC authenticates a bound MAC at b and starts its accounting when
// accepted.
func loginMAC(t *testing.T, b *bas.BAS, mac, ip string) bas.AuthResult {
	t.Helper()
	r := mustAuth(t, b, bas.AuthRequest{MAC: mac, UserIP: addr(ip)})
	if r.Accepted {
		if err := b.Start(context.Background(), r.AcctSessionID); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// waitCycle waits for the account's cycle in area and returns it.
func (e *env) waitCycle(a access.Account, area string) access.Cycle {
	e.t.Helper()
	var c access.Cycle
	testwait.For(e.t, "the cycle in "+area, func() bool {
		var err error
		c, err = e.st.ActiveCycle(context.Background(), a.ID, area)
		return err == nil
	})
	return c
}

// waitOnline waits for the account's only session to be online.
func (e *env) waitOnline(a access.Account) access.Session {
	e.t.Helper()
	var s access.Session
	testwait.For(e.t, "the session online", func() bool {
		l := e.sessions(a, true)
		if len(l) == 1 && l[0].Status == access.SessionOnline {
			s = l[0]
			return true
		}
		return false
	})
	return s
}

// TestLoginJudgedWithChosenPlanFee: a login is judged with the fee of the
// plan the next cycle would run under. With 25.00, a student who chose B
// (30.00) is refused ARREARS naming 30.00 where arrears are refused, and put
// in the garden where they are gardened, with no cycle started; a student
// who chose nothing (default A, 20.00), or a plan no longer offered, gets
// the full rate and a cycle under A; one who chose B and has 30.00 gets a
// cycle under B.
func TestLoginJudgedWithChosenPlanFee(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := startPlanFeeEnv(t, kind)
			ctx := context.Background()
			dorm, garden := e.bas("dorm-bras-1"), e.bas("gdorm-bras")

			// Reject area, chose B, 25.00: ARREARS naming B's 30.00.
			chose := e.account("2026401", "pw", access.RoleStudent, 2500)
			e.bind(chose, "02:00:00:04:01:01", access.ClassPC)
			e.choose(chose, "dorm", "plan-b")
			r := loginMAC(t, dorm, "02:00:00:04:01:01", "10.4.1.1")
			if r.Accepted {
				t.Fatal("25.00 accepted in the dorm although the chosen plan costs 30.00")
			}
			if !strings.Contains(r.ReplyMessage, "30.00") || strings.Contains(r.ReplyMessage, "20.00") {
				t.Fatalf("refusal %q: want the chosen plan's 30.00, not the default's 20.00", r.ReplyMessage)
			}
			if l := e.sessions(chose, false); len(l) != 0 {
				t.Fatalf("a refused login left sessions: %+v", l)
			}

			// The same student, with B chosen in the garden area too: the
			// garden, and no cycle.
			e.bind(chose, "02:00:00:04:01:02", access.ClassMobile)
			e.choose(chose, "gdorm", "plan-b")
			r = loginMAC(t, garden, "02:00:00:04:01:02", "10.4.1.2")
			if !r.Accepted {
				t.Fatalf("garden area refused a student in arrears: %q", r.ReplyMessage)
			}
			s, _ := garden.Session(r.AcctSessionID)
			if want := (bas.Authorization{FilterID: "campusnet-garden"}); s.Authorization != want {
				t.Fatalf("25.00 with plan B chosen: BAS applies %+v, want the garden %+v", s.Authorization, want)
			}
			if p := e.waitOnline(chose).Profile; p != access.ProfileRestricted {
				t.Fatalf("garden session profile %q, want restricted", p)
			}
			if _, err := e.st.ActiveCycle(ctx, chose.ID, "gdorm"); err == nil {
				t.Fatal("a cycle started for a balance below the chosen plan's fee")
			}

			// No choice, 25.00: the default A (20.00) opens both areas at
			// the full rate, and the cycle runs under A.
			for _, tc := range []struct {
				user, mac, ip, area, choice string
				b                           *bas.BAS
			}{
				{"2026402", "02:00:00:04:02:01", "10.4.2.1", "dorm", "", dorm},
				{"2026403", "02:00:00:04:03:01", "10.4.3.1", "gdorm", "", garden},
				{"2026404", "02:00:00:04:04:01", "10.4.4.1", "dorm", "plan-gone", dorm}, // a plan no longer offered
			} {
				a := e.account(tc.user, "pw", access.RoleStudent, 2500)
				e.bind(a, tc.mac, access.ClassPC)
				if tc.choice != "" {
					e.choose(a, tc.area, tc.choice)
				}
				r := loginMAC(t, tc.b, tc.mac, tc.ip)
				if !r.Accepted {
					t.Fatalf("%s in %s (choice %q) refused: %q", tc.user, tc.area, tc.choice, r.ReplyMessage)
				}
				if s, _ := tc.b.Session(r.AcctSessionID); s.Authorization != (bas.Authorization{}) {
					t.Fatalf("%s in %s: BAS applies %+v, want the full rate", tc.user, tc.area, s.Authorization)
				}
				if c := e.waitCycle(a, tc.area); c.Plan != "plan-a" || c.Fee != 2000 {
					t.Fatalf("%s in %s: cycle under %q at %s, want plan-a at 20.00", tc.user, tc.area, c.Plan, c.Fee)
				}
			}

			// Chose B and has 30.00: the cycle runs under B.
			rich := e.account("2026405", "pw", access.RoleStudent, 3000)
			e.bind(rich, "02:00:00:04:05:01", access.ClassPC)
			e.choose(rich, "dorm", "plan-b")
			if r := loginMAC(t, dorm, "02:00:00:04:05:01", "10.4.5.1"); !r.Accepted {
				t.Fatalf("30.00 with plan B refused: %q", r.ReplyMessage)
			}
			if c := e.waitCycle(rich, "dorm"); c.Plan != "plan-b" || c.Fee != 3000 {
				t.Fatalf("cycle under %q at %s, want plan-b at 30.00", c.Plan, c.Fee)
			}

			e.stop()
			if l := e.authLog(chose.Username); len(l) == 0 || l[len(l)-1].Reason != access.ReasonArrears {
				t.Fatalf("auth log of %s: %+v, want its first login refused ARREARS", chose.Username, l)
			}
		})
	}
}

// TestRadclientChosenPlanArrears: FreeRADIUS's radclient, logging in by
// password, gets the Access-Reject whose Reply-Message names the chosen
// plan's fee; the same balance without a choice is accepted.
func TestRadclientChosenPlanArrears(t *testing.T) {
	radclient.Need(t)
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := startPlanFeeEnv(t, kind)
			chose := e.account("2026411", "pw-411", access.RoleStudent, 2500)
			e.choose(chose, "dorm", "plan-b")
			e.account("2026412", "pw-412", access.RoleStudent, 2500)

			out, _ := radclient.Run(t, `User-Name = "2026411", User-Password = "pw-411", Calling-Station-Id = "02-00-00-04-11-01", Message-Authenticator = 0x00`,
				e.authAddr, "auth", secret)
			for _, w := range []string{"Received Access-Reject", "30.00", "25.00"} {
				if !strings.Contains(out, w) {
					t.Errorf("radclient output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "20.00") {
				t.Errorf("the refusal names the default plan's fee:\n%s", out)
			}
			out, _ = radclient.Run(t, `User-Name = "2026412", User-Password = "pw-412", Calling-Station-Id = "02-00-00-04-12-01", Message-Authenticator = 0x00`,
				e.authAddr, "auth", secret)
			if !strings.Contains(out, "Received Access-Accept") {
				t.Errorf("25.00 without a choice (default 20.00) not accepted:\n%s", out)
			}
		})
	}
}
