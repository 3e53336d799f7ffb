// Package sso is campusnet's single sign-on client: it sends a person to
// the campus's unified identity provider and checks what comes back, for
// the portal and for self-service alike.
//
// Two kinds of provider:
//
//   - CAS (Apereo CAS protocol 2.0 and 3.0): the browser goes to
//     <server>/login?service=<callback>; the ticket that comes back is
//     validated at <server>/serviceValidate (v2) or /p3/serviceValidate
//     (v3, with attributes). The account is cas:user or an attribute.
//   - OpenID Connect: discovery from the issuer, the authorization code
//     flow with PKCE (S256), the code exchanged at the token endpoint with
//     the client secret, the ID token's signature checked against the
//     provider's JWKS and its iss, aud, exp and nonce checked
//     (github.com/coreos/go-oidc/v3, golang.org/x/oauth2). Claims the ID
//     token lacks are read from the UserInfo endpoint.
//
// Every trip to the provider has a state: a random value with its expiry,
// signed (HMAC-SHA256 under a key derived from [server] token_key), so a
// changed or expired state is refused before anything else. Its row in the
// database (sso_states) holds what the trip carries (the BAS redirect
// parameters), the OIDC nonce and PKCE verifier, and the hash of a random
// cookie of the browser that left; the way back consumes the row in one
// statement, so a state serves one login however many nodes see it, and a
// state taken to another browser is refused. The return address is always
// built by the caller from its configured public URL, never from the
// request, so nothing can send a ticket or code elsewhere.
//
// Secrets (the client secret, tickets, codes, tokens) are never logged.
package sso

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
)

// Kinds of provider.
const (
	KindCAS  = "cas"
	KindOIDC = "oidc"
)

// Purposes of a login: which service started it.
const (
	PurposePortal      = "portal"
	PurposeSelfService = "selfservice"
)

// BrowserCookie is the cookie that ties a state to the browser that left
// with it; the services set it with the value Begin returns.
const BrowserCookie = "cn_sso"

// Errors of Finish. Each wraps one of these.
var (
	// ErrBadState: the state is missing, changed, expired, already used,
	// or came back to another browser. The person starts again.
	ErrBadState = errors.New("sso: invalid, expired or used state")
	// ErrDenied: the provider refused the login or what it sent does not
	// hold (a rejected ticket or code, a bad ID token signature, another
	// audience, a wrong nonce, no account attribute).
	ErrDenied = errors.New("sso: login not confirmed by the provider")
	// ErrUnavailable: the provider could not be reached.
	ErrUnavailable = errors.New("sso: provider unreachable")
	// ErrUnknownProvider: no provider of that name is configured.
	ErrUnknownProvider = errors.New("sso: unknown provider")
)

// Provider is one [[identity.sso.provider]].
type Provider struct {
	// Name is the provider's id in URLs (/sso/<name>/…): lower-case
	// letters, digits and '-'.
	Name string
	Kind string // KindCAS or KindOIDC
	// DisplayZH and DisplayEN name the provider on the login buttons
	// ("统一身份认证", "Unified identity").
	DisplayZH, DisplayEN string

	// CAS: the server's base URL ("https://cas.example.edu.cn/cas"), the
	// protocol version (2 or 3), the attribute that names the account
	// ("" = cas:user), the display name and the role attributes ("" =
	// none).
	ServerURL        string
	Version          int
	AccountAttribute string
	NameAttribute    string
	RoleAttribute    string

	// OIDC: the issuer (discovery at <issuer>/.well-known/openid-configuration),
	// the client's id and secret, the scopes (openid is always asked),
	// the claims that name the account (default preferred_username), the
	// display name (default name) and the role ("" = none), and PKCE.
	Issuer       string
	ClientID     string
	ClientSecret string
	Scopes       []string
	AccountClaim string
	NameClaim    string
	RoleClaim    string
	PKCE         bool
}

// Config is the client's configuration.
type Config struct {
	Providers []Provider
	// StateTTL is how long a person may take at the provider (default 10m).
	StateTTL time.Duration
	// Timeout bounds each request to a provider (default 5s).
	Timeout time.Duration
	// HTTPClient makes the requests to providers (nil: a client with Timeout).
	HTTPClient *http.Client
}

