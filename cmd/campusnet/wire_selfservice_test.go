package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/campusnet/campusnet/billing"
)

// ssClient is the campus app talking to a self-service listener.
type ssClient struct {
	t    *testing.T
	c    *http.Client
	csrf string
}

func newSSClient(t *testing.T) *ssClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &ssClient{t: t, c: &http.Client{Jar: jar}}
}

func (c *ssClient) call(method, addr, path string, body any, header map[string]string) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+addr+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil && !errors.Is(err, io.EOF) { // 204: no body
		c.t.Fatal(err)
	}
	return resp.StatusCode, out
}

// moveCookies makes the jar send addr1's cookies to addr2 too (another node
// behind the same load balancer).
func (c *ssClient) moveCookies(addr1, addr2 string) {
	u1, err := url.Parse("http://" + addr1 + "/")
	if err != nil {
		c.t.Fatal(err)
	}
	u2, err := url.Parse("http://" + addr2 + "/")
	if err != nil {
		c.t.Fatal(err)
	}
	c.c.Jar.SetCookies(u2, c.c.Jar.Cookies(u1))
}

// TestServeSelfService: serve --demo answers the self-service API with the
// demo accounts, credits a signed payment at once, and a session opened on
// one node is good on another node sharing token_key.
func TestServeSelfService(t *testing.T) {
	t.Parallel()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "c.db")
	const key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	const nas = `
[[nas]]
name = "dorm-bras-1"
ip = "127.0.0.1"
secret = "testing123"
area = "dorm"
`
	cfg1 := testConfig(t, dsn, nas)
	cfg1.Server.TokenKey = key
	n1 := startServer(t, cfg1, true)
	cfg2 := testConfig(t, dsn, nas)
	cfg2.Server.TokenKey = key
	cfg2.Server.NodeID = "t2"
	n2 := startServer(t, cfg2, false)
	a1, a2 := n1.Addr("selfservice"), n2.Addr("selfservice")

	app := newSSClient(t)
	st, out := app.call(http.MethodPost, a1, "/api/v1/login", map[string]string{"username": "student2", "password": "student2-pass"}, nil)
	if st != http.StatusOK {
		t.Fatalf("login: %d %v", st, out)
	}
	app.csrf, _ = out["csrf_token"].(string)
	st, me := app.call(http.MethodGet, a1, "/api/v1/me", nil, nil)
	areas, _ := me["areas"].([]any)
	if st != http.StatusOK || me["balance_fen"] != 1000.0 || len(areas) != 1 || areas[0].(map[string]any)["open"] != false {
		t.Fatalf("me in arrears: %d %v", st, me)
	}

	// The payment platform pays 20 yuan for student2.
	body := []byte(`{"order_id":"demo-0001","account":"student2","amount_fen":2000,"paid_at":"2026-03-01T10:00:00+08:00"}`)
	req, err := http.NewRequest(http.MethodPost, "http://"+a1+"/api/v1/payments/notify", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Campusnet-Signature", billing.Sign([]byte("change-me"), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook: %d", resp.StatusCode)
	}

	// The other node knows the session and sees the recharge.
	app.moveCookies(a1, a2)
	st, me = app.call(http.MethodGet, a2, "/api/v1/me", nil, nil)
	areas, _ = me["areas"].([]any)
	if st != http.StatusOK || me["balance_fen"] != 3000.0 || len(areas) != 1 || areas[0].(map[string]any)["open"] != true {
		t.Fatalf("me on node t2 after the recharge: %d %v", st, me)
	}
	if st, out := app.call(http.MethodPost, a2, "/api/v1/logout", nil, nil); st != http.StatusNoContent {
		t.Fatalf("logout on t2: %d %v", st, out)
	}

	// The operator is in [selfservice] admins by default.
	noc := newSSClient(t)
	noc.call(http.MethodPost, a1, "/api/v1/login", map[string]string{"username": "admin", "password": "admin-pass"}, nil)
	r, err := noc.c.Get("http://" + a1 + "/admin/nas")
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK || !strings.Contains(string(page), "dorm-bras-1") || r.Header.Get("X-Portal-Node") != "t1" {
		t.Fatalf("NOC BAS list: %d %s", r.StatusCode, page)
	}

	m, err := http.Get("http://" + n1.Addr("ops") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, err := io.ReadAll(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	m.Body.Close()
	for _, w := range []string{`campusnet_selfservice_logins_total{result="ok"} 2`, `campusnet_payments_total{result="credited"} 1`} {
		if !strings.Contains(string(metrics), w) {
			t.Errorf("metrics lack %s", w)
		}
	}
}
