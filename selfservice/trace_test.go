package selfservice_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/browsertest"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"
)

// TestTracePageAndAPI: the case on the NOC page and the operators'
// API, on both databases. Two students held 10.12.9.9 one after the other
// (the second without a Stop) and a third holds it now: each moment traces
// to the one who held it, a gap to nobody; the CSV download is UTF-8 with a
// BOM and keeps the Chinese names; every trace is audited with the
// operator and the reason; a student cannot trace, and a trace without a
// reason or with a bad time is refused and not audited.
func TestTracePageAndAPI(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind)
			e.account("admin", "admin-pass", access.RoleOperator, 0, false)
			e.account("s1", "s1-pass", access.RoleStudent, 0, false)
			h := storetest.SeedTraceHistory(t, e.st, e.clock)
			op := e.client()
			op.login("admin", "admin-pass")
			trace := func(status int, form url.Values) response {
				t.Helper()
				r := op.submit("/admin/trace", "/admin/trace", form)
				if r.status != status {
					t.Fatalf("trace %v: %d, want %d\n%s", form, r.status, status, r.body)
				}
				return r
			}
			form := func(at, reason string) url.Values {
				return url.Values{"key": {h.IP}, "at": {at}, "reason": {reason}, "format": {"html"}}
			}
			r := trace(http.StatusOK, form("2026-12-02 13:30", "公安 2026-117"))
			for _, w := range []string{"王小明", h.Alice.Username, h.AliceMAC, h.AlicePort, "2026-12-02 13:00:00 &#43;08:00", "2026-12-02 14:00:00 &#43;08:00",
				"收到 Stop (User-Request)", "在 2026-12-02 13:30:00 &#43;08:00：1 个会话", "<svg"} {
				if !strings.Contains(r.body, w) {
					t.Errorf("Alice's moment lacks %q", w)
				}
			}
			if strings.Contains(r.body, "李华") || strings.Contains(r.body, "张三") {
				t.Errorf("Alice's moment names another student:\n%s", r.body)
			}
			r = trace(http.StatusOK, form("yesterday 14:05", "abuse desk #88")) // the clock is at 2026-12-02 15:05: yesterday is the 1st
			if !strings.Contains(r.body, "没有会话持有该地址") {
				t.Errorf("yesterday (2026-12-01) 14:05 found a session:\n%s", r.body)
			}
			r = trace(http.StatusOK, form("today 14:05", "abuse desk #88"))
			if !strings.Contains(r.body, "李华") || !strings.Contains(r.body, "未收到 Stop（stale）：计至最后一次 Interim-Update") ||
				!strings.Contains(r.body, "2026-12-02 14:12:00 &#43;08:00") || strings.Contains(r.body, "王小明") {
				t.Errorf("Bob's moment:\n%s", r.body)
			}
			r = trace(http.StatusOK, form("2026-12-02 14:01", "r"))
			if !strings.Contains(r.body, "没有会话持有该地址") || strings.Contains(r.body, "<svg") {
				t.Errorf("the gap:\n%s", r.body)
			}
			// The whole day as CSV.
			r = trace(http.StatusOK, url.Values{"key": {"02-00-0C-00-00-0C"}, "from": {"2026-12-02 00:00"}, "to": {"2026-12-02 23:59"},
				"reason": {"r"}, "format": {"csv"}})
			if ct := r.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" || !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment;") {
				t.Fatalf("CSV headers: %v", r.header)
			}
			if !strings.HasPrefix(r.body, "\ufeff") {
				t.Fatalf("the CSV has no BOM: %q", r.body[:min(20, len(r.body))])
			}
			recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.body, "\ufeff"))).ReadAll()
			if err != nil || len(recs) != 2 || recs[1][1] != "张三" || recs[1][13] != "online now" || recs[1][6] != h.CarolPrefix || recs[1][7] != h.CarolPD {
				t.Fatalf("CSV: %q, %v", recs, err)
			}
			// IPv6: an address inside Alice's Framed-IPv6-Prefix names her
			// session at her moment, not Bob's or Carol's; the page shows
			// her IPv6 address; a moment outside her session, nobody.
			r = trace(http.StatusOK, url.Values{"key": {"2001:db8:1:2::abcd"}, "at": {"2026-12-02 13:30"}, "reason": {"公安 2026-118"}, "format": {"html"}})
			if !strings.Contains(r.body, "王小明") || !strings.Contains(r.body, h.AliceIPv6) || !strings.Contains(r.body, h.AlicePrefix) ||
				strings.Contains(r.body, "李华") || strings.Contains(r.body, "张三") {
				t.Errorf("2001:db8:1:2::abcd at 13:30:\n%s", r.body)
			}
			r = trace(http.StatusOK, url.Values{"key": {"2001:db8:1:2::abcd"}, "at": {"2026-12-02 14:05"}, "reason": {"r"}, "format": {"html"}})
			if !strings.Contains(r.body, "没有会话持有该地址") || strings.Contains(r.body, "李华") {
				t.Errorf("2001:db8:1:2::abcd at 14:05 (Bob's moment, another prefix):\n%s", r.body)
			}
			r = trace(http.StatusOK, url.Values{"key": {"2001:db8:1:2::/64"}, "from": {"2026-12-02 00:00"}, "to": {"2026-12-02 23:59"},
				"reason": {"r"}, "format": {"csv"}})
			recs, err = csv.NewReader(strings.NewReader(strings.TrimPrefix(r.body, "\ufeff"))).ReadAll()
			if err != nil || len(recs) != 2 || recs[1][1] != "王小明" || recs[1][5] != h.AliceIPv6 ||
				!strings.Contains(r.header.Get("Content-Disposition"), `filename="trace-2001-db8-1-2--_64-20261202T0000.csv"`) {
				t.Fatalf("IPv6 CSV: %q, %v, %v", recs, err, r.header)
			}
			trace(http.StatusBadRequest, url.Values{"key": {"2001:db8::1::2"}, "at": {"2026-12-02 13:30"}, "reason": {"r"}, "format": {"html"}})
			if r := op.get("/admin/trace?addr=2001:db8:1:2::abcd"); r.status != http.StatusOK || !strings.Contains(r.body, `value="2001:db8:1:2::abcd"`) {
				t.Errorf("the trace form from find anyone's link: %d\n%s", r.status, r.body)
			}
			// Refused, and not audited: no reason; a bad time; a student.
			r = trace(http.StatusBadRequest, form("2026-12-02 13:30", ""))
			if !strings.Contains(r.body, "请填写事由") || !strings.Contains(r.body, `value="2026-12-02 13:30"`) {
				t.Errorf("no reason: the form should say so and keep what was typed:\n%s", r.body)
			}
			trace(http.StatusBadRequest, form("14:05 yesterday-ish", "r"))
			if r := op.post("/admin/trace", form("2026-12-02 13:30", "no csrf")); r.status != http.StatusForbidden {
				t.Errorf("a trace without the CSRF token: %d", r.status)
			}
			st := e.client()
			st.login("s1", "s1-pass")
			if r := st.get("/admin/trace"); r.status != http.StatusForbidden {
				t.Errorf("a student's trace page: %d", r.status)
			}
			// The API, as campusnet trace --format json.
			api := e.client()
			api.apiLogin("admin", "admin-pass")
			r = api.api(http.MethodPost, "/api/v1/admin/trace", map[string]string{"key": h.IP, "at": "2026-12-02T14:05:00+08:00", "reason": "API case 9"})
			var out struct {
				Key, From, Timezone string
				Sessions            []access.TraceRecord
			}
			mustJSON(t, r, &out)
			if r.status != http.StatusOK || out.Key != h.IP || out.From != "2026-12-02T14:05:00+08:00" || len(out.Sessions) != 1 ||
				out.Sessions[0].Name != "李华" || out.Sessions[0].End != access.TraceNoStop || out.Sessions[0].Until != "2026-12-02T14:12:00+08:00" {
				t.Fatalf("API trace: %d %+v", r.status, out)
			}
			r = api.api(http.MethodPost, "/api/v1/admin/trace", map[string]string{"key": h.IP, "at": "2026-12-02 14:01", "reason": "API case 9"})
			mustJSON(t, r, &out)
			if r.status != http.StatusOK || len(out.Sessions) != 0 {
				t.Fatalf("API trace of the gap: %d %s", r.status, r.body)
			}
			r = api.api(http.MethodPost, "/api/v1/admin/trace", map[string]string{"key": "2001:db8:1:2::abcd", "at": "2026-12-02T13:30:00+08:00", "reason": "API case 10"})
			mustJSON(t, r, &out)
			if r.status != http.StatusOK || out.Key != "2001:db8:1:2::abcd" || len(out.Sessions) != 1 || out.Sessions[0].Name != "王小明" ||
				out.Sessions[0].IPv6 != h.AliceIPv6 || out.Sessions[0].IPv6Prefix != h.AlicePrefix || out.Sessions[0].IPv4 != h.IP {
				t.Fatalf("API trace of an IPv6 address: %d %s", r.status, r.body)
			}
			r = api.api(http.MethodPost, "/api/v1/admin/trace", map[string]string{"key": "2001:db8:1:2::abcd", "at": "2026-12-02 14:01", "reason": "API case 10"})
			mustJSON(t, r, &out)
			if r.status != http.StatusOK || len(out.Sessions) != 0 {
				t.Fatalf("API trace of an IPv6 address in the gap: %d %s", r.status, r.body)
			}
			apiError(t, api.api(http.MethodPost, "/api/v1/admin/trace", map[string]string{"key": h.IP}), http.StatusBadRequest, "BAD_REQUEST")
			apiError(t, api.api(http.MethodPost, "/api/v1/admin/trace", map[string]string{"key": "2001:db8:1:2::/129", "reason": "x"}), http.StatusBadRequest, "BAD_REQUEST")
			stAPI := e.client()
			stAPI.apiLogin("s1", "s1-pass")
			apiError(t, stAPI.api(http.MethodPost, "/api/v1/admin/trace", map[string]string{"key": h.IP, "reason": "x"}), http.StatusForbidden, "FORBIDDEN")
			// The audit log: every trace that ran, by whom and why.
			log, err := e.st.AuditLog(context.Background(), h.IP, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(log) != 6 {
				t.Fatalf("audit rows of %s: %+v", h.IP, log)
			}
			first, last := log[len(log)-1], log[0]
			if first.Actor != "admin" || first.Action != "trace" || first.Reason != "公安 2026-117" || !strings.Contains(first.Detail, "NOC page") ||
				last.Reason != "API case 9" || !strings.Contains(last.Detail, "API") {
				t.Fatalf("audit rows: %+v … %+v", first, last)
			}
			if log, err := e.st.AuditLog(context.Background(), h.CarolMAC, 10); err != nil || len(log) != 1 || !strings.Contains(log[0].Detail, "CSV") {
				t.Fatalf("the CSV download's audit row: %+v %v", log, err)
			}
		})
	}
}

