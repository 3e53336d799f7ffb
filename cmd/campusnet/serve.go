package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/config"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/logintoken"
	"github.com/campusnet/campusnet/internal/sso"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/radius"
)

// server is one running campusnet process: the store, the identity backend
// and the services that the wire_*.go files start.
type server struct {
	cfg   *config.Config
	st    *store.Store
	log   *slog.Logger
	ident identity.Authenticator
	local *identity.Local // nil with the LDAP backend
	// sso runs single sign-on logins ([identity.sso]); nil without providers.
	sso  *sso.Client
	reg  *prometheus.Registry
	ops  *http.ServeMux
	now  func() time.Time
	demo bool
	env  *cli
	// tokenKey derives the portal's one-time login tokens ([server] token_key).
	tokenKey logintoken.Key
	// disc disconnects a session at its BAS (RFC 5176); set by startRadius,
	// used by billing (arrears) and self-service (unbind, kick).
	disc disconnector
	// enf applies sessions' profiles by CoA (docs/plans.md); set by
	// startRadius, run and used by billing.
	enf *radius.Enforcer

	mu      sync.Mutex
	runners []runner
	// ready is closed when every listener is bound (tests wait on it).
	ready chan struct{}
	// addrs records each listener's bound address by name ("portal", "radius-auth"…).
	addrs map[string]string
}

// disconnector ends a session at its BAS and audits it (who, why).
type disconnector interface {
	DisconnectSession(ctx context.Context, sessionID int64, actor, reason string) (access.DisconnectOutcome, error)
}

type runner struct {
	name string
	run  func(ctx context.Context) error
}

// goRun adds a service: run serves until ctx is cancelled, then shuts down
// gracefully and returns.
func (s *server) goRun(name string, run func(ctx context.Context) error) {
	s.mu.Lock()
	s.runners = append(s.runners, runner{name, run})
	s.mu.Unlock()
}

func (s *server) setAddr(name, addr string) {
	s.mu.Lock()
	s.addrs[name] = addr
	s.mu.Unlock()
}

// Addr returns a bound listener address by name.
func (s *server) Addr(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs[name]
}

func serveCommand() command {
	var migrate, demo bool
	var verbose bool
	return command{
		name:  "serve",
		short: "run the portal, RADIUS, billing and self-service (--demo: seed demo accounts and run a BAS simulator)",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&migrate, "migrate", false, "apply pending database migrations before starting")
			fs.BoolVar(&demo, "demo", false, "seed the demo accounts and run a BAS simulator in-process (implies --migrate)")
			fs.BoolVar(&verbose, "v", false, "debug logging")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: unexpected argument %q", errUsage, args[0])
			}
			level := slog.LevelInfo
			if verbose {
				level = slog.LevelDebug
			}
			log := newLogger(os.Stderr, level)
			cfg, err := env.loadConfig()
			if err != nil {
				return err
			}
			procs, why := setProcs(cfg.Server)
			log.Info("cores", "procs", procs, "why", why)
			s, err := newServer(ctx, env, cfg, log, migrate || demo, demo)
			if err != nil {
				return err
			}
			return s.run(ctx)
		},
	}
}

