package selfservice_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/selfservice"
)

func TestAPIReads(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		s1 := e.account("student1", "student1-pass", "student", 5000, false)
		e.bind(s1, "00:10:a4:23:19:c0", "pc")
		sid := e.online(s1, "00:10:a4:23:19:c0", "10.1.2.3", "pc")
		e.refusal(s1, "5e:00:00:00:00:01", access.ReasonMACNotBound, access.RefuseMACNotBound("5e:00:00:00:00:01").Message)
		app := e.client()
		app.apiLogin("student1", "student1-pass")

		var ledger struct {
			BalanceFen int64 `json:"balance_fen"`
			Entries    []struct {
				Kind            string `json:"kind"`
				AmountFen       int64  `json:"amount_fen"`
				BalanceAfterFen int64  `json:"balance_after_fen"`
				CreatedAt       string `json:"created_at"`
			} `json:"entries"`
		}
		mustJSON(t, app.api(http.MethodGet, "/api/v1/ledger", nil), &ledger)
		if ledger.BalanceFen != 5000 || len(ledger.Entries) != 1 || ledger.Entries[0].Kind != "recharge" ||
			ledger.Entries[0].BalanceAfterFen != 5000 || ledger.Entries[0].CreatedAt != "2026-03-01T10:00:00+08:00" {
			t.Fatalf("ledger: %+v", ledger)
		}
		var devices struct {
			Devices []struct {
				MAC        string  `json:"mac"`
				Bound      bool    `json:"bound"`
				Online     bool    `json:"online"`
				SessionIDs []int64 `json:"session_ids"`
			} `json:"devices"`
			Bound     int `json:"bound"`
			BindLimit int `json:"bind_limit"`
		}
		mustJSON(t, app.api(http.MethodGet, "/api/v1/devices", nil), &devices)
		if len(devices.Devices) != 1 || !devices.Devices[0].Bound || !devices.Devices[0].Online ||
			len(devices.Devices[0].SessionIDs) != 1 || devices.Devices[0].SessionIDs[0] != sid || devices.BindLimit != 3 {
			t.Fatalf("devices: %+v", devices)
		}
		var refusals struct {
			Refusals []struct {
				Reason, Message, Fix, MAC string
			} `json:"refusals"`
		}
		mustJSON(t, app.api(http.MethodGet, "/api/v1/refusals", nil), &refusals)
		if len(refusals.Refusals) != 1 || refusals.Refusals[0].Reason != string(access.ReasonMACNotBound) ||
			refusals.Refusals[0].Fix != access.Explain(access.ReasonMACNotBound) || !strings.Contains(refusals.Refusals[0].Message, "未绑定") {
			t.Fatalf("refusals: %+v", refusals)
		}
	})
}

func TestAPIPasswordAndErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	e.account("student1", "student1-pass", "student", 0, false)
	app := e.client()
	app.apiLogin("student1", "student1-pass")

	apiError(t, app.api(http.MethodPost, "/api/v1/password", map[string]string{"old_password": "wrong", "new_password": "long-enough-1"}),
		http.StatusForbidden, string(access.ReasonBadCredentials))
	apiError(t, app.api(http.MethodPost, "/api/v1/password", map[string]string{"old_password": "student1-pass", "new_password": "short"}),
		http.StatusBadRequest, "BAD_REQUEST")
	apiError(t, app.api(http.MethodPost, "/api/v1/password", map[string]any{"old_password": "student1-pass", "extra": 1}),
		http.StatusBadRequest, "BAD_REQUEST")
	r := app.api(http.MethodPost, "/api/v1/password", map[string]string{"old_password": "student1-pass", "new_password": "long-enough-1"})
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	mustJSON(t, r, &out)
	if r.status != http.StatusOK || out.CSRF == "" || out.CSRF == app.csrf {
		t.Fatalf("password change: %d %s", r.status, r.body)
	}
	// The session was reissued: the old token no longer works, the new one does.
	apiError(t, app.api(http.MethodPost, "/api/v1/devices", map[string]string{"mac": "00:10:a4:23:19:c5", "class": "pc"}), http.StatusForbidden, "CSRF")
	app.csrf = out.CSRF
	if r := app.api(http.MethodPost, "/api/v1/devices", map[string]string{"mac": "00:10:a4:23:19:c5", "class": "pc"}); r.status != http.StatusCreated {
		t.Fatalf("with the new token: %d %s", r.status, r.body)
	}
	e.client().apiLogin("student1", "long-enough-1")

	tests := []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"unknown API path", http.MethodGet, "/api/v1/nope", http.StatusNotFound, "NOT_FOUND"},
		{"wrong method", http.MethodPut, "/api/v1/me", http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED"},
		{"no webhook wired", http.MethodPost, "/api/v1/payments/notify", http.StatusNotFound, "NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			apiError(t, app.api(tt.method, tt.path, map[string]string{}), tt.status, tt.code)
		})
	}
	c := e.client()
	if r := c.get("/nope"); r.status != http.StatusNotFound || !strings.Contains(r.body, "网络信息中心-7") {
		t.Fatalf("page 404: %d %s", r.status, r.body)
	}
	if r := c.get("/static/style.css"); r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/css") {
		t.Fatalf("css: %d %v", r.status, r.header)
	}
	if r := c.get("/healthz"); r.status != http.StatusOK || !strings.Contains(r.body, `"node":"7"`) {
		t.Fatalf("healthz: %d %s", r.status, r.body)
	}
	if r := c.get("/login"); !strings.Contains(r.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("no CSP: %v", r.header)
	}
}

