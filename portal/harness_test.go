package portal

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/logintoken"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/internal/testwait"
	"github.com/campusnet/campusnet/portal/portalproto"
	"github.com/campusnet/campusnet/radius/radiusproto"
)

// The harness runs the whole path on loopback: an httptest server with the
// portal, one simulated BAS per NAS (internal/bas, Portal and RADIUS sides)
// and a RADIUS server (radiusproto.Server) whose handler keeps the token
// contract (internal/logintoken) — derive, verify CHAP or PAP, single use, an
// auth_log row per decision, a session row per accept — and refuses the
// accounts the test scripts with a reason code. The real policy is tested
// end to end in cmd/campusnet.

// cheapParams keep the tests fast; the benchmark states its own cost.
var cheapParams = identity.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// standIn is the RADIUS handler of the harness. It keeps the RADIUS side
// of the token contract through the store's own AAA transactions (the
// token marked used, the reservation and the authentication log entry
// written in one decision), with a scripted policy instead of the real one.
type standIn struct {
	st  *store.Store
	aaa *store.AAA
	key logintoken.Key
	mu  sync.Mutex
	// refuse maps a user name to the refusal RADIUS gives it.
	refuse map[string]access.Refusal
	// deviceLimit enforces the dorm's one PC and one mobile per account
	// on the token's class, as the real policy does (radius/).
	deviceLimit bool
	// plans are the dorm's plans: a cycle starts under the next one, as
	// radius/ starts it (none: the flat 20.00).
	plans []access.Plan
}

// limitDevices turns the stand-in's device limit on.
func (h *standIn) limitDevices() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.deviceLimit = true
}

// deviceLimitRefusal is the refusal of a login of class c when another
// device of that class is live.
func deviceLimitRefusal(st *access.LoginState, c access.Class, mac string) (access.Refusal, bool) {
	for _, l := range st.Live {
		if l.Class == c && !strings.EqualFold(l.MAC, mac) {
			return access.RefuseDeviceLimit(c, 1, access.OnlineDevice{MAC: l.MAC, IP: l.IP, Since: access.FromMillis(l.ReservedAt)}), true
		}
	}
	return access.Refusal{}, false
}

func (h *standIn) setRefusal(user string, r *access.Refusal) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r == nil {
		delete(h.refuse, user)
		return
	}
	h.refuse[user] = *r
}

func (h *standIn) ServeAccess(ctx context.Context, r *radiusproto.Request) *layeh.Packet {
	p := r.Packet
	user, _ := rfc2865.UserName_LookupString(p)
	now := h.st.Now()
	toks, err := h.aaa.LiveTokens(ctx, user, now)
	if err != nil {
		return nil
	}
	var tok *access.LoginToken
	chap, _ := rfc2865.CHAPPassword_Lookup(p)
	pap, _ := rfc2865.UserPassword_LookupString(p)
	for i := range toks {
		t := logintoken.Derive(h.key, toks[i].Nonce)
		if (chap != nil && radiusproto.VerifyCHAP(chap, radiusproto.CHAPChallenge(p), t)) || (chap == nil && pap == t) {
			tok = &toks[i]
			break
		}
	}
	entry := access.AuthLogEntry{At: access.Millis(now), Username: user, NAS: r.NAS.Name, Method: "pap", Result: "reject"}
	if chap != nil {
		entry.Method = "chap"
	}
	answer := func(e access.AuthLogEntry, correlation string) *layeh.Packet {
		code := layeh.CodeAccessReject
		if e.Result == "accept" {
			code = layeh.CodeAccessAccept
		}
		out := p.Response(code)
		if e.Message != "" {
			_ = rfc2865.ReplyMessage_SetString(out, e.Message)
		}
		if correlation != "" {
			_ = rfc2865.Class_SetString(out, correlation)
		}
		return out
	}
	if tok == nil {
		entry.Reason, entry.Message = access.ReasonTokenExpired, access.RefuseBadCredentials().Message
		if err := h.aaa.InsertAuthLog(ctx, []access.AuthLogEntry{entry}); err != nil {
			return nil
		}
		return answer(entry, "")
	}
	h.mu.Lock()
	rf, refused := h.refuse[user]
	limit := h.deviceLimit
	h.mu.Unlock()
	asid, _ := rfc2866.AcctSessionID_LookupString(p)
	req := access.LoginRequest{Username: tok.Username, MAC: tok.MAC, TokenID: tok.ID, NAS: r.NAS.Name, Area: r.NAS.Area,
		IP: tok.IP, Class: tok.Class}
	decisions, err := h.aaa.AuthorizeLogins(ctx, []access.LoginRequest{req}, func(_ int, st *access.LoginState) access.LoginDecision {
		e := entry
		e.AccountID, e.TokenID, e.MAC, e.IP = &st.Account.ID, &tok.ID, tok.MAC, tok.IP
		switch {
		case !st.TokenFresh:
			e.Reason, e.Message = access.ReasonTokenExpired, access.RefuseBadCredentials().Message
		case refused:
			e.Reason, e.Message = rf.Code, rf.Message
		case limit:
			if lr, over := deviceLimitRefusal(st, tok.Class, tok.MAC); over {
				e.Reason, e.Message = lr.Code, lr.Message
				break
			}
			fallthrough
		default:
			e.Result, e.Reason = "accept", access.ReasonOK
			return access.LoginDecision{Accept: true, Log: e, LogNow: true,
				Session: access.Session{AcctSessionID: asid, Class: tok.Class, IP: tok.IP, Correlation: access.NewCorrelation()}}
		}
		return access.LoginDecision{Log: e, LogNow: true}
	})
	if err != nil || len(decisions) != 1 {
		return nil
	}
	return answer(decisions[0].Log, decisions[0].Session.Correlation)
}