// Store keeps the states (internal/store implements it).
type Store interface {
	CreateSSOState(ctx context.Context, st access.SSOState) error
	ConsumeSSOState(ctx context.Context, id string, now time.Time) (access.SSOState, error)
}

// Info is what a login page shows of a provider.
type Info struct {
	Name, Kind, DisplayZH, DisplayEN string
}

// Client runs the single sign-on logins of one node.
type Client struct {
	cfg   Config
	key   []byte
	st    Store
	log   *slog.Logger
	now   func() time.Time
	http  *http.Client
	byN   map[string]*provider
	order []*provider
}

type provider struct {
	Provider
	mu       sync.Mutex
	oidc     *oidcState // discovered lazily, kept once it worked
	casOK    time.Time  // last time the CAS server answered
	failedAt time.Time  // last time the provider could not be reached
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// Validate checks a provider's settings; the error names the setting.
func (p Provider) Validate() error {
	if !nameRE.MatchString(p.Name) {
		return fmt.Errorf("name: want 1 to 32 lower-case letters, digits or '-', got %q", p.Name)
	}
	absHTTP := func(key, s string) error {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("%s: want an absolute http(s) URL without query, got %q", key, s)
		}
		return nil
	}
	switch p.Kind {
	case KindCAS:
		if err := absHTTP("server_url", p.ServerURL); err != nil {
			return err
		}
		if p.Version != 2 && p.Version != 3 {
			return fmt.Errorf("version: want 2 or 3, got %d", p.Version)
		}
	case KindOIDC:
		if err := absHTTP("issuer", p.Issuer); err != nil {
			return err
		}
		if p.ClientID == "" {
			return errors.New("client_id: must not be empty")
		}
		if p.ClientSecret == "" && !p.PKCE {
			return errors.New("client_secret: must not be empty unless pkce = true (a public client)")
		}
	default:
		return fmt.Errorf("kind: want \"cas\" or \"oidc\", got %q", p.Kind)
	}
	return nil
}

// New makes the client. key signs the states (at least 32 bytes; derive
// it from [server] token_key, which every node shares).
func New(cfg Config, key []byte, st Store, log *slog.Logger, now func() time.Time) (*Client, error) {
	if len(key) < 32 {
		return nil, errors.New("sso: the state key must have at least 32 bytes")
	}
	if st == nil {
		return nil, errors.New("sso: a state store is required")
	}
	if cfg.StateTTL <= 0 {
		cfg.StateTTL = 10 * time.Minute
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	c := &Client{cfg: cfg, key: key, st: st, log: log, now: now, http: cfg.HTTPClient, byN: map[string]*provider{}}
	if c.http == nil {
		c.http = &http.Client{Timeout: cfg.Timeout}
	}
	for i, p := range cfg.Providers {
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("sso: provider[%d]: %w", i, err)
		}
		if c.byN[p.Name] != nil {
			return nil, fmt.Errorf("sso: provider[%d]: name %q used twice", i, p.Name)
		}
		if p.DisplayZH == "" {
			p.DisplayZH = "统一身份认证"
		}
		if p.DisplayEN == "" {
			p.DisplayEN = "unified identity"
		}
		if p.Kind == KindOIDC {
			if p.AccountClaim == "" {
				p.AccountClaim = "preferred_username"
			}
			if p.NameClaim == "" {
				p.NameClaim = "name"
			}
		}
		p.ServerURL = strings.TrimSuffix(p.ServerURL, "/")
		pp := &provider{Provider: p}
		c.byN[p.Name] = pp
		c.order = append(c.order, pp)
	}
	return c, nil
}

// Providers lists the configured providers in their order.
func (c *Client) Providers() []Info {
	if c == nil {
		return nil
	}
	out := make([]Info, 0, len(c.order))
	for _, p := range c.order {
		out = append(out, Info{Name: p.Name, Kind: p.Kind, DisplayZH: p.DisplayZH, DisplayEN: p.DisplayEN})
	}
	return out
}

// StateTTL is how long a state lasts (the browser cookie's life).
func (c *Client) StateTTL() time.Duration { return c.cfg.StateTTL }

