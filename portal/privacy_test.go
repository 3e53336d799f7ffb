package portal

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// heldSteps are the help desk's steps for an address another device holds.
var heldSteps = []string{"自动获取 IP 地址和自动获取 DNS", "重新连接", "ipconfig /release", "ipconfig /renew"}

// TestTwoAccountsOneAddress: an address online under one account (its
// browser logged it in) is then used by another device — given the same
// address, or typing 1.1.1.1 from behind it. That device's portal and
// status pages never show the first account's name, balance or a logout
// button; they say the address is taken and give the steps to get one's
// own. The first browser still sees its own status; the second account's
// login is refused without naming the first.
func TestTwoAccountsOneAddress(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("holder", "password-1", 4321, false)
	h.account("second", "password-2", 5000, false)
	mine := h.browser(uaWindows)
	mustContain(t, mine.login(url.Values{}, "holder", "password-1", nil), "已上线", "holder")
	h.waitOnline("127.0.0.1")
	leaks := func(p page) bool {
		return strings.Contains(p.body, "holder") || strings.Contains(p.body, "43.21") ||
			strings.Contains(p.body, "/logout") || strings.Contains(p.body, "ticket")
	}
	other := h.browser(uaIPhone)
	for _, path := range []string{"/", "/status"} {
		p := other.get(path)
		if p.status != http.StatusOK || leaks(p) {
			t.Fatalf("GET %s from another device shows the holder's account (status %d):\n%s", path, p.status, p.body)
		}
		mustContain(t, p, append(heldSteps, "已被其他设备使用", "127.0.0.1")...)
	}
	// The holder's browser sees its own session, with the logout.
	mustContain(t, mine.get("/"), "holder", "43.21", `action="/logout"`)
	mustContain(t, mine.get("/status"), "holder", "43.21", `action="/logout"`)

	// The second account logs in on that device: refused (the BAS has the
	// address online), named nowhere, with the same steps.
	entry := other.get("/?userip=127.0.0.1&nasname=bras-v2-chap")
	f := formOf(t, entry.body)
	f.Set("username", "second")
	f.Set("password", "password-2")
	p := other.post("/login", f)
	if p.status != http.StatusConflict || leaks(p) {
		t.Fatalf("second account on the held address: status %d\n%s", p.status, p.body)
	}
	mustContain(t, p, heldSteps...)
	if s, err := h.st.LiveSessionByIP(context.Background(), "127.0.0.1"); err != nil || s.Username != "holder" {
		t.Fatalf("the holder's session: %+v %v", s, err)
	}
}

// TestOnlinePageAfterTheAddressChangedHands: the online page a login
// redirected to (kept in the browser, reloaded later) shows its account
// only while the address is that account's; once DHCP gave it to someone
// else, it reads "not online" and names nobody.
func TestOnlinePageAfterTheAddressChangedHands(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.account("u1", "password-1", 5000, false)
	h.account("next", "password-2", 4321, false)
	const ip = "10.2.0.51"
	b := h.browser(uaWindows)
	entry := b.get("/?" + redirect("bras-v2-chap", ip, "").Encode())
	f := formOf(t, entry.body)
	f.Set("username", "u1")
	f.Set("password", "password-1")
	raw := b.postRaw("/login", f)
	loc := raw.header.Get("Location")
	if raw.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/online?") {
		t.Fatalf("login answered %d %q, want 303 to /online", raw.status, loc)
	}
	mustContain(t, b.get(loc), "已上线", "u1")
	h.waitOnline(ip)
	h.handOver(ip, "next", "NEXT51", "02:00:00:00:00:51")
	p := b.get(loc)
	mustContain(t, p, "未在线")
	if strings.Contains(p.body, "next") || strings.Contains(p.body, "43.21") || strings.Contains(p.body, "/logout") {
		t.Fatalf("the old online page shows the address's new holder:\n%s", p.body)
	}
}