func (h *standIn) ServeAccounting(ctx context.Context, r *radiusproto.Request) error {
	p := r.Packet
	rec := access.AcctRecord{NAS: r.NAS.Name, Area: r.NAS.Area,
		// Billing's part: the first session in the dorm opens a cycle.
		Fee: 2000, CycleLength: 720 * time.Hour}
	h.mu.Lock()
	rec.Plans = h.plans
	h.mu.Unlock()
	rec.AcctSessionID, _ = rfc2866.AcctSessionID_LookupString(p)
	rec.Correlation, _ = rfc2865.Class_LookupString(p)
	rec.Username, _ = rfc2865.UserName_LookupString(p)
	if mac, err := rfc2865.CallingStationID_LookupString(p); err == nil {
		rec.MAC, _ = access.NormalizeMAC(mac)
	}
	if ip, err := rfc2865.FramedIPAddress_Lookup(p); err == nil {
		rec.IP = ip.String()
	}
	switch st, _ := rfc2866.AcctStatusType_Lookup(p); st {
	case rfc2866.AcctStatusType_Value_Start:
		rec.Kind = access.AcctStart
	case rfc2866.AcctStatusType_Value_Stop:
		rec.Kind = access.AcctStop
	default:
		return nil
	}
	_, err := h.aaa.RecordAccounting(ctx, []access.AcctRecord{rec})
	return err
}

// nasSpec is one simulated BAS of the harness.
type nasSpec struct {
	name    string
	ip      string // 127.0.0.x: the BAS's RADIUS source and BAS-IP
	version int
	auth    string
	subnet  string
}

var harnessNAS = []nasSpec{
	{"bras-v2-chap", "127.0.0.1", 2, "chap", "10.2.0.0/16"},
	{"bras-v1-chap", "127.0.0.2", 1, "chap", "10.1.0.0/16"},
	{"bras-v2-pap", "127.0.0.3", 2, "pap", "10.3.0.0/16"},
	{"bras-v1-pap", "127.0.0.4", 1, "pap", "10.4.0.0/16"},
}

type harness struct {
	t      testing.TB
	st     *store.Store
	portal *Portal
	srv    *httptest.Server
	radius *standIn
	bas    map[string]*bas.BAS
	bport  map[string]*bas.PortalSide
	cfg    Config
	key    logintoken.Key
	notify string
	logs   *lockedBuffer // every service's log, at debug level
}

// lockedBuffer collects log output from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type harnessOpt func(*Config)

func newHarness(t testing.TB, opts ...harnessOpt) *harness {
	t.Helper()
	st := storetest.NewSQLite(t)
	return newHarnessOn(t, st, opts...)
}

func newHarnessOn(t testing.TB, st *store.Store, opts ...harnessOpt) *harness {
	t.Helper()
	return newHarnessAuth(t, st, nil, opts...)
}