// Info is the provider's Info, if it is configured.
func (c *Client) Info(name string) (Info, bool) {
	if c == nil {
		return Info{}, false
	}
	p := c.byN[name]
	if p == nil {
		return Info{}, false
	}
	return Info{Name: p.Name, Kind: p.Kind, DisplayZH: p.DisplayZH, DisplayEN: p.DisplayEN}, true
}

// CallbackPath is the path of a provider's return address under a
// service's public URL: what the provider's administrator registers.
func CallbackPath(provider string) string { return "/sso/" + provider + "/callback" }

// Start is one login about to leave for the provider.
type Start struct {
	Provider string
	Purpose  string
	// Callback is the absolute return address: the service's configured
	// public URL with CallbackPath.
	Callback string
	// Payload is what comes back with the person (the BAS redirect
	// parameters); it stays in the database, never in the browser.
	Payload string
}

// Begin records the state and returns where to send the browser and the
// value of BrowserCookie to set. A provider that cannot be reached is
// ErrUnavailable (the page says so; the password form still works).
func (c *Client) Begin(ctx context.Context, s Start) (redirect, browser string, err error) {
	p := c.byN[s.Provider]
	if p == nil {
		return "", "", ErrUnknownProvider
	}
	now := c.now()
	raw, browser := random(18), random(18)
	exp := now.Add(c.cfg.StateTTL).Unix()
	state := c.signState(s.Purpose, p.Name, raw, exp)
	st := access.SSOState{ID: hash(raw), Provider: p.Name, Purpose: s.Purpose, Browser: hash(browser),
		Payload: s.Payload, CreatedAt: access.Millis(now), ExpiresAt: exp * 1000}
	switch p.Kind {
	case KindCAS:
		if err := c.casReachable(ctx, p); err != nil {
			return "", "", err
		}
		redirect = p.ServerURL + "/login?" + url.Values{"service": {casService(s.Callback, state)}}.Encode()
	case KindOIDC:
		o, err := c.discover(ctx, p)
		if err != nil {
			return "", "", err
		}
		st.Nonce = random(18)
		if p.PKCE {
			st.Verifier = random(32)
		}
		redirect = o.authURL(p, s.Callback, state, st.Nonce, st.Verifier)
	}
	if err := c.st.CreateSSOState(ctx, st); err != nil {
		return "", "", err
	}
	return redirect, browser, nil
}

// Result is a login the provider confirmed.
type Result struct {
	Person   identity.Person
	Provider string
	Payload  string
}

// Finish checks what the provider sent back to callback (q is the
// callback's query) in the browser whose BrowserCookie is browser, and
// returns the person. Errors wrap ErrBadState, ErrDenied, ErrUnavailable
// or ErrUnknownProvider.
func (c *Client) Finish(ctx context.Context, purpose, providerName string, q url.Values, callback, browser string) (Result, error) {
	p := c.byN[providerName]
	if p == nil {
		return Result{}, ErrUnknownProvider
	}
	state := q.Get("state")
	raw, ok := c.openState(purpose, p.Name, state)
	if !ok {
		return Result{}, fmt.Errorf("%w: signature or expiry", ErrBadState)
	}
	// The provider's own refusal (OIDC error=access_denied, the person
	// pressed "cancel"): the state is spent all the same.
	st, err := c.st.ConsumeSSOState(ctx, hash(raw), c.now())
	if errors.Is(err, access.ErrNotFound) {
		return Result{}, fmt.Errorf("%w: unknown or already used", ErrBadState)
	}
	if err != nil {
		return Result{}, err
	}
	if st.Provider != p.Name || st.Purpose != purpose || browser == "" ||
		subtle.ConstantTimeCompare([]byte(st.Browser), []byte(hash(browser))) != 1 {
		return Result{}, fmt.Errorf("%w: another browser or flow", ErrBadState)
	}
	var person identity.Person
	switch p.Kind {
	case KindCAS:
		person, err = c.casValidate(ctx, p, casService(callback, state), q.Get("ticket"))
	case KindOIDC:
		if e := q.Get("error"); e != "" {
			return Result{}, fmt.Errorf("%w: the provider answered %s", ErrDenied, cleanCode(e))
		}
		person, err = c.oidcFinish(ctx, p, callback, q.Get("code"), st)
	}
	if err != nil {
		return Result{}, err
	}
	return Result{Person: person, Provider: p.Name, Payload: st.Payload}, nil
}

