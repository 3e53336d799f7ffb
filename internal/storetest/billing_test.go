package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/billing"
	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
)

var billingT0 = time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)

func billingAccount(t *testing.T, s *store.Store, user string, balance access.Fen) access.Account {
	t.Helper()
	ctx := context.Background()
	a, _, err := s.EnsureAccount(ctx, access.Account{Username: user, Role: access.RoleStudent})
	if err != nil {
		t.Fatal(err)
	}
	if balance != 0 {
		err := s.InTx(ctx, func(tx *sqlx.Tx) error {
			acc, err := s.LockAccount(ctx, tx, a.ID)
			if err != nil {
				return err
			}
			_, err = s.AddLedgerTx(ctx, tx, &acc, access.LedgerRecharge, balance, "test", "open:"+user, "")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	a, err = s.AccountByUsername(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The contract RADIUS builds on: StartCycleTx starts one cycle at the first
// Start when the balance covers the fee, returns the active one afterwards,
// and nothing in arrears; ActiveCycleTx finds it.
func TestBillingStartCycleContract(t *testing.T) {
	t.Parallel()
	clock := NewClock(billingT0)
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		rich := billingAccount(t, s, "rich", 5000)
		poor := billingAccount(t, s, "poor", 1999)
		start := func(a access.Account) (access.Cycle, bool) {
			var c access.Cycle
			var started bool
			err := s.InTx(ctx, func(tx *sqlx.Tx) error {
				var err error
				c, started, err = s.StartCycleTx(ctx, tx, &a, "dorm", 2000, 720*time.Hour)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return c, started
		}
		c, started := start(rich)
		if !started || c.ID == 0 || c.Fee != 2000 || c.Status != access.CycleActive || c.EndsAt-c.StartedAt != (720*time.Hour).Milliseconds() {
			t.Fatalf("first start: %+v %v", c, started)
		}
		again, started := start(rich)
		if started || again.ID != c.ID {
			t.Fatalf("second start: %+v %v", again, started)
		}
		if z, started := start(poor); started || z.ID != 0 {
			t.Fatalf("start in arrears: %+v %v", z, started)
		}
		err := s.InTx(ctx, func(tx *sqlx.Tx) error {
			got, err := s.ActiveCycleTx(ctx, tx, rich.ID, "dorm")
			if err != nil || got.ID != c.ID {
				t.Errorf("ActiveCycleTx: %+v %v", got, err)
			}
			if _, err := s.ActiveCycleTx(ctx, tx, poor.ID, "dorm"); !errors.Is(err, access.ErrNotFound) {
				t.Errorf("ActiveCycleTx without a cycle: %v", err)
			}
			if _, err := s.ActiveCycleTx(ctx, tx, rich.ID, "library"); !errors.Is(err, access.ErrNotFound) {
				t.Errorf("ActiveCycleTx in another area: %v", err)
			}
			if f, err := s.CommittedTx(ctx, tx, rich.ID); f != 2000 || err != nil {
				t.Errorf("committed %s %v", f, err)
			}
			// The partial unique index refuses a second active cycle.
			if _, err := s.InsertCycleTx(ctx, tx, rich.ID, "dorm", 2000, clock.Now(), time.Hour); !errors.Is(err, access.ErrDuplicate) {
				t.Errorf("second active cycle: %v", err)
			}
			return errors.New("rollback")
		})
		if err == nil || err.Error() != "rollback" {
			t.Fatal(err)
		}
		// Settling twice: the second marks nothing.
		err = s.InTx(ctx, func(tx *sqlx.Tx) error {
			if err := s.MarkCycleSettledTx(ctx, tx, c.ID, 1); err != nil {
				return err
			}
			if err := s.MarkCycleSettledTx(ctx, tx, c.ID, 1); !errors.Is(err, access.ErrDuplicate) {
				t.Errorf("second settle: %v", err)
			}
			return errors.New("rollback")
		})
		if err == nil || err.Error() != "rollback" {
			t.Fatal(err)
		}
	}, store.WithClock(clock.Now))
}

func TestBillingDueCyclesAndSessions(t *testing.T) {
	t.Parallel()
	clock := NewClock(billingT0)
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var ids []int64
		for i, user := range []string{"a", "b", "c"} {
			acc := billingAccount(t, s, user, 5000)
			err := s.InTx(ctx, func(tx *sqlx.Tx) error {
				c, err := s.InsertCycleTx(ctx, tx, acc.ID, "dorm", 2000, billingT0.Add(time.Duration(i)*time.Hour), 720*time.Hour)
				ids = append(ids, c.ID)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		due, err := s.DueCycles(ctx, billingT0.Add(721*time.Hour), 0, 10)
		if err != nil || len(due) != 2 || due[0].ID != ids[0] || due[1].ID != ids[1] {
			t.Fatalf("due: %+v %v", due, err)
		}
		due, err = s.DueCycles(ctx, billingT0.Add(721*time.Hour), ids[0], 1)
		if err != nil || len(due) != 1 || due[0].ID != ids[1] {
			t.Fatalf("due after the first: %+v %v", due, err)
		}

		a, err := s.AccountByUsername(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		now := access.Millis(clock.Now())
		for i, st := range []string{"online", "reserved", "closed", "online"} {
			last := now
			if i == 3 {
				last = now - (20 * time.Minute).Milliseconds() // stale
			}
			_, err := s.DB().ExecContext(ctx, s.Rebind(`INSERT INTO sessions (account_id, username, nas, area, status, correlation, reserved_at, last_update_at)
				VALUES (?, 'a', 'bas', 'dorm', ?, ?, ?, ?)`), a.ID, st, "c"+string(rune('0'+i)), last, last)
			if err != nil {
				t.Fatal(err)
			}
		}
		err = s.InTx(ctx, func(tx *sqlx.Tx) error {
			live, err := s.LiveSessionsInAreaTx(ctx, tx, a.ID, "dorm", clock.Now().Add(-12*time.Minute))
			if err != nil || len(live) != 2 || live[0].Status != "online" || live[1].Status != "reserved" {
				t.Errorf("live sessions: %+v %v", live, err)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// "a" has an active cycle: covered whatever the balance.
		if got, err := s.UncoveredSessions(ctx, "dorm", clock.Now().Add(-12*time.Minute), 10); err != nil || len(got) != 0 {
			t.Fatalf("uncovered with a cycle: %+v %v", got, err)
		}
		// "d" and "e" are online without a cycle (whatever their balance);
		// a reserved session is not counted: its Accounting-Start will come.
		for i, u := range []string{"d", "e"} {
			acc := billingAccount(t, s, u, access.Fen(1000+4000*i))
			for j, st := range []string{"online", "reserved"} {
				_, err = s.DB().ExecContext(ctx, s.Rebind(`INSERT INTO sessions (account_id, username, nas, area, status, correlation, reserved_at, started_at, last_update_at)
					VALUES (?, ?, 'bas', 'dorm', ?, ?, ?, ?, ?)`), acc.ID, u, st, u+string(rune('0'+j)), now, now, now)
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		got, err := s.UncoveredSessions(ctx, "dorm", clock.Now().Add(-12*time.Minute), 10)
		if err != nil || len(got) != 2 || got[0].Username != "d" || got[0].Balance != 1000 || got[1].Username != "e" || got[1].Balance != 5000 || got[0].Status != "online" {
			t.Fatalf("uncovered: %+v %v", got, err)
		}
		if got, err := s.UncoveredSessions(ctx, "office", clock.Now().Add(-12*time.Minute), 10); err != nil || len(got) != 0 {
			t.Fatalf("uncovered in another area: %+v %v", got, err)
		}
	}, store.WithClock(clock.Now))
}

// The billing operations on both databases, through billing.Service.
func TestBillingOperations(t *testing.T) {
	t.Parallel()
	clock := NewClock(billingT0)
	areas := []access.Area{{Name: "dorm", Fee: 2000, Cycle: 720 * time.Hour}, {Name: "office"}}
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		svc, err := billing.New(s, billing.Config{Areas: areas})
		if err != nil {
			t.Fatal(err)
		}
		billingAccount(t, s, "s1", 0)
		steps := []struct {
			name    string
			do      func() error
			want    error
			balance access.Fen
		}{
			{"recharge", func() error { _, err := svc.Recharge(ctx, "s1", 5000, "op", "r1", "cash"); return err }, nil, 5000},
			{"recharge replayed", func() error { _, err := svc.Recharge(ctx, "s1", 5000, "op", "r1", "cash"); return err }, access.ErrDuplicate, 5000},
			{"cycle starts", func() error {
				_, started, err := svc.StartCycle(ctx, "s1", "dorm")
				if err == nil && !started {
					err = errors.New("not started")
				}
				return err
			}, nil, 5000},
			{"refund into the fee", func() error { _, err := svc.Refund(ctx, "s1", 3500, "op", "f1", "leaving"); return err }, billing.ErrCommitted, 5000},
			{"refund the rest", func() error { _, err := svc.Refund(ctx, "s1", 3000, "op", "f1", "leaving"); return err }, nil, 2000},
			{"adjust up", func() error { _, err := svc.Adjust(ctx, "s1", 150, "op", "a1", "goodwill", false); return err }, nil, 2150},
			{"adjust down into the fee", func() error { _, err := svc.Adjust(ctx, "s1", -151, "op", "a2", "typo", false); return err }, billing.ErrCommitted, 2150},
			{"settle", func() error {
				clock.Advance(720 * time.Hour)
				rep, err := svc.Settle(ctx)
				if err == nil && rep.Settled != 1 {
					err = errors.New(rep.String())
				}
				return err
			}, nil, 150},
			{"refund all after settlement", func() error { _, err := svc.Refund(ctx, "s1", 150, "op", "f2", "leaving"); return err }, nil, 0},
		}
		for _, st := range steps {
			err := st.do()
			if (st.want == nil) != (err == nil) || (st.want != nil && !errors.Is(err, st.want)) {
				t.Fatalf("%s: %v, want %v", st.name, err, st.want)
			}
			if a, err := s.AccountByUsername(ctx, "s1"); err != nil || a.Balance != st.balance {
				t.Fatalf("%s: balance %s, want %s", st.name, a.Balance, st.balance)
			}
		}
		sum, err := svc.Show(ctx, "s1", 3)
		if err != nil || len(sum.Ledger) != 3 || sum.Ledger[0].Kind != access.LedgerRefund || len(sum.Active) != 0 || len(sum.Areas) != 1 || sum.Areas[0].Open {
			t.Fatalf("show: %+v %v", sum, err)
		}
		if probs, err := svc.Verify(ctx); err != nil || len(probs) != 0 {
			t.Fatalf("verify: %+v %v", probs, err)
		}
	}, store.WithClock(clock.Now))
}

// billing verify finds what was tampered with behind the ledger's back.
func TestBillingVerifyFindsProblems(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := billingAccount(t, s, "s1", 5000)
		b := billingAccount(t, s, "s2", 5000)
		billingAccount(t, s, "s3", 5000)
		c := billingAccount(t, s, "s4", 5000)
		exec := func(q string, args ...any) {
			if _, err := s.DB().ExecContext(ctx, s.Rebind(q), args...); err != nil {
				t.Fatal(err)
			}
		}
		exec(`UPDATE accounts SET balance_fen = 99999 WHERE id = ?`, a.ID)
		exec(`INSERT INTO cycles (account_id, area, fee_fen, started_at, ends_at, status, settled_at) VALUES (?, 'dorm', 2000, 1, 2, 'settled', 3)`, b.ID)
		exec(`UPDATE ledger SET balance_after_fen = 1 WHERE account_id = (SELECT id FROM accounts WHERE username = 's3')`)
		exec(`INSERT INTO cycles (account_id, area, fee_fen, started_at, ends_at) VALUES (?, 'dorm', 6000, 1, 2)`, c.ID)
		probs, err := s.CheckBilling(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"s1": access.ProblemBalanceMismatch, "s2": access.ProblemSettledNoFee, "s3": access.ProblemLedgerChain, "s4": access.ProblemBelowCommitted}
		got := map[string]string{}
		for _, p := range probs {
			got[p.Username] = p.Kind
		}
		for u, k := range want {
			if got[u] != k {
				t.Errorf("%s: found %q, want %q (all: %+v)", u, got[u], k, probs)
			}
		}
	})
}
