package selfservice

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/ratelimit"
	"github.com/campusnet/campusnet/internal/roster"
	"github.com/campusnet/campusnet/internal/sso"
)

// Config is what the self-service site is told by cmd. Zero durations take
// the defaults documented on each field.
type Config struct {
	Organisation string // "某某大学": the footer reads "<Organisation> 网络信息中心-<NodeID>"
	NodeID       string
	Version      string
	PaymentURL   string // where the recharge button sends a student; "" hides it
	// PasswordResetURL is the unified identity site's password reset (the
	// portal's); "" sends people who forgot it to the service desk.
	PasswordResetURL string
	// Helpdesk names the service desk (place, phone, hours) at the foot of
	// every page and where a page sends someone there; "" shows nothing.
	Helpdesk string
	Admins   []string // user names allowed on the NOC pages
	// TrailingX is identity.trailing_x: what the initial password of an
	// account imported on the NOC page does with an id-card number ending
	// in X (roster.InitialPassword; "" drops it).
	TrailingX string
	Areas     []access.Area
	NAS       []access.BAS
	// PublicURL is the address people reach self-service at; single
	// sign-on's return address is built from it (required with Deps.SSO).
	PublicURL string
	// NoPasswordLogin hides the password form: single sign-on only.
	NoPasswordLogin bool

	// SessionKey signs the session cookies (at least 32 bytes). Every node
	// behind one load balancer needs the same key; empty means a random key
	// per process (one node; sessions end when it restarts).
	SessionKey []byte
	// SecureCookies marks cookies Secure even on plain HTTP requests (TLS
	// terminated in front of campusnet). Requests that arrive over TLS
	// always get Secure cookies.
	SecureCookies bool
	// TrustedProxies are the peers whose X-Forwarded-For names the client
	// (the proxy in front of self-service); empty trusts nobody.
	TrustedProxies []netip.Prefix
	// SessionIdle ends a session nobody used for this long (default 30m).
	SessionIdle time.Duration
	// SessionMax ends every session this long after login (default 12h).
	SessionMax time.Duration
	// NodeStale marks a portal node whose last heartbeat is older (default 2m).
	NodeStale time.Duration
	// Location is the campus time zone of times on pages and in the API
	// (default access.DefaultLocation, Asia/Shanghai).
	Location *time.Location
	// AccountLimit and SourceLimit bound failed logins per account and per
	// source address (defaults: the portal's, DefaultAccountLimit and
	// DefaultSourceLimit).
	AccountLimit RateLimit
	SourceLimit  RateLimit
}

// Store is the part of the database self-service reads and changes. The
// writes are the owning services' operations: BindDevice and UnbindDevice
// (RADIUS's device bindings); money goes through Money.
type Store interface {
	AccountByUsername(ctx context.Context, username string) (access.Account, error)
	AccountByID(ctx context.Context, id int64) (access.Account, error)
	EnsureAccount(ctx context.Context, a access.Account) (access.Account, bool, error)
	// The NOC's find anyone and home page, and a student's traffic.
	FindAccounts(ctx context.Context, q access.FindQuery, limit int) ([]access.Found, error)
	OnlineNow(ctx context.Context) ([]access.OnlineCount, error)
	AuthSince(ctx context.Context, since int64) ([]access.AuthCount, error)
	OnlinePerHour(ctx context.Context, from, now int64, hours int) ([]access.HourCount, error)
	RefusalsPerHour(ctx context.Context, from int64, hours int) ([]access.HourCount, error)
	UsageDays(ctx context.Context, accountID int64, from, to string) ([]access.UsageDay, error)
	// Plans: an account's plan status, the traffic by plan (plan.go).
	planStore

	CyclesByAccount(ctx context.Context, accountID int64, limit int) ([]access.Cycle, error)
	// NextPlan is the plan the account's next cycle in area runs under (its
	// choice, or the default): its fee is what opens the area.
	NextPlan(ctx context.Context, accountID int64, area access.Area) (access.Plan, error)
	LedgerByAccount(ctx context.Context, accountID int64, limit int) ([]access.LedgerEntry, error)

	DevicesByAccount(ctx context.Context, accountID int64) ([]access.Device, error)
	BindDevice(ctx context.Context, accountID int64, mac string, class access.Class, actor, reason string, maxBound int) (access.Device, error)
	UnbindDevice(ctx context.Context, accountID int64, mac, actor, reason string) (access.Device, error)
	SessionsByAccount(ctx context.Context, accountID int64, liveOnly bool) ([]access.Session, error)
	SessionByID(ctx context.Context, id int64) (access.Session, error)
	LiveSessionsByMAC(ctx context.Context, mac string) ([]access.Session, error)

	AccountRefusals(ctx context.Context, accountID int64, username string, limit int) ([]access.AuthLogEntry, error)
	PortalNodes(ctx context.Context) ([]access.PortalNode, error)
	NASActivities(ctx context.Context) ([]access.NASActivity, error)
	AuditLog(ctx context.Context, target string, limit int) ([]access.AuditEntry, error)
	// Health checks that the database answers (the /healthz probe).
	Health(ctx context.Context) error
	// The desk's account operations, audited by the store.
	ResetPassword(ctx context.Context, actor, username, hash, reason string) error
	SetDisabled(ctx context.Context, actor, username string, disabled bool, reason string) error
	// The NOC import page: internal/roster's importers, and one audit
	// entry for an applied roster.
	roster.Store
	roster.DeviceStore
	Audit(ctx context.Context, actor, action, target, reason, detail string) error
	// TraceSessions answers the trace page and API (who held an address
	// or MAC at a moment or in an interval).
	TraceSessions(ctx context.Context, q access.TraceQuery) ([]access.TraceRow, error)

	// The failed-login buckets, shared with every node and with the
	// portal (internal/ratelimit).
	ratelimit.Shared
}

