package main

import (
	"context"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/internal/config"
	"github.com/campusnet/campusnet/internal/ssotest"
	"github.com/campusnet/campusnet/internal/storetest"
)

func freeTCPPort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// ssoServer is a whole campusnet (--demo: its BAS simulator and accounts)
// whose portal and self-service listen on ports chosen first, so that
// their public URLs — single sign-on's return addresses — are known.
type ssoServer struct {
	*e2e
	portal, self string // base URLs, ending in /
	logs         *lockedBuffer
}

func newSSOServer(t *testing.T, kind, ssoTOML string) *ssoServer {
	t.Helper()
	return newSSOServerOn(t, kind, freeTCPPort(t), freeTCPPort(t), ssoTOML)
}

// newSSOServerOn is newSSOServer with the portal on port pp and
// self-service on sp.
func newSSOServerOn(t *testing.T, kind string, pp, sp int, ssoTOML string) *ssoServer {
	t.Helper()
	n := e2eNAS{name: "dorm-bras-1", ip: "127.0.0.1", version: 2, auth: "chap", subnet: "10.0.0.0/16", port: freeUDPPort(t, "127.0.0.1")}
	o := ssoNode{dsn: storetest.DSN(t, kind), node: "t1", portal: pp, public: pp, self: sp, nas: n, coa: freeUDPPort(t, n.ip), sso: ssoTOML}
	s, logs := startServerLogs(t, o.config(t), true)
	return &ssoServer{e2e: &e2e{t: t, s: s, nas: []e2eNAS{n}}, logs: logs, portal: fmt.Sprintf("http://127.0.0.1:%d/", pp), self: fmt.Sprintf("http://127.0.0.1:%d/", sp)}
}

// ssoNode is one node's configuration: its database, id, the ports its
// portal listens on and names in its public URL (two nodes behind one
// address share the latter), self-service's port, the BAS and the
// [identity.sso] section.
type ssoNode struct {
	dsn, node            string
	portal, public, self int
	nas                  e2eNAS
	coa                  int
	sso                  string
}

// ssoTestKey is [server] token_key of every node in these tests.
const ssoTestKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

func (o ssoNode) config(t *testing.T) *config.Config {
	t.Helper()
	n := o.nas
	text := fmt.Sprintf(`
[server]
node_id = %q
database = %q
token_key = %q
[portal]
listen = "127.0.0.1:%d"
public_url = "http://127.0.0.1:%d/"
selfservice_url = "http://127.0.0.1:%d/"
notify_listen = "127.0.0.1:0"
bas_timeout = "700ms"
[radius]
auth_listen = "127.0.0.1:0"
acct_listen = "127.0.0.1:0"
[selfservice]
listen = "127.0.0.1:%d"
[ops]
listen = "127.0.0.1:0"
[[area]]
name = "dorm"
display_name = "宿舍区"
max_pc = 1
max_mobile = 1
fee = 20.00
cycle = "720h"
roles = ["student", "staff", "operator"]
[[nas]]
name = %q
ip = %q
secret = "testing123"
area = "dorm"
coa_port = %d
portal_addr = "%s:%d"
portal_version = 2
portal_secret = "portal-secret"
portal_auth = "chap"
user_subnets = [%q]
%s`, o.node, o.dsn, ssoTestKey, o.portal, o.public, o.self, o.self, n.name, n.ip, o.coa, n.ip, n.port, n.subnet, o.sso)
	cfg, err := config.Parse(text, "sso.toml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// webClient is a browser without JavaScript: a cookie jar, redirects
// followed, and the last callback address it was sent to remembered.
type webClient struct {
	t        *testing.T
	c        *http.Client
	ua       string
	callback string // the last /sso/…/callback URL visited
	stopAt   string // a path prefix at which to stop following redirects
}

func newWebClient(t *testing.T, ua string) *webClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &webClient{t: t, ua: ua}
	w.c = &http.Client{Jar: jar, Timeout: 15 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.Contains(req.URL.Path, "/callback") {
			w.callback = req.URL.String()
		}
		if w.stopAt != "" && strings.HasPrefix(req.URL.Path, w.stopAt) {
			return http.ErrUseLastResponse
		}
		req.Header.Set("User-Agent", w.ua)
		return nil
	}}
	return w
}

