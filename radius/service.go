package radius

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/config"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/logintoken"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/radius/radiusproto"
)

// Store is what the RADIUS service needs of the database (*store.AAA).
type Store interface {
	LiveTokens(ctx context.Context, username string, now time.Time) ([]access.LoginToken, error)
	AuthorizeLogins(ctx context.Context, reqs []store.LoginRequest, decide store.DecideFunc) ([]store.LoginDecision, error)
	RecordAccounting(ctx context.Context, recs []store.AcctRecord) ([]store.AcctResult, error)
	InsertAuthLog(ctx context.Context, entries []access.AuthLogEntry) error
	TouchNAS(ctx context.Context, seen []store.NASSeen) error
	ReapSessions(ctx context.Context, staleBefore, reservedBefore time.Time) (stale, reserved int64, err error)
}

// Defaults for Config's zero values.
const (
	DefaultInterimInterval = 300 * time.Second
	DefaultReserveTimeout  = 60 * time.Second
	DefaultBatchSize       = 64
	DefaultBatchWorkers    = 1
	DefaultBatchGather     = 2 * time.Millisecond
	DefaultRequestTimeout  = 5 * time.Second
	DefaultAuthLogQueue    = 1 << 16
)

// Config configures a Service. Store, Areas and NAS are required.
type Config struct {
	Store Store
	// Areas and NAS come from the configuration file ([[area]], [[nas]]).
	Areas []config.Area
	NAS   []config.NAS
	// Identity checks passwords of direct PAP logins (no portal token);
	// nil refuses them. EnsureAccount, when set, creates the account row of
	// a person unified identity knows and the store does not (LDAP).
	Identity      identity.Authenticator
	EnsureAccount func(ctx context.Context, p identity.Person) error
	// TokenKey derives the portal's one-time tokens ([server] token_key).
	TokenKey logintoken.Key

	InterimInterval time.Duration // Acct-Interim-Interval sent; 2.5 × it makes a session stale
	ReserveTimeout  time.Duration // a reservation without Accounting-Start is dropped after it
	SessionTimeout  time.Duration // Session-Timeout sent in Access-Accept; 0 = none
	PaymentURL      string        // named in the arrears refusal
	Node            string        // this node's id, in the authentication log

	// Disconnecter ends sessions that on_limit = "replace_oldest" replaces.
	Disconnecter *Disconnecter

	// BatchSize bounds the requests decided in one transaction (group
	// commit); 1 means one transaction per request. BatchWorkers is how
	// many such transactions run at once (per kind: access, accounting).
	// One is the fastest measured: while a batch is in the database the
	// next one grows, so each commit carries more requests.
	BatchSize    int
	BatchWorkers int
	// BatchGather bounds how long a batch waits for the requesters of the
	// last batch to come back (see batcher): 0 is DefaultBatchGather, a
	// negative value turns gathering off.
	BatchGather    time.Duration
	RequestTimeout time.Duration // a request's database work; no answer after it
	AuthLogQueue   int           // authentication log entries waiting to be written

	// Workers bounds the requests in flight in the UDP server (0: its default).
	Workers int

	Now        func() time.Time
	Log        *slog.Logger
	Registerer prometheus.Registerer
}

// Service is the RADIUS authentication and accounting service: the policy
// Handler, the batching writers, the authentication log writer and the
// reaper. It serves UDP through a Server.
type Service struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	areas   map[string]config.Area
	vendors map[string]string // NAS name → vendor of its rate-limit attributes
	nas     radiusproto.StaticNAS
	metrics *metrics

	logins  *batcher[*attempt, store.LoginDecision]
	acct    *batcher[store.AcctRecord, store.AcctResult]
	authlog *authLogWriter

	seenMu sync.Mutex
	seen   map[string]*nasSeen

	bg        sync.WaitGroup // background disconnects
	closeOnce sync.Once
}

type nasSeen struct {
	nas     *radiusproto.NAS
	last    atomic.Int64
	flushed int64
}

