package main

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/browsertest"
	"github.com/campusnet/campusnet/internal/ssotest"
)

// TestSSOOIDCBrowser logs in with OpenID Connect against a real OpenID
// Provider (the npm package oidc-provider, internal/ssotest), driven by
// headless Chromium through the portal and self-service: the code flow with
// PKCE, the ID token checked (signature, iss, aud, exp, nonce), the claims
// read from UserInfo; a replayed callback, a tampered state, a code used
// again at the provider, an ID token for another audience and one with
// another login's nonce are refused;
// self-service logout ends the provider's session (end_session_endpoint),
// so the next login asks for the password again; a first login makes the
// account with the provider's role.
func TestSSOOIDCBrowser(t *testing.T) {
	t.Parallel()
	pp, sp := freeTCPPort(t), freeTCPPort(t)
	portal, self := fmt.Sprintf("http://127.0.0.1:%d/", pp), fmt.Sprintf("http://127.0.0.1:%d/", sp)
	op := ssotest.NewOIDC(t, ssotest.OIDCClient{ID: "campusnet", Secret: "a-test-client-secret",
		RedirectURIs:           []string{portal + "sso/campus/callback", self + "sso/campus/callback"},
		PostLogoutRedirectURIs: []string{self + "login"}},
		map[string]ssotest.OIDCUser{"student1": {Name: "学生一", Role: "student"}, "newbie": {Name: "新同学", Role: "staff"}})
	s := newSSOServerOn(t, "sqlite", pp, sp, fmt.Sprintf(`
[identity.sso]
[[identity.sso.provider]]
name = "campus"
kind = "oidc"
display_name = "统一身份认证"
display_name_en = "Unified identity"
issuer = %q
client_id = "campusnet"
client_secret = "a-test-client-secret"
scopes = ["profile", "campus"]
role_claim = "role"
`, op.Issuer))
	ctx := context.Background()

	browser := browsertest.New(t)
	shots := browsertest.ScreenshotDir(t, "../../portal/testdata/screenshots")
	bctx, cancel := context.WithTimeout(browser, 120*time.Second)
	defer cancel()
	var mu sync.Mutex
	var callbacks []string
	if err := chromedp.Listen(bctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && strings.Contains(e.Request.URL, "/sso/campus/callback") {
			mu.Lock()
			callbacks = append(callbacks, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	lastCallback := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(callbacks) == 0 {
			t.Fatal("the browser never came back to the callback")
		}
		return callbacks[len(callbacks)-1]
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func() string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body")))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	has := func(what string, wants ...string) {
		t.Helper()
		body := text()
		for _, w := range wants {
			if !strings.Contains(body, w) {
				loc, _ := chromedp.Run(bctx, chromedp.Location())
				t.Fatalf("%s: %s lacks %q:\n%s", what, loc, w, body)
			}
		}
	}
	entry := func(ip, mac string) string {
		return portal + "?" + url.Values{"wlanuserip": {ip}, "wlanacname": {"dorm-bras-1"}, "usermac": {mac}, "wlanuserfirsturl": {"http://www.example.edu.cn/"}}.Encode()
	}

	step("portal login page", browsertest.AcceptLanguage("zh-CN,zh"), chromedp.Navigate(entry("10.0.30.1", "00:16:3e:00:30:01")),
		chromedp.WaitVisible(chromedp.CSS(`#sso-campus`)))
	has("login page", "统一身份认证登录", "或使用下方的校园网账号和密码登录")
	if png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100)); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(filepath.Join(shots, "desktop-sso-login.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	step("to the provider and back",
		chromedp.Click(chromedp.CSS(`#sso-campus`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), "student1"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "any"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"]`)))
	has("online page", "已上线", "student1", "宿舍区", "网络信息中心-t1")
	sess := s.waitSession("10.0.30.1", true)
	if sess.Username != "student1" || sess.MAC != "00:16:3e:00:30:01" || sess.Class != access.ClassPC {
		t.Fatalf("session %+v", sess)
	}
	first := lastCallback()
	u, _ := url.Parse(first)
	if u.Query().Get("code") == "" || u.Query().Get("state") == "" {
		t.Fatalf("callback %s", first)
	}

	// The same callback again (a reload, the back button): the state is spent.
	step("replayed callback", chromedp.Navigate(first), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	has("replayed callback", "登录链接无效", "已使用")
	// A changed state: refused before anything else.
	q := u.Query()
	q.Set("state", "x"+q.Get("state")[1:])
	tampered := *u
	tampered.RawQuery = q.Encode()
	step("tampered state", chromedp.Navigate(tampered.String()), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	has("tampered state", "登录链接无效")

	// The old code with a fresh state of this browser's own: the provider
	// refuses a code used once (and the PKCE verifier is another).
	w := newWebClient(t, e2eWindows)
	w.stopAt = "/auth"
	_, _, resp := w.do(http.MethodGet, portal+"sso/campus/start?"+url.Values{"wlanuserip": {"10.0.30.2"}, "wlanacname": {"dorm-bras-1"}}.Encode(), nil)
	auth, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(auth.String(), op.Issuer+"/auth?") || auth.Query().Get("code_challenge_method") != "S256" || auth.Query().Get("nonce") == "" {
		t.Fatalf("authorization request %s %v", auth, err)
	}
	code, body, _ := w.do(http.MethodGet, portal+"sso/campus/callback?"+url.Values{"code": {u.Query().Get("code")}, "state": {auth.Query().Get("state")}}.Encode(), nil)
	if code != http.StatusForbidden || !strings.Contains(body, "统一身份认证未确认本次登录") || !strings.Contains(body, string(access.ReasonSSOFailed)) {
		t.Fatalf("replayed code: %d\n%s", code, body)
	}
	if _, err := s.s.st.LiveSessionByIP(ctx, "10.0.30.2"); err == nil {
		t.Fatal("a replayed code put an address online")
	}

	// An ID token for another client (signed by the provider all the same).
	op.WrongAudienceNext(t)
	step("wrong audience", chromedp.Navigate(entry("10.0.30.3", "00:16:3e:00:30:03")), chromedp.WaitVisible(chromedp.CSS(`#sso-campus`)),
		chromedp.Click(chromedp.CSS(`#sso-campus`)), chromedp.WaitVisible(chromedp.CSS(`p.code`)))
	has("wrong audience", "统一身份认证未确认本次登录", string(access.ReasonSSOFailed))
	if _, err := s.s.st.LiveSessionByIP(ctx, "10.0.30.3"); err == nil {
		t.Fatal("an ID token for another audience put an address online")
	}
	// An ID token of another login (the right audience, the provider's
	// signature, a nonce this login never sent): refused on the nonce alone.
	op.WrongNonceNext(t)
	step("wrong nonce", chromedp.Navigate(entry("10.0.30.5", "00:16:3e:00:30:05")), chromedp.WaitVisible(chromedp.CSS(`#sso-campus`)),
		chromedp.Click(chromedp.CSS(`#sso-campus`)), chromedp.WaitVisible(chromedp.CSS(`p.code`)))
	has("wrong nonce", "统一身份认证未确认本次登录", string(access.ReasonSSOFailed))
	if _, err := s.s.st.LiveSessionByIP(ctx, "10.0.30.5"); err == nil {
		t.Fatal("an ID token with another login's nonce put an address online")
	}
	if logs := s.logs.String(); !strings.Contains(logs, "ID token nonce does not match") {
		t.Fatalf("the nonce refusal is not in the log:\n%s", logs)
	}

	// Self-service: the provider's session lets the person straight in.
	step("self-service", chromedp.Navigate(self+"login"), chromedp.WaitVisible(chromedp.CSS(`#sso-campus`)),
		chromedp.Click(chromedp.CSS(`#sso-campus`)), chromedp.WaitVisible(chromedp.CSS(`#balance`)))
	has("self-service overview", "student1", "50.00")
	// Logout ends the provider's session too: its sign-out page, then back.
	step("self-service logout", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`button[value=yes]`)), chromedp.Click(chromedp.CSS(`button[value=yes]`)),
		chromedp.WaitVisible(chromedp.CSS(`#sso-campus`)))
	if loc, err := chromedp.Run(bctx, chromedp.Location()); err != nil || loc != self+"login" {
		t.Fatalf("after logout at %s (%v)", loc, err)
	}

	// A first login (the provider asks for the password again: its session
	// ended): the account is made with the provider's role and, with no
	// balance, the dorm refuses it for arrears.
	step("first login", chromedp.Navigate(entry("10.0.30.4", "00:16:3e:00:30:04")), chromedp.WaitVisible(chromedp.CSS(`#sso-campus`)),
		chromedp.Click(chromedp.CSS(`#sso-campus`)), chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=login]`), "newbie"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "any"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.code`)))
	has("first login", "账户欠费", string(access.ReasonArrears), "20.00")
	a, err := s.s.st.AccountByUsername(ctx, "newbie")
	if err != nil || a.Role != access.RoleStaff || a.Name != "新同学" || a.SSOProvider != "campus" || a.PasswordHash != "" {
		t.Fatalf("account %+v %v", a, err)
	}

	// The log names the provider, the user and the reasons, never the
	// client secret, a code or a state.
	logs := s.logs.String()
	for _, secret := range []string{"a-test-client-secret", u.Query().Get("code"), u.Query().Get("state")} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the log holds %q", secret)
		}
	}
	if !strings.Contains(logs, `"msg":"single sign-on confirmed"`) || !strings.Contains(logs, `"reason":"sso: login not confirmed by the provider: ID token`) {
		t.Fatalf("the log lacks the logins:\n%s", logs)
	}
}

