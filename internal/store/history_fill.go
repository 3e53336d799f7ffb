package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/campusnet/campusnet/internal/access"
)

// FillOptions describes the history FillHistory writes.
type FillOptions struct {
	Accounts int       // accounts the sessions belong to (existing ones first, then PREFIXNNNNN)
	Sessions int64     // closed sessions, about
	AuthLog  int64     // authentication-log rows, about
	Days     int       // the history's length, ending at End
	End      time.Time // the last session stops before it (default: the store's clock)
	Prefix   string    // user names of the accounts it adds ("hist")
	Pool     int       // DHCP pool: addresses, each used by many students in turn (default Sessions/500)
	NAS      string    // the BAS of every session
	Area     string    // the area of every session
	Seed     uint64    // the random generator's seed (the same seed, the same history)
	// Progress, when set, is called after each day with the rows so far.
	Progress func(day int, sessions, authLog int64)
}

// FillResult is what FillHistory wrote.
type FillResult struct {
	AccountsAdded     int
	Sessions, AuthLog int64
	From, To          time.Time
}

// FillHistory writes a semester of closed sessions and authentication-log
// rows into a PostgreSQL database, for benchmarks: what the tables look like
// after months of use. It is for test databases only: it drops the
// secondary indexes of sessions and auth_log while it copies (with COPY) and
// builds them again after, then VACUUM ANALYZEs both tables.
//
// The history is in time order (ids grow with time, as when written live).
// Addresses come from a DHCP pool: each address is held by one session at a
// time, then, after a gap, by another student's. Each account has two
// devices (a PC and a phone). Each session has one accept in the log at its
// start; the other rows are refusals and repeated logins shortly before it.
func (s *Store) FillHistory(ctx context.Context, o FillOptions) (FillResult, error) {
	var res FillResult
	if s.dialect != Postgres {
		return res, errors.New("store: the history fill is PostgreSQL's (COPY)")
	}
	if o.Accounts <= 0 || o.Sessions <= 0 || o.Days <= 0 || o.AuthLog < o.Sessions {
		return res, errors.New("store: history fill: want accounts, sessions and days above 0 and at least one log row per session")
	}
	if o.End.IsZero() {
		o.End = s.now()
	}
	if o.Pool <= 0 {
		o.Pool = int(max(o.Sessions/500, 1))
	}
	if o.Prefix == "" {
		o.Prefix = "hist"
	}
	cfg, err := hotPoolConfig(s.dsn, 3)
	if err != nil {
		return res, err
	}
	delete(cfg.ConnConfig.RuntimeParams, "plan_cache_mode")
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return res, fmt.Errorf("store: history fill: connect: %w", err)
	}
	defer pool.Close()

	accs, added, err := fillAccounts(ctx, pool, o, s.now())
	if err != nil {
		return res, err
	}
	res.AccountsAdded = added

	var indexes []string
	err = pool.QueryRow(ctx, `SELECT COALESCE(array_agg(indexdef ORDER BY indexname), '{}') FROM pg_indexes i
		WHERE schemaname = current_schema() AND tablename IN ('sessions', 'auth_log')
		AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`).Scan(&indexes)
	if err != nil {
		return res, fmt.Errorf("store: history fill: indexes: %w", err)
	}
	for _, def := range indexes {
		name := indexName(def)
		if _, err := pool.Exec(ctx, `DROP INDEX `+pgx.Identifier{name}.Sanitize()); err != nil {
			return res, fmt.Errorf("store: history fill: drop index %s: %w", name, err)
		}
	}
	// The indexes come back whatever happens to the copy.
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Hour)
		defer cancel()
		for _, def := range indexes {
			if _, ierr := pool.Exec(rctx, def); ierr != nil && err == nil {
				err = fmt.Errorf("store: history fill: rebuild index: %w", ierr)
			}
		}
		if err == nil {
			if _, err = pool.Exec(rctx, `VACUUM (ANALYZE) sessions, auth_log`); err != nil {
				err = fmt.Errorf("store: history fill: vacuum: %w", err)
			}
		}
	}()

	g := newHistoryGen(o, accs)
	res.From, res.To = g.start, g.end
	type day struct {
		sessions [][]any
		authLog  [][]any
	}
	days := make(chan day, 2)
	sessRows, authRows := make(chan [][]any, 2), make(chan [][]any, 2)
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(days)
		for d := 0; d < o.Days; d++ {
			ss, al := g.day(d)
			select {
			case days <- day{ss, al}:
			case <-gctx.Done():
				return
			}
		}
	}()
	go func() {
		defer close(sessRows)
		defer close(authRows)
		d, ns, na := 0, int64(0), int64(0)
		for dd := range days {
			select {
			case sessRows <- dd.sessions:
			case <-gctx.Done():
				return
			}
			select {
			case authRows <- dd.authLog:
			case <-gctx.Done():
				return
			}
			d, ns, na = d+1, ns+int64(len(dd.sessions)), na+int64(len(dd.authLog))
			if o.Progress != nil {
				o.Progress(d, ns, na)
			}
		}
	}()
	errs := make(chan error, 2)
	copyInto := func(table string, cols []string, in <-chan [][]any) {
		_, err := pool.CopyFrom(gctx, pgx.Identifier{table}, cols, &chanSource{in: in})
		if err != nil {
			cancel()
			err = fmt.Errorf("store: history fill: copy %s: %w", table, err)
		}
		errs <- err
	}
	go copyInto("sessions", sessionFillCols, sessRows)
	go copyInto("auth_log", authFillCols, authRows)
	for range 2 {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		return res, err
	}
	res.Sessions, res.AuthLog = g.sessions, g.authLog
	return res, nil
}