func (w *webClient) do(method, u string, form url.Values) (int, string, *http.Response) {
	w.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		w.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", w.ua)
	resp, err := w.c.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	return resp.StatusCode, string(out), resp
}

var ssoHref = regexp.MustCompile(`id="sso-([a-z0-9-]+)" href="([^"]+)"`)

// ssoLink is the href of a provider's button on a page.
func ssoLink(t *testing.T, base, page, provider string) string {
	t.Helper()
	for _, m := range ssoHref.FindAllStringSubmatch(page, -1) {
		if m[1] == provider {
			return strings.TrimSuffix(base, "/") + html.UnescapeString(m[2])
		}
	}
	t.Fatalf("no %s button on the page:\n%s", provider, page)
	return ""
}

// casLogin is a portal login by CAS from a BAS redirect: the button, the
// CAS login form, back to the portal, and the page it ends on.
func (s *ssoServer) casLogin(w *webClient, cas *ssotest.CAS, provider, ip, mac, user, pass string) (int, string) {
	s.t.Helper()
	q := url.Values{"wlanuserip": {ip}, "wlanacname": {"dorm-bras-1"}, "usermac": {mac}, "wlanuserfirsturl": {"http://www.example.edu.cn/"}}
	_, entry, _ := w.do(http.MethodGet, s.portal+"?"+q.Encode(), nil)
	// What the page's script adds: a desktop's platform and screen.
	start := ssoLink(s.t, s.portal, entry, provider) + "&platform=Win32&touch=0&sw=1920&sh=1080"
	code, form, resp := w.do(http.MethodGet, start, nil)
	if !strings.HasPrefix(resp.Request.URL.String(), cas.URL()+"/login") {
		// Already logged in at CAS: straight back to the portal.
		return code, form
	}
	return w.casForm(resp, form, user, pass)
}

// casForm submits the test CAS server's login form.
func (w *webClient) casForm(resp *http.Response, form, user, pass string) (int, string) {
	w.t.Helper()
	if !strings.Contains(form, `name=username`) {
		w.t.Fatalf("not the CAS login form (%s):\n%s", resp.Request.URL, form)
	}
	service := html.UnescapeString(regexp.MustCompile(`name=service value="([^"]*)"`).FindStringSubmatch(form)[1])
	u := *resp.Request.URL
	u.RawQuery = ""
	code, body, _ := w.do(http.MethodPost, u.String(), url.Values{"service": {service}, "username": {user}, "password": {pass}})
	return code, body
}

// refusalCard is a refusal page's card: what a person reads, whichever
// way they logged in.
func refusalCard(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<div class="card bad" role="alert">(.*?)</div>\s*<a class="btn btn2"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no refusal card:\n%s", page)
	}
	return m[1]
}

