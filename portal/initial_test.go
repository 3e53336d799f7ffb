package portal

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestXRuleOnWrongPassword: the login page states the X rule with its
// example; a wrong password of six characters ending in X gets the rule
// in its answer, for an existing and an unknown user alike; another wrong
// password does not.
func TestXRuleOnWrongPassword(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("u1", "password-1", 0, true)
	b := h.browser(uaWindows)
	page := b.get("/?wlanuserip=10.2.0.5&wlanacname=bras-v2-chap")
	mustContain(t, page, "去掉 X，再取后六位", "44030520050609112X → 609112", "E12345678 → 345678")
	en := h.browser(uaWindows).get("/?wlanuserip=10.2.0.5&wlanacname=bras-v2-chap&lang=en")
	mustContain(t, en, "drop the X, then take the last six, e.g. 44030520050609112X → 609112")
	for _, user := range []string{"u1", "nobody"} {
		p := b.login(redirect("bras-v2-chap", "10.2.0.5", ""), user, "09112X", nil)
		if p.status != http.StatusUnauthorized {
			t.Fatalf("%s: status %d", user, p.status)
		}
		mustContain(t, p, `id="xrule"`, "去掉 X")
		p = b.login(redirect("bras-v2-chap", "10.2.0.5", ""), user, "09112x", nil)
		mustContain(t, p, `id="xrule"`)
		p = b.login(redirect("bras-v2-chap", "10.2.0.5", ""), user, "091123", nil)
		if strings.Contains(p.body, `id="xrule"`) {
			t.Fatalf("%s: the X rule on a password without X", user)
		}
	}
}

// TestXRuleFollowsTrailingX: with trailing_x = "zero" the page states that
// rule instead.
func TestXRuleFollowsTrailingX(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.TrailingX = "zero" })
	p := h.browser(uaWindows).get("/?wlanuserip=10.2.0.5&wlanacname=bras-v2-chap")
	mustContain(t, p, "把 X 换成 0", "44030520050609112X → 091120")
	if strings.Contains(p.body, "去掉 X") {
		t.Fatal("the drop rule under trailing_x = zero")
	}
}

// TestInitialChangeNamesTheRule: the forced change refuses a common
// password and a run of digits, saying which rule, and takes a good one.
func TestInitialChangeNamesTheRule(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("new2", "654321", 5000, true)
	b := h.browser(uaIPhone)
	p := b.login(redirect("bras-v2-chap", "10.2.0.11", ""), "new2", "654321", url.Values{"platform": {"iPhone"}, "touch": {"5"}})
	mustContain(t, p, "修改初始密码", "一串相同或连续的数字")
	f := formOf(t, p.body)
	f.Set("password", "654321")
	for pw, want := range map[string]string{"woaini1314": "最常见的密码", "ab123456789": "连续的数字", "zz-000000": "相同的数字"} {
		f.Set("new", pw)
		f.Set("new2", pw)
		out := b.post("/password", f)
		if out.status != http.StatusBadRequest {
			t.Fatalf("%s: status %d", pw, out.status)
		}
		mustContain(t, out, "新密码不符合要求", want)
	}
	f.Set("new", "blue-kettle-17")
	f.Set("new2", "blue-kettle-17")
	mustContain(t, b.post("/password", f), "已上线")
}
