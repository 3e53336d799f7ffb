package portal

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/browsertest"
	"github.com/campusnet/campusnet/internal/device"
	"github.com/campusnet/campusnet/internal/i18n"
	"github.com/campusnet/campusnet/internal/storetest"
)

// emulateDesktopSite makes Chromium a phone whose Chrome has "Desktop
// site" on: the desktop Linux UA and client hints (Sec-CH-UA-Platform
// "Linux", Sec-CH-UA-Mobile ?0), while navigator.platform, the touch points
// and the 390x844 screen stay the phone's. noScript also turns JavaScript
// off, so the page reports none of that.
func emulateDesktopSite(noScript bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
			UserAgent:      chromeDesktopSite.ua,
			AcceptLanguage: "zh-CN", // the page in Chinese, whatever the machine's locale
			Platform:       chromeDesktopSite.platform,
			UserAgentMetadata: &emulation.UserAgentMetadata{
				Brands:   []*emulation.UserAgentBrandVersion{{Brand: "Chromium", Version: "131"}, {Brand: "Google Chrome", Version: "131"}},
				Platform: "Linux", Architecture: "x86", Mobile: false,
			},
		}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, t, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: 390, Height: 844, DeviceScaleFactor: 3, Mobile: false, ScreenWidth: 390, ScreenHeight: 844,
		}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, t, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: true, MaxTouchPoints: 5}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: noScript})
		return err
	})
}

// desktopSiteBesidePC puts a PC of student1 online (one PC allowed), then
// logs in from Chromium as a phone in desktop mode with mac, and returns
// the result page's text; the screenshot is shot.png.
func desktopSiteBesidePC(t *testing.T, h *harness, noScript bool, ip, mac, shot string) string {
	t.Helper()
	h.account("student1", "student1-pass", 5000, false)
	h.radius.limitDevices()
	pc := h.browser(uaWindowsChromeTest)
	if p := pc.login(redirect("bras-v2-chap", "10.2.40.1", "3c:22:fb:40:00:01"), "student1", "student1-pass",
		url.Values{"platform": {"Win32"}, "touch": {"0"}, "sw": {"1920"}, "sh": {"1080"}}); p.status != 200 {
		t.Fatalf("pc login %d\n%s", p.status, p.body)
	}
	browser := browsertest.New(t) // skips without Chromium (fails in CI)
	tab, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(tab, 30*time.Second)
	t.Cleanup(cancelT)
	q := url.Values{"wlanuserip": {ip}, "wlanacname": {"bras-v2-chap"}, "usermac": {mac}}
	if err := chromedp.Do(ctx,
		emulateDesktopSite(noScript),
		chromedp.Navigate(h.srv.URL+"/?"+q.Encode()),
		chromedp.WaitVisible(chromedp.CSS("#u")),
	); err != nil {
		t.Fatal(err)
	}
	if !noScript {
		platform, err := chromedp.Run(ctx, chromedp.Evaluate[string]("navigator.platform"))
		if err != nil {
			t.Fatal(err)
		}
		touch, err := chromedp.Run(ctx, chromedp.Evaluate[int]("navigator.maxTouchPoints"))
		if err != nil {
			t.Fatal(err)
		}
		if platform != "Linux armv8l" || touch != 5 {
			t.Fatalf("emulation: navigator.platform %q, maxTouchPoints %d", platform, touch)
		}
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#u"), "student1"),
		chromedp.SendKeys(chromedp.CSS("#p"), "student1-pass"),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
	); err != nil {
		t.Fatal(err)
	}
	var body string
	for deadline := time.Now().Add(10 * time.Second); ; {
		var err error
		body, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		if err == nil && (strings.Contains(body, "已上线") || strings.Contains(body, "未能上线")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("result page never came: %q (%v)", body, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(browsertest.ScreenshotDir(t, screenshotDir), shot+".png")
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: portal/%s", out)
	return body
}

// TestBrowserDesktopModePhoneBesidePC: a PC of the account is online and
// the dorm allows one; a phone whose Chrome is in desktop mode, sending the
// desktop client hints (the portal on 127.0.0.1 is a secure origin to
// Chromium), logs in and is accepted as mobile.
func TestBrowserDesktopModePhoneBesidePC(t *testing.T) {
	h := newHarness(t)
	mac := "7a:3f:12:40:00:02"
	body := desktopSiteBesidePC(t, h, false, "10.2.40.2", mac, "phone-desktop-mode-beside-pc")
	if !strings.Contains(body, "已上线") || !strings.Contains(body, "移动设备") {
		t.Fatalf("the phone in desktop mode was not accepted as mobile:\n%s", body)
	}
	devs := storetest.DevicesByMAC(t, h.st, mac)
	if len(devs) != 1 || devs[0].Class != access.ClassMobile {
		t.Fatalf("device %s: %+v", mac, devs)
	}
	// The hints reached the portal and lost to the hardware.
	for _, w := range []string{"platform Linux armv8l", `overruled: Sec-CH-UA-Platform "Linux"`, "overruled: Sec-CH-UA-Mobile ?0"} {
		if !strings.Contains(devs[0].Signals, w) {
			t.Fatalf("signals lack %q: %s", w, devs[0].Signals)
		}
	}
}

// TestBrowserDesktopModeNoScriptRefusal: the same phone with JavaScript
// off shows only its desktop UA, hints and randomised MAC, so it counts as
// a second PC; the refusal page says which signals made it a PC, which
// sign of a phone lost, and what to change.
func TestBrowserDesktopModeNoScriptRefusal(t *testing.T) {
	h := newHarness(t)
	mac := "7a:3f:12:40:00:03"
	body := desktopSiteBesidePC(t, h, true, "10.2.40.3", mac, "phone-desktop-mode-refused")
	zh := i18n.For(i18n.Chinese)
	for _, w := range []string{"未能上线", string(access.ReasonDeviceLimitPC), zh.T("portal.refused.counted_pc"),
		zh.T(device.SignalMessage(device.SignalCHPlatformDesktop)), zh.T(device.SignalMessage(device.SignalUADesktop)),
		zh.T("portal.refused.phone_lost"), zh.T(device.SignalMessage(device.SignalMACRandom)),
		zh.T("portal.refused.change_desktop"), zh.T("portal.refused.change_script"), zh.T("portal.refused.change_register_mac", mac)} {
		if !strings.Contains(body, w) {
			t.Fatalf("refusal page lacks %q:\n%s", w, body)
		}
	}
}
