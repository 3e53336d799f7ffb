package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/campusnet/campusnet/internal/access"
)

// Retention: closed sessions and the authentication log are deleted once
// older than the configured period; the ledger, billing cycles, payment
// orders and the audit log are never deleted (PurgeHistory touches no other
// table).
//
// A purge deletes in small batches, each a statement of its own (its own
// transaction), so it never holds a lock for longer than one batch, and it
// never locks a row a login needs: an Access-Request or Accounting-Start
// reads and locks accounts, devices, cycles and live sessions, and a purge
// deletes closed sessions and log rows only. On PostgreSQL a batch skips the
// rows another transaction has locked (a late Stop updating an old session),
// and the purge runs under a session advisory lock, so of several nodes only
// one purges at a time; the others report that another node is purging. On
// SQLite writers are serialised by the database file; two purges at once
// each delete what the other has not, so every row is removed once and
// counted once either way.
//
// Neither table has an index on the times a purge compares (stopped_at,
// at): one would be written by every Stop and every log row of the hot path.
// Instead the purge walks the primary key, whose order is the order rows
// were written in. It finds by binary search on the id the first row
// written after the cutoff (about 25 primary-key lookups for 50 million
// rows), then deletes in id order below it what is older than the cutoff.
// What is written at nearly the same moment by nodes whose clocks differ a
// little may be out of order by seconds; a row left by that is removed by
// the next purge. Whatever the bound, a batch deletes only rows that are
// older than the cutoff (closed sessions stopped before it, log rows
// written before it), so a row newer than the period is never removed.
//
// Measured on PostgreSQL with a semester of history (deploy/bench/README.md,
// History): batched deletes keep MAC authentication's p99 within its bound
// while a month is purged; monthly partitions would have made the purge a
// DROP, at the price of rewriting both tables and giving up the unique key
// (nas, acct_session_id) that makes accounting idempotent (a partitioned
// table's unique keys must include the partition key), so campusnet uses
// batched deletes on both databases.

// DefaultPurgeBatch is the rows one purge statement deletes.
const DefaultPurgeBatch = 2000

// PurgeResult is what one purge removed.
type PurgeResult struct {
	Cutoff   time.Time // rows older than this were removed
	Sessions int64     // closed sessions deleted
	AuthLog  int64     // authentication-log rows deleted
	Batches  int       // delete statements run
	// Skipped is set when another node held the purge lock (PostgreSQL):
	// nothing was deleted here.
	Skipped bool
	Took    time.Duration
}

// PurgeOptions tunes PurgeHistory.
type PurgeOptions struct {
	// Batch is the rows one statement deletes (default DefaultPurgeBatch).
	Batch int
	// Pause is waited between two batches (default none), to leave the
	// database to the hot path on a busy machine.
	Pause time.Duration
	// OnBatch, when set, is called after each batch with the running totals.
	OnBatch func(PurgeResult)
}

