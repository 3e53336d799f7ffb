package portal

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/logintoken"
	"github.com/campusnet/campusnet/internal/ratelimit"
	"github.com/campusnet/campusnet/internal/sso"
	"github.com/campusnet/campusnet/portal/portalproto"
)

// Sentinel errors.
var (
	// ErrConfig: the Config cannot be used.
	ErrConfig = errors.New("portal: bad configuration")
)

// Config is the portal's configuration.
type Config struct {
	Organisation string // "某某大学"
	// Helpdesk names the service desk (place, phone, hours) at the foot of
	// every page and where a page sends someone there; "" shows nothing.
	Helpdesk string
	NodeID   string // the X in "网络信息中心-X"
	Version  string // the binary's version, for the heartbeat
	// PublicURL is the login page's address as people reach it
	// ("http://1.1.1.1/"); probes are redirected there.
	PublicURL string
	// Address is the listen address reported in the heartbeat.
	Address string
	NAS     []access.BAS
	Areas   []access.Area
	// TokenTTL is the life of a one-time login token (default 60 s).
	TokenTTL time.Duration
	// BASTimeout bounds one Portal protocol exchange (default 5 s).
	BASTimeout time.Duration
	// LoginWait bounds how long a login waits for its password check (the
	// hashing stage's queue, or the directory's connections) before the
	// busy page (default DefaultLoginWait).
	LoginWait time.Duration
	// SessionTimeout is RADIUS's Session-Timeout, for the RFC 8908
	// seconds-remaining; 0 = none.
	SessionTimeout time.Duration
	// PasswordResetURL, SelfServiceURL and PaymentURL are the links on
	// refusal pages: forgotten password, unbinding a device, recharging.
	PasswordResetURL string
	SelfServiceURL   string
	PaymentURL       string
	// TrailingX is [identity] trailing_x, so that the pages state the
	// initial-password rule of an id card ending in X as the import
	// applies it (default "drop").
	TrailingX string
	// HeartbeatInterval is how often the node writes its heartbeat
	// (default 15 s).
	HeartbeatInterval time.Duration
	// AccountLimit and SourceLimit bound failed logins per account and per
	// source address (zero values: see DefaultAccountLimit and
	// DefaultSourceLimit). They are per node.
	AccountLimit RateLimit
	SourceLimit  RateLimit
	// Location is the campus time zone the pages print times in ([server]
	// timezone; default access.DefaultLocation, Asia/Shanghai).
	Location *time.Location
	// NoPasswordLogin hides the password form ([identity.sso]
	// password_login = false): people log in by single sign-on only.
	NoPasswordLogin bool
	// Demo adds a "simulate a BAS redirect" link to the entry page, so one
	// browser on loopback can try the flow as different users' addresses.
	Demo bool
}

// RateLimit is a token bucket: Burst failures at once, then one every Every.
// Burst < 0 turns the limit off. Self-service uses the same limiter.
type RateLimit = ratelimit.Rule

// Default rate limits: ten wrong passwords for an account, then one a
// minute; thirty from one address, then one every ten seconds.
var (
	DefaultAccountLimit = ratelimit.DefaultAccount
	DefaultSourceLimit  = ratelimit.DefaultSource
)

// Store is what the portal reads and writes (internal/store implements it).
type Store interface {
	AccountByUsername(ctx context.Context, username string) (access.Account, error)
	// EnsureAccount creates a directory person's account at their first login.
	EnsureAccount(ctx context.Context, a access.Account) (access.Account, bool, error)
	CreateLoginToken(ctx context.Context, t access.LoginToken) (int64, error)
	AuthLogByToken(ctx context.Context, tokenID int64) (access.AuthLogEntry, error)
	RememberDevice(ctx context.Context, accountID int64, mac string, class access.Class, signals string) error
	DeviceClassOverride(ctx context.Context, accountID int64, mac string) (class access.Class, found bool, err error)
	ActiveCycle(ctx context.Context, accountID int64, area string) (access.Cycle, error)
	// NextPlan is the plan the account's next cycle in area runs under (its
	// choice, or the default): its fee is what opens the area.
	NextPlan(ctx context.Context, accountID int64, area access.Area) (access.Plan, error)
	LiveSessionByIP(ctx context.Context, ip string) (access.Session, error)
	HeartbeatNode(ctx context.Context, n access.PortalNode) error
	// StopNode records that the node stopped cleanly (campusnet nodes and
	// the NOC page show it stopped, not stale).
	StopNode(ctx context.Context, nodeID string) (bool, error)
	// Health checks that the database answers (the /healthz probe).
	Health(ctx context.Context) error
	PurgeLoginTokens(ctx context.Context, expiredBefore time.Time) (int64, error)
	// PurgeSSOStates deletes single sign-on states that expired.
	PurgeSSOStates(ctx context.Context, expiredBefore time.Time) (int64, error)
	// The addresses a BAS logged out (NTF_LOGOUT), for every node's status page.
	RecordKick(ctx context.Context, ip, nas string, at time.Time) error
	KickByIP(ctx context.Context, ip string, since time.Time) (nas string, at time.Time, found bool, err error)
	ForgetKick(ctx context.Context, ip string) error
	PurgeKicks(ctx context.Context, before time.Time) (int64, error)
	// The failed-login buckets, shared with every node and with the
	// self-service site (internal/ratelimit).
	ratelimit.Shared
	// An account's plan, allowance and packs (plan.go).
	planStore
}

