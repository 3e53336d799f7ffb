package selfservice_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/browsertest"
	"github.com/campusnet/campusnet/internal/storetest"
)

// screenshotDir keeps the screenshots the README links (committed, so a
// reviewer sees the phone pages without running anything); a test run
// writes to its out/ folder unless CAMPUSNET_SCREENSHOTS=update.
const screenshotDir = "testdata/screenshots"

// TestBrowserUnbindOnPhone walks overview → devices → unbind on a
// phone-sized screen, with no JavaScript on the pages, and keeps a
// screenshot of each step.
func TestBrowserUnbindOnPhone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	s1 := e.account("student1", "student1-pass", "student", 5000, false)
	const mac = "3c:22:fb:7a:10:01"
	e.bind(s1, mac, "pc")
	e.online(s1, mac, "10.1.2.3", "pc")
	e.online(s1, "5e:21:08:00:00:02", "10.1.2.4", "mobile")
	e.refusal(s1, "5e:21:08:00:00:03", access.ReasonDeviceLimitMobile,
		access.RefuseDeviceLimit(access.ClassMobile, 1, access.OnlineDevice{MAC: "5e:21:08:00:00:02", IP: "10.1.2.4", Since: testStart}).Message)
	storetest.SetDeviceSignals(t, e.st, mac, "User-Agent: Windows NT 10.0; Chrome 120 (desktop platform token)")

	browser := browsertest.New(t) // headless Chromium, fresh profile; skips without one (fails in CI)
	shots := browsertest.ScreenshotDir(t, screenshotDir)
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// fits: a phone page must not scroll sideways.
	fits := func(page string) {
		t.Helper()
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Errorf("%s is wider than the phone screen", page)
		}
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	step("log in",
		browsertest.AcceptLanguage(""), // no language stated: Chinese
		chromedp.Emulate(device.IPhone13),
		chromedp.Navigate(e.srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
	)
	fits("login")
	shot("1-login")
	step("submit login",
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "student1"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "student1-pass"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#balance`)),
	)
	if body := text(); !strings.Contains(body, "50.00") || !strings.Contains(body, "网络可开通") || !strings.Contains(body, "测试大学 网络信息中心-7") {
		t.Fatalf("overview: %s", body)
	}
	fits("overview")
	shot("2-overview")

	step("devices", chromedp.Click(chromedp.CSS(`nav a[href="/devices"]`)), chromedp.WaitVisible(chromedp.CSS(`table#devices`)))
	if body := text(); !strings.Contains(body, mac) || !strings.Contains(body, "已绑定") || !strings.Contains(body, "desktop platform token") {
		t.Fatalf("devices: %s", body)
	}
	fits("devices")
	shot("3-devices")

	step("unbind",
		chromedp.Click(chromedp.CSS(`table#devices form[action="/devices/unbind"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	body := text()
	if !strings.Contains(body, "已解绑 "+mac) || !strings.Contains(body, "接入设备 dorm-bras-1 已确认") || strings.Contains(body, "acknowledged") {
		t.Fatalf("after unbind: %s", body)
	}
	fits("devices after unbind")
	shot("4-unbound")
	if got := e.bas.requests(); len(got) != 1 || got[0] != mac {
		t.Fatalf("BAS got Disconnect-Requests for %v", got)
	}
	if _, err := e.st.BoundDeviceByMAC(context.Background(), mac); !errors.Is(err, access.ErrNotFound) {
		t.Fatalf("binding still there: %v", err)
	}

	step("why", chromedp.Click(chromedp.CSS(`nav a[href="/why"]`)), chromedp.WaitVisible(chromedp.CSS(`.refusal`)))
	if body := text(); !strings.Contains(body, "宿舍区同时只允许 1 台移动设备在线") {
		t.Fatalf("why: %s", body)
	}
	fits("why")
	shot("5-why")

	// The switch: the same page in English, with no Chinese but the
	// switch back (中文), and the cookie keeps English on the next page.
	mainText := `(() => { const m = document.querySelector("main").cloneNode(true); m.querySelectorAll(".lang").forEach(e => e.remove()); return m.innerText; })()`
	step("why in English", chromedp.Click(chromedp.CSS(`.lang a`)), chromedp.WaitVisible(chromedp.CSS(`.refusal`)))
	en, err := chromedp.Run(ctx, chromedp.Evaluate[string](mainText))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(en, "Only 1 mobile device may be online at once") || !strings.Contains(en, "DEVICE_LIMIT_MOBILE") || regexp.MustCompile(`\p{Han}`).MatchString(en) {
		t.Fatalf("why in English: %s", en)
	}
	fits("why in English")
	shot("6-why-en")
	step("devices in English", chromedp.Click(chromedp.CSS(`nav a[href="/devices"]`)), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	if body := text(); !strings.Contains(body, "Known devices") {
		t.Fatalf("the switch was not kept: %s", body)
	}
}
