package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/campusnet/campusnet/internal/access"
)

// AAA is the RADIUS server's side of the store: the policy decisions of
// Access-Requests under their accounts' locks, accounting, and the
// authentication log. It serves many requests at once with few round trips:
// AuthorizeLogins and RecordAccounting take batches (one transaction and one
// commit for all of them), and the statements they run are prepared once.
// It is safe for concurrent use.
type AAA struct {
	*Store
	mu        sync.RWMutex
	stmts     map[string]*sqlx.Stmt
	preparing map[string]bool
	closed    bool
	// pg is the hot path's pool on PostgreSQL (radius_pg.go), opened on
	// first use or by OpenHotPool.
	pg *pgxpool.Pool
	// lockSQL is lockAccountsSQL in the database's placeholders.
	lockSQL string
}

// NewAAA wraps the store for the RADIUS server. Close releases its prepared
// statements (not the store).
func NewAAA(s *Store) *AAA {
	a := &AAA{Store: s, stmts: map[string]*sqlx.Stmt{}, preparing: map[string]bool{}}
	a.lockSQL = s.db.Rebind(a.lockAccountsSQL())
	return a
}

// Close releases the prepared statements.
func (a *AAA) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	for q, st := range a.stmts {
		st.Close()
		delete(a.stmts, q)
	}
	if a.pg != nil {
		a.pg.Close()
	}
	return nil
}

// stmt returns query (with ? placeholders) prepared, bound to tx when tx is
// not nil. Statements are prepared on the pool once and database/sql
// prepares them again on each connection that needs them. Inside a
// transaction an uncached statement is prepared on the transaction's own
// connection (taking a second connection from the pool there could wait for
// ever: SQLite's pool is small and its other connections may all be waiting
// for the write lock this transaction holds), and the pool's copy is
// prepared in the background.
func (a *AAA) stmt(ctx context.Context, tx *sqlx.Tx, query string) (*sqlx.Stmt, error) {
	a.mu.RLock()
	st := a.stmts[query]
	a.mu.RUnlock()
	if st != nil {
		if tx != nil {
			return tx.StmtxContext(ctx, st), nil
		}
		return st, nil
	}
	if tx != nil {
		go a.prepare(context.WithoutCancel(ctx), query)
		p, err := tx.PreparexContext(ctx, tx.Rebind(query))
		if err != nil {
			return nil, fmt.Errorf("store: prepare: %w", err)
		}
		return p, nil
	}
	return a.prepare(ctx, query)
}

// prepare prepares query on the pool and caches it.
func (a *AAA) prepare(ctx context.Context, query string) (*sqlx.Stmt, error) {
	a.mu.Lock()
	if st := a.stmts[query]; st != nil {
		a.mu.Unlock()
		return st, nil
	}
	if a.preparing[query] {
		a.mu.Unlock()
		return a.db.PreparexContext(ctx, a.db.Rebind(query)) // a one-off copy for this caller
	}
	a.preparing[query] = true
	a.mu.Unlock()
	p, err := a.db.PreparexContext(ctx, a.db.Rebind(query))
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.preparing, query)
	if err != nil {
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	if a.closed {
		p.Close()
		return nil, errors.New("store: AAA closed")
	}
	a.stmts[query] = p
	return p, nil
}