// newServer opens the store and identity backend and starts every service's
// listeners; run then serves until ctx ends.
func newServer(ctx context.Context, env *cli, cfg *config.Config, log *slog.Logger, migrate, demo bool) (*server, error) {
	log = log.With("node", cfg.Server.NodeID)
	st, err := env.openStore(ctx, cfg, log, migrate)
	if err != nil {
		return nil, err
	}
	s := &server{cfg: cfg, st: st, log: log, now: time.Now, demo: demo, env: env,
		reg: prometheus.NewRegistry(), ops: http.NewServeMux(), ready: make(chan struct{}), addrs: map[string]string{}}
	// Every metric name starts with campusnet_, the runtime's too.
	prometheus.WrapRegistererWithPrefix("campusnet_", s.reg).MustRegister(
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.reg.MustRegister(newStoreCollector(st, s.now))
	s.tokenKey = logintoken.NewKey()
	if cfg.Server.TokenKey != "" {
		if s.tokenKey, err = logintoken.ParseKey(cfg.Server.TokenKey); err != nil {
			st.Close()
			return nil, err
		}
	}
	ident, local, closeIdent, err := identityFor(cfg, st, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	// A password login to an account that single sign-on made, and that
	// has no password, is told to use single sign-on (RADIUS PAP too).
	s.ident, s.local = identity.SSOAware(ident, st), local
	if local != nil {
		registerStageMetrics(s.reg, local.Stage())
	}
	if len(cfg.Identity.SSO.Providers) > 0 {
		m := hmac.New(sha256.New, s.tokenKey[:])
		m.Write([]byte("campusnet sso state key v1"))
		if s.sso, err = sso.New(cfg.SSOConfig(), m.Sum(nil), st, log.With("service", "sso"), s.now); err != nil {
			st.Close()
			return nil, err
		}
	}
	s.goRun("identity", func(ctx context.Context) error { <-ctx.Done(); closeIdent(); return nil })
	if demo {
		if err := seedDemo(ctx, st, log); err != nil {
			st.Close()
			return nil, fmt.Errorf("demo seed: %w", err)
		}
	}
	starts := []struct {
		name  string
		start func(ctx context.Context) error
	}{
		{"ops", s.startOps},
		{"radius", s.startRadius},
		{"billing", s.startBilling},
		{"retention", s.startRetention},
		{"notify", s.startNotify},
		{"portal", s.startPortal},
		{"selfservice", s.startSelfService},
		{"demo", s.startDemo},
	}
	for _, st := range starts {
		if err := st.start(ctx); err != nil {
			s.st.Close()
			return nil, fmt.Errorf("start %s: %w", st.name, err)
		}
	}
	return s, nil
}

// run serves until ctx is cancelled (SIGINT/SIGTERM), then gives every
// service shutdownTimeout to finish.
func (s *server) run(ctx context.Context) error {
	defer s.st.Close()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(s.runners))
	for _, r := range s.runners {
		wg.Add(1)
		go func(r runner) {
			defer wg.Done()
			if err := r.run(sctx); err != nil && !errors.Is(err, context.Canceled) {
				errs <- fmt.Errorf("%s: %w", r.name, err)
				cancel()
			}
		}(r)
	}
	close(s.ready)
	s.log.Info("campusnet serving", "version", version, "config", s.cfg.Source, "database", dbKind(s.cfg.Server.Database))
	<-sctx.Done()
	s.log.Info("shutting down")
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownTimeout + time.Second):
		s.log.Error("shutdown took too long; exiting")
	}
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func dbKind(dsn string) string {
	if len(dsn) >= 7 && dsn[:7] == "sqlite:" {
		return dsn
	}
	return "postgres"
}

// listen binds a TCP listener and records its address under name.
func (s *server) listen(name, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen %s: %w", name, addr, err)
	}
	s.setAddr(name, ln.Addr().String())
	return ln, nil
}

// serveHTTP runs an http.Server on ln until ctx ends, then shuts it down.
func (s *server) serveHTTP(name string, ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 32 << 10,
		ErrorLog: slog.NewLogLogger(s.log.With("server", name).Handler(), slog.LevelWarn)}
	s.goRun(name, func(ctx context.Context) error {
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		return srv.Shutdown(sctx)
	})
}

// serveTLS adds an HTTPS listener for h when addr is set (the config
// checks that a certificate and key come with it). The plain listener stays:
// the BAS redirect and the OS probes are HTTP.
func (s *server) serveTLS(name, addr, certFile, keyFile string, h http.Handler) error {
	if addr == "" {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return fmt.Errorf("%s: tls certificate: %w", name, err)
	}
	ln, err := s.listen(name, addr)
	if err != nil {
		return err
	}
	s.serveHTTP(name, tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}), h)
	return nil
}

// startOps serves /healthz and /metrics on the ops listener.
func (s *server) startOps(ctx context.Context) error {
	ln, err := s.listen("ops", s.cfg.Ops.Listen)
	if err != nil {
		return err
	}
	s.ops.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Portal-Node", s.cfg.Server.NodeID)
		status := map[string]any{"node": s.cfg.Server.NodeID, "version": version, "store": "ok"}
		code := http.StatusOK
		if err := s.st.Health(r.Context()); err != nil {
			status["store"] = "down"
			code = http.StatusServiceUnavailable
		}
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(status)
	})
	s.ops.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	s.serveHTTP("ops", ln, s.ops)
	return nil
}
