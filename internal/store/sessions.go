package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
)

const sessionCols = `id, account_id, username, nas, area, mac, ip, class, status, COALESCE(acct_session_id, '') AS acct_session_id,
	correlation, reserved_at, started_at, last_update_at, stopped_at, input_octets, output_octets, terminate_cause, close_reason, nas_port,
	ip6, ip6_prefix, ip6_ifid, ip6_pd, input_octets6, output_octets6, profile`

// SessionFilter selects sessions for ListSessions.
type SessionFilter struct {
	AccountID int64  // 0 = every account
	NAS       string // "" = every BAS
	LiveOnly  bool   // reserved or online only
	Limit     int    // default 100, at most 10000
	// IP and MAC (canonical) keep the sessions of that user address or
	// MAC; a closed reservation (never online) has none.
	IP, MAC string
	// From and To keep the sessions that were live at some time between
	// them (either may be zero: unbounded). A session is live from its
	// Start (a reservation from the Access-Accept) to its Stop, else its
	// last Interim-Update, as in TraceSessions; a live one up to now.
	From, To time.Time
}

// ListSessions returns sessions, newest first.
func (s *Store) ListSessions(ctx context.Context, f SessionFilter) ([]access.Session, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 10000)
	q := `SELECT ` + sessionCols + ` FROM sessions WHERE 1 = 1`
	var args []any
	if f.AccountID != 0 {
		q += ` AND account_id = ?`
		args = append(args, f.AccountID)
	}
	if f.NAS != "" {
		q += ` AND nas = ?`
		args = append(args, f.NAS)
	}
	if f.LiveOnly {
		q += ` AND status IN ('reserved', 'online')`
	}
	// Each arm states the predicate of an index: the live sessions'
	// (sessions_ip, sessions_mac) and the closed ones' (00113).
	for col, v := range map[string]string{"ip": f.IP, "mac": f.MAC} {
		if v != "" {
			q += ` AND ` + col + ` = ? AND ` + col + ` <> '' AND (status <> 'closed' OR (status = 'closed' AND started_at > 0))`
			args = append(args, v)
		}
	}
	if !f.To.IsZero() {
		q += ` AND (CASE WHEN started_at > 0 THEN started_at ELSE reserved_at END) <= ?`
		args = append(args, access.Millis(f.To))
	}
	if !f.From.IsZero() {
		q += ` AND (status <> 'closed' OR last_update_at >= ? OR (started_at = 0 AND stopped_at >= ?))`
		args = append(args, access.Millis(f.From), access.Millis(f.From))
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit)
	var out []access.Session
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("store: sessions: %w", err)
	}
	return out, nil
}

// SessionsByAccount returns the account's sessions, newest first (the last
// 200); liveOnly keeps the reserved and online ones.
func (s *Store) SessionsByAccount(ctx context.Context, accountID int64, liveOnly bool) ([]access.Session, error) {
	return s.ListSessions(ctx, SessionFilter{AccountID: accountID, LiveOnly: liveOnly, Limit: 200})
}

// SessionByID returns one session, or an error wrapping access.ErrNotFound.
func (s *Store) SessionByID(ctx context.Context, id int64) (access.Session, error) {
	var out access.Session
	err := s.db.GetContext(ctx, &out, s.db.Rebind(`SELECT `+sessionCols+` FROM sessions WHERE id = ?`), id)
	if err != nil {
		return out, notFound(err, fmt.Sprintf("session #%d", id))
	}
	return out, nil
}

