package portal

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/i18n"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/ldaptest"
	"github.com/campusnet/campusnet/internal/logintoken"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/internal/testwait"
)

const (
	uaWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
	uaIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	// Xiaomi browser in desktop mode: a desktop UA, the page's script
	// reports an ARM platform with touch.
	uaDesktopMode = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)

func TestLoginAcceptEveryVersionAndMethod(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.account("student1", "student1-pass", 5000, false)
	for i, n := range harnessNAS {
		t.Run(n.name, func(t *testing.T) {
			ip := strings.Replace(n.subnet, "0.0/16", "0.", 1) + "10"
			mac := "00:16:3e:00:00:0" + string(rune('1'+i))
			b := h.browser(uaWindows)
			p := b.login(redirect(n.name, ip, mac), "student1", "student1-pass", nil)
			if p.status != http.StatusOK {
				t.Fatalf("status %d\n%s", p.status, p.body)
			}
			mustContain(t, p, "已上线", "student1", "电脑", "宿舍区", "50.00", "测试大学 网络信息中心-7", ip)
			if got := p.header.Get("X-Portal-Node"); got != "7" {
				t.Fatalf("X-Portal-Node = %q", got)
			}
			// The token was single-use and used; the session went online
			// with Accounting-Start; the device class is remembered.
			testwait.For(t, "session online", func() bool {
				s, err := h.st.LiveSessionByIP(context.Background(), ip)
				return err == nil && s.Status == access.SessionOnline && s.NAS == n.name
			})
			if used := storetest.UsedLoginTokens(t, h.st, ip); used != 1 {
				t.Fatalf("used tokens for %s: %d", ip, used)
			}
			d := storetest.Device(t, h.st, a.ID, mac)
			class, signals := d.Class, d.Signals
			if class != access.ClassPC || !strings.Contains(signals, "Windows") {
				t.Fatalf("device: %q %q", class, signals)
			}
			// The BAS saw the token, never the password.
			if _, ok := h.bport[n.name].Online(netip.MustParseAddr(ip)); !ok {
				t.Fatalf("BAS %s does not have %s online", n.name, ip)
			}
		})
	}
}

func TestDeviceClassFromPageHints(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.account("u1", "password-1", 5000, false)
	tests := []struct {
		name, ua string
		hints    url.Values
		want     access.Class
		desktop  bool
	}{
		{"iphone", uaIPhone, url.Values{"platform": {"iPhone"}, "touch": {"5"}, "sw": {"390"}, "sh": {"844"}}, access.ClassMobile, false},
		{"xiaomi desktop mode", uaDesktopMode, url.Values{"platform": {"Linux armv8l"}, "touch": {"5"}, "sw": {"393"}, "sh": {"873"}}, access.ClassMobile, true},
		{"windows laptop", uaWindows, url.Values{"platform": {"Win32"}, "touch": {"0"}, "sw": {"1920"}, "sh": {"1080"}}, access.ClassPC, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ip := "10.2.9." + string(rune('1'+i))
			mac := "00:16:3e:00:09:0" + string(rune('1'+i))
			p := h.browser(tt.ua).login(redirect("bras-v2-chap", ip, mac), "u1", "password-1", tt.hints)
			mustContain(t, p, "已上线", "<dd>"+i18n.For(i18n.Chinese).T(access.ClassMessage(tt.want))+"</dd>")
			if got := strings.Contains(p.body, "电脑模式"); got != tt.desktop {
				t.Fatalf("desktop-mode note shown = %v, want %v", got, tt.desktop)
			}
			if class := storetest.Device(t, h.st, a.ID, mac).Class; class != tt.want {
				t.Fatalf("remembered class %q, want %q", class, tt.want)
			}
		})
	}
}

func TestRefusalPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("u1", "password-1", 1000, false)
	since := time.Date(2026, 11, 22, 8, 30, 0, 0, time.Local)
	tests := []struct {
		name   string
		rf     access.Refusal
		status int
		wants  []string
	}{
		{"arrears", access.RefuseArrears(1000, 2000, "https://pay.example.edu.cn/"), http.StatusForbidden,
			[]string{"账户欠费", "10.00", "20.00", `href="https://pay.example.edu.cn/"`, "去充值", string(access.ReasonArrears)}},
		{"device limit pc", access.RefuseDeviceLimit(access.ClassPC, 1, access.OnlineDevice{MAC: "00:11:22:33:44:55", IP: "10.2.0.99", Since: since}), http.StatusForbidden,
			[]string{"只允许 1 台电脑", "00:11:22:33:44:55", "10.2.0.99", "电脑模式", `href="http://selfaaa.example.edu.cn/"`, string(access.ReasonDeviceLimitPC)}},
		{"device limit mobile", access.RefuseDeviceLimit(access.ClassMobile, 1, access.OnlineDevice{MAC: "02:11:22:33:44:55", IP: "10.2.0.98", Since: since}), http.StatusForbidden,
			[]string{"移动设备", "02:11:22:33:44:55", "selfaaa.example.edu.cn", string(access.ReasonDeviceLimitMobile)}},
		{"disabled", access.RefuseDisabled("违规"), http.StatusForbidden, []string{"账户已被停用", "违规", string(access.ReasonAccountDisabled)}},
		{"role", access.RefuseRole("dorm", "staff"), http.StatusForbidden, []string{"不对 staff 身份开放", string(access.ReasonRoleNotAllowed)}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.radius.setRefusal("u1", &tt.rf)
			defer h.radius.setRefusal("u1", nil)
			p := h.browser(uaWindows).login(redirect("bras-v2-chap", "10.2.8."+string(rune('1'+i)), ""), "u1", "password-1", nil)
			if p.status != tt.status {
				t.Fatalf("status %d, want %d\n%s", p.status, tt.status, p.body)
			}
			mustContain(t, p, append(tt.wants, "未能上线", "重新登录", access.Explain(tt.rf.Code)[:30])...)
		})
	}
}