// TestSSOCASEndToEnd logs in at the portal and in self-service through a
// CAS server (internal/ssotest's, written from the CAS protocol
// specification), protocol 3 with attributes and protocol 2 without, on
// the whole campusnet with its real RADIUS policy: the same online page,
// refusals and accounts as a password login, states single use and tied
// to the browser, no open redirect, a provider that is down, and direct
// RADIUS PAP for an account single sign-on made.
func TestSSOCASEndToEnd(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			cas := ssotest.NewCAS(t, map[string]ssotest.CASUser{
				"student1": {Password: "cas-pass", Attributes: map[string]string{"uid": "student1", "cn": "学生一", "eduPersonAffiliation": "student"}},
				"student2": {Password: "cas-pass", Attributes: map[string]string{"uid": "student2", "eduPersonAffiliation": "student"}},
				"20260001": {Password: "cas-pass", Attributes: map[string]string{"uid": "20260001", "cn": "新同学", "eduPersonAffiliation": "staff"}},
				"visitor1": {Password: "cas-pass", Attributes: map[string]string{"uid": "visitor1", "eduPersonAffiliation": "guest"}},
				"v2user":   {Password: "cas-pass"},
			})
			down := ssotest.NewCAS(t, nil)
			downURL := down.URL()
			down.Close()
			s := newSSOServer(t, kind, fmt.Sprintf(`
[identity.sso]
[[identity.sso.provider]]
name = "cas"
kind = "cas"
display_name = "统一身份认证"
display_name_en = "Unified identity"
server_url = %q
version = 3
account_attribute = "uid"
name_attribute = "cn"
role_attribute = "eduPersonAffiliation"
[[identity.sso.provider]]
name = "cas2"
kind = "cas"
server_url = %q
version = 2
[[identity.sso.provider]]
name = "down"
kind = "cas"
display_name = "备用认证"
display_name_en = "Backup identity"
server_url = %q
`, cas.URL(), cas.URL(), downURL))
			ctx := context.Background()

			t.Run("online like a password login", func(t *testing.T) {
				w := newWebClient(t, e2eWindows)
				code, body := s.casLogin(w, cas, "cas", "10.0.20.1", "00:16:3e:00:20:01", "student1", "cas-pass")
				if code != http.StatusOK {
					t.Fatalf("%d\n%s", code, body)
				}
				online := body
				contains(t, body, "已上线", "student1", "<dd>电脑</dd>", "<dd>宿舍区</dd>", "网络信息中心-t1", "www.example.edu.cn")
				sess := s.waitSession("10.0.20.1", true)
				if sess.Username != "student1" || sess.Class != access.ClassPC || sess.MAC != "00:16:3e:00:20:01" {
					t.Fatalf("session %+v", sess)
				}
				// The state serves one login: the same return address again
				// (a reload, a copied link) is refused, and changes nothing.
				if w.callback == "" || !strings.Contains(w.callback, "ticket=ST-") {
					t.Fatalf("callback not seen: %q", w.callback)
				}
				code, body, _ = w.do(http.MethodGet, w.callback, nil)
				if code != http.StatusBadRequest {
					t.Fatalf("replayed callback: %d\n%s", code, body)
				}
				contains(t, body, "登录链接无效", "已使用、已过期")
				// A changed state is refused before the database is asked.
				u, _ := url.Parse(w.callback)
				q := u.Query()
				st := q.Get("state")
				q.Set("state", st[:len(st)-2]+"AA")
				u.RawQuery = q.Encode()
				code, body, _ = w.do(http.MethodGet, u.String(), nil)
				if code != http.StatusBadRequest || !strings.Contains(body, "登录链接无效") {
					t.Fatalf("tampered state: %d\n%s", code, body)
				}
				// Logging out of the network offers to end the CAS session.
				code, body, _ = w.do(http.MethodPost, s.portal+"logout", hiddenForm(online))
				if code != http.StatusOK {
					t.Fatalf("logout: %d\n%s", code, body)
				}
				contains(t, body, "已注销", `id="sso-logout"`, cas.URL()+"/logout?service=")
				s.waitSession("10.0.20.1", false)
			})

			t.Run("state tied to the browser", func(t *testing.T) {
				a := newWebClient(t, e2eWindows)
				a.stopAt = "/sso/cas/callback"
				q := url.Values{"wlanuserip": {"10.0.20.2"}, "wlanacname": {"dorm-bras-1"}}
				_, entry, _ := a.do(http.MethodGet, s.portal+"?"+q.Encode(), nil)
				_, form, resp := a.do(http.MethodGet, ssoLink(t, s.portal, entry, "cas"), nil)
				a.casForm(resp, form, "student1", "cas-pass")
				if a.callback == "" {
					t.Fatal("no callback")
				}
				// Another browser given the address (a link sent to someone):
				// refused, no session.
				b := newWebClient(t, e2eWindows)
				code, body, _ := b.do(http.MethodGet, a.callback, nil)
				if code != http.StatusBadRequest || !strings.Contains(body, "不属于本浏览器") {
					t.Fatalf("another browser: %d\n%s", code, body)
				}
				if _, err := s.s.st.LiveSessionByIP(ctx, "10.0.20.2"); err == nil {
					t.Fatal("a session from another browser's state")
				}
			})

			t.Run("no open redirect", func(t *testing.T) {
				w := newWebClient(t, e2eWindows)
				w.stopAt = "/cas/login"
				q := url.Values{"wlanuserip": {"10.0.20.3"}, "wlanacname": {"dorm-bras-1"}, "service": {"http://evil.example/"},
					"redirect_uri": {"http://evil.example/"}, "url": {"javascript:alert(1)"}}
				req, _ := http.NewRequest(http.MethodGet, s.portal+"sso/cas/start?"+q.Encode(), nil)
				resp, err := w.c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				loc, err := url.Parse(resp.Header.Get("Location"))
				if err != nil || resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("%s %v", resp.Status, err)
				}
				service := loc.Query().Get("service")
				if !strings.HasPrefix(loc.String(), cas.URL()+"/login?") || !strings.HasPrefix(service, s.portal+"sso/cas/callback?state=") {
					t.Fatalf("sent to %s (service %s)", loc, service)
				}
			})

			t.Run("first login makes the account with the provider's role", func(t *testing.T) {
				w := newWebClient(t, e2eIPhone)
				code, body := s.casLogin(w, cas, "cas", "10.0.20.4", "5e:16:3e:00:20:04", "20260001", "cas-pass")
				// A new account has no balance: the dorm refuses it for arrears.
				if code != http.StatusForbidden {
					t.Fatalf("%d\n%s", code, body)
				}
				contains(t, body, string(access.ReasonArrears), "账户欠费")
				a, err := s.s.st.AccountByUsername(ctx, "20260001")
				if err != nil {
					t.Fatal(err)
				}
				if a.Role != access.RoleStaff || a.Name != "新同学" || a.SSOProvider != "cas" || a.PasswordHash != "" || a.Balance != 0 {
					t.Fatalf("account %+v", a)
				}
			})

			t.Run("direct RADIUS PAP of an SSO account says to use the portal", func(t *testing.T) {
				b := bas.New(bas.Config{NASIP: netip.MustParseAddr("127.0.0.1"), Secret: "testing123", AuthAddr: s.s.Addr("radius-auth"), AcctAddr: s.s.Addr("radius-acct")})
				defer b.Close()
				res, err := b.Authenticate(ctx, bas.AuthRequest{UserName: "20260001", Password: "anything", UserIP: netip.MustParseAddr("10.0.20.5"), MAC: "00:16:3e:00:20:05"})
				if err != nil {
					t.Fatal(err)
				}
				if res.Accepted || !strings.Contains(res.ReplyMessage, "统一身份认证") || !strings.Contains(res.ReplyMessage, "1.1.1.1") {
					t.Fatalf("%+v", res)
				}
				// And the password form says the same, without charging a failure.
				code, body := s.browser(e2eWindows).login("dorm-bras-1", "10.0.20.5", "", "20260001", "anything")
				if code != http.StatusUnauthorized {
					t.Fatalf("%d\n%s", code, body)
				}
				contains(t, body, string(access.ReasonUseSSO), "没有单独的校园网密码")
			})

			t.Run("role not allowed in the area", func(t *testing.T) {
				code, body := s.casLogin(newWebClient(t, e2eWindows), cas, "cas", "10.0.20.6", "00:16:3e:00:20:06", "visitor1", "cas-pass")
				if code != http.StatusForbidden {
					t.Fatalf("%d\n%s", code, body)
				}
				contains(t, body, string(access.ReasonRoleNotAllowed), "guest")
				// The role is kept as the provider gave it, as LDAP's is.
				if a, err := s.s.st.AccountByUsername(ctx, "visitor1"); err != nil || a.Role != "guest" {
					t.Fatalf("account %+v %v", a, err)
				}
			})

			t.Run("a disabled account stays disabled", func(t *testing.T) {
				if err := s.s.st.SetDisabled(ctx, "admin", "student2", true, "违规共享账号"); err != nil {
					t.Fatal(err)
				}
				defer func() { _ = s.s.st.SetDisabled(ctx, "admin", "student2", false, "test over") }()
				code, body := s.casLogin(newWebClient(t, e2eWindows), cas, "cas", "10.0.20.7", "00:16:3e:00:20:07", "student2", "cas-pass")
				if code != http.StatusForbidden {
					t.Fatalf("%d\n%s", code, body)
				}
				contains(t, body, string(access.ReasonAccountDisabled), "违规共享账号")
			})

			t.Run("arrears: the same page as after a password", func(t *testing.T) {
				code, viaSSO := s.casLogin(newWebClient(t, e2eWindows), cas, "cas", "10.0.20.8", "00:16:3e:00:20:08", "student2", "cas-pass")
				if code != http.StatusForbidden {
					t.Fatalf("%d\n%s", code, viaSSO)
				}
				code, viaPassword := s.browser(e2eWindows).login("dorm-bras-1", "10.0.20.8", "00:16:3e:00:20:08", "student2", "student2-pass")
				if code != http.StatusForbidden {
					t.Fatalf("%d\n%s", code, viaPassword)
				}
				if a, b := refusalCard(t, viaSSO), refusalCard(t, viaPassword); a != b || !strings.Contains(a, "账户欠费") {
					t.Fatalf("after SSO:\n%s\nafter a password:\n%s", a, b)
				}
			})

			t.Run("device limit: the same page as after a password", func(t *testing.T) {
				code, body := s.browser(e2eWindows).login("dorm-bras-1", "10.0.20.9", "00:16:3e:00:20:09", "student1", "student1-pass")
				if code != http.StatusOK {
					t.Fatalf("first PC: %d\n%s", code, body)
				}
				s.waitSession("10.0.20.9", true)
				code, viaSSO := s.casLogin(newWebClient(t, e2eWindows), cas, "cas", "10.0.20.10", "00:16:3e:00:20:0a", "student1", "cas-pass")
				if code != http.StatusForbidden {
					t.Fatalf("%d\n%s", code, viaSSO)
				}
				// The password login sends the same device hints as the
				// script did on the way to CAS.
				pw := s.browser(e2eWindows)
				_, entry := pw.do(http.MethodGet, "/?"+url.Values{"wlanuserip": {"10.0.20.10"}, "wlanacname": {"dorm-bras-1"}, "usermac": {"00:16:3e:00:20:0a"}, "wlanuserfirsturl": {"http://www.example.edu.cn/"}}.Encode(), nil)
				f := hiddenForm(entry)
				f.Set("username", "student1")
				f.Set("password", "student1-pass")
				f.Set("platform", "Win32")
				f.Set("touch", "0")
				f.Set("sw", "1920")
				f.Set("sh", "1080")
				code, viaPassword := pw.do(http.MethodPost, "/login", f)
				if code != http.StatusForbidden {
					t.Fatalf("%d\n%s", code, viaPassword)
				}
				if a, b := refusalCard(t, viaSSO), refusalCard(t, viaPassword); a != b || !strings.Contains(a, string(access.ReasonDeviceLimitPC)) {
					t.Fatalf("after SSO:\n%s\nafter a password:\n%s", a, b)
				}
			})

			t.Run("CAS 2.0: cas:user, no attributes", func(t *testing.T) {
				before := cas.Validations.Load()
				code, body := s.casLogin(newWebClient(t, e2eIPhone), cas, "cas2", "10.0.20.11", "5e:16:3e:00:20:0b", "v2user", "cas-pass")
				if code != http.StatusForbidden || cas.Validations.Load() != before+1 {
					t.Fatalf("%d\n%s", code, body)
				}
				contains(t, body, string(access.ReasonArrears))
				a, err := s.s.st.AccountByUsername(ctx, "v2user")
				if err != nil || a.Role != access.RoleStudent || a.SSOProvider != "cas2" {
					t.Fatalf("account %+v %v", a, err)
				}
			})

			t.Run("provider down: a page naming the node, the password form still works", func(t *testing.T) {
				w := newWebClient(t, e2eWindows)
				q := url.Values{"wlanuserip": {"10.0.20.12"}, "wlanacname": {"dorm-bras-1"}}
				_, entry, _ := w.do(http.MethodGet, s.portal+"?"+q.Encode(), nil)
				code, body, _ := w.do(http.MethodGet, ssoLink(t, s.portal, entry, "down"), nil)
				if code != http.StatusServiceUnavailable {
					t.Fatalf("%d\n%s", code, body)
				}
				contains(t, body, "备用认证暂时无法访问（网络信息中心-t1）", `action="/login"`, string(access.ReasonSSOFailed))
				code, body = s.browser(e2eWindows).login("dorm-bras-1", "10.0.20.12", "", "staff1", "staff1-pass")
				if code == http.StatusServiceUnavailable || strings.Contains(body, string(access.ReasonSSOFailed)) {
					t.Fatalf("password login after a provider failure: %d\n%s", code, body)
				}
			})

			t.Run("self-service: provider down names the node, the password form stays", func(t *testing.T) {
				w := newWebClient(t, e2eWindows)
				_, page, _ := w.do(http.MethodGet, s.self+"login", nil)
				code, body, _ := w.do(http.MethodGet, ssoLink(t, s.self, page, "down"), nil)
				if code != http.StatusServiceUnavailable {
					t.Fatalf("%d\n%s", code, body)
				}
				contains(t, body, "备用认证暂时无法访问（网络信息中心-t1）", `name="password"`, string(access.ReasonSSOFailed))
			})

			t.Run("self-service: login, and logout ends the CAS session", func(t *testing.T) {
				w := newWebClient(t, e2eWindows)
				_, page, _ := w.do(http.MethodGet, s.self+"login?next=/devices", nil)
				code, form, resp := w.do(http.MethodGet, ssoLink(t, s.self, page, "cas"), nil)
				if code != http.StatusOK {
					t.Fatalf("%d\n%s", code, form)
				}
				code, body := w.casForm(resp, form, "student1", "cas-pass")
				if code != http.StatusOK || !strings.Contains(body, "student1") || !strings.Contains(body, "00:16:3e:00:20:09") {
					t.Fatalf("devices after SSO: %d\n%s", code, body)
				}
				open := cas.LoggedIn()
				csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
				if csrf == nil {
					t.Fatalf("no csrf:\n%s", body)
				}
				logouts := cas.Logouts.Load()
				code, body, resp = w.do(http.MethodPost, s.self+"logout", url.Values{"csrf": {csrf[1]}})
				if code != http.StatusOK || cas.Logouts.Load() != logouts+1 || cas.LoggedIn() != open-1 || resp.Request.URL.Path != "/login" {
					t.Fatalf("logout: %d at %s, %d CAS sessions (was %d)\n%s", code, resp.Request.URL, cas.LoggedIn(), open, body)
				}
				// The session is gone.
				_, body, resp = w.do(http.MethodGet, s.self, nil)
				if resp.Request.URL.Path != "/login" {
					t.Fatalf("still logged in: %s\n%s", resp.Request.URL, body)
				}
			})
		})
	}
}