func (a *AAA) exec(ctx context.Context, tx *sqlx.Tx, query string, args ...any) (sql.Result, error) {
	st, err := a.stmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (a *AAA) sel(ctx context.Context, tx *sqlx.Tx, dest any, query string, args ...any) error {
	st, err := a.stmt(ctx, tx, query)
	if err != nil {
		return err
	}
	return st.SelectContext(ctx, dest, args...)
}

func (a *AAA) get(ctx context.Context, tx *sqlx.Tx, dest any, query string, args ...any) error {
	st, err := a.stmt(ctx, tx, query)
	if err != nil {
		return err
	}
	return st.GetContext(ctx, dest, args...)
}

// inInts is "col IN (the list given as one parameter)" in the dialect; the
// argument is intsArg(list). One statement text serves every list length, so
// it is prepared once.
func (s *Store) inInts(col string) string {
	if s.dialect == Postgres {
		return col + ` = ANY(?::bigint[])`
	}
	return col + ` IN (SELECT value FROM json_each(?))`
}

func (s *Store) inTexts(col string) string {
	if s.dialect == Postgres {
		return col + ` = ANY(?::text[])`
	}
	return col + ` IN (SELECT value FROM json_each(?))`
}

func (s *Store) intsArg(v []int64) any {
	if v == nil {
		v = []int64{}
	}
	if s.dialect == Postgres {
		return pq.Array(v)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (s *Store) textsArg(v []string) any {
	if v == nil {
		v = []string{}
	}
	if s.dialect == Postgres {
		return pq.Array(v)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// LiveTokens returns the portal's unused login tokens of a user name that
// have not expired at now.
func (a *AAA) LiveTokens(ctx context.Context, username string, now time.Time) ([]access.LoginToken, error) {
	var out []access.LoginToken
	err := a.sel(ctx, nil, &out, `SELECT id, nonce, account_id, username, ip, mac, user_agent, class, signals, nas,
		created_at, expires_at, used_at FROM login_tokens WHERE username = ? AND expires_at > ? AND used_at = 0`,
		username, access.Millis(now))
	if err != nil {
		return nil, fmt.Errorf("store: login tokens of %s: %w", username, err)
	}
	return out, nil
}

// AuthorizeLogins decides a batch of requests in one transaction: it locks
// their accounts (in id order, so that concurrent batches and nodes cannot
// deadlock), reads their devices, live sessions, active cycles and marks
// their tokens used, calls decide for each request in order (a request sees
// the reservations of the earlier ones), then writes reservations,
// replacements, bindings and the LogNow entries, and commits once.
func (a *AAA) AuthorizeLogins(ctx context.Context, reqs []access.LoginRequest, decide access.DecideFunc) ([]access.LoginDecision, error) {
	if a.dialect == Postgres {
		return a.authorizePG(ctx, reqs, decide)
	}
	var out []access.LoginDecision
	err := a.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		out, err = a.authorizeTx(ctx, tx, reqs, decide)
		return err
	})
	return out, err
}

type pendingSession struct {
	s      access.Session
	insert bool // new row; else a refresh of s.ID
	closed bool
}

// loginKeys are what a batch's reads are keyed by: the user names of the
// requests that name their account, the MACs, the tokens to mark used.
type loginKeys struct {
	users, macs, tokenUsers []string
	tokens                  []int64
	billed                  bool
	// planAreas are the areas with plans the batch logs in to: the
	// accounts' plan choices there are read (none for flat areas).
	planAreas []string
}

func newLoginKeys(reqs []access.LoginRequest) loginKeys {
	var k loginKeys
	for _, r := range reqs {
		if r.MACAuth {
			k.macs = append(k.macs, r.MAC)
		} else {
			k.users = append(k.users, r.Username)
			if r.MAC != "" {
				k.macs = append(k.macs, r.MAC)
			}
		}
		if r.TokenID != 0 {
			k.tokens = append(k.tokens, r.TokenID)
			k.tokenUsers = append(k.tokenUsers, r.Username)
		}
		if r.Billed {
			k.billed = true
		}
		if len(r.Plans) > 0 && !slices.Contains(k.planAreas, r.Area) {
			k.planAreas = append(k.planAreas, r.Area)
		}
	}
	return k
}

// lockAccountsSQL locks the accounts a batch names (by user name, or by a
// bound MAC), in id order, and returns them. The ids first (an OR of the
// two lookups would scan the table), then the rows by primary key.
func (a *AAA) lockAccountsSQL() string {
	ids := `SELECT id FROM accounts WHERE ` + a.inTexts("username") + `
		UNION ALL SELECT account_id FROM devices WHERE bound AND ` + a.inTexts("mac")
	byIDs := `id IN (` + ids + `)`
	if a.dialect == Postgres {
		byIDs = `id = ANY(ARRAY(` + ids + `))`
	}
	return `SELECT ` + accountCols + ` FROM accounts WHERE ` + byIDs + ` ORDER BY id` + a.forUpdate()
}

func (a *AAA) authorizeTx(ctx context.Context, tx *sqlx.Tx, reqs []access.LoginRequest, decide access.DecideFunc) ([]access.LoginDecision, error) {
	now := a.now()
	nowMs := access.Millis(now)
	k := newLoginKeys(reqs)

	// 1. Lock the accounts, in id order.
	var accs []access.Account
	if err := a.sel(ctx, tx, &accs, a.lockSQL, a.textsArg(k.users), a.textsArg(k.macs)); err != nil {
		return nil, fmt.Errorf("store: lock accounts: %w", err)
	}
	accIDs := make([]int64, 0, len(accs))
	for _, acc := range accs {
		accIDs = append(accIDs, acc.ID)
	}

	// 2. What the decisions read, now that the accounts are locked (a read
	// in the locking statement would use a snapshot from before the wait).
	rd, err := a.loginReads(ctx, tx, accIDs, k, nowMs)
	if err != nil {
		return nil, err
	}

	// 3. Decide, in order.
	b := decideLogins(now, reqs, accs, rd, decide)

	// 4. Write.
	if err := a.writeSessions(ctx, tx, b.pending, nowMs); err != nil {
		return nil, err
	}
	for _, w := range profileWrites(b.pending) {
		if _, err := a.exec(ctx, tx, reservedProfileSQL, w.profile, w.correlation); err != nil {
			return nil, fmt.Errorf("store: reservation profile: %w", err)
		}
	}
	if len(b.logNow) > 0 {
		if err := a.insertAuthLog(ctx, tx, b.logNow); err != nil {
			return nil, err
		}
	}
	for _, op := range b.binds {
		if op.takeFrom != 0 {
			if _, err := a.exec(ctx, tx, unbindByIDSQL, op.takeFrom); err != nil {
				return nil, fmt.Errorf("store: unbind from other account: %w", err)
			}
		}
		if op.drop != "" {
			if _, err := a.exec(ctx, tx, unbindMACSQL, op.accountID, op.drop); err != nil {
				return nil, fmt.Errorf("store: unbind oldest: %w", err)
			}
		}
		if _, err := a.exec(ctx, tx, bindSQL, op.accountID, op.mac, op.class, access.BoundByPortal, nowMs, nowMs); err != nil {
			return nil, fmt.Errorf("store: bind %s: %w", op.mac, err)
		}
	}
	return b.out, nil
}

// The statements of a seamless binding (bindOp).
const (
	unbindByIDSQL = `UPDATE devices SET bound = FALSE WHERE id = ?`
	unbindMACSQL  = `UPDATE devices SET bound = FALSE WHERE account_id = ? AND mac = ?`
	bindSQL       = `INSERT INTO devices (account_id, mac, class, bound, bound_by, last_seen_at, created_at)
			VALUES (?, ?, ?, TRUE, ?, ?, ?)
			ON CONFLICT (account_id, mac) DO UPDATE SET
				class = CASE WHEN devices.bound AND devices.bound_by <> 'portal' THEN devices.class ELSE excluded.class END,
				bound_by = CASE WHEN devices.bound THEN devices.bound_by ELSE excluded.bound_by END,
				bound = TRUE, last_seen_at = excluded.last_seen_at`
)

// bindOp binds a MAC to an account (a seamless area's portal login).
type bindOp struct {
	accountID int64
	mac, drop string
	class     access.Class
	takeFrom  int64 // device id bound to another account
}

// loginBatch is what a batch's decisions write.
type loginBatch struct {
	out     []access.LoginDecision
	pending []*pendingSession
	logNow  []access.AuthLogEntry
	binds   []bindOp
}

// decideLogins calls decide for each request in order, on what the batch
// read (accs are the locked accounts), and collects the writes: a request
// sees the reservations and bindings of the earlier ones.
func decideLogins(now time.Time, reqs []access.LoginRequest, accs []access.Account, rd loginData, decide access.DecideFunc) loginBatch {
	nowMs := access.Millis(now)
	byID := make(map[int64]*access.Account, len(accs))
	byUser := make(map[string]*access.Account, len(accs))
	for i := range accs {
		byID[accs[i].ID] = &accs[i]
		byUser[accs[i].Username] = &accs[i]
	}
	devsByAcc := map[int64][]access.Device{}
	boundBy := map[string]access.Device{}
	for _, d := range rd.devices {
		if _, mine := byID[d.AccountID]; mine {
			devsByAcc[d.AccountID] = append(devsByAcc[d.AccountID], d)
		}
		if d.Bound {
			boundBy[d.MAC] = d
		}
	}
	live := map[int64][]*pendingSession{}
	for _, s := range rd.sessions {
		live[s.AccountID] = append(live[s.AccountID], &pendingSession{s: s})
	}
	cycles := map[cycleKey]bool{}
	for _, c := range rd.cycles {
		cycles[c] = true
	}
	terms := rd.cycleTerms
	fresh := map[int64]bool{}
	for _, id := range rd.usedTokens {
		fresh[id] = true
	}

	out := make([]access.LoginDecision, len(reqs))
	var pending []*pendingSession
	var logNow []access.AuthLogEntry
	var binds []bindOp
	for i := range reqs {
		r := &reqs[i]
		st := access.LoginState{Now: now}
		var acc *access.Account
		if r.MACAuth {
			if d, ok := boundBy[r.MAC]; ok {
				acc = byID[d.AccountID]
			}
		} else {
			acc = byUser[r.Username]
		}
		if acc != nil {
			st.Found = true
			st.Account = *acc
			st.Devices = append([]access.Device(nil), devsByAcc[acc.ID]...)
			if d, ok := boundBy[r.MAC]; ok && d.AccountID != acc.ID {
				st.Devices = append(st.Devices, d)
			}
			for _, p := range live[acc.ID] {
				if !p.closed {
					st.Live = append(st.Live, p.s)
				}
			}
			st.ActiveCycle = cycles[cycleKey{acc.ID, r.Area}]
			if t, ok := terms[cycleKey{acc.ID, r.Area}]; ok {
				st.CyclePlan, st.CycleProfile = t.plan, t.profile
			}
			if len(r.Plans) > 0 {
				p := nextPlan(r.Plans, rd.choices[cycleKey{acc.ID, r.Area}])
				st.NextPlan, st.NextFee = p.Name, p.Fee
			}
		}
		st.TokenFresh = r.TokenID != 0 && fresh[r.TokenID]
		d := decide(i, &st)
		out[i] = d
		if d.LogNow {
			logNow = append(logNow, d.Log)
		}
		if !d.Accept || acc == nil {
			continue
		}
		for _, c := range d.Close {
			for _, p := range live[acc.ID] {
				if p.s.Correlation == c.Correlation && !p.closed {
					p.closed = true
					p.s.CloseReason = access.CloseReplaced
					if !p.insert && p.s.ID != 0 {
						pending = append(pending, p)
					}
				}
			}
		}
		var reused *pendingSession
		if d.Reuse != "" {
			for _, p := range live[acc.ID] {
				if p.s.Correlation == d.Reuse && !p.closed && p.s.Status == access.SessionReserved {
					reused = p
				}
			}
		}
		if reused != nil {
			reused.s.ReservedAt = nowMs
			if d.Session.IP != "" || r.IP != "" {
				reused.s.IP = firstNonEmpty(d.Session.IP, r.IP)
			}
			reused.s.Class = firstNonEmpty(d.Session.Class, r.Class, reused.s.Class)
			reused.s.Profile = d.Session.Profile
			if !reused.insert {
				pending = append(pending, reused)
			}
			out[i].Session = reused.s
		} else {
			s := d.Session
			s.AccountID, s.Username = acc.ID, acc.Username
			s.NAS = firstNonEmpty(s.NAS, r.NAS)
			s.Area = firstNonEmpty(s.Area, r.Area)
			s.MAC = firstNonEmpty(s.MAC, r.MAC)
			s.IP = firstNonEmpty(s.IP, r.IP)
			s.Class = firstNonEmpty(s.Class, r.Class, access.ClassUnknown)
			s.SetIPv6(r.IPv6)
			s.Status = access.SessionReserved
			s.ReservedAt = nowMs
			if s.Correlation == "" {
				s.Correlation = access.NewCorrelation()
			}
			p := &pendingSession{s: s, insert: true}
			live[acc.ID] = append(live[acc.ID], p)
			pending = append(pending, p)
			out[i].Session = s
		}
		if d.Bind && r.MAC != "" {
			op := bindOp{accountID: acc.ID, mac: r.MAC, class: firstNonEmpty(d.Session.Class, r.Class, access.ClassUnknown), drop: d.Unbind}
			if b, ok := boundBy[r.MAC]; ok && b.AccountID != acc.ID {
				op.takeFrom = b.ID
			}
			binds = append(binds, op)
			nd := access.Device{AccountID: acc.ID, MAC: r.MAC, Class: op.class, Bound: true, BoundBy: access.BoundByPortal}
			boundBy[r.MAC] = nd
			list := devsByAcc[acc.ID][:0:0]
			for _, x := range devsByAcc[acc.ID] {
				if x.MAC == d.Unbind {
					x.Bound = false
				}
				if x.MAC != r.MAC {
					list = append(list, x)
				}
			}
			devsByAcc[acc.ID] = append(list, nd)
		}
	}

	return loginBatch{out: out, pending: pending, logNow: logNow, binds: binds}
}

type cycleKey struct {
	account int64
	area    string
}

// loginData is what a batch of decisions reads under the accounts' locks.
type loginData struct {
	devices    []access.Device
	sessions   []access.Session
	cycles     []cycleKey
	usedTokens []int64 // the tokens this transaction marked used
	// cycleTerms are the plan and profile of the active cycles that have
	// any (cycles of flat plans at the full rate have neither).
	cycleTerms map[cycleKey]cycleTerms
	// choices are the plan choices (plan_choices) of the locked accounts
	// in the batch's areas with plans.
	choices map[cycleKey]string
}

// addChoice records a plan choice the batch read.
func (d *loginData) addChoice(k cycleKey, plan string) {
	if d.choices == nil {
		d.choices = map[cycleKey]string{}
	}
	d.choices[k] = plan
}

// nextPlan is the plan of plans (an area's, the default first) a next
// cycle runs under: the choice, or the default when there is none or the
// chosen plan is no longer offered (as NextPlanTx decides).
func nextPlan(plans []access.Plan, choice string) access.Plan {
	return chosen(access.Area{Plans: plans}, choice)
}

// cycleTerms is what an Access-Accept needs of an active cycle.
type cycleTerms struct {
	plan    string
	profile access.Profile
}

// addCycle records an active cycle the batch read.
func (d *loginData) addCycle(k cycleKey, plan string, profile access.Profile) {
	d.cycles = append(d.cycles, k)
	if plan == "" && profile == access.ProfileFull {
		return
	}
	if d.cycleTerms == nil {
		d.cycleTerms = map[cycleKey]cycleTerms{}
	}
	d.cycleTerms[k] = cycleTerms{plan: plan, profile: profile}
}

// loginReads reads the live sessions, devices, active cycles and (in areas
// with plans) plan choices of the locked accounts and the bindings of the
// MACs, and marks the tokens used (SQLite; PostgreSQL reads in one
// statement, loginReadsPG).
func (a *AAA) loginReads(ctx context.Context, tx *sqlx.Tx, accIDs []int64, k loginKeys, nowMs int64) (loginData, error) {
	macs, tokens, billed := k.macs, k.tokens, k.billed
	var d loginData
	err := a.sel(ctx, tx, &d.devices, `SELECT `+deviceCols+` FROM devices WHERE `+a.inInts("account_id")+`
		UNION SELECT `+deviceCols+` FROM devices WHERE bound AND `+a.inTexts("mac"), a.intsArg(accIDs), a.textsArg(macs))
	if err != nil {
		return d, fmt.Errorf("store: devices: %w", err)
	}
	err = a.sel(ctx, tx, &d.sessions, `SELECT `+sessionCols+` FROM sessions
		WHERE `+a.inInts("account_id")+` AND status IN ('reserved', 'online')`, a.intsArg(accIDs))
	if err != nil {
		return d, fmt.Errorf("store: live sessions: %w", err)
	}
	if billed && len(accIDs) > 0 {
		var rows []struct {
			AccountID int64          `db:"account_id"`
			Area      string         `db:"area"`
			Plan      string         `db:"plan"`
			Profile   access.Profile `db:"profile"`
		}
		err = a.sel(ctx, tx, &rows, `SELECT account_id, area, plan, profile FROM cycles WHERE `+a.inInts("account_id")+` AND status = 'active'`, a.intsArg(accIDs))
		if err != nil {
			return d, fmt.Errorf("store: active cycles: %w", err)
		}
		for _, r := range rows {
			d.addCycle(cycleKey{r.AccountID, r.Area}, r.Plan, r.Profile)
		}
	}
	if len(k.planAreas) > 0 && len(accIDs) > 0 {
		var rows []struct {
			AccountID int64  `db:"account_id"`
			Area      string `db:"area"`
			Plan      string `db:"plan"`
		}
		err = a.sel(ctx, tx, &rows, `SELECT account_id, area, plan FROM plan_choices WHERE `+a.inInts("account_id")+` AND `+a.inTexts("area"),
			a.intsArg(accIDs), a.textsArg(k.planAreas))
		if err != nil {
			return d, fmt.Errorf("store: plan choices: %w", err)
		}
		for _, r := range rows {
			d.addChoice(cycleKey{r.AccountID, r.Area}, r.Plan)
		}
	}
	if len(tokens) > 0 {
		err = a.sel(ctx, tx, &d.usedTokens, `UPDATE login_tokens SET used_at = ? WHERE `+a.inInts("id")+` AND used_at = 0 RETURNING id`,
			nowMs, a.intsArg(tokens))
		if err != nil {
			return d, fmt.Errorf("store: use tokens: %w", err)
		}
	}
	return d, nil
}

// writeSessions applies a batch's session changes: replaced sessions
// closed, reservations refreshed, new ones inserted.
func (a *AAA) writeSessions(ctx context.Context, tx *sqlx.Tx, pending []*pendingSession, nowMs int64) error {
	var closeIDs []int64
	var refresh, insert []*pendingSession
	seen := make(map[*pendingSession]bool, len(pending))
	for _, p := range pending {
		if seen[p] {
			continue
		}
		seen[p] = true
		switch {
		case p.closed && !p.insert:
			closeIDs = append(closeIDs, p.s.ID)
		case p.closed:
		case p.insert:
			insert = append(insert, p)
		default:
			refresh = append(refresh, p)
		}
	}
	if len(closeIDs) > 0 {
		if _, err := a.exec(ctx, tx, `UPDATE sessions SET status = 'closed', stopped_at = ?, close_reason = ?
			WHERE `+a.inInts("id")+` AND status <> 'closed'`, nowMs, access.CloseReplaced, a.intsArg(closeIDs)); err != nil {
			return fmt.Errorf("store: close replaced sessions: %w", err)
		}
	}
	if a.dialect == Postgres && len(refresh) > 1 {
		var ids, at []int64
		var ips, classes []string
		for _, p := range refresh {
			ids, at = append(ids, p.s.ID), append(at, p.s.ReservedAt)
			ips, classes = append(ips, p.s.IP), append(classes, string(p.s.Class))
		}
		if _, err := a.exec(ctx, tx, `UPDATE sessions SET reserved_at = v.at, ip = v.ip, class = v.class
			FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::text[]) AS v(id, at, ip, class)
			WHERE sessions.id = v.id AND sessions.status = 'reserved'`, pq.Array(ids), pq.Array(at), pq.Array(ips), pq.Array(classes)); err != nil {
			return fmt.Errorf("store: refresh reservations: %w", err)
		}
	} else {
		for _, p := range refresh {
			if _, err := a.exec(ctx, tx, `UPDATE sessions SET reserved_at = ?, ip = ?, class = ? WHERE id = ? AND status = 'reserved'`,
				p.s.ReservedAt, p.s.IP, p.s.Class, p.s.ID); err != nil {
				return fmt.Errorf("store: refresh reservation: %w", err)
			}
		}
	}
	if a.dialect == Postgres && len(insert) > 1 {
		var accIDs, at []int64
		var users, nas, areas, macs, ips, classes, corr []string
		var six [8][]string
		for _, p := range insert {
			s := p.s
			accIDs, at = append(accIDs, s.AccountID), append(at, s.ReservedAt)
			users, nas, areas = append(users, s.Username), append(nas, s.NAS), append(areas, s.Area)
			macs, ips, classes, corr = append(macs, s.MAC), append(ips, s.IP), append(classes, string(s.Class)), append(corr, s.Correlation)
			for k, t := range sessionIPv6Texts(s) {
				six[k] = append(six[k], t)
			}
		}
		args := []any{pq.Array(accIDs), pq.Array(users), pq.Array(nas), pq.Array(areas), pq.Array(macs), pq.Array(ips), pq.Array(classes), pq.Array(corr), pq.Array(at)}
		for _, t := range six {
			args = append(args, pq.Array(t))
		}
		if _, err := a.exec(ctx, tx, `INSERT INTO sessions (account_id, username, nas, area, mac, ip, class, status, correlation, reserved_at,
				ip6, ip6_prefix, ip6_ifid, ip6_pd, ip6_lo, ip6_hi, pd_lo, pd_hi)
			SELECT a, u, n, ar, m, i, c, 'reserved', k, t, x6, xp, xi, xd, xl, xh, pl, ph
			FROM unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[],
				?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])
				AS v(a, u, n, ar, m, i, c, k, t, x6, xp, xi, xd, xl, xh, pl, ph)`, args...); err != nil {
			return fmt.Errorf("store: reserve sessions: %w", err)
		}
	} else {
		for _, p := range insert {
			s := p.s
			x := sessionIPv6Texts(s)
			if _, err := a.exec(ctx, tx, `INSERT INTO sessions (account_id, username, nas, area, mac, ip, class, status, correlation, reserved_at,
					ip6, ip6_prefix, ip6_ifid, ip6_pd, ip6_lo, ip6_hi, pd_lo, pd_hi)
				VALUES (?, ?, ?, ?, ?, ?, ?, 'reserved', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				s.AccountID, s.Username, s.NAS, s.Area, s.MAC, s.IP, s.Class, s.Correlation, s.ReservedAt,
				x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]); err != nil {
				return fmt.Errorf("store: reserve session: %w", err)
			}
		}
	}
	return nil
}

// sessionIPv6Texts are a session's IPv6 text columns (address, prefix,
// interface id, delegated prefix, the two ranges' bounds).
func sessionIPv6Texts(s access.Session) [8]string {
	r := s.IPv6Record()
	lo, hi := r.NetRange()
	plo, phi := r.DelegatedRange()
	return [8]string{s.IP6, s.IP6Prefix, s.IP6IfID, s.IP6Delegated, lo, hi, plo, phi}
}

func firstNonEmpty[T ~string](v ...T) T {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// InsertAuthLog writes authentication log entries in one transaction.
func (a *AAA) InsertAuthLog(ctx context.Context, entries []access.AuthLogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	if a.dialect == Postgres {
		return a.insertAuthLogPG(ctx, entries)
	}
	return a.InTx(ctx, func(tx *sqlx.Tx) error { return a.insertAuthLog(ctx, tx, entries) })
}

func (a *AAA) insertAuthLog(ctx context.Context, tx *sqlx.Tx, entries []access.AuthLogEntry) error {
	for _, e := range entries {
		_, err := a.exec(ctx, tx, `INSERT INTO auth_log (at, account_id, token_id, username, nas, mac, ip, method, result, reason, message, node)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.At, e.AccountID, e.TokenID, e.Username, e.NAS, e.MAC, e.IP, e.Method, e.Result, e.Reason, e.Message, e.Node)
		if err != nil {
			return fmt.Errorf("store: auth log: %w", err)
		}
	}
	return nil
}

// AuthLog returns the newest authentication decisions, optionally of one
// user name, for the operator.
func (s *Store) AuthLog(ctx context.Context, username string, limit int) ([]access.AuthLogEntry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 50
	}
	q := `SELECT id, at, username, account_id, nas, mac, ip, method, result, reason, message, node, token_id FROM auth_log`
	args := []any{}
	if username != "" {
		q += ` WHERE username = ?`
		args = append(args, username)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	var out []access.AuthLogEntry
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("store: auth log: %w", err)
	}
	return out, nil
}

// TouchNAS records when each BAS was last heard from (the RADIUS server
// calls it every few seconds with what it saw, not per request).
func (a *AAA) TouchNAS(ctx context.Context, seen []access.NASSeen) error {
	if len(seen) == 0 {
		return nil
	}
	sort.Slice(seen, func(i, j int) bool { return seen[i].Name < seen[j].Name })
	return a.InTx(ctx, func(tx *sqlx.Tx) error {
		for _, n := range seen {
			_, err := a.exec(ctx, tx, `INSERT INTO nas (name, ip, area, last_request_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (name) DO UPDATE SET ip = excluded.ip, area = excluded.area,
					last_request_at = CASE WHEN excluded.last_request_at > nas.last_request_at THEN excluded.last_request_at ELSE nas.last_request_at END`,
				n.Name, n.IP, n.Area, n.LastRequestAt)
			if err != nil {
				return fmt.Errorf("store: nas %s: %w", n.Name, err)
			}
		}
		return nil
	})
}

// NASList returns every BAS the RADIUS server has heard from.
func (s *Store) NASList(ctx context.Context) ([]access.NASSeen, error) {
	var out []access.NASSeen
	if err := s.db.SelectContext(ctx, &out, `SELECT name, ip, area, last_request_at FROM nas ORDER BY name`); err != nil {
		return nil, fmt.Errorf("store: nas list: %w", err)
	}
	return out, nil
}
