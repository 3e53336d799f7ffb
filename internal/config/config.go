package config

import (
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // [server] timezone loads on a machine without /usr/share/zoneinfo
	"unicode"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/sso"
	"github.com/campusnet/campusnet/portal/portalproto"
	"github.com/campusnet/campusnet/radius/radiusproto"
)

//go:embed default.toml
var defaultTOML string

// Default returns the embedded default file's text (what `serve` runs with no --config).
func Default() string { return defaultTOML }

// Config is the whole file, decoded and checked.
type Config struct {
	Server      Server      `toml:"server"`
	Portal      Portal      `toml:"portal"`
	Radius      Radius      `toml:"radius"`
	SelfService SelfService `toml:"selfservice"`
	Ops         Ops         `toml:"ops"`
	Identity    Identity    `toml:"identity"`
	Billing     Billing     `toml:"billing"`
	Retention   Retention   `toml:"retention"`
	Notify      Notify      `toml:"notify"`
	Areas       []Area      `toml:"area"`
	Plans       []Plan      `toml:"plan"`
	Packs       []Pack      `toml:"pack"`
	NAS         []NAS       `toml:"nas"`

	// Source is the file the configuration came from ("(embedded default)" otherwise).
	Source string `toml:"-"`
}

// Server is [server].
type Server struct {
	NodeID       string `toml:"node_id"`
	Organisation string `toml:"organisation"`
	// Helpdesk is how a student reaches the network centre's service desk
	// (place, phone, hours), shown at the foot of every portal and
	// self-service page and where a page sends someone to the desk. One
	// line, at most 200 characters; empty shows nothing.
	Helpdesk string `toml:"helpdesk"`
	Database string `toml:"database"`
	// TokenKey (base64, 32 bytes) derives the portal's one-time login tokens.
	// Every portal and RADIUS node sharing a database needs the same key;
	// empty means a random key per process, which suits one node.
	TokenKey string `toml:"token_key"`
	// Procs is how many cores campusnet's goroutines run on at once
	// (GOMAXPROCS). 0: all it may use, less one when PostgreSQL runs on
	// this machine (cmd/campusnet/procs.go). The GOMAXPROCS environment
	// variable, when set, wins.
	Procs int `toml:"procs"`
	// Timezone is the campus time zone, an IANA name (default
	// "Asia/Shanghai"): the zone every page and command prints times in
	// and reads times typed by an operator in. The zone database is
	// compiled in, so it works on machines without zoneinfo.
	Timezone string `toml:"timezone"`
	// Location is Timezone loaded.
	Location *time.Location `toml:"-"`
}

// Portal is [portal].
type Portal struct {
	Listen string `toml:"listen"`
	// ListenIPv6 is a second plain-HTTP listener for IPv6 users
	// ("[2001:db8::1]:80"; "" none). One dual-stack socket does too:
	// listen = "[::]:80" takes IPv4 and IPv6 on Linux.
	ListenIPv6   string `toml:"listen_ipv6"`
	PublicURL    string `toml:"public_url"`
	NotifyListen string `toml:"notify_listen"`
	// TLSListen, TLSCert and TLSKey add an HTTPS listener beside the plain one.
	TLSListen string `toml:"tls_listen"`
	TLSCert   string `toml:"tls_cert"`
	TLSKey    string `toml:"tls_key"`
	// PasswordResetURL is where "forgot password" sends a person (unified identity's reset page).
	PasswordResetURL string `toml:"password_reset_url"`
	// SelfServiceURL is the self-service address shown on refusal pages.
	SelfServiceURL string `toml:"selfservice_url"`
	// BASTimeout bounds one Portal protocol exchange with a BAS.
	BASTimeout Duration `toml:"bas_timeout"`
	// TokenTTL is the life of the one-time login token.
	TokenTTL Duration `toml:"token_ttl"`
}

// Radius is [radius].
type Radius struct {
	AuthListen      string   `toml:"auth_listen"`
	AcctListen      string   `toml:"acct_listen"`
	InterimInterval Duration `toml:"interim_interval"`
	ReserveTimeout  Duration `toml:"reserve_timeout"`
	SessionTimeout  Duration `toml:"session_timeout"` // Session-Timeout in Access-Accept; 0 = none
	CoATimeout      Duration `toml:"coa_timeout"`
	CoATries        int      `toml:"coa_tries"`
	// BatchSize bounds the requests decided in one database transaction
	// (group commit; 1 = a transaction per request; default 64) and
	// BatchWorkers the transactions in flight at once (default 1).
	BatchSize    int `toml:"batch_size"`
	BatchWorkers int `toml:"batch_workers"`
	// BatchGather bounds how long a batch waits for the requesters of the
	// last one to come back (default 2ms; "0s" turns it off).
	BatchGather Duration `toml:"batch_gather"`
	// RetryWindow is how long the BASes wait for the answer to one
	// Access-Request, retransmissions included (timeout × tries; default
	// 9s): a password login that cannot be checked within it gets no
	// answer instead of a Reject.
	RetryWindow Duration `toml:"retry_window"`
}

// SelfService is [selfservice].
type SelfService struct {
	Listen string `toml:"listen"`
	// ListenIPv6 is a second listener for IPv6 users, as [portal]'s.
	ListenIPv6    string   `toml:"listen_ipv6"`
	PaymentSecret string   `toml:"payment_secret"`
	PaymentURL    string   `toml:"payment_url"`
	Admins        []string `toml:"admins"`
	TLSListen     string   `toml:"tls_listen"`
	TLSCert       string   `toml:"tls_cert"`
	TLSKey        string   `toml:"tls_key"`
	// PublicURL is the HTTPS address people use for self-service
	// ("https://selfaaa.example.edu/"): with tls_listen, the plain
	// listener redirects there, never to the request's Host header.
	// Default: portal.selfservice_url when it is https, else tls_listen's
	// own address (which then must name a host, not 0.0.0.0).
	PublicURL string `toml:"public_url"`
	// MaxRecharge bounds one webhook recharge, in yuan (default 2000.00).
	MaxRecharge    float64 `toml:"max_recharge"`
	MaxRechargeFen int64   `toml:"-"`
	// SecureCookies marks session cookies Secure on plain-HTTP requests
	// too: set it when a load balancer terminates TLS in front of
	// campusnet (requests over tls_listen always get Secure cookies).
	SecureCookies bool `toml:"secure_cookies"`
	// TrustedProxies are the peers (CIDR prefixes) whose X-Forwarded-For
	// names the client: the proxy in front of self-service (deploy/README,
	// nginx). Default loopback only; [] trusts nobody. The client address
	// decides the per-address login limit and what the logs record.
	TrustedProxies       []string       `toml:"trusted_proxies"`
	TrustedProxyPrefixes []netip.Prefix `toml:"-"`
}

