package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/internal/config"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/portal/portalproto"
)

// freeUDPPort returns a port that was free a moment ago on ip.
func freeUDPPort(t testing.TB, ip string) int {
	t.Helper()
	c, err := net.ListenPacket("udp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

type e2eNAS struct {
	name, ip string
	version  int
	auth     string
	subnet   string
	port     int
}

// e2e is a whole campusnet with --demo (whose BAS simulator is the first
// NAS) and one more simulated BAS per other NAS: HTTP login → portal →
// Portal v1/v2 → BAS → RADIUS (the real policy) → store.
type e2e struct {
	t   *testing.T
	s   *server
	nas []e2eNAS
	bas map[string]*bas.PortalSide
	rad map[string]*bas.BAS // the RADIUS side of the same BASes
}

func newE2E(t *testing.T, kind string) *e2e {
	t.Helper()
	nas := []e2eNAS{
		{"dorm-bras-1", "127.0.0.1", 2, "chap", "10.0.0.0/16", 0},
		{"dorm-bras-v1", "127.0.0.2", 1, "chap", "10.1.0.0/16", 0},
		{"dorm-bras-pap", "127.0.0.3", 2, "pap", "10.2.0.0/16", 0},
		{"dorm-bras-v1pap", "127.0.0.4", 1, "pap", "10.3.0.0/16", 0},
	}
	var nasText strings.Builder
	for i := range nas {
		n := &nas[i]
		n.port = freeUDPPort(t, n.ip)
		fmt.Fprintf(&nasText, `[[nas]]
name = %q
ip = %q
secret = "testing123"
area = "dorm"
coa_port = %d
portal_addr = "%s:%d"
portal_version = %d
portal_secret = "portal-secret"
portal_auth = %q
user_subnets = [%q]
`, n.name, n.ip, freeUDPPort(t, n.ip), n.ip, n.port, n.version, n.auth, n.subnet)
	}
	cfg := testConfig(t, storetest.DSN(t, kind), nasText.String())
	cfg.Portal.BASTimeout.Duration = 700 * time.Millisecond
	s := startServer(t, cfg, true)
	e := &e2e{t: t, s: s, nas: nas, bas: map[string]*bas.PortalSide{}, rad: map[string]*bas.BAS{}}
	for _, n := range nas[1:] {
		ip := netip.MustParseAddr(n.ip)
		b := bas.New(bas.Config{NASIP: ip, Secret: "testing123", AuthAddr: s.Addr("radius-auth"), AcctAddr: s.Addr("radius-acct"), NASIdentifier: n.name})
		bp := bas.NewPortalSide(b, bas.PortalSideConfig{Secret: "portal-secret", BASIP: ip, NotifyAddr: s.Addr("portal-notify"), NotifyVersion: portalproto.Version(n.version)})
		pc, err := net.ListenPacket("udp", fmt.Sprintf("%s:%d", n.ip, n.port))
		if err != nil {
			t.Fatal(err)
		}
		go bp.Serve(pc)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			bp.Shutdown(ctx)
			b.Close()
		})
		e.bas[n.name], e.rad[n.name] = bp, b
	}
	return e
}

type e2eBrowser struct {
	e  *e2e
	c  *http.Client
	ua string
}