// LogoutURL is where to send a browser to end its session at the
// provider, coming back to returnTo; "" when the provider offers no
// logout (an OIDC provider without end_session_endpoint, or one that
// cannot be reached now).
func (c *Client) LogoutURL(ctx context.Context, providerName, returnTo string) string {
	if c == nil {
		return ""
	}
	p := c.byN[providerName]
	if p == nil {
		return ""
	}
	switch p.Kind {
	case KindCAS:
		return p.ServerURL + "/logout?" + url.Values{"service": {returnTo}}.Encode()
	case KindOIDC:
		o, err := c.discover(ctx, p)
		if err != nil || o.endSession == "" {
			return ""
		}
		v := url.Values{"client_id": {p.ClientID}, "post_logout_redirect_uri": {returnTo}}
		sep := "?"
		if strings.Contains(o.endSession, "?") {
			sep = "&"
		}
		return o.endSession + sep + v.Encode()
	}
	return ""
}

// Hosts are the hosts a browser must reach before it is online: for the
// BAS's free rules (walled garden). An OIDC provider's authorization
// endpoint is discovered; its issuer's host is listed when discovery has
// not run yet.
func (c *Client) Hosts(ctx context.Context) []string {
	var out []string
	add := func(s string) {
		if u, err := url.Parse(s); err == nil && u.Host != "" && !slices.Contains(out, u.Host) {
			out = append(out, u.Host)
		}
	}
	for _, p := range c.order {
		switch p.Kind {
		case KindCAS:
			add(p.ServerURL)
		case KindOIDC:
			add(p.Issuer)
			if o, err := c.discover(ctx, p); err == nil {
				add(o.authEndpoint)
			}
		}
	}
	return out
}

// Origins are the origins ("https://cas.example.edu.cn") a page's form
// may lead to through a redirect to a provider: its login and logout
// endpoints, for a Content-Security-Policy form-action. An OIDC provider's
// discovered endpoints are listed once discovery has run.
func (c *Client) Origins() []string {
	if c == nil {
		return nil
	}
	var out []string
	add := func(s string) {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			if o := u.Scheme + "://" + u.Host; !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	for _, p := range c.order {
		add(p.ServerURL)
		add(p.Issuer)
		p.mu.Lock()
		if o := p.oidc; o != nil {
			add(o.authEndpoint)
			add(o.endSession)
		}
		p.mu.Unlock()
	}
	return out
}

// signState is "raw.exp.mac": mac = HMAC(key, purpose, provider, raw, exp).
func (c *Client) signState(purpose, provider, raw string, exp int64) string {
	e := strconv.FormatInt(exp, 10)
	return raw + "." + e + "." + c.mac(purpose, provider, raw, e)
}

func (c *Client) openState(purpose, provider, s string) (string, bool) {
	if len(s) > 256 {
		return "", false
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return "", false
	}
	if subtle.ConstantTimeCompare([]byte(parts[2]), []byte(c.mac(purpose, provider, parts[0], parts[1]))) != 1 {
		return "", false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || c.now().Unix() >= exp {
		return "", false
	}
	return parts[0], true
}

func (c *Client) mac(parts ...string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("campusnet sso state v1"))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:24])
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// cleanCode keeps an error code from outside loggable and showable.
func cleanCode(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return -1
	}, s)
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}

// personFrom makes the Person of an account value, a display name and a
// role from the provider, each a text from outside.
func personFrom(provider, id, name, role string) (identity.Person, error) {
	id = strings.TrimSpace(id)
	if id == "" || len(id) > 64 || !access.PlainText(id) {
		return identity.Person{}, fmt.Errorf("%w: the account value is empty, too long or has control characters", ErrDenied)
	}
	name = strings.TrimSpace(access.StripControl(name))
	if len(name) > 128 {
		name = name[:128]
		name = strings.ToValidUTF8(name, "")
	}
	if name == "" {
		name = id
	}
	role = strings.TrimSpace(role)
	if len(role) > 32 || !access.PlainText(role) {
		role = ""
	}
	return identity.Person{ID: id, Name: name, Role: access.Role(role), Provider: provider}, nil
}