// Ops is [ops].
type Ops struct {
	Listen string `toml:"listen"`
}

// Identity is [identity].
type Identity struct {
	Backend string `toml:"backend"` // "local" or "ldap"
	LDAP    LDAP   `toml:"ldap"`
	SSO     SSO    `toml:"sso"`
	// TrailingX says what the initial password does with an id-card number
	// ending in X: "drop" (default: take the six characters before it),
	// "keep" (the last six as written, X upper-case) or "zero" (X replaced by 0).
	TrailingX string `toml:"trailing_x"`
	// HashWorkers is how many passwords the local backend hashes at once,
	// in its worker process at the lowest CPU priority (0: one per core).
	HashWorkers int `toml:"hash_workers"`
}

// SSO is [identity.sso]: single sign-on providers at the portal and in
// self-service (internal/sso).
type SSO struct {
	// PasswordLogin keeps the password form beside the single sign-on
	// buttons (default true); false: single sign-on only.
	PasswordLogin *bool `toml:"password_login"`
	// StateTTL is how long a person may take at the provider (default 10m).
	StateTTL Duration `toml:"state_ttl"`
	// Timeout bounds each request to a provider (default 5s).
	Timeout   Duration      `toml:"timeout"`
	Providers []SSOProvider `toml:"provider"`
}

// SSOProvider is one [[identity.sso.provider]].
type SSOProvider struct {
	Name          string `toml:"name"`
	Kind          string `toml:"kind"` // "cas" or "oidc"
	DisplayName   string `toml:"display_name"`
	DisplayNameEN string `toml:"display_name_en"`
	// CAS
	ServerURL        string `toml:"server_url"`
	Version          int    `toml:"version"`
	AccountAttribute string `toml:"account_attribute"`
	NameAttribute    string `toml:"name_attribute"`
	RoleAttribute    string `toml:"role_attribute"`
	// OIDC
	Issuer       string   `toml:"issuer"`
	ClientID     string   `toml:"client_id"`
	ClientSecret string   `toml:"client_secret"`
	Scopes       []string `toml:"scopes"`
	AccountClaim string   `toml:"account_claim"`
	NameClaim    string   `toml:"name_claim"`
	RoleClaim    string   `toml:"role_claim"`
	PKCE         *bool    `toml:"pkce"`
}

// PasswordLoginOn reports whether the password form is shown.
func (s SSO) PasswordLoginOn() bool { return s.PasswordLogin == nil || *s.PasswordLogin }

// SSOConfig is [identity.sso] as internal/sso takes it.
func (c *Config) SSOConfig() sso.Config {
	out := sso.Config{StateTTL: c.Identity.SSO.StateTTL.Duration, Timeout: c.Identity.SSO.Timeout.Duration}
	for _, p := range c.Identity.SSO.Providers {
		out.Providers = append(out.Providers, p.provider())
	}
	return out
}

func (p SSOProvider) provider() sso.Provider {
	return sso.Provider{Name: p.Name, Kind: p.Kind, DisplayZH: p.DisplayName, DisplayEN: p.DisplayNameEN,
		ServerURL: p.ServerURL, Version: p.Version, AccountAttribute: p.AccountAttribute, NameAttribute: p.NameAttribute, RoleAttribute: p.RoleAttribute,
		Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret, Scopes: p.Scopes,
		AccountClaim: p.AccountClaim, NameClaim: p.NameClaim, RoleClaim: p.RoleClaim, PKCE: p.PKCE == nil || *p.PKCE}
}

// LDAP is [identity.ldap].
type LDAP struct {
	URL                string   `toml:"url"`
	StartTLS           bool     `toml:"start_tls"`
	InsecureSkipVerify bool     `toml:"insecure_skip_verify"`
	CAFile             string   `toml:"ca_file"`
	BindDN             string   `toml:"bind_dn"`
	BindPassword       string   `toml:"bind_password"`
	BaseDN             string   `toml:"base_dn"`
	UserFilter         string   `toml:"user_filter"`
	IDAttribute        string   `toml:"id_attribute"`
	NameAttribute      string   `toml:"name_attribute"`
	RoleAttribute      string   `toml:"role_attribute"`
	DefaultRole        string   `toml:"default_role"`
	Timeout            Duration `toml:"timeout"`
}

// Billing is [billing].
type Billing struct {
	SettleInterval Duration `toml:"settle_interval"` // default 1m
	// MeterInterval is how often serve adds accounting's traffic to the
	// cycles of plans with an allowance and applies what crossing it does
	// (default 30s; docs/plans.md).
	MeterInterval Duration `toml:"meter_interval"`
	// LowBalanceNotice is how long before a cycle's settlement a student
	// whose balance will not cover the next cycle is notified (default 72h).
	LowBalanceNotice Duration `toml:"low_balance_notice"`
}

// Notify is [notify]: the outbound webhook of students' events (allowance
// at 80 % and 100 %, low balance, arrears, a device kicked or unbound, a
// password changed), which a campus connects to WeChat Work, SMS or e-mail.
type Notify struct {
	// WebhookURL receives each event as a signed JSON POST; "" sends none
	// (events are still recorded).
	WebhookURL string `toml:"webhook_url"`
	// Secret is the HMAC-SHA256 key of the X-Campusnet-Signature header,
	// as the payment webhook's. Required with webhook_url.
	Secret string `toml:"secret"`
	// Timeout bounds one delivery attempt (default 10s).
	Timeout Duration `toml:"timeout"`
	// MaxAttempts is how many times an event is tried before it is left
	// as failed (default 12, backing off from 10 s to an hour).
	MaxAttempts int `toml:"max_attempts"`
}

// Plan is one [[plan]]: a cycle fee with optional traffic terms
// (access.Plan, docs/plans.md).
type Plan struct {
	Name          string   `toml:"name"`
	DisplayName   string   `toml:"display_name"`
	DisplayNameEN string   `toml:"display_name_en"`
	Fee           float64  `toml:"fee"`   // yuan per cycle
	Cycle         Duration `toml:"cycle"` // default 720h
	// AllowanceGB is the counted traffic per cycle (GB = 2^30 bytes); 0
	// is a flat plan.
	AllowanceGB float64 `toml:"allowance_gb"`
	// Over is what passing the allowance does: "slow", "block" or "per_gb".
	Over         string  `toml:"over"`
	SlowUpKbps   int     `toml:"slow_up_kbps"`
	SlowDownKbps int     `toml:"slow_down_kbps"`
	PerGB        float64 `toml:"per_gb"` // yuan per GB begun past the allowance
	// CountIPv6 counts IPv6 traffic against the allowance (default false:
	// IPv6 is free).
	CountIPv6 bool     `toml:"count_ipv6"`
	Packs     []string `toml:"packs"` // names of [[pack]]s students on this plan may buy

	FeeFen, PerGBFen int64 `toml:"-"`
	AllowanceBytes   int64 `toml:"-"`
}

