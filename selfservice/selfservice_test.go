package selfservice_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/selfservice"
)

// forEach runs fn on SQLite and, when configured, PostgreSQL.
func forEach(t *testing.T, fn func(t *testing.T, kind string)) {
	t.Helper()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) { fn(t, kind) })
	}
}

func TestStudentPages(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		s1 := e.account("student1", "student1-pass", "student", 5000, false)
		e.bind(s1, "00:10:a4:23:19:c0", "pc")
		e.online(s1, "00:10:a4:23:19:c0", "10.1.2.3", "pc")
		e.refusal(s1, "5e:aa:bb:cc:dd:01", access.ReasonDeviceLimitPC, access.RefuseDeviceLimit("pc", 1, access.OnlineDevice{MAC: "00:10:a4:23:19:c0", IP: "10.1.2.3"}).Message)
		c := e.client()
		c.login("student1", "student1-pass")

		tests := []struct {
			name string
			path string
			want []string
		}{
			{"overview", "/", []string{`id="balance">50.00<`, "https://pay.example.edu/net", "网络可开通", "dorm"}},
			{"ledger", "/ledger", []string{"opening balance", "+50.00", ">充值<"}},
			{"devices", "/devices", []string{"00:10:a4:23:19:c0", "已绑定", "10.1.2.3", `action="/sessions/kick"`, `action="/devices/unbind"`, "已绑定 1 / 上限 3"}},
			{"why", "/why", []string{"DEVICE_LIMIT_PC", "宿舍区同时只允许 1 台电脑", access.DesktopModeHint[:30], "00:10:a4:23:19:c0"}},
			{"password", "/password", []string{"当前密码", `name="new_password2"`}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := c.get(tt.path)
				if r.status != http.StatusOK {
					t.Fatalf("GET %s: %d %s", tt.path, r.status, r.body)
				}
				for _, w := range append(tt.want, "测试大学 网络信息中心-7") {
					if !strings.Contains(r.body, w) {
						t.Errorf("GET %s: page lacks %q", tt.path, w)
					}
				}
				if r.header.Get("X-Portal-Node") != "7" || !strings.Contains(r.header.Get("Cache-Control"), "no-store") {
					t.Errorf("headers: %v", r.header)
				}
			})
		}
	})
}

func TestLoginRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	e.account("student1", "student1-pass", "student", 0, false)
	e.account("student3", "student3-pass", "student", 0, false)
	e.account("student9", "student9-pass", "student", 0, false)
	ctx := context.Background()
	if err := e.st.SetDisabled(ctx, "admin", "student9", true, "shared account"); err != nil {
		t.Fatal(err)
	}

	t.Run("wrong password", func(t *testing.T) {
		c := e.client()
		r := c.submit("/login", "/login", url.Values{"username": {"student1"}, "password": {"nope"}})
		if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "用户名或密码错误") {
			t.Fatalf("%d %s", r.status, r.body)
		}
		// No unified identity reset site is configured: the desk.
		if !strings.Contains(r.body, "忘记密码请携带校园卡到网络信息中心服务台重置") {
			t.Fatalf("no way back for a forgotten password: %s", r.body)
		}
		if strings.Contains(r.body, "nope") {
			t.Fatal("the page repeats the password")
		}
	})
	t.Run("disabled", func(t *testing.T) {
		c := e.client()
		r := c.submit("/login", "/login", url.Values{"username": {"student9"}, "password": {"student9-pass"}})
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "账户已被停用（shared account）") {
			t.Fatalf("%d %s", r.status, r.body)
		}
		// A wrong password does not reveal the reason.
		r = e.client().submit("/login", "/login", url.Values{"username": {"student9"}, "password": {"guess"}})
		if r.status != http.StatusUnauthorized || strings.Contains(r.body, "shared account") {
			t.Fatalf("wrong password of a disabled account: %d %s", r.status, r.body)
		}
	})
	t.Run("form without csrf token", func(t *testing.T) {
		c := e.client()
		c.get("/login") // has the pre-session cookie, but the form is forged
		r := c.post("/login", url.Values{"username": {"student1"}, "password": {"student1-pass"}})
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "CSRF") {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if r := c.get("/"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
			t.Fatalf("forged login logged in: %d %s", r.status, r.location)
		}
	})
	t.Run("api wrong password", func(t *testing.T) {
		c := e.client()
		apiError(t, c.api(http.MethodPost, "/api/v1/login", map[string]string{"username": "student1", "password": "x"}), http.StatusUnauthorized, string(access.ReasonBadCredentials))
		apiError(t, c.api(http.MethodPost, "/api/v1/login", map[string]string{"username": "student1"}), http.StatusUnauthorized, string(access.ReasonBadCredentials))
		r := c.do(mustRequest(http.MethodPost, e.srv.URL+"/api/v1/login", "text/plain", `{"username":"student1","password":"student1-pass"}`))
		apiError(t, r, http.StatusUnsupportedMediaType, "BAD_REQUEST")
	})
	t.Run("rate limited per account", func(t *testing.T) {
		c := e.client()
		for i := range 10 {
			r := c.api(http.MethodPost, "/api/v1/login", map[string]string{"username": "student3", "password": fmt.Sprint("guess", i)})
			apiError(t, r, http.StatusUnauthorized, string(access.ReasonBadCredentials))
		}
		// Now even the right password waits, from any source.
		r := e.client().api(http.MethodPost, "/api/v1/login", map[string]string{"username": "student3", "password": "student3-pass"})
		apiError(t, r, http.StatusTooManyRequests, string(access.ReasonRateLimited))
		if r.header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		// One more try a minute later.
		e.clock.Advance(time.Minute)
		e.client().apiLogin("student3", "student3-pass")
	})
}

