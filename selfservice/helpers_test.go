package selfservice_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/radius"
	"github.com/campusnet/campusnet/radius/radiusproto"
	"github.com/campusnet/campusnet/selfservice"
)

// testStart is the fake clock's start: 2026-03-01 10:00 in Beijing.
var testStart = time.Date(2026, 3, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

// env is a self-service site on a real store with a test BAS answering
// Disconnect-Requests on 127.0.0.1.
type env struct {
	t     *testing.T
	st    *store.Store
	clock *storetest.Clock
	svc   *selfservice.Service
	srv   *httptest.Server
	bas   *testBAS
	cfg   selfservice.Config
	reg   *prometheus.Registry
	local *identity.Local
}

type envOpt func(*selfservice.Config, *selfservice.Deps)

func newEnv(t *testing.T, kind string, opts ...envOpt) *env {
	t.Helper()
	clock := storetest.NewClock(testStart)
	st := storetest.New(t, kind, store.WithClock(clock.Now))
	e := &env{t: t, st: st, clock: clock, bas: newTestBAS(t), reg: prometheus.NewRegistry()}
	e.local = identity.NewLocal(identity.FromAccounts(st), identity.InitialParams, nil)
	e.cfg = selfservice.Config{
		Organisation: "测试大学", NodeID: "7", Version: "test",
		PaymentURL: "https://pay.example.edu/net",
		Admins:     []string{"admin"},
		Areas: []access.Area{
			{Name: "dorm", Fee: 2000, Cycle: 720 * time.Hour, MaxPC: 1, MaxMobile: 1, MaxBound: 3, Seamless: true},
			{Name: "office"},
		},
		NAS:        []access.BAS{{Name: "dorm-bras-1", IP: netip.MustParseAddr("127.0.0.1"), Area: "dorm"}},
		SessionKey: bytes.Repeat([]byte("k"), 32),
		Location:   testStart.Location(),
	}
	deps := selfservice.Deps{
		Store: st, Identity: e.local, Passwords: e.local,
		Disconnector: newDisconnector(t, st, e.bas.port()), Now: clock.Now,
		Registerer: e.reg,
	}
	for _, o := range opts {
		o(&e.cfg, &deps)
	}
	svc, err := selfservice.New(e.cfg, deps)
	if err != nil {
		t.Fatalf("selfservice.New: %v", err)
	}
	e.svc = svc
	e.srv = httptest.NewServer(svc)
	t.Cleanup(e.srv.Close)
	return e
}

// account creates an account with a password and an opening balance.
func (e *env) account(user, pass string, role access.Role, balance access.Fen, mustChange bool) access.Account {
	e.t.Helper()
	ctx := context.Background()
	hash, err := identity.HashPassword(pass, identity.InitialParams)
	if err != nil {
		e.t.Fatal(err)
	}
	a, _, err := e.st.OpenAccount(ctx, access.Account{Username: user, Name: "Name of " + user, Role: role, PasswordHash: hash, MustChange: mustChange},
		balance, "test", "open:"+user, "opening balance")
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// device binds a MAC to an account.
func (e *env) bind(a access.Account, mac string, class access.Class) {
	e.t.Helper()
	if _, err := e.st.BindDevice(context.Background(), a.ID, mac, class, "portal", "", 0); err != nil {
		e.t.Fatal(err)
	}
}

// online inserts an online session of mac, as RADIUS does after
// Accounting-Start, and returns its id.
func (e *env) online(a access.Account, mac, ip string, class access.Class) int64 {
	e.t.Helper()
	return storetest.AddOnlineSession(e.t, e.st, storetest.OnlineSession{Account: a, NAS: "dorm-bras-1", Area: "dorm",
		MAC: mac, IP: ip, Class: class, At: e.clock.Now()})
}

// refusal records a refused login as RADIUS does.
func (e *env) refusal(a access.Account, mac string, reason access.Reason, message string) {
	e.t.Helper()
	storetest.AddRefusal(e.t, e.st, storetest.Refusal{Account: a, At: e.clock.Now(), NAS: "dorm-bras-1", MAC: mac, IP: "10.1.2.3",
		Method: "pap", Reason: string(reason), Message: message, Node: "1"})
}

// client is a browser or app: a cookie jar and the site's address.
type client struct {
	e    *env
	http *http.Client
	csrf string // the API's token from login
	lang string // Accept-Language; "" sends none (the pages speak Chinese)
}

func (e *env) client() *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &client{e: e, http: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type response struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (c *client) do(req *http.Request) response {
	c.e.t.Helper()
	if c.lang != "" {
		req.Header.Set("Accept-Language", c.lang)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, body: string(b), location: resp.Header.Get("Location"), header: resp.Header}
}

func (c *client) get(path string) response {
	req, err := http.NewRequest(http.MethodGet, c.e.srv.URL+path, nil)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return c.do(req)
}

// follow GETs path and follows redirects on this site.
func (c *client) follow(path string) response {
	for range 5 {
		r := c.get(path)
		if r.status != http.StatusSeeOther && r.status != http.StatusFound {
			return r
		}
		path = r.location
	}
	c.e.t.Fatalf("redirect loop at %s", path)
	return response{}
}

func (c *client) post(path string, form url.Values) response {
	req, err := http.NewRequest(http.MethodPost, c.e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf reads the CSRF token from the page at path.
func (c *client) csrfOf(path string) string {
	c.e.t.Helper()
	r := c.follow(path)
	m := csrfRe.FindStringSubmatch(r.body)
	if m == nil {
		c.e.t.Fatalf("no csrf token on %s (%d): %s", path, r.status, r.body)
	}
	return m[1]
}

// submit posts a form with the CSRF token of the page it is on.
func (c *client) submit(page, action string, form url.Values) response {
	c.e.t.Helper()
	form.Set("csrf", c.csrfOf(page))
	return c.post(action, form)
}

// login logs in through the form and fails the test unless it worked.
func (c *client) login(user, pass string) {
	c.e.t.Helper()
	r := c.submit("/login", "/login", url.Values{"username": {user}, "password": {pass}})
	if r.status != http.StatusSeeOther {
		c.e.t.Fatalf("login %s: %d %s", user, r.status, r.body)
	}
}

func (c *client) api(method, path string, body any) response {
	c.e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	return c.do(req)
}

func (c *client) apiLogin(user, pass string) {
	c.e.t.Helper()
	r := c.api(http.MethodPost, "/api/v1/login", map[string]string{"username": user, "password": pass})
	if r.status != http.StatusOK {
		c.e.t.Fatalf("api login %s: %d %s", user, r.status, r.body)
	}
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	mustJSON(c.e.t, r, &out)
	c.csrf = out.CSRF
}

func mustJSON(t *testing.T, r response, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), v); err != nil {
		t.Fatalf("bad JSON (%d): %v: %s", r.status, err, r.body)
	}
}

// apiError checks an API error answer.
func apiError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	var e struct{ Error, Message string }
	mustJSON(t, r, &e)
	if e.Error != code || e.Message == "" {
		t.Fatalf("error %q (%q), want %q", e.Error, e.Message, code)
	}
}

// testBAS answers Disconnect-Requests on 127.0.0.1 as a BAS does and
// records which MACs it was asked to disconnect.
type testBAS struct {
	conn   net.PacketConn
	secret []byte
	mu     sync.Mutex
	macs   []string
	nak    int // Error-Cause to NAK with; 0 = ACK
}

func newTestBAS(t *testing.T) *testBAS {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &testBAS{conn: conn, secret: []byte("testing123")}
	go radiusproto.ListenDisconnect(conn, b.secret, func(req *layeh.Packet) (bool, int) {
		b.mu.Lock()
		defer b.mu.Unlock()
		mac, _ := access.NormalizeMAC(rfc2865.CallingStationID_GetString(req))
		b.macs = append(b.macs, mac)
		return b.nak == 0, b.nak
	})
	t.Cleanup(func() { conn.Close() })
	return b
}

func (b *testBAS) port() int { return b.conn.LocalAddr().(*net.UDPAddr).Port }

func (b *testBAS) requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.macs...)
}

func (b *testBAS) setNAK(cause int) {
	b.mu.Lock()
	b.nak = cause
	b.mu.Unlock()
}

// testNAS is the configured BAS whose Disconnect port is the test BAS's.
func testNAS(port int) access.BAS {
	return access.BAS{Name: "dorm-bras-1", IP: netip.MustParseAddr("127.0.0.1"), Secret: "testing123",
		Area: "dorm", CoAPort: port, RequireMessageAuthenticator: true}
}

// newDisconnector is the radius package's Disconnector, as cmd wires it,
// with short retries.
func newDisconnector(t *testing.T, st *store.Store, port int) *radius.Disconnector {
	d := radius.NewDisconnector(radius.DisconnectorConfig{Store: st, NAS: []access.BAS{testNAS(port)},
		Timeout: 200 * time.Millisecond, Tries: 2})
	t.Cleanup(func() { d.Close() })
	return d
}