// TestSSOOnly: with password_login = false the portal and self-service
// show the single sign-on button and no password form, a password posted
// anyway puts nobody online — without a form token, and with a valid one
// (from the online page's logout form) refused with USE_SSO, changing
// nothing — and the JSON API refuses it with USE_SSO.
func TestSSOOnly(t *testing.T) {
	t.Parallel()
	cas := ssotest.NewCAS(t, map[string]ssotest.CASUser{"student1": {Password: "cas-pass"}})
	s := newSSOServer(t, "sqlite", fmt.Sprintf(`
[identity.sso]
password_login = false
[[identity.sso.provider]]
name = "cas"
kind = "cas"
server_url = %q
`, cas.URL()))
	b := s.browser(e2eWindows)
	_, page := b.do(http.MethodGet, "/?wlanuserip=10.0.40.1&wlanacname=dorm-bras-1", nil)
	contains(t, page, `id="sso-cas"`, "统一身份认证登录")
	if strings.Contains(page, `action="/login"`) || strings.Contains(page, `name="password"`) {
		t.Fatalf("a password form:\n%s", page)
	}
	// A password posted anyway (the page has no form, so no CSRF token
	// either) puts nobody online.
	f := hiddenForm(page)
	f.Set("username", "student1")
	f.Set("password", "student1-pass")
	if code, body := b.do(http.MethodPost, "/login", f); code != http.StatusForbidden {
		t.Fatalf("%d\n%s", code, body)
	}
	if _, err := s.s.st.LiveSessionByIP(context.Background(), "10.0.40.1"); err == nil {
		t.Fatal("a password login went online")
	}
	// A browser online by single sign-on holds a valid form token (its
	// online page's logout form): a password posted with it reaches the
	// login handler, which refuses it and changes nothing.
	ctx := context.Background()
	w := newWebClient(t, e2eWindows)
	code, online := s.casLogin(w, cas, "cas", "10.0.40.2", "00:16:3e:00:40:02", "student1", "cas-pass")
	if code != http.StatusOK {
		t.Fatalf("SSO login: %d\n%s", code, online)
	}
	s.waitSession("10.0.40.2", true)
	before, err := s.s.st.AccountByUsername(ctx, "staff1")
	if err != nil {
		t.Fatal(err)
	}
	csrf := hiddenForm(online).Get("csrf")
	if csrf == "" {
		t.Fatalf("no form token on the online page:\n%s", online)
	}
	for _, pass := range []string{"staff1-pass", "wrong-pass"} {
		code, body, _ := w.do(http.MethodPost, s.portal+"login", url.Values{"csrf": {csrf}, "wlanuserip": {"10.0.40.3"},
			"wlanacname": {"dorm-bras-1"}, "username": {"staff1"}, "password": {pass}})
		if code != http.StatusForbidden || strings.Contains(body, "登录页面已过期") {
			t.Fatalf("password %s: %d\n%s", pass, code, body)
		}
		contains(t, body, string(access.ReasonUseSSO), "没有单独的校园网密码", "统一身份认证登录", `id="sso-cas"`)
		if strings.Contains(body, `name="password"`) {
			t.Fatalf("the refusal shows a password form:\n%s", body)
		}
	}
	if _, err := s.s.st.LiveSessionByIP(ctx, "10.0.40.3"); err == nil {
		t.Fatal("a password login with a valid form token went online")
	}
	if after, err := s.s.st.AccountByUsername(ctx, "staff1"); err != nil || after != before {
		t.Fatalf("the account changed: %+v -> %+v (%v)", before, after, err)
	}
	if sess := s.waitSession("10.0.40.2", true); sess.Username != "student1" {
		t.Fatalf("the SSO session changed: %+v", sess)
	}
	w = newWebClient(t, e2eWindows)
	_, page, _ = w.do(http.MethodGet, s.self+"login", nil)
	if !strings.Contains(page, `id="sso-cas"`) || strings.Contains(page, `name="password"`) {
		t.Fatalf("self-service login page:\n%s", page)
	}
	req, _ := http.NewRequest(http.MethodPost, s.self+"api/v1/login", strings.NewReader(`{"username":"student1","password":"student1-pass"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(out), string(access.ReasonUseSSO)) {
		t.Fatalf("API login: %s %s", resp.Status, out)
	}
}

// TestSSOAcrossNodes: two portal nodes behind one address (the same
// public_url and token_key) on one database — a SQLite file, a PostgreSQL
// schema. A login started at node t1 comes back from CAS to node t2, which
// validates the ticket, consumes the state t1 made and puts the device
// online through the same BAS; the callback then works at neither node
// again.
func TestSSOAcrossNodes(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			cas := ssotest.NewCAS(t, map[string]ssotest.CASUser{"student1": {Password: "cas-pass", Attributes: map[string]string{"uid": "student1"}}})
			section := fmt.Sprintf(`
[identity.sso]
[[identity.sso.provider]]
name = "cas"
kind = "cas"
server_url = %q
version = 3
account_attribute = "uid"
`, cas.URL())
			n := e2eNAS{name: "dorm-bras-1", ip: "127.0.0.1", version: 2, auth: "chap", subnet: "10.0.0.0/16", port: freeUDPPort(t, "127.0.0.1")}
			pp1, pp2 := freeTCPPort(t), freeTCPPort(t)
			one := ssoNode{dsn: storetest.DSN(t, kind), node: "t1", portal: pp1, public: pp1, self: freeTCPPort(t), nas: n, coa: freeUDPPort(t, n.ip), sso: section}
			two := one
			two.node, two.portal, two.self = "t2", pp2, freeTCPPort(t)
			// t1 runs the BAS simulator (--demo); t2 is a second node of the
			// same site, talking to the same BAS.
			s1, logs1 := startServerLogs(t, one.config(t), true)
			_, logs2 := startServerLogs(t, two.config(t), false)
			s := &ssoServer{e2e: &e2e{t: t, s: s1, nas: []e2eNAS{n}}, logs: logs1, portal: fmt.Sprintf("http://127.0.0.1:%d/", pp1)}

			w := newWebClient(t, e2eWindows)
			w.stopAt = "/sso/cas/callback"
			if code, body := s.casLogin(w, cas, "cas", "10.0.50.1", "00:16:3e:00:50:01", "student1", "cas-pass"); code != http.StatusFound && code != http.StatusSeeOther {
				t.Fatalf("CAS did not send the browser back: %d\n%s", code, body)
			}
			back, err := url.Parse(w.callback)
			if err != nil || back.Host != fmt.Sprintf("127.0.0.1:%d", pp1) || !strings.Contains(back.RawQuery, "ticket=ST-") {
				t.Fatalf("callback %q %v", w.callback, err)
			}
			// The load balancer hands the return to the other node.
			back.Host = fmt.Sprintf("127.0.0.1:%d", pp2)
			w.stopAt = ""
			code, body, _ := w.do(http.MethodGet, back.String(), nil)
			if code != http.StatusOK {
				t.Fatalf("at t2: %d\n%s", code, body)
			}
			contains(t, body, "已上线", "student1", "<dd>电脑</dd>", "网络信息中心-t2", "www.example.edu.cn")
			sess := s.waitSession("10.0.50.1", true)
			if sess.Username != "student1" || sess.MAC != "00:16:3e:00:50:01" || sess.Class != access.ClassPC {
				t.Fatalf("session %+v", sess)
			}
			if l1, l2 := logs1.String(), logs2.String(); !strings.Contains(l1, `"msg":"single sign-on started"`) || strings.Contains(l1, `"msg":"single sign-on confirmed"`) ||
				!strings.Contains(l2, `"msg":"single sign-on confirmed"`) {
				t.Fatalf("started at t1, confirmed at t2? t1:\n%s\nt2:\n%s", l1, l2)
			}
			// Spent: the same return at either node is refused.
			for _, host := range []int{pp1, pp2} {
				back.Host = fmt.Sprintf("127.0.0.1:%d", host)
				code, body, _ := w.do(http.MethodGet, back.String(), nil)
				if code != http.StatusBadRequest || !strings.Contains(body, "登录链接无效") {
					t.Fatalf("replayed at port %d: %d\n%s", host, code, body)
				}
			}
		})
	}
}

// TestSSOMustChange: an account whose local password is still the
// initial one (must_change) goes online through single sign-on at the
// portal — the provider proved who it is — while self-service, after the
// same single sign-on, sends it to the password page first: the initial
// password still opens the password form and RADIUS until it is changed.
func TestSSOMustChange(t *testing.T) {
	t.Parallel()
	cas := ssotest.NewCAS(t, map[string]ssotest.CASUser{"student1": {Password: "cas-pass"}})
	s := newSSOServer(t, "sqlite", fmt.Sprintf(`
[identity.sso]
[[identity.sso.provider]]
name = "cas"
kind = "cas"
server_url = %q
`, cas.URL()))
	ctx := context.Background()
	a, err := s.s.st.AccountByUsername(ctx, "student1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.s.st.SetPasswordHash(ctx, "student1", a.PasswordHash, true); err != nil {
		t.Fatal(err)
	}
	// A password login is sent to the change-password page, as before.
	if code, body := s.browser(e2eWindows).login("dorm-bras-1", "10.0.60.1", "", "student1", "student1-pass"); code != http.StatusOK || !strings.Contains(body, `action="/password"`) {
		t.Fatalf("password login: %d\n%s", code, body)
	}
	w := newWebClient(t, e2eWindows)
	code, body := s.casLogin(w, cas, "cas", "10.0.60.2", "00:16:3e:00:60:02", "student1", "cas-pass")
	if code != http.StatusOK {
		t.Fatalf("%d\n%s", code, body)
	}
	contains(t, body, "已上线", "student1")
	if sess := s.waitSession("10.0.60.2", true); sess.Username != "student1" {
		t.Fatalf("session %+v", sess)
	}
	// Self-service, the provider's session still open: straight back, and
	// to the password page.
	_, page, _ := w.do(http.MethodGet, s.self+"login?next=/devices", nil)
	code, body, resp := w.do(http.MethodGet, ssoLink(t, s.self, page, "cas"), nil)
	if code != http.StatusOK || resp.Request.URL.Path != "/password" {
		t.Fatalf("self-service after SSO: %d at %s\n%s", code, resp.Request.URL, body)
	}
	if a, err := s.s.st.AccountByUsername(ctx, "student1"); err != nil || !a.MustChange {
		t.Fatalf("must_change cleared by a single sign-on: %+v %v", a, err)
	}
}