// Pack is one [[pack]]: extra traffic bought from the balance.
type Pack struct {
	Name          string  `toml:"name"`
	DisplayName   string  `toml:"display_name"`
	DisplayNameEN string  `toml:"display_name_en"`
	GB            float64 `toml:"gb"`
	Price         float64 `toml:"price"` // yuan
	// Lasts is how long a bought pack stays usable; "" or "cycle" means
	// until the end of the cycle it was bought in.
	Lasts string `toml:"lasts"`

	Bytes, PriceFen int64         `toml:"-"`
	LastsFor        time.Duration `toml:"-"`
}

// Retention is [retention]: how long closed sessions and the
// authentication log are kept (the ledger, cycles and the audit log are
// kept for ever).
type Retention struct {
	// PeriodDays is how many days a closed session (from its stop) and an
	// authentication-log row are kept (default 400; 0 keeps them for ever).
	// Under MinRetentionDays it is refused unless AcceptShortPeriod is set.
	PeriodDays int `toml:"period_days"`
	// AcceptShortPeriod says the operator accepts a period under
	// MinRetentionDays (a test install, or logs kept elsewhere).
	AcceptShortPeriod bool `toml:"accept_short_period"`
	// PurgeInterval is how often a node purges (default 1h; one node at a
	// time purges, the others skip).
	PurgeInterval Duration `toml:"purge_interval"`
	// PurgeBatch is the rows one delete statement removes (default 2000).
	PurgeBatch int `toml:"purge_batch"`
	// PurgePause is waited between two batches (default DefaultPurgePause,
	// none).
	PurgePause Duration `toml:"purge_pause"`
}

// Period is the retention period (0: for ever).
func (r Retention) Period() time.Duration { return time.Duration(r.PeriodDays) * 24 * time.Hour }

// DefaultPurgePause is [retention] purge_pause when absent: none. A pause
// between batches was measured (deploy/bench/README.md, History) and did
// not lower the logins' p99 during a purge, which comes from their commits
// waiting on the WAL flush the deletes fill, not from CPU; it only made the
// purge five times longer.
const DefaultPurgePause time.Duration = 0

// DefaultRetentionDays is [retention] period_days when absent: 400 days,
// a year and a semester.
const DefaultRetentionDays = 400

// MinRetentionDays is the shortest period accepted without
// accept_short_period: six months and a little, since China's Cybersecurity
// Law (art. 21) wants network logs kept for no less than six months.
const MinRetentionDays = 180

// Area is one [[area]].
type Area struct {
	Name string `toml:"name"`
	// DisplayName and DisplayNameEN are the area's name on pages, in
	// Chinese and in English (default: Name).
	DisplayName   string   `toml:"display_name"`
	DisplayNameEN string   `toml:"display_name_en"`
	MaxPC         int      `toml:"max_pc"`     // 0 = no limit
	MaxMobile     int      `toml:"max_mobile"` // 0 = no limit
	OnLimit       string   `toml:"on_limit"`   // "reject" or "replace_oldest"
	Fee           float64  `toml:"fee"`        // yuan per cycle; 0 = free
	Cycle         Duration `toml:"cycle"`
	Seamless      bool     `toml:"seamless"`
	Roles         []string `toml:"roles"`
	// UnknownAs is the class a device of unknown class counts as (default "pc").
	UnknownAs string `toml:"unknown_as"`
	// MaxBound caps the MACs one account may bind for seamless login here (default 8).
	MaxBound int `toml:"max_bound"`
	// RateUpKbps and RateDownKbps limit each session's upload and download
	// (kbit/s; 0 = no limit), sent in Access-Accept as the vendor
	// attributes of the NAS's vendor.
	RateUpKbps   int `toml:"rate_up_kbps"`
	RateDownKbps int `toml:"rate_down_kbps"`
	// Plans names the [[plan]]s students may choose here, the default
	// first; when set, fee and cycle must be left out (the plans carry
	// them). Empty: one flat plan of fee and cycle, the seed's rule.
	Plans []string `toml:"plans"`
	// Arrears is what a login whose balance does not cover the cycle gets:
	// "reject" (default) or "garden" (accepted into the restricted profile
	// of its BAS's garden_filter_id).
	Arrears string `toml:"arrears"`

	FeeFen int64 `toml:"-"`
	// plans are Plans resolved, in order.
	plans []access.Plan
}

// Billed reports whether the area charges a fee.
func (a Area) Billed() bool { return a.FeeFen > 0 }

// Limited reports whether the area limits devices.
func (a Area) Limited() bool { return a.MaxPC > 0 || a.MaxMobile > 0 }

// NAS is one [[nas]]: a BAS/BRAS/AC.
type NAS struct {
	Name                        string `toml:"name"`
	IP                          string `toml:"ip"`
	Secret                      string `toml:"secret"`
	Area                        string `toml:"area"`
	RequireMessageAuthenticator *bool  `toml:"require_message_authenticator"`
	CoAPort                     int    `toml:"coa_port"`
	PortalAddr                  string `toml:"portal_addr"`
	PortalVersion               int    `toml:"portal_version"`
	PortalSecret                string `toml:"portal_secret"`
	PortalAuth                  string `toml:"portal_auth"`
	// PortalIPv6 is the attribute that carries a user's IPv6 address in
	// the Portal protocol: "huawei" (User-IPv6, 0xF1) or "h3c"
	// (UserIPv6-List, 0x65); default "h3c" for vendor = "h3c", else
	// "huawei".
	PortalIPv6  string   `toml:"portal_ipv6"`
	UserSubnets []string `toml:"user_subnets"`
	// Vendor says which vendor attributes the BAS understands for rate
	// limits: "huawei", "h3c", or "" (none sent).
	Vendor string `toml:"vendor"`
	// GardenFilterID is the Filter-Id of this BAS's restricted profile
	// (walled garden: portal, self-service and the payment site only), the
	// user group (Huawei) or user profile (H3C) configured there.
	GardenFilterID string `toml:"garden_filter_id"`
	// SlowFilterID, when set, is sent as Filter-Id with a plan's slow rate.
	SlowFilterID string `toml:"slow_filter_id"`

	Addr                         netip.Addr     `toml:"-"`
	Subnets                      []netip.Prefix `toml:"-"`
	MessageAuthenticatorRequired bool           `toml:"-"`
}

