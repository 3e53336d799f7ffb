package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/radius/radiusproto"
)

// TestNewcomerDemo does what the README promises a newcomer: the built
// binary, `serve --demo` in an empty directory, nothing else. It logs in as
// student1 through the portal (a simulated BAS redirect), sees the device
// and the balance in self-service, unbinds it, sees student2 refused for
// arrears, asks RADIUS directly as radtest would, and watches /metrics move.
// It uses the demo's fixed loopback ports, so it runs alone; a busy port
// skips it on a workstation and fails it when CI=true.
func TestNewcomerDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	busy := func(format string, a ...any) {
		t.Helper()
		if storetest.InCI() {
			t.Fatalf(format, a...)
		}
		t.Skipf(format, a...)
	}
	for _, addr := range []string{"127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:9100"} {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			busy("%s is in use: the demo needs its default ports", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:1812", "127.0.0.1:1813", "127.0.0.1:2000", "127.0.0.1:3799", "127.0.0.1:50100"} {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			busy("UDP %s is in use: the demo needs its default ports", addr)
		}
		pc.Close()
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "campusnet")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	work := filepath.Join(dir, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.Command(bin, "serve", "--demo")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "CAMPUSNET_CONFIG=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	printed := make(chan string, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "radtest") && !sent {
				printed <- b.String()
				sent = true
			}
		}
		if !sent {
			printed <- b.String()
		}
		exited <- cmd.Wait()
	}()
	defer func() {
		cancel()
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			// SIGINT: a clean shutdown exits 0.
			if err != nil {
				t.Errorf("serve --demo did not shut down cleanly: %v", err)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("serve --demo did not stop within 20 s of SIGINT")
		}
		if t.Failed() {
			t.Logf("stderr:\n%s", stderr.String())
		}
	}()
	var banner string
	select {
	case banner = <-printed:
	case <-time.After(60 * time.Second):
		t.Fatal("serve --demo printed nothing in 60 s")
	}
	for _, want := range []string{"http://127.0.0.1:8080/", "http://127.0.0.1:8081/", "student1", "student2-pass", "radtest"} {
		if !strings.Contains(banner, want) {
			t.Fatalf("the demo banner lacks %q:\n%s", want, banner)
		}
	}

	metric := func(name string, labels ...string) float64 {
		t.Helper()
		resp, err := http.Get("http://127.0.0.1:9100/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		total := 0.0
	lines:
		for _, l := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(l, name+"{") && !strings.HasPrefix(l, name+" ") {
				continue
			}
			for _, lb := range labels {
				if !strings.Contains(l, lb) {
					continue lines
				}
			}
			f := strings.Fields(l)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			total += v
		}
		return total
	}
	accepts0 := metric("campusnet_radius_requests_total", `result="accept"`)
	arrears0 := metric("campusnet_radius_requests_total", `reason="ARREARS"`)

	// The portal: a BAS redirect for a dorm PC, then student1 logs in.
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	web := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	portalLogin := func(user, pass, ip, mac string) string {
		t.Helper()
		entry := "http://127.0.0.1:8080/?" + url.Values{"wlanuserip": {ip}, "usermac": {mac}, "wlanacname": {"dorm-bras-1"}}.Encode()
		resp, err := web.Get(entry)
		if err != nil {
			t.Fatal(err)
		}
		page, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("X-Portal-Node") == "" || !strings.Contains(string(page), "网络信息中心-") {
			t.Fatalf("portal page without the node id:\n%s", page)
		}
		form := url.Values{}
		for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(string(page), -1) {
			form.Set(m[1], htmlUnescape(m[2]))
		}
		form.Set("username", user)
		form.Set("password", pass)
		form.Set("platform", "Win32")
		form.Set("touch", "0")
		req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:8080/login", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36")
		resp, err = web.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	page := portalLogin("student1", "student1-pass", "10.1.2.3", "00-11-22-33-44-55")
	if !strings.Contains(page, "已上线") || !strings.Contains(page, "student1") || !strings.Contains(page, "50.00") {
		t.Fatalf("student1 is not online:\n%s", page)
	}
	// The demo BAS is dual stack: the device's SLAAC address in the demo
	// /64 is on the online page.
	const demoIPv6 = "2001:db8:cafe:0:211:22ff:fe33:4455"
	if !strings.Contains(page, "IPv6 地址") || !strings.Contains(page, demoIPv6) {
		t.Fatalf("the online page shows no IPv6 address:\n%s", page)
	}

	// Self-service: the device and the balance, then unbind it.
	api := func(method, path, csrf string, body any) map[string]any {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequest(method, "http://127.0.0.1:8081"+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := web.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %v %v", method, path, resp.StatusCode, out, err)
		}
		return out
	}
	login := api(http.MethodPost, "/api/v1/login", "", map[string]string{"username": "student1", "password": "student1-pass"})
	csrf, _ := login["csrf_token"].(string)
	me := api(http.MethodGet, "/api/v1/me", "", nil)
	if b, err := json.Marshal(me); err != nil || !strings.Contains(string(b), `"balance_fen":5000`) {
		t.Fatalf("me: %s", b)
	}
	// Self-service has the session's IPv6 address too.
	sessions := api(http.MethodGet, "/api/v1/sessions", "", nil)
	if b, err := json.Marshal(sessions); err != nil || !strings.Contains(string(b), `"ip6":"`+demoIPv6+`"`) {
		t.Fatalf("self-service sessions without the IPv6 address: %s", b)
	}
	devs := api(http.MethodGet, "/api/v1/devices", "", nil)
	list, _ := devs["devices"].([]any)
	if len(list) != 1 {
		t.Fatalf("devices: %v", devs)
	}
	d := list[0].(map[string]any)
	if d["mac"] != "00:11:22:33:44:55" || d["bound"] != true || d["online"] != true || d["class"] != "pc" {
		t.Fatalf("device: %v", d)
	}
	un := api(http.MethodDelete, "/api/v1/devices/00:11:22:33:44:55", csrf, nil)
	if b, err := json.Marshal(un); err != nil || !strings.Contains(string(b), "ack") && !strings.Contains(string(b), "ACK") {
		t.Fatalf("unbind did not report the BAS's answer: %s", b)
	}
	devs = api(http.MethodGet, "/api/v1/devices", "", nil)
	if b, err := json.Marshal(devs); err != nil || strings.Contains(string(b), `"bound":true`) || strings.Contains(string(b), `"online":true`) {
		t.Fatalf("still bound or online after unbind: %s", b)
	}

	// student2 is in arrears.
	page = portalLogin("student2", "student2-pass", "10.1.2.4", "00-11-22-33-44-66")
	if !strings.Contains(page, "账户欠费") || !strings.Contains(page, "10.00") || !strings.Contains(page, "20.00") {
		t.Fatalf("student2 not refused for arrears:\n%s", page)
	}

	// RADIUS directly, as the banner's radtest line does (PAP with Message-Authenticator).
	c := &radiusproto.Client{Retry: time.Second, MaxTries: 3, RequireMessageAuthenticator: true}
	defer c.Close()
	p := radius.New(radius.CodeAccessRequest, []byte("testing123"))
	_ = rfc2865.UserName_SetString(p, "student1")
	_ = rfc2865.UserPassword_SetString(p, "student1-pass")
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	reply, err := c.Exchange(rctx, p, "127.0.0.1:1812")
	if err != nil || reply.Code != radius.CodeAccessAccept {
		t.Fatalf("radtest-style PAP for student1: %v %v", reply, err)
	}

	// The counters moved: at least the portal's and radtest's accepts, and one arrears refusal.
	if got := metric("campusnet_radius_requests_total", `result="accept"`); got < accepts0+2 {
		t.Fatalf("accepts counter %v → %v", accepts0, got)
	}
	if got := metric("campusnet_radius_requests_total", `reason="ARREARS"`); got < arrears0+1 {
		t.Fatalf("arrears counter %v → %v", arrears0, got)
	}
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`).Replace(s)
}
