package portal

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/device"
	"github.com/campusnet/campusnet/internal/i18n"
	"github.com/campusnet/campusnet/internal/storetest"
)

// desktopModeCase is one row of internal/device/testdata/desktop-mode.tsv
// as the portal meets it: headers and the login page's form fields.
type desktopModeCase struct {
	id, label, what              string
	ua, chMobile, chPlatform     string
	platform, touch, screen, ua2 string
	macKind                      string
}

func readDesktopModeCases(t *testing.T) []desktopModeCase {
	t.Helper()
	b, err := os.ReadFile("../internal/device/testdata/desktop-mode.tsv")
	if err != nil {
		t.Fatal(err)
	}
	var out []desktopModeCase
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if i == 0 {
			continue
		}
		c := strings.Split(line, "\t")
		if len(c) != 12 {
			t.Fatalf("desktop-mode.tsv line %d: %d columns", i+1, len(c))
		}
		out = append(out, desktopModeCase{id: c[0], label: c[1], what: c[2], ua: c[3], chMobile: c[4], chPlatform: c[5],
			platform: c[6], touch: c[7], screen: c[8], ua2: c[9], macKind: c[10]})
	}
	return out
}

// hints are the form fields the login page's script fills for the row;
// a row whose script did not run leaves the page's defaults.
func (c desktopModeCase) hints() url.Values {
	v := url.Values{"platform": {c.platform}, "touch": {c.touch}, "sw": {"0"}, "sh": {"0"}, "uadm": {c.ua2}}
	if w, h, ok := strings.Cut(c.screen, "x"); ok {
		v.Set("sw", w)
		v.Set("sh", h)
	}
	return v
}

func (c desktopModeCase) headers() http.Header {
	h := http.Header{"User-Agent": {c.ua}}
	if c.chMobile != "" {
		h.Set("Sec-CH-UA-Mobile", c.chMobile)
	}
	if c.chPlatform != "" {
		h.Set("Sec-CH-UA-Platform", c.chPlatform)
	}
	return h
}

// mac is a MAC of the row's kind, distinct per n.
func (c desktopModeCase) mac(n int) string {
	if c.macKind == "random" {
		return fmt.Sprintf("7a:3f:12:c4:%02x:%02x", n/256, n%256)
	}
	return fmt.Sprintf("3c:22:fb:10:%02x:%02x", n/256, n%256)
}

// loginWith logs in through the entry page with extra headers on the POST,
// as a browser that sends client hints does.
func (b *browser) loginWith(query url.Values, user, pass string, hints url.Values, hdr http.Header) page {
	b.h.t.Helper()
	entry := b.get("/?" + query.Encode())
	f := formOf(b.h.t, entry.body)
	f.Set("username", user)
	f.Set("password", pass)
	for k, v := range hints {
		f[k] = v
	}
	req, err := http.NewRequest(http.MethodPost, b.h.srv.URL+"/login", strings.NewReader(f.Encode()))
	if err != nil {
		b.h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header[k] = v
	}
	return b.follow(b.do(req), req)
}

// TestDesktopModeCorpusThroughPortal runs the desktop-mode corpus through
// the portal's login handler: the hints as headers, the script's signals as
// form fields. Every phone or tablet in desktop mode is remembered as
// mobile, every look-alike computer as pc.
func TestDesktopModeCorpusThroughPortal(t *testing.T) {
	h := newHarness(t)
	h.account("student1", "student1-pass", 5000, false)
	for i, c := range readDesktopModeCases(t) {
		ip, mac := fmt.Sprintf("10.2.%d.%d", 20+i/200, 1+i%200), c.mac(i)
		b := h.browser(c.ua)
		p := b.loginWith(redirect("bras-v2-chap", ip, mac), "student1", "student1-pass", c.hints(), c.headers())
		if p.status != http.StatusOK {
			t.Fatalf("%s: login %d\n%s", c.id, p.status, p.body)
		}
		var got access.Class
		var signals string
		if devs := storetest.DevicesByMAC(t, h.st, mac); len(devs) == 1 {
			got, signals = devs[0].Class, devs[0].Signals
		}
		if string(got) != c.label {
			t.Errorf("%s (%s): remembered as %q, want %s\nsignals: %s", c.id, c.what, got, c.label, signals)
		}
	}
}

// chromeDesktopSite is a phone's Chrome with "Desktop site" on: the
// desktop UA and hints, and what the page's script sees on the hardware.
var chromeDesktopSite = desktopModeCase{ua: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	chMobile: "?0", chPlatform: `"Linux"`, platform: "Linux armv8l", touch: "5", screen: "390x844", ua2: "false"}