func TestWrongPasswordAndForgotten(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("u1", "password-1", 0, false)
	p := h.browser(uaWindows).login(redirect("bras-v2-chap", "10.2.0.5", ""), "u1", "wrong", nil)
	if p.status != http.StatusUnauthorized {
		t.Fatalf("status %d", p.status)
	}
	mustContain(t, p, "用户名或密码错误", `href="https://id.example.edu.cn/reset"`, `name="password"`, `value="u1"`)
	// The BAS was never asked.
	if st := h.bport["bras-v2-chap"].Stats(); st.Server.Received != 0 {
		t.Fatalf("the BAS heard about a wrong password: %+v", st)
	}
}

// TestForgottenWithoutResetSite: with no unified identity reset site, a
// wrong password's page sends the person to the service desk the
// configuration names, which is also at the foot of every page.
func TestForgottenWithoutResetSite(t *testing.T) {
	t.Parallel()
	const desk = "图书馆一楼 · 0571-12345678"
	h := newHarness(t, func(c *Config) { c.PasswordResetURL, c.Helpdesk = "", desk })
	h.account("u1", "password-1", 0, false)
	p := h.browser(uaWindows).login(redirect("bras-v2-chap", "10.2.0.5", ""), "u1", "wrong", nil)
	mustContain(t, p, "用户名或密码错误", "网络信息中心服务台重置", "<small>"+desk+"</small></footer>")
	if n := strings.Count(p.body, desk); n != 1 {
		t.Fatalf("the help desk is named %d times, want once (the footer):\n%s", n, p.body)
	}
	if strings.Contains(p.body, "id.example.edu.cn") {
		t.Fatalf("a reset link with no reset site:\n%s", p.body)
	}
}

// expiredDirectory is a unified identity whose one person's password has
// expired there.
type expiredDirectory struct{}

func (expiredDirectory) Authenticate(_ context.Context, user, password string) (identity.Person, error) {
	if user == "d2026" && password == "right-pass" {
		return identity.Person{}, fmt.Errorf("%w: password expired", identity.ErrPasswordExpired)
	}
	return identity.Person{}, identity.ErrBadCredentials
}

// newcomerDirectory is a unified identity with one person who has never
// logged in to campusnet.
type newcomerDirectory struct{}

func (newcomerDirectory) Authenticate(_ context.Context, user, password string) (identity.Person, error) {
	if strings.EqualFold(user, "d2027") && password == "right-pass" {
		return identity.Person{ID: "d2027", Name: "新同学", Role: access.RoleStaff}, nil
	}
	return identity.Person{}, identity.ErrBadCredentials
}

// TestDirectoryFirstLogin: a directory person with no campusnet account yet
// gets one at the first portal login (name and role from the directory)
// and goes online, instead of being told the account is disabled.
func TestDirectoryFirstLogin(t *testing.T) {
	t.Parallel()
	st := storetest.NewSQLite(t)
	h := newHarnessAuth(t, st, newcomerDirectory{})
	p := h.browser(uaWindows).login(redirect("bras-v2-chap", "10.2.0.9", ""), "D2027", "right-pass", nil)
	mustContain(t, p, "已上线", "d2027")
	if strings.Contains(p.body, "停用") {
		t.Fatalf("a newcomer called disabled:\n%s", p.body)
	}
	a, err := st.AccountByUsername(context.Background(), "d2027")
	if err != nil || a.Name != "新同学" || a.Role != access.RoleStaff || a.Balance != 0 {
		t.Fatalf("the newcomer's account: %+v %v", a, err)
	}
}

