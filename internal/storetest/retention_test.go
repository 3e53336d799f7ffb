package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
)

const day = 24 * time.Hour

// historyRow is a session or log row a retention test writes, in the order
// RADIUS would have written it.
type historyRow struct {
	name             string
	written, stopped time.Time // stopped: zero for a log row or a live session
	status           string
}

// writeHistory inserts rows in order (ids grow with time, as when written
// live) and returns the name of each session and log row by id.
func writeHistory(t *testing.T, s *store.Store, acc access.Account, rows []historyRow) {
	t.Helper()
	for i, r := range rows {
		var err error
		if r.status == "" {
			_, err = s.DB().Exec(s.Rebind(`INSERT INTO auth_log (at, username, account_id, nas, mac, ip, method, result, reason, message, node)
				VALUES (?, ?, ?, 'bras-1', '02:00:00:00:00:01', '10.12.9.9', 'mac', 'accept', 'OK', ?, 'n1')`),
				access.Millis(r.written), acc.Username, acc.ID, r.name)
		} else {
			stopped := int64(0)
			if !r.stopped.IsZero() {
				stopped = access.Millis(r.stopped)
			}
			w := access.Millis(r.written)
			_, err = s.DB().Exec(s.Rebind(`INSERT INTO sessions (account_id, username, nas, area, mac, ip, class, status,
				acct_session_id, correlation, reserved_at, started_at, last_update_at, stopped_at, close_reason)
				VALUES (?, ?, 'bras-1', 'dorm', '02:00:00:00:00:01', '10.12.9.9', 'pc', ?, ?, ?, ?, ?, ?, ?, ?)`),
				acc.ID, acc.Username, r.status, r.name, fmt.Sprintf("corr-%d", i), w, w+100, max(w, stopped), stopped, r.name)
		}
		if err != nil {
			t.Fatalf("insert %s: %v", r.name, err)
		}
	}
}

// historyLeft returns the names of the sessions and log rows left.
func historyLeft(t *testing.T, s *store.Store) (sessions, logRows []string) {
	t.Helper()
	if err := s.DB().Select(&sessions, `SELECT acct_session_id FROM sessions ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Select(&logRows, `SELECT message FROM auth_log ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	return sessions, logRows
}

func countRows(t *testing.T, s *store.Store, table string) int {
	t.Helper()
	var n int
	if err := s.DB().Get(&n, `SELECT COUNT(*) FROM `+table); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRetentionPurge: with a fake clock, closed sessions that stopped more
// than the period ago and log rows older than it are gone; a live session
// however old, a session stopped within the period, newer log rows, and
// every ledger, cycle and audit row stay.
func TestRetentionPurge(t *testing.T) {
	t0 := time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) { testRetentionPurge(t, kind, t0) })
	}
}

