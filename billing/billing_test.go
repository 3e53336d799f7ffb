package billing

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/storetest"
)

// forKinds runs fn on SQLite and, when configured, PostgreSQL.
func forKinds(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) { fn(t, newEnv(t, kind)) })
	}
}

// A cycle's whole life: it starts at the first Accounting-Start, is charged
// once at +30 days, and the next one starts at the next dorm login.
func TestCycleLifecycle(t *testing.T) {
	t.Parallel()
	forKinds(t, func(t *testing.T, e *env) {
		a := e.account("2026001", 5000)
		if open, _, err := e.svc.Check(e.ctx, a.Username, "dorm"); err != nil || !open {
			t.Fatalf("50 yuan must open the dorm: %v %v", open, err)
		}
		c, started, err := e.svc.StartCycle(e.ctx, a.Username, "dorm")
		if err != nil || !started || c.Fee != 2000 || c.StartedAt != access.Millis(t0) || c.EndsAt != access.Millis(t0.Add(cycleLen)) {
			t.Fatalf("first Start: %+v started=%v err=%v", c, started, err)
		}
		// A second device's Start, or a repeated Start, keeps the cycle.
		e.clock.Advance(time.Hour)
		again, started, err := e.svc.StartCycle(e.ctx, a.Username, "dorm")
		if err != nil || started || again.ID != c.ID {
			t.Fatalf("second Start: %+v started=%v err=%v", again, started, err)
		}
		sum, err := e.svc.Show(e.ctx, a.Username, 10)
		if err != nil || sum.Account.Balance != 5000 || sum.Committed != 2000 || sum.Available != 3000 || len(sum.Active) != 1 {
			t.Fatalf("show during the cycle: %+v %v", sum, err)
		}

		// One minute before the settlement date nothing is due.
		e.clock.Advance(cycleLen - time.Hour - time.Minute)
		if rep := e.settle(); rep.Due != 0 || e.balance(a.Username) != 5000 {
			t.Fatalf("settled early: %s", rep)
		}
		e.clock.Advance(time.Minute)
		rep := e.settle()
		if rep.Settled != 1 || rep.Renewed != 0 || rep.Charged != 2000 || e.balance(a.Username) != 3000 {
			t.Fatalf("settlement at +30 days: %s, balance %s", rep, e.balance(a.Username))
		}
		if _, ok := e.activeCycle(a, "dorm"); ok {
			t.Fatal("offline student got a next cycle at settlement")
		}
		if rep := e.settle(); rep.Settled != 0 || e.balance(a.Username) != 3000 {
			t.Fatalf("second run charged again: %s", rep)
		}
		led, err := e.st.LedgerByAccount(e.ctx, a.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(led) != 1 || led[0].Kind != access.LedgerCycleFee || led[0].Amount != -2000 || led[0].BalanceAfter != 3000 || led[0].Reference != access.CycleFeeReference(c.ID) {
			t.Fatalf("fee ledger row: %+v", led)
		}

		// Three days later the student logs in again: a new cycle from now.
		e.clock.Advance(72 * time.Hour)
		next, started, err := e.svc.StartCycle(e.ctx, a.Username, "dorm")
		if err != nil || !started || next.ID == c.ID || next.StartedAt != access.Millis(e.clock.Now()) {
			t.Fatalf("next login: %+v started=%v err=%v", next, started, err)
		}
		if got := counterValue(e.svc.m.settlements.WithLabelValues("settled")); got != 1 {
			t.Fatalf("campusnet_settlements_total{result=settled} = %v", got)
		}
		e.verifyClean()
	})
}

// Settlement while the student is online: the next cycle follows at once
// when the balance allows, else the sessions are disconnected at the BAS.
func TestSettleWhileOnline(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		balance     access.Fen
		wantRenewed bool
		wantBalance access.Fen
	}{
		{"enough for the next cycle", 5000, true, 3000},
		{"exactly the next fee", 4000, true, 2000},
		{"not enough", 3000, false, 1000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forKinds(t, func(t *testing.T, e *env) {
				a := e.account("s1", tc.balance)
				if _, started, err := e.svc.StartCycle(e.ctx, a.Username, "dorm"); !started || err != nil {
					t.Fatalf("start: %v %v", started, err)
				}
				pc := e.online(a, "dorm", "00:11:22:33:44:55", "10.1.2.3")
				office := e.online(a, "office", "00:11:22:33:44:66", "10.9.9.9")
				e.clock.Advance(cycleLen + 30*time.Second)
				e.interim()
				rep := e.settle()
				if rep.Settled != 1 || e.balance(a.Username) != tc.wantBalance {
					t.Fatalf("%s; balance %s", rep, e.balance(a.Username))
				}
				next, renewed := e.activeCycle(a, "dorm")
				reqs := e.bas.requests()
				if tc.wantRenewed {
					if !renewed || rep.Renewed != 1 || next.StartedAt != access.Millis(t0.Add(cycleLen)) || next.EndsAt != access.Millis(t0.Add(2*cycleLen)) {
						t.Fatalf("next cycle must start at the settlement date: %+v (%s)", next, rep)
					}
					if len(reqs) != 0 {
						t.Fatalf("disconnected a student who could pay: %+v", reqs)
					}
					if st, _ := e.sessionStatus(pc); st != access.SessionOnline {
						t.Fatalf("session %s", st)
					}
				} else {
					if renewed || rep.Arrears != 1 || rep.Disconnects["ack"] != 1 {
						t.Fatalf("arrears: renewed=%v %s", renewed, rep)
					}
					if len(reqs) != 1 || reqs[0].User != a.Username || reqs[0].AcctSessionID != "acct-00:11:22:33:44:55" || reqs[0].FramedIP != "10.1.2.3" {
						t.Fatalf("the BAS got %+v", reqs)
					}
					if st, reason := e.sessionStatus(pc); st != access.SessionClosed || reason != string(access.ReasonArrears) {
						t.Fatalf("dorm session %s %s", st, reason)
					}
					if st, _ := e.sessionStatus(office); st != access.SessionOnline {
						t.Fatalf("the free area's session was touched: %s", st)
					}
					open, ref, err := e.svc.Check(e.ctx, a.Username, "dorm")
					if err != nil || open || ref.Code != access.ReasonArrears || !strings.Contains(ref.Message, "余额 10.00 元，不足本周期 20.00 元") {
						t.Fatalf("login after arrears: %v %+v %v", open, ref, err)
					}
					if got := counterValue(e.svc.m.disconnects.WithLabelValues("ack")); got != 1 {
						t.Fatalf("campusnet_billing_disconnects_total{result=ack} = %v", got)
					}
				}
				// The next run finds nothing more to do (no double charge,
				// no second Disconnect).
				if rep := e.settle(); rep.Settled != 0 || len(e.bas.requests()) != len(reqs) && !tc.wantRenewed {
					t.Fatalf("second run: %s, BAS requests %d", rep, len(e.bas.requests()))
				}
				e.verifyClean()
			})
		})
	}
}

