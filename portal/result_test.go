package portal

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/i18n"
)

// loginForm is the entry page's form filled in.
func (b *browser) loginForm(query url.Values, user, pass string) url.Values {
	b.h.t.Helper()
	f := formOf(b.h.t, b.get("/?"+query.Encode()).body)
	f.Set("username", user)
	f.Set("password", pass)
	return f
}

// TestReloadNeverResubmitsTheLogin: every answer to POST /login is a 303
// to a GET page, and reloading that page (twice) shows the same result
// without a second login reaching RADIUS.
func TestReloadNeverResubmitsTheLogin(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("u1", "password-1", 5000, false)
	h.account("poor", "password-2", 1000, false)
	ctx := context.Background()
	logged := func(user string) int {
		rows, err := h.st.AuthLog(ctx, user, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(rows)
	}
	arrears := access.RefuseArrears(1000, 2000, "")
	h.radius.setRefusal("poor", &arrears)
	for _, c := range []struct {
		user, pass, ip, to string
		status             int
		wants              []string
	}{
		{"u1", "password-1", "10.2.0.61", "/online?", http.StatusOK, []string{"已上线", "u1", `action="/logout"`}},
		{"u1", "wrong-pass", "10.2.0.65", "/result?", http.StatusUnauthorized, []string{"密码错误", `action="/login"`}},
		{"poor", "password-2", "10.2.0.66", "/result?", http.StatusForbidden, []string{"账户欠费", "10.00", string(access.ReasonArrears)}},
	} {
		b := h.browser(uaWindows)
		raw := b.postRaw("/login", b.loginForm(redirect("bras-v2-chap", c.ip, ""), c.user, c.pass))
		loc := raw.header.Get("Location")
		if raw.status != http.StatusSeeOther || !strings.HasPrefix(loc, c.to) {
			t.Fatalf("%s/%s: POST answered %d %q, want 303 to %s…\n%s", c.user, c.pass, raw.status, loc, c.to, raw.body)
		}
		before := logged(c.user)
		for i := 0; i < 2; i++ {
			p := b.get(loc)
			if p.status != c.status {
				t.Fatalf("%s/%s: reload %d: status %d, want %d\n%s", c.user, c.pass, i, p.status, c.status, p.body)
			}
			mustContain(t, p, c.wants...)
		}
		if after := logged(c.user); after != before {
			t.Fatalf("%s: reloading the result reached RADIUS again (%d → %d auth log rows)", c.user, before, after)
		}
	}
	// A forged or tampered reference shows nothing of anybody's.
	if p := h.browser(uaWindows).get("/result?r=eyJzIjo0MDN9.forged"); p.status != http.StatusOK || strings.Contains(p.body, "账户欠费") {
		t.Fatalf("forged result: %d\n%s", p.status, p.body)
	}
	mustContain(t, h.browser(uaWindows).get("/result?r=eyJzIjo0MDN9.forged"), "已过期")
	for _, bad := range []string{"%00", "a.b%00c", strings.Repeat("A", 9000) + ".x", "%ff%fe.%01", ""} {
		for _, path := range []string{"/result?r=", "/online?r="} {
			if p := h.browser(uaWindows).get(path + bad); p.status >= 500 || strings.Contains(p.body, "u1") || strings.Contains(p.body, "账户欠费") {
				t.Fatalf("GET %s%.20s: %d\n%s", path, bad, p.status, p.body)
			}
		}
	}
	if p := h.browser(uaWindows).get("/online?r=eyJpIjoiMTAuMi4wLjYxIn0.forged"); p.status != http.StatusForbidden || strings.Contains(p.body, "u1") {
		t.Fatalf("forged online reference: %d\n%s", p.status, p.body)
	}
}

// TestDisabledAccountShowsTheReason: a disabled account's login shows the
// operator's reason, as the README promises.
func TestDisabledAccountShowsTheReason(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("gone", "password-1", 5000, false)
	if err := h.st.SetDisabled(context.Background(), "desk1", "gone", true, "已毕业离校"); err != nil {
		t.Fatal(err)
	}
	p := h.browser(uaWindows).login(redirect("bras-v2-chap", "10.2.0.62", ""), "gone", "password-1", nil)
	if p.status != http.StatusForbidden {
		t.Fatalf("status %d\n%s", p.status, p.body)
	}
	mustContain(t, p, "账户已被停用（已毕业离校）", string(access.ReasonAccountDisabled))
}

// TestOnlineWarnsWhenTheNextCycleIsNotCovered: the online page says, as
// self-service does, when what is left after this cycle's fee will not
// pay the next cycle: the settlement date and the recharge link.
func TestOnlineWarnsWhenTheNextCycleIsNotCovered(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("low", "password-1", 2500, false)
	h.account("rich", "password-2", 5000, false)
	b := h.browser(uaWindows)
	p := b.login(redirect("bras-v2-chap", "10.2.0.63", ""), "low", "password-1", nil)
	mustContain(t, p, "已上线", "将扣除本周期 20.00 元，之后余额 5.00 元不足下一周期的 20.00 元", `href="https://pay.example.edu.cn/"`)
	// The status page (the bookmarked link) warns as well.
	tm := ticketRE.FindStringSubmatch(p.body)
	if tm == nil {
		t.Fatalf("no ticket:\n%s", p.body)
	}
	h.waitOnline("10.2.0.63")
	mustContain(t, b.get("/status?ticket="+url.QueryEscape(htmlUnescape(tm[1]))), "在线", "不足下一周期的 20.00 元", `href="https://pay.example.edu.cn/"`)
	end := strings.SplitN(strings.SplitN(p.body, "<dt>"+i18n.For(i18n.Chinese).T("portal.field.cycle_end")+"</dt><dd>", 2)[1], "<", 2)[0]
	mustContain(t, p, "结算日 "+strings.TrimSpace(strings.Fields(end)[0]))
	if p := h.browser(uaWindows).login(redirect("bras-v2-chap", "10.2.0.64", ""), "rich", "password-2", nil); strings.Contains(p.body, "不足下一周期") {
		t.Fatalf("a balance that covers the next cycle is warned:\n%s", p.body)
	}
}

// TestPasswordSavedWhateverHappensNext: after the forced change of the
// initial password, the page says the new password was saved, when the
// login then succeeds and when it is refused (arrears).
func TestPasswordSavedWhateverHappensNext(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("fresh", "123456", 5000, true)
	h.account("broke", "654321", 0, true)
	arrears := access.RefuseArrears(0, 2000, "")
	h.radius.setRefusal("broke", &arrears)
	for i, c := range []struct{ user, old, want string }{{"fresh", "123456", "已上线"}, {"broke", "654321", "账户欠费"}} {
		b := h.browser(uaWindows)
		p := b.login(redirect("bras-v2-chap", "10.2.0.7"+string(rune('0'+i)), ""), c.user, c.old, nil)
		f := formOf(t, p.body)
		f.Set("password", c.old)
		f.Set("new", "brand-new-secret")
		f.Set("new2", "brand-new-secret")
		mustContain(t, b.post("/password", f), "新密码已保存", c.want)
	}
}

// TestDeviceBeingAuthenticated: the device limit names the device online;
// one still being authenticated (a reservation with no MAC or address yet)
// reads "正在认证 / being authenticated", never "?（，12-03 08:37 起）".
func TestDeviceBeingAuthenticated(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("u1", "password-1", 5000, false)
	rf := access.RefuseDeviceLimit(access.ClassPC, 1, access.OnlineDevice{Since: time.Date(2026, 12, 3, 8, 37, 0, 0, access.DefaultLocation())})
	h.radius.setRefusal("u1", &rf)
	p := h.browser(uaWindows).login(redirect("bras-v2-chap", "10.2.0.67", ""), "u1", "password-1", nil)
	mustContain(t, p, "已在线：正在认证的设备（12-03 08:37 &#43;08:00 起）")
	if en := rf.MessageEN; !strings.Contains(en, "online now: a device being authenticated (since 12-03 08:37 +08:00)") {
		t.Fatalf("the English text: %q", en)
	}
	if strings.Contains(p.body, "?（") || strings.Contains(p.body, "（，") || strings.Contains(p.body, "(, ") {
		t.Fatalf("an empty device on the page:\n%s", p.body)
	}
}
