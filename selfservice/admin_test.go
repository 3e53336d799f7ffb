package selfservice_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/billing"
	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/config"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/selfservice"
)

func billingAreas() []config.Area {
	return []config.Area{
		{Name: "dorm", FeeFen: 2000, Cycle: config.Duration{Duration: 720 * time.Hour}, MaxPC: 1, MaxMobile: 1, MaxBound: 3, Seamless: true},
		{Name: "office"},
	}
}

// billingAccessAreas are billingAreas as billing sees them.
func billingAccessAreas() []access.Area {
	var out []access.Area
	for _, a := range billingAreas() {
		out = append(out, a.Access())
	}
	return out
}

func TestAdminPages(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, kind string) {
		var money *billing.Service
		e := newEnv(t, kind, func(_ *selfservice.Config, d *selfservice.Deps) {
			st := d.Store.(*store.Store)
			var err error
			if money, err = billing.New(st, billing.Config{Areas: billingAccessAreas()}); err != nil {
				t.Fatal(err)
			}
			d.Money = money
		})
		ctx := context.Background()
		e.account("admin", "admin-pass", "operator", 0, false)
		s1 := e.account("student1", "student1-pass", "student", 5000, false)
		e.account("student2", "student2-pass", "student", 1000, false)
		const mac = "00:10:a4:23:19:c0"
		e.bind(s1, mac, "pc")
		sid := e.online(s1, mac, "10.1.2.3", "pc")
		e.refusal(s1, "5e:00:00:00:00:01", access.ReasonArrears, "账户欠费")
		// Node 3 went quiet five minutes ago; node 4 is alive.
		if err := e.st.HeartbeatNode(ctx, access.PortalNode{NodeID: "3", Address: "10.9.0.3:80", Version: "v1.2", LoginsOK: 120, LoginsFailed: 4, BASErrors: 17,
			HeartbeatAt: access.Millis(testStart.Add(-5 * time.Minute))}); err != nil {
			t.Fatal(err)
		}
		if err := e.st.HeartbeatNode(ctx, access.PortalNode{NodeID: "4", Address: "10.9.0.4:80", Version: "v1.2"}); err != nil {
			t.Fatal(err)
		}

		noc := e.client()
		noc.login("admin", "admin-pass")

		t.Run("search", func(t *testing.T) {
			r := noc.get("/admin?q=student")
			if r.status != http.StatusOK || !strings.Contains(r.body, `href="/admin/users/student1"`) || !strings.Contains(r.body, `href="/admin/users/student2"`) {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if r := noc.get("/admin?q=student1"); r.status != http.StatusSeeOther || r.location != "/admin/users/student1" {
				t.Fatalf("exact match: %d %q", r.status, r.location)
			}
			if r := noc.get("/admin?q=nobody"); !strings.Contains(r.body, "没有找到") {
				t.Fatal("no not-found message")
			}
		})
		t.Run("user page", func(t *testing.T) {
			r := noc.get("/admin/users/student1")
			for _, w := range []string{mac, "10.1.2.3", string(access.ReasonArrears), "opening balance", `id="balance">50.00<`, `action="/admin/users/student1/kick"`, `id="money"`} {
				if !strings.Contains(r.body, w) {
					t.Errorf("user page lacks %q", w)
				}
			}
			if r := noc.get("/admin/users/nobody"); r.status != http.StatusNotFound {
				t.Errorf("unknown user: %d", r.status)
			}
		})
		t.Run("kick needs a reason", func(t *testing.T) {
			r := noc.submit("/admin/users/student1", "/admin/users/student1/kick", url.Values{"session": {fmt.Sprint(sid)}})
			if p := noc.follow(r.location); !strings.Contains(p.body, "请填写原因") {
				t.Fatalf("no reason asked for: %s", p.body)
			}
			if len(e.bas.requests()) != 0 {
				t.Fatal("kicked without a reason")
			}
		})
		t.Run("kick", func(t *testing.T) {
			r := noc.submit("/admin/users/student1", "/admin/users/student1/kick", url.Values{"session": {fmt.Sprint(sid)}, "reason": {"abuse report #12"}})
			if p := noc.follow(r.location); !strings.Contains(p.body, "接入设备 dorm-bras-1 已确认") {
				t.Fatalf("kick result: %s", p.body)
			}
			if got := e.bas.requests(); len(got) != 1 || got[0] != mac {
				t.Fatalf("BAS got %v", got)
			}
			audit, err := e.st.AuditLog(ctx, "student1", 20)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, a := range audit {
				if a.Actor == "admin" && a.Action == "session.disconnect" && strings.Contains(a.Reason, "abuse report #12") {
					found = true
				}
			}
			if !found {
				t.Fatalf("kick not audited with who and why: %+v", audit)
			}
		})
		t.Run("money", func(t *testing.T) {
			tests := []struct {
				name, kind, amount, reason, ref string
				want                            string
				balance                         access.Fen
			}{
				{"cash recharge", "recharge", "20", "cash at the desk", "r1", "余额 70.00 元", 7000},
				{"form sent twice", "recharge", "20", "cash at the desk", "r1", "已经提交过", 7000},
				{"adjustment", "adjustment", "-5.50", "double charge on 03-01", "r2", "余额 64.50 元", 6450},
				{"no reason", "recharge", "20", "", "r3", "请填写原因", 6450},
				{"bad amount", "recharge", "20.001", "x", "r4", "金额格式不对", 6450},
				{"negative recharge", "recharge", "-1", "x", "r5", "充值金额须大于 0", 6450},
				{"below zero", "adjustment", "-100", "x", "r6", "未能记账", 6450},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := noc.submit("/admin/users/student1", "/admin/users/student1/money",
						url.Values{"kind": {tt.kind}, "amount": {tt.amount}, "reason": {tt.reason}, "reference": {tt.ref}})
					if p := noc.follow(r.location); !strings.Contains(p.body, tt.want) {
						t.Fatalf("page lacks %q: %s", tt.want, p.body)
					}
					if a, err := e.st.AccountByID(ctx, s1.ID); err != nil || a.Balance != tt.balance {
						t.Fatalf("balance %s, want %s", a.Balance, tt.balance)
					}
				})
			}
			audit, err := e.st.AuditLog(ctx, "student1", 50)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, a := range audit {
				if a.Actor == "admin" && a.Action == "account.adjustment" && a.Reason == "double charge on 03-01" {
					found = true
				}
			}
			if !found {
				t.Fatalf("adjustment not audited: %+v", audit)
			}
		})
		t.Run("password reset", func(t *testing.T) {
			r := noc.submit("/admin/users/student2", "/admin/users/student2/password-reset", url.Values{"reason": {""}})
			if p := noc.follow(r.location); !strings.Contains(p.body, "请填写原因") {
				t.Fatalf("no reason: %d %s", r.status, p.body)
			}
			r = noc.submit("/admin/users/student2", "/admin/users/student2/password-reset", url.Values{"reason": {"forgot, card checked"}})
			m := regexp.MustCompile(`<code>([a-z2-9]{5}-[a-z2-9]{5})</code>`).FindStringSubmatch(r.body)
			if r.status != http.StatusOK || m == nil || r.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("reset: %d %q %s", r.status, r.header.Get("Cache-Control"), r.body)
			}
			if p := noc.get("/admin/users/student2"); strings.Contains(p.body, m[1]) || strings.Contains(p.body, `id="temp-password"`) {
				t.Fatal("the temporary password is shown again")
			}
			old := e.client()
			if r := old.submit("/login", "/login", url.Values{"username": {"student2"}, "password": {"student2-pass"}}); r.status == http.StatusSeeOther {
				t.Fatal("the old password still logs in")
			}
			st := e.client()
			st.login("student2", m[1])
			if p := st.follow("/"); !strings.Contains(p.body, `action="/password"`) {
				t.Fatalf("the temporary password does not lead to the change form: %s", p.body)
			}
			audit, err := e.st.AuditLog(ctx, "student2", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(audit) == 0 || audit[0].Action != "account.reset_password" || audit[0].Actor != "admin" || audit[0].Reason != "forgot, card checked" ||
				strings.Contains(audit[0].Detail, m[1]) {
				t.Fatalf("audit: %+v", audit)
			}
		})
		t.Run("disable and enable", func(t *testing.T) {
			s3 := e.account("student3", "student3-pass", "student", 5000, false)
			sid := e.online(s3, "00:10:a4:23:19:d2", "10.1.2.22", "pc")
			r := noc.submit("/admin/users/student3", "/admin/users/student3/disable", url.Values{"reason": {"已毕业 graduated"}})
			p := noc.follow(r.location)
			if !strings.Contains(p.body, "已停用") || !strings.Contains(p.body, `action="/admin/users/student3/enable"`) {
				t.Fatalf("after disabling: %s", p.body)
			}
			if se, err := e.st.SessionByID(ctx, sid); err != nil || se.Status != access.SessionClosed {
				t.Fatalf("the live session after disabling: %+v", se)
			}
			st := e.client()
			if r := st.submit("/login", "/login", url.Values{"username": {"student3"}, "password": {"student3-pass"}}); r.status == http.StatusSeeOther ||
				!strings.Contains(r.body, "已毕业 graduated") {
				t.Fatalf("a disabled account's login: %d %s", r.status, r.body)
			}
			r = noc.submit("/admin/users/student3", "/admin/users/student3/enable", url.Values{"reason": {"mistake"}})
			if p := noc.follow(r.location); !strings.Contains(p.body, "已启用") {
				t.Fatalf("after enabling: %s", p.body)
			}
			if a, err := e.st.AccountByUsername(ctx, "student3"); err != nil || a.Disabled {
				t.Fatal("still disabled")
			}
		})
		t.Run("nodes", func(t *testing.T) {
			r := noc.get("/admin/nodes?node=" + url.QueryEscape("测试大学 网络信息中心-3"))
			if !strings.Contains(r.body, `<tr id="node-3" class="highlight stale">`) || !strings.Contains(r.body, "<strong>失联</strong>") ||
				!strings.Contains(r.body, ">17<") || !strings.Contains(r.body, "10.9.0.3:80") {
				t.Fatalf("node 3 not found and marked: %s", r.body)
			}
			if !strings.Contains(r.body, `<tr id="node-4" class=" ">`) {
				t.Fatalf("node 4 marked: %s", r.body)
			}
			if r := noc.get("/admin/nodes?node=-9"); !strings.Contains(r.body, "没有编号为 9 的节点") {
				t.Fatalf("unknown node: %s", r.body)
			}
			// Node 4 stops cleanly: stopped at once, in the page's one language.
			if ok, err := e.st.StopNode(ctx, "4"); !ok || err != nil {
				t.Fatalf("stop node 4: %v %v", ok, err)
			}
			r = noc.get("/admin/nodes")
			if !strings.Contains(r.body, `<tr id="node-4" class=" stopped">`) || !strings.Contains(r.body, "<strong>已停止（") || strings.Contains(r.body, "stopped (") {
				t.Fatalf("node 4 not shown stopped: %s", r.body)
			}
			noc.lang = "en"
			r = noc.get("/admin/nodes")
			noc.lang = ""
			if !strings.Contains(r.body, "<strong>stopped (") || strings.Contains(r.body, "已停止") {
				t.Fatalf("node 4 not shown stopped in English: %s", r.body)
			}
		})
		t.Run("bas list", func(t *testing.T) {
			e.online(s1, "00:10:a4:23:19:c1", "10.1.2.9", "mobile")
			r := noc.get("/admin/nas")
			if !strings.Contains(r.body, `id="nas-dorm-bras-1"`) || !strings.Contains(r.body, `<td data-label="在线" class="num">1</td>`) {
				t.Fatalf("%s", r.body)
			}
		})
	})
}