func testRetentionPurge(t *testing.T, kind string, t0 time.Time) {
	clock := NewClock(t0)
	s := New(t, kind, store.WithClock(clock.Now))
	ctx := context.Background()
	acc := billingAccount(t, s, "s2025001", 5000)
	if err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		a, err := s.LockAccount(ctx, tx, acc.ID)
		if err != nil {
			return err
		}
		if _, _, err := s.StartCycleTx(ctx, tx, &a, "dorm", 2000, 30*day); err != nil {
			return err
		}
		return s.AuditTx(ctx, tx, "ops", "account.recharge", acc.Username, "case 7", "")
	}); err != nil {
		t.Fatal(err)
	}
	ledger, cycles, audit := countRows(t, s, "ledger"), countRows(t, s, "cycles"), countRows(t, s, "audit_log")
	if ledger == 0 || cycles == 0 || audit == 0 {
		t.Fatalf("setup: ledger %d, cycles %d, audit %d rows", ledger, cycles, audit)
	}

	// A year and a half of history, written at t0 + offset.
	at := func(days int, h time.Duration) time.Time { return t0.Add(time.Duration(days)*day + h) }
	writeHistory(t, s, acc, []historyRow{
		{name: "live-since-day0", written: at(0, 0), status: "online"},
		{name: "log-day1", written: at(1, 0)},
		{name: "closed-day1", written: at(1, time.Hour), stopped: at(1, 3*time.Hour), status: "closed"},
		{name: "closed-day2-long", written: at(2, 0), stopped: at(160, 0), status: "closed"},
		{name: "log-day100", written: at(100, 0)},
		{name: "closed-day100", written: at(100, time.Hour), stopped: at(100, 2*time.Hour), status: "closed"},
		{name: "log-day150", written: at(150, 0)},
		{name: "closed-day150", written: at(150, time.Hour), stopped: at(150, 2*time.Hour), status: "closed"},
		{name: "log-day400", written: at(400, 0)},
		{name: "closed-day400", written: at(400, time.Hour), stopped: at(400, 2*time.Hour), status: "closed"},
		{name: "reserved-day540", written: at(540, 0), status: "reserved"},
	})

	// Day 550, a 400-day period: the cutoff is day 150 at noon.
	clock.Advance(550 * day)
	res, err := s.PurgeHistory(ctx, 400*day, store.PurgeOptions{Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped || res.Sessions != 2 || res.AuthLog != 2 || !res.Cutoff.Equal(at(150, 0)) {
		t.Fatalf("purge at day 550 = %+v, want 2 sessions and 2 log rows before %s", res, at(150, 0))
	}
	sess, logs := historyLeft(t, s)
	if want := []string{"live-since-day0", "closed-day2-long", "closed-day150", "closed-day400", "reserved-day540"}; !slices.Equal(sess, want) {
		t.Errorf("sessions left %v, want %v", sess, want)
	}
	if want := []string{"log-day150", "log-day400"}; !slices.Equal(logs, want) {
		t.Errorf("log rows left %v, want %v", logs, want)
	}

	// The same purge again removes nothing more.
	if res, err := s.PurgeHistory(ctx, 400*day, store.PurgeOptions{}); err != nil || res.Sessions+res.AuthLog != 0 {
		t.Fatalf("second purge = %+v, %v; want nothing removed", res, err)
	}

	// Twenty days later the long session (stopped day 160) and day 150's rows go.
	clock.Advance(20 * day)
	res, err = s.PurgeHistory(ctx, 400*day, store.PurgeOptions{Batch: 1000})
	if err != nil || res.Sessions != 2 || res.AuthLog != 1 {
		t.Fatalf("purge at day 570 = %+v, %v; want 2 sessions and 1 log row", res, err)
	}
	sess, logs = historyLeft(t, s)
	if want := []string{"live-since-day0", "closed-day400", "reserved-day540"}; !slices.Equal(sess, want) {
		t.Errorf("sessions left %v, want %v", sess, want)
	}
	if want := []string{"log-day400"}; !slices.Equal(logs, want) {
		t.Errorf("log rows left %v, want %v", logs, want)
	}
	if l, c, a := countRows(t, s, "ledger"), countRows(t, s, "cycles"), countRows(t, s, "audit_log"); l != ledger || c != cycles || a != audit {
		t.Errorf("after purges: ledger %d cycles %d audit %d rows, want %d %d %d (never purged)", l, c, a, ledger, cycles, audit)
	}
	if _, err := s.PurgeHistory(ctx, 0, store.PurgeOptions{}); err == nil {
		t.Error("a purge with no period: no error")
	}
}

// TestRetentionPurgeTwoNodes: two nodes purging the same database at once
// remove each old row once, counted once; on PostgreSQL the second node
// finds the first one's lock and purges nothing while it runs.
func TestRetentionPurgeTwoNodes(t *testing.T) {
	t0 := time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			clock := NewClock(t0)
			dsn := DSN(t, kind)
			a := Open(t, dsn, store.WithClock(clock.Now))
			b := Open(t, dsn, store.WithClock(clock.Now))
			acc := billingAccount(t, a, "s2025002", 0)
			const old, young = 300, 40
			var rows []historyRow
			for i := range old + young {
				w := t0.Add(time.Duration(i) * time.Minute)
				if i >= old {
					w = w.Add(300 * day)
				}
				rows = append(rows, historyRow{name: fmt.Sprint("s", i), written: w, stopped: w.Add(time.Second), status: "closed"},
					historyRow{name: fmt.Sprint("l", i), written: w})
			}
			writeHistory(t, a, acc, rows)
			clock.Advance(300*day + 200*day)

			// a pauses after its first batch until b has purged.
			bDone := make(chan struct{})
			var once sync.Once
			var ra, rb store.PurgeResult
			var ea, eb error
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				ra, ea = a.PurgeHistory(ctx, 400*day, store.PurgeOptions{Batch: 25, OnBatch: func(store.PurgeResult) {
					once.Do(func() {
						go func() {
							defer wg.Done()
							defer close(bDone)
							rb, eb = b.PurgeHistory(ctx, 400*day, store.PurgeOptions{Batch: 7})
						}()
						<-bDone
					})
				}})
			}()
			wg.Wait()
			if ea != nil || eb != nil {
				t.Fatalf("purges: %v, %v", ea, eb)
			}
			if got := ra.Sessions + rb.Sessions; got != old {
				t.Errorf("sessions removed %d + %d = %d, want %d (each once)", ra.Sessions, rb.Sessions, got, old)
			}
			if got := ra.AuthLog + rb.AuthLog; got != old {
				t.Errorf("log rows removed %d + %d = %d, want %d (each once)", ra.AuthLog, rb.AuthLog, got, old)
			}
			if kind == "postgres" && (!rb.Skipped || rb.Sessions+rb.AuthLog != 0) {
				t.Errorf("PostgreSQL: the second node purged while the first held the lock: %+v", rb)
			}
			if kind == "sqlite" && rb.Sessions+rb.AuthLog == 0 {
				t.Errorf("SQLite: the second purge removed nothing while the first paused: %+v (the test did not overlap them)", rb)
			}
			if n, m := countRows(t, a, "sessions"), countRows(t, a, "auth_log"); n != young || m != young {
				t.Errorf("left %d sessions and %d log rows, want %d of each", n, m, young)
			}
		})
	}
}
