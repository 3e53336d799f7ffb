package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
)

// The RADIUS hot path on PostgreSQL.
//
// database/sql sends one statement and waits for its answer before the next,
// so a batch of Access-Requests cost five round trips (BEGIN, lock, read,
// write, COMMIT), each a wake-up of PostgreSQL and of campusnet. On its own
// pool of pgx connections the hot path pipelines them instead: a batch of
// Access-Requests is two round trips — BEGIN, the lock and the reads in
// one; the writes and COMMIT in the other — and a batch of accounting
// requests one (its statements and their commit). The statements are still
// separate: the reads run after the lock statement has its locks, so they
// see every session committed while it waited. The pool's sessions plan the
// statements once (plan_cache_mode = force_generic_plan): PostgreSQL
// otherwise plans the array-parameter statements again at every execution,
// which costs more than running them.

// defaultHotConns is the hot pool's size when OpenHotPool set none.
const defaultHotConns = 8

// hotConnLifetime is how long a hot pool connection (and its plans) lives.
const hotConnLifetime = 10 * time.Minute

// OpenHotPool opens the hot path's connection pool on PostgreSQL with at
// most maxConns connections, now rather than at the first request (so a
// bad DSN shows at start). On SQLite it does nothing.
func (a *AAA) OpenHotPool(ctx context.Context, maxConns int) error {
	if a.dialect != Postgres {
		return nil
	}
	_, err := a.hotPool(ctx, maxConns)
	return err
}

// hotPool returns the pgx pool, opening it (with maxConns, or
// defaultHotConns when 0) on first use.
func (a *AAA) hotPool(ctx context.Context, maxConns int) (*pgxpool.Pool, error) {
	a.mu.RLock()
	p := a.pg
	a.mu.RUnlock()
	if p != nil {
		return p, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pg != nil {
		return a.pg, nil
	}
	if a.closed {
		return nil, errors.New("store: AAA closed")
	}
	if a.dialect != Postgres {
		return nil, errors.New("store: the RADIUS pool is PostgreSQL's")
	}
	if maxConns <= 0 {
		maxConns = defaultHotConns
	}
	cfg, err := hotPoolConfig(a.dsn, maxConns)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err = pgxpool.NewWithConfig(pctx, cfg)
	if err == nil {
		err = p.Ping(pctx)
	}
	if err != nil {
		if p != nil {
			p.Close()
		}
		return nil, fmt.Errorf("store: open the RADIUS pool: %w", err)
	}
	a.pg = p
	return p, nil
}

// hotPoolConfig turns the store's DSN (lib/pq's URL form) into a pgx pool
// configuration.
func hotPoolConfig(dsn string, maxConns int) (*pgxpool.Config, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		// Not wrapped: url's error quotes the DSN, password and all.
		return nil, errors.New("store: the database DSN is not a valid URL")
	}
	q := u.Query()
	// lib/pq's own options are not server settings.
	q.Del("binary_parameters")
	q.Del("disable_prepared_binary_result")
	u.RawQuery = q.Encode()
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		// Not wrapped either: pgx masks passwords only on a best-effort basis.
		return nil, errors.New("store: pgx cannot use the database DSN")
	}
	cfg.MaxConns = int32(maxConns)
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = 5 * time.Minute
	// A connection's generic plans are made once, with the statistics of
	// that moment; an ANALYZE of a table (autovacuum's) invalidates them,
	// but where autovacuum is off, plans made on a new install's empty
	// sessions table (a sequential scan is as cheap as an index then)
	// would stay for as long as the connection, which is for ever under
	// steady load. Connections are replaced every 10 minutes or so, and
	// their successors plan with the table as it is.
	cfg.MaxConnLifetime = hotConnLifetime
	cfg.MaxConnLifetimeJitter = hotConnLifetime / 10
	cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	return cfg, nil
}

// pgRetry runs fn again after a deadlock or serialisation failure (fn's
// transaction was rolled back), or when a batch's accounts changed between
// its lock and its reads.
func pgRetry(ctx context.Context, fn func() error) error {
	return retryOn(ctx, func(err error) bool { return retryable(err) || errors.Is(err, errBatchMoved) }, fn)
}