func mustRequest(method, url, ctype, body string) *http.Request {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		panic(err) // a test's own constant URL
	}
	req.Header.Set("Content-Type", ctype)
	return req
}

func TestMustChangePassword(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		e.account("2026001", "123456", "student", 0, true)
		c := e.client()
		r := c.submit("/login", "/login", url.Values{"username": {"2026001"}, "password": {"123456"}})
		if r.status != http.StatusSeeOther || r.location != "/password" {
			t.Fatalf("login: %d %q", r.status, r.location)
		}
		for _, p := range []string{"/", "/devices", "/why"} {
			if r := c.get(p); r.status != http.StatusSeeOther || r.location != "/password" {
				t.Fatalf("GET %s before the change: %d %q", p, r.status, r.location)
			}
		}
		app := e.client()
		app.apiLogin("2026001", "123456")
		apiError(t, app.api(http.MethodGet, "/api/v1/devices", nil), http.StatusForbidden, string(access.ReasonMustChangePassword))
		var me struct {
			Account struct {
				MustChange bool `json:"must_change"`
			} `json:"account"`
		}
		mustJSON(t, app.api(http.MethodGet, "/api/v1/me", nil), &me)
		if !me.Account.MustChange {
			t.Fatal("/api/v1/me does not say must_change")
		}

		tests := []struct {
			name, old, new1, new2 string
			status                int
			want                  string
		}{
			{"mismatch", "123456", "a-long-password", "another-password", http.StatusBadRequest, "两次输入的新密码不一致"},
			{"too short", "123456", "short", "short", http.StatusBadRequest, "至少 8 个字符"},
			{"same as old", "123456", "123456", "123456", http.StatusBadRequest, ""},
			{"wrong current", "654321", "a-long-password", "a-long-password", http.StatusForbidden, "当前密码不对"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := c.submit("/password", "/password", url.Values{"old_password": {tt.old}, "new_password": {tt.new1}, "new_password2": {tt.new2}})
				if r.status != tt.status || !strings.Contains(r.body, tt.want) {
					t.Fatalf("%d, want %d with %q: %s", r.status, tt.status, tt.want, r.body)
				}
			})
		}
		r = c.submit("/password", "/password", url.Values{"old_password": {"123456"}, "new_password": {"a-long-password"}, "new_password2": {"a-long-password"}})
		if r.status != http.StatusSeeOther || r.location != "/" {
			t.Fatalf("change: %d %q %s", r.status, r.location, r.body)
		}
		if r := c.follow("/"); r.status != http.StatusOK || !strings.Contains(r.body, "密码已修改") {
			t.Fatalf("after the change: %d %s", r.status, r.body)
		}
		// The app's session was opened with the old password: it ends.
		apiError(t, app.api(http.MethodGet, "/api/v1/me", nil), http.StatusUnauthorized, "UNAUTHENTICATED")
		e.client().login("2026001", "a-long-password")
	})
}