// PurgeHistory deletes closed sessions that stopped more than period ago
// (by the store's clock) and authentication-log rows written before then,
// in batches (see Retention above). It stops at ctx's end and reports what
// it removed until then.
func (s *Store) PurgeHistory(ctx context.Context, period time.Duration, o PurgeOptions) (res PurgeResult, err error) {
	began := time.Now()
	if period <= 0 {
		return res, errors.New("store: purge: the retention period must be above 0")
	}
	cutoff := s.now().Add(-period)
	res.Cutoff = cutoff
	defer func() { res.Took = time.Since(began) }()
	if o.Batch <= 0 {
		o.Batch = DefaultPurgeBatch
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return res, fmt.Errorf("store: purge: %w", err)
	}
	defer conn.Close()
	if s.dialect == Postgres {
		key, err := s.purgeLockKey(ctx, conn)
		if err != nil {
			return res, err
		}
		var got bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&got); err != nil {
			return res, fmt.Errorf("store: purge lock: %w", err)
		}
		if !got {
			res.Skipped = true
			return res, nil
		}
		defer func() {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if _, uerr := conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1)`, key); uerr != nil {
				// A connection that cannot unlock is closed: the lock goes with it.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
	}
	c := access.Millis(cutoff)
	tables := []struct {
		n        *int64
		table    string
		written  string // the time a row was written, for the binary search
		old      string // the rows a purge deletes
		lockable bool
	}{
		{&res.Sessions, "sessions", "CASE WHEN reserved_at > 0 THEN reserved_at ELSE started_at END", "status = 'closed' AND stopped_at < ?", true},
		{&res.AuthLog, "auth_log", "at", "at < ?", false},
	}
	for _, t := range tables {
		bound, err := s.writtenBefore(ctx, conn, t.table, t.written, c)
		if err != nil {
			return res, err
		}
		skip := ""
		if s.dialect == Postgres {
			skip = " FOR UPDATE SKIP LOCKED"
		}
		q := s.db.Rebind(`DELETE FROM ` + t.table + ` WHERE id IN (SELECT id FROM ` + t.table + `
			WHERE id > ? AND id <= ? AND ` + t.old + ` ORDER BY id LIMIT ?` + skip + `) RETURNING id`)
		after := int64(0)
		for after < bound {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			n, last, err := deleteBatch(ctx, conn, q, after, bound, c, o.Batch)
			if err != nil {
				return res, fmt.Errorf("store: purge %s: %w", t.table, err)
			}
			res.Batches++
			*t.n += n
			if o.OnBatch != nil {
				o.OnBatch(res)
			}
			if n < int64(o.Batch) {
				break // nothing older is left below the bound
			}
			after = last
			if o.Pause > 0 {
				tm := time.NewTimer(o.Pause)
				select {
				case <-ctx.Done():
					tm.Stop()
					return res, ctx.Err()
				case <-tm.C:
				}
			}
		}
	}
	return res, nil
}

// deleteBatch runs one purge statement and returns the rows it deleted and
// the highest id among them.
func deleteBatch(ctx context.Context, conn *sql.Conn, q string, after, bound, cutoff int64, batch int) (n, last int64, err error) {
	rows, err := conn.QueryContext(ctx, q, after, bound, cutoff, batch)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return n, last, err
		}
		n++
		last = max(last, id)
	}
	return n, last, rows.Err()
}

// writtenBefore returns the highest id of table whose row was written (by
// the expression written) before cutoff, by binary search over the primary
// key: ids grow with the time rows are written.
func (s *Store) writtenBefore(ctx context.Context, conn *sql.Conn, table, written string, cutoff int64) (int64, error) {
	var lo, hi sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT MIN(id), MAX(id) FROM `+table).Scan(&lo, &hi); err != nil {
		return 0, fmt.Errorf("store: purge %s: %w", table, err)
	}
	if !lo.Valid {
		return 0, nil
	}
	// The row at or after id, and when it was written.
	at := func(id int64) (int64, int64, bool, error) {
		var got, t int64
		err := conn.QueryRowContext(ctx, s.db.Rebind(`SELECT id, `+written+` FROM `+table+` WHERE id >= ? ORDER BY id LIMIT 1`), id).Scan(&got, &t)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, 0, false, nil
		}
		return got, t, err == nil, err
	}
	// Invariant: every row with id ≤ best was found written before cutoff
	// (as far as the order holds); rows from hi on were written after.
	best := int64(0)
	l, h := lo.Int64, hi.Int64
	for l <= h {
		mid := l + (h-l)/2
		id, t, ok, err := at(mid)
		if err != nil {
			return 0, fmt.Errorf("store: purge %s: %w", table, err)
		}
		if !ok || id > h {
			h = mid - 1
			continue
		}
		if t < cutoff {
			best = id
			l = id + 1
		} else {
			h = mid - 1
		}
	}
	return best, nil
}

// purgeLockKey is the advisory lock of purges of this schema's tables
// (tests put several campusnet schemas in one database).
func (s *Store) purgeLockKey(ctx context.Context, conn *sql.Conn) (int64, error) {
	var schema string
	if err := conn.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return 0, fmt.Errorf("store: purge lock: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte("campusnet retention purge " + schema))
	return int64(h.Sum64() >> 1), nil
}
