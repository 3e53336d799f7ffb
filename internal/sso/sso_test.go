package sso_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/sso"
	"github.com/campusnet/campusnet/internal/ssotest"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
)

const callback = "https://portal.example.edu/sso/cas/callback"

var key = []byte("0123456789abcdef0123456789abcdef")

// casTrip starts a login and has the test CAS server issue a ticket for
// it: the service URL the server sends the browser back to, parsed.
func casTrip(t *testing.T, c *sso.Client, cas *ssotest.CAS, provider, user string) (url.Values, string) {
	t.Helper()
	redirect, browser, err := c.Begin(context.Background(), sso.Start{Provider: provider, Purpose: sso.PurposePortal, Callback: callback, Payload: "userip=10.0.0.9"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(redirect)
	if err != nil || !strings.HasPrefix(redirect, cas.URL()+"/login?") {
		t.Fatalf("redirect %s %v", redirect, err)
	}
	service := u.Query().Get("service")
	if !strings.HasPrefix(service, callback+"?state=") {
		t.Fatalf("service %s", service)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.PostForm(cas.URL()+"/login", url.Values{"service": {service}, "username": {user}, "password": {"pw"}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Query().Get("ticket") == "" {
		t.Fatalf("CAS answered %s, %s", resp.Status, resp.Header.Get("Location"))
	}
	return back.Query(), browser
}

// TestCASStates: a state is refused when changed, expired, used or taken
// to another browser; CAS's own failures (an unknown ticket, another
// service) are ErrDenied; the v3 attributes name the account, its name and
// role.
func TestCASStates(t *testing.T) {
	t.Parallel()
	cas := ssotest.NewCAS(t, map[string]ssotest.CASUser{
		"jdoe": {Password: "pw", Attributes: map[string]string{"uid": "20261234", "cn": "张三", "role": "staff"}},
	})
	now := time.Now()
	clock := func() time.Time { return now }
	st := storetest.NewSQLite(t)
	c, err := sso.New(sso.Config{Providers: []sso.Provider{{Name: "cas", Kind: sso.KindCAS, ServerURL: cas.URL(), Version: 3,
		AccountAttribute: "uid", NameAttribute: "cn", RoleAttribute: "role"}}}, key, st, nil, clock)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	q, browser := casTrip(t, c, cas, "cas", "jdoe")
	res, err := c.Finish(ctx, sso.PurposePortal, "cas", q, callback, browser)
	if err != nil {
		t.Fatal(err)
	}
	if res.Person.ID != "20261234" || res.Person.Name != "张三" || res.Person.Role != access.RoleStaff || res.Person.Provider != "cas" || res.Payload != "userip=10.0.0.9" {
		t.Fatalf("%+v", res)
	}
	if _, err := c.Finish(ctx, sso.PurposePortal, "cas", q, callback, browser); !errors.Is(err, sso.ErrBadState) {
		t.Fatalf("used state: %v", err)
	}

	q, browser = casTrip(t, c, cas, "cas", "jdoe")
	bad := url.Values{"state": {q.Get("state") + "x"}, "ticket": {q.Get("ticket")}}
	if _, err := c.Finish(ctx, sso.PurposePortal, "cas", bad, callback, browser); !errors.Is(err, sso.ErrBadState) {
		t.Fatalf("changed state: %v", err)
	}
	if _, err := c.Finish(ctx, sso.PurposeSelfService, "cas", q, callback, browser); !errors.Is(err, sso.ErrBadState) {
		t.Fatalf("the portal's state in self-service: %v", err)
	}
	if _, err := c.Finish(ctx, sso.PurposePortal, "cas", q, callback, "another-browser"); !errors.Is(err, sso.ErrBadState) {
		t.Fatalf("another browser: %v", err)
	}

	q, browser = casTrip(t, c, cas, "cas", "jdoe")
	q.Set("ticket", "ST-forged")
	if _, err := c.Finish(ctx, sso.PurposePortal, "cas", q, callback, browser); !errors.Is(err, sso.ErrDenied) || !strings.Contains(err.Error(), "INVALID_TICKET") {
		t.Fatalf("forged ticket: %v", err)
	}

	q, browser = casTrip(t, c, cas, "cas", "jdoe")
	if _, err := c.Finish(ctx, sso.PurposePortal, "cas", q, "https://evil.example/sso/cas/callback", browser); !errors.Is(err, sso.ErrDenied) || !strings.Contains(err.Error(), "INVALID_SERVICE") {
		t.Fatalf("ticket for another service: %v", err)
	}

	q, browser = casTrip(t, c, cas, "cas", "jdoe")
	now = now.Add(11 * time.Minute)
	if _, err := c.Finish(ctx, sso.PurposePortal, "cas", q, callback, browser); !errors.Is(err, sso.ErrBadState) {
		t.Fatalf("expired state: %v", err)
	}
	if got := c.LogoutURL(ctx, "cas", "https://self.example.edu/login"); got != cas.URL()+"/logout?service=https%3A%2F%2Fself.example.edu%2Flogin" {
		t.Fatalf("logout %s", got)
	}
}

// TestUnreachable: a provider that does not answer is ErrUnavailable, and
// no state is stored for it.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	cas := ssotest.NewCAS(t, nil)
	server := cas.URL()
	cas.Close()
	c, err := sso.New(sso.Config{Timeout: time.Second, Providers: []sso.Provider{
		{Name: "cas", Kind: sso.KindCAS, ServerURL: server, Version: 3},
		{Name: "oidc", Kind: sso.KindOIDC, Issuer: strings.TrimSuffix(server, "/cas"), ClientID: "c", ClientSecret: "s", PKCE: true},
	}}, key, storetest.NewSQLite(t), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"cas", "oidc"} {
		if _, _, err := c.Begin(context.Background(), sso.Start{Provider: p, Purpose: sso.PurposePortal, Callback: callback}); !errors.Is(err, sso.ErrUnavailable) {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, _, err := c.Begin(context.Background(), sso.Start{Provider: "nope", Purpose: sso.PurposePortal, Callback: callback}); !errors.Is(err, sso.ErrUnknownProvider) {
		t.Errorf("unknown provider: %v", err)
	}
}

// TestValidate: each bad setting is named.
func TestValidate(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		p    sso.Provider
		want string
	}{
		{sso.Provider{Name: "Bad Name", Kind: sso.KindCAS}, "name:"},
		{sso.Provider{Name: "cas", Kind: "saml"}, "kind:"},
		{sso.Provider{Name: "cas", Kind: sso.KindCAS, ServerURL: "cas.example.edu", Version: 3}, "server_url:"},
		{sso.Provider{Name: "cas", Kind: sso.KindCAS, ServerURL: "https://cas.example.edu/cas", Version: 1}, "version:"},
		{sso.Provider{Name: "o", Kind: sso.KindOIDC, Issuer: "javascript:alert(1)"}, "issuer:"},
		{sso.Provider{Name: "o", Kind: sso.KindOIDC, Issuer: "https://id.example.edu"}, "client_id:"},
		{sso.Provider{Name: "o", Kind: sso.KindOIDC, Issuer: "https://id.example.edu", ClientID: "c"}, "client_secret:"},
	} {
		if err := c.p.Validate(); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %s…", c.p, err, c.want)
		}
	}
}

// TestStatesAcrossNodes: two nodes on one database (the same key, as
// [server] token_key makes it): a login started at one finishes at the
// other, and then at neither again.
func TestStatesAcrossNodes(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, st *store.Store) {
		cas := ssotest.NewCAS(t, map[string]ssotest.CASUser{"jdoe": {Password: "pw"}})
		cfg := sso.Config{Providers: []sso.Provider{{Name: "cas", Kind: sso.KindCAS, ServerURL: cas.URL(), Version: 2}}}
		node1, err := sso.New(cfg, key, st, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		node2, err := sso.New(cfg, key, st, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		q, browser := casTrip(t, node1, cas, "cas", "jdoe")
		res, err := node2.Finish(context.Background(), sso.PurposePortal, "cas", q, callback, browser)
		if err != nil || res.Person.ID != "jdoe" || res.Payload != "userip=10.0.0.9" {
			t.Fatalf("%+v %v", res, err)
		}
		for _, n := range []*sso.Client{node1, node2} {
			if _, err := n.Finish(context.Background(), sso.PurposePortal, "cas", q, callback, browser); !errors.Is(err, sso.ErrBadState) {
				t.Fatalf("a state used twice across nodes: %v", err)
			}
		}
	})
}