func TestAuthorization(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		s1 := e.account("student1", "student1-pass", "student", 5000, false)
		s2 := e.account("student2", "student2-pass", "student", 1000, false)
		const mac1 = "00:10:a4:23:19:c0"
		e.bind(s1, mac1, "pc")
		sid1 := e.online(s1, mac1, "10.1.2.3", "pc")
		e.bind(s2, "00:10:a4:23:19:c2", "mobile")

		eve := e.client()
		eve.login("student2", "student2-pass")
		app := e.client()
		app.apiLogin("student2", "student2-pass")

		// student2 tries to touch student1's MAC and session.
		t.Run("unbind other's MAC by form", func(t *testing.T) {
			r := eve.submit("/devices", "/devices/unbind", url.Values{"mac": {mac1}})
			if r.status != http.StatusSeeOther {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if p := eve.follow("/devices"); !strings.Contains(p.body, "没有找到") {
				t.Fatalf("no not-found message: %s", p.body)
			}
		})
		t.Run("unbind other's MAC by API", func(t *testing.T) {
			apiError(t, app.api(http.MethodDelete, "/api/v1/devices/00-10-A4-23-19-C0", nil), http.StatusNotFound, "NOT_FOUND")
		})
		t.Run("kick other's session by form", func(t *testing.T) {
			r := eve.submit("/devices", "/sessions/kick", url.Values{"session": {fmt.Sprint(sid1)}})
			if p := eve.follow(r.location); !strings.Contains(p.body, "没有找到") {
				t.Fatalf("no not-found message: %s", p.body)
			}
		})
		t.Run("kick other's session by API", func(t *testing.T) {
			apiError(t, app.api(http.MethodDelete, fmt.Sprintf("/api/v1/sessions/%d", sid1), nil), http.StatusNotFound, "NOT_FOUND")
		})
		t.Run("lists hold only own rows", func(t *testing.T) {
			for _, p := range []string{"/api/v1/ledger", "/api/v1/devices", "/api/v1/sessions", "/api/v1/refusals", "/api/v1/me"} {
				r := app.api(http.MethodGet, p, nil)
				if r.status != http.StatusOK || strings.Contains(r.body, "student1") || strings.Contains(r.body, mac1) || strings.Contains(r.body, "5000") {
					t.Errorf("GET %s as student2: %d %s", p, r.status, r.body)
				}
			}
			for _, p := range []string{"/", "/ledger", "/devices", "/why"} {
				r := eve.get(p)
				if r.status != http.StatusOK || strings.Contains(r.body, mac1) || strings.Contains(r.body, "open:student1") {
					t.Errorf("GET %s as student2 shows student1's data", p)
				}
			}
		})
		t.Run("no admin pages", func(t *testing.T) {
			for _, p := range []string{"/admin", "/admin/users/student1", "/admin/nodes", "/admin/nas"} {
				if r := eve.get(p); r.status != http.StatusForbidden {
					t.Errorf("GET %s as a student: %d", p, r.status)
				}
			}
			for _, p := range []string{"/admin/users/student1/money", "/admin/users/student1/kick", "/admin/users/student1/unbind"} {
				r := eve.submit("/devices", p, url.Values{"kind": {"recharge"}, "amount": {"100"}, "reason": {"x"}, "reference": {"r1"},
					"session": {fmt.Sprint(sid1)}, "mac": {mac1}})
				if r.status != http.StatusForbidden {
					t.Errorf("POST %s as a student: %d", p, r.status)
				}
			}
		})
		t.Run("forged forms", func(t *testing.T) {
			// No token, and a token of another session.
			other := e.client()
			other.login("student1", "student1-pass")
			for _, tok := range []string{"", other.csrfOf("/devices"), "AAAA"} {
				r := eve.post("/devices/unbind", url.Values{"csrf": {tok}, "mac": {"00:10:a4:23:19:c2"}})
				if r.status != http.StatusForbidden || !strings.Contains(r.body, "CSRF") {
					t.Fatalf("token %q: %d %s", tok, r.status, r.body)
				}
			}
			saved := app.csrf
			app.csrf = ""
			apiError(t, app.api(http.MethodDelete, "/api/v1/devices/00:10:a4:23:19:c2", nil), http.StatusForbidden, "CSRF")
			app.csrf = saved
		})
		t.Run("anonymous", func(t *testing.T) {
			anon := e.client()
			for _, p := range []string{"/api/v1/me", "/api/v1/devices", "/api/v1/ledger"} {
				apiError(t, anon.api(http.MethodGet, p, nil), http.StatusUnauthorized, "UNAUTHENTICATED")
			}
			apiError(t, anon.api(http.MethodDelete, fmt.Sprintf("/api/v1/sessions/%d", sid1), nil), http.StatusUnauthorized, "UNAUTHENTICATED")
			if r := anon.get("/devices"); r.status != http.StatusSeeOther || r.location != "/login?next=%2Fdevices" {
				t.Fatalf("GET /devices: %d %q", r.status, r.location)
			}
		})
		t.Run("tampered cookie", func(t *testing.T) {
			u, err := url.Parse(e.srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			for _, ck := range eve.http.Jar.Cookies(u) {
				if ck.Name == "cn_session" {
					payload, sig, _ := strings.Cut(ck.Value, ".")
					forged := &http.Cookie{Name: "cn_session", Value: payload[:len(payload)-2] + "xx." + sig}
					mallory := e.client()
					mallory.http.Jar.SetCookies(u, []*http.Cookie{forged})
					apiError(t, mallory.api(http.MethodGet, "/api/v1/me", nil), http.StatusUnauthorized, "UNAUTHENTICATED")
				}
			}
		})

		// Nothing happened to student1.
		if got := e.bas.requests(); len(got) != 0 {
			t.Fatalf("Disconnect-Requests sent: %v", got)
		}
		if d, err := e.st.BoundDeviceByMAC(context.Background(), mac1); err != nil || d.AccountID != s1.ID {
			t.Fatalf("student1's binding: %+v %v", d, err)
		}
		if se, err := e.st.SessionByID(context.Background(), sid1); err != nil || se.Status != access.SessionOnline {
			t.Fatalf("student1's session: %+v", se)
		}
	})
}

