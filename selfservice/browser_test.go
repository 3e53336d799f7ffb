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
	"github.com/campusnet/campusnet/internal/store"
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

// TestBrowserNOCHomeAndTraffic: in Chromium, an operator's login lands on
// the NOC home, whose SVG charts are drawn (bars with a size) beside their
// tables, on a phone screen too; a student's overview draws the traffic
// per day. The pages have no script: the charts are the server's SVG.
func TestBrowserNOCHomeAndTraffic(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	s1, _ := nocFixture(t, e)
	aaa := store.NewAAA(e.st)
	defer aaa.Close()
	for _, r := range []access.AcctRecord{
		{Kind: access.AcctInterim, NAS: "dorm-bras-1", AcctSessionID: "acct-5e:00:00:00:00:01", InputOctets: 40 << 20, OutputOctets: 300 << 20},
	} {
		if res, err := aaa.RecordAccounting(context.Background(), []access.AcctRecord{r}); err != nil || res[0].AccountID != s1.ID {
			t.Fatalf("interim: %+v %v", res, err)
		}
	}

	browser := browsertest.New(t)
	shots := browsertest.ScreenshotDir(t, screenshotDir)
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string) float64 {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
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
	login := func(user, pass, wait string) {
		t.Helper()
		step("log in "+user,
			chromedp.Navigate(e.srv.URL+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=username]`), user),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), pass),
			chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(wait)),
		)
	}
	step("tablet", browsertest.AcceptLanguage(""), chromedp.Emulate(device.IPadPro11landscape))
	login("admin", "admin-pass", `svg#chart-online`)
	if path := eval(`location.pathname === "/admin" ? 1 : 0`); path != 1 {
		t.Fatal("the operator did not land on /admin")
	}
	for _, id := range []string{"chart-online", "chart-refused"} {
		if w := eval(`document.getElementById("` + id + `").getBoundingClientRect().width`); w < 300 {
			t.Errorf("%s is %g px wide", id, w)
		}
		if n := eval(`[...document.querySelectorAll("#` + id + ` rect")].filter(r => r.getBoundingClientRect().height > 10).length`); n < 2 {
			t.Errorf("%s draws %g bars", id, n)
		}
		if n := eval(`document.querySelectorAll("#` + id + `-table tbody tr").length`); n != 24 {
			t.Errorf("%s's table has %g rows", id, n)
		}
	}
	if n := eval(`document.querySelectorAll("#home-node-3").length`); n != 1 {
		t.Error("the stale node is not on the home page")
	}
	shot("7-noc-home")
	step("phone", chromedp.Emulate(device.IPhone13), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`svg#chart-online`)))
	if fits := eval(`document.documentElement.scrollWidth <= window.innerWidth ? 1 : 0`); fits != 1 {
		t.Error("the NOC home is wider than a phone screen")
	}
	step("log out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)))
	login("student1", "student1-pass", `svg#chart-traffic`)
	if n := eval(`[...document.querySelectorAll("#chart-traffic rect")].filter(r => r.getBoundingClientRect().height > 2).length`); n != 2 {
		t.Errorf("the traffic chart draws %g bars, want today's download and upload", n)
	}
	if got := eval(`[...document.querySelectorAll("#chart-traffic-table tbody tr")].filter(r => r.innerText.includes("300.0 MiB")).length`); got != 1 {
		t.Error("the traffic table has no row with today's 300.0 MiB")
	}
	if fits := eval(`document.documentElement.scrollWidth <= window.innerWidth ? 1 : 0`); fits != 1 {
		t.Error("the overview with its chart is wider than a phone screen")
	}
	shot("8-traffic")
}