// errBatchMoved: a MAC of the batch was bound to another account between
// the lock statement and the reads; the batch is decided again.
var errBatchMoved = errors.New("store: a binding changed under the batch")

// rollback ends conn's transaction after a failure. A connection that
// cannot is closed, and the pool drops it.
func rollback(c *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Exec(ctx, "ROLLBACK"); err != nil {
		_ = c.Conn().Close(ctx)
	}
}

// loginReadsPG reads what a batch's decisions need, in one statement run
// after the lock statement in the same transaction. It finds the accounts
// the way the lock statement did and returns their ids (kind 'a'), so that
// the caller can check it read the accounts it locked. The cycles (kind
// 'c') and plan choices (kind 'p') are read only when a parameter says the
// batch has a billed area or an area with plans: a parameter alone in a
// WHERE is a one-time filter, so a batch of flat areas does not touch
// plan_choices.
var loginReadsPG = sqlx.Rebind(sqlx.DOLLAR, `WITH
	ids AS (SELECT id FROM accounts WHERE username = ANY(?::text[])
		UNION SELECT account_id FROM devices WHERE bound AND mac = ANY(?::text[])),
	own AS (SELECT id FROM accounts WHERE username = ANY(?::text[])),
	t AS (UPDATE login_tokens SET used_at = ? WHERE id = ANY(?::bigint[]) AND used_at = 0 RETURNING id)
	SELECT 'a', id, 0::bigint, '', '', '', '', '', '', '', '', '', 0::bigint, 0::bigint, 0::bigint, FALSE, '' FROM ids
	UNION ALL SELECT 's', id, account_id, username, nas, area, mac, ip, class, status, COALESCE(acct_session_id, ''), correlation,
		reserved_at, started_at, last_update_at, FALSE, ip6
	FROM sessions WHERE account_id = ANY(ARRAY(SELECT id FROM ids)) AND status IN ('reserved', 'online')
	UNION ALL SELECT 'd', id, account_id, '', '', '', mac, '', class, '', '', '', 0, 0, last_seen_at, bound, bound_by
	FROM devices WHERE account_id = ANY(ARRAY(SELECT id FROM own))
	UNION ALL SELECT 'd', id, account_id, '', '', '', mac, '', class, '', '', '', 0, 0, last_seen_at, bound, bound_by
	FROM devices WHERE bound AND mac = ANY(?::text[]) AND NOT account_id = ANY(ARRAY(SELECT id FROM own))
	UNION ALL SELECT 'c', id, account_id, '', plan, area, profile, '', '', status, '', '', 0, 0, 0, FALSE, ''
	FROM cycles WHERE ? AND account_id = ANY(ARRAY(SELECT id FROM ids)) AND status = 'active'
	UNION ALL SELECT 'p', 0, account_id, '', plan, area, '', '', '', '', '', '', 0, 0, 0, FALSE, ''
	FROM plan_choices WHERE ? AND account_id = ANY(ARRAY(SELECT id FROM ids)) AND area = ANY(?::text[])
	UNION ALL SELECT 't', id, 0, '', '', '', '', '', '', '', '', '', 0, 0, 0, FALSE, '' FROM t`)

// authorizePG is AuthorizeLogins on PostgreSQL: two round trips.
func (a *AAA) authorizePG(ctx context.Context, reqs []access.LoginRequest, decide access.DecideFunc) ([]access.LoginDecision, error) {
	pool, err := a.hotPool(ctx, 0)
	if err != nil {
		return nil, err
	}
	var out []access.LoginDecision
	err = pgRetry(ctx, func() error {
		var err error
		out, err = a.authorizePGOnce(ctx, pool, reqs, decide)
		return err
	})
	return out, err
}

