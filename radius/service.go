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

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/logintoken"
	"github.com/campusnet/campusnet/radius/radiusproto"
)

// Store is what the RADIUS service needs of the database (*store.AAA).
type Store interface {
	LiveTokens(ctx context.Context, username string, now time.Time) ([]access.LoginToken, error)
	AuthorizeLogins(ctx context.Context, reqs []access.LoginRequest, decide access.DecideFunc) ([]access.LoginDecision, error)
	RecordAccounting(ctx context.Context, recs []access.AcctRecord) ([]access.AcctResult, error)
	InsertAuthLog(ctx context.Context, entries []access.AuthLogEntry) error
	TouchNAS(ctx context.Context, seen []access.NASSeen) error
	ReapSessions(ctx context.Context, staleBefore, reservedBefore time.Time) (stale, reserved int64, err error)
}

// Defaults for Config's zero values.
const (
	DefaultBatchSize      = 64
	DefaultBatchWorkers   = 1
	DefaultRequestTimeout = 5 * time.Second
	DefaultAuthLogQueue   = 1 << 16
)

// Config configures a Service. Store, Areas and NAS are required.
type Config struct {
	Store Store
	// Areas and NAS come from the configuration file ([[area]], [[nas]]).
	Areas []access.Area
	NAS   []access.BAS
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
	// Location is the campus time zone of times in refusal messages
	// ([server] timezone; default access.DefaultLocation).
	Location *time.Location

	// Disconnector ends sessions that on_limit = "replace_oldest" replaces.
	Disconnector *Disconnector

	// BatchSize bounds the requests decided in one transaction (group
	// commit); 1 means one transaction per request. BatchWorkers is how
	// many such transactions run at once (per kind: access, accounting).
	// One is the fastest measured: while a batch is in the database the
	// next one grows, so each commit carries more requests.
	BatchSize    int
	BatchWorkers int
	// BatchGather bounds how long a batch waits for the requesters of the
	// last batch to come back (see groupCommit); 0 turns gathering off, as
	// batch_gather = "0s" does in the file (whose default is
	// access.DefaultBatchGather).
	BatchGather    time.Duration
	RequestTimeout time.Duration // a request's database work; no answer after it
	// RetryWindow is how long the BAS waits for an answer to one
	// Access-Request, retransmissions included (its timeout × tries). A
	// password that cannot be hashed before RetryWindow minus
	// passwordMargin from the first copy's arrival is not hashed at all:
	// the request gets no answer (the BAS has given up, or fails over).
	RetryWindow  time.Duration
	AuthLogQueue int // authentication log entries waiting to be written

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
	areas   map[string]access.Area
	vendors map[string]string // NAS name → vendor of its rate-limit attributes
	bases   map[string]access.BAS
	nas     radiusproto.StaticNAS
	metrics *metrics

	logins  *groupCommit[*attempt, access.LoginDecision]
	acct    *groupCommit[access.AcctRecord, access.AcctResult]
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
	if cfg.Location == nil {
		cfg.Location = access.DefaultLocation()
	}
	if cfg.InterimInterval <= 0 {
		cfg.InterimInterval = access.DefaultInterimInterval
	}
	if cfg.ReserveTimeout <= 0 {
		cfg.ReserveTimeout = access.DefaultReserveTimeout
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.BatchWorkers <= 0 {
		cfg.BatchWorkers = DefaultBatchWorkers
	}
	if cfg.BatchGather < 0 {
		cfg.BatchGather = 0
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.RetryWindow <= 0 {
		cfg.RetryWindow = access.DefaultRetryWindow
	}
	if cfg.RetryWindow < time.Second {
		return nil, fmt.Errorf("radius: RetryWindow %v: must be at least 1s", cfg.RetryWindow)
	}
	if cfg.AuthLogQueue <= 0 {
		cfg.AuthLogQueue = DefaultAuthLogQueue
	}
	s := &Service{cfg: cfg, log: cfg.Log, now: cfg.Now, areas: map[string]access.Area{}, vendors: map[string]string{}, bases: map[string]access.BAS{}, seen: map[string]*nasSeen{}}
	for _, a := range cfg.Areas {
		s.areas[a.Name] = a
	}
	var list []*radiusproto.NAS
	for _, n := range cfg.NAS {
		if _, ok := s.areas[n.Area]; !ok {
			return nil, fmt.Errorf("radius: NAS %s: unknown area %q", n.Name, n.Area)
		}
		list = append(list, protocolNAS(n))
		s.vendors[n.Name] = n.Vendor
		s.bases[n.Name] = n
	}
	s.nas = radiusproto.NewStaticNAS(list...)
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.logins = newGroupCommit(cfg.BatchSize, cfg.BatchWorkers, cfg.BatchGather, s.decideBatch, m.batch.WithLabelValues("access"))
	s.acct = newGroupCommit(cfg.BatchSize, cfg.BatchWorkers, cfg.BatchGather, cfg.Store.RecordAccounting, m.batch.WithLabelValues("accounting"))
	s.authlog = newAuthLogWriter(cfg.Store, cfg.AuthLogQueue, s.log, m)
	return s, nil
}

// protocolNAS is a BAS as the RADIUS server and the Disconnect client see it.
func protocolNAS(b access.BAS) *radiusproto.NAS {
	return &radiusproto.NAS{Name: b.Name, IP: b.IP, Secret: []byte(b.Secret), RequireMessageAuthenticator: b.RequireMessageAuthenticator,
		Area: b.Area, CoAPort: b.CoAPort}
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
			s.log.Warn("shutdown", "err", err)
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
	var rows []access.NASSeen
	var marks []*nasSeen
	for _, e := range s.seen {
		if last := e.last.Load(); last > e.flushed {
			rows = append(rows, access.NASSeen{Name: e.nas.Name, IP: e.nas.IP.String(), Area: e.nas.Area, LastRequestAt: last})
			marks = append(marks, e)
		}
	}
	s.seenMu.Unlock()
	if len(rows) == 0 {
		return
	}
	if err := s.cfg.Store.TouchNAS(ctx, rows); err != nil {
		s.log.Warn("record BAS last seen", "err", err)
		return
	}
	s.seenMu.Lock()
	for i, e := range marks {
		e.flushed = max(e.flushed, rows[i].LastRequestAt)
	}
	s.seenMu.Unlock()
}