// indexName is the name in a pg_indexes indexdef ("CREATE [UNIQUE] INDEX name ON …").
func indexName(def string) string {
	f := strings.Fields(def)
	for i, w := range f {
		if w == "INDEX" && i+1 < len(f) {
			return f[i+1]
		}
	}
	return ""
}

// chanSource is a pgx.CopyFromSource reading batches of rows from a channel.
type chanSource struct {
	in  <-chan [][]any
	cur [][]any
	i   int
}

func (c *chanSource) Next() bool {
	for c.i+1 >= len(c.cur) {
		b, ok := <-c.in
		if !ok {
			return false
		}
		c.cur, c.i = b, -1
	}
	c.i++
	return true
}

func (c *chanSource) Values() ([]any, error) { return c.cur[c.i], nil }
func (c *chanSource) Err() error             { return nil }

type fillAccount struct {
	id       int64
	username string
}

// fillAccounts returns o.Accounts accounts: the database's first ones by
// id, then new PREFIXNNNNN accounts (copied in) for the rest.
func fillAccounts(ctx context.Context, pool *pgxpool.Pool, o FillOptions, now time.Time) ([]fillAccount, int, error) {
	read := func() ([]fillAccount, error) {
		rows, err := pool.Query(ctx, `SELECT id, username FROM accounts ORDER BY id LIMIT $1`, o.Accounts)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, func(r pgx.CollectableRow) (fillAccount, error) {
			var a fillAccount
			return a, r.Scan(&a.id, &a.username)
		})
	}
	accs, err := read()
	if err != nil {
		return nil, 0, fmt.Errorf("store: history fill: accounts: %w", err)
	}
	missing := o.Accounts - len(accs)
	if missing <= 0 {
		return accs, 0, nil
	}
	have := map[string]bool{}
	for _, a := range accs {
		have[a.username] = true
	}
	ms := access.Millis(now)
	var rows [][]any
	for i := 1; len(rows) < missing; i++ {
		u := fmt.Sprintf("%s%05d", o.Prefix, i)
		if have[u] {
			continue
		}
		rows = append(rows, []any{u, fmt.Sprintf("历史学生%05d", i), string(access.RoleStudent), int64(0), ms, ms})
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"accounts"}, []string{"username", "name", "role", "balance_fen", "created_at", "updated_at"}, pgx.CopyFromRows(rows)); err != nil {
		return nil, 0, fmt.Errorf("store: history fill: copy accounts (do %s… accounts exist already? use another --prefix): %w", o.Prefix, err)
	}
	if accs, err = read(); err != nil {
		return nil, 0, fmt.Errorf("store: history fill: accounts: %w", err)
	}
	return accs, missing, nil
}

var sessionFillCols = []string{"account_id", "username", "nas", "area", "mac", "ip", "class", "status", "acct_session_id",
	"correlation", "reserved_at", "started_at", "last_update_at", "stopped_at", "input_octets", "output_octets",
	"terminate_cause", "close_reason"}

var authFillCols = []string{"at", "username", "account_id", "nas", "mac", "ip", "method", "result", "reason", "message", "node"}

// historyGen makes the fill's rows day by day, in time order.
type historyGen struct {
	o          FillOptions
	accs       []fillAccount
	rng        *rand.Rand
	start, end time.Time
	slot       float64 // mean milliseconds between two sessions of one address
	free       []int64 // per address: when it is free again (unix ms)
	seq        int64
	sessions   int64
	authLog    int64
	extra      float64 // log rows per session beyond its accept
}