// LiveSessionsByMAC returns the reserved and online sessions of a MAC
// (canonical form), newest first.
func (s *Store) LiveSessionsByMAC(ctx context.Context, mac string) ([]access.Session, error) {
	var out []access.Session
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT `+sessionCols+` FROM sessions
		WHERE mac = ? AND mac <> '' AND status IN ('reserved', 'online') ORDER BY id DESC`), mac)
	if err != nil {
		return nil, fmt.Errorf("store: sessions of %s: %w", mac, err)
	}
	return out, nil
}

// LiveSessionByIP returns the newest online (else reserved) session with
// that user address, or an error wrapping access.ErrNotFound. An IPv6
// address finds the session whose IPv6 link or delegated prefix holds it
// (LiveSessionByIPv6).
func (s *Store) LiveSessionByIP(ctx context.Context, ip string) (access.Session, error) {
	if a, err := netip.ParseAddr(ip); err == nil && a.Is6() && !a.Is4In6() {
		return s.LiveSessionByIPv6(ctx, a)
	}
	var out access.Session
	err := s.db.GetContext(ctx, &out, s.db.Rebind(`SELECT `+sessionCols+` FROM sessions
		WHERE ip = ? AND ip <> '' AND status IN ('reserved', 'online')
		ORDER BY CASE status WHEN 'online' THEN 0 ELSE 1 END, id DESC LIMIT 1`), ip)
	if err != nil {
		return out, notFound(err, "live session of "+ip)
	}
	return out, nil
}

// CloseSession closes a reserved or online session with the given reason
// (an operator's kick, a disconnect). It reports whether it was still open.
func (s *Store) CloseSession(ctx context.Context, id int64, reason string) (bool, error) {
	now := access.Millis(s.now())
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE sessions SET status = 'closed', stopped_at = ?, close_reason = ?
		WHERE id = ? AND status <> 'closed'`), now, reason, id)
	if err != nil {
		return false, fmt.Errorf("store: close session #%d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// ReapSessions closes online sessions last heard of before staleBefore
// (close_reason "stale") and reservations made before reservedBefore with no
// Accounting-Start ("reserve_timeout"). It returns how many of each.
//
// The conditions "last_update_at >= 0" and "id > 0" are always true: stating them lets the statements
// use the partial indexes made for them (migration 00101), which no other
// statement can.
func (s *Store) ReapSessions(ctx context.Context, staleBefore, reservedBefore time.Time) (stale, reserved int64, err error) {
	now := access.Millis(s.now())
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE sessions SET status = 'closed', stopped_at = ?, close_reason = ?
		WHERE status = 'online' AND last_update_at >= 0 AND last_update_at < ? AND started_at < ?`),
		now, access.CloseStale, access.Millis(staleBefore), access.Millis(staleBefore))
	if err != nil {
		return 0, 0, fmt.Errorf("store: reap stale sessions: %w", err)
	}
	stale, _ = res.RowsAffected()
	res, err = s.db.ExecContext(ctx, s.db.Rebind(`UPDATE sessions SET status = 'closed', stopped_at = ?, close_reason = ?
		WHERE status = 'reserved' AND id > 0 AND reserved_at < ?`), now, access.CloseReserveTimeout, access.Millis(reservedBefore))
	if err != nil {
		return stale, 0, fmt.Errorf("store: reap reservations: %w", err)
	}
	reserved, _ = res.RowsAffected()
	return stale, reserved, nil
}

// RecordAccounting applies a batch of Accounting-Requests in order, in one
// transaction. Every kind is idempotent on (NAS, Acct-Session-Id): a
// repeated Start records nothing, a repeated Stop the same counters.
func (a *AAA) RecordAccounting(ctx context.Context, recs []access.AcctRecord) ([]access.AcctResult, error) {
	if a.dialect == Postgres {
		return a.recordAccountingPG(ctx, recs)
	}
	var out []access.AcctResult
	err := a.InTx(ctx, func(tx *sqlx.Tx) error {
		out = make([]access.AcctResult, len(recs))
		nowMs := access.Millis(a.now())
		for i := range recs {
			res, err := a.acctOne(ctx, tx, &recs[i], nowMs)
			if err != nil {
				return err
			}
			out[i] = res
		}
		ids := billedStarts(recs, out)
		if len(ids) == 0 {
			return nil
		}
		var rows []struct {
			AccountID int64  `db:"account_id"`
			Area      string `db:"area"`
		}
		if err := a.sel(ctx, tx, &rows, `SELECT account_id, area FROM cycles WHERE `+a.inInts("account_id")+` AND status = 'active'`,
			a.intsArg(ids)); err != nil {
			return fmt.Errorf("store: active cycles: %w", err)
		}
		active := map[cycleKey]bool{}
		for _, r := range rows {
			active[cycleKey{r.AccountID, r.Area}] = true
		}
		return a.startCycles(ctx, tx, recs, out, active)
	})
	return out, err
}

// billedStarts returns the accounts of the Starts that put a session online
// in a billed area.
func billedStarts(recs []access.AcctRecord, out []access.AcctResult) []int64 {
	var ids []int64
	for i, r := range recs {
		if r.Kind == access.AcctStart && out[i].Outcome == access.AcctStarted && r.Fee > 0 && out[i].AccountID != 0 {
			ids = append(ids, out[i].AccountID)
		}
	}
	return ids
}

// startCycles starts, with billing's StartCycleTx, the cycle of each account
// a Start put online in a billed area without an active cycle there, in
// account order (StartCycleTx locks the account).
func (a *AAA) startCycles(ctx context.Context, tx *sqlx.Tx, recs []access.AcctRecord, out []access.AcctResult, active map[cycleKey]bool) error {
	var starts []int
	for i, r := range recs {
		if r.Kind == access.AcctStart && out[i].Outcome == access.AcctStarted && r.Fee > 0 && out[i].AccountID != 0 && !active[cycleKey{out[i].AccountID, r.Area}] {
			starts = append(starts, i)
		}
	}
	sort.SliceStable(starts, func(x, y int) bool { return out[starts[x]].AccountID < out[starts[y]].AccountID })
	for _, i := range starts {
		k := cycleKey{out[i].AccountID, recs[i].Area}
		if active[k] {
			continue
		}
		acc := access.Account{ID: k.account}
		var c access.Cycle
		var started bool
		var err error
		c, started, err = a.StartPlanCycleTx(ctx, tx, &acc, access.Area{Name: k.area, Fee: recs[i].Fee, Cycle: recs[i].CycleLength, Plans: recs[i].Plans})
		if err != nil {
			return err
		}
		if c.ID == 0 {
			out[i].Arrears = true
			continue
		}
		active[k] = true
		out[i].CycleStarted = started
	}
	return nil
}

// recordAccountingPG applies a batch on PostgreSQL. Accounting requests are
// independent of one another and lock no account: the set-based statements
// of a part of the batch are pipelined in one round trip and commit
// together, and a request is answered only once the statements that record
// it have committed — after a failure the BAS resends and the records are
// idempotent. Starting a cycle locks its account in a transaction.
func (a *AAA) recordAccountingPG(ctx context.Context, recs []access.AcctRecord) ([]access.AcctResult, error) {
	out := make([]access.AcctResult, len(recs))
	nowMs := access.Millis(a.now())
	active := map[cycleKey]bool{}
	if err := a.acctBulkPG(ctx, recs, out, active, nowMs); err != nil {
		return nil, err
	}
	if len(billedStarts(recs, out)) == 0 {
		return out, nil
	}
	need := false
	for i, r := range recs {
		if r.Kind == access.AcctStart && out[i].Outcome == access.AcctStarted && r.Fee > 0 && out[i].AccountID != 0 && !active[cycleKey{out[i].AccountID, r.Area}] {
			need = true
		}
	}
	if !need {
		return out, nil
	}
	err := a.InTx(ctx, func(tx *sqlx.Tx) error {
		got := map[cycleKey]bool{}
		for k, v := range active {
			got[k] = v
		}
		return a.startCycles(ctx, tx, recs, out, got)
	})
	return out, err
}

func (a *AAA) acctOne(ctx context.Context, tx *sqlx.Tx, r *access.AcctRecord, nowMs int64) (access.AcctResult, error) {
	switch r.Kind {
	case access.AcctOn, access.AcctOff:
		res, err := a.exec(ctx, tx, `UPDATE sessions SET status = 'closed', stopped_at = ?, close_reason = ?
			WHERE nas = ? AND status IN ('reserved', 'online')`, nowMs, access.CloseNASReboot, r.NAS)
		if err != nil {
			return access.AcctResult{}, fmt.Errorf("store: accounting-on/off of %s: %w", r.NAS, err)
		}
		n, _ := res.RowsAffected()
		return access.AcctResult{Outcome: access.AcctClosedAll, Closed: n}, nil
	}
	var res access.AcctResult
	var err error
	switch r.Kind {
	case access.AcctStart:
		res, err = a.acctStart(ctx, tx, r, nowMs)
	case access.AcctInterim:
		res, err = a.acctInterim(ctx, tx, r, nowMs)
	case access.AcctStop:
		res, err = a.acctStop(ctx, tx, r, nowMs)
	default:
		return access.AcctResult{}, fmt.Errorf("store: accounting kind %q: %w", r.Kind, access.ErrInvalid)
	}
	if err != nil || res.SessionID == 0 {
		return res, err
	}
	switch res.Outcome {
	case access.AcctStarted, access.AcctUpdated, access.AcctStopped:
		if err := a.applyIPv6(ctx, tx, res.SessionID, r); err != nil {
			return access.AcctResult{}, err
		}
	}
	return res, nil
}

// setIPv6SQL records a request's IPv6 identifiers and counters on its
// session: an identifier the request does not carry keeps the one the
// session has (a Start or Interim-Update that first reports an address
// adds it to the session), counters are replaced when it carries them.
// Its arguments are ipv6Args.
const setIPv6SQL = `UPDATE sessions SET
		ip6 = CASE WHEN ? = '' THEN ip6 ELSE ? END,
		ip6_prefix = CASE WHEN ? = '' THEN ip6_prefix ELSE ? END,
		ip6_ifid = CASE WHEN ? = '' THEN ip6_ifid ELSE ? END,
		ip6_pd = CASE WHEN ? = '' THEN ip6_pd ELSE ? END,
		ip6_lo = CASE WHEN ? = '' THEN ip6_lo ELSE ? END,
		ip6_hi = CASE WHEN ? = '' THEN ip6_hi ELSE ? END,
		pd_lo = CASE WHEN ? = '' THEN pd_lo ELSE ? END,
		pd_hi = CASE WHEN ? = '' THEN pd_hi ELSE ? END,
		input_octets6 = CASE WHEN CAST(? AS BIGINT) < 0 THEN input_octets6 ELSE CAST(? AS BIGINT) END,
		output_octets6 = CASE WHEN CAST(? AS BIGINT) < 0 THEN output_octets6 ELSE CAST(? AS BIGINT) END
	WHERE id = ?`

// ipv6Cols are a request's IPv6 columns in the order of the table: the
// texts (address, prefix, interface id, delegated prefix, the two ranges'
// bounds) and the counters (-1 when the request has none).
func ipv6Cols(r *access.AcctRecord) (texts [8]string, in6, out6 int64) {
	v := r.IPv6
	lo, hi := v.NetRange()
	plo, phi := v.DelegatedRange()
	texts = [8]string{v.Addr, v.Prefix, v.IfID, v.Delegated, lo, hi, plo, phi}
	in6, out6 = -1, -1
	if v.HasOctets {
		in6, out6 = v.Input, v.Output
	}
	return texts, in6, out6
}

// applyIPv6 records r's IPv6 side on session id (nothing to do when r has
// none).
func (a *AAA) applyIPv6(ctx context.Context, tx *sqlx.Tx, id int64, r *access.AcctRecord) error {
	if !r.IPv6.Any() && !r.IPv6.HasOctets && r.IPv6.IfID == "" {
		return nil
	}
	texts, in6, out6 := ipv6Cols(r)
	args := make([]any, 0, 21)
	for _, t := range texts {
		args = append(args, t, t)
	}
	args = append(args, in6, in6, out6, out6, id)
	if _, err := a.exec(ctx, tx, setIPv6SQL, args...); err != nil {
		return fmt.Errorf("store: accounting ipv6: %w", err)
	}
	return nil
}

// otherFamilySQL is true of an older online session o of the same MAC
// that a Start does not replace because it is the device's other address
// family: the Start reports only IPv6 (first argument) and o only IPv4,
// or the Start only IPv4 (second) and o only IPv6. Both stay online, and
// the device limit counts the MAC once.
const otherFamilySQL = `((? AND o.ip <> '' AND o.ip6_lo = '' AND o.pd_lo = '') OR (? AND o.ip = '' AND (o.ip6_lo <> '' OR o.pd_lo <> '')))`

// families says whether a Start reports only IPv6 or only IPv4.
func families(r *access.AcctRecord) (v6only, v4only bool) {
	has6 := r.IPv6.Any()
	return has6 && r.IP == "", r.IP != "" && !has6
}

type startedRow struct {
	ID        int64 `db:"id"`
	AccountID int64 `db:"account_id"`
	Closed    int64 `db:"closed"`
}

// setOnline is the SET clause that turns a reservation online; its
// arguments are onlineArgs.
const setOnline = `status = 'online', acct_session_id = ?, started_at = ?, last_update_at = ?,
	ip = CASE WHEN ? = '' THEN ip ELSE ? END, mac = CASE WHEN mac = '' THEN ? ELSE mac END, nas_port = ?`

func onlineArgs(r *access.AcctRecord, nowMs int64) []any {
	return []any{r.AcctSessionID, nowMs, nowMs, r.IP, r.IP, r.MAC, r.NASPort}
}

func (a *AAA) acctStart(ctx context.Context, tx *sqlx.Tx, r *access.AcctRecord, nowMs int64) (access.AcctResult, error) {
	var row startedRow
	found := false
	// The reservation named by Class, unless this Start was recorded already.
	if r.Correlation != "" {
		args := append(onlineArgs(r, nowMs), r.Correlation, r.NAS, r.NAS, r.AcctSessionID)
		var q string
		if a.dialect == Postgres {
			// One round trip: the reservation goes online and older online
			// sessions of the same MAC at this BAS are closed as replaced.
			q = `WITH s AS (UPDATE sessions SET ` + setOnline + `
					WHERE correlation = ? AND correlation <> '' AND nas = ? AND status = 'reserved'
					  AND NOT EXISTS (SELECT 1 FROM sessions d WHERE d.nas = ? AND d.acct_session_id = ?)
					RETURNING id, account_id, mac, nas),
				c AS (UPDATE sessions o SET status = 'closed', stopped_at = ?, close_reason = ?
					FROM s WHERE o.nas = s.nas AND o.mac = s.mac AND o.mac <> '' AND o.status = 'online' AND o.id <> s.id
					  AND NOT ` + otherFamilySQL + `
					RETURNING o.id)
				SELECT s.id, s.account_id, (SELECT COUNT(*) FROM c) AS closed FROM s`
			v6only, v4only := families(r)
			args = append(args, nowMs, access.CloseReplaced, v6only, v4only)
		} else {
			q = `UPDATE sessions SET ` + setOnline + `
				WHERE correlation = ? AND correlation <> '' AND nas = ? AND status = 'reserved'
				  AND NOT EXISTS (SELECT 1 FROM sessions d WHERE d.nas = ? AND d.acct_session_id = ?)
				RETURNING id, account_id, 0 AS closed`
		}
		err := a.get(ctx, tx, &row, q, args...)
		switch {
		case err == nil:
			found = true
			if a.dialect == Postgres {
				return access.AcctResult{Outcome: access.AcctStarted, SessionID: row.ID, AccountID: row.AccountID, Closed: row.Closed}, nil
			}
		case !errors.Is(err, sql.ErrNoRows):
			return access.AcctResult{}, fmt.Errorf("store: accounting start: %w", err)
		}
	}
	if !found {
		// Recorded already?
		var dup startedRow
		err := a.get(ctx, tx, &dup, `SELECT id, account_id, 0 AS closed FROM sessions WHERE nas = ? AND acct_session_id = ?`, r.NAS, r.AcctSessionID)
		if err == nil {
			return access.AcctResult{Outcome: access.AcctDuplicate, SessionID: dup.ID, AccountID: dup.AccountID}, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return access.AcctResult{}, fmt.Errorf("store: accounting start: %w", err)
		}
		// A reservation of this MAC (of this user, unless User-Name is the
		// MAC itself), or without a MAC, of this user, at this BAS.
		user := r.Username
		if _, err := access.NormalizeMAC(user); err == nil {
			user = ""
		}
		key, col := r.MAC, "mac"
		if key == "" {
			key, col = user, "username"
		}
		if key != "" {
			err = a.get(ctx, tx, &row, `UPDATE sessions SET `+setOnline+`
				WHERE id = (SELECT id FROM sessions WHERE nas = ? AND `+col+` = ? AND `+col+` <> '' AND (? = '' OR username = ?)
					AND status = 'reserved' AND id > 0
					ORDER BY reserved_at DESC, id DESC LIMIT 1)
				RETURNING id, account_id, 0 AS closed`, append(onlineArgs(r, nowMs), r.NAS, key, user, user)...)
			switch {
			case err == nil:
				found = true
			case !errors.Is(err, sql.ErrNoRows):
				return access.AcctResult{}, fmt.Errorf("store: accounting start: %w", err)
			}
		}
	}
	if !found {
		// No reservation (this node restarted, or the BAS authenticated
		// elsewhere): the subscriber is online all the same.
		var err error
		row, found, err = a.insertOnline(ctx, tx, r, nowMs)
		if err != nil {
			return access.AcctResult{}, err
		}
		if !found {
			return access.AcctResult{Outcome: access.AcctUnknown}, nil
		}
		if row.ID == 0 {
			return access.AcctResult{Outcome: access.AcctDuplicate}, nil
		}
	}
	res := access.AcctResult{Outcome: access.AcctStarted, SessionID: row.ID, AccountID: row.AccountID}
	if r.MAC != "" {
		v6only, v4only := families(r)
		out, err := a.exec(ctx, tx, `UPDATE sessions AS o SET status = 'closed', stopped_at = ?, close_reason = ?
			WHERE o.nas = ? AND o.mac = ? AND o.mac <> '' AND o.status = 'online' AND o.id <> ? AND NOT `+otherFamilySQL,
			nowMs, access.CloseReplaced, r.NAS, r.MAC, row.ID, v6only, v4only)
		if err != nil {
			return access.AcctResult{}, fmt.Errorf("store: close replaced sessions: %w", err)
		}
		res.Closed, _ = out.RowsAffected()
	}
	return res, nil
}

// insertOnline records an online session that has no reservation. found is
// false when neither the user name nor the MAC's binding names an account;
// the row's ID is 0 when the same (NAS, Acct-Session-Id) was recorded
// concurrently.
func (a *AAA) insertOnline(ctx context.Context, tx *sqlx.Tx, r *access.AcctRecord, nowMs int64) (startedRow, bool, error) {
	var acc struct {
		ID       int64  `db:"id"`
		Username string `db:"username"`
	}
	err := a.get(ctx, tx, &acc, `SELECT id, username FROM accounts WHERE username = ?`, r.Username)
	if errors.Is(err, sql.ErrNoRows) && r.MAC != "" {
		err = a.get(ctx, tx, &acc, `SELECT a.id, a.username FROM accounts a JOIN devices d ON d.account_id = a.id WHERE d.mac = ? AND d.bound`, r.MAC)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return startedRow{}, false, nil
	}
	if err != nil {
		return startedRow{}, false, fmt.Errorf("store: accounting start: account: %w", err)
	}
	class := access.ClassUnknown
	if r.MAC != "" {
		var c access.Class
		err := a.get(ctx, tx, &c, `SELECT class FROM devices WHERE account_id = ? AND mac = ?`, acc.ID, r.MAC)
		if err == nil && c != "" {
			class = c
		} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return startedRow{}, false, fmt.Errorf("store: accounting start: device: %w", err)
		}
	}
	var ids []int64
	err = a.sel(ctx, tx, &ids, `INSERT INTO sessions (account_id, username, nas, area, mac, ip, class, status, acct_session_id, correlation,
			reserved_at, started_at, last_update_at, nas_port)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'online', ?, ?, 0, ?, ?, ?)
		ON CONFLICT (nas, acct_session_id) DO NOTHING RETURNING id`,
		acc.ID, acc.Username, r.NAS, r.Area, r.MAC, r.IP, class, r.AcctSessionID, access.NewCorrelation(), nowMs, nowMs, r.NASPort)
	if err != nil {
		return startedRow{}, false, fmt.Errorf("store: accounting start: insert: %w", err)
	}
	if len(ids) == 0 {
		return startedRow{}, true, nil
	}
	return startedRow{ID: ids[0], AccountID: acc.ID}, true, nil
}

func (a *AAA) acctInterim(ctx context.Context, tx *sqlx.Tx, r *access.AcctRecord, nowMs int64) (access.AcctResult, error) {
	// An Interim-Update proves the session alive: one the reaper closed
	// as stale comes back online.
	// The counters never go down (a late, out-of-order Interim keeps the
	// newer ones) and what they grew by is the day's usage (usage.go).
	var row startedRow
	prev, err := a.prevCounters(ctx, tx, r)
	if err != nil {
		return access.AcctResult{}, fmt.Errorf("store: interim-update: %w", err)
	}
	err = a.get(ctx, tx, &row, `UPDATE sessions SET last_update_at = ?,
			input_octets = CASE WHEN input_octets > ? THEN input_octets ELSE ? END,
			output_octets = CASE WHEN output_octets > ? THEN output_octets ELSE ? END,
			ip = CASE WHEN ? = '' THEN ip ELSE ? END, status = 'online', stopped_at = 0, close_reason = ''
		WHERE nas = ? AND acct_session_id = ? AND (status = 'online' OR (status = 'closed' AND close_reason = ?))
		RETURNING id, account_id, 0 AS closed`,
		nowMs, r.InputOctets, r.InputOctets, r.OutputOctets, r.OutputOctets, r.IP, r.IP, r.NAS, r.AcctSessionID, access.CloseStale)
	if err == nil {
		in, out := delta(r.InputOctets, r.OutputOctets, prev)
		if err := a.addUsage(ctx, tx, row.AccountID, nowMs, in, out); err != nil {
			return access.AcctResult{}, err
		}
		return access.AcctResult{Outcome: access.AcctUpdated, SessionID: row.ID, AccountID: row.AccountID}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return access.AcctResult{}, fmt.Errorf("store: interim-update: %w", err)
	}
	err = a.get(ctx, tx, &row, `SELECT id, account_id, 0 AS closed FROM sessions WHERE nas = ? AND acct_session_id = ?`, r.NAS, r.AcctSessionID)
	if err == nil {
		return access.AcctResult{Outcome: access.AcctLate, SessionID: row.ID, AccountID: row.AccountID}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return access.AcctResult{}, fmt.Errorf("store: interim-update: %w", err)
	}
	// The Start never reached us: record the session now.
	res, err := a.acctStart(ctx, tx, r, nowMs)
	if err != nil || res.SessionID == 0 {
		return res, err
	}
	if _, err := a.exec(ctx, tx, `UPDATE sessions SET input_octets = ?, output_octets = ? WHERE id = ?`,
		r.InputOctets, r.OutputOctets, res.SessionID); err != nil {
		return access.AcctResult{}, fmt.Errorf("store: interim-update: %w", err)
	}
	if err := a.addUsage(ctx, tx, res.AccountID, nowMs, max(0, r.InputOctets), max(0, r.OutputOctets)); err != nil {
		return access.AcctResult{}, err
	}
	return res, nil
}

// prevCounters reads, and on PostgreSQL locks, the counters of the session
// r names (zero when there is none).
func (a *AAA) prevCounters(ctx context.Context, tx *sqlx.Tx, r *access.AcctRecord) (counters, error) {
	var c counters
	err := a.get(ctx, tx, &c, `SELECT id, input_octets, output_octets FROM sessions WHERE nas = ? AND acct_session_id = ?`+a.forUpdate(),
		r.NAS, r.AcctSessionID)
	if errors.Is(err, sql.ErrNoRows) {
		return counters{}, nil
	}
	return c, err
}

func (a *AAA) acctStop(ctx context.Context, tx *sqlx.Tx, r *access.AcctRecord, nowMs int64) (access.AcctResult, error) {
	var row startedRow
	prev, err := a.prevCounters(ctx, tx, r)
	if err != nil {
		return access.AcctResult{}, fmt.Errorf("store: accounting stop: %w", err)
	}
	err = a.get(ctx, tx, &row, `UPDATE sessions SET
			stopped_at = CASE WHEN status = 'closed' AND close_reason NOT IN ('', 'stale') THEN stopped_at ELSE ? END,
			close_reason = CASE WHEN status = 'closed' AND close_reason NOT IN ('', 'stale') THEN close_reason ELSE ? END,
			status = 'closed', last_update_at = ?,
			input_octets = CASE WHEN input_octets > ? THEN input_octets ELSE ? END,
			output_octets = CASE WHEN output_octets > ? THEN output_octets ELSE ? END, terminate_cause = ?,
			ip = CASE WHEN ? = '' THEN ip ELSE ? END
		WHERE nas = ? AND acct_session_id = ?
		RETURNING id, account_id, 0 AS closed`,
		nowMs, access.CloseStop, nowMs, r.InputOctets, r.InputOctets, r.OutputOctets, r.OutputOctets, r.TerminateCause, r.IP, r.IP, r.NAS, r.AcctSessionID)
	if err == nil {
		in, out := delta(r.InputOctets, r.OutputOctets, prev)
		if err := a.addUsage(ctx, tx, row.AccountID, nowMs, in, out); err != nil {
			return access.AcctResult{}, err
		}
		return access.AcctResult{Outcome: access.AcctStopped, SessionID: row.ID, AccountID: row.AccountID}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return access.AcctResult{}, fmt.Errorf("store: accounting stop: %w", err)
	}
	// A Stop whose Start never came: close the reservation it names.
	if r.Correlation != "" {
		err = a.get(ctx, tx, &row, `UPDATE sessions SET status = 'closed', acct_session_id = ?, started_at = ?, stopped_at = ?, last_update_at = ?,
				close_reason = ?, input_octets = ?, output_octets = ?, terminate_cause = ?, nas_port = ?
			WHERE correlation = ? AND correlation <> '' AND nas = ? AND status = 'reserved'
			RETURNING id, account_id, 0 AS closed`,
			r.AcctSessionID, nowMs, nowMs, nowMs, access.CloseStop, r.InputOctets, r.OutputOctets, r.TerminateCause, r.NASPort, r.Correlation, r.NAS)
		if err == nil {
			if err := a.addUsage(ctx, tx, row.AccountID, nowMs, max(0, r.InputOctets), max(0, r.OutputOctets)); err != nil {
				return access.AcctResult{}, err
			}
			return access.AcctResult{Outcome: access.AcctStopped, SessionID: row.ID, AccountID: row.AccountID}, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return access.AcctResult{}, fmt.Errorf("store: accounting stop: %w", err)
		}
	}
	return access.AcctResult{Outcome: access.AcctUnknown}, nil
}

// acctBulkPG applies a batch on PostgreSQL with a few set-based statements
// instead of one or more per request: the batch is cut at each
// Accounting-On/Off (which must see what came before it and not what
// follows), and in each part the Starts, then the Interim-Updates, then the
// Stops are applied together. A request the set-based statements leave
// unmatched, or that conflicts with another of its part (the same session
// or MAC twice), takes the per-request path afterwards.
func (a *AAA) acctBulkPG(ctx context.Context, recs []access.AcctRecord, out []access.AcctResult, active map[cycleKey]bool, nowMs int64) error {
	var seg []int
	flush := func() error {
		err := a.acctSegmentPG(ctx, recs, seg, out, active, nowMs)
		seg = seg[:0]
		return err
	}
	for i := range recs {
		if k := recs[i].Kind; k == access.AcctOn || k == access.AcctOff {
			if err := flush(); err != nil {
				return err
			}
			if err := a.acctOneTx(ctx, recs, i, out, nowMs); err != nil {
				return err
			}
			continue
		}
		seg = append(seg, i)
	}
	return flush()
}

// acctOneTx records request i by itself, in a transaction of its own.
func (a *AAA) acctOneTx(ctx context.Context, recs []access.AcctRecord, i int, out []access.AcctResult, nowMs int64) error {
	return a.InTx(ctx, func(tx *sqlx.Tx) error {
		res, err := a.acctOne(ctx, tx, &recs[i], nowMs)
		out[i] = res
		return err
	})
}

func (a *AAA) acctSegmentPG(ctx context.Context, recs []access.AcctRecord, seg []int, out []access.AcctResult, active map[cycleKey]bool, nowMs int64) error {
	if len(seg) == 0 {
		return nil
	}
	type key struct{ nas, v string }
	var starts, interims, stops, later []int
	startKeys, corrs, macs, stopKeys := map[key]bool{}, map[string]bool{}, map[key]bool{}, map[key]bool{}
	for _, i := range seg {
		if recs[i].Kind == access.AcctStop {
			stopKeys[key{recs[i].NAS, recs[i].AcctSessionID}] = true
		}
	}
	for _, i := range seg {
		r := &recs[i]
		k := key{r.NAS, r.AcctSessionID}
		switch r.Kind {
		case access.AcctStart:
			mk := key{r.NAS, r.MAC}
			if startKeys[k] || (r.Correlation != "" && corrs[r.Correlation]) || (r.MAC != "" && macs[mk]) {
				later = append(later, i)
				continue
			}
			startKeys[k], corrs[r.Correlation], macs[mk] = true, true, r.MAC != ""
			starts = append(starts, i)
		case access.AcctInterim:
			if stopKeys[k] || startKeys[k] {
				later = append(later, i) // its Stop (or Start) is in this part too: apply it in order
				continue
			}
			interims = append(interims, i)
		case access.AcctStop:
			stops = append(stops, i)
		default:
			later = append(later, i)
		}
	}
	// A Stop of a session a Start of this part records waits for it.
	kept := stops[:0]
	for _, i := range stops {
		if startKeys[key{recs[i].NAS, recs[i].AcctSessionID}] {
			later = append(later, i)
		} else {
			kept = append(kept, i)
		}
	}
	stops = kept
	// The three statements are sent at once (one round trip) and commit
	// together (one WAL flush). They touch different requests' sessions;
	// where they meet — a Start closing an older session of its MAC that an
	// Interim or Stop names — either order is one the BAS could have sent.
	mInterims, mStops := map[int]bool{}, map[int]bool{}
	var qs []pgQuery
	if len(starts) > 0 {
		qs = append(qs, startsQueryPG(recs, starts, out, active, nowMs))
	}
	if len(interims) > 0 || len(stops) > 0 {
		qs = append(qs, updatesQueryPG(recs, interims, stops, out, nowMs, a.usageDay(nowMs), mInterims, mStops))
	}
	if err := a.runPipelined(ctx, qs, func() {
		clear(mInterims)
		clear(mStops)
	}); err != nil {
		return err
	}
	var fallback []int
	fallback = append(fallback, unmatched(interims, mInterims)...)
	fallback = append(fallback, unmatched(stops, mStops)...)
	fallback = append(fallback, later...)
	sort.Ints(fallback)
	for _, i := range fallback {
		if err := a.acctOneTx(ctx, recs, i, out, nowMs); err != nil {
			return err
		}
	}
	return nil
}

func unmatched(idx []int, matched map[int]bool) []int {
	var out []int
	for _, i := range idx {
		if !matched[i] {
			out = append(out, i)
		}
	}
	return out
}

// bulkStartsPG applies Accounting-Starts in one statement: each goes online
// from the reservation its Class names, else from a reservation of its MAC
// (or user) at the BAS, else as a new online session of the account its
// User-Name (or bound MAC) names; a (BAS, Acct-Session-Id) recorded already
// is a duplicate; older online sessions of the same MAC at the BAS are
// closed as replaced.
func startsQueryPG(recs []access.AcctRecord, idx []int, out []access.AcctResult, active map[cycleKey]bool, nowMs int64) pgQuery {
	n := len(idx)
	ord := make([]int64, n)
	corr, nas, area, usr, rusr, mac, ip, asid, newcorr, port := make([]string, n), make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for j, i := range idx {
		r := &recs[i]
		ord[j] = int64(i)
		corr[j], nas[j], area[j], usr[j], mac[j], ip[j], asid[j], port[j] = r.Correlation, r.NAS, r.Area, r.Username, r.MAC, r.IP, r.AcctSessionID, r.NASPort
		if _, err := access.NormalizeMAC(r.Username); err != nil {
			rusr[j] = r.Username // a reservation must be this user's, unless User-Name is the MAC
		}
		newcorr[j] = access.NewCorrelation()
	}
	six := newIPv6Arrays(recs, idx)
	return pgQuery{
		sql: startsSQL,
		args: append([]any{ord, corr, nas, area, usr, rusr, mac, ip, asid, newcorr, port}, append(six.args(),
			nowMs, nowMs, nowMs, nowMs, nowMs, access.CloseReplaced)...),
		scan: func(rows pgx.Rows) error {
			done := map[int]bool{}
			for rows.Next() {
				var o, id, acc, closed int64
				var kind, ar string
				if err := rows.Scan(&o, &id, &acc, &kind, &closed, &ar); err != nil {
					return fmt.Errorf("store: accounting starts: %w", err)
				}
				if kind == "c" {
					active[cycleKey{acc, ar}] = true
					continue
				}
				res := access.AcctResult{Outcome: access.AcctStarted, SessionID: id, AccountID: acc, Closed: closed}
				if kind == "d" {
					res = access.AcctResult{Outcome: access.AcctDuplicate, SessionID: id, AccountID: acc}
				}
				out[o] = res
				done[int(o)] = true
			}
			if err := rows.Err(); err != nil {
				return fmt.Errorf("store: accounting starts: %w", err)
			}
			for _, i := range idx {
				if !done[i] {
					out[i] = access.AcctResult{Outcome: access.AcctUnknown} // no account (or recorded by another node this instant)
				}
			}
			return nil
		},
	}
}

// startsSQL is the statement of startsQueryPG. Its lookups spell out a key
// for every index they use, and the closing of a MAC's older online
// sessions (cl) looks each MAC up in a subquery the planner cannot flatten
// (OFFSET 0): flattened, a generic plan made while no session was online
// found them by reading every online session (TestAccountingStartsPlan).
var startsSQL = sqlx.Rebind(sqlx.DOLLAR, `WITH v AS (
			SELECT * FROM unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[],
				`+ipv6UnnestTypes+`)
				AS v(ord, corr, nas, area, usr, rusr, mac, ip, asid, newcorr, port, `+ipv6UnnestNames+`)),
		dup AS (SELECT v.ord, s.id, s.account_id FROM v JOIN sessions s ON s.nas = v.nas AND s.acct_session_id = v.asid),
		byclass AS (SELECT v.ord, s.id FROM v JOIN sessions s ON s.correlation = v.corr AND s.correlation <> '' AND s.nas = v.nas AND s.status = 'reserved'
			WHERE v.corr <> '' AND v.ord NOT IN (SELECT ord FROM dup)),
		bykey AS (SELECT DISTINCT ON (r.id) v.ord, r.id FROM v CROSS JOIN LATERAL (
				(SELECT s.id FROM sessions s WHERE v.mac <> '' AND s.mac = v.mac AND s.mac <> '' AND s.status = 'reserved' AND s.nas = v.nas
					AND (v.rusr = '' OR s.username = v.rusr)
				ORDER BY s.reserved_at DESC, s.id DESC LIMIT 1)
				UNION ALL
				(SELECT s.id FROM sessions s WHERE v.mac = '' AND v.rusr <> '' AND s.status = 'reserved' AND s.id > 0 AND s.nas = v.nas
					AND s.username = v.rusr
				ORDER BY s.reserved_at DESC, s.id DESC LIMIT 1)) r
			WHERE v.ord NOT IN (SELECT ord FROM dup) AND v.ord NOT IN (SELECT ord FROM byclass)
			ORDER BY r.id, v.ord),
		pick AS (SELECT ord, id FROM byclass UNION ALL SELECT ord, id FROM bykey WHERE id NOT IN (SELECT id FROM byclass)),
		upd AS (UPDATE sessions SET status = 'online', acct_session_id = v.asid, started_at = ?, last_update_at = ?,
				ip = CASE WHEN v.ip = '' THEN sessions.ip ELSE v.ip END, mac = CASE WHEN sessions.mac = '' THEN v.mac ELSE sessions.mac END,
				nas_port = v.port, `+ipv6SetV+`
			FROM pick JOIN v ON v.ord = pick.ord WHERE sessions.id = pick.id
			RETURNING v.ord, sessions.id, sessions.account_id, sessions.mac, sessions.nas),
		acc AS (SELECT v.*, a.id AS account_id, a.username AS account_user FROM v CROSS JOIN LATERAL (
				SELECT id, username, 0 AS pref FROM accounts WHERE username = v.usr
				UNION ALL SELECT a2.id, a2.username, 1 FROM devices d JOIN accounts a2 ON a2.id = d.account_id
					WHERE v.mac <> '' AND d.mac = v.mac AND d.bound
				ORDER BY pref LIMIT 1) a
			WHERE v.ord NOT IN (SELECT ord FROM dup) AND v.ord NOT IN (SELECT ord FROM pick)),
		ins AS (INSERT INTO sessions (account_id, username, nas, area, mac, ip, class, status, acct_session_id, correlation,
				reserved_at, started_at, last_update_at, nas_port,
				ip6, ip6_prefix, ip6_ifid, ip6_pd, ip6_lo, ip6_hi, pd_lo, pd_hi, input_octets6, output_octets6)
			SELECT acc.account_id, acc.account_user, acc.nas, acc.area, acc.mac, acc.ip,
				COALESCE((SELECT d.class FROM devices d WHERE d.account_id = acc.account_id AND d.mac = acc.mac AND acc.mac <> ''), 'unknown'),
				'online', acc.asid, acc.newcorr, 0, ?, ?, acc.port,
				acc.ip6, acc.ip6_prefix, acc.ip6_ifid, acc.ip6_pd, acc.ip6_lo, acc.ip6_hi, acc.pd_lo, acc.pd_hi,
				GREATEST(acc.in6, 0), GREATEST(acc.out6, 0)
			FROM acc
			ON CONFLICT (nas, acct_session_id) DO NOTHING
			RETURNING id, account_id, nas, acct_session_id, mac),
		started AS (SELECT ord, id, account_id, mac, nas FROM upd
			UNION ALL SELECT v.ord, ins.id, ins.account_id, ins.mac, ins.nas FROM ins JOIN v ON v.nas = ins.nas AND v.asid = ins.acct_session_id),
		keep AS (SELECT started.nas, started.mac, MAX(started.id) AS id, bool_and(v.v6only) AS v6only, bool_and(v.v4only) AS v4only
			FROM started JOIN v ON v.ord = started.ord WHERE started.mac <> '' GROUP BY started.nas, started.mac),
		cl AS (UPDATE sessions o SET status = 'closed', stopped_at = ?, close_reason = ?
			FROM (SELECT x.id FROM keep CROSS JOIN LATERAL (
					SELECT s.id FROM sessions s
					WHERE s.mac = keep.mac AND s.mac <> '' AND s.nas = keep.nas AND s.status = 'online' AND s.id <> keep.id
					  AND NOT ((keep.v6only AND s.ip <> '' AND s.ip6_lo = '' AND s.pd_lo = '')
					    OR (keep.v4only AND s.ip = '' AND (s.ip6_lo <> '' OR s.pd_lo <> '')))
					OFFSET 0) x) r
			WHERE o.id = r.id AND o.status = 'online'
			RETURNING o.mac, o.nas)
		SELECT ord, id, account_id, 's' AS kind, (SELECT COUNT(*) FROM cl WHERE cl.mac = started.mac AND cl.nas = started.nas) AS closed, '' AS area
			FROM started
		UNION ALL SELECT ord, id, account_id, 'd', 0, '' FROM dup
		UNION ALL SELECT 0, 0, started.account_id, 'c', 0, c.area FROM started CROSS JOIN LATERAL (
			SELECT area FROM cycles WHERE cycles.account_id = started.account_id AND cycles.status = 'active' OFFSET 0) c`)

// updatesQueryPG applies Interim-Updates and Stops in one statement,
// with the traffic they add to usage_days (usage.go), and reports which
// requests named a known session. One statement, so that the usage rows it
// upserts are locked in one order (account_id) whatever the batch holds: two
// nodes' batches cannot deadlock on them. No Interim of the batch names a
// session a Stop of it names (acctSegmentPG).
func updatesQueryPG(recs []access.AcctRecord, interims, stops []int, out []access.AcctResult, nowMs int64, day string, mInterims, mStops map[int]bool) pgQuery {
	type cols struct {
		ord, in, outb        []int64
		nas, asid, cause, ip []string
	}
	fill := func(idx []int) cols {
		var c cols
		for _, i := range idx {
			r := &recs[i]
			c.ord, c.in, c.outb = append(c.ord, int64(i)), append(c.in, r.InputOctets), append(c.outb, r.OutputOctets)
			c.nas, c.asid, c.cause, c.ip = append(c.nas, r.NAS), append(c.asid, r.AcctSessionID), append(c.cause, r.TerminateCause), append(c.ip, r.IP)
		}
		return c
	}
	ci, cs := fill(interims), fill(stops)
	args := append([]any{orEmpty(ci.ord), orEmpty(ci.nas), orEmpty(ci.asid), orEmpty(ci.in), orEmpty(ci.outb), orEmpty(ci.ip)},
		newIPv6Arrays(recs, interims).args()...)
	args = append(append(append(args, orEmpty(cs.ord), orEmpty(cs.nas), orEmpty(cs.asid), orEmpty(cs.in), orEmpty(cs.outb), orEmpty(cs.cause), orEmpty(cs.ip)),
		newIPv6Arrays(recs, stops).args()...), nowMs, nowMs, access.CloseStop, nowMs, day)
	return pgQuery{sql: updatesSQL, args: args, scan: func(rows pgx.Rows) error {
		for rows.Next() {
			var kind string
			var o, id, acc int64
			if err := rows.Scan(&kind, &o, &id, &acc); err != nil {
				return fmt.Errorf("store: accounting updates: %w", err)
			}
			if kind == "s" {
				out[o] = access.AcctResult{Outcome: access.AcctStopped, SessionID: id, AccountID: acc}
				mStops[int(o)] = true
			} else {
				out[o] = access.AcctResult{Outcome: access.AcctUpdated, SessionID: id, AccountID: acc}
				mInterims[int(o)] = true
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: accounting updates: %w", err)
		}
		return nil
	}}
}

// updatesSQL is the statement of updatesQueryPG. Interim-Updates bring a
// session the reaper closed as stale back online; a Stop of a session
// closed for another reason keeps that reason and time. The sessions'
// previous counters are read first (pi, ps) without a lock, and the update
// only changes a row whose counters are still those: when another node
// changed them in between, PostgreSQL re-checks the row's newest version,
// the request is left unmatched and takes the per-request path, which
// reads the counters with the row locked. So no delta is counted twice,
// and the common case writes no row lock. The counters never go down; the
// deltas, summed per account, are upserted in account order.
var updatesSQL = sqlx.Rebind(sqlx.DOLLAR, `WITH
		vi AS (SELECT * FROM unnest(?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::text[],
			`+ipv6UnnestTypes+`) AS v(ord, nas, asid, inb, outb, ip, `+ipv6UnnestNames+`)),
		vs AS (SELECT * FROM unnest(?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::text[], ?::text[],
			`+ipv6UnnestTypes+`) AS v(ord, nas, asid, inb, outb, cause, ip, `+ipv6UnnestNames+`)),
		pi AS (SELECT vi.ord, s.id, s.input_octets AS oin, s.output_octets AS oout FROM vi JOIN sessions s ON s.nas = vi.nas AND s.acct_session_id = vi.asid
			WHERE s.status = 'online' OR (s.status = 'closed' AND s.close_reason = 'stale')),
		ui AS (UPDATE sessions SET last_update_at = ?, input_octets = GREATEST(pi.oin, vi.inb), output_octets = GREATEST(pi.oout, vi.outb),
				ip = CASE WHEN vi.ip = '' THEN sessions.ip ELSE vi.ip END, status = 'online', stopped_at = 0, close_reason = '',
				`+strings.ReplaceAll(ipv6SetV, "v.", "vi.")+`
			FROM pi JOIN vi ON vi.ord = pi.ord WHERE sessions.id = pi.id
				AND sessions.input_octets = pi.oin AND sessions.output_octets = pi.oout
				AND (sessions.status = 'online' OR (sessions.status = 'closed' AND sessions.close_reason = 'stale'))
			RETURNING vi.ord, sessions.id, sessions.account_id, GREATEST(vi.inb - pi.oin, 0) AS din, GREATEST(vi.outb - pi.oout, 0) AS dout),
		ps AS (SELECT vs.ord, s.id, s.input_octets AS oin, s.output_octets AS oout FROM vs JOIN sessions s ON s.nas = vs.nas AND s.acct_session_id = vs.asid),
		us AS (UPDATE sessions SET
				stopped_at = CASE WHEN sessions.status = 'closed' AND sessions.close_reason NOT IN ('', 'stale') THEN sessions.stopped_at ELSE ? END,
				close_reason = CASE WHEN sessions.status = 'closed' AND sessions.close_reason NOT IN ('', 'stale') THEN sessions.close_reason ELSE ? END,
				status = 'closed', last_update_at = ?, input_octets = GREATEST(ps.oin, vs.inb), output_octets = GREATEST(ps.oout, vs.outb),
				terminate_cause = vs.cause, ip = CASE WHEN vs.ip = '' THEN sessions.ip ELSE vs.ip END,
				`+strings.ReplaceAll(ipv6SetV, "v.", "vs.")+`
			FROM ps JOIN vs ON vs.ord = ps.ord WHERE sessions.id = ps.id
				AND sessions.input_octets = ps.oin AND sessions.output_octets = ps.oout
			RETURNING vs.ord, sessions.id, sessions.account_id, GREATEST(vs.inb - ps.oin, 0) AS din, GREATEST(vs.outb - ps.oout, 0) AS dout),
		d AS (SELECT account_id, SUM(din)::bigint AS din, SUM(dout)::bigint AS dout
			FROM (SELECT account_id, din, dout FROM ui UNION ALL SELECT account_id, din, dout FROM us) x GROUP BY account_id),
		u AS (INSERT INTO usage_days (account_id, day, input_octets, output_octets)
			SELECT account_id, ?::text, din, dout FROM d WHERE din > 0 OR dout > 0 ORDER BY account_id
			ON CONFLICT (account_id, day) DO UPDATE SET input_octets = usage_days.input_octets + excluded.input_octets,
				output_octets = usage_days.output_octets + excluded.output_octets)
		SELECT 'i', ord, id, account_id FROM ui
		UNION ALL SELECT 's', ord, id, account_id FROM us`)

// The IPv6 column set of the bulk statements: twelve more arrays in each
// unnest (no extra round trip), and the SET clause that applies them as
// setIPv6SQL does.
const (
	ipv6UnnestTypes = `?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::boolean[], ?::boolean[]`
	ipv6UnnestNames = `ip6, ip6_prefix, ip6_ifid, ip6_pd, ip6_lo, ip6_hi, pd_lo, pd_hi, in6, out6, v6only, v4only`
	ipv6SetV        = `ip6 = CASE WHEN v.ip6 = '' THEN sessions.ip6 ELSE v.ip6 END,
		ip6_prefix = CASE WHEN v.ip6_prefix = '' THEN sessions.ip6_prefix ELSE v.ip6_prefix END,
		ip6_ifid = CASE WHEN v.ip6_ifid = '' THEN sessions.ip6_ifid ELSE v.ip6_ifid END,
		ip6_pd = CASE WHEN v.ip6_pd = '' THEN sessions.ip6_pd ELSE v.ip6_pd END,
		ip6_lo = CASE WHEN v.ip6_lo = '' THEN sessions.ip6_lo ELSE v.ip6_lo END,
		ip6_hi = CASE WHEN v.ip6_hi = '' THEN sessions.ip6_hi ELSE v.ip6_hi END,
		pd_lo = CASE WHEN v.pd_lo = '' THEN sessions.pd_lo ELSE v.pd_lo END,
		pd_hi = CASE WHEN v.pd_hi = '' THEN sessions.pd_hi ELSE v.pd_hi END,
		input_octets6 = CASE WHEN v.in6 < 0 THEN sessions.input_octets6 ELSE v.in6 END,
		output_octets6 = CASE WHEN v.out6 < 0 THEN sessions.output_octets6 ELSE v.out6 END`
)

// ipv6Arrays are the IPv6 columns of a batch's requests, for the unnest
// of a bulk statement.
type ipv6Arrays struct {
	texts          [8][]string
	in6, out6      []int64
	v6only, v4only []bool
}

func newIPv6Arrays(recs []access.AcctRecord, idx []int) ipv6Arrays {
	var a ipv6Arrays
	for k := range a.texts {
		a.texts[k] = make([]string, 0, len(idx))
	}
	for _, i := range idx {
		r := &recs[i]
		texts, in6, out6 := ipv6Cols(r)
		for k, t := range texts {
			a.texts[k] = append(a.texts[k], t)
		}
		v6, v4 := families(r)
		a.in6, a.out6 = append(a.in6, in6), append(a.out6, out6)
		a.v6only, a.v4only = append(a.v6only, v6), append(a.v4only, v4)
	}
	return a
}

func (a ipv6Arrays) args() []any {
	out := make([]any, 0, 12)
	for _, t := range a.texts {
		out = append(out, t)
	}
	return append(out, orEmpty(a.in6), orEmpty(a.out6), orEmpty(a.v6only), orEmpty(a.v4only))
}

// SessionsByIPv6 returns the sessions, newest first (at most limit, default
// 100, at most 10000), that held an address of p at some moment of [from,
// to]: whose link (Framed-IPv6-Prefix, else the /64 of the address) or
// delegated prefix overlaps p. p is a /128 for one address. A session
// held its addresses from its Start (its reservation, before the Start)
// to its close; a live session to now. The zero from or to leaves that end
// open.
func (s *Store) SessionsByIPv6(ctx context.Context, p netip.Prefix, from, to time.Time, limit int) ([]access.Session, error) {
	lo, hi := access.PrefixRange(p)
	if lo == "" {
		return nil, fmt.Errorf("store: %v is not an IPv6 prefix: %w", p, access.ErrInvalid)
	}
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 10000)
	toMs := int64(1<<62 - 1)
	if !to.IsZero() {
		toMs = access.Millis(to)
	}
	fromMs := access.Millis(from)
	var out []access.Session
	// Each range is found through its index on the first address (every
	// range that overlaps p starts at or before p's last address), then
	// checked against its last address.
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT `+sessionCols+` FROM sessions
		WHERE ((ip6_lo <> '' AND ip6_lo <= ? AND ip6_hi >= ?) OR (pd_lo <> '' AND pd_lo <= ? AND pd_hi >= ?))
		  AND CASE WHEN started_at > 0 THEN started_at ELSE reserved_at END <= ?
		  AND (status <> 'closed' OR stopped_at >= ?)
		ORDER BY id DESC LIMIT ?`), hi, lo, hi, lo, toMs, fromMs, limit)
	if err != nil {
		return nil, fmt.Errorf("store: sessions of %v: %w", p, err)
	}
	return out, nil
}