// Duration is a Go duration string in the file ("60s", "720h").
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("bad duration %q (write it like \"60s\" or \"720h\")", string(b))
	}
	if v < 0 {
		return fmt.Errorf("bad duration %q: negative", string(b))
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Error is a configuration error: the file, the key and the reason, on one line.
type Error struct {
	File, Key, Reason string
}

func (e *Error) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%s: %s", e.File, e.Reason)
	}
	return fmt.Sprintf("%s: %s: %s", e.File, e.Key, e.Reason)
}

// ErrConfig is matched by every *Error.
var ErrConfig = errors.New("config: invalid configuration")

// Is makes errors.Is(err, ErrConfig) true.
func (e *Error) Is(target error) bool { return target == ErrConfig }

// Load reads the file at path, or the embedded default when path is "".
func Load(path string) (*Config, error) {
	if path == "" {
		return Parse(defaultTOML, "(embedded default)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Reason: fmt.Sprintf("cannot read: %v", errors.Unwrap(err))}
	}
	return Parse(string(b), path)
}

// Parse decodes and checks a configuration's text; name is used in errors.
func Parse(text, name string) (*Config, error) {
	var c Config
	md, err := toml.Decode(text, &c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			key := ""
			if pe.LastKey != "" {
				key = pe.LastKey
			}
			msg := strings.TrimPrefix(pe.Message, "toml: ")
			if pe.Position.Line > 0 {
				return nil, &Error{File: fmt.Sprintf("%s:%d", name, pe.Position.Line), Key: key, Reason: msg}
			}
			return nil, &Error{File: name, Key: key, Reason: msg}
		}
		return nil, &Error{File: name, Reason: oneLine(err.Error())}
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return nil, &Error{File: name, Key: keys[0], Reason: "unknown key (check the spelling against deploy/campusnet.example.toml)"}
	}
	c.Source = name
	// Here rather than in fill: only an absent key gets the default, since
	// batch_gather = "0s" means off.
	if !md.IsDefined("radius", "batch_gather") {
		c.Radius.BatchGather.Duration = access.DefaultBatchGather
	}
	if !md.IsDefined("retention", "period_days") {
		c.Retention.PeriodDays = DefaultRetentionDays
	}
	if !md.IsDefined("retention", "purge_pause") {
		c.Retention.PurgePause.Duration = DefaultPurgePause
	}
	if !md.IsDefined("selfservice", "trusted_proxies") {
		c.SelfService.TrustedProxies = []string{"127.0.0.0/8", "::1/128"}
	}
	if !md.IsDefined("area") {
		def, _ := Parse(defaultTOML, "(embedded default)")
		if def != nil {
			c.Areas = def.Areas
			// The default areas' plans come with them.
			if !md.IsDefined("plan") && !md.IsDefined("pack") {
				c.Plans, c.Packs = def.Plans, def.Packs
			}
		}
	}
	if err := c.fill(name); err != nil {
		return nil, err
	}
	return &c, nil
}