// TestBrowserTrace: an operator traces an address in headless Chromium on a
// phone-sized screen, without JavaScript on the page: the form, then the
// answer with the right student, the timeline and the table, no wider than
// the screen.
func TestBrowserTrace(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	e.account("admin", "admin-pass", access.RoleOperator, 0, false)
	h := storetest.SeedTraceHistory(t, e.st, e.clock)
	browser := browsertest.New(t) // headless Chromium; skips without one (fails in CI)
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()
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
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "admin-pass"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav a[href="/admin/trace"]`)),
		chromedp.Click(chromedp.CSS(`nav a[href="/admin/trace"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#trace-form`)),
	)
	step("trace",
		chromedp.SendKeys(chromedp.CSS(`input[name=key]`), h.IP),
		chromedp.SendKeys(chromedp.CSS(`input[name=at]`), "2026-12-02 14:05"),
		chromedp.SendKeys(chromedp.CSS(`input[name=reason]`), "公安 2026-117"),
		chromedp.Click(chromedp.CSS(`button[value=html]`)),
		chromedp.WaitVisible(chromedp.CSS(`table#trace`)),
	)
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "李华") || !strings.Contains(body, "2026-12-02 14:12:00 +08:00") || strings.Contains(body, "王小明") {
		t.Fatalf("the trace page: %s", body)
	}
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("figure svg rect[fill='#2b6cb0']") !== null && document.documentElement.scrollWidth <= window.innerWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Error("the trace page has no timeline bar, or is wider than the phone screen")
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(browsertest.ScreenshotDir(t, screenshotDir), "noc-trace.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
