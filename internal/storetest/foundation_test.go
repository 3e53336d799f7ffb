package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
)

func TestMigrateTwiceSameVersion(t *testing.T) {
	t.Parallel()
	versions := map[string]int64{}
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) {
			s := New(t, kind)
			ctx := context.Background()
			v, err := s.Migrate(ctx) // second run: nothing to do
			if err != nil {
				t.Fatalf("second migrate: %v", err)
			}
			cur, target, err := s.SchemaVersion(ctx)
			if err != nil || cur != target || cur != v || v == 0 {
				t.Fatalf("version: cur %d target %d migrate %d err %v", cur, target, v, err)
			}
			versions[kind] = v
		})
	}
	if p, ok := versions["postgres"]; ok && p != versions["sqlite"] {
		t.Fatalf("schema versions differ: sqlite %d postgres %d", versions["sqlite"], p)
	}
}

func TestImportIdempotent(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		rows := []access.ImportRow{
			{Username: "2026001", Name: "张三", Role: "student", Phone: "13800000001", Hash: "h1"},
			{Username: "2026002", Name: "李四", Role: "student", Hash: "h2"},
		}
		res, err := s.ImportAccounts(ctx, rows)
		if err != nil || res.Created != 2 {
			t.Fatalf("first import: %+v %v", res, err)
		}
		// The person changes the password; a re-import must keep it.
		if err := s.SetPasswordHash(ctx, "2026001", "changed", false); err != nil {
			t.Fatal(err)
		}
		again := []access.ImportRow{
			{Username: "2026001", Name: "张三", Role: "student", Phone: "13800000001"},
			{Username: "2026002", Name: "李四", Role: "staff"},
		}
		res, err = s.ImportAccounts(ctx, again)
		if err != nil || res.Unchanged != 1 || res.Updated != 1 {
			t.Fatalf("re-import: %+v %v", res, err)
		}
		a, err := s.AccountByUsername(ctx, "2026001")
		if err != nil || a.PasswordHash != "changed" || a.MustChange {
			t.Fatalf("password reset by re-import: %+v %v", a, err)
		}
		b, err := s.AccountByUsername(ctx, "2026002")
		if err != nil {
			t.Fatal(err)
		}
		if b.Role != "staff" || b.PasswordHash != "h2" || !b.MustChange {
			t.Fatalf("role not updated: %+v", b)
		}
		if _, err := s.AccountByUsername(ctx, "nobody"); !errors.Is(err, access.ErrNotFound) {
			t.Fatalf("unknown user: %v", err)
		}
	})
}

func TestLedgerOnceAndBalance(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, _, err := s.EnsureAccount(ctx, access.Account{Username: "u1", Role: "student"})
		if err != nil {
			t.Fatal(err)
		}
		add := func(ref string, amount access.Fen) error {
			return s.InTx(ctx, func(tx *sqlx.Tx) error {
				acc, err := s.LockAccount(ctx, tx, a.ID)
				if err != nil {
					return err
				}
				_, err = s.AddLedgerTx(ctx, tx, &acc, access.LedgerRecharge, amount, "test", ref, "")
				return err
			})
		}
		// 20 concurrent recharges, 10 distinct references: each counted once.
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				err := add(string(rune('a'+i%10)), 100)
				if err != nil && !errors.Is(err, access.ErrDuplicate) {
					t.Errorf("recharge: %v", err)
				}
			}(i)
		}
		wg.Wait()
		got, err := s.AccountByID(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		if err := s.DB().GetContext(ctx, &sum, s.Rebind(`SELECT COALESCE(SUM(amount_fen),0) FROM ledger WHERE account_id = ?`), a.ID); err != nil {
			t.Fatal(err)
		}
		if got.Balance != 1000 || sum != 1000 {
			t.Fatalf("balance %d ledger sum %d, want 1000 both", got.Balance, sum)
		}
	})
}

func TestUniqueKeysHold(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, _, err := s.EnsureAccount(ctx, access.Account{Username: "u1"})
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := s.EnsureAccount(ctx, access.Account{Username: "u2"})
		if err != nil {
			t.Fatal(err)
		}
		db := s.DB()
		now := int64(1)
		// One active cycle per (account, area).
		ins := s.Rebind(`INSERT INTO cycles (account_id, area, fee_fen, started_at, ends_at) VALUES (?, 'dorm', 2000, ?, ?)`)
		if _, err := db.ExecContext(ctx, ins, a.ID, now, now+1); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, ins, a.ID, now, now+1); !store.IsUniqueViolation(err) {
			t.Fatalf("second active cycle: %v", err)
		}
		// A MAC is bound to one account at most.
		dev := s.Rebind(`INSERT INTO devices (account_id, mac, bound, created_at) VALUES (?, '00:10:a4:23:19:c0', TRUE, ?)`)
		if _, err := db.ExecContext(ctx, dev, a.ID, now); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, dev, b.ID, now); !store.IsUniqueViolation(err) {
			t.Fatalf("MAC bound twice: %v", err)
		}
		// Accounting is idempotent on (nas, acct_session_id).
		sess := s.Rebind(`INSERT INTO sessions (account_id, username, nas, area, status, acct_session_id, correlation) VALUES (?, 'u1', 'bras', 'dorm', 'online', 'S1', ?)`)
		if _, err := db.ExecContext(ctx, sess, a.ID, "c1"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, sess, a.ID, "c2"); !store.IsUniqueViolation(err) {
			t.Fatalf("duplicate acct session: %v", err)
		}
	})
}

func TestAuditAndDisable(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, _, err := s.EnsureAccount(ctx, access.Account{Username: "u1"}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetDisabled(ctx, "admin", "u1", true, "abuse report #12"); err != nil {
			t.Fatal(err)
		}
		a, err := s.AccountByUsername(ctx, "u1")
		if err != nil {
			t.Fatal(err)
		}
		if !a.Disabled || a.DisabledReason != "abuse report #12" {
			t.Fatalf("not disabled: %+v", a)
		}
		log, err := s.AuditLog(ctx, "u1", 10)
		if err != nil || len(log) != 1 || log[0].Actor != "admin" || log[0].Action != "account.disable" {
			t.Fatalf("audit: %+v %v", log, err)
		}
		if err := s.SetDisabled(ctx, "admin", "ghost", true, "x"); !errors.Is(err, access.ErrNotFound) {
			t.Fatalf("disable unknown: %v", err)
		}
	})
}

func TestOpenAccountOnce(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, created, err := s.OpenAccount(ctx, access.Account{Username: "new1", Role: "student"}, 5000, "demo", "open:new1", "opening")
		if err != nil || !created || a.Balance != 5000 {
			t.Fatalf("open: %+v %v %v", a, created, err)
		}
		// Opening it again changes nothing: no second balance.
		a, created, err = s.OpenAccount(ctx, access.Account{Username: "new1", Role: "staff"}, 5000, "demo", "open:new1-again", "opening")
		if err != nil || created || a.Balance != 5000 || a.Role != "student" {
			t.Fatalf("reopen: %+v %v %v", a, created, err)
		}
		var rows int
		if err := s.DB().GetContext(ctx, &rows, s.Rebind(`SELECT COUNT(*) FROM ledger WHERE account_id = ?`), a.ID); err != nil || rows != 1 {
			t.Fatalf("ledger rows %d %v", rows, err)
		}
	})
}