// A session the BAS stopped reporting long ago is stale: it neither renews
// the cycle nor is disconnected.
func TestSettleIgnoresStaleSessions(t *testing.T) {
	t.Parallel()
	forKinds(t, func(t *testing.T, e *env) {
		a := e.account("s1", 3000)
		if _, _, err := e.svc.StartCycle(e.ctx, a.Username, "dorm"); err != nil {
			t.Fatal(err)
		}
		e.online(a, "dorm", "00:11:22:33:44:55", "10.1.2.3") // never heard of again
		e.clock.Advance(cycleLen)
		rep := e.settle()
		if rep.Settled != 1 || rep.Arrears != 0 || len(e.bas.requests()) != 0 {
			t.Fatalf("%s, BAS %+v", rep, e.bas.requests())
		}
	})
}

// When the disconnect is lost (no disconnector on the node that settled, or
// a crash after the commit), the next run's sweep still disconnects.
func TestSweepDisconnectsAfterLostDisconnect(t *testing.T) {
	t.Parallel()
	forKinds(t, func(t *testing.T, e *env) {
		a := e.account("s1", 3000)
		if _, _, err := e.svc.StartCycle(e.ctx, a.Username, "dorm"); err != nil {
			t.Fatal(err)
		}
		sess := e.online(a, "dorm", "00:11:22:33:44:55", "10.1.2.3")
		e.clock.Advance(cycleLen)
		e.interim()
		blind, err := New(e.st, Config{Areas: testAreas()}) // like `campusnet billing settle` without RADIUS
		if err != nil {
			t.Fatal(err)
		}
		rep, err := blind.Settle(e.ctx)
		if err != nil || rep.Settled != 1 || rep.Disconnects["unavailable"] < 1 || len(e.bas.requests()) != 0 {
			t.Fatalf("blind settle: %s %v", rep, err)
		}
		rep = e.settle()
		if rep.Settled != 0 || rep.Disconnects["ack"] != 1 {
			t.Fatalf("sweep: %s", rep)
		}
		if st, reason := e.sessionStatus(sess); st != access.SessionClosed || reason != string(access.ReasonArrears) {
			t.Fatalf("session %s %s", st, reason)
		}
		e.verifyClean()
	})
}

