package store_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
)

// TestAccountingStartsPlan: the generic plan PostgreSQL keeps for the
// Accounting-Starts statement (the hot path plans once per connection)
// finds sessions through the indexes of live rows (migration 00103), never
// by reading the sessions table, which holds every session ever closed. A
// plan that scanned it would make every Start slower as the campus's
// history grows — invisible in a fresh benchmark database. Nor does it find
// a MAC's older online sessions by reading every online session of the
// campus: the plan is made with whatever statistics the last ANALYZE left,
// and one made when it found no session online (a quiet night; the
// benchmark's VACUUM ANALYZE between two loads) chose exactly that, and made
// the Starts statement three to six times slower.
func TestAccountingStartsPlan(t *testing.T) {
	for _, tc := range []struct {
		name   string
		online string // which of the 5,000 sessions are online
	}{{"one in 100 online", "g % 100 = 0"}, {"none online", "FALSE"}} {
		t.Run(tc.name, func(t *testing.T) { testAccountingStartsPlan(t, tc.online) })
	}
}

func testAccountingStartsPlan(t *testing.T, online string) {
	ctx := context.Background()
	db := storetest.NewPostgres(t).DB()
	for _, q := range []string{
		`INSERT INTO accounts (username, name, role, balance_fen, created_at, updated_at)
			SELECT 'p' || i, '', 'student', 0, 0, 0 FROM generate_series(1, 300) i`,
		// 5,000 sessions: some online, a few reserved, the rest closed.
		`INSERT INTO sessions (account_id, username, nas, area, mac, ip, class, status, acct_session_id, correlation,
				reserved_at, started_at, last_update_at)
			SELECT a.id, a.username, 'bras', 'dorm', '02:00:00:00:' || lpad(to_hex(g / 256), 2, '0') || ':' || lpad(to_hex(g % 256), 2, '0'),
				'10.0.' || (g / 256) || '.' || (g % 256), 'pc',
				CASE WHEN ` + online + ` THEN 'online' WHEN g % 101 = 0 THEN 'reserved' ELSE 'closed' END,
				'as' || g, 'cn:' || g, 1, 1, 1
			FROM generate_series(1, 5000) g JOIN accounts a ON a.username = 'p' || (g % 300 + 1)`,
		`ANALYZE sessions`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{`SET plan_cache_mode = force_generic_plan`, `PREPARE starts AS ` + store.StartsSQL} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%.40s: %v", q, err)
		}
	}
	rows, err := conn.QueryContext(ctx, `EXPLAIN EXECUTE starts('{1,2}', '{"","cn:101"}', '{bras,bras}', '{dorm,dorm}', '{p1,p2}', '{p1,p2}',
		'{"02:00:00:00:00:64",""}', '{10.1.0.1,10.1.0.2}', '{new1,new2}', '{n1,n2}', '{"",""}',
		'{"",2001:db8::1}', '{"",""}', '{"",""}', '{"",""}', '{"",20010db8000000000000000000000000}', '{"",20010db80000000000000000ffffffff}',
		'{"",""}', '{"",""}', '{-1,-1}', '{-1,-1}', '{f,f}', '{f,f}', 1, 1, 1, 1, 1, 'replaced')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	p := plan.String()
	if strings.Contains(p, "Seq Scan on sessions") {
		t.Errorf("the Starts statement reads the whole sessions table:\n%s", p)
	}
	// Every use of the MAC index looks up a MAC.
	for _, line := range strings.Split(p, "\n") {
		if strings.Contains(line, "Index Cond") && strings.Contains(line, "status") && !strings.Contains(line, "mac =") {
			t.Errorf("the Starts statement scans an index for a status, not a key (%s):\n%s", strings.TrimSpace(line), p)
		}
	}
	for _, idx := range []string{"sessions_acct", "sessions_correlation_reserved", "sessions_mac", "sessions_reserved"} {
		if !strings.Contains(p, idx) {
			t.Errorf("the Starts statement's plan does not use %s:\n%s", idx, p)
		}
	}
}

// TestTracePlan: a trace of an address or a MAC reads the trace indexes of
// migration 00113 (closed sessions) and the live-session indexes, and one
// of an IPv6 address or prefix the range indexes (00113 too), never the
// sessions table, whose closed rows are a semester of history.
func TestTracePlan(t *testing.T) {
	ctx := context.Background()
	st := storetest.NewPostgres(t)
	db := st.DB()
	for _, q := range []string{
		`INSERT INTO accounts (username, name, role, balance_fen, created_at, updated_at)
			SELECT 'p' || i, '', 'student', 0, 0, 0 FROM generate_series(1, 300) i`,
		// 20,000 sessions over 200 addresses and 2,000 MACs, one in 50
		// online; each with one of 4,000 /64s of 2001:db8::/48, one in ten
		// with one of 256 delegated /56s of 2001:db8:ff00::/40.
		`INSERT INTO sessions (account_id, username, nas, area, mac, ip, class, status, acct_session_id, correlation,
				reserved_at, started_at, last_update_at, stopped_at, ip6_lo, ip6_hi, pd_lo, pd_hi)
			SELECT a.id, a.username, 'bras', 'dorm', '02:00:00:00:' || lpad(to_hex(g % 2000 / 256), 2, '0') || ':' || lpad(to_hex(g % 256), 2, '0'),
				'10.0.0.' || (g % 200), 'pc', CASE WHEN g % 50 = 0 THEN 'online' ELSE 'closed' END,
				'as' || g, 'cn:' || g, g * 60000, g * 60000, g * 60000 + 3000000, g * 60000 + 3000000,
				'20010db80000' || lpad(to_hex(g % 4000), 4, '0') || repeat('0', 16), '20010db80000' || lpad(to_hex(g % 4000), 4, '0') || repeat('f', 16),
				CASE WHEN g % 10 = 0 THEN '20010db8ff' || lpad(to_hex(g % 256), 2, '0') || '00' || repeat('0', 18) ELSE '' END,
				CASE WHEN g % 10 = 0 THEN '20010db8ff' || lpad(to_hex(g % 256), 2, '0') || '00' || repeat('f', 18) ELSE '' END
			FROM generate_series(1, 20000) g JOIN accounts a ON a.username = 'p' || (g % 300 + 1)`,
		`ANALYZE sessions`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, tc := range []struct {
		col   string
		q     access.TraceQuery
		index string
	}{
		{"ip", access.TraceQuery{IP: netip.MustParseAddr("10.0.0.7")}, "sessions_trace_ip"},
		{"mac", access.TraceQuery{MAC: "02:00:00:00:03:07"}, "sessions_trace_mac"},
		{"ip6_lo", access.TraceQuery{IPv6: netip.MustParsePrefix("2001:db8:0:7d0::abcd/128")}, "sessions_pd_lo"},
		{"ip6_lo", access.TraceQuery{IPv6: netip.MustParsePrefix("2001:db8:0:7d0::/60")}, "sessions_pd_lo"},
	} {
		q, args := store.TraceSQL(tc.q, 600_000_000, 600_000_000, true, 1000)
		rows, err := db.QueryContext(ctx, `EXPLAIN `+st.Rebind(q), args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan strings.Builder
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan.WriteString(line + "\n")
		}
		rows.Close()
		p := plan.String()
		if strings.Contains(p, "Seq Scan on sessions") || !strings.Contains(p, tc.index) || !strings.Contains(p, "sessions_"+tc.col) {
			t.Errorf("trace of %s reads the table, not %s and sessions_%s:\n%s", tc.q.Key(), tc.index, tc.col, p)
		}
	}
}