// newHarnessAuth is newHarnessOn with a unified identity of its own (a
// directory: no local passwords) when auth is not nil.
func newHarnessAuth(t testing.TB, st *store.Store, auth identity.Authenticator, opts ...harnessOpt) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, st: st, key: logintoken.NewKey(), bas: map[string]*bas.BAS{}, bport: map[string]*bas.PortalSide{}, logs: &lockedBuffer{}}
	var logOut io.Writer = h.logs
	if os.Getenv("PORTAL_TEST_LOG") != "" {
		logOut = io.MultiWriter(h.logs, os.Stderr)
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.radius = &standIn{st: st, aaa: store.NewAAA(st), key: h.key, refuse: map[string]access.Refusal{}}

	// RADIUS server.
	var rnas []*radiusproto.NAS
	for _, n := range harnessNAS {
		rnas = append(rnas, &radiusproto.NAS{Name: n.name, IP: netip.MustParseAddr(n.ip), Secret: []byte("testing123"), Area: "dorm"})
	}
	rs := &radiusproto.Server{NAS: radiusproto.NewStaticNAS(rnas...), Handler: h.radius}
	authC, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acctC, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go rs.Serve(authC, acctC)
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		rs.Shutdown(c)
	})

	// The portal's notify socket first: the BASes need its address.
	notifyC, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.notify = notifyC.LocalAddr().String()

	cfg := Config{Organisation: "测试大学", NodeID: "7", Version: "test", PublicURL: "http://portal.test/",
		Areas:            []access.Area{{Name: "dorm", DisplayName: "宿舍区", DisplayNameEN: "Dorms", Fee: 2000, Cycle: 720 * time.Hour, MaxPC: 1, MaxMobile: 1}},
		BASTimeout:       500 * time.Millisecond,
		PasswordResetURL: "https://id.example.edu.cn/reset", SelfServiceURL: "http://selfaaa.example.edu.cn/",
		PaymentURL: "https://pay.example.edu.cn/", SessionTimeout: 12 * time.Hour, HeartbeatInterval: 50 * time.Millisecond}
	for _, n := range harnessNAS {
		ip := netip.MustParseAddr(n.ip)
		b := bas.New(bas.Config{NASIP: ip, Secret: "testing123", AuthAddr: authC.LocalAddr().String(), AcctAddr: acctC.LocalAddr().String(),
			CoAListen: n.ip + ":0", Log: log, Retry: 200 * time.Millisecond, MaxTries: 2})
		bp := bas.NewPortalSide(b, bas.PortalSideConfig{Secret: "portal-secret", BASIP: ip, NotifyAddr: h.notify,
			NotifyVersion: portalproto.Version(n.version), NotifyWindow: time.Second, Log: log})
		pc, err := net.ListenPacket("udp", n.ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		go bp.Serve(pc)
		cctx, cancelCoA := context.WithCancel(ctx)
		if _, err := b.ListenCoA(); err != nil {
			t.Fatal(err)
		}
		go b.ServeCoA(cctx)
		t.Cleanup(func() {
			cancelCoA()
			c, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			bp.Shutdown(c)
			b.Close()
		})
		h.bas[n.name], h.bport[n.name] = b, bp
		cfg.NAS = append(cfg.NAS, access.BAS{Name: n.name, IP: ip, Area: "dorm", PortalAddr: pc.LocalAddr().String(), PortalVersion: n.version,
			PortalSecret: "portal-secret", PortalAuth: n.auth, UserSubnets: []netip.Prefix{netip.MustParsePrefix(n.subnet)}})
	}
	// Typed-by-hand entry from the test's own address.
	cfg.NAS[0].UserSubnets = append(cfg.NAS[0].UserSubnets, netip.MustParsePrefix("127.0.0.0/8"))
	for _, o := range opts {
		o(&cfg)
	}
	h.cfg = cfg
	deps := Deps{Store: st, TokenKey: h.key, Log: log}
	if auth != nil {
		deps.Auth = auth
	} else {
		local := identity.NewLocal(identity.FromAccounts(st), cheapParams, log)
		deps.Auth, deps.Local = local, local
	}
	p, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	h.portal = p
	go p.ServeNotify(notifyC)
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		p.ShutdownNotify(c)
		p.Close()
	})
	h.srv = httptest.NewServer(p)
	t.Cleanup(h.srv.Close)
	return h
}

// account creates a local account with a balance.
func (h *harness) account(user, pass string, balance access.Fen, mustChange bool) access.Account {
	h.t.Helper()
	ctx := context.Background()
	hash, err := identity.HashPassword(pass, cheapParams)
	if err != nil {
		h.t.Fatal(err)
	}
	a, _, err := h.st.OpenAccount(ctx, access.Account{Username: user, Name: "测试 " + user, Role: access.RoleStudent, PasswordHash: hash, MustChange: mustChange},
		balance, "test", "seed:"+user, "")
	if err != nil {
		h.t.Fatal(err)
	}
	return a
}