// LiveSessionByIPv6 returns the newest online (else reserved) session whose
// IPv6 link or delegated prefix holds addr, or an error wrapping
// access.ErrNotFound: how the portal finds the session of a request that
// came over IPv6.
func (s *Store) LiveSessionByIPv6(ctx context.Context, addr netip.Addr) (access.Session, error) {
	var out access.Session
	lo, hi := access.PrefixRange(netip.PrefixFrom(addr, 128))
	if lo == "" {
		return out, fmt.Errorf("store: %v is not an IPv6 address: %w", addr, access.ErrNotFound)
	}
	err := s.db.GetContext(ctx, &out, s.db.Rebind(`SELECT `+sessionCols+` FROM sessions
		WHERE ((ip6_lo <> '' AND ip6_lo <= ? AND ip6_hi >= ?) OR (pd_lo <> '' AND pd_lo <= ? AND pd_hi >= ?))
		  AND status IN ('reserved', 'online')
		ORDER BY CASE WHEN ip6 = ? THEN 0 ELSE 1 END, CASE status WHEN 'online' THEN 0 ELSE 1 END, id DESC LIMIT 1`),
		lo, hi, lo, hi, addr.String())
	if err != nil {
		return out, notFound(err, "live session of "+addr.String())
	}
	return out, nil
}