// directory is a unified-identity directory that knows people the store
// has never seen (the LDAP case); it has no password changes.
type directory map[string]identity.Person

func (d directory) Authenticate(_ context.Context, user, password string) (identity.Person, error) {
	if user == "expired" && password == "expired-dir-pass" {
		return identity.Person{}, fmt.Errorf("%w: password expired", identity.ErrPasswordExpired)
	}
	p, ok := d[user]
	if !ok || password != user+"-dir-pass" {
		return identity.Person{}, identity.ErrBadCredentials
	}
	return p, nil
}

// TestDirectoryPasswordExpired: the directory says the password is right
// but has expired: the login page says so and what to do (change it at
// unified identity), no session starts, and no account row is made.
func TestDirectoryPasswordExpired(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", func(_ *selfservice.Config, d *selfservice.Deps) {
		d.Identity = directory{}
		d.Passwords = nil
	})
	c := e.client()
	r := c.submit("/login", "/login", url.Values{"username": {"expired"}, "password": {"expired-dir-pass"}})
	if r.status != http.StatusForbidden {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	for _, want := range []string{"密码已过期", "密码修改页面", string(access.ReasonPasswordExpired)} {
		if !strings.Contains(r.body, want) {
			t.Fatalf("login page lacks %q: %s", want, r.body)
		}
	}
	en := e.client()
	en.lang = "en-US,en"
	r = en.submit("/login", "/login", url.Values{"username": {"expired"}, "password": {"expired-dir-pass"}})
	for _, want := range []string{"has expired", "password page"} {
		if !strings.Contains(r.body, want) {
			t.Fatalf("English login page lacks %q: %s", want, r.body)
		}
	}
	if strings.Contains(r.body, access.RefuseMustChange().Fix) {
		t.Fatalf("login page gives the local initial-password fix: %s", r.body)
	}
	if r := c.get("/"); r.status == http.StatusOK {
		t.Fatalf("a session started: %d", r.status)
	}
	if _, err := e.st.AccountByUsername(context.Background(), "expired"); err == nil {
		t.Fatal("an account row was made for a refused login")
	}
}

func TestDirectoryAccountFirstLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", func(_ *selfservice.Config, d *selfservice.Deps) {
		d.Identity = directory{"T2026": {ID: "t2026", Name: "教工 Staff", Role: "staff"}}
		d.Passwords = nil
	})
	c := e.client()
	c.login("T2026", "T2026-dir-pass")
	if r := c.get("/"); r.status != http.StatusOK || !strings.Contains(r.body, "t2026") {
		t.Fatalf("overview: %d %s", r.status, r.body)
	}
	a, err := e.st.AccountByUsername(context.Background(), "t2026")
	if err != nil || a.Role != "staff" || a.Name != "教工 Staff" {
		t.Fatalf("account row: %+v %v", a, err)
	}
	if r := c.get("/password"); !strings.Contains(r.body, "统一身份认证平台修改") {
		t.Fatalf("password page with a directory: %s", r.body)
	}
}

// TestHealthzFollowsDatabase: the load balancer's probe says 503 once the
// database stops answering.
func TestHealthzFollowsDatabase(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	c := e.client()
	if r := c.get("/healthz"); r.status != http.StatusOK || !strings.Contains(r.body, `"store":"ok"`) {
		t.Fatalf("healthy: %d %s", r.status, r.body)
	}
	e.st.Close()
	if r := c.get("/healthz"); r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, `"store":"down"`) {
		t.Fatalf("database closed: %d %s", r.status, r.body)
	}
}