func newHistoryGen(o FillOptions, accs []fillAccount) *historyGen {
	end := o.End.Truncate(time.Minute)
	start := end.Add(-time.Duration(o.Days) * 24 * time.Hour)
	g := &historyGen{o: o, accs: accs, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)),
		start: start, end: end, free: make([]int64, o.Pool)}
	span := float64(end.Sub(start).Milliseconds())
	// A little more than the target per address, so that the sessions cut
	// at the end still leave at least the count asked for.
	g.slot = span * float64(o.Pool) / float64(o.Sessions) * 0.985
	for i := range g.free {
		g.free[i] = access.Millis(start) + int64(g.rng.Float64()*g.slot)
	}
	g.extra = float64(o.AuthLog-o.Sessions) / float64(o.Sessions)
	return g
}

type fillSession struct {
	at, dur int64
	addr    int
}

var terminateCauses = []string{"User-Request", "User-Request", "Idle-Timeout", "Lost-Carrier", "Session-Timeout", "Port-Error"}

var refusals = []access.Reason{access.ReasonBadCredentials, access.ReasonBadCredentials, access.ReasonMACNotBound,
	access.ReasonDeviceLimitPC, access.ReasonDeviceLimitMobile, access.ReasonArrears}

// day returns the sessions that start on day d and the log rows of that day.
func (g *historyGen) day(d int) (sess [][]any, logRows [][]any) {
	ds := access.Millis(g.start.Add(time.Duration(d) * 24 * time.Hour))
	de := ds + 24*3600*1000
	endMs := access.Millis(g.end)
	var starts []fillSession
	for a := range g.free {
		for g.free[a] < de {
			at := g.free[a]
			dur := int64(g.slot * 0.75 * (0.2 + 1.6*g.rng.Float64()))
			gap := int64(g.slot * 0.25 * (0.05 + 1.9*g.rng.Float64()))
			g.free[a] = at + dur + gap
			if at+dur < endMs {
				starts = append(starts, fillSession{at, dur, a})
			}
		}
	}
	slices.SortFunc(starts, func(x, y fillSession) int { return cmp.Compare(x.at, y.at) })
	type logRow struct {
		at  int64
		row []any
	}
	var logs []logRow
	for _, st := range starts {
		acc := g.accs[g.rng.IntN(len(g.accs))]
		idx := int(acc.id)
		phone := g.rng.IntN(3) == 0
		mac := fmt.Sprintf("0a:%02x:%02x:%02x:%02x:%02x", (idx>>24)&0xff, (idx>>16)&0xff, (idx>>8)&0xff, idx&0xff, map[bool]int{false: 1, true: 2}[phone])
		class := access.ClassPC
		if phone {
			class = access.ClassMobile
		}
		ip := fmt.Sprintf("10.%d.%d.%d", 128+st.addr/65024, (st.addr%65024)/254, st.addr%254+1)
		dur := st.dur
		stop := st.at + dur
		g.seq++
		cause, reason, last := terminateCauses[g.rng.IntN(len(terminateCauses))], access.CloseStop, stop
		if g.rng.IntN(50) == 0 { // no Stop: the reaper closed it after its last Interim-Update
			cause, reason = "", access.CloseStale
			last = max(st.at, stop-int64(g.rng.IntN(15*60*1000)))
		}
		in, out := g.rng.Int64N(dur/4+1)*64, g.rng.Int64N(dur/2+1)*256
		sess = append(sess, []any{acc.id, acc.username, g.o.NAS, g.o.Area, mac, ip, string(class), "closed",
			fmt.Sprintf("hist-%x", g.seq), fmt.Sprintf("hist-%x", g.seq), st.at - 150, st.at, last, stop, in, out, cause, reason})
		g.sessions++
		method := "mac"
		if g.rng.IntN(4) == 0 {
			method = "pap"
		}
		logs = append(logs, logRow{st.at - 150, []any{st.at - 150, acc.username, acc.id, g.o.NAS, mac, ip, method, "accept", string(access.ReasonOK), "", "hist"}})
		n := int(g.extra)
		if g.rng.Float64() < g.extra-float64(n) {
			n++
		}
		for range n {
			at := max(ds, st.at-150-int64(g.rng.IntN(3600*1000)))
			res, why := "accept", access.ReasonOK
			if g.rng.IntN(2) == 0 {
				res, why = "reject", refusals[g.rng.IntN(len(refusals))]
			}
			logs = append(logs, logRow{at, []any{at, acc.username, acc.id, g.o.NAS, mac, ip, method, res, string(why), "", "hist"}})
		}
	}
	slices.SortFunc(logs, func(x, y logRow) int { return cmp.Compare(x.at, y.at) })
	logRows = make([][]any, len(logs))
	for i, l := range logs {
		logRows[i] = l.row
	}
	g.authLog += int64(len(logRows))
	return sess, logRows
}
