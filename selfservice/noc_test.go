package selfservice_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
)

// nocFixture: two students, one online at 10.12.9.9, refusals now and two
// hours ago, a closed session this morning, node 3 stale.
func nocFixture(t *testing.T, e *env) (s1, s2 access.Account) {
	t.Helper()
	ctx := context.Background()
	e.account("admin", "admin-pass", access.RoleOperator, 0, false)
	s1 = e.account("student1", "student1-pass", access.RoleStudent, 5000, false)
	s2 = e.account("student2", "student2-pass", access.RoleStudent, 1000, false)
	if _, err := e.st.DB().Exec(e.st.Rebind(`UPDATE accounts SET phone = ?, doc_tail = ? WHERE id = ?`),
		"138 0013 8000", access.DocumentTailHash("110105194912310037"), s1.ID); err != nil {
		t.Fatal(err)
	}
	e.bind(s1, "5e:00:00:00:00:01", access.ClassPC)
	e.online(s1, "5e:00:00:00:00:01", "10.12.9.9", access.ClassPC)
	// student2 was online from 07:10 to 08:20.
	id := storetest.AddOnlineSession(t, e.st, storetest.OnlineSession{Account: s2, NAS: "dorm-bras-1", Area: "dorm",
		MAC: "5e:00:00:00:00:02", IP: "10.12.9.10", At: testStart.Add(-170 * time.Minute)})
	if _, err := e.st.DB().Exec(e.st.Rebind(`UPDATE sessions SET status = 'closed', stopped_at = ?, last_update_at = ?, close_reason = 'stop' WHERE id = ?`),
		access.Millis(testStart.Add(-100*time.Minute)), access.Millis(testStart.Add(-100*time.Minute)), id); err != nil {
		t.Fatal(err)
	}
	e.refusal(s2, "5e:00:00:00:00:02", access.ReasonArrears, "账户欠费")
	storetest.AddRefusal(t, e.st, storetest.Refusal{Account: s2, At: testStart.Add(-2 * time.Hour), Reason: string(access.ReasonBadCredentials)})
	if err := e.st.HeartbeatNode(ctx, access.PortalNode{NodeID: "3", Address: "10.9.0.3:80", Version: "v1",
		HeartbeatAt: access.Millis(testStart.Add(-5 * time.Minute))}); err != nil {
		t.Fatal(err)
	}
	return s1, s2
}

// rowOf is the cells of the table row whose header is label, as text.
func rowOf(body, table, label string) string {
	i := strings.Index(body, `id="`+table+`"`)
	if i < 0 {
		return ""
	}
	rest := body[i:]
	if j := strings.Index(rest, "</table>"); j >= 0 {
		rest = rest[:j]
	}
	m := regexp.MustCompile(`<tr><th scope="row">` + regexp.QuoteMeta(label) + `</th>(.*?)</tr>`).FindStringSubmatch(rest)
	if m == nil {
		return ""
	}
	return regexp.MustCompile(`<[^>]+>`).ReplaceAllString(strings.ReplaceAll(m[1], "</td>", " "), "")
}