// oidcLogin is a portal login by OpenID Connect from a BAS redirect in a
// browser without JavaScript: the button (with the hints the page's script
// adds), the provider's authorization request (returned, to be looked at),
// its login form, and the page the browser ends on back at the portal.
func (s *ssoServer) oidcLogin(w *webClient, op *ssotest.OIDC, provider, ip, mac, user string) (*url.URL, int, string) {
	s.t.Helper()
	q := url.Values{"wlanuserip": {ip}, "wlanacname": {"dorm-bras-1"}, "usermac": {mac}, "wlanuserfirsturl": {"http://www.example.edu.cn/"}}
	_, entry, _ := w.do(http.MethodGet, s.portal+"?"+q.Encode(), nil)
	w.stopAt = "/auth"
	_, _, resp := w.do(http.MethodGet, ssoLink(s.t, s.portal, entry, provider)+"&platform=Win32&touch=0&sw=1920&sh=1080", nil)
	w.stopAt = ""
	auth, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(auth.String(), op.Issuer+"/auth?") {
		s.t.Fatalf("authorization request %q (%s) %v", resp.Header.Get("Location"), resp.Status, err)
	}
	_, form, resp := w.do(http.MethodGet, auth.String(), nil)
	action := regexp.MustCompile(`<form autocomplete="off" action="([^"]+)"`).FindStringSubmatch(form)
	if action == nil || !strings.Contains(form, `name="login"`) {
		s.t.Fatalf("not the provider's login form (%s):\n%s", resp.Request.URL, form)
	}
	target, err := resp.Request.URL.Parse(html.UnescapeString(action[1]))
	if err != nil {
		s.t.Fatal(err)
	}
	code, body, _ := w.do(http.MethodPost, target.String(), url.Values{"prompt": {"login"}, "login": {user}, "password": {"any"}})
	return auth, code, body
}