func TestPaymentWebhook(t *testing.T) {
	t.Parallel()
	secret := []byte("platform-secret")
	e := newEnv(t, "sqlite", func(_ *selfservice.Config, d *selfservice.Deps) {
		d.Webhook = billing.NewWebhook(d.Store.(*store.Store), billing.WebhookConfig{Secret: secret}, nil, nil)
	})
	s1 := e.account("student1", "student1-pass", "student", 1000, false)
	body := `{"order_id":"PAY-2026-0001","account":"student1","amount_fen":3000,"paid_at":"2026-03-01T09:58:00+08:00"}`
	tests := []struct {
		name    string
		sig     string
		status  int
		balance access.Fen
	}{
		{"unsigned", "", http.StatusUnauthorized, 1000},
		{"bad signature", billing.Sign([]byte("other"), []byte(body)), http.StatusUnauthorized, 1000},
		{"signed", billing.Sign(secret, []byte(body)), http.StatusOK, 4000},
		{"replayed", billing.Sign(secret, []byte(body)), http.StatusOK, 4000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// No session, no CSRF token: the platform signs instead.
			req := mustRequest(http.MethodPost, e.srv.URL+"/api/v1/payments/notify", "application/json", body)
			if tt.sig != "" {
				req.Header.Set("X-Campusnet-Signature", tt.sig)
			}
			r := e.client().do(req)
			if r.status != tt.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if a, err := e.st.AccountByID(context.Background(), s1.ID); err != nil || a.Balance != tt.balance {
				t.Fatalf("balance %s, want %s", a.Balance, tt.balance)
			}
		})
	}
	// The student sees it at once.
	c := e.client()
	c.login("student1", "student1-pass")
	if r := c.get("/ledger"); !strings.Contains(r.body, "+30.00") {
		t.Fatalf("ledger: %s", r.body)
	}
	if r := c.get("/"); !strings.Contains(r.body, "网络可开通") {
		t.Fatalf("overview after recharge: %s", r.body)
	}
}
