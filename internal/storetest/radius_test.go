package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
)

func newAccount(t *testing.T, s *store.Store, user string) access.Account {
	t.Helper()
	a, _, err := s.EnsureAccount(context.Background(), access.Account{Username: user, Role: access.RoleStudent})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestDeviceBinding(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, b := newAccount(t, s, "dev-a"), newAccount(t, s, "dev-b")
		const mac = "00:10:a4:23:19:c0"
		d, err := s.BindDevice(ctx, a.ID, mac, access.ClassPC, "op1", "", 2)
		if err != nil || !d.Bound || d.Class != access.ClassPC || d.BoundBy != "op1" {
			t.Fatalf("bind: %+v, %v", d, err)
		}
		// Again, same account: fine, class updated.
		if d, err = s.BindDevice(ctx, a.ID, mac, access.ClassMobile, "op1", "", 2); err != nil || d.Class != access.ClassMobile {
			t.Fatalf("bind again: %+v, %v", d, err)
		}
		// A MAC is bound to one account at most.
		if _, err := s.BindDevice(ctx, b.ID, mac, access.ClassPC, "op1", "", 2); !errors.Is(err, access.ErrConflict) {
			t.Fatalf("bind to a second account: %v", err)
		}
		// The bound limit.
		if _, err := s.BindDevice(ctx, a.ID, "00:10:a4:23:19:c1", access.ClassPC, "op1", "", 2); err != nil {
			t.Fatal(err)
		}
		if _, err := s.BindDevice(ctx, a.ID, "00:10:a4:23:19:c2", access.ClassPC, "op1", "", 2); !errors.Is(err, access.ErrConflict) {
			t.Fatalf("third binding with max 2: %v", err)
		}
		for _, bad := range []struct {
			mac   string
			class access.Class
		}{{"00-10-A4-23-19-C0", access.ClassPC}, {mac, "tv"}} {
			if _, err := s.BindDevice(ctx, a.ID, bad.mac, bad.class, "op1", "", 0); !errors.Is(err, access.ErrInvalid) {
				t.Fatalf("bind %+v: %v", bad, err)
			}
		}
		if got, err := s.BoundDeviceByMAC(ctx, mac); err != nil || got.AccountID != a.ID {
			t.Fatalf("bound device: %+v, %v", got, err)
		}
		// Unbind: audited; a second time is not found.
		if _, err := s.UnbindDevice(ctx, b.ID, mac, "op2", "x"); !errors.Is(err, access.ErrNotFound) {
			t.Fatalf("unbind from the wrong account: %v", err)
		}
		if d, err := s.UnbindDevice(ctx, 0, mac, "op2", "lost laptop"); err != nil || d.AccountID != a.ID {
			t.Fatalf("unbind: %+v, %v", d, err)
		}
		if _, err := s.UnbindDevice(ctx, 0, mac, "op2", "again"); !errors.Is(err, access.ErrNotFound) {
			t.Fatalf("unbind twice: %v", err)
		}
		if _, err := s.BoundDeviceByMAC(ctx, mac); !errors.Is(err, access.ErrNotFound) {
			t.Fatalf("still bound: %v", err)
		}
		log, err := s.AuditLog(ctx, "dev-a", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(log) < 2 || log[0].Action != "device.unbind" || log[0].Actor != "op2" || log[0].Reason != "lost laptop" {
			t.Fatalf("audit: %+v", log)
		}
		// Now it may go to the other account.
		if _, err := s.BindDevice(ctx, b.ID, mac, access.ClassPC, "op1", "", 2); err != nil {
			t.Fatal(err)
		}
		devs, err := s.DevicesByAccount(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(devs) != 2 || devs[0].Bound != true {
			t.Fatalf("devices of a: %+v", devs)
		}
	})
}

// TestBindSameMACConcurrently: of many accounts binding one MAC at once,
// exactly one wins.
func TestBindSameMACConcurrently(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var ok, conflict atomic.Int32
		var wg sync.WaitGroup
		for i := range 10 {
			a := newAccount(t, s, "race-"+string(rune('a'+i)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.BindDevice(ctx, a.ID, "02:00:00:00:00:99", access.ClassPC, "op", "", 0)
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, access.ErrConflict):
					conflict.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 || conflict.Load() != 9 {
			t.Fatalf("%d bound, %d conflicts", ok.Load(), conflict.Load())
		}
	})
}

func TestSessionsAndReaper(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		aaa := store.NewAAA(s)
		defer aaa.Close()
		a := newAccount(t, s, "sess-a")
		// A Start with no reservation records an online session.
		res, err := aaa.RecordAccounting(ctx, []access.AcctRecord{
			{Kind: access.AcctStart, NAS: "n1", Area: "office", AcctSessionID: "S1", Username: "sess-a", MAC: "02:00:00:00:00:01", IP: "10.0.0.1"},
			{Kind: access.AcctStart, NAS: "n1", Area: "office", AcctSessionID: "S2", Username: "sess-a", MAC: "02:00:00:00:00:02", IP: "10.0.0.2"},
			{Kind: access.AcctStart, NAS: "n1", Area: "office", AcctSessionID: "S1", Username: "sess-a"},
			{Kind: access.AcctStart, NAS: "n1", Area: "office", AcctSessionID: "S9", Username: "nobody"},
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{access.AcctStarted, access.AcctStarted, access.AcctDuplicate, access.AcctUnknown}
		for i, w := range want {
			if res[i].Outcome != w {
				t.Fatalf("record %d: %+v, want %s", i, res[i], w)
			}
		}
		live, err := s.SessionsByAccount(ctx, a.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(live) != 2 {
			t.Fatalf("live: %+v", live)
		}
		if got, err := s.LiveSessionByIP(ctx, "10.0.0.2"); err != nil || got.AcctSessionID != "S2" {
			t.Fatalf("by ip: %+v, %v", got, err)
		}
		if got, err := s.LiveSessionsByMAC(ctx, "02:00:00:00:00:01"); err != nil || len(got) != 1 {
			t.Fatalf("by mac: %+v, %v", got, err)
		}
		if got, err := s.SessionByID(ctx, live[0].ID); err != nil || got.ID != live[0].ID {
			t.Fatalf("by id: %+v, %v", got, err)
		}
		if _, err := s.SessionByID(ctx, 1<<40); !errors.Is(err, access.ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
		// The reaper: S1 heard of recently, S2 not.
		now := time.Now()
		if _, err := aaa.RecordAccounting(ctx, []access.AcctRecord{{Kind: access.AcctInterim, NAS: "n1", AcctSessionID: "S1", InputOctets: 5}}); err != nil {
			t.Fatal(err)
		}
		stale, reserved, err := s.ReapSessions(ctx, now.Add(time.Minute), now.Add(time.Minute))
		if err != nil || stale != 2 || reserved != 0 {
			t.Fatalf("reap everything older than a minute from now: %d %d %v", stale, reserved, err)
		}
		if closed, err := s.CloseSession(ctx, live[0].ID, "kick"); err != nil || closed {
			t.Fatalf("closing a closed session: %v %v", closed, err)
		}
	})
}

// TestAccountingBatchOfEveryKind: one batch holds Starts, Interim-Updates
// and Stops, and two of them name a session a Start of the same batch
// replaces (the same MAC at the same BAS). On PostgreSQL such a batch is
// applied by set-based statements, one per kind of request, in one
// transaction; the outcome must still be the one of the requests in their
// order, as on SQLite (one request after the other): the Stop
// records its counters on the replaced session and keeps "replaced", the
// Interim-Update is late and does not bring it back online, and every MAC
// has one live session.
func TestAccountingBatchOfEveryKind(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		aaa := store.NewAAA(s)
		defer aaa.Close()
		newAccount(t, s, "mix-a")
		mac := func(i int) string { return fmt.Sprintf("02:00:00:00:01:%02x", i) }
		start := func(asid string, i int) access.AcctRecord {
			return access.AcctRecord{Kind: access.AcctStart, NAS: "n1", Area: "office", AcctSessionID: asid, Username: "mix-a", MAC: mac(i), IP: fmt.Sprintf("10.1.0.%d", i)}
		}
		var first []access.AcctRecord
		for i := 1; i <= 4; i++ {
			first = append(first, start(fmt.Sprintf("O%d", i), i))
		}
		if _, err := aaa.RecordAccounting(ctx, first); err != nil {
			t.Fatal(err)
		}
		recs := []access.AcctRecord{
			start("A", 1), // replaces O1
			{Kind: access.AcctStop, NAS: "n1", AcctSessionID: "O1", InputOctets: 11, OutputOctets: 12, TerminateCause: "User-Request"},
			start("B", 2), // replaces O2
			{Kind: access.AcctInterim, NAS: "n1", AcctSessionID: "O2", InputOctets: 21, OutputOctets: 22},
			{Kind: access.AcctInterim, NAS: "n1", AcctSessionID: "O3", InputOctets: 31, OutputOctets: 32},
			{Kind: access.AcctStop, NAS: "n1", AcctSessionID: "O4", InputOctets: 41, OutputOctets: 42, TerminateCause: "Idle-Timeout"},
			start("O3", 3), // recorded already
		}
		res, err := aaa.RecordAccounting(ctx, recs)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{access.AcctStarted, access.AcctStopped, access.AcctStarted, access.AcctLate, access.AcctUpdated, access.AcctStopped, access.AcctDuplicate}
		for i, w := range want {
			if res[i].Outcome != w {
				t.Errorf("%s %s: %s, want %s", recs[i].Kind, recs[i].AcctSessionID, res[i].Outcome, w)
			}
		}
		if res[0].Closed != 1 || res[2].Closed != 1 {
			t.Errorf("sessions replaced by A and B: %d, %d, want 1 each", res[0].Closed, res[2].Closed)
		}
		byASID := map[string]access.Session{}
		all, err := s.ListSessions(ctx, store.SessionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		live := map[string]int{}
		for _, x := range all {
			byASID[x.AcctSessionID] = x
			if x.Status != "closed" {
				live[x.MAC]++
			}
		}
		type st struct {
			status  access.SessionState
			reason  string
			in, out int64
		}
		for asid, w := range map[string]st{
			"O1": {"closed", access.CloseReplaced, 11, 12},
			"O2": {"closed", access.CloseReplaced, 0, 0},
			"O3": {"online", "", 31, 32},
			"O4": {"closed", access.CloseStop, 41, 42},
			"A":  {"online", "", 0, 0},
			"B":  {"online", "", 0, 0},
		} {
			x := byASID[asid]
			if got := (st{x.Status, x.CloseReason, x.InputOctets, x.OutputOctets}); got != w {
				t.Errorf("session %s: %+v, want %+v", asid, got, w)
			}
		}
		if byASID["O4"].TerminateCause != "Idle-Timeout" || byASID["O1"].TerminateCause != "User-Request" {
			t.Errorf("terminate causes: O1 %q, O4 %q", byASID["O1"].TerminateCause, byASID["O4"].TerminateCause)
		}
		for i := 1; i <= 4; i++ {
			want := 1 // A, B and O3
			if i == 4 {
				want = 0 // O4 stopped
			}
			if live[mac(i)] != want {
				t.Errorf("MAC %s: %d live sessions, want %d", mac(i), live[mac(i)], want)
			}
		}
	})
}

// TestAuthorizeReadsWhatItLocked: a MAC moves to another account while a
// batch waits for the lock of the account it was bound to. The batch's lock
// statement found the old account; its reads (a later statement, a later
// snapshot) find the new one. The batch must be decided again, on the
// account the MAC is bound to now — not refused as "not bound", and not
// decided without that account's lock. PostgreSQL only: SQLite serialises
// whole write transactions.
func TestAuthorizeReadsWhatItLocked(t *testing.T) {
	t.Parallel()
	s := NewPostgres(t)
	ctx := context.Background()
	aaa := store.NewAAA(s)
	defer aaa.Close()
	a, b := newAccount(t, s, "moved-a"), newAccount(t, s, "moved-b")
	const mac = "02:00:00:00:aa:01"
	if _, err := s.BindDevice(ctx, a.ID, mac, access.ClassPC, "op", "", 0); err != nil {
		t.Fatal(err)
	}

	// Another transaction holds a's lock and moves the binding to b.
	tx, err := s.DB().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT id FROM accounts WHERE id = $1 FOR UPDATE`, a.ID); err != nil {
		t.Fatal(err)
	}
	var holder int
	if err := tx.GetContext(ctx, &holder, `SELECT pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE devices SET account_id = $1 WHERE mac = $2`, b.ID, mac); err != nil {
		t.Fatal(err)
	}

	type result struct {
		found []int64 // the account of each decide call
		err   error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		_, r.err = aaa.AuthorizeLogins(ctx, []access.LoginRequest{{MACAuth: true, MAC: mac, NAS: "n1", Area: "dorm"}},
			func(i int, st *access.LoginState) access.LoginDecision {
				id := int64(0)
				if st.Found {
					id = st.Account.ID
				}
				r.found = append(r.found, id)
				return access.LoginDecision{Log: access.AuthLogEntry{Username: mac, Result: "reject", Reason: "TEST"}}
			})
		done <- r
	}()
	// Wait until the batch is blocked on a's lock, then commit the move.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := s.DB().GetContext(ctx, &waiting, `SELECT COUNT(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, holder); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the batch never waited for the account lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.found) != 1 || r.found[0] != b.ID {
		t.Fatalf("decided on accounts %v, want only b (#%d); a is #%d", r.found, b.ID, a.ID)
	}
}