func (a *AAA) authorizePGOnce(ctx context.Context, pool *pgxpool.Pool, reqs []access.LoginRequest, decide access.DecideFunc) (out []access.LoginDecision, err error) {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: RADIUS pool: %w", err)
	}
	defer c.Release()
	inTx := false
	defer func() {
		if err != nil && inTx {
			rollback(c)
		}
	}()
	now := a.now()
	nowMs := access.Millis(now)
	k := newLoginKeys(reqs)
	users, macs, tokenUsers, tokens, planAreas := orEmpty(k.users), orEmpty(k.macs), orEmpty(k.tokenUsers), orEmpty(k.tokens), orEmpty(k.planAreas)

	// Round trip 1: BEGIN, lock the accounts, read.
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(a.lockSQL, users, macs)
	b.Queue(loginReadsPG, users, macs, tokenUsers, nowMs, tokens, macs, k.billed, len(planAreas) > 0, planAreas)
	br := c.SendBatch(ctx, b)
	inTx = true
	accs, rd, readIDs, err := readLoginBatch(br)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("store: login reads: %w", cerr)
	}
	if err != nil {
		return nil, err
	}
	locked := make([]int64, len(accs))
	for i := range accs {
		locked[i] = accs[i].ID
	}
	slices.Sort(readIDs)
	if !slices.Equal(locked, readIDs) {
		return nil, errBatchMoved
	}

	lb := decideLogins(now, reqs, accs, rd, decide)

	// Round trip 2: write, COMMIT.
	b = &pgx.Batch{}
	if q, args := writeLoginsPG(lb.pending, lb.logNow, nowMs); q != "" {
		b.Queue(q, args...)
	}
	for _, w := range profileWrites(lb.pending) {
		b.Queue(reservedProfilePG, string(w.profile), w.correlation)
	}
	for _, op := range lb.binds {
		if op.takeFrom != 0 {
			b.Queue(unbindByIDPG, op.takeFrom)
		}
		if op.drop != "" {
			b.Queue(unbindMACPG, op.accountID, op.drop)
		}
		b.Queue(bindPG, op.accountID, op.mac, op.class, access.BoundByPortal, nowMs, nowMs)
	}
	b.Queue("COMMIT")
	if err := c.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("store: write decisions: %w", err)
	}
	inTx = false
	return lb.out, nil
}

// The statements of a seamless binding in PostgreSQL's placeholders.
var (
	unbindByIDPG = sqlx.Rebind(sqlx.DOLLAR, unbindByIDSQL)
	unbindMACPG  = sqlx.Rebind(sqlx.DOLLAR, unbindMACSQL)
	bindPG       = sqlx.Rebind(sqlx.DOLLAR, bindSQL)
)