// TestLDAPFirstLogin: the same against a real OpenLDAP directory (slapd):
// a student the directory knows, who never logged in to campusnet, goes
// online at the first portal login, and the account carries the
// directory's name and role; a wrong password is still wrong.
func TestLDAPFirstLogin(t *testing.T) {
	t.Parallel()
	dir := ldaptest.Run(t)
	dir.Seed(ldaptest.Person{UID: "s2027001", CN: "Zhou Xin", Password: "dir-pass-1", Role: "student"})
	l, err := identity.NewLDAP(identity.LDAPConfig{URL: dir.URL(), BindDN: ldaptest.BindDN, BindPassword: ldaptest.BindPW,
		BaseDN: ldaptest.Suffix, UserFilter: "(&(objectClass=inetOrgPerson)(uid=%s))", RoleAttribute: "employeeType",
		Timeout: 3 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	st := storetest.NewSQLite(t)
	h := newHarnessAuth(t, st, l)
	if p := h.browser(uaWindows).login(redirect("bras-v2-chap", "10.2.0.12", ""), "s2027001", "wrong", nil); p.status != http.StatusUnauthorized {
		t.Fatalf("a wrong password: %d", p.status)
	}
	p := h.browser(uaWindows).login(redirect("bras-v2-chap", "10.2.0.11", ""), "s2027001", "dir-pass-1", nil)
	mustContain(t, p, "已上线", "s2027001")
	a, err := st.AccountByUsername(context.Background(), "s2027001")
	if err != nil || a.Name != "Zhou Xin" || a.Role != access.RoleStudent {
		t.Fatalf("the account made at the first login: %+v %v", a, err)
	}
}

// TestDirectoryPasswordExpired: unified identity says the password is right
// but expired: the page says so and links to the reset page, instead of
// "wrong password" or "account disabled"; the BAS is never asked.
func TestDirectoryPasswordExpired(t *testing.T) {
	t.Parallel()
	h := newHarnessAuth(t, storetest.NewSQLite(t), expiredDirectory{})
	p := h.browser(uaWindows).login(redirect("bras-v2-chap", "10.2.0.7", ""), "d2026", "right-pass", nil)
	if p.status != http.StatusForbidden {
		t.Fatalf("status %d", p.status)
	}
	mustContain(t, p, "密码已过期", string(access.ReasonPasswordExpired), `href="https://id.example.edu.cn/reset"`)
	en := h.browser(uaWindows)
	en.lang = "en-GB,en;q=0.9"
	mustContain(t, en.login(redirect("bras-v2-chap", "10.2.0.7", ""), "d2026", "right-pass", nil), "has expired", string(access.ReasonPasswordExpired))
	if strings.Contains(p.body, "停用") || strings.Contains(p.body, "用户名或密码错误") {
		t.Fatalf("the page calls it something else:\n%s", p.body)
	}
	if st := h.bport["bras-v2-chap"].Stats(); st.Server.Received != 0 {
		t.Fatalf("the BAS heard about it: %+v", st)
	}
	wrong := h.browser(uaWindows).login(redirect("bras-v2-chap", "10.2.0.8", ""), "d2026", "wrong-pass", nil)
	if wrong.status != http.StatusUnauthorized || strings.Contains(wrong.body, "过期") {
		t.Fatalf("a wrong password: status %d, tells of expiry: %v", wrong.status, strings.Contains(wrong.body, "过期"))
	}
}

func TestAlreadyOnlineIsSuccess(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("u1", "password-1", 5000, false)
	q := redirect("bras-v2-chap", "10.2.0.6", "")
	mustContain(t, h.browser(uaWindows).login(q, "u1", "password-1", nil), "已上线")
	p := h.browser(uaWindows).login(q, "u1", "password-1", nil)
	if p.status != http.StatusOK {
		t.Fatalf("status %d\n%s", p.status, p.body)
	}
	mustContain(t, p, "已上线", "该地址已在线")
}

// TestAlreadyOnlineAsAnotherAccount: when the BAS answers "already online"
// for an address that is online under another account, the portal says so
// (without naming that account) instead of "online", and leaves that
// session alone.
func TestAlreadyOnlineAsAnotherAccount(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("u1", "password-1", 5000, false)
	h.account("roommate", "password-2", 5000, false)
	q := redirect("bras-v2-chap", "10.2.0.16", "")
	mustContain(t, h.browser(uaWindows).login(q, "roommate", "password-2", nil), "已上线")
	h.waitOnline("10.2.0.16")
	p := h.browser(uaWindows).login(q, "u1", "password-1", nil)
	if p.status != http.StatusConflict {
		t.Fatalf("status %d, want 409\n%s", p.status, p.body)
	}
	mustContain(t, p, "另一个账号", string(access.ReasonAlreadyOnline), `href="/status"`)
	if strings.Contains(p.body, "roommate") || strings.Contains(p.body, "已上线") {
		t.Fatalf("the page names the other account or says online:\n%s", p.body)
	}
	if s, err := h.st.LiveSessionByIP(context.Background(), "10.2.0.16"); err != nil || s.Username != "roommate" {
		t.Fatalf("the roommate's session: %+v %v", s, err)
	}
	// The BAS still has the address online but no live row says whose (the
	// reaper closed it): nothing is granted either, least of all a ticket.
	storetest.CloseSessionsByIP(t, h.st, "10.2.0.16", "")
	p = h.browser(uaWindows).login(q, "u1", "password-1", nil)
	if p.status != http.StatusConflict || strings.Contains(p.body, "ticket") {
		t.Fatalf("unknown holder: status %d\n%s", p.status, p.body)
	}
}

// TestTicketOnlyForItsOwnAccount: a status or logout ticket is for its
// account's session: once the address is someone else's (a reused DHCP
// lease), the status page reads "not online" without that person's name,
// balance or a fresh ticket, and the logout does nothing.
func TestTicketOnlyForItsOwnAccount(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("u1", "password-1", 5000, false)
	h.account("next", "password-2", 4321, false)
	const ip = "10.2.0.41"
	b := h.browser(uaWindows)
	p := b.login(redirect("bras-v2-chap", ip, ""), "u1", "password-1", nil)
	tm := ticketRE.FindStringSubmatch(p.body)
	if tm == nil {
		t.Fatalf("no ticket:\n%s", p.body)
	}
	ctx := context.Background()
	h.waitOnline(ip)
	// u1 leaves without a Stop reaching us; the lease goes to "next".
	h.handOver(ip, "next", "NEXT1", "02:00:00:00:00:41")
	ticket := url.QueryEscape(htmlUnescape(tm[1]))
	st := b.get("/status?ticket=" + ticket)
	mustContain(t, st, "未在线")
	if strings.Contains(st.body, "next") || strings.Contains(st.body, "43.21") || strings.Contains(st.body, "/logout") {
		t.Fatalf("u1's ticket shows the new holder of the address:\n%s", st.body)
	}
	f := formOf(t, p.body)
	if out := b.post("/logout", f); out.status != http.StatusForbidden {
		t.Fatalf("u1's logout of the new holder: %d\n%s", out.status, out.body)
	}
	if s, err := h.st.LiveSessionByIP(ctx, ip); err != nil || s.Username != "next" {
		t.Fatalf("the new holder's session: %+v %v", s, err)
	}
}

// TestRedirectNeverShowsAStaleSession: a person who types the portal's
// address sees their own address's session; one the BAS redirects (so the
// BAS does not have the address online) gets the login form, even when a
// stale row for that address — perhaps someone else's, from a reused DHCP
// lease — is still live.
func TestRedirectNeverShowsAStaleSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("previous", "password-2", 4321, false)
	b := h.browser(uaWindows)
	mustContain(t, b.login(url.Values{}, "previous", "password-2", nil), "已上线")
	h.waitOnline("127.0.0.1")
	mustContain(t, b.get("/"), "在线", "previous", "43.21")
	p := h.browser(uaWindows).get("/?wlanuserip=127.0.0.1&wlanacname=bras-v2-chap")
	mustContain(t, p, "校园网认证", `action="/login"`)
	if strings.Contains(p.body, "previous") || strings.Contains(p.body, "43.21") {
		t.Fatalf("a redirected entry shows the live row's account:\n%s", p.body)
	}
}

// TestOperatorClassOverridesSignals: a device an operator bound as mobile
// (a phone stuck in desktop mode) logs in as mobile whatever its browser
// says, and the login does not overwrite that class; the same browser on
// another MAC is a PC.
func TestOperatorClassOverridesSignals(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.account("u1", "password-1", 5000, false)
	const phone = "00:16:3e:aa:00:01"
	if _, err := h.st.BindDevice(context.Background(), a.ID, phone, access.ClassMobile, "desk1", "", 0); err != nil {
		t.Fatal(err)
	}
	p := h.browser(uaWindows).login(redirect("bras-v2-chap", "10.2.0.31", phone), "u1", "password-1", nil)
	mustContain(t, p, "已上线", "移动设备")
	devs, err := h.st.DevicesByAccount(context.Background(), a.ID)
	if err != nil || len(devs) != 1 || devs[0].Class != access.ClassMobile || devs[0].BoundBy != "desk1" {
		t.Fatalf("the operator's device after a desktop-mode login: %+v %v", devs, err)
	}
	p = h.browser(uaWindows).login(redirect("bras-v2-chap", "10.2.0.32", "00:16:3e:aa:00:02"), "u1", "password-1", nil)
	mustContain(t, p, "已上线", "电脑")
}

func TestLogoutAndStatus(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("u1", "password-1", 5000, false)
	b := h.browser(uaWindows)
	ip := "10.1.0.7"
	p := b.login(redirect("bras-v1-chap", ip, ""), "u1", "password-1", nil)
	mustContain(t, p, "已上线")
	tm := ticketRE.FindStringSubmatch(p.body)
	if tm == nil {
		t.Fatal("no logout ticket")
	}
	h.waitOnline(ip)
	st := b.get("/status?ticket=" + url.QueryEscape(htmlUnescape(tm[1])))
	mustContain(t, st, "在线", "u1", ip, "流量", "↑ 0 B · ↓ 0 B")
	// Times carry their zone.
	if !zonedRE.MatchString(st.body) {
		t.Fatalf("status page times without a zone:\n%s", st.body)
	}
	enB := h.browser(uaWindows)
	enB.lang = "en"
	stEN := enB.get("/status?ticket=" + url.QueryEscape(htmlUnescape(tm[1])))
	mustContain(t, stEN, "Online", "Traffic", "Dorms", "yuan", "as the access device reported at")
	if hanOutsideFooter(stEN.body) {
		t.Fatalf("English status page has Chinese:\n%s", stEN.body)
	}
	// A forged ticket logs nobody out.
	f := formOf(t, p.body)
	f.Set("ticket", "eyJpIjoiMTAuMS4wLjcifQ.forged")
	if bad := b.post("/logout", f); bad.status != http.StatusForbidden {
		t.Fatalf("forged ticket: %d", bad.status)
	}
	out := b.post("/logout", formOf(t, p.body))
	mustContain(t, out, "已注销")
	testwait.For(t, "session closed", func() bool {
		_, err := h.st.LiveSessionByIP(context.Background(), ip)
		return err != nil
	})
	if _, ok := h.bport["bras-v1-chap"].Online(netip.MustParseAddr(ip)); ok {
		t.Fatal("still online at the BAS")
	}
	mustContain(t, b.get("/status?ticket="+url.QueryEscape(htmlUnescape(tm[1]))), "未在线")
}

func TestNotifyLogoutShownOnStatus(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("u1", "password-1", 5000, false)
	b := h.browser(uaWindows)
	ip := "10.2.0.8"
	mac := "00:16:3e:aa:bb:cc"
	p := b.login(redirect("bras-v2-chap", ip, mac), "u1", "password-1", nil)
	tm := ticketRE.FindStringSubmatch(p.body)
	h.waitOnline(ip)
	// An operator's Disconnect-Request at the BAS: ACK, Accounting-Stop,
	// NTF_LOGOUT to the portal.
	res, err := disconnect(h, "bras-v2-chap", ip)
	if err != nil || !res {
		t.Fatalf("disconnect: %v %v", res, err)
	}
	testwait.For(t, "NTF_LOGOUT at the portal", func() bool {
		_, _, ok, err := h.st.KickByIP(context.Background(), ip, time.Now().Add(-time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	})
	testwait.For(t, "session closed by Accounting-Stop", func() bool {
		_, err := h.st.LiveSessionByIP(context.Background(), ip)
		return err != nil
	})
	st := b.get("/status?ticket=" + url.QueryEscape(htmlUnescape(tm[1])))
	mustContain(t, st, "未在线", "bras-v2-chap", "下线")
	// Another node on the same database, which the BAS did not tell, says
	// the same on its status page.
	h2 := newHarnessOn(t, h.st)
	tk := h2.portal.signTicket(ticketFor(netip.MustParseAddr(ip), "bras-v2-chap", "u1"))
	mustContain(t, h2.browser(uaWindows).get("/status?ticket="+url.QueryEscape(tk)), "未在线", "bras-v2-chap", "下线")
	// Logging in again works and clears the note.
	mustContain(t, b.login(redirect("bras-v2-chap", ip, mac), "u1", "password-1", nil), "已上线")
	if _, _, ok, err := h.st.KickByIP(context.Background(), ip, time.Now().Add(-time.Hour)); ok || err != nil {
		t.Fatalf("the note survived a new login at the address (%v)", err)
	}
}

func TestBASSilentIsPortalNotResponse(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("u1", "password-1", 5000, false)
	for _, n := range []string{"bras-v2-chap", "bras-v1-pap"} {
		t.Run(n, func(t *testing.T) {
			h.bport[n].SetSilent(true)
			defer h.bport[n].SetSilent(false)
			ip := "10.2.0.9"
			if n == "bras-v1-pap" {
				ip = "10.4.0.9"
			}
			p := h.browser(uaWindows).login(redirect(n, ip, ""), "u1", "password-1", nil)
			if p.status != http.StatusServiceUnavailable {
				t.Fatalf("status %d\n%s", p.status, p.body)
			}
			mustContain(t, p, "portal not response", "网络信息中心-7", "把本页底部", string(access.ReasonBASTimeout))
			// The node number is asked for once, with the number.
			if n := strings.Count(p.body, "页面底部") + strings.Count(p.body, "本页底部"); n != 1 {
				t.Fatalf("the page asks for the node number %d times:\n%s", n, p.body)
			}
		})
	}
	if ok, _, basErr := h.portal.counts.sum(); basErr != 2 || ok != 0 {
		t.Fatalf("recent counts: ok %d bas errors %d", ok, basErr)
	}
}

func TestMustChangeInitialPassword(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("new1", "123456", 5000, true)
	b := h.browser(uaIPhone)
	p := b.login(redirect("bras-v2-chap", "10.2.0.10", ""), "new1", "123456", url.Values{"platform": {"iPhone"}, "touch": {"5"}})
	mustContain(t, p, "修改初始密码", `action="/password"`)
	f := formOf(t, p.body)
	if f.Get("platform") != "iPhone" || f.Get("userip") != "10.2.0.10" {
		t.Fatalf("the password form lost the entry or the hints: %v", f)
	}
	f.Set("password", "123456")
	f.Set("new", "new-secret-1")
	f.Set("new2", "new-secret-2")
	mustContain(t, b.post("/password", f), "不一致")
	f.Set("new2", "new-secret-1")
	f.Set("password", "wrong!")
	mustContain(t, b.post("/password", f), "当前密码错误")
	f.Set("password", "123456")
	out := b.post("/password", f)
	mustContain(t, out, "已上线", "new1", "移动设备")
	a, err := h.st.AccountByUsername(context.Background(), "new1")
	if err != nil {
		t.Fatal(err)
	}
	if a.MustChange {
		t.Fatal("must_change still set")
	}
}

func TestEntry(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.browser(uaWindows)
	tests := []struct {
		name   string
		query  string
		status int
		wants  []string
	}{
		{"typed by hand", "", 200, []string{"校园网认证", "127.0.0.1", `action="/login"`}},
		{"huawei redirect", "wlanuserip=10.2.3.4&wlanacname=bras-v2-chap&usermac=00-16-3E-01-02-03&wlanuserfirsturl=http://www.example.com/x&ssid=CampusNet",
			200, []string{"10.2.3.4", "00:16:3e:01:02:03", "bras-v2-chap", `name="url" value="http://www.example.com/x"`}},
		{"other vendor names", "userip=10.1.3.4&nasname=BRAS-V1-CHAP&mac=0016.3e01.0203&url=https://a.example/", 200, []string{"10.1.3.4", "bras-v1-chap"}},
		{"ip only", "ip=10.3.3.4", 200, []string{"10.3.3.4", "bras-v2-pap"}},
		{"nas by address", "wlanuserip=10.9.9.9&wlanacip=127.0.0.4", 200, []string{"bras-v1-pap"}},
		{"unknown BAS", "wlanuserip=10.2.3.4&wlanacname=<b>evil</b>", 200, []string{"未在认证系统登记", "&lt;b&gt;evil&lt;/b&gt;"}},
		{"unknown address", "wlanuserip=192.168.1.5", 200, []string{"不属于校园网用户网段", "192.168.1.5", "ipconfig /release"}},
		{"bad address", "wlanuserip=10.2.3.999", 400, []string{"无效"}},
		{"ipv6 address in no subnet", "wlanuserip=2001:db8::1", 200, []string{"不属于校园网用户网段", "2001:db8::1"}},
		{"link-local ipv6 address", "wlanuserip=fe80::1", 400, []string{"无效"}},
		{"bad second ipv6 address", "wlanuserip=10.2.3.4&userip6=10.2.3.5", 400, []string{"无效"}},
		{"javascript url dropped", "wlanuserip=10.2.3.4&url=javascript:alert(1)", 200, []string{"校园网认证"}},
		{"oversized query", "wlanuserip=10.2.3.4&url=" + strings.Repeat("a", 5000), 414, []string{"过长"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := b.get("/?" + tt.query)
			if p.status != tt.status {
				t.Fatalf("status %d, want %d\n%s", p.status, tt.status, p.body)
			}
			mustContain(t, p, tt.wants...)
			if strings.Contains(p.body, "<b>evil") || strings.Contains(p.body, "javascript:") {
				t.Fatalf("unescaped input in the page:\n%s", p.body)
			}
			mustContain(t, p, "测试大学 网络信息中心-7")
			if p.header.Get("X-Portal-Node") != "7" {
				t.Fatal("no X-Portal-Node")
			}
		})
	}
}

func TestHostileInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("u1", "password-1", 5000, false)
	b := h.browser(uaWindows)
	q := redirect("bras-v2-chap", "10.2.4.1", "")

	t.Run("no CSRF token", func(t *testing.T) {
		f := url.Values{"username": {"u1"}, "password": {"password-1"}, "userip": {"10.2.4.1"}, "nasname": {"bras-v2-chap"}}
		p := b.post("/login", f)
		if p.status != http.StatusForbidden {
			t.Fatalf("status %d", p.status)
		}
		mustContain(t, p, "页面已过期")
	})
	t.Run("token of another browser", func(t *testing.T) {
		f := formOf(t, h.browser(uaWindows).get("/?"+q.Encode()).body)
		f.Set("username", "u1")
		f.Set("password", "password-1")
		b.get("/") // b has its own cookie
		if p := b.post("/login", f); p.status != http.StatusForbidden {
			t.Fatalf("status %d", p.status)
		}
	})
	t.Run("oversized form", func(t *testing.T) {
		f := formOf(t, b.get("/?"+q.Encode()).body)
		f.Set("username", "u1")
		f.Set("password", strings.Repeat("x", 20000))
		if p := b.post("/login", f); p.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d", p.status)
		}
	})
	t.Run("html in the user name", func(t *testing.T) {
		p := b.login(q, `<script>alert("x")</script>`, "nope", nil)
		if strings.Contains(p.body, `<script>alert`) {
			t.Fatalf("user name not escaped:\n%s", p.body)
		}
		mustContain(t, p, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;")
	})
	t.Run("50 wrong passwords", func(t *testing.T) {
		h.account("victim", "right-password", 0, false)
		limited := 0
		for i := 0; i < 50; i++ {
			p := b.login(redirect("bras-v2-chap", "10.2.4.2", ""), "victim", "guess", nil)
			if p.status == http.StatusTooManyRequests {
				limited++
				mustContain(t, p, "尝试次数过多", string(access.ReasonRateLimited))
				if p.header.Get("Retry-After") == "" {
					t.Fatal("no Retry-After")
				}
				// One wait, the one Retry-After gives, not two.
				if waits := waitRE.FindAllString(p.body, -1); len(waits) != 1 || strings.Contains(p.body, "稍后") {
					t.Fatalf("the page names the waits %q:\n%s", waits, p.body)
				}
			}
		}
		if limited != 40 {
			t.Fatalf("%d of 50 wrong passwords were rate limited, want 40 (the first 10 are tried)", limited)
		}
		en := h.browser(uaWindows)
		en.lang = "en-US,en;q=0.9"
		p := en.login(redirect("bras-v2-chap", "10.2.4.2", ""), "victim", "guess", nil)
		mustContain(t, p, "Too many attempts: try again in ", string(access.ReasonRateLimited))
		if strings.Contains(p.body, "few minutes") || hanOutsideFooter(p.body) {
			t.Fatalf("English rate-limit page:\n%s", p.body)
		}
		// Even the right password waits now.
		if p := b.login(redirect("bras-v2-chap", "10.2.4.2", ""), "victim", "right-password", nil); p.status != http.StatusTooManyRequests {
			t.Fatalf("right password during the lockout: %d", p.status)
		}
		// Another account from another address is not affected.
		if p := h.browser(uaWindows).login(redirect("bras-v2-chap", "10.2.4.3", ""), "u1", "password-1", nil); p.status != http.StatusOK {
			t.Fatalf("unrelated login: %d", p.status)
		}
	})
}

// TestRateLimitSharedByNodes: two portal nodes on one database share the
// failed-login budget, as one node would (rate limits hold across nodes): ten wrong passwords
// split between them, five each, use up the account's burst of ten, so the
// eleventh try is refused at both — even with the right password — though
// neither node saw more than five on its own.
func TestRateLimitSharedByNodes(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		a, b := newHarnessOn(t, st), newHarnessOn(t, st)
		a.account("victim", "right-password", 0, false)
		ba, bb := a.browser(uaWindows), b.browser(uaWindows)
		for i := 0; i < 10; i++ {
			br := ba
			if i%2 == 1 {
				br = bb
			}
			if p := br.login(redirect("bras-v2-chap", "10.2.4.2", ""), "victim", "guess", nil); p.status == http.StatusTooManyRequests {
				t.Fatalf("wrong password %d of 10 refused as rate limited: the burst is 10", i+1)
			}
		}
		for name, br := range map[string]*browser{"a": ba, "b": bb} {
			p := br.login(redirect("bras-v2-chap", "10.2.4.2", ""), "victim", "right-password", nil)
			if p.status != http.StatusTooManyRequests {
				t.Fatalf("node %s after 10 wrong passwords at two nodes: status %d, want 429", name, p.status)
			}
			mustContain(t, p, "尝试次数过多", string(access.ReasonRateLimited))
		}
		// The source address's bucket (30) is shared too, and not used up:
		// another account logs in from the same address at either node.
		a.account("u1", "password-1", 0, false)
		if p := b.browser(uaWindows).login(redirect("bras-v2-chap", "10.2.4.3", ""), "u1", "password-1", nil); p.status != http.StatusOK {
			t.Fatalf("unrelated login at node b: %d\n%s", p.status, p.body)
		}
	})
}

func TestProbesAndCaptiveAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("u1", "password-1", 5000, false)
	probes := []struct {
		name, host, path, ua string
		status               int
		body                 string
	}{
		{"apple", "captive.apple.com", "/hotspot-detect.html", "CaptiveNetworkSupport-443.0.1 wispr", 200, appleSuccess},
		{"android", "connectivitycheck.gstatic.com", "/generate_204", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/60.0.3112.32 Safari/537.36", 204, ""},
		{"xiaomi", "connect.rom.miui.com", "/generate_204", "Dalvik/2.1.0", 204, ""},
		{"huawei", "connectivitycheck.platform.hicloud.com", "/generate_204", "Dalvik/2.1.0", 204, ""},
		{"honor", "connectivitycheck.platform.hihonorcloud.com", "/generate_204", "", 204, ""},
		{"windows", "www.msftconnecttest.com", "/connecttest.txt", "Microsoft NCSI", 200, "Microsoft Connect Test"},
		{"firefox", "detectportal.firefox.com", "/canonical.html", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", 200, firefoxSuccess},
	}
	get := func(host, path, ua string) page {
		req, err := http.NewRequest(http.MethodGet, h.srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		return h.browser(ua).do(req)
	}
	api := func() captiveJSON {
		req, err := http.NewRequest(http.MethodGet, h.srv.URL+"/api/v1/captive", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "application/captive+json")
		p := h.browser("").do(req)
		if ct := p.header.Get("Content-Type"); ct != "application/captive+json" || !strings.Contains(p.header.Get("Cache-Control"), "private") {
			t.Fatalf("captive API headers: %v", p.header)
		}
		var c captiveJSON
		if err := json.Unmarshal([]byte(p.body), &c); err != nil {
			t.Fatalf("captive API body %q: %v", p.body, err)
		}
		return c
	}
	if c := api(); !c.Captive || c.UserPortalURL != "http://portal.test/" || c.SecondsRemaining != nil {
		t.Fatalf("before login: %+v", c)
	}
	for _, pr := range probes {
		t.Run("before/"+pr.name, func(t *testing.T) {
			p := get(pr.host, pr.path, pr.ua)
			loc := p.header.Get("Location")
			if p.status != http.StatusFound || !strings.HasPrefix(loc, "http://portal.test/?url=") {
				t.Fatalf("status %d Location %q", p.status, loc)
			}
		})
	}
	// A web page for another host is sent to the login page too.
	if p := get("www.example.com", "/news?id=1", uaWindows); p.status != http.StatusFound || !strings.Contains(p.header.Get("Location"), url.QueryEscape("http://www.example.com/news?id=1")) {
		t.Fatalf("intercepted page: %d %q", p.status, p.header.Get("Location"))
	}
	if devices := storetest.CountDevices(t, h.st); devices != 0 {
		t.Fatal("a probe was classified")
	}

	// Log in by hand from this address (127.0.0.1 is in bras-v2-chap's subnets).
	p := h.browser(uaWindows).login(url.Values{}, "u1", "password-1", nil)
	mustContain(t, p, "已上线", "127.0.0.1")
	h.waitOnline("127.0.0.1")
	for _, pr := range probes {
		t.Run("after/"+pr.name, func(t *testing.T) {
			p := get(pr.host, pr.path, pr.ua)
			if p.status != pr.status || p.body != pr.body {
				t.Fatalf("status %d body %q", p.status, p.body)
			}
		})
	}
	c := api()
	if c.Captive || c.SecondsRemaining == nil || *c.SecondsRemaining <= 0 || *c.SecondsRemaining > 12*3600 {
		t.Fatalf("after login: %+v", c)
	}
	// Opening the portal again shows the status with a logout button.
	mustContain(t, h.browser(uaWindows).get("/"), "在线", "注销")
}

func TestPageWeight(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.Demo = true })
	h.account("u1", "password-1", 5000, false)
	b := h.browser(uaWindows)
	pages := map[string]page{
		"login":   b.get("/?" + redirect("bras-v2-chap", "10.2.5.1", "00:16:3e:00:00:01").Encode()),
		"unknown": b.get("/?wlanuserip=192.168.0.1"),
		"online":  b.login(redirect("bras-v2-chap", "10.2.5.2", ""), "u1", "password-1", nil),
		"refused": b.login(redirect("bras-v2-chap", "10.2.5.3", ""), "u1", "bad", nil),
		"status":  b.get("/status"),
	}
	for name, p := range pages {
		// Everything the page needs is in it: no external style, script or image.
		if n := len(p.body); n > 100<<10 || n < 500 {
			t.Errorf("%s page is %d bytes", name, n)
		}
		t.Logf("%s page: %d bytes", name, len(p.body))
		for _, bad := range []string{`<link `, `src="http`, `@import`} {
			if strings.Contains(p.body, bad) {
				t.Errorf("%s page loads something external (%s)", name, bad)
			}
		}
		if !strings.Contains(p.header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("%s page has no CSP", name)
		}
	}
	mustContain(t, pages["login"], "演示模式", "wlanuserip=10.2.")
}

