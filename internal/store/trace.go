package store

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/campusnet/campusnet/internal/access"
)

// traceCols are sessionCols of the table aliased s.
const traceCols = `s.id, s.account_id, s.username, s.nas, s.area, s.mac, s.ip, s.class, s.status,
	COALESCE(s.acct_session_id, '') AS acct_session_id, s.correlation, s.reserved_at, s.started_at, s.last_update_at,
	s.stopped_at, s.input_octets, s.output_octets, s.terminate_cause, s.close_reason, s.nas_port,
	s.ip6, s.ip6_prefix, s.ip6_ifid, s.ip6_pd, s.input_octets6, s.output_octets6`

// TraceSessions returns the sessions that held q's address, prefix or MAC at any
// time from q.From to q.To (a moment when they are equal), oldest first,
// with their account's name and role. A session held it from its
// Accounting-Start to its Stop; one closed without a Stop (stale, BAS
// restart, kick, replaced) up to its last Interim-Update; one online now
// up to now. Reservations that never went online held nothing.
//
// Closed sessions come from the indexes of migration 00113 (one address:
// its sessions that ended since q.From, read in the index), live ones
// from sessions_ip and sessions_mac; each part states the index's
// predicate so a generic plan uses it. An IPv6 address or prefix names
// the sessions whose link range (ip6_lo..ip6_hi: the Framed-IPv6-Prefix,
// else the /64 of the address) or delegated range (pd_lo..pd_hi) overlaps
// it, found through the indexes of migration 00113 on the ranges' first
// addresses, with the same time rule; a session holds its IPv6 side from
// its Start even when the BAS first reported it in an Interim-Update.
func (s *Store) TraceSessions(ctx context.Context, q access.TraceQuery) ([]access.TraceRow, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	now := s.now()
	from, to := access.Millis(q.From), access.Millis(q.To)
	query, args := traceSQL(q, from, to, !q.From.After(now), q.Limit)
	var out []access.TraceRow
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("store: trace %s: %w", q.Key(), err)
	}
	for i := range out {
		access.FinishTraceRow(&out[i], now)
	}
	return out, nil
}

// traceCond is the condition that names q's sessions, with its
// arguments. An IPv6 range overlaps q.IPv6 when it starts inside it (a
// range scan bounded by q's own first and last address) or contains it;
// a range (a prefix) that contains it starts at q's address masked to the
// range's length, so those are equality lookups, one per shorter length,
// and no trace reads the index from the bottom of the address space.
func traceCond(q access.TraceQuery) (string, []any) {
	switch {
	case q.IP.IsValid():
		return `s.ip = ? AND s.ip <> ''`, []any{q.IP.String()}
	case q.IPv6.IsValid():
		lo, hi := access.PrefixRange(q.IPv6)
		starts := []any{}
		seen := map[string]bool{lo: true}
		for bits := q.IPv6.Bits() - 1; bits >= 0; bits-- {
			first, _ := access.PrefixRange(netip.PrefixFrom(q.IPv6.Addr(), bits))
			if !seen[first] {
				seen[first] = true
				starts = append(starts, first)
			}
		}
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(starts)), ", ")
		one := func(lo6, hi6 string) string {
			in := ""
			if len(starts) > 0 {
				in = ` OR s.` + lo6 + ` IN (` + marks + `)`
			}
			return `(s.` + lo6 + ` <> '' AND (s.` + lo6 + ` BETWEEN ? AND ?` + in + `) AND s.` + hi6 + ` >= ?)`
		}
		args := append(append([]any{lo, hi}, starts...), lo)
		return `(` + one("ip6_lo", "ip6_hi") + ` OR ` + one("pd_lo", "pd_hi") + `)`, append(args, args...)
	}
	return `s.mac = ? AND s.mac <> ''`, []any{q.MAC}
}

// traceSQL is TraceSessions' statement: the closed sessions of q's key
// (traceCond) whose interval reaches [from, to], and with live the online
// ones started by to.
func traceSQL(q access.TraceQuery, from, to int64, live bool, limit int) (string, []any) {
	cond, condArgs := traceCond(q)
	sel := `SELECT ` + traceCols + `, COALESCE(a.name, '') AS name, COALESCE(a.role, '') AS role
		FROM sessions s LEFT JOIN accounts a ON a.id = s.account_id WHERE `
	query := sel + cond + ` AND s.status = 'closed' AND s.started_at > 0
			AND s.last_update_at >= ? AND s.started_at <= ?`
	args := append(append([]any{}, condArgs...), from, to)
	if live {
		query += ` UNION ALL ` + sel + cond + ` AND s.status <> 'closed' AND s.started_at > 0
			AND s.started_at <= ?`
		args = append(append(args, condArgs...), to)
	}
	return `SELECT * FROM (` + query + `) t ORDER BY started_at, id LIMIT ?`, append(args, limit)
}