// readLoginBatch reads the answers of round trip 1.
func readLoginBatch(br pgx.BatchResults) (accs []access.Account, d loginData, ids []int64, err error) {
	if _, err = br.Exec(); err != nil {
		return nil, d, nil, fmt.Errorf("store: begin: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, d, nil, fmt.Errorf("store: lock accounts: %w", err)
	}
	for rows.Next() {
		var x access.Account
		var bal int64
		if err := rows.Scan(&x.ID, &x.Username, &x.Name, &x.Role, &x.PasswordHash, &x.MustChange, &x.Disabled,
			&x.DisabledReason, &bal, &x.CreatedAt, &x.UpdatedAt, &x.SSOProvider); err != nil {
			rows.Close()
			return nil, d, nil, fmt.Errorf("store: lock accounts: %w", err)
		}
		x.Balance = access.Fen(bal)
		accs = append(accs, x)
	}
	if err := rows.Err(); err != nil {
		return nil, d, nil, fmt.Errorf("store: lock accounts: %w", err)
	}
	rows, err = br.Query()
	if err != nil {
		return nil, d, nil, fmt.Errorf("store: login reads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, bb string
		var bound bool
		var x access.Session
		if err := rows.Scan(&kind, &x.ID, &x.AccountID, &x.Username, &x.NAS, &x.Area, &x.MAC, &x.IP, &x.Class, &x.Status,
			&x.AcctSessionID, &x.Correlation, &x.ReservedAt, &x.StartedAt, &x.LastUpdateAt, &bound, &bb); err != nil {
			return nil, d, nil, fmt.Errorf("store: login reads: %w", err)
		}
		switch kind {
		case "a":
			ids = append(ids, x.ID)
		case "s":
			x.IP6 = bb // the last column is a session's IPv6 address
			d.sessions = append(d.sessions, x)
		case "d":
			d.devices = append(d.devices, access.Device{ID: x.ID, AccountID: x.AccountID, MAC: x.MAC, Class: x.Class,
				Bound: bound, BoundBy: bb, LastSeenAt: x.LastUpdateAt})
		case "c":
			d.addCycle(cycleKey{x.AccountID, x.Area}, x.NAS, access.Profile(x.MAC)) // a cycle's plan and profile
		case "p":
			d.addChoice(cycleKey{x.AccountID, x.Area}, x.NAS) // the plan chosen for the next cycle
		case "t":
			d.usedTokens = append(d.usedTokens, x.ID)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, d, nil, fmt.Errorf("store: login reads: %w", err)
	}
	return accs, d, ids, nil
}

// writeLoginsPG is the statement that applies a batch's session changes
// and its authentication log entries ("" when there is nothing to write).
func writeLoginsPG(pending []*pendingSession, logNow []access.AuthLogEntry, nowMs int64) (string, []any) {
	closeIDs, rID, rAt, iAcc, iAt := []int64{}, []int64{}, []int64{}, []int64{}, []int64{}
	rIP, rClass := []string{}, []string{}
	iUser, iNAS, iArea, iMAC, iIP, iClass, iCorr := []string{}, []string{}, []string{}, []string{}, []string{}, []string{}, []string{}
	var i6 [8][]string
	for k := range i6 {
		i6[k] = []string{}
	}
	seen := make(map[*pendingSession]bool, len(pending))
	for _, p := range pending {
		if seen[p] {
			continue
		}
		seen[p] = true
		s := p.s
		switch {
		case p.closed && !p.insert:
			closeIDs = append(closeIDs, s.ID)
		case p.closed:
		case p.insert:
			iAcc, iAt = append(iAcc, s.AccountID), append(iAt, s.ReservedAt)
			iUser, iNAS, iArea = append(iUser, s.Username), append(iNAS, s.NAS), append(iArea, s.Area)
			iMAC, iIP, iClass, iCorr = append(iMAC, s.MAC), append(iIP, s.IP), append(iClass, string(s.Class)), append(iCorr, s.Correlation)
			for k, t := range sessionIPv6Texts(s) {
				i6[k] = append(i6[k], t)
			}
		default:
			rID, rAt, rIP, rClass = append(rID, s.ID), append(rAt, s.ReservedAt), append(rIP, s.IP), append(rClass, string(s.Class))
		}
	}
	if len(closeIDs)+len(rID)+len(iAcc)+len(logNow) == 0 {
		return "", nil
	}
	args := []any{nowMs, access.CloseReplaced, closeIDs, rID, rAt, rIP, rClass,
		iAcc, iUser, iNAS, iArea, iMAC, iIP, iClass, iCorr, iAt}
	for _, t := range i6 {
		args = append(args, t)
	}
	args = append(args, authLogArrays(logNow)...)
	return writeLoginsSQL, args
}

// writeLoginsSQL closes replaced sessions, refreshes reservations (found by
// id; still reserved), inserts new ones and writes authentication log
// entries.
var writeLoginsSQL = sqlx.Rebind(sqlx.DOLLAR, `WITH
	c AS (UPDATE sessions SET status = 'closed', stopped_at = ?, close_reason = ? WHERE id = ANY(?::bigint[]) AND status <> 'closed' RETURNING 1),
	r AS (UPDATE sessions SET reserved_at = v.at, ip = v.ip, class = v.class
		FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::text[]) AS v(id, at, ip, class)
		WHERE sessions.id = v.id AND sessions.status = 'reserved' RETURNING 1),
	i AS (INSERT INTO sessions (account_id, username, nas, area, mac, ip, class, status, correlation, reserved_at,
			ip6, ip6_prefix, ip6_ifid, ip6_pd, ip6_lo, ip6_hi, pd_lo, pd_hi)
		SELECT a, u, n, ar, m, ip, c, 'reserved', k, t, x6, xp, xi, xd, xl, xh, pl, ph
		FROM unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[],
			?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
			AS v(a, u, n, ar, m, ip, c, k, t, x6, xp, xi, xd, xl, xh, pl, ph)
		RETURNING 1),
	l AS (INSERT INTO auth_log (at, account_id, token_id, username, nas, mac, ip, method, result, reason, message, node)
		SELECT * FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
		RETURNING 1)
	SELECT (SELECT COUNT(*) FROM c) + (SELECT COUNT(*) FROM r) + (SELECT COUNT(*) FROM i) + (SELECT COUNT(*) FROM l)`)

// authLogArrays are entries as the twelve column arrays of an unnest.
func authLogArrays(entries []access.AuthLogEntry) []any {
	n := len(entries)
	at, acc, tok := make([]int64, n), make([]*int64, n), make([]*int64, n)
	cols := make([][]string, 9)
	for j := range cols {
		cols[j] = make([]string, 0, n)
	}
	for i, e := range entries {
		at[i], acc[i], tok[i] = e.At, e.AccountID, e.TokenID
		for j, v := range []string{e.Username, e.NAS, e.MAC, e.IP, e.Method, e.Result, string(e.Reason), e.Message, e.Node} {
			cols[j] = append(cols[j], v)
		}
	}
	out := []any{at, acc, tok}
	for _, c := range cols {
		out = append(out, c)
	}
	return out
}

// insertAuthLogPG writes authentication log entries with COPY, the
// cheapest way into PostgreSQL for the background writer's large batches.
func (a *AAA) insertAuthLogPG(ctx context.Context, entries []access.AuthLogEntry) error {
	pool, err := a.hotPool(ctx, 0)
	if err != nil {
		return err
	}
	rows := make([][]any, len(entries))
	for i, e := range entries {
		rows[i] = []any{e.At, e.AccountID, e.TokenID, e.Username, e.NAS, e.MAC, e.IP, e.Method, e.Result, e.Reason, e.Message, e.Node}
	}
	return pgRetry(ctx, func() error {
		_, err := pool.CopyFrom(ctx, pgx.Identifier{"auth_log"},
			[]string{"at", "account_id", "token_id", "username", "nas", "mac", "ip", "method", "result", "reason", "message", "node"},
			pgx.CopyFromRows(rows))
		if err != nil {
			return fmt.Errorf("store: auth log: %w", err)
		}
		return nil
	})
}

// orEmpty is v, or an empty slice for nil (an empty array, not NULL).
func orEmpty[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// pgCode is the SQLSTATE of a pgx error, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// pgQuery is one statement of a pipelined batch and what reads its rows.
type pgQuery struct {
	sql  string
	args []any
	scan func(rows pgx.Rows) error
}

// runPipelined sends qs at once, in one round trip, and runs them in one
// implicit transaction: they commit together (one WAL flush) or not at
// all. After a deadlock or serialisation failure it runs them again,
// calling reset first.
func (a *AAA) runPipelined(ctx context.Context, qs []pgQuery, reset func()) error {
	if len(qs) == 0 {
		return nil
	}
	pool, err := a.hotPool(ctx, 0)
	if err != nil {
		return err
	}
	attempt := 0
	return pgRetry(ctx, func() error {
		if attempt++; attempt > 1 {
			reset()
		}
		b := &pgx.Batch{}
		for _, q := range qs {
			b.Queue(q.sql, q.args...)
		}
		br := pool.SendBatch(ctx, b)
		var err error
		for _, q := range qs {
			rows, qerr := br.Query()
			if qerr != nil {
				err = qerr
				break
			}
			err = q.scan(rows)
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
			if err != nil {
				break
			}
		}
		if cerr := br.Close(); err == nil && cerr != nil {
			err = cerr
		}
		return err
	})
}