// planName is the rule of plan and pack names: they appear in the ledger,
// the audit log and form values.
func planName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// displayNames checks a pair of display names: at most 64 characters, no
// control characters.
func displayNames(names ...string) error {
	for _, v := range names {
		if utf8.RuneCountInString(v) > 64 || strings.ContainsFunc(v, unicode.IsControl) {
			return errors.New("at most 64 characters, no control characters")
		}
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func (c *Config) fill(file string) error {
	bad := func(key, format string, args ...any) error {
		return &Error{File: file, Key: key, Reason: fmt.Sprintf(format, args...)}
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defD := func(d *Duration, v time.Duration) {
		if d.Duration == 0 {
			d.Duration = v
		}
	}
	if c.Server.NodeID == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "1"
		}
		c.Server.NodeID = h
	}
	def(&c.Server.Organisation, "某某大学")
	c.Server.Helpdesk = strings.TrimSpace(c.Server.Helpdesk)
	if utf8.RuneCountInString(c.Server.Helpdesk) > 200 || strings.ContainsFunc(c.Server.Helpdesk, unicode.IsControl) {
		return bad("server.helpdesk", "one line of at most 200 characters")
	}
	def(&c.Server.Database, "sqlite:campusnet.db")
	c.Server.Timezone = strings.TrimSpace(c.Server.Timezone)
	def(&c.Server.Timezone, access.DefaultTimezone)
	loc, err := LoadTimezone(c.Server.Timezone)
	if err != nil {
		return bad("server.timezone", "%v", err)
	}
	c.Server.Location = loc
	def(&c.Portal.Listen, "127.0.0.1:8080")
	def(&c.Portal.NotifyListen, "127.0.0.1:50100")
	if c.Portal.PublicURL == "" {
		c.Portal.PublicURL = "http://" + c.Portal.Listen + "/"
	}
	defD(&c.Portal.BASTimeout, portalproto.DefaultTimeout)
	defD(&c.Portal.TokenTTL, access.DefaultTokenTTL)
	def(&c.Radius.AuthListen, "127.0.0.1:1812")
	def(&c.Radius.AcctListen, "127.0.0.1:1813")
	defD(&c.Radius.InterimInterval, access.DefaultInterimInterval)
	defD(&c.Radius.ReserveTimeout, access.DefaultReserveTimeout)
	defD(&c.Radius.CoATimeout, radiusproto.DefaultRetry)
	defD(&c.Radius.RetryWindow, access.DefaultRetryWindow)
	if c.Radius.CoATries == 0 {
		c.Radius.CoATries = radiusproto.DefaultMaxTries
	}
	def(&c.SelfService.Listen, "127.0.0.1:8081")
	def(&c.SelfService.PaymentSecret, "change-me")
	if c.SelfService.Admins == nil {
		c.SelfService.Admins = []string{"admin"}
	}
	c.SelfService.TrustedProxyPrefixes = nil
	for i, s := range c.SelfService.TrustedProxies {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return bad(fmt.Sprintf("selfservice.trusted_proxies[%d]", i), "%q is not a CIDR prefix like 127.0.0.1/32", s)
		}
		c.SelfService.TrustedProxyPrefixes = append(c.SelfService.TrustedProxyPrefixes, p.Masked())
	}
	if c.SelfService.MaxRecharge == 0 {
		c.SelfService.MaxRecharge = 2000
	}
	def(&c.Ops.Listen, "127.0.0.1:9100")
	def(&c.Identity.Backend, "local")
	def(&c.Identity.TrailingX, "drop")
	defD(&c.Billing.SettleInterval, access.DefaultSettleInterval)
	defD(&c.Billing.MeterInterval, 30*time.Second)
	defD(&c.Billing.LowBalanceNotice, 72*time.Hour)
	defD(&c.Notify.Timeout, 10*time.Second)
	if c.Notify.MaxAttempts == 0 {
		c.Notify.MaxAttempts = 12
	}
	if c.Notify.MaxAttempts < 1 || c.Notify.MaxAttempts > 100 {
		return bad("notify.max_attempts", "want 1 to 100, got %d", c.Notify.MaxAttempts)
	}
	if c.Notify.WebhookURL != "" {
		u, err := url.Parse(c.Notify.WebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("notify.webhook_url", "want an http:// or https:// URL, got %q", c.Notify.WebhookURL)
		}
		if c.Notify.Secret == "" {
			return bad("notify.secret", "webhook_url needs a secret: the receiver checks each event's signature with it")
		}
	}
	defD(&c.Retention.PurgeInterval, time.Hour)
	if c.Retention.PurgeBatch == 0 {
		c.Retention.PurgeBatch = 2000
	}
	switch r := c.Retention; {
	case r.PeriodDays < 0:
		return bad("retention.period_days", "%d is negative (0 keeps the history for ever)", r.PeriodDays)
	case r.PeriodDays > 0 && r.PeriodDays < MinRetentionDays && !r.AcceptShortPeriod:
		return bad("retention.period_days", "%d days is under %d: China's Cybersecurity Law (art. 21) wants network logs kept for no less than six months; set accept_short_period = true to accept a shorter period", r.PeriodDays, MinRetentionDays)
	case r.PurgeBatch < 0 || r.PurgeBatch > 100000:
		return bad("retention.purge_batch", "want 1 to 100000 rows")
	}
	if c.Portal.SelfServiceURL == "" {
		c.Portal.SelfServiceURL = "http://" + c.SelfService.Listen + "/"
	}

	if c.Server.TokenKey != "" {
		if b, err := base64.StdEncoding.DecodeString(c.Server.TokenKey); err != nil || len(b) != 32 {
			return bad("server.token_key", "want 32 random bytes in base64 (openssl rand -base64 32)")
		}
	}
	if err := checkDSN(c.Server.Database); err != nil {
		return bad("server.database", "%v", err)
	}
	if w := c.Radius.RetryWindow.Duration; w < time.Second || w > 5*time.Minute {
		return bad("radius.retry_window", "want the BASes' timeout × tries, between 1s and 5m, not %v", w)
	}
	if m := c.Billing.MeterInterval.Duration; m < 100*time.Millisecond {
		return bad("billing.meter_interval", "want at least 100ms (default 30s), not %v", m)
	}
	if c.Identity.HashWorkers < 0 || c.Identity.HashWorkers > 1024 {
		return bad("identity.hash_workers", "want 0 (one per core) or a number of hashes at once, not %d", c.Identity.HashWorkers)
	}
	if c.Server.Procs < 0 || c.Server.Procs > 4096 {
		return bad("server.procs", "want 0 (automatic) or a number of cores, not %d", c.Server.Procs)
	}
	for key, addr := range map[string]string{
		"portal.listen": c.Portal.Listen, "portal.notify_listen": c.Portal.NotifyListen,
		"radius.auth_listen": c.Radius.AuthListen, "radius.acct_listen": c.Radius.AcctListen,
		"selfservice.listen": c.SelfService.Listen, "ops.listen": c.Ops.Listen,
	} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return bad(key, "bad listen address %q: want host:port", addr)
		}
	}
	for _, t := range []struct{ key, listen, cert, keyf string }{
		{"portal", c.Portal.TLSListen, c.Portal.TLSCert, c.Portal.TLSKey},
		{"selfservice", c.SelfService.TLSListen, c.SelfService.TLSCert, c.SelfService.TLSKey},
	} {
		if (t.cert == "") != (t.keyf == "") {
			return bad(t.key+".tls_cert", "tls_cert and tls_key go together")
		}
		if t.listen != "" && t.cert == "" {
			return bad(t.key+".tls_listen", "an HTTPS listener needs tls_cert and tls_key")
		}
	}
	if u, err := url.Parse(c.Portal.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("portal.public_url", "want an absolute http(s) URL, got %q", c.Portal.PublicURL)
	}
	if c.SelfService.TLSListen != "" && c.SelfService.PublicURL == "" {
		if u, err := url.Parse(c.Portal.SelfServiceURL); err == nil && u.Scheme == "https" && u.Host != "" {
			c.SelfService.PublicURL = c.Portal.SelfServiceURL
		} else if host, _, err := net.SplitHostPort(c.SelfService.TLSListen); err != nil || host == "" || host == "0.0.0.0" || host == "::" {
			return bad("selfservice.public_url", "tls_listen %q names no host people can reach: give the HTTPS address, e.g. \"https://selfaaa.example.edu/\"", c.SelfService.TLSListen)
		}
	}
	if c.SelfService.PublicURL != "" {
		if u, err := url.Parse(c.SelfService.PublicURL); err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil ||
			u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(c.SelfService.PublicURL, "\x00\t\r\n ") {
			return bad("selfservice.public_url", "want an absolute https URL without query, got %q", c.SelfService.PublicURL)
		}
	}
	if c.SelfService.MaxRecharge < 0 {
		return bad("selfservice.max_recharge", "must be positive")
	}
	mr, err := yuanToFen(c.SelfService.MaxRecharge)
	if err != nil {
		return bad("selfservice.max_recharge", "%v", err)
	}
	c.SelfService.MaxRechargeFen = mr
	switch c.Identity.Backend {
	case "local":
	case "ldap":
		l := &c.Identity.LDAP
		if l.URL == "" {
			return bad("identity.ldap.url", "the ldap backend needs a url (ldap://host or ldaps://host)")
		}
		if u, err := url.Parse(l.URL); err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") {
			return bad("identity.ldap.url", "want ldap:// or ldaps://, got %q", l.URL)
		}
		if l.BaseDN == "" {
			return bad("identity.ldap.base_dn", "must not be empty")
		}
		def(&l.UserFilter, "(uid=%s)")
		if !strings.Contains(l.UserFilter, "%s") {
			return bad("identity.ldap.user_filter", "must contain %%s where the user name goes")
		}
		defD(&l.Timeout, 5*time.Second)
	default:
		return bad("identity.backend", "want \"local\" or \"ldap\", got %q", c.Identity.Backend)
	}
	defD(&c.Identity.SSO.StateTTL, 10*time.Minute)
	defD(&c.Identity.SSO.Timeout, 5*time.Second)
	ssoNames := map[string]bool{}
	for i := range c.Identity.SSO.Providers {
		p := &c.Identity.SSO.Providers[i]
		key := fmt.Sprintf("identity.sso.provider[%d]", i)
		if p.Kind == "cas" && p.Version == 0 {
			p.Version = 3
		}
		if err := p.provider().Validate(); err != nil {
			field, reason, _ := strings.Cut(err.Error(), ": ")
			return bad(key+"."+field, "%s", reason)
		}
		if ssoNames[p.Name] {
			return bad(key+".name", "%q is the name of another provider", p.Name)
		}
		ssoNames[p.Name] = true
		for _, t := range []struct{ k, v string }{{"display_name", p.DisplayName}, {"display_name_en", p.DisplayNameEN}} {
			if utf8.RuneCountInString(t.v) > 40 || !access.PlainText(t.v) {
				return bad(key+"."+t.k, "one line of at most 40 characters")
			}
		}
	}
	if !c.Identity.SSO.PasswordLoginOn() && len(c.Identity.SSO.Providers) == 0 {
		return bad("identity.sso.password_login", "false needs at least one [[identity.sso.provider]]: nobody could log in")
	}
	switch c.Identity.TrailingX {
	case "drop", "keep", "zero":
	default:
		return bad("identity.trailing_x", "want \"drop\", \"keep\" or \"zero\", got %q", c.Identity.TrailingX)
	}

	packs := map[string]access.Pack{}
	for i := range c.Packs {
		k := &c.Packs[i]
		key := fmt.Sprintf("pack[%d]", i)
		if !planName(k.Name) {
			return bad(key+".name", "want 1 to 32 letters, digits, '-', '_' or '.', got %q", k.Name)
		}
		key = fmt.Sprintf("pack[%d] (%s)", i, k.Name)
		if _, dup := packs[k.Name]; dup {
			return bad(key+".name", "pack %q is defined twice", k.Name)
		}
		if err := displayNames(k.DisplayName, k.DisplayNameEN); err != nil {
			return bad(key+".display_name", "%v", err)
		}
		if k.GB <= 0 || k.GB > 100_000 {
			return bad(key+".gb", "want more than 0 and at most 100000 GB, got %v", k.GB)
		}
		k.Bytes = int64(math.Round(k.GB * float64(access.GB)))
		fen, err := yuanToFen(k.Price)
		if err != nil || fen <= 0 {
			return bad(key+".price", "want a price above 0.00 yuan with at most two decimals, got %v", k.Price)
		}
		k.PriceFen = fen
		switch k.Lasts {
		case "", "cycle":
		default:
			d, err := time.ParseDuration(k.Lasts)
			if err != nil || d < time.Hour {
				return bad(key+".lasts", "want \"cycle\" or a duration of at least 1h (\"720h\"), got %q", k.Lasts)
			}
			k.LastsFor = d
		}
		packs[k.Name] = access.Pack{Name: k.Name, DisplayName: k.DisplayName, DisplayNameEN: k.DisplayNameEN,
			Bytes: k.Bytes, Price: access.Fen(k.PriceFen), Lasts: k.LastsFor}
	}
	plans := map[string]access.Plan{}
	for i := range c.Plans {
		p := &c.Plans[i]
		key := fmt.Sprintf("plan[%d]", i)
		if !planName(p.Name) {
			return bad(key+".name", "want 1 to 32 letters, digits, '-', '_' or '.', got %q", p.Name)
		}
		key = fmt.Sprintf("plan[%d] (%s)", i, p.Name)
		if _, dup := plans[p.Name]; dup {
			return bad(key+".name", "plan %q is defined twice", p.Name)
		}
		if err := displayNames(p.DisplayName, p.DisplayNameEN); err != nil {
			return bad(key+".display_name", "%v", err)
		}
		fen, err := yuanToFen(p.Fee)
		if err != nil || fen < 0 {
			return bad(key+".fee", "want 0 or more yuan with at most two decimals, got %v", p.Fee)
		}
		p.FeeFen = fen
		defD(&p.Cycle, access.DefaultCycle)
		if p.Cycle.Duration < time.Minute {
			return bad(key+".cycle", "must be at least 1m")
		}
		if p.AllowanceGB < 0 || p.AllowanceGB > 1_000_000 {
			return bad(key+".allowance_gb", "want 0 (no allowance) to 1000000 GB, got %v", p.AllowanceGB)
		}
		p.AllowanceBytes = int64(math.Round(p.AllowanceGB * float64(access.GB)))
		if p.AllowanceBytes > 0 && fen == 0 {
			return bad(key+".fee", "a plan with an allowance needs a fee above 0: its cycle is what the allowance is counted in")
		}
		switch {
		case p.AllowanceBytes == 0 && p.Over != "":
			return bad(key+".over", "needs allowance_gb: without an allowance nothing is ever past it")
		case p.AllowanceBytes == 0:
		case p.Over == access.OverSlow:
			if p.SlowUpKbps <= 0 || p.SlowDownKbps <= 0 || p.SlowUpKbps > 4_000_000 || p.SlowDownKbps > 4_000_000 {
				return bad(key+".slow_down_kbps", "over = \"slow\" needs slow_up_kbps and slow_down_kbps from 1 to 4000000")
			}
		case p.Over == access.OverBlock:
		case p.Over == access.OverPerGB:
			g, err := yuanToFen(p.PerGB)
			if err != nil || g <= 0 {
				return bad(key+".per_gb", "over = \"per_gb\" needs a price per GB above 0.00 yuan, got %v", p.PerGB)
			}
			p.PerGBFen = g
		default:
			return bad(key+".over", "want \"slow\", \"block\" or \"per_gb\", got %q", p.Over)
		}
		ap := access.Plan{Name: p.Name, DisplayName: p.DisplayName, DisplayNameEN: p.DisplayNameEN, Fee: access.Fen(p.FeeFen),
			Cycle: p.Cycle.Duration, Allowance: p.AllowanceBytes, Over: p.Over, SlowUpKbps: p.SlowUpKbps, SlowDownKbps: p.SlowDownKbps,
			PerGB: access.Fen(p.PerGBFen), CountIPv6: p.CountIPv6}
		for _, n := range p.Packs {
			k, ok := packs[n]
			if !ok {
				return bad(key+".packs", "no [[pack]] named %q", n)
			}
			if p.AllowanceBytes == 0 {
				return bad(key+".packs", "packs need allowance_gb: a flat plan has nothing to add to")
			}
			ap.Packs = append(ap.Packs, k)
		}
		plans[p.Name] = ap
	}

	areas := map[string]bool{}
	for i := range c.Areas {
		a := &c.Areas[i]
		key := fmt.Sprintf("area[%d]", i)
		if a.Name == "" {
			return bad(key+".name", "must not be empty")
		}
		key = fmt.Sprintf("area[%d] (%s)", i, a.Name)
		if areas[a.Name] {
			return bad(key+".name", "area %q is defined twice", a.Name)
		}
		areas[a.Name] = true
		for k, v := range map[string]*string{".display_name": &a.DisplayName, ".display_name_en": &a.DisplayNameEN} {
			if utf8.RuneCountInString(*v) > 64 || strings.ContainsFunc(*v, unicode.IsControl) {
				return bad(key+k, "at most 64 characters, no control characters")
			}
			def(v, a.Name)
		}
		if a.MaxPC < 0 || a.MaxMobile < 0 {
			return bad(key+".max_pc", "device limits must be 0 (none) or more")
		}
		def(&a.OnLimit, "reject")
		if a.OnLimit != "reject" && a.OnLimit != "replace_oldest" {
			return bad(key+".on_limit", "want \"reject\" or \"replace_oldest\", got %q", a.OnLimit)
		}
		if a.Fee < 0 {
			return bad(key+".fee", "must not be negative")
		}
		fen, err := yuanToFen(a.Fee)
		if err != nil {
			return bad(key+".fee", "%v", err)
		}
		a.FeeFen = fen
		defD(&a.Cycle, access.DefaultCycle)
		if a.Cycle.Duration < time.Minute {
			return bad(key+".cycle", "must be at least 1m")
		}
		def(&a.UnknownAs, "pc")
		if a.UnknownAs != "pc" && a.UnknownAs != "mobile" {
			return bad(key+".unknown_as", "want \"pc\" or \"mobile\", got %q", a.UnknownAs)
		}
		if a.MaxBound == 0 {
			a.MaxBound = access.DefaultMaxBound
		}
		if a.RateUpKbps < 0 || a.RateDownKbps < 0 || a.RateUpKbps > 4_000_000 || a.RateDownKbps > 4_000_000 {
			return bad(key+".rate_up_kbps", "rates are kbit/s from 0 (no limit) to 4000000")
		}
		def(&a.Arrears, access.ArrearsReject)
		if a.Arrears != access.ArrearsReject && a.Arrears != access.ArrearsGarden {
			return bad(key+".arrears", "want \"reject\" or \"garden\", got %q", a.Arrears)
		}
		if len(a.Plans) > 0 {
			if a.Fee != 0 || a.Cycle.Duration != access.DefaultCycle && a.Cycle.Duration != 0 {
				return bad(key+".fee", "an area with plans takes its fee and cycle from them: leave fee and cycle out")
			}
			seen := map[string]bool{}
			for _, n := range a.Plans {
				p, ok := plans[n]
				if !ok {
					return bad(key+".plans", "no [[plan]] named %q", n)
				}
				if seen[n] {
					return bad(key+".plans", "plan %q is listed twice", n)
				}
				seen[n] = true
				a.plans = append(a.plans, p)
			}
			// Every plan of an area is billed alike (DormOpen, the cycle).
			billed := a.plans[0].Fee > 0
			for _, p := range a.plans[1:] {
				if (p.Fee > 0) != billed {
					return bad(key+".plans", "mixes free and paid plans: a free plan belongs to a free area")
				}
			}
			a.FeeFen, a.Cycle.Duration = int64(a.plans[0].Fee), a.plans[0].Cycle
		}
		if a.Arrears == access.ArrearsGarden && a.FeeFen == 0 {
			return bad(key+".arrears", "\"garden\" needs a billed area (a fee): a free area has no arrears")
		}
	}

	names := map[string]bool{}
	ips := map[netip.Addr]string{}
	type owned struct {
		p   netip.Prefix
		nas string
	}
	var subnets []owned
	for i := range c.NAS {
		n := &c.NAS[i]
		key := fmt.Sprintf("nas[%d]", i)
		if n.Name == "" {
			return bad(key+".name", "must not be empty")
		}
		key = fmt.Sprintf("nas[%d] (%s)", i, n.Name)
		if names[n.Name] {
			return bad(key+".name", "NAS %q is defined twice", n.Name)
		}
		names[n.Name] = true
		ip, err := netip.ParseAddr(n.IP)
		if err != nil {
			return bad(key+".ip", "not an IP address: %q", n.IP)
		}
		if other, dup := ips[ip]; dup {
			return bad(key+".ip", "address %s is already NAS %q's", ip, other)
		}
		ips[ip] = n.Name
		n.Addr = ip
		if n.Secret == "" {
			return bad(key+".secret", "a NAS needs a RADIUS shared secret")
		}
		if n.Area == "" {
			return bad(key+".area", "a NAS must name its area")
		}
		if !areas[n.Area] {
			return bad(key+".area", "area %q is not defined (add an [[area]] with name = %q)", n.Area, n.Area)
		}
		n.MessageAuthenticatorRequired = n.RequireMessageAuthenticator == nil || *n.RequireMessageAuthenticator
		if n.CoAPort == 0 {
			n.CoAPort = radiusproto.DefaultCoAPort
		}
		if n.CoAPort < 1 || n.CoAPort > 65535 {
			return bad(key+".coa_port", "not a port: %d", n.CoAPort)
		}
		if n.PortalVersion == 0 {
			n.PortalVersion = 2
		}
		if n.PortalVersion != 1 && n.PortalVersion != 2 {
			return bad(key+".portal_version", "want 1 or 2, got %d", n.PortalVersion)
		}
		switch n.Vendor {
		case "", "huawei", "h3c":
		default:
			return bad(key+".vendor", "want \"huawei\", \"h3c\" or \"\", got %q", n.Vendor)
		}
		def(&n.PortalAuth, "chap")
		if n.PortalIPv6 == "" {
			n.PortalIPv6 = "huawei"
			if n.Vendor == "h3c" {
				n.PortalIPv6 = "h3c"
			}
		}
		if n.PortalIPv6 != "huawei" && n.PortalIPv6 != "h3c" {
			return bad(key+".portal_ipv6", "want \"huawei\" or \"h3c\", got %q", n.PortalIPv6)
		}
		if n.PortalAuth != "chap" && n.PortalAuth != "pap" {
			return bad(key+".portal_auth", "want \"chap\" or \"pap\", got %q", n.PortalAuth)
		}
		if n.PortalAddr != "" {
			if _, _, err := net.SplitHostPort(n.PortalAddr); err != nil {
				return bad(key+".portal_addr", "want host:port, got %q", n.PortalAddr)
			}
			if n.PortalSecret == "" && n.PortalVersion == 2 {
				return bad(key+".portal_secret", "Portal v2 needs a shared secret")
			}
		}
		n.Subnets = nil
		for j, s := range n.UserSubnets {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return bad(fmt.Sprintf("%s.user_subnets[%d]", key, j), "not a CIDR prefix: %q", s)
			}
			p = p.Masked()
			for _, o := range subnets {
				if o.p.Overlaps(p) {
					return bad(fmt.Sprintf("%s.user_subnets[%d]", key, j), "%s overlaps %s of NAS %q: a user address must lead to one BAS", p, o.p, o.nas)
				}
			}
			subnets = append(subnets, owned{p, n.Name})
			n.Subnets = append(n.Subnets, p)
		}
		for k, v := range map[string]string{".garden_filter_id": n.GardenFilterID, ".slow_filter_id": n.SlowFilterID} {
			if len(v) > 253 || strings.ContainsFunc(v, unicode.IsControl) {
				return bad(key+k, "at most 253 bytes, no control characters")
			}
		}
		// An area that puts sessions in the restricted profile needs it on
		// every one of its BASes.
		if a, ok := c.AreaByName(n.Area); ok && n.GardenFilterID == "" {
			if a.Arrears == access.ArrearsGarden {
				return bad(key+".garden_filter_id", "area %q has arrears = \"garden\": this BAS needs the Filter-Id of its restricted profile", a.Name)
			}
			for _, p := range a.plans {
				if p.Over == access.OverBlock || p.Over == access.OverPerGB {
					return bad(key+".garden_filter_id", "plan %q of area %q restricts sessions past the allowance (over = %q): this BAS needs the Filter-Id of its restricted profile", p.Name, a.Name, p.Over)
				}
			}
		}
	}
	for _, a := range c.SelfService.Admins {
		if strings.TrimSpace(a) == "" {
			return bad("selfservice.admins", "empty account name")
		}
	}
	return nil
}