// New checks the configuration and starts the service's background writers;
// Close stops them.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("radius: Config.Store is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.InterimInterval <= 0 {
		cfg.InterimInterval = DefaultInterimInterval
	}
	if cfg.ReserveTimeout <= 0 {
		cfg.ReserveTimeout = DefaultReserveTimeout
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.BatchWorkers <= 0 {
		cfg.BatchWorkers = DefaultBatchWorkers
	}
	switch {
	case cfg.BatchGather == 0:
		cfg.BatchGather = DefaultBatchGather
	case cfg.BatchGather < 0:
		cfg.BatchGather = 0
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.AuthLogQueue <= 0 {
		cfg.AuthLogQueue = DefaultAuthLogQueue
	}
	s := &Service{cfg: cfg, log: cfg.Log, now: cfg.Now, areas: map[string]config.Area{}, vendors: map[string]string{}, seen: map[string]*nasSeen{}}
	for _, a := range cfg.Areas {
		s.areas[a.Name] = a
	}
	var list []*radiusproto.NAS
	for _, n := range cfg.NAS {
		if _, ok := s.areas[n.Area]; !ok {
			return nil, fmt.Errorf("radius: NAS %s: unknown area %q", n.Name, n.Area)
		}
		list = append(list, NASFromConfig(n))
		s.vendors[n.Name] = n.Vendor
	}
	s.nas = radiusproto.NewStaticNAS(list...)
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.logins = newBatcher(cfg.BatchSize, cfg.BatchWorkers, cfg.BatchGather, s.decideBatch, m.batch.WithLabelValues("access"))
	s.acct = newBatcher(cfg.BatchSize, cfg.BatchWorkers, cfg.BatchGather, cfg.Store.RecordAccounting, m.batch.WithLabelValues("accounting"))
	s.authlog = newAuthLogWriter(cfg.Store, cfg.AuthLogQueue, s.log, m)
	return s, nil
}

// NASFromConfig turns a [[nas]] into the server's NAS.
func NASFromConfig(n config.NAS) *radiusproto.NAS {
	return &radiusproto.NAS{Name: n.Name, IP: n.Addr, Secret: []byte(n.Secret), RequireMessageAuthenticator: n.RequireM,
		Area: n.Area, CoAPort: n.CoAPort}
}

// NASSource is the configured BASes, by address.
func (s *Service) NASSource() radiusproto.NASSource { return s.nas }

// Server returns a UDP server that answers with this service.
func (s *Service) Server(authAddr, acctAddr string) *radiusproto.Server {
	return &radiusproto.Server{AuthAddr: authAddr, AcctAddr: acctAddr, NAS: s.nas, Handler: s, Log: s.log, Metrics: s.metrics,
		Workers: s.cfg.Workers}
}

// Serve answers RADIUS on the given connections (either may be nil) until
// ctx ends, then shuts the server down gracefully and closes the service.
func (s *Service) Serve(ctx context.Context, authConn, acctConn net.PacketConn) error {
	srv := s.Server("", "")
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(done)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), radiusproto.ShutdownGrace)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			s.log.Warn("radius shutdown", "err", err)
		}
	})
	err := srv.Serve(authConn, acctConn)
	if !stop() {
		<-done
	}
	s.Close()
	if errors.Is(err, radiusproto.ErrServerClosed) && ctx.Err() != nil {
		return nil
	}
	return err
}

// Close stops the batching writers and flushes the authentication log and
// the BASes' last-seen times. Call it after the server has stopped.
func (s *Service) Close() {
	s.closeOnce.Do(func() {
		s.bg.Wait()
		s.logins.close()
		s.acct.close()
		s.authlog.close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.flushNASSeen(ctx)
	})
}

// decideBatch runs the policy for a batch of attempts in one transaction.
func (s *Service) decideBatch(ctx context.Context, atts []*attempt) ([]store.LoginDecision, error) {
	reqs := make([]store.LoginRequest, len(atts))
	for i, a := range atts {
		reqs[i] = a.login
	}
	return s.cfg.Store.AuthorizeLogins(ctx, reqs, func(i int, st *store.LoginState) store.LoginDecision {
		return s.decide(atts[i], st)
	})
}

// ServeAccounting implements Handler: it records the Accounting-Request
// (idempotently, on (BAS, Acct-Session-Id)) before the Accounting-Response
// goes out; an error means no answer, and the BAS sends it again.
func (s *Service) ServeAccounting(ctx context.Context, r *radiusproto.Request) error {
	rec, ok := s.acctRecord(r)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	res, err := s.acct.do(ctx, rec)
	return s.acctDone(r, rec, res, err)
}

// ServeAccountingAsync implements AsyncHandler: ServeAccounting, answered
// from the batch's goroutine.
func (s *Service) ServeAccountingAsync(ctx context.Context, r *radiusproto.Request, done func(error)) {
	rec, ok := s.acctRecord(r)
	if !ok {
		done(nil)
		return
	}
	s.acct.submit(ctx, r.Received.Add(s.cfg.RequestTimeout), rec, func(res store.AcctResult, err error) {
		defer s.recoverAnswer(r, func() { done(radiusproto.ErrHandlerPanic) })
		done(s.acctDone(r, rec, res, err))
	})
}