// Deps are the portal's collaborators.
type Deps struct {
	Store Store
	// Auth checks passwords (unified identity: local or LDAP).
	Auth identity.Authenticator
	// Local, when the local backend is in use, changes initial passwords;
	// nil with LDAP (people change them at the directory's site).
	Local    *identity.Local
	TokenKey logintoken.Key
	// SSO runs single sign-on logins ([identity.sso]); nil: none.
	SSO     *sso.Client
	Now     func() time.Time      // nil: time.Now
	Log     *slog.Logger          // nil: discard
	Metrics prometheus.Registerer // nil: not registered
}

// Portal is the portal web service of one node. It is an http.Handler.
type Portal struct {
	cfg      Config
	st       Store
	auth     identity.Authenticator
	local    *identity.Local
	sso      *sso.Client
	tokenKey logintoken.Key
	formKey  []byte // CSRF tokens and logout tickets
	now      func() time.Time
	log      *slog.Logger
	m        *metrics
	public   *url.URL
	started  time.Time

	pages   map[string]*template.Template
	nas     []*nasClient
	byName  map[string]*nasClient
	areas   map[string]access.Area
	handler http.Handler

	accountLimit *ratelimit.Limiter
	sourceLimit  *ratelimit.Limiter
	counts       *recentCounts

	notify *portalproto.NotifyServer

	mu     sync.Mutex
	closed bool
}

// nasClient is a NAS and its Portal protocol client (nil when the NAS has
// no portal_addr).
type nasClient struct {
	access.BAS
	client *portalproto.Client
}

// New checks cfg and opens one Portal protocol client per NAS.
func New(cfg Config, deps Deps) (*Portal, error) {
	if deps.Store == nil || deps.Auth == nil {
		return nil, fmt.Errorf("%w: a store and an authenticator are required", ErrConfig)
	}
	if cfg.NodeID == "" {
		return nil, fmt.Errorf("%w: empty node id", ErrConfig)
	}
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: public URL %q is not an absolute http(s) URL", ErrConfig, cfg.PublicURL)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = access.DefaultTokenTTL
	}
	if cfg.BASTimeout <= 0 {
		cfg.BASTimeout = portalproto.DefaultTimeout
	}
	if cfg.LoginWait <= 0 {
		cfg.LoginWait = DefaultLoginWait
	}
	if cfg.Location == nil {
		cfg.Location = access.DefaultLocation()
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 15 * time.Second
	}
	if cfg.AccountLimit == (RateLimit{}) {
		cfg.AccountLimit = DefaultAccountLimit
	}
	if cfg.SourceLimit == (RateLimit{}) {
		cfg.SourceLimit = DefaultSourceLimit
	}
	if cfg.Organisation == "" {
		cfg.Organisation = "某某大学"
	}
	p := &Portal{cfg: cfg, st: deps.Store, auth: deps.Auth, local: deps.Local, sso: deps.SSO, tokenKey: deps.TokenKey,
		now: deps.Now, log: deps.Log, public: u, byName: map[string]*nasClient{}, areas: map[string]access.Area{}}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if cfg.NoPasswordLogin && len(deps.SSO.Providers()) == 0 {
		return nil, fmt.Errorf("%w: no password login and no single sign-on provider: nobody could log in", ErrConfig)
	}
	p.started = p.now()
	p.formKey = deriveKey(deps.TokenKey, "campusnet portal forms v1")
	for _, a := range cfg.Areas {
		p.areas[a.Name] = a
	}
	for _, n := range cfg.NAS {
		nc := &nasClient{BAS: n}
		if n.PortalAddr != "" {
			style, err := portalproto.ParseIPv6Style(n.PortalIPv6)
			if err != nil {
				p.Close()
				return nil, fmt.Errorf("%w: NAS %s: %v", ErrConfig, n.Name, err)
			}
			c, err := portalproto.NewClient(portalproto.ClientConfig{
				BASAddr: n.PortalAddr, Version: portalproto.Version(n.PortalVersion), Secret: n.PortalSecret, Auth: n.PortalAuth,
				Timeout: cfg.BASTimeout, BASIP: n.IP, IPv6Style: style, Logger: p.log.With("nas", n.Name),
			})
			if err != nil {
				p.Close()
				return nil, fmt.Errorf("%w: NAS %s: %v", ErrConfig, n.Name, err)
			}
			nc.client = c
		}
		p.nas = append(p.nas, nc)
		p.byName[strings.ToLower(n.Name)] = nc
	}
	p.accountLimit = ratelimit.New(cfg.AccountLimit, p.now).Share(deps.Store, "account", p.log)
	p.sourceLimit = ratelimit.New(cfg.SourceLimit, p.now).Share(deps.Store, "source", p.log)
	p.counts = newRecentCounts(p.now)
	p.m = newMetrics(deps.Metrics)
	p.pages = parsePages()
	p.handler = p.routes()
	return p, nil
}

// ServeHTTP serves the portal's pages.
func (p *Portal) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.handler.ServeHTTP(w, r) }

// Close closes the Portal protocol clients.
func (p *Portal) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	for _, n := range p.nas {
		if n.client != nil {
			n.client.Close()
		}
	}
	return nil
}

// nasFor finds the BAS whose user subnets hold ip.
func (p *Portal) nasFor(ip netip.Addr) *nasClient {
	ip = ip.Unmap()
	for _, n := range p.nas {
		for _, s := range n.UserSubnets {
			if s.Contains(ip) {
				return n
			}
		}
	}
	return nil
}

// nasByIP finds the BAS with that address.
func (p *Portal) nasByIP(ip netip.Addr) *nasClient {
	ip = ip.Unmap()
	for _, n := range p.nas {
		if n.IP == ip {
			return n
		}
	}
	return nil
}