// TestNOCHome: an operator lands on the NOC home, which counts what is
// online by area and BAS, the last hour's logins and refusals by reason,
// names the stale node and draws the last 24 hours with a table of the
// same figures; a student still lands on the overview.
func TestNOCHome(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind)
			nocFixture(t, e)
			noc := e.client()
			if r := noc.submit("/login", "/login", url.Values{"username": {"admin"}, "password": {"admin-pass"}}); r.status != http.StatusSeeOther || r.location != "/admin" {
				t.Fatalf("operator login lands on %d %q, want /admin", r.status, r.location)
			}
			st := e.client()
			if r := st.submit("/login", "/login", url.Values{"username": {"student1"}, "password": {"student1-pass"}}); r.location != "/" {
				t.Fatalf("student login lands on %q", r.location)
			}
			if r := st.get("/admin"); r.status != http.StatusForbidden {
				t.Fatalf("a student on the NOC home: %d", r.status)
			}

			r := noc.get("/admin")
			if r.status != http.StatusOK {
				t.Fatalf("/admin: %d %s", r.status, r.body)
			}
			for _, want := range []string{"当前在线 1", `id="online-area"`, "dorm-bras-1", "认证通过 0 次，拒绝 1 次", "<code>ARREARS</code>",
				`id="home-node-3"`, "失联", `<svg class="chart" id="chart-online"`, `aria-labelledby="chart-online-title chart-online-desc"`,
				`<title id="chart-refused-title">每小时拒绝次数（按原因）</title>`, "+08:00"} {
				if !strings.Contains(r.body, want) {
					t.Errorf("NOC home lacks %q", want)
				}
			}
			if strings.Contains(r.body, "BAD_CREDENTIALS</code>") {
				t.Error("a refusal of two hours ago counts in the last hour")
			}
			// The tables are the truth: 07:00 and 08:00 had student2,
			// 10:00 has student1; 09:00 nobody. The refusals: 08:00 and 10:00.
			for label, want := range map[string]string{"07:00": "1 1", "08:00": "1 1", "09:00": "0 0", "10:00": "1 1"} {
				if got := strings.TrimSpace(rowOf(r.body, "chart-online-table", label)); got != want {
					t.Errorf("online at %s: %q, want %q", label, got, want)
				}
			}
			if got := strings.TrimSpace(rowOf(r.body, "chart-refused-table", "08:00")); got != "0 1 1" && got != "1 0 1" {
				t.Errorf("refusals at 08:00: %q", got)
			}
			if got := strings.TrimSpace(rowOf(r.body, "chart-refused-table", "10:00")); got != "1 0 1" && got != "0 1 1" {
				t.Errorf("refusals at 10:00: %q", got)
			}
			if n := strings.Count(r.body, `<tr><th scope="row">`); n < 48 {
				t.Errorf("the chart tables have %d rows, want 24 each", n)
			}

			noc.lang = "en"
			en := noc.get("/admin")
			main := en.body[strings.Index(en.body, "<main>"):]
			main = regexp.MustCompile(`(?s)<p class="lang">.*?</p>`).ReplaceAllString(main, "")
			main = strings.ReplaceAll(main, "网络信息中心-X", "") // what the student reads, quoted
			if !strings.Contains(main, "Online now: 1") || !strings.Contains(main, "Refusals per hour, by reason") || regexp.MustCompile(`\p{Han}`).MatchString(main[:strings.Index(main, "</main>")]) {
				t.Errorf("the English NOC home: %q", regexp.MustCompile(`.{0,40}\p{Han}+.{0,40}`).FindAllString(main[:strings.Index(main, "</main>")], -1))
			}
		})
	}
}

// TestFindAnyone: the search finds a person by an address they hold now
// (with a link to the trace), a MAC in another notation, a phone number
// typed differently, a document tail, a name's start; % and _ are only
// themselves.
func TestFindAnyone(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind)
			nocFixture(t, e)
			noc := e.client()
			noc.login("admin", "admin-pass")
			for q, want := range map[string]string{
				"10.12.9.9":         `class="match-address"`,
				"5E-00-00-00-00-01": `class="match-mac"`,
				"5e00.0000.0001":    `class="match-mac"`,
				"+86 138-0013-8000": `class="match-phone"`,
				"13800138000":       `class="match-phone"`,
				"310037":            `class="match-document"`,
			} {
				r := noc.get("/admin?q=" + url.QueryEscape(q))
				if r.status != http.StatusOK || !strings.Contains(r.body, want) || !strings.Contains(r.body, `href="/admin/users/student1"`) || strings.Contains(r.body, `href="/admin/users/student2"`) {
					t.Errorf("search %q: %d, want student1 by %s: %s", q, r.status, want, r.body)
				}
			}
			r := noc.get("/admin?q=10.12.9.9")
			if !strings.Contains(r.body, `href="/admin/trace?addr=10.12.9.9"`) || !strings.Contains(r.body, "现在使用 10.12.9.9") {
				t.Errorf("address search: no trace link or holder: %s", r.body)
			}
			// 10.12.9.10 was student2's this morning: nobody holds it now,
			// and the page offers the trace.
			r = noc.get("/admin?q=10.12.9.10")
			if strings.Contains(r.body, `href="/admin/users/student2"`) || !strings.Contains(r.body, `href="/admin/trace?addr=10.12.9.10"`) {
				t.Errorf("a free address: %s", r.body)
			}
			r = noc.get("/admin?q=" + url.QueryEscape("Name of stu"))
			if !strings.Contains(r.body, `href="/admin/users/student1"`) || !strings.Contains(r.body, `href="/admin/users/student2"`) || !strings.Contains(r.body, `class="match-name"`) {
				t.Errorf("name prefix: %s", r.body)
			}
			for _, q := range []string{"%", "_", "stu%", "student_"} {
				if r := noc.get("/admin?q=" + url.QueryEscape(q)); strings.Contains(r.body, `href="/admin/users/student`) {
					t.Errorf("search %q matches: %s", q, r.body)
				}
			}
			if r := noc.get("/admin?q=student1"); r.status != http.StatusSeeOther || r.location != "/admin/users/student1" {
				t.Errorf("exact account: %d %q", r.status, r.location)
			}
			if r := noc.get("/admin?q=" + url.QueryEscape("10.12.9.9\x07")); r.status != http.StatusBadRequest {
				t.Errorf("a control character: %d", r.status)
			}
			fams, err := e.reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			counts := map[string]float64{}
			for _, f := range fams {
				if f.GetName() != "campusnet_selfservice_noc_searches_total" {
					continue
				}
				for _, m := range f.GetMetric() {
					k := ""
					for _, l := range m.GetLabel() {
						k += l.GetValue() + "/"
					}
					counts[k] = m.GetCounter().GetValue()
				}
			}
			if counts["address/found/"] != 2 || counts["address/none/"] != 1 || counts["document/found/"] != 1 {
				t.Errorf("search metrics: %v", counts)
			}
		})
	}
}

