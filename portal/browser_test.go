package portal

import (
	"context"
	"fmt"
	"net/url"
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

// screenshotDir keeps the screenshots the README links (committed); a test
// run writes to its out/ folder unless CAMPUSNET_SCREENSHOTS=update.
const screenshotDir = "testdata/screenshots"

func TestBrowserLogin(t *testing.T) {
	h := newHarness(t)
	h.account("student1", "student1-pass", 5000, false)
	h.account("student2", "student2-pass", 1000, false)
	rf := access.RefuseArrears(1000, 2000, h.cfg.PaymentURL)
	h.radius.setRefusal("student2", &rf)
	browser := browsertest.New(t, chromedp.WindowSize(1280, 800)) // headless Chromium, fresh profile; skips without one (fails in CI)
	shots := browsertest.ScreenshotDir(t, screenshotDir)
	tests := []struct {
		name, user, pass string
		phone            bool
		ip, mac          string
		wants            []string
		class            access.Class
	}{
		{"desktop-online", "student1", "student1-pass", false, "10.2.7.1", "00:16:3e:07:00:01", []string{"已上线", "电脑", "50.00"}, access.ClassPC},
		{"phone-online", "student1", "student1-pass", true, "10.2.7.2", "00:16:3e:07:00:02", []string{"已上线", "移动设备"}, access.ClassMobile},
		{"phone-arrears", "student2", "student2-pass", true, "10.2.7.3", "", []string{"账户欠费", "去充值"}, ""},
		{"desktop-wrong-password", "student1", "nope", false, "10.2.7.4", "", []string{"用户名或密码错误"}, ""},
		{"phone-x-password", "nobody", "09112X", true, "10.2.7.5", "", []string{"用户名或密码错误", "去掉 X，再取后六位"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, cancel := chromedp.NewContext(browser)
			defer cancel()
			ctx, cancelT := context.WithTimeout(tab, 30*time.Second)
			defer cancelT()
			// No language stated: the pages speak Chinese.
			steps := []chromedp.Action[chromedp.Void]{browsertest.AcceptLanguage("")}
			if tt.phone {
				steps = append(steps, chromedp.Emulate(device.IPhone13))
			} else {
				steps = append(steps, chromedp.EmulateViewport(1280, 800))
			}
			q := url.Values{"wlanuserip": {tt.ip}, "wlanacname": {"bras-v2-chap"}, "ssid": {"CampusNet"}}
			if tt.mac != "" {
				q.Set("usermac", tt.mac)
			}
			steps = append(steps,
				chromedp.Navigate(h.srv.URL+"/?"+q.Encode()),
				chromedp.WaitVisible(chromedp.CSS("#u")),
				chromedp.SendKeys(chromedp.CSS("#u"), tt.user),
				chromedp.SendKeys(chromedp.CSS("#p"), tt.pass),
				chromedp.Click(chromedp.CSS("button[type=submit]")),
				chromedp.WaitVisible(chromedp.CSS("footer")),
			)
			if err := chromedp.Do(ctx, steps...); err != nil {
				t.Fatal(err)
			}
			// Wait for the result page, not the login page we left.
			var body string
			deadline := time.Now().Add(10 * time.Second)
			for {
				var err error
				body, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
				if err == nil && strings.Contains(body, tt.wants[0]) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("result page never came: %q (%v)", body, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			for _, w := range tt.wants {
				if !strings.Contains(body, w) {
					t.Fatalf("page lacks %q:\n%s", w, body)
				}
			}
			// The POST answered 303: the page is a GET, and reloading it
			// shows the same result without posting the form again.
			loc, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil || !strings.Contains(loc, "/online?") && !strings.Contains(loc, "/result?") {
				t.Fatalf("the result page's address %q (%v): not the GET a 303 leads to", loc, err)
			}
			if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
				t.Fatal(err)
			}
			if again, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body"))); err != nil || !strings.Contains(again, tt.wants[0]) {
				t.Fatalf("reloaded result: %q (%v)", again, err)
			}
			if !strings.Contains(body, "测试大学 网络信息中心-7") {
				t.Fatalf("no node footer:\n%s", body)
			}
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(shots, tt.name+".png")
			if err := os.WriteFile(out, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: portal/%s", out)
			if tt.class != "" && tt.mac != "" {
				// The page's script reported the device hints.
				var class access.Class
				var signals string
				if devs := storetest.DevicesByMAC(t, h.st, tt.mac); len(devs) == 1 {
					class, signals = devs[0].Class, devs[0].Signals
				}
				if class != tt.class || !strings.Contains(signals, "screen") && !strings.Contains(signals, "platform") {
					t.Fatalf("device %s: class %q signals %q", tt.mac, class, signals)
				}
			}
		})
	}
	t.Run("desktop-held-address", func(t *testing.T) {
		// Another account is online at the address this browser asks
		// from (127.0.0.1, typed by hand): the status page names nobody.
		h.account("roommate", "roommate-pass", 4321, false)
		aaa := store.NewAAA(h.st)
		defer aaa.Close()
		if _, err := aaa.RecordAccounting(context.Background(), []access.AcctRecord{{Kind: access.AcctStart, NAS: "bras-v2-chap", Area: "dorm",
			AcctSessionID: "HELD1", Username: "roommate", MAC: "02:00:00:00:00:99", IP: "127.0.0.1"}}); err != nil {
			t.Fatal(err)
		}
		tab, cancel := chromedp.NewContext(browser)
		defer cancel()
		ctx, cancelT := context.WithTimeout(tab, 30*time.Second)
		defer cancelT()
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(h.srv.URL+"/status?lang=zh"), chromedp.WaitVisible(chromedp.CSS("footer"))); err != nil {
			t.Fatal(err)
		}
		body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		if err != nil || !strings.Contains(body, "已被其他设备使用") || !strings.Contains(body, "ipconfig /renew") ||
			strings.Contains(body, "roommate") || strings.Contains(body, "43.21") {
			t.Fatalf("held address page: %q (%v)", body, err)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(shots, "desktop-held-address.png")
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: portal/%s", out)
	})
}

// hanRE is one Chinese character; englishRE is an English sentence or
// phrase: three words in a row.
var (
	hanRE     = regexp.MustCompile(`\p{Han}`)
	englishRE = regexp.MustCompile(`[A-Za-z]{2,}[,:;]?\s+[A-Za-z]{2,}[,:;]?\s+[A-Za-z]{2,}`)
)

// TestBrowserRefusalOneLanguage is the refusal page as a person reads it:
// a browser set to English sees no Chinese outside the node footer and the
// 中文 switch, one that states no language sees no English sentence, and
// both see the reason code for the desk. The switch changes the language
// and the cookie keeps it on the next page.
func TestBrowserRefusalOneLanguage(t *testing.T) {
	h := newHarness(t)
	h.account("student2", "student2-pass", 1000, false)
	rf := access.RefuseArrears(1000, 2000, h.cfg.PaymentURL)
	h.radius.setRefusal("student2", &rf)
	browser := browsertest.New(t, chromedp.WindowSize(1280, 800))
	shots := browsertest.ScreenshotDir(t, screenshotDir)
	// mainText is what the page says, without the switch (which names the
	// other language in that language) and the footer.
	const mainText = `(() => { const m = document.querySelector("main").cloneNode(true); m.querySelectorAll(".lang").forEach(e => e.remove()); return m.innerText; })()`
	for i, tt := range []struct {
		name, acceptLanguage string
		want                 []string
		switchTo             string
	}{
		{"refused-en", "en-US,en", []string{"Not online", "Account in arrears", "10.00 yuan", "Recharge", "ARREARS"}, "账户欠费"},
		{"refused-zh", "", []string{"未能上线", "账户欠费", "10.00 元", "去充值", "ARREARS"}, "Account in arrears"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tab, cancel := chromedp.NewContext(browser)
			defer cancel()
			ctx, cancelT := context.WithTimeout(tab, 30*time.Second)
			defer cancelT()
			q := url.Values{"wlanuserip": {fmt.Sprintf("10.2.7.%d", 20+i)}, "wlanacname": {"bras-v2-chap"}}
			if err := chromedp.Do(ctx, browsertest.AcceptLanguage(tt.acceptLanguage), chromedp.Emulate(device.IPhone13),
				chromedp.Navigate(h.srv.URL+"/?"+q.Encode()), chromedp.WaitVisible(chromedp.CSS("#u")),
				chromedp.SendKeys(chromedp.CSS("#u"), "student2"), chromedp.SendKeys(chromedp.CSS("#p"), "student2-pass"),
				chromedp.Click(chromedp.CSS("button[type=submit]")), chromedp.WaitVisible(chromedp.CSS("p.code"))); err != nil {
				t.Fatal(err)
			}
			text, err := chromedp.Run(ctx, chromedp.Evaluate[string](mainText))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Fatalf("page lacks %q:\n%s", w, text)
				}
			}
			if tt.acceptLanguage != "" {
				if m := hanRE.FindString(text); m != "" {
					t.Fatalf("English page has Chinese %q:\n%s", m, text)
				}
			} else if m := englishRE.FindString(text); m != "" {
				t.Fatalf("Chinese page has English %q:\n%s", m, text)
			}
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(shots, tt.name+".png")
			if err := os.WriteFile(out, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("screenshot: portal/%s", out)
			// The switch: the other language, then remembered.
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(".lang a")), chromedp.WaitVisible(chromedp.CSS("footer"))); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx, chromedp.Navigate(h.srv.URL+"/?"+q.Encode()), chromedp.WaitVisible(chromedp.CSS("#u"))); err != nil {
				t.Fatal(err)
			}
			login, err := chromedp.Run(ctx, chromedp.Evaluate[string](mainText))
			if err != nil {
				t.Fatal(err)
			}
			wantLogin := "Campus network login"
			if tt.acceptLanguage != "" {
				wantLogin = "校园网认证"
			}
			if !strings.Contains(login, wantLogin) {
				t.Fatalf("after the switch, the login page lacks %q:\n%s", wantLogin, login)
			}
		})
	}
}