// TestSSOOIDCClients logs in end to end, against the real OpenID Provider,
// with the two other client registrations a campus provider hands out: a
// confidential client with PKCE turned off (pkce = false: no
// code_challenge is sent, the provider does not require one) and a public
// client (no client_secret; the provider registers it with
// token_endpoint_auth_method none, so a secret sent anyway would be
// refused), which must use PKCE.
func TestSSOOIDCClients(t *testing.T) {
	t.Parallel()
	pp, sp := freeTCPPort(t), freeTCPPort(t)
	portal := fmt.Sprintf("http://127.0.0.1:%d/", pp)
	op := ssotest.NewOIDCClients(t, []ssotest.OIDCClient{
		{ID: "campusnet-nopkce", Secret: "a-test-client-secret", RedirectURIs: []string{portal + "sso/nopkce/callback"}, PKCEOptional: true},
		{ID: "campusnet-public", Public: true, RedirectURIs: []string{portal + "sso/public/callback"}},
	}, map[string]ssotest.OIDCUser{"student1": {Name: "学生一", Role: "student"}})
	s := newSSOServerOn(t, "sqlite", pp, sp, fmt.Sprintf(`
[identity.sso]
[[identity.sso.provider]]
name = "nopkce"
kind = "oidc"
issuer = %[1]q
client_id = "campusnet-nopkce"
client_secret = "a-test-client-secret"
pkce = false
scopes = ["profile", "campus"]
role_claim = "role"
[[identity.sso.provider]]
name = "public"
kind = "oidc"
issuer = %[1]q
client_id = "campusnet-public"
scopes = ["profile", "campus"]
role_claim = "role"
`, op.Issuer))
	for i, c := range []struct {
		provider string
		pkce     bool
	}{{"nopkce", false}, {"public", true}} {
		t.Run(c.provider, func(t *testing.T) {
			ip, mac := fmt.Sprintf("10.0.31.%d", i+1), fmt.Sprintf("00:16:3e:00:31:%02x", i+1)
			w := newWebClient(t, e2eWindows)
			auth, code, body := s.oidcLogin(w, op, c.provider, ip, mac, "student1")
			if got := auth.Query().Get("code_challenge") != ""; got != c.pkce || auth.Query().Get("client_id") != "campusnet-"+c.provider {
				t.Fatalf("authorization request %s: PKCE %v, want %v", auth, got, c.pkce)
			}
			if code != http.StatusOK {
				t.Fatalf("%d\n%s", code, body)
			}
			contains(t, body, "已上线", "student1", "<dd>电脑</dd>", "网络信息中心-t1")
			if !strings.Contains(w.callback, "/sso/"+c.provider+"/callback?") {
				t.Fatalf("came back at %q", w.callback)
			}
			sess := s.waitSession(ip, true)
			if sess.Username != "student1" || sess.MAC != mac {
				t.Fatalf("session %+v", sess)
			}
			// Off again, for the next client's login of the same PC account.
			if code, body, _ := w.do(http.MethodPost, s.portal+"logout", hiddenForm(body)); code != http.StatusOK {
				t.Fatalf("logout: %d\n%s", code, body)
			}
			s.waitSession(ip, false)
		})
	}
}
