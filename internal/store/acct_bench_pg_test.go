package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
)

// BenchmarkAccountingBatchPG is the database's part of an accounting batch
// as `bassim load --mode acct` makes them: N Accounting-Starts (User-Name
// and Calling-Station-Id of a bound device, no Class) and N Stops of the
// sessions the previous batch started, recorded by one RecordAccounting
// call on PostgreSQL, one batch after the other. One op is one batch: its
// statements, its commit and the WAL flush. At 16 in flight the server's
// batches hold about 8 requests (pairs=4) and two are in turn, so its
// accounting rate is about 8 per op time; the sizes 1 and 16 show what a
// batch costs whatever its size (the statements' start-up, the commit)
// against what each request adds. It reports the WAL written per batch (the
// whole server's: run it on a PostgreSQL doing nothing else).
// It needs CAMPUSNET_TEST_POSTGRES; bassim load against `campusnet serve`
// is the benchmark that counts (README, Benchmarks).
func BenchmarkAccountingBatchPG(b *testing.B) {
	for _, pairs := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("pairs=%d", pairs), func(b *testing.B) { benchAccountingBatch(b, pairs) })
	}
}

func benchAccountingBatch(b *testing.B, pairs int) {
	ctx := context.Background()
	s := storetest.NewPostgres(b)
	const users = 2000
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO accounts (username, name, role, balance_fen, created_at, updated_at)
			SELECT 'u' || i, '', 'student', 10000, 0, 0 FROM generate_series(1, %d) i`, users),
		`INSERT INTO devices (account_id, mac, class, bound, bound_by, created_at)
			SELECT id, '02:4c:00:00:' || lpad(to_hex(id / 256), 2, '0') || ':' || lpad(to_hex(id % 256), 2, '0'), 'pc', TRUE, 'operator', 0
			FROM accounts`,
		// Every account has paid its cycle: a Start charges nothing.
		`INSERT INTO cycles (account_id, area, fee_fen, started_at, ends_at) SELECT id, 'dorm', 2000, 0, 9000000000000 FROM accounts`,
		// A history of closed sessions, as in a campus's database (a plan
		// made on a near-empty table is not the one a campus gets).
		`INSERT INTO sessions (account_id, username, nas, area, mac, ip, class, status, acct_session_id, correlation,
				reserved_at, started_at, last_update_at, stopped_at, close_reason)
			SELECT a.id, a.username, 'bench-bras', 'dorm', d.mac, '10.9.' || (g / 256 % 256) || '.' || (g % 256), 'pc', 'closed',
				'h' || g, 'hc' || g, 0, 1, 2, 3, 'stop'
			FROM generate_series(1, 50000) g JOIN accounts a ON a.id = g % 2000 + 1 JOIN devices d ON d.account_id = a.id`,
	} {
		if _, err := s.DB().ExecContext(ctx, q); err != nil {
			b.Fatalf("%.60s: %v", q, err)
		}
	}
	var ids []int64
	if err := s.DB().SelectContext(ctx, &ids, `SELECT id FROM accounts ORDER BY id`); err != nil {
		b.Fatal(err)
	}
	a := store.NewAAA(s)
	defer a.Close()
	if err := a.OpenHotPool(ctx, 2); err != nil {
		b.Fatal(err)
	}
	rec := func(kind string, k int) access.AcctRecord {
		id := ids[k%users]
		return access.AcctRecord{Kind: kind, NAS: "bench-bras", Area: "dorm", AcctSessionID: fmt.Sprintf("s%d", k),
			Username: fmt.Sprintf("u%d", id), MAC: fmt.Sprintf("02:4c:00:00:%02x:%02x", id/256, id%256),
			IP: fmt.Sprintf("10.%d.%d.%d", k>>16&255, k>>8&255, k&255), InputOctets: 1 << 20, OutputOctets: 8 << 20,
			TerminateCause: "User-Request", Fee: 2000, CycleLength: 30 * 24 * time.Hour}
	}
	want := map[string]string{access.AcctStart: access.AcctStarted, access.AcctStop: access.AcctStopped}
	n := 0
	batch := func() {
		recs := make([]access.AcctRecord, 0, 2*pairs)
		for j := range pairs {
			recs = append(recs, rec(access.AcctStart, n+j))
			if n > 0 {
				recs = append(recs, rec(access.AcctStop, n-pairs+j))
			}
		}
		out, err := a.RecordAccounting(ctx, recs)
		if err != nil {
			b.Fatal(err)
		}
		for i, r := range out {
			if w := want[recs[i].Kind]; r.Outcome != w {
				b.Fatalf("%s %s: %s, want %s", recs[i].Kind, recs[i].AcctSessionID, r.Outcome, w)
			}
		}
		n += pairs
	}
	for range 100 {
		batch()
	}
	if _, err := s.DB().ExecContext(ctx, `VACUUM ANALYZE sessions`); err != nil {
		b.Fatal(err)
	}
	// WAL position, not pg_stat_wal: the backends report their counters
	// to it only every second or so.
	var lsn0 string
	if err := s.DB().GetContext(ctx, &lsn0, `SELECT pg_current_wal_insert_lsn()::text`); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		batch()
	}
	b.StopTimer()
	var walBytes float64
	if err := s.DB().GetContext(ctx, &walBytes, `SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)`, lsn0); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(walBytes/float64(b.N), "WAL-B/op")
}