// TestDesktopModePhoneBesideOnlinePC: with the one-PC limit and a PC online,
// a phone in desktop mode that sends client hints gets online as mobile.
func TestDesktopModePhoneBesideOnlinePC(t *testing.T) {
	h := newHarness(t)
	h.account("student1", "student1-pass", 5000, false)
	h.radius.limitDevices()
	pc := h.browser(uaWindowsChromeTest)
	if p := pc.loginWith(redirect("bras-v2-chap", "10.2.30.1", "3c:22:fb:30:00:01"), "student1", "student1-pass",
		url.Values{"platform": {"Win32"}, "touch": {"0"}, "sw": {"1920"}, "sh": {"1080"}}, http.Header{"Sec-CH-UA-Platform": {`"Windows"`}, "Sec-CH-UA-Mobile": {"?0"}}); p.status != http.StatusOK {
		t.Fatalf("pc login %d\n%s", p.status, p.body)
	}
	phone := h.browser(chromeDesktopSite.ua)
	p := phone.loginWith(redirect("bras-v2-chap", "10.2.30.2", "7a:3f:12:30:00:02"), "student1", "student1-pass", chromeDesktopSite.hints(), chromeDesktopSite.headers())
	if p.status != http.StatusOK {
		t.Fatalf("phone in desktop mode refused beside the online PC: %d\n%s", p.status, p.body)
	}
	mustContain(t, p, "已上线", "移动设备")
}

const uaWindowsChromeTest = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// TestRefusalSaysWhyPC: a device refused for the PC limit is told which
// signals made it a PC, which signs of a phone lost, and what to change,
// in the page's one language.
func TestRefusalSaysWhyPC(t *testing.T) {
	h := newHarness(t)
	h.account("student1", "student1-pass", 5000, false)
	h.radius.limitDevices()
	pc := h.browser(uaWindowsChromeTest)
	if p := pc.loginWith(redirect("bras-v2-chap", "10.2.31.1", "3c:22:fb:31:00:01"), "student1", "student1-pass",
		url.Values{"platform": {"Win32"}, "touch": {"0"}, "sw": {"1920"}, "sh": {"1080"}}, nil); p.status != http.StatusOK {
		t.Fatalf("pc login %d\n%s", p.status, p.body)
	}
	zh := i18n.For(i18n.Chinese)
	en := i18n.For(i18n.English)

	// A phone in desktop mode whose script did not run: the desktop UA
	// and hints win over its randomised MAC.
	noScript := url.Values{"platform": {""}, "touch": {"-1"}, "sw": {"0"}, "sh": {"0"}}
	mac := "7a:3f:12:31:00:02"
	phone := h.browser(chromeDesktopSite.ua)
	p := phone.loginWith(redirect("bras-v2-chap", "10.2.31.2", mac), "student1", "student1-pass", noScript,
		http.Header{"Sec-CH-UA-Platform": {`"Linux"`}, "Sec-CH-UA-Mobile": {"?0"}})
	if p.status != http.StatusForbidden {
		t.Fatalf("want the PC limit, got %d\n%s", p.status, p.body)
	}
	mustContain(t, p, string(access.ReasonDeviceLimitPC),
		zh.T("portal.refused.counted_pc"),
		htmlEscape(zh.T(device.SignalMessage(device.SignalCHPlatformDesktop))),
		htmlEscape(zh.T(device.SignalMessage(device.SignalUADesktop))),
		zh.T("portal.refused.phone_lost"),
		htmlEscape(zh.T(device.SignalMessage(device.SignalMACRandom))),
		htmlEscape(zh.T("portal.refused.change_desktop")),
		htmlEscape(zh.T("portal.refused.change_script")),
		htmlEscape(zh.T("portal.refused.change_register_mac", mac)))
	if strings.Contains(p.body, en.T("portal.refused.counted_pc")) {
		t.Fatalf("the Chinese page carries the English text:\n%s", p.body)
	}
	if strings.Contains(p.body, htmlEscape(access.DesktopModeHintZH)) {
		t.Fatalf("the general desktop-mode hint repeats the device's own advice:\n%s", p.body)
	}

	// The same in English, on request.
	p = phone.loginWith(redirect("bras-v2-chap", "10.2.31.2", mac), "student1", "student1-pass", noScript,
		http.Header{"Sec-CH-UA-Platform": {`"Linux"`}, "Sec-CH-UA-Mobile": {"?0"}, "Accept-Language": {"en-GB,en;q=0.9"}})
	mustContain(t, p, en.T("portal.refused.counted_pc"), htmlEscape(en.T(device.SignalMessage(device.SignalMACRandom))),
		htmlEscape(en.T("portal.refused.change_script")))

	// A real second PC: told what made it a PC, with no phone signs lost
	// and no advice on passing as a phone.
	pc2 := h.browser(uaWindowsChromeTest)
	p = pc2.loginWith(redirect("bras-v2-chap", "10.2.31.3", "3c:22:fb:31:00:03"), "student1", "student1-pass",
		url.Values{"platform": {"Win32"}, "touch": {"0"}, "sw": {"1920"}, "sh": {"1080"}}, nil)
	mustContain(t, p, zh.T("portal.refused.counted_pc"), htmlEscape(zh.T(device.SignalMessage(device.SignalPlatformComputer))))
	for _, no := range []string{zh.T("portal.refused.phone_lost"), htmlEscape(zh.T("portal.refused.change_script")),
		htmlEscape(zh.T("portal.refused.change_desktop")), htmlEscape(zh.T("portal.refused.change_register_mac", "3c:22:fb:31:00:03"))} {
		if strings.Contains(p.body, no) {
			t.Fatalf("a real PC's refusal says %q:\n%s", no, p.body)
		}
	}
}

// htmlEscape is what html/template makes of a text node.
func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;").Replace(s)
}