func TestUnbindWhileOnline(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		s1 := e.account("student1", "student1-pass", "student", 5000, false)
		const mac = "3c:22:fb:00:00:01"
		e.bind(s1, mac, "pc")
		sid := e.online(s1, mac, "10.1.2.3", "pc")
		c := e.client()
		c.login("student1", "student1-pass")

		r := c.submit("/devices", "/devices/unbind", url.Values{"mac": {"3C-22-FB-00-00-01"}})
		if r.status != http.StatusSeeOther || r.location != "/devices" {
			t.Fatalf("unbind: %d %q", r.status, r.location)
		}
		page := c.follow("/devices")
		for _, w := range []string{"已解绑 " + mac, "接入设备 dorm-bras-1 已确认", "已确认 " + mac + " 下线", "没有设备在线"} {
			if !strings.Contains(page.body, w) {
				t.Errorf("devices page after unbind lacks %q", w)
			}
		}
		if got := e.bas.requests(); len(got) != 1 || got[0] != mac {
			t.Fatalf("the BAS got Disconnect-Requests for %v, want [%s]", got, mac)
		}
		ctx := context.Background()
		// MAC authentication looks the binding up: it is gone.
		if _, err := e.st.BoundDeviceByMAC(ctx, mac); !errors.Is(err, access.ErrNotFound) {
			t.Fatalf("binding still there: %v", err)
		}
		se, err := e.st.SessionByID(ctx, sid)
		if err != nil || se.Status != access.SessionClosed || se.CloseReason != "mac_unbound" {
			t.Fatalf("session after unbind: %+v %v", se, err)
		}
		audit, err := e.st.AuditLog(ctx, "student1", 10)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, a := range audit {
			if a.Actor == "student1" {
				actions = append(actions, a.Action)
			}
		}
		if !strings.Contains(strings.Join(actions, ","), "device.unbind") || !strings.Contains(strings.Join(actions, ","), "disconnect") {
			t.Fatalf("audit: %v", actions)
		}
	})
}

func TestUnbindAndKickAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	s1 := e.account("student1", "student1-pass", "student", 5000, false)
	e.bind(s1, "3c:22:fb:00:00:02", "pc")
	e.online(s1, "3c:22:fb:00:00:02", "10.1.2.4", "pc")
	sid := e.online(s1, "5e:00:00:00:00:09", "10.1.2.5", "mobile")
	app := e.client()
	app.apiLogin("student1", "student1-pass")

	var sessions struct {
		Sessions []struct {
			ID  int64  `json:"id"`
			MAC string `json:"mac"`
		} `json:"sessions"`
	}
	mustJSON(t, app.api(http.MethodGet, "/api/v1/sessions", nil), &sessions)
	if len(sessions.Sessions) != 2 {
		t.Fatalf("sessions: %+v", sessions)
	}

	// The BAS refuses: the answer says so, the session stays.
	e.bas.setNAK(506) // Resources Unavailable
	r := app.api(http.MethodDelete, fmt.Sprintf("/api/v1/sessions/%d", sid), nil)
	var kick struct {
		ACK    bool   `json:"acknowledged"`
		Cause  int    `json:"error_cause"`
		Detail string `json:"detail"`
	}
	mustJSON(t, r, &kick)
	if r.status != http.StatusOK || kick.ACK || kick.Cause != 506 {
		t.Fatalf("kick with NAK: %d %s", r.status, r.body)
	}
	e.bas.setNAK(0)
	mustJSON(t, app.api(http.MethodDelete, fmt.Sprintf("/api/v1/sessions/%d", sid), nil), &kick)
	if !kick.ACK {
		t.Fatalf("kick: %+v", kick)
	}
	apiError(t, app.api(http.MethodDelete, fmt.Sprintf("/api/v1/sessions/%d", sid), nil), http.StatusConflict, "CONFLICT")
	apiError(t, app.api(http.MethodDelete, "/api/v1/sessions/abc", nil), http.StatusBadRequest, "BAD_REQUEST")

	r = app.api(http.MethodDelete, "/api/v1/devices/3c22.fb00.0002", nil)
	var unbind struct {
		MAC         string `json:"mac"`
		WasBound    bool   `json:"was_bound"`
		Disconnects []struct {
			ACK bool `json:"acknowledged"`
		} `json:"disconnects"`
	}
	mustJSON(t, r, &unbind)
	if r.status != http.StatusOK || unbind.MAC != "3c:22:fb:00:00:02" || !unbind.WasBound || len(unbind.Disconnects) != 1 || !unbind.Disconnects[0].ACK {
		t.Fatalf("unbind: %d %s", r.status, r.body)
	}
	apiError(t, app.api(http.MethodDelete, "/api/v1/devices/not-a-mac", nil), http.StatusBadRequest, "BAD_REQUEST")
	apiError(t, app.api(http.MethodDelete, "/api/v1/devices/3c:22:fb:00:00:77", nil), http.StatusNotFound, "NOT_FOUND")
}

func TestRegisterDevice(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		s1 := e.account("student1", "student1-pass", "student", 5000, false)
		s2 := e.account("student2", "student2-pass", "student", 0, false)
		e.bind(s2, "00:1a:2b:3c:4d:99", "pc")
		e.bind(s1, "00:1a:2b:3c:4d:01", "pc")
		c := e.client()
		c.login("student1", "student1-pass")
		app := e.client()
		app.apiLogin("student1", "student1-pass")

		r := c.submit("/devices", "/devices/register", url.Values{"mac": {"00-1A-2B-3C-4D-5E"}, "class": {"pc"}})
		if page := c.follow(r.location); !strings.Contains(page.body, "已登记并绑定 00:1a:2b:3c:4d:5e") || !strings.Contains(page.body, "已绑定 2 / 上限 3") {
			t.Fatalf("register by form: %s", page.body)
		}
		tests := []struct {
			name   string
			mac    string
			class  string
			status int
			code   string
		}{
			{"by API", "001a.2b3c.4d02", "mobile", http.StatusCreated, ""},
			{"over the limit", "00:1a:2b:3c:4d:03", "pc", http.StatusConflict, "CONFLICT"},
			{"other account's MAC", "00:1a:2b:3c:4d:99", "pc", http.StatusConflict, "CONFLICT"},
			{"bad MAC", "00:1a:2b", "pc", http.StatusBadRequest, "BAD_REQUEST"},
			{"bad class", "00:1a:2b:3c:4d:04", "fridge", http.StatusBadRequest, "BAD_REQUEST"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := app.api(http.MethodPost, "/api/v1/devices", map[string]string{"mac": tt.mac, "class": tt.class})
				if tt.code != "" {
					apiError(t, r, tt.status, tt.code)
					return
				}
				if r.status != tt.status || !strings.Contains(r.body, `"bound":true`) {
					t.Fatalf("%d %s", r.status, r.body)
				}
			})
		}
		if d, err := e.st.BoundDeviceByMAC(context.Background(), "00:1a:2b:3c:4d:99"); err != nil || d.AccountID != s2.ID {
			t.Fatalf("student2's device moved: %+v %v", d, err)
		}
		r = c.submit("/devices", "/devices/register", url.Values{"mac": {"00:1a:2b:3c:4d:05"}, "class": {"pc"}})
		if page := c.follow(r.location); !strings.Contains(page.body, "绑定上限 3") {
			t.Fatalf("over the limit by form: %s", page.body)
		}
	})
}