// acctRecord reads an Accounting-Request; false means there is nothing to
// record, and the request is acknowledged as it is.
func (s *Service) acctRecord(r *radiusproto.Request) (store.AcctRecord, bool) {
	s.nasSeen(r.NAS, r.Received)
	p := r.Packet
	st, err := rfc2866.AcctStatusType_Lookup(p)
	kind, ok := acctStatus(st)
	if err != nil || !ok {
		// Nothing we record (tunnel accounting, Failed…): acknowledge it so
		// the BAS does not resend it forever.
		s.metrics.request("accounting", "ok", "ignored")
		return store.AcctRecord{}, false
	}
	rec := store.AcctRecord{Kind: kind, NAS: r.NAS.Name, Area: r.NAS.Area}
	rec.AcctSessionID, _ = rfc2866.AcctSessionID_LookupString(p)
	if (kind == store.AcctStart || kind == store.AcctInterim || kind == store.AcctStop) && (rec.AcctSessionID == "" || len(rec.AcctSessionID) > 253) {
		s.metrics.request("accounting", "ok", "no_session_id")
		return store.AcctRecord{}, false
	}
	if c, err := rfc2865.Class_Lookup(p); err == nil && len(c) <= 64 {
		rec.Correlation = string(c)
	}
	rec.Username, _ = rfc2865.UserName_LookupString(p)
	if csid, err := rfc2865.CallingStationID_LookupString(p); err == nil {
		rec.MAC, _ = access.NormalizeMAC(csid)
	}
	if ip, err := rfc2865.FramedIPAddress_Lookup(p); err == nil {
		if addr, ok := netipFrom(ip); ok {
			rec.IP = addr
		}
	}
	in, _ := rfc2866.AcctInputOctets_Lookup(p)
	out, _ := rfc2866.AcctOutputOctets_Lookup(p)
	ing, _ := rfc2869.AcctInputGigawords_Lookup(p)
	outg, _ := rfc2869.AcctOutputGigawords_Lookup(p)
	rec.InputOctets = int64(ing)<<32 | int64(in)
	rec.OutputOctets = int64(outg)<<32 | int64(out)
	if tc, err := rfc2866.AcctTerminateCause_Lookup(p); err == nil {
		rec.TerminateCause = tc.String()
	}
	if area, ok := s.area(r.NAS.Area); ok && area.Billed() {
		rec.Fee, rec.CycleLength = access.Fen(area.FeeFen), area.Cycle.Duration
	}
	return rec, true
}

// acctDone counts and logs the outcome of recording rec.
func (s *Service) acctDone(r *radiusproto.Request, rec store.AcctRecord, res store.AcctResult, err error) error {
	kind := rec.Kind
	if err != nil {
		s.metrics.request("accounting", "error", kind)
		return err
	}
	s.metrics.request("accounting", "ok", kind+"_"+res.Outcome)
	switch {
	case res.Outcome == store.AcctUnknown:
		s.log.Debug("radius: accounting for an unknown session or account", "nas", r.NAS.Name, "kind", kind, "user", rec.Username, "mac", rec.MAC)
	case res.Outcome == store.AcctClosedAll:
		s.log.Info("radius: BAS restarted; its sessions closed", "nas", r.NAS.Name, "kind", kind, "closed", res.Closed)
	case res.Arrears:
		s.log.Warn("radius: session started in arrears (no active cycle, balance below the fee)", "nas", r.NAS.Name, "user", rec.Username, "session", res.SessionID)
	}
	return nil
}

// Reap closes stale sessions and expired reservations once.
func (s *Service) Reap(ctx context.Context) (stale, reserved int64, err error) {
	now := s.now()
	stale, reserved, err = s.cfg.Store.ReapSessions(ctx, now.Add(-s.staleAfter()), now.Add(-s.cfg.ReserveTimeout))
	if err != nil {
		return stale, reserved, err
	}
	s.metrics.reaped.WithLabelValues(store.CloseStale).Add(float64(stale))
	s.metrics.reaped.WithLabelValues(store.CloseReserveTimeout).Add(float64(reserved))
	if stale+reserved > 0 {
		s.log.Info("radius: reaped sessions", "stale", stale, "reservations", reserved)
	}
	return stale, reserved, nil
}

// RunReaper reaps every interval (default 10 s) until ctx ends, and records
// when each BAS was last heard from.
func (s *Service) RunReaper(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, _, err := s.Reap(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("radius: reaper", "err", err)
		}
		s.flushNASSeen(ctx)
	}
}

// nasSeen notes that a BAS was heard from.
func (s *Service) nasSeen(n *radiusproto.NAS, at time.Time) {
	s.seenMu.Lock()
	e := s.seen[n.Name]
	if e == nil {
		e = &nasSeen{nas: n}
		s.seen[n.Name] = e
	}
	s.seenMu.Unlock()
	ms := access.Millis(at)
	for {
		old := e.last.Load()
		if old >= ms || e.last.CompareAndSwap(old, ms) {
			return
		}
	}
}

func (s *Service) flushNASSeen(ctx context.Context) {
	s.seenMu.Lock()
	var rows []store.NASSeen
	var marks []*nasSeen
	for _, e := range s.seen {
		if last := e.last.Load(); last > e.flushed {
			rows = append(rows, store.NASSeen{Name: e.nas.Name, IP: e.nas.IP.String(), Area: e.nas.Area, LastRequestAt: last})
			marks = append(marks, e)
		}
	}
	s.seenMu.Unlock()
	if len(rows) == 0 {
		return
	}
	if err := s.cfg.Store.TouchNAS(ctx, rows); err != nil {
		s.log.Warn("radius: record BAS last seen", "err", err)
		return
	}
	s.seenMu.Lock()
	for i, e := range marks {
		e.flushed = max(e.flushed, rows[i].LastRequestAt)
	}
	s.seenMu.Unlock()
}