// LoadTimezone loads an IANA time zone name ("Asia/Shanghai", "UTC").
// "Local" and "" are refused: the campus zone is named in the file, so
// every node and every operator's shell agree on it whatever the machine's
// own zone is.
func LoadTimezone(name string) (*time.Location, error) {
	if name == "" || strings.EqualFold(name, "local") {
		return nil, fmt.Errorf("want an IANA time zone name like %q or \"UTC\", not %q", access.DefaultTimezone, name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: want an IANA name like %q or \"UTC\"", name, access.DefaultTimezone)
	}
	return loc, nil
}

func checkDSN(dsn string) error {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		if strings.TrimPrefix(dsn, "sqlite:") == "" {
			return errors.New("sqlite: needs a file path, e.g. \"sqlite:campusnet.db\"")
		}
		return nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		if _, err := url.Parse(dsn); err != nil {
			return errors.New("bad postgres URL")
		}
		return nil
	}
	return fmt.Errorf("want \"sqlite:PATH\" or \"postgres://…\", got %q", redactDSN(dsn))
}

func redactDSN(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		u.User = url.User(u.User.Username())
		return u.String()
	}
	return s
}

// yuanToFen converts an amount in yuan with at most two decimals to fen.
func yuanToFen(y float64) (int64, error) {
	f := y * 100
	r := math.Round(f)
	if math.Abs(f-r) > 1e-6 {
		return 0, fmt.Errorf("%v yuan has more than two decimals", y)
	}
	if math.Abs(r) > 1e12 {
		return 0, fmt.Errorf("%v yuan is out of range", y)
	}
	return int64(r), nil
}