func TestOverviewCycle(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind)
		s1 := e.account("student1", "student1-pass", "student", 3000, false)
		e.account("student2", "student2-pass", "student", 1000, false)
		ctx := context.Background()
		// A cycle started ten days ago.
		err := e.st.InTx(ctx, func(tx *sqlx.Tx) error {
			_, err := e.st.InsertCycleTx(ctx, tx, s1.ID, "dorm", 2000, testStart.Add(-10*24*time.Hour), 720*time.Hour)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, user string
			want       []string
		}{
			{"cycle running, next not covered", "student1", []string{"2026-02-19", "2026-03-21", ">20<", "之后余额 10.00 元不足下一周期的 20.00 元", "网络可开通"}},
			{"arrears", "student2", []string{"账户欠费：余额 10.00 元，不足本周期 20.00 元", "https://pay.example.edu/net", "网络不能开通"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := e.client()
				c.login(tt.user, tt.user+"-pass")
				r := c.get("/")
				for _, w := range tt.want {
					if !strings.Contains(r.body, w) {
						t.Errorf("overview lacks %q", w)
					}
				}
			})
		}
		app := e.client()
		app.apiLogin("student1", "student1-pass")
		var me struct {
			BalanceFen int64 `json:"balance_fen"`
			Cycle      *struct {
				Area     string `json:"area"`
				EndsAt   string `json:"ends_at"`
				DaysLeft int    `json:"days_left"`
			} `json:"cycle"`
			Areas []struct {
				Name    string `json:"name"`
				Open    bool   `json:"open"`
				Warning string `json:"warning"`
			} `json:"areas"`
		}
		mustJSON(t, app.api(http.MethodGet, "/api/v1/me", nil), &me)
		if me.BalanceFen != 3000 || me.Cycle == nil || me.Cycle.Area != "dorm" || me.Cycle.DaysLeft != 20 ||
			me.Cycle.EndsAt != "2026-03-21T10:00:00+08:00" || len(me.Areas) != 1 || !me.Areas[0].Open || me.Areas[0].Warning == "" {
			t.Fatalf("/api/v1/me: %+v", me)
		}
	})
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	e.account("student1", "student1-pass", "student", 0, false)
	c := e.client()
	c.login("student1", "student1-pass")
	// Used every 20 minutes, the session lives on (the cookie is renewed)…
	for range 3 {
		e.clock.Advance(20 * time.Minute)
		if r := c.get("/"); r.status != http.StatusOK {
			t.Fatalf("active session ended: %d", r.status)
		}
	}
	// …but not past 30 idle minutes.
	e.clock.Advance(31 * time.Minute)
	if r := c.get("/"); r.status != http.StatusSeeOther {
		t.Fatalf("idle session still valid: %d", r.status)
	}
	// And never past 12 hours.
	c.login("student1", "student1-pass")
	for range 40 {
		e.clock.Advance(19 * time.Minute)
		c.get("/ledger")
	}
	if r := c.get("/"); r.status != http.StatusSeeOther {
		t.Fatalf("session older than 12 h still valid: %d", r.status)
	}
	// Logging out ends it.
	c.login("student1", "student1-pass")
	c.submit("/", "/logout", url.Values{})
	if r := c.get("/"); r.status != http.StatusSeeOther {
		t.Fatalf("after logout: %d", r.status)
	}
}

