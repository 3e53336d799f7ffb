package selfservice_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/browsertest"
)

// TestBrowserPlansOnPhone: a slowed student opens the plans page on a
// phone, buys a pack through the confirmation (no JavaScript on the
// pages), and the page fits the screen; screenshots of each step.
func TestBrowserPlansOnPhone(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", withPlans(t))
	a := e.account("student1", "student1-pass", access.RoleStudent, 5000, false)
	e.planCycle(a, 52*access.GB, access.ProfileSlow)

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
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
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
		browsertest.AcceptLanguage(""),
		chromedp.Emulate(device.IPhone13),
		chromedp.Navigate(e.srv.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "student1"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "student1-pass"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#balance`)),
	)
	if body := text(); !strings.Contains(body, "已用 52.0 GiB / 共 50.0 GiB（100%）") || !strings.Contains(body, "网速已降为 2 Mbit/s") {
		t.Fatalf("overview: %s", body)
	}
	fits("overview")
	step("plans", chromedp.Click(chromedp.CSS(`nav a[href="/plans"]`)), chromedp.WaitVisible(chromedp.CSS(`#packs-dorm`)))
	if body := text(); !strings.Contains(body, "10 GB 流量包") || !strings.Contains(body, "下一周期的套餐") {
		t.Fatalf("plans: %s", body)
	}
	fits("plans")
	shot("9-plans")
	step("buy", chromedp.Click(chromedp.CSS(`#packs-dorm form[action="/plans/buy"] button`)), chromedp.WaitVisible(chromedp.CSS(`#confirm`)))
	if body := text(); !strings.Contains(body, "购买后余额") || !strings.Contains(body, "45.00 元") {
		t.Fatalf("confirmation: %s", body)
	}
	fits("confirmation")
	shot("10-pack-confirm")
	step("pay", chromedp.Click(chromedp.CSS(`#confirm button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	if body := text(); !strings.Contains(body, "已购买10 GB 流量包：扣除 5.00 元，余额 45.00 元") || strings.Contains(body, "网速已降为") {
		t.Fatalf("after paying: %s", body)
	}
	if e.balanceOf("student1") != 4500 {
		t.Fatalf("balance %s", e.balanceOf("student1"))
	}
	fits("plans after paying")
	shot("11-pack-bought")
}