// Disconnector ends a session at its BAS with a Disconnect-Request (RFC
// 5176), audits it (who, why, outcome) and closes the session row on ACK.
// cmd passes the radius package's Disconnector.
type Disconnector interface {
	DisconnectSession(ctx context.Context, sessionID int64, actor, reason string) (access.DisconnectOutcome, error)
}

// PasswordChanger changes a local account's password (identity.Local).
type PasswordChanger interface {
	ChangePassword(ctx context.Context, user, oldPassword, newPassword string) error
}

// Money records an operator's recharge or adjustment: billing's ledger
// operations (billing.Service has these methods), audited there. reference
// makes a change happen once: a form submitted twice carries the same one,
// and the second gets an error wrapping access.ErrDuplicate.
type Money interface {
	Recharge(ctx context.Context, username string, amount access.Fen, actor, reference, reason string) (access.LedgerEntry, error)
	Adjust(ctx context.Context, username string, amount access.Fen, actor, reference, reason string, force bool) (access.LedgerEntry, error)
}

// Deps are the service's collaborators.
type Deps struct {
	Store     Store
	Identity  identity.Authenticator
	Passwords PasswordChanger // nil with the LDAP backend: passwords are changed there
	// Disconnector is nil when RADIUS does not run in this process; kicking
	// and unbinding an online device then report that no disconnect was sent.
	Disconnector Disconnector
	Money        Money        // nil: the NOC money form says billing is not available
	Plans        Plans        // nil: no plans page, no usage on the overview
	Webhook      http.Handler // the payment platform's webhook; nil: 404
	// SSO runs single sign-on logins ([identity.sso]); nil: none.
	SSO        *sso.Client
	Now        func() time.Time
	Log        *slog.Logger
	Registerer prometheus.Registerer
}

// Service is the self-service site. It is an http.Handler.
type Service struct {
	cfg     Config
	deps    Deps
	st      Store
	log     *slog.Logger
	now     func() time.Time
	admins  map[string]bool
	keys    sessionKeys
	limits  *loginLimits
	pages   map[string]*template.Template
	metrics *metrics
	handler http.Handler
}

// Errors of New.
var (
	ErrNoStore    = errors.New("selfservice: Deps.Store is required")
	ErrNoIdentity = errors.New("selfservice: Deps.Identity is required")
	ErrShortKey   = errors.New("selfservice: SessionKey must be at least 32 bytes")
)

// New builds the self-service site.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Store == nil {
		return nil, ErrNoStore
	}
	if deps.Identity == nil {
		return nil, ErrNoIdentity
	}
	if deps.SSO != nil && len(deps.SSO.Providers()) > 0 {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("selfservice: single sign-on needs an absolute http(s) public URL, got %q", cfg.PublicURL)
		}
	}
	if cfg.NoPasswordLogin && len(deps.SSO.Providers()) == 0 {
		return nil, errors.New("selfservice: no password login and no single sign-on provider: nobody could log in")
	}
	if len(cfg.SessionKey) == 0 {
		cfg.SessionKey = make([]byte, 32)
		_, _ = rand.Read(cfg.SessionKey)
	}
	if len(cfg.SessionKey) < 32 {
		return nil, ErrShortKey
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 30 * time.Minute
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = 12 * time.Hour
	}
	if cfg.NodeStale <= 0 {
		cfg.NodeStale = 2 * time.Minute
	}
	if cfg.Location == nil {
		cfg.Location = access.DefaultLocation()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, deps: deps, st: deps.Store, log: deps.Log, now: deps.Now,
		admins: map[string]bool{}, keys: deriveKeys(cfg.SessionKey)}
	for _, a := range cfg.Admins {
		s.admins[a] = true
	}
	if cfg.AccountLimit == (RateLimit{}) {
		cfg.AccountLimit = DefaultAccountLimit
	}
	if cfg.SourceLimit == (RateLimit{}) {
		cfg.SourceLimit = DefaultSourceLimit
	}
	s.cfg = cfg
	s.limits = newLoginLimits(cfg.AccountLimit, cfg.SourceLimit, deps.Now, deps.Store, deps.Log)
	var err error
	if s.pages, err = parsePages(s.funcs()); err != nil {
		return nil, err
	}
	if s.metrics, err = newMetrics(deps.Registerer); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// isAdmin reports whether username may use the NOC pages.
func (s *Service) isAdmin(username string) bool { return s.admins[username] }

// bindLimit is how many MACs an account may bind: the smallest MaxBound of
// the areas with seamless login (bindings are per account, not per area).
func (s *Service) bindLimit() int {
	limit := 0
	for _, a := range s.cfg.Areas {
		if a.Seamless && a.MaxBound > 0 && (limit == 0 || a.MaxBound < limit) {
			limit = a.MaxBound
		}
	}
	if limit == 0 {
		limit = access.DefaultMaxBound
	}
	return limit
}