func (e *e2e) browser(ua string) *e2eBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &e2eBrowser{e: e, ua: ua, c: &http.Client{Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *e2eBrowser) do(method, path string, form url.Values) (int, string) {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, "http://"+b.e.s.Addr("portal")+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", b.ua)
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if resp.Header.Get("X-Portal-Node") != "t1" {
		b.e.t.Fatalf("%s %s: no X-Portal-Node", method, path)
	}
	// A form POST answers 303 See Other: follow it with a GET, as a
	// browser does.
	if loc := resp.Header.Get("Location"); resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(loc, "/") {
		return b.do(http.MethodGet, loc, nil)
	}
	return resp.StatusCode, string(out)
}

var e2eHidden = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

func hiddenForm(body string) url.Values {
	f := url.Values{}
	for _, m := range e2eHidden.FindAllStringSubmatch(body, -1) {
		f.Set(m[1], html.UnescapeString(m[2]))
	}
	return f
}

func (b *e2eBrowser) login(nas, ip, mac, user, pass string) (int, string) {
	b.e.t.Helper()
	q := url.Values{"wlanuserip": {ip}, "wlanacname": {nas}}
	if mac != "" {
		q.Set("wlanusermac", mac)
	}
	_, entry := b.do(http.MethodGet, "/?"+q.Encode(), nil)
	f := hiddenForm(entry)
	f.Set("username", user)
	f.Set("password", pass)
	return b.do(http.MethodPost, "/login", f)
}

func (e *e2e) waitSession(ip string, online bool) access.Session {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		sess, err := e.s.st.LiveSessionByIP(context.Background(), ip)
		if online && err == nil && sess.Status == access.SessionOnline {
			return sess
		}
		if !online && err != nil {
			return sess
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("session of %s online=%v: never (%+v, %v)", ip, online, sess, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func contains(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Fatalf("page lacks %q:\n%s", w, body)
		}
	}
}

const (
	e2eWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	e2eIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)

func TestPortalEndToEnd(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := newE2E(t, kind)
			ctx := context.Background()

			t.Run("accept and logout on every version and method", func(t *testing.T) {
				for i, n := range e.nas {
					ip := strings.Replace(n.subnet, "0.0/16", "5.", 1) + fmt.Sprint(10+i)
					b := e.browser(e2eWindows)
					code, body := b.login(n.name, ip, fmt.Sprintf("00-16-3E-00-05-%02X", i), "student1", "student1-pass")
					if code != http.StatusOK {
						t.Fatalf("%s: %d\n%s", n.name, code, body)
					}
					contains(t, body, "已上线", "student1", "<dd>电脑</dd>", "<dd>宿舍区</dd>", "网络信息中心-t1")
					sess := e.waitSession(ip, true)
					if sess.NAS != n.name || sess.Class != access.ClassPC || sess.MAC != fmt.Sprintf("00:16:3e:00:05:%02x", i) {
						t.Fatalf("session %+v", sess)
					}
					code, body = b.do(http.MethodPost, "/logout", hiddenForm(body))
					if code != http.StatusOK {
						t.Fatalf("logout: %d\n%s", code, body)
					}
					contains(t, body, "已注销")
					e.waitSession(ip, false)
				}
				// The first Accounting-Start in the dorm started a cycle.
				a, err := e.s.st.AccountByUsername(ctx, "student1")
				if err != nil {
					t.Fatal(err)
				}
				if c, err := e.s.st.ActiveCycle(ctx, a.ID, "dorm"); err != nil || c.Fee != 2000 {
					t.Fatalf("no dorm cycle after the first session: %+v %v", c, err)
				}
			})

			t.Run("arrears", func(t *testing.T) {
				code, body := e.browser(e2eWindows).login("dorm-bras-1", "10.0.6.1", "", "student2", "student2-pass")
				if code != http.StatusForbidden {
					t.Fatalf("%d\n%s", code, body)
				}
				contains(t, body, "账户欠费", "10.00", "20.00", string(access.ReasonArrears))
			})

			t.Run("device limit, already online, NTF_LOGOUT", func(t *testing.T) {
				pc := e.browser(e2eWindows)
				code, body := pc.login("dorm-bras-1", "10.0.7.1", "00:16:3e:00:07:01", "student1", "student1-pass")
				if code != http.StatusOK {
					t.Fatalf("%d\n%s", code, body)
				}
				ticket := hiddenForm(body).Get("ticket")
				sess := e.waitSession("10.0.7.1", true)
				// A second PC: refused, naming the first one.
				code, body = e.browser(e2eWindows).login("dorm-bras-v1", "10.1.7.2", "00:16:3e:00:07:02", "student1", "student1-pass")
				if code != http.StatusForbidden {
					t.Fatalf("second PC: %d\n%s", code, body)
				}
				contains(t, body, string(access.ReasonDeviceLimitPC), "00-16-3E-00-07-01", "10.0.7.1", "电脑模式", "自服务系统")
				// A phone is fine.
				code, body = e.browser(e2eIPhone).login("dorm-bras-pap", "10.2.7.3", "", "student1", "student1-pass")
				if code != http.StatusOK {
					t.Fatalf("phone: %d\n%s", code, body)
				}
				contains(t, body, "<dd>移动设备</dd>")
				// The phone's status page shows the traffic the BAS reported
				// in its last Interim-Update, as RADIUS recorded it (the
				// simulator's own few MiB do not show at this scale).
				phone := e.waitSession("10.2.7.3", true)
				if err := e.rad["dorm-bras-pap"].AddTraffic(phone.AcctSessionID, 3<<30+300<<20, 5<<30+512<<20); err != nil {
					t.Fatal(err)
				}
				if err := e.rad["dorm-bras-pap"].Interim(ctx, phone.AcctSessionID); err != nil {
					t.Fatal(err)
				}
				phoneTicket := hiddenForm(body).Get("ticket")
				_, body = e.browser(e2eIPhone).do(http.MethodGet, "/status?ticket="+url.QueryEscape(phoneTicket), nil)
				contains(t, body, "在线", "<dt>流量</dt>", "↑ 3.3 GiB · ↓ 5.5 GiB")
				// The same address again: the BAS says "already online".
				code, body = e.browser(e2eWindows).login("dorm-bras-1", "10.0.7.1", "00:16:3e:00:07:01", "student1", "student1-pass")
				if code != http.StatusOK {
					t.Fatalf("again: %d\n%s", code, body)
				}
				contains(t, body, "该地址已在线")
				// An operator kicks the PC: Disconnect-Request → ACK → Stop → NTF_LOGOUT.
				out, err := e.s.disc.DisconnectSession(ctx, sess.ID, "admin", "e2e test")
				if err != nil || !out.ACK {
					t.Fatalf("disconnect: %+v %v", out, err)
				}
				e.waitSession("10.0.7.1", false)
				deadline := time.Now().Add(5 * time.Second)
				for {
					_, body = pc.do(http.MethodGet, "/status?ticket="+url.QueryEscape(ticket), nil)
					if strings.Contains(body, "dorm-bras-1 已于") || time.Now().After(deadline) {
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				contains(t, body, "未在线", "dorm-bras-1 已于")
			})

			t.Run("wrong password", func(t *testing.T) {
				code, body := e.browser(e2eWindows).login("dorm-bras-1", "10.0.8.1", "", "student1", "nope")
				if code != http.StatusUnauthorized {
					t.Fatalf("%d", code)
				}
				contains(t, body, "用户名或密码错误")
			})

			t.Run("initial password must change", func(t *testing.T) {
				hash, err := identity.HashPassword("110105", identity.InitialParams)
				if err != nil {
					t.Fatal(err)
				}
				_, _, err = e.s.st.OpenAccount(ctx, access.Account{Username: "fresh1", Role: access.RoleStudent, PasswordHash: hash, MustChange: true},
					2000, "test", "e2e:fresh1", "")
				if err != nil {
					t.Fatal(err)
				}
				b := e.browser(e2eWindows)
				_, body := b.login("dorm-bras-v1pap", "10.3.9.1", "", "fresh1", "110105")
				contains(t, body, "修改初始密码")
				f := hiddenForm(body)
				f.Set("password", "110105")
				f.Set("new", "a-much-better-one")
				f.Set("new2", "a-much-better-one")
				code, body := b.do(http.MethodPost, "/password", f)
				if code != http.StatusOK {
					t.Fatalf("%d\n%s", code, body)
				}
				contains(t, body, "已上线", "fresh1")
			})

			t.Run("BAS silent", func(t *testing.T) {
				e.bas["dorm-bras-v1pap"].SetSilent(true)
				defer e.bas["dorm-bras-v1pap"].SetSilent(false)
				code, body := e.browser(e2eWindows).login("dorm-bras-v1pap", "10.3.9.9", "", "staff1", "staff1-pass")
				if code != http.StatusServiceUnavailable {
					t.Fatalf("%d\n%s", code, body)
				}
				contains(t, body, "portal not response", "网络信息中心-t1", string(access.ReasonBASTimeout))
			})
		})
	}
}

func TestDemoPrintsHowToTry(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "sqlite:"+filepath.Join(t.TempDir(), "c.db"), "")
	st := storetest.NewSQLite(t)
	if err := seedDemo(context.Background(), st, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	s := &server{cfg: cfg, st: st, addrs: map[string]string{"portal": "127.0.0.1:8080", "radius-auth": "127.0.0.1:1812", "radius-acct": "127.0.0.1:1813",
		"demo-portal": "127.0.0.1:2000", "demo-coa": "127.0.0.1:3799", "portal-notify": "127.0.0.1:50100", "ops": "127.0.0.1:9100"}}
	def, err := config.Load("")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	printDemo(context.Background(), &out, s, demoNAS(def))
	for _, w := range []string{"http://127.0.0.1:8080/", "student1 / student1-pass", "radtest -x student1 student1-pass 127.0.0.1 0 testing123", "Portal v2/chap on 127.0.0.1:2000"} {
		if !strings.Contains(out.String(), w) {
			t.Fatalf("demo text lacks %q:\n%s", w, out.String())
		}
	}
}