// browser is an HTTP client with a cookie jar, like a browser's.
type browser struct {
	h    *harness
	c    *http.Client
	ua   string
	lang string // Accept-Language; "" sends none (the pages speak Chinese)
}

func (h *harness) browser(ua string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return &browser{h: h, ua: ua, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	body   string
	header http.Header
}

func (b *browser) do(req *http.Request) page {
	b.h.t.Helper()
	if b.ua != "" {
		req.Header.Set("User-Agent", b.ua)
	}
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.h.t.Fatal(err)
	}
	return page{resp.StatusCode, string(body), resp.Header}
}

func (b *browser) get(path string) page {
	b.h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.h.srv.URL+path, nil)
	if err != nil {
		b.h.t.Fatal(err)
	}
	return b.do(req)
}

// post submits a form and, as a browser does, follows the 303 See Other
// that answers it with a GET (the page the person then sees and reloads).
func (b *browser) post(path string, form url.Values) page {
	b.h.t.Helper()
	return b.follow(b.postRaw(path, form), nil)
}

// follow is what a browser does with a POST's answer p: a 303 See Other
// becomes a GET of its Location, with the Accept-Language it sends on
// every request (that of post, when given); any other answer is the page.
func (b *browser) follow(p page, post *http.Request) page {
	b.h.t.Helper()
	if p.status != http.StatusSeeOther {
		return p
	}
	loc := p.header.Get("Location")
	if !strings.HasPrefix(loc, "/") {
		b.h.t.Fatalf("POST answered 303 to %q", loc)
	}
	get, err := http.NewRequest(http.MethodGet, b.h.srv.URL+loc, nil)
	if err != nil {
		b.h.t.Fatal(err)
	}
	if post != nil {
		if v := post.Header.Get("Accept-Language"); v != "" {
			get.Header.Set("Accept-Language", v)
		}
	}
	return b.do(get)
}

// postRaw submits a form and returns the answer as it is.
func (b *browser) postRaw(path string, form url.Values) page {
	b.h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.h.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	ticketRE = regexp.MustCompile(`name="ticket" value="([^"]+)"`)
)

// formOf returns the hidden fields of a page's first form.
func formOf(t testing.TB, body string) url.Values {
	t.Helper()
	f := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		f.Set(m[1], htmlUnescape(m[2]))
	}
	if f.Get("csrf") == "" {
		t.Fatalf("no CSRF token in page:\n%s", body)
	}
	return f
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&#43;", "+").Replace(s)
}

// login opens the entry page with query and submits the form.
func (b *browser) login(query url.Values, user, pass string, hints url.Values) page {
	b.h.t.Helper()
	entry := b.get("/?" + query.Encode())
	if entry.status != http.StatusOK {
		b.h.t.Fatalf("entry page: %d\n%s", entry.status, entry.body)
	}
	f := formOf(b.h.t, entry.body)
	f.Set("username", user)
	f.Set("password", pass)
	for k, v := range hints {
		f[k] = v
	}
	return b.post("/login", f)
}

func redirect(nas, ip, mac string) url.Values {
	q := url.Values{"wlanuserip": {ip}, "wlanacname": {nas}}
	if mac != "" {
		q.Set("usermac", mac)
	}
	return q
}

func mustContain(t testing.TB, p page, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(p.body, w) {
			t.Fatalf("page (status %d) lacks %q:\n%s", p.status, w, p.body)
		}
	}
}

// waitOnline waits until the session at ip is online (the BAS's
// Accounting-Start comes after the login's answer).
func (h *harness) waitOnline(ip string) {
	h.t.Helper()
	testwait.For(h.t, "online at "+ip, func() bool {
		s, err := h.st.LiveSessionByIP(context.Background(), ip)
		return err == nil && s.Status == access.SessionOnline
	})
}

// handOver gives ip to another account, as DHCP does when a student leaves
// without an Accounting-Stop reaching us: the old session is closed stale
// and user's session (asid, mac) starts on the same address.
func (h *harness) handOver(ip, user, asid, mac string) {
	h.t.Helper()
	storetest.CloseSessionsByIP(h.t, h.st, ip, "stale")
	aaa := store.NewAAA(h.st)
	defer aaa.Close()
	if _, err := aaa.RecordAccounting(context.Background(), []access.AcctRecord{{Kind: access.AcctStart, NAS: "bras-v2-chap",
		Area: "dorm", AcctSessionID: asid, Username: user, MAC: mac, IP: ip}}); err != nil {
		h.t.Fatal(err)
	}
}