// TestOverviewTraffic: the student's overview draws traffic per day from
// real accounting (retransmitted Interims add nothing), with the table.
func TestOverviewTraffic(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind)
			s1 := e.account("student1", "student1-pass", access.RoleStudent, 5000, false)
			aaa := store.NewAAA(e.st)
			defer aaa.Close()
			ctx := context.Background()
			rec := func(kind string, in, out int64) access.AcctRecord {
				return access.AcctRecord{Kind: kind, NAS: "dorm-bras-1", Area: "dorm", AcctSessionID: "t1", Username: "student1",
					MAC: "5e:00:00:00:00:01", IP: "10.1.2.3", InputOctets: in, OutputOctets: out}
			}
			for _, r := range []access.AcctRecord{rec(access.AcctStart, 0, 0), rec(access.AcctInterim, 1<<20, 3<<20), rec(access.AcctInterim, 1<<20, 3<<20)} {
				if _, err := aaa.RecordAccounting(ctx, []access.AcctRecord{r}); err != nil {
					t.Fatal(err)
				}
			}
			e.clock.Advance(24 * time.Hour)
			if _, err := aaa.RecordAccounting(ctx, []access.AcctRecord{rec(access.AcctInterim, 2<<20, 8<<20)}); err != nil {
				t.Fatal(err)
			}
			c := e.client()
			c.login("student1", "student1-pass")
			r := c.get("/")
			if r.status != http.StatusOK || !strings.Contains(r.body, `<svg class="chart" id="chart-traffic"`) {
				t.Fatalf("overview: %d %s", r.status, r.body)
			}
			for label, want := range map[string]string{"03-01": "3.0 MiB 1.0 MiB 4.0 MiB", "03-02": "5.0 MiB 1.0 MiB 6.0 MiB", "02-28": "0 B 0 B 0 B"} {
				if got := strings.TrimSpace(rowOf(r.body, "chart-traffic-table", label)); got != want {
					t.Errorf("traffic on %s: %q, want %q", label, got, want)
				}
			}
			if !strings.Contains(r.body, "合计下载 8.0 MiB，上传 2.0 MiB") {
				t.Errorf("totals missing: %s", r.body)
			}
			app := e.client()
			app.apiLogin("student1", "student1-pass")
			var usage struct {
				From, To      string
				DownloadBytes int64 `json:"download_bytes"`
				Days          []struct {
					Day           string
					DownloadBytes int64 `json:"download_bytes"`
					UploadBytes   int64 `json:"upload_bytes"`
				}
			}
			mustJSON(t, app.api(http.MethodGet, "/api/v1/usage", nil), &usage)
			last := usage.Days[len(usage.Days)-1]
			if usage.To != "2026-03-02" || usage.DownloadBytes != 8<<20 || last.Day != "2026-03-02" || last.DownloadBytes != 5<<20 || last.UploadBytes != 1<<20 {
				t.Errorf("GET /api/v1/usage: %+v", usage)
			}
			_ = s1
		})
	}
}