func TestHeartbeat(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- h.portal.Run(ctx) }()
	testwait.For(t, "heartbeat", func() bool {
		nodes, err := h.st.PortalNodes(context.Background())
		return err == nil && len(nodes) == 1 && nodes[0].NodeID == "7" && nodes[0].Version == "test"
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A clean stop is recorded at once, not left to look stale later.
	nodes, err := h.st.PortalNodes(context.Background())
	if err != nil || len(nodes) != 1 || nodes[0].StoppedAt == 0 || nodes[0].StoppedAt < nodes[0].HeartbeatAt {
		t.Fatalf("after a clean stop: %+v %v", nodes, err)
	}
	// A restart's first heartbeat clears it.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go func() { done <- h.portal.Run(ctx) }()
	testwait.For(t, "restart heartbeat", func() bool {
		nodes, err := h.st.PortalNodes(context.Background())
		return err == nil && len(nodes) == 1 && nodes[0].StoppedAt == 0
	})
	cancel()
	<-done
}

func TestNoPasswordOrTokenInLogs(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("u1", "Correct-Horse-9", 5000, true)
	b := h.browser(uaWindows)
	b.login(redirect("bras-v2-pap", "10.3.0.77", ""), "u1", "Wrong-Battery-7", nil)
	p := b.login(redirect("bras-v2-pap", "10.3.0.77", ""), "u1", "Correct-Horse-9", nil)
	f := formOf(t, p.body)
	f.Set("password", "Correct-Horse-9")
	f.Set("new", "Staple-Pencil-42")
	f.Set("new2", "Staple-Pencil-42")
	mustContain(t, b.post("/password", f), "已上线")
	nonces := storetest.LoginTokenNonces(t, h.st)
	if len(nonces) == 0 {
		t.Fatal("no token was made")
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "msg=online ") {
		t.Fatalf("the login was not logged:\n%s", logs)
	}
	secrets := []string{"Wrong-Battery-7", "Correct-Horse-9", "Staple-Pencil-42", "portal-secret", "testing123"}
	for _, n := range nonces {
		secrets = append(secrets, n, logintoken.Derive(h.key, n))
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Fatalf("the log holds a secret (%q):\n%s", s, logs)
		}
	}
}