// AreaByName returns the named area.
func (c *Config) AreaByName(name string) (Area, bool) {
	for _, a := range c.Areas {
		if a.Name == name {
			return a, true
		}
	}
	return Area{}, false
}

// NASByIP returns the NAS with that address.
func (c *Config) NASByIP(ip netip.Addr) (*NAS, bool) {
	ip = ip.Unmap()
	for i := range c.NAS {
		if c.NAS[i].Addr == ip {
			return &c.NAS[i], true
		}
	}
	return nil, false
}

// NASByName returns the named NAS.
func (c *Config) NASByName(name string) (*NAS, bool) {
	for i := range c.NAS {
		if c.NAS[i].Name == name {
			return &c.NAS[i], true
		}
	}
	return nil, false
}

// NASForUser finds the BAS whose user_subnets hold a user address.
func (c *Config) NASForUser(ip netip.Addr) (*NAS, bool) {
	ip = ip.Unmap()
	for i := range c.NAS {
		for _, p := range c.NAS[i].Subnets {
			if p.Contains(ip) {
				return &c.NAS[i], true
			}
		}
	}
	return nil, false
}

// Access returns the area as the services see it.
func (a Area) Access() access.Area {
	roles := make([]access.Role, len(a.Roles))
	for i, r := range a.Roles {
		roles[i] = access.Role(r)
	}
	return access.Area{Name: a.Name, DisplayName: a.DisplayName, DisplayNameEN: a.DisplayNameEN, Roles: roles, MaxPC: a.MaxPC, MaxMobile: a.MaxMobile, OnLimit: a.OnLimit,
		UnknownAs: access.Class(a.UnknownAs), Fee: access.Fen(a.FeeFen), Cycle: a.Cycle.Duration, Seamless: a.Seamless,
		MaxBound: a.MaxBound, RateUpKbps: a.RateUpKbps, RateDownKbps: a.RateDownKbps, Plans: slices.Clone(a.plans), Arrears: a.Arrears}
}

// Access returns the BAS as the services see it.
func (n NAS) Access() access.BAS {
	return access.BAS{Name: n.Name, IP: n.Addr, Area: n.Area, Secret: n.Secret, RequireMessageAuthenticator: n.MessageAuthenticatorRequired,
		CoAPort: n.CoAPort, Vendor: n.Vendor, PortalAddr: n.PortalAddr, PortalVersion: n.PortalVersion,
		PortalSecret: n.PortalSecret, PortalAuth: n.PortalAuth, PortalIPv6: n.PortalIPv6, UserSubnets: slices.Clone(n.Subnets),
		GardenFilterID: n.GardenFilterID, SlowFilterID: n.SlowFilterID}
}

// AccessAreas returns every [[area]] as the services see it.
func (c *Config) AccessAreas() []access.Area {
	out := make([]access.Area, len(c.Areas))
	for i, a := range c.Areas {
		out[i] = a.Access()
	}
	return out
}

// AccessBASes returns every [[nas]] as the services see it.
func (c *Config) AccessBASes() []access.BAS {
	out := make([]access.BAS, len(c.NAS))
	for i, n := range c.NAS {
		out[i] = n.Access()
	}
	return out
}
