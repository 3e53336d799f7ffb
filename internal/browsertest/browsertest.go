// Package browsertest starts the real browser the page tests drive:
// headless Chromium from Debian, with a fresh profile and the flags this
// closed network needs. A test that finds no Chromium skips, saying what to
// install, and fails when CI=true.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// New starts Chromium for t and returns a chromedp context; it is closed
// when the test ends. extra options (window size…) are added to the defaults.
func New(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not found: install chromium (apt-get install -y chromium)")
		}
		t.Skip("chromium not found: install chromium (apt-get install -y chromium)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	opts = append(opts, extra...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// ScreenshotsEnv names the variable that refreshes committed screenshots:
// CAMPUSNET_SCREENSHOTS=update go test -run Browser ./portal/ ./selfservice/.
const ScreenshotsEnv = "CAMPUSNET_SCREENSHOTS"

// ScreenshotDir is where a browser test writes its screenshots: committed
// (the committed screenshots' folder) when ScreenshotsEnv is "update",
// else committed+"/out", which .gitignore lists, so a test run leaves the
// tree as it was. It creates the folder.
func ScreenshotDir(t testing.TB, committed string) string {
	t.Helper()
	dir := committed + "/out"
	if os.Getenv(ScreenshotsEnv) == "update" {
		dir = committed
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// AcceptLanguage makes the tab send Accept-Language: lang with every
// request, as a browser set to that language does ("en-US,en" or
// "zh-CN,zh"); lang "" sends the header empty, as a client that states no
// language (headless Chromium otherwise sends en-US). Run it before the
// first Navigate.
func AcceptLanguage(lang string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": lang}})
		return err
	})
}
