package store

import (
	"context"
	"fmt"

	"github.com/campusnet/campusnet/internal/access"
)

// traceCols are sessionCols of the table aliased s.
const traceCols = `s.id, s.account_id, s.username, s.nas, s.area, s.mac, s.ip, s.class, s.status,
	COALESCE(s.acct_session_id, '') AS acct_session_id, s.correlation, s.reserved_at, s.started_at, s.last_update_at,
	s.stopped_at, s.input_octets, s.output_octets, s.terminate_cause, s.close_reason, s.nas_port`

// TraceSessions returns the sessions that held q's address or MAC at any
// time from q.From to q.To (a moment when they are equal), oldest first,
// with their account's name and role. A session held it from its
// Accounting-Start to its Stop; one closed without a Stop (stale, BAS
// restart, kick, replaced) up to its last Interim-Update; one online now
// up to now. Reservations that never went online held nothing.
//
// Closed sessions come from the indexes of migration 00113 (one address:
// its sessions that ended since q.From, read in the index), live ones
// from sessions_ip and sessions_mac; each part states the index's
// predicate so a generic plan uses it.
func (s *Store) TraceSessions(ctx context.Context, q access.TraceQuery) ([]access.TraceRow, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	col, key := "ip", q.Key()
	if !q.IP.IsValid() {
		col = "mac"
	}
	now := s.now()
	from, to := access.Millis(q.From), access.Millis(q.To)
	query, args := traceSQL(col, key, from, to, !q.From.After(now), q.Limit)
	var out []access.TraceRow
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("store: trace %s: %w", key, err)
	}
	for i := range out {
		access.FinishTraceRow(&out[i], now)
	}
	return out, nil
}

// traceSQL is TraceSessions' statement: the closed sessions of one address
// (col "ip") or MAC ("mac") whose interval reaches [from, to], and with
// live the online ones started by to.
func traceSQL(col, key string, from, to int64, live bool, limit int) (string, []any) {
	sel := `SELECT ` + traceCols + `, COALESCE(a.name, '') AS name, COALESCE(a.role, '') AS role
		FROM sessions s LEFT JOIN accounts a ON a.id = s.account_id WHERE `
	query := sel + `s.` + col + ` = ? AND s.` + col + ` <> '' AND s.status = 'closed' AND s.started_at > 0
			AND s.last_update_at >= ? AND s.started_at <= ?`
	args := []any{key, from, to}
	if live {
		query += ` UNION ALL ` + sel + `s.` + col + ` = ? AND s.` + col + ` <> '' AND s.status <> 'closed' AND s.started_at > 0
			AND s.started_at <= ?`
		args = append(args, key, to)
	}
	return `SELECT * FROM (` + query + `) t ORDER BY started_at, id LIMIT ?`, append(args, limit)
}