func TestCookieFlags(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", func(c *selfservice.Config, _ *selfservice.Deps) { c.SecureCookies = true })
	e.account("student1", "student1-pass", "student", 0, false)
	c := e.client()
	r := c.get("/login")
	set := strings.Join(r.header.Values("Set-Cookie"), "\n")
	for _, w := range []string{"HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(set, w) {
			t.Errorf("cookie lacks %s: %s", w, set)
		}
	}
}

// TestHelpdeskAndResetLink: the service desk named in the configuration is
// at the foot of every page and in the forgotten-password advice; with a
// unified identity reset site the login page links to it instead.
func TestHelpdeskAndResetLink(t *testing.T) {
	t.Parallel()
	const desk = "图书馆一楼 · 0571-12345678 · 8:00–17:00"
	e := newEnv(t, "sqlite", func(c *selfservice.Config, _ *selfservice.Deps) { c.Helpdesk = desk })
	e.account("student1", "student1-pass", "student", 0, false)
	c := e.client()
	r := c.get("/login")
	if !strings.Contains(r.body, "<small>"+desk+"</small></footer>") || !strings.Contains(r.body, "忘记密码？请携带校园卡到网络信息中心服务台重置") {
		t.Fatalf("login page: %s", r.body)
	}
	r = c.submit("/login", "/login", url.Values{"username": {"student1"}, "password": {"nope"}})
	// The desk is named once, in the footer, not again in the fix.
	if !strings.Contains(r.body, "网络信息中心服务台重置") || strings.Count(r.body, desk) != 1 {
		t.Fatalf("wrong password: %s", r.body)
	}
	withSite := newEnv(t, "sqlite", func(c *selfservice.Config, _ *selfservice.Deps) {
		c.PasswordResetURL = "https://id.example.edu.cn/reset"
	})
	withSite.account("student1", "student1-pass", "student", 0, false)
	c = withSite.client()
	if r := c.get("/login"); !strings.Contains(r.body, `href="https://id.example.edu.cn/reset"`) || strings.Contains(r.body, "<br><small>") {
		t.Fatalf("login page with a reset site and no desk: %s", r.body)
	}
	r = c.submit("/login", "/login", url.Values{"username": {"student1"}, "password": {"nope"}})
	if !strings.Contains(r.body, "统一身份认证平台重置") {
		t.Fatalf("wrong password with a reset site: %s", r.body)
	}
}

// TestSourceLimitBehindProxy: behind the proxy deploy/README sets up (a
// trusted loopback peer with X-Forwarded-For), each student has their own
// per-address budget: thirty wrong passwords from one address limit that
// address, not everybody. Without trust, the header is ignored, so a
// client cannot pick a fresh address for each try.
func TestSourceLimitBehindProxy(t *testing.T) {
	t.Parallel()
	loginFrom := func(c *client, xff, user, pass string) response {
		c.e.t.Helper()
		form := url.Values{"username": {user}, "password": {pass}, "csrf": {c.csrfOf("/login")}}
		req, err := http.NewRequest(http.MethodPost, c.e.srv.URL+"/login", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", xff)
		return c.do(req)
	}
	for _, tt := range []struct {
		name    string
		trusted []netip.Prefix
		want    int // the other address's right password
	}{
		{"trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, http.StatusSeeOther},
		{"nobody trusted", nil, http.StatusTooManyRequests},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "sqlite", func(c *selfservice.Config, _ *selfservice.Deps) { c.TrustedProxies = tt.trusted })
			e.account("student1", "student1-pass", "student", 0, false)
			c := e.client()
			for i := range 30 { // different accounts: only the address's budget is used
				if r := loginFrom(c, "10.9.9.9", fmt.Sprintf("guess%d", i), "nope"); r.status != http.StatusUnauthorized {
					t.Fatalf("try %d: %d", i+1, r.status)
				}
			}
			if r := loginFrom(c, "10.9.9.9", "guess-more", "nope"); r.status != http.StatusTooManyRequests {
				t.Fatalf("the 31st try from the address: %d", r.status)
			}
			if r := loginFrom(e.client(), "10.9.9.10", "student1", "student1-pass"); r.status != tt.want {
				t.Fatalf("another address's right password: %d, want %d", r.status, tt.want)
			}
		})
	}
}
