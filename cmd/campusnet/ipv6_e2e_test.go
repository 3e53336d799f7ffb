package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/storetest"
)

// v6Browser is a browser that reaches the portal at a given listener
// (the IPv4 one, or the IPv6 one on [::1]).
type v6Browser struct {
	t    *testing.T
	base string
	c    *http.Client
	ua   string
}

func newV6Browser(t *testing.T, addr, ua string) *v6Browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &v6Browser{t: t, base: "http://" + addr, ua: ua, c: &http.Client{Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *v6Browser) do(method, path string, form url.Values, hdr map[string]string) (int, http.Header, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", b.ua)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if loc := resp.Header.Get("Location"); resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(loc, "/") {
		return b.do(http.MethodGet, loc, nil, nil)
	}
	return resp.StatusCode, resp.Header, string(out)
}

func (b *v6Browser) login(query url.Values, user, pass string) (int, string) {
	b.t.Helper()
	_, _, entry := b.do(http.MethodGet, "/?"+query.Encode(), nil, nil)
	f := hiddenForm(entry)
	f.Set("username", user)
	f.Set("password", pass)
	code, _, body := b.do(http.MethodPost, "/login", f, nil)
	return code, body
}

// TestIPv6EndToEnd is a whole campusnet, with its demo BAS simulator,
// on loopback: the portal answers on [::1] (login page, probe redirect,
// RFC 8908 API); a dual-stack login whose BAS sends the user's IPv6
// address in the Portal exchange records both addresses on the session
// and shows them; an IPv6-only login from [::1] is found by its IPv6
// address (the API and the probes say online); the operator's Disconnect
// of that session reaches the BAS by its IPv6 identifiers, whose
// NTF_LOGOUT for the IPv6 user the portal acknowledges, and the status
// page of [::1] then says the BAS ended it. Self-service shows the IPv6
// address on the IPv6 listener too.
func TestIPv6EndToEnd(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			nas := fmt.Sprintf(`[[nas]]
name = "dorm-bras-1"
ip = "127.0.0.1"
secret = "testing123"
area = "dorm"
coa_port = %d
portal_addr = "127.0.0.1:%d"
portal_version = 2
portal_secret = "portal-secret"
portal_auth = "chap"
user_subnets = ["10.0.0.0/16", "2001:db8:9::/48"]
`, freeUDPPort(t, "127.0.0.1"), freeUDPPort(t, "127.0.0.1"))
			cfg := testConfig(t, storetest.DSN(t, kind), nas)
			cfg.Portal.ListenIPv6 = "[::1]:0"
			cfg.SelfService.ListenIPv6 = "[::1]:0"
			cfg.Portal.BASTimeout.Duration = 2 * time.Second
			s := startServer(t, cfg, true)
			ctx := context.Background()
			v6addr := s.Addr("portal-ipv6")
			if !strings.HasPrefix(v6addr, "[::1]:") {
				t.Fatalf("portal IPv6 listener: %q", v6addr)
			}
			waitOnline := func(ip string) access.Session {
				t.Helper()
				var sess access.Session
				deadline := time.Now().Add(5 * time.Second)
				for {
					var err error
					sess, err = s.st.LiveSessionByIP(ctx, ip)
					if err == nil && sess.Status == access.SessionOnline {
						return sess
					}
					if time.Now().After(deadline) {
						t.Fatalf("no online session of %s: %+v, %v", ip, sess, err)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}

			// Before login, on [::1]: the login page, the probe's redirect,
			// the captive API.
			v6 := newV6Browser(t, v6addr, e2eIPhone)
			code, _, body := v6.do(http.MethodGet, "/", nil, nil)
			if code != http.StatusOK {
				t.Fatalf("login page on [::1]: %d\n%s", code, body)
			}
			contains(t, body, "::1", `name="password"`)
			code, hdr, _ := v6.do(http.MethodGet, "/generate_204", nil, map[string]string{"Host": "connectivitycheck.gstatic.com"})
			if code != http.StatusFound || hdr.Get("Location") == "" {
				t.Fatalf("probe on [::1] before login: %d %v", code, hdr)
			}
			code, hdr, body = v6.do(http.MethodGet, "/api/v1/captive", nil, nil)
			if code != http.StatusOK || hdr.Get("Content-Type") != "application/captive+json" || !strings.Contains(body, `"captive":true`) {
				t.Fatalf("captive API on [::1] before login: %d %v %s", code, hdr, body)
			}

			// A dual-stack PC through the IPv4 listener, its BAS naming the
			// IPv6 address in the redirect: the portal sends it in REQ_AUTH
			// (User-IPv6), the BAS in RADIUS, the session has both.
			pc := newV6Browser(t, s.Addr("portal"), e2eWindows)
			q := url.Values{"wlanuserip": {"10.0.9.5"}, "wlanacname": {"dorm-bras-1"}, "usermac": {"00:16:3e:00:09:05"}, "userip6": {"2001:db8:9::5"}}
			code, body = pc.login(q, "student1", "student1-pass")
			if code != http.StatusOK {
				t.Fatalf("dual-stack login: %d\n%s", code, body)
			}
			contains(t, body, "已上线", "10.0.9.5", "2001:db8:9::5")
			dual := waitOnline("10.0.9.5")
			if dual.IP6 != "2001:db8:9::5" || dual.IP6Prefix != "2001:db8:9::/64" || dual.IP != "10.0.9.5" {
				t.Fatalf("dual-stack session: %+v", dual)
			}
			if got := waitOnline("2001:db8:9::77"); got.ID != dual.ID {
				t.Fatalf("the /64 finds another session: %+v", got)
			}

			// An IPv6-only phone on [::1], by hand.
			code, body = v6.login(url.Values{}, "student1", "student1-pass")
			if code != http.StatusOK {
				t.Fatalf("IPv6-only login: %d\n%s", code, body)
			}
			only := waitOnline("::1")
			if only.IP != "" || only.IP6 != "::1" || only.ID == dual.ID {
				t.Fatalf("IPv6-only session: %+v", only)
			}
			code, _, body = v6.do(http.MethodGet, "/api/v1/captive", nil, nil)
			if code != http.StatusOK || !strings.Contains(body, `"captive":false`) {
				t.Fatalf("captive API on [::1] online: %d %s", code, body)
			}
			code, _, _ = v6.do(http.MethodGet, "/generate_204", nil, map[string]string{"Host": "connectivitycheck.gstatic.com"})
			if code != http.StatusNoContent {
				t.Fatalf("probe on [::1] online: %d", code)
			}

			// Self-service over IPv6 shows both sessions' IPv6 addresses.
			ss := newV6Browser(t, s.Addr("selfservice-ipv6"), e2eWindows)
			code, _, body = ss.do(http.MethodGet, "/login", nil, nil)
			if code != http.StatusOK {
				t.Fatalf("self-service login page on [::1]: %d", code)
			}
			f := hiddenForm(body)
			f.Set("username", "student1")
			f.Set("password", "student1-pass")
			code, _, body = ss.do(http.MethodPost, "/login", f, nil)
			if code != http.StatusOK {
				t.Fatalf("self-service login: %d\n%s", code, body)
			}
			code, _, body = ss.do(http.MethodGet, "/devices", nil, nil)
			if code != http.StatusOK {
				t.Fatalf("self-service devices: %d", code)
			}
			contains(t, body, "2001:db8:9::5", "10.0.9.5")

			// The operator ends the IPv6-only session: Disconnect by its
			// IPv6 identifiers, NTF_LOGOUT for the IPv6 user, acknowledged;
			// the status page of [::1] says the BAS ended it.
			out, err := s.disc.DisconnectSession(ctx, only.ID, "admin", "ipv6 e2e")
			if err != nil || !out.ACK {
				t.Fatalf("disconnect: %+v, %v", out, err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				_, _, body = v6.do(http.MethodGet, "/status", nil, nil)
				if strings.Contains(body, "dorm-bras-1 已于") || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			contains(t, body, "未在线", "dorm-bras-1 已于")
			if got, err := s.st.SessionByID(ctx, only.ID); err != nil || got.Status != access.SessionClosed {
				t.Fatalf("IPv6-only session after the disconnect: %+v, %v", got, err)
			}
		})
	}
}