// A session online without a cycle (its Accounting-Start raced the
// settlement) gets one from the sweep when the balance allows.
func TestSweepStartsMissingCycle(t *testing.T) {
	t.Parallel()
	forKinds(t, func(t *testing.T, e *env) {
		a := e.account("s1", 5000)
		e.online(a, "dorm", "00:11:22:33:44:55", "10.1.2.3")
		e.clock.Advance(time.Minute)
		rep := e.settle()
		c, ok := e.activeCycle(a, "dorm")
		if rep.Started != 1 || !ok || c.StartedAt != access.Millis(e.clock.Now()) || len(e.bas.requests()) != 0 {
			t.Fatalf("%s; cycle %+v %v", rep, c, ok)
		}
		if rep := e.settle(); rep.Started != 0 {
			t.Fatalf("second run: %s", rep)
		}
	})
}

// A NAK from the BAS is reported as such, never as success.
func TestSettleDisconnectNAK(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	e.bas.setNAK(506) // Resources Unavailable: the session is still there
	a := e.account("s1", 2000)
	if _, _, err := e.svc.StartCycle(e.ctx, a.Username, "dorm"); err != nil {
		t.Fatal(err)
	}
	sess := e.online(a, "dorm", "00:11:22:33:44:55", "10.1.2.3")
	e.clock.Advance(cycleLen)
	e.interim()
	rep := e.settle()
	if rep.Disconnects["nak"] != 1 || rep.Disconnects["ack"] != 0 {
		t.Fatalf("%s", rep)
	}
	if st, _ := e.sessionStatus(sess); st != access.SessionOnline {
		t.Fatalf("session closed after a NAK: %s", st)
	}
}

// Arrears: with 12 yuan the dorm does not open and the message says why;
// a recharge opens it at once, with no operator.
func TestArrearsThenRecharge(t *testing.T) {
	t.Parallel()
	forKinds(t, func(t *testing.T, e *env) {
		a := e.account("2026002", 1200)
		open, ref, err := e.svc.Check(e.ctx, a.Username, "dorm")
		if err != nil || open {
			t.Fatalf("12 yuan opened the dorm: %v %v", open, err)
		}
		want := "账户欠费：余额 12.00 元，不足本周期 20.00 元，请在缴费平台充值后重新登录（https://pay.example.edu/） / Account in arrears: balance 12.00 yuan, below this cycle's 20.00 yuan"
		if ref.Code != access.ReasonArrears || !strings.HasPrefix(ref.Message, want) {
			t.Fatalf("refusal: %+v", ref)
		}
		if c, started, err := e.svc.StartCycle(e.ctx, a.Username, "dorm"); err != nil || started || c.ID != 0 {
			t.Fatalf("a cycle started in arrears: %+v %v %v", c, started, err)
		}
		if open, _, err := e.svc.Check(e.ctx, a.Username, "office"); err != nil || !open {
			t.Fatal("the free area is closed in arrears")
		}
		if _, err := e.svc.Recharge(e.ctx, a.Username, 800, "counter1", "cash-1", "cash at the counter"); err != nil {
			t.Fatal(err)
		}
		if open, _, err := e.svc.Check(e.ctx, a.Username, "dorm"); err != nil || !open {
			t.Fatalf("after recharging to 20 yuan: %v %v", open, err)
		}
		if _, started, err := e.svc.StartCycle(e.ctx, a.Username, "dorm"); err != nil || !started {
			t.Fatalf("login after recharge: %v %v", started, err)
		}
		e.verifyClean()
	})
}

