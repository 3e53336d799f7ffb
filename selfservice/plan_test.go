package selfservice_test

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/selfservice"
)

// withDormPlans gives the dorm a 50 GB plan that slows down past its
// allowance (the default) and a flat one.
func withDormPlans(c *selfservice.Config, _ *selfservice.Deps) {
	c.Areas[0].DisplayName, c.Areas[0].DisplayNameEN = "宿舍区", "Dorms"
	c.Areas[0].Plans = []access.Plan{
		{Name: "dorm-50g", DisplayName: "50 GB 包月", DisplayNameEN: "50 GB a month", Fee: 2000, Cycle: 720 * time.Hour,
			Allowance: 50 * access.GB, Over: access.OverSlow, SlowUpKbps: 2048, SlowDownKbps: 2048,
			Packs: []access.Pack{{Name: "10g", DisplayName: "10 GB 流量包", DisplayNameEN: "10 GB pack", Bytes: 10 * access.GB, Price: 500}}},
		{Name: "dorm-flat", DisplayName: "不限量包月", DisplayNameEN: "Flat", Fee: 3000, Cycle: 720 * time.Hour},
	}
}

// TestNOCPlans: the NOC account page shows the account's plan, the
// cycle's counted traffic against its limit (allowance and packs), the
// packs and the profile; the NOC home charts the campus's daily traffic
// by the plan of each account's cycle that day, with the table of the
// same figures. Accounting (RADIUS's store writes) feeds usage_days; the
// meter's AddCycleUsageTx the cycle. In English, no Chinese.
func TestNOCPlans(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, withDormPlans)
			ctx := context.Background()
			e.account("admin", "admin-pass", access.RoleOperator, 0, false)
			s1 := e.account("student1", "student1-pass", access.RoleStudent, 5000, false)
			s2 := e.account("student2", "student2-pass", access.RoleStudent, 5000, false)
			s3 := e.account("student3", "student3-pass", access.RoleStudent, 0, false)
			aaa := store.NewAAA(e.st)
			defer aaa.Close()
			record := func(kind string, a access.Account, area string, in, out int64) {
				t.Helper()
				r := access.AcctRecord{Kind: kind, NAS: "dorm-bras-1", Area: area, AcctSessionID: "as-" + a.Username, Username: a.Username,
					MAC: fmt.Sprintf("5e:00:00:00:01:%02x", a.ID%256), IP: fmt.Sprintf("10.12.8.%d", a.ID%250+1), InputOctets: in, OutputOctets: out}
				if area == "dorm" {
					r.Fee, r.CycleLength = 2000, 720*time.Hour
				}
				if _, err := aaa.RecordAccounting(ctx, []access.AcctRecord{r}); err != nil {
					t.Fatal(err)
				}
			}
			// 03-01: student1's cycle runs under dorm-50g, student2's is
			// from before plans, student3 is in the free office area.
			record(access.AcctStart, s1, "dorm", 0, 0)
			record(access.AcctStart, s2, "dorm", 0, 0)
			record(access.AcctStart, s3, "office", 0, 0)
			c1, err := e.st.ActiveCycle(ctx, s1.ID, "dorm")
			if err != nil {
				t.Fatal(err)
			}
			storetest.SetCycleTerms(t, e.st, c1.ID, "dorm-50g", 50*access.GB, access.ProfileFull)
			record(access.AcctInterim, s1, "dorm", access.GB, 2*access.GB)
			record(access.AcctInterim, s2, "dorm", access.GB/2, access.GB/2)
			record(access.AcctInterim, s3, "office", 0, access.GB/2)
			e.clock.Advance(24 * time.Hour) // 03-02
			record(access.AcctInterim, s1, "dorm", 2*access.GB, 4*access.GB)

			// The meter counted 62.5 GB against 50 GB and a 10 GB pack.
			storetest.AddCycleUsage(t, e.st, c1.ID, 62*access.GB+access.GB/2)
			storetest.SetCycleTerms(t, e.st, c1.ID, "dorm-50g", 50*access.GB, access.ProfileSlow)
			err = e.st.InTx(ctx, func(tx *sqlx.Tx) error {
				if _, err := e.st.LockAccount(ctx, tx, s1.ID); err != nil {
					return err
				}
				_, err := e.st.InsertPackTx(ctx, tx, access.PackHeld{AccountID: s1.ID, Area: "dorm", CycleID: c1.ID, Name: "10g", Bytes: 10 * access.GB,
					Used: 0, Price: 500, BoughtAt: access.Millis(e.clock.Now()), ExpiresAt: c1.EndsAt})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}

			noc := e.client()
			noc.login("admin", "admin-pass")
			page := noc.get("/admin/users/student1")
			for _, want := range []string{"套餐与流量", "<strong>宿舍区</strong>: 50 GB 包月", "下个周期：50 GB 包月 （默认）",
				"已用 62.5 GB，上限 60.0 GB（套餐 50.0 GB 加流量包），剩余 0 B，100%", "已降速（超出流量）", "超出后: 降速",
				"<td data-label=\"流量包\">10 GB 流量包</td><td data-label=\"容量\" class=\"num\">10.0 GB</td>"} {
				if !strings.Contains(page.body, want) {
					t.Fatalf("NOC page of student1 lacks %q:\n%s", want, page.body)
				}
			}
			if p := noc.get("/admin/users/student2"); !strings.Contains(p.body, "已用 0 B（不限量）") || !strings.Contains(p.body, "超出后: 不限量") {
				t.Fatalf("NOC page of student2 (a cycle from before plans):\n%s", p.body)
			}

			home := noc.get("/admin")
			if !strings.Contains(home.body, `id="chart-plans"`) || !strings.Contains(home.body, "最近 30 天流量（按套餐）") {
				t.Fatalf("NOC home has no traffic by plan:\n%s", home.body)
			}
			head := regexp.MustCompile(`(?s)id="chart-plans-table">.*?<thead>(.*?)</thead>`).FindStringSubmatch(home.body)
			if head == nil {
				t.Fatalf("no table of the traffic by plan:\n%s", home.body)
			}
			heads := strings.Fields(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(strings.ReplaceAll(head[1], "</th>", " | "), ""))
			if got, want := strings.Join(heads, " "), "日期 | 50 GB 包月 | 宿舍区（包月） | 无计费周期 | 合计 |"; got != want {
				t.Errorf("columns: %q, want %q", got, want)
			}
			for day, want := range map[string]string{"03-01": "3.0 GB 1.0 GB 512 MB 4.5 GB", "03-02": "3.0 GB 0 B 0 B 3.0 GB", "02-28": "0 B 0 B 0 B 0 B"} {
				if got := strings.Join(strings.Fields(rowOf(home.body, "chart-plans-table", day)), " "); got != want {
					t.Errorf("traffic by plan on %s: %q, want %q", day, got, want)
				}
			}

			// English: the same, without a Chinese word.
			noc.lang = "en-US,en;q=0.9"
			han := regexp.MustCompile(`\p{Han}`)
			tags := regexp.MustCompile(`<code>[^<]*</code>|<[^>]*>`)
			for path, wants := range map[string][]string{
				"/admin/users/student1": {"Plan and traffic", "50 GB a month", "Used 62.5 GB of 60.0 GB (allowance 50.0 GB plus packs), 0 B left, 100 %", "slowed (past the allowance)", "10 GB pack"},
				"/admin":                {"Traffic of the last 30 days, by plan", "Dorms (flat)", "no cycle"},
			} {
				p := noc.get(path)
				text := p.body[strings.Index(p.body, "<main>"):strings.Index(p.body, "</main>")]
				text = strings.Replace(text, ">中文</a>", "></a>", 1)
				text = html.UnescapeString(tags.ReplaceAllString(text, " "))
				for _, w := range wants {
					if !strings.Contains(text, w) {
						t.Errorf("English %s lacks %q:\n%s", path, w, text)
					}
				}
				if m := han.FindString(strings.ReplaceAll(text, "网络信息中心-X", "")); m != "" { // the footer a student quotes
					t.Errorf("English %s has Chinese %q:\n%s", path, m, text)
				}
			}
		})
	}
}