// TestHealthzFollowsDatabase: the probe a BAS or load balancer sends says
// 503 once the database stops answering, so students go to another node.
func TestHealthzFollowsDatabase(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	b := h.browser(uaWindows)
	if p := b.get("/healthz"); p.status != http.StatusOK || !strings.Contains(p.body, "ok 7") {
		t.Fatalf("healthy: %d %s", p.status, p.body)
	}
	h.st.Close()
	if p := b.get("/healthz"); p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "database down 7") {
		t.Fatalf("database closed: %d %s", p.status, p.body)
	}
}

var (
	waitRE  = regexp.MustCompile(`\d+ (秒|分钟)`)
	zonedRE = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? (&#43;|\+|-)\d\d:\d\d`)
	hanRun  = regexp.MustCompile(`\p{Han}`)
)

// hanOutsideFooter reports whether a page has Chinese outside its footer,
// the 中文 switch and the <title> (which names the organisation).
func hanOutsideFooter(body string) bool {
	main := body
	if i := strings.Index(main, "<main>"); i >= 0 {
		main = main[i:]
	}
	if i := strings.Index(main, "</main>"); i >= 0 {
		main = main[:i]
	}
	main = strings.Replace(main, ">中文</a>", "></a>", 1)
	return hanRun.MatchString(main)
}