// While a cycle is active its fee is committed: refunds and withdrawals may
// not cut into it; only a forced adjustment can, and verify reports it.
func TestCommittedFee(t *testing.T) {
	t.Parallel()
	forKinds(t, func(t *testing.T, e *env) {
		a := e.account("s1", 5000)
		if _, err := e.svc.Refund(e.ctx, a.Username, 4000, "op", "r0", "before any cycle"); err != nil {
			t.Fatalf("refund without a cycle: %v", err)
		}
		if _, err := e.svc.Recharge(e.ctx, a.Username, 4000, "op", "c1", "back"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.StartCycle(e.ctx, a.Username, "dorm"); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name    string
			do      func() error
			wantErr error
			balance access.Fen
		}{
			{"refund cutting into the fee", func() error {
				_, err := e.svc.Refund(e.ctx, a.Username, 3001, "op", "r1", "leaving")
				return err
			}, ErrCommitted, 5000},
			{"negative adjustment cutting into the fee", func() error {
				_, err := e.svc.Adjust(e.ctx, a.Username, -3001, "op", "a1", "typo", false)
				return err
			}, ErrCommitted, 5000},
			{"refund down to the fee", func() error {
				_, err := e.svc.Refund(e.ctx, a.Username, 3000, "op", "r2", "leaving")
				return err
			}, nil, 2000},
			{"same reference again", func() error {
				_, err := e.svc.Recharge(e.ctx, a.Username, 4000, "op", "c1", "the same receipt again")
				return err
			}, access.ErrDuplicate, 2000},
			{"zero refund", func() error {
				_, err := e.svc.Refund(e.ctx, a.Username, 0, "op", "r3", "")
				return err
			}, ErrAmount, 2000},
			{"unknown account", func() error {
				_, err := e.svc.Recharge(e.ctx, "nobody", 100, "op", "x", "")
				return err
			}, access.ErrNotFound, 2000},
		}
		for _, s := range steps {
			err := s.do()
			if (s.wantErr == nil && err != nil) || (s.wantErr != nil && !errors.Is(err, s.wantErr)) {
				t.Fatalf("%s: err %v, want %v", s.name, err, s.wantErr)
			}
			if got := e.balance(a.Username); got != s.balance {
				t.Fatalf("%s: balance %s, want %s", s.name, got, s.balance)
			}
		}
		e.verifyClean()
		if _, err := e.svc.Adjust(e.ctx, a.Username, -500, "op", "a2", "operator's decision", true); err != nil {
			t.Fatalf("forced adjustment: %v", err)
		}
		probs, err := e.svc.Verify(e.ctx)
		if err != nil || len(probs) != 1 || probs[0].Kind != access.ProblemBelowCommitted {
			t.Fatalf("verify after a forced adjustment: %+v %v", probs, err)
		}
		audit, err := e.st.AuditLog(e.ctx, a.Username, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(audit) == 0 || audit[0].Action != "account.adjustment" || audit[0].Actor != "op" || !strings.Contains(audit[0].Detail, "forced") {
			t.Fatalf("audit: %+v", audit)
		}
	})
}

// The settlement of an account that was below the fee (a forced adjustment)
// still charges the fee: the student used the cycle.
func TestSettleChargesEvenBelowFee(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	a := e.account("s1", 2000)
	if _, _, err := e.svc.StartCycle(e.ctx, a.Username, "dorm"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Adjust(e.ctx, a.Username, -1500, "op", "a1", "correction", true); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(cycleLen)
	if rep := e.settle(); rep.Settled != 1 || e.balance(a.Username) != -1500 {
		t.Fatalf("%s balance %s", rep, e.balance(a.Username))
	}
	e.verifyClean()
}

func TestParseYuan(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want access.Fen
		ok   bool
	}{
		{"50", 5000, true}, {"12.50", 1250, true}, {"12.5", 1250, true}, {"-5", -500, true},
		{"+3.5", 350, true}, {"0.01", 1, true}, {" 7 ", 700, true}, {"1000000", 100_000_000, true},
		{"1000000.01", 0, false}, {"99999999999999999999", 0, false}, {"1.234", 0, false},
		{"", 0, false}, {"-", 0, false}, {".5", 0, false}, {"5.", 0, false}, {"NaN", 0, false},
		{"1e3", 0, false}, {"1,000", 0, false}, {"12.5元", 0, false}, {"--5", 0, false}, {"0x10", 0, false},
		{"１２", 0, false},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseYuan(c.in)
			if c.ok && (err != nil || got != c.want) {
				t.Fatalf("ParseYuan(%q) = %d, %v; want %d", c.in, got, err, c.want)
			}
			if !c.ok && !errors.Is(err, ErrAmount) {
				t.Fatalf("ParseYuan(%q) = %d, %v; want ErrAmount", c.in, got, err)
			}
			if c.ok && got.String() != strings.TrimPrefix(strings.TrimSpace(c.in), "+") && !strings.Contains(c.in, ".") {
				if got.String() != strings.TrimPrefix(strings.TrimSpace(c.in), "+")+".00" {
					t.Fatalf("shown back as %s", got)
				}
			}
		})
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
