package selfservice_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/billing"
	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/selfservice"
)

// planAreas: a dorm with a 50 GB plan (the default, slowed to 2 Mbit/s
// past it, with a 10 GB pack) and a flat plan; a staff-only lab with plans
// of its own; the free office.
func planAreas() []access.Area {
	p50 := access.Plan{Name: "dorm-50g", DisplayName: "50 GB 包月", DisplayNameEN: "50 GB a month", Fee: 2000, Cycle: 720 * time.Hour,
		Allowance: 50 * access.GB, Over: access.OverSlow, SlowUpKbps: 2048, SlowDownKbps: 2048,
		Packs: []access.Pack{{Name: "10g", DisplayName: "10 GB 流量包", DisplayNameEN: "10 GB pack", Bytes: 10 * access.GB, Price: 500}}}
	flat := access.Plan{Name: "dorm-flat", DisplayName: "不限量", DisplayNameEN: "Unlimited", Fee: 3000, Cycle: 720 * time.Hour}
	lab := access.Plan{Name: "lab-20g", Fee: 1000, Cycle: 720 * time.Hour, Allowance: 20 * access.GB, Over: access.OverBlock}
	return []access.Area{
		{Name: "dorm", DisplayName: "宿舍区", DisplayNameEN: "Dorms", Fee: 2000, Cycle: 720 * time.Hour, Plans: []access.Plan{p50, flat}},
		{Name: "lab", Fee: 1000, Cycle: 720 * time.Hour, Roles: []access.Role{access.RoleStaff}, Plans: []access.Plan{lab}},
		{Name: "office"},
	}
}

// withPlans serves the plan areas with billing's real plan operations on
// the test's store.
func withPlans(t *testing.T) envOpt {
	return func(cfg *selfservice.Config, deps *selfservice.Deps) {
		cfg.Areas = planAreas()
		svc, err := billing.New(deps.Store.(*store.Store), billing.Config{Areas: cfg.Areas, Now: deps.Now})
		if err != nil {
			t.Fatal(err)
		}
		deps.Plans = svc
	}
}

// planCycle starts a's dorm cycle under the 50 GB plan with used bytes
// counted and profile p, as the cycle start and the meter do.
func (e *env) planCycle(a access.Account, used int64, p access.Profile) access.Cycle {
	e.t.Helper()
	ctx := context.Background()
	var c access.Cycle
	err := e.st.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		c, _, err = e.st.StartCycleTx(ctx, tx, &a, "dorm", 2000, 720*time.Hour)
		return err
	})
	if err != nil || c.ID == 0 {
		e.t.Fatalf("start cycle: %+v %v", c, err)
	}
	storetest.SetCyclePlan(e.t, e.st, c.ID, storetest.CyclePlan{Plan: "dorm-50g", Allowance: 50 * access.GB, Used: used, Profile: p})
	return c
}

func (e *env) balanceOf(user string) access.Fen {
	e.t.Helper()
	a, err := e.st.AccountByUsername(context.Background(), user)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.Balance
}

var pageTags = regexp.MustCompile(`<[^>]*>`)

// mainText is a page's main part as a person reads it.
func mainText(page string) string {
	if i := strings.Index(page, "<main>"); i >= 0 {
		page = page[i:]
	}
	if i := strings.Index(page, "</main>"); i >= 0 {
		page = page[:i]
	}
	return strings.Join(strings.Fields(html.UnescapeString(pageTags.ReplaceAllString(page, " "))), " ")
}

var keyRe = regexp.MustCompile(`name="key" value="([^"]+)"`)

// The overview shows the plan's usage with the numbers, what is left and
// what happens at 100 %, in Chinese and, on request, in English only.
func TestPlanOnOverview(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, withPlans(t))
			a := e.account("2026001", "pass-2026001", access.RoleStudent, 3000, false)
			e.planCycle(a, 40*access.GB, access.ProfileFull)
			c := e.client()
			c.login("2026001", "pass-2026001")
			r := c.get("/")
			text := mainText(r.body)
			for _, want := range []string{"宿舍区本周期流量", "50 GB 包月", "已用 40.0 GiB / 共 50.0 GiB（80%）", "剩余 10.0 GiB", "用完后网速降为 2 Mbit/s"} {
				if !strings.Contains(text, want) {
					t.Errorf("the overview lacks %q:\n%s", want, text)
				}
			}
			if !strings.Contains(r.body, `<rect width="80"`) {
				t.Errorf("no usage bar at 80 %%:\n%s", r.body)
			}
			r = c.get("/?lang=en")
			text = mainText(r.body)
			for _, want := range []string{"Traffic this cycle: Dorms", "50 GB a month", "Used 40.0 GiB of 50.0 GiB (80 %)", "10.0 GiB left", "At 100 % your speed drops to 2 Mbit/s"} {
				if !strings.Contains(text, want) {
					t.Errorf("the English overview lacks %q:\n%s", want, text)
				}
			}
			if strings.Contains(text, "用完后") || strings.Contains(text, "流量") {
				t.Errorf("the English overview speaks Chinese:\n%s", text)
			}
			// The language stays English on the next page.
			if text := mainText(c.get("/plans").body); !strings.Contains(text, "Plan for the next cycle") || strings.Contains(text, "下一周期") {
				t.Errorf("the plans page after the switch:\n%s", text)
			}
		})
	}
}

// Choosing a plan on the plans page records it for the next cycle and
// leaves the running one; buying a pack confirms the price and the
// balance after, then takes the price once however often the form is sent.
func TestPlansChooseAndBuy(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, withPlans(t))
			a := e.account("2026001", "pass-2026001", access.RoleStudent, 3000, false)
			cyc := e.planCycle(a, 52*access.GB, access.ProfileSlow)
			c := e.client()
			c.login("2026001", "pass-2026001")

			page := c.get("/plans")
			text := mainText(page.body)
			for _, want := range []string{"50 GB 包月", "不限量", "每周期 30.00 元", "不限流量", "10 GB 流量包", "5.00 元", "网速已降为 2 Mbit/s"} {
				if !strings.Contains(text, want) {
					t.Errorf("the plans page lacks %q:\n%s", want, text)
				}
			}
			r := c.submit("/plans", "/plans/choose", url.Values{"area": {"dorm"}, "plan": {"dorm-flat"}})
			if r.status != http.StatusSeeOther || r.location != "/plans" {
				t.Fatalf("choose: %d %s", r.status, r.body)
			}
			if text := mainText(c.get("/plans").body); !strings.Contains(text, "已选定“不限量”，从下一周期开始生效") || !strings.Contains(text, "下一周期起使用：不限量") {
				t.Errorf("after choosing:\n%s", text)
			}
			if choice, err := e.st.PlanChoice(context.Background(), a.ID, "dorm"); err != nil || choice != "dorm-flat" {
				t.Fatalf("choice %q %v", choice, err)
			}
			if n := storetest.CountLedger(t, e.st, access.LedgerPlanChange); n != 1 {
				t.Fatalf("%d plan_change rows", n)
			}
			audit, err := e.st.AuditLog(context.Background(), "2026001", 1)
			if err != nil || len(audit) != 1 || audit[0].Action != "account.plan" || audit[0].Actor != "2026001" {
				t.Fatalf("audit: %+v %v", audit, err)
			}

			// Buying: the button shows what it costs, changing nothing.
			page = c.get("/plans")
			m := keyRe.FindStringSubmatch(page.body)
			if m == nil {
				t.Fatalf("no key on the plans page:\n%s", page.body)
			}
			csrf := csrfRe.FindStringSubmatch(page.body)[1]
			form := url.Values{"csrf": {csrf}, "area": {"dorm"}, "pack": {"10g"}, "key": {m[1]}}
			r = c.post("/plans/buy", form)
			text = mainText(r.body)
			if r.status != http.StatusOK || !strings.Contains(text, "价格 5.00 元") || !strings.Contains(text, "购买后余额 25.00 元") || !strings.Contains(text, "当前余额 30.00 元") {
				t.Fatalf("confirmation: %d\n%s", r.status, text)
			}
			if e.balanceOf("2026001") != 3000 {
				t.Fatal("the confirmation charged")
			}
			form.Set("confirm", "yes")
			for i := range 3 {
				r = c.post("/plans/buy", form)
				if r.status != http.StatusSeeOther {
					t.Fatalf("buy #%d: %d %s", i, r.status, r.body)
				}
				flashText := mainText(c.get("/plans").body)
				want := "已购买10 GB 流量包：扣除 5.00 元，余额 25.00 元，有效期至 " + time.UnixMilli(cyc.EndsAt).In(testStart.Location()).Format("2006-01-02")
				if i > 0 {
					want = "这张表单已经提交过，流量包只购买了一次"
				}
				if !strings.Contains(flashText, want) {
					t.Errorf("after buy #%d, no %q:\n%s", i, want, flashText)
				}
			}
			if e.balanceOf("2026001") != 2500 || storetest.CountLedger(t, e.st, access.LedgerPack) != 1 {
				t.Fatalf("balance %s, %d pack rows", e.balanceOf("2026001"), storetest.CountLedger(t, e.st, access.LedgerPack))
			}
			// 60 GB now cover the 52 GB used: the overview says so.
			if text := mainText(c.get("/").body); !strings.Contains(text, "已用 52.0 GiB / 共 60.0 GiB（86%）") || strings.Contains(text, "网速已降为") {
				t.Errorf("the overview after the pack:\n%s", text)
			}
			// A new form with a new key buys again, down to the committed fee;
			// the next is refused with the numbers.
			form.Set("key", keyRe.FindStringSubmatch(c.get("/plans").body)[1])
			if r := c.post("/plans/buy", form); r.status != http.StatusSeeOther || e.balanceOf("2026001") != 2000 {
				t.Fatalf("second pack: %d, balance %s", r.status, e.balanceOf("2026001"))
			}
			page = c.get("/plans")
			if !strings.Contains(mainText(page.body), "余额不足（需保留本周期费用），请先充值") {
				t.Errorf("no refusal on the plans page at 20.00 yuan:\n%s", mainText(page.body))
			}
			form.Set("key", "fresh-key")
			r = c.post("/plans/buy", form)
			if r.status != http.StatusConflict || !strings.Contains(mainText(r.body), "其中 20.00 元须保留为本周期费用") || e.balanceOf("2026001") != 2000 {
				t.Fatalf("a pack into the committed fee: %d, balance %s\n%s", r.status, e.balanceOf("2026001"), mainText(r.body))
			}
			probs, err := e.st.CheckBilling(context.Background())
			if err != nil || len(probs) != 0 {
				t.Fatalf("billing verify: %+v %v", probs, err)
			}
		})
	}
}

// Hostile form values get a clear 400 and change nothing.
func TestPlansHostileForms(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, withPlans(t))
			a := e.account("2026001", "pass-2026001", access.RoleStudent, 5000, false)
			e.planCycle(a, 0, access.ProfileFull)
			c := e.client()
			c.login("2026001", "pass-2026001")
			for _, tc := range []struct {
				name, action string
				form         url.Values
				status       int
				want         string
			}{
				{"unknown plan", "/plans/choose", url.Values{"area": {"dorm"}, "plan": {"dorm-1t"}}, 400, "没有这个套餐"},
				{"NUL in the plan", "/plans/choose", url.Values{"area": {"dorm"}, "plan": {"dorm-flat\x00"}}, 400, "套餐含有不允许的字符"},
				{"no plan", "/plans/choose", url.Values{"area": {"dorm"}}, 400, "没有这个套餐"},
				{"another role's area", "/plans/choose", url.Values{"area": {"lab"}, "plan": {"lab-20g"}}, 400, "该区域没有您可选的套餐"},
				{"a free area", "/plans/choose", url.Values{"area": {"office"}, "plan": {"office"}}, 400, "该区域没有您可选的套餐"},
				{"control characters in the area", "/plans/choose", url.Values{"area": {"dorm\r\n"}, "plan": {"dorm-flat"}}, 400, "区域含有不允许的字符"},
				{"another plan's pack", "/plans/buy", url.Values{"area": {"dorm"}, "pack": {"100g"}, "key": {"k1"}, "confirm": {"yes"}}, 400, "本周期的套餐没有这个流量包"},
				{"NUL in the pack", "/plans/buy", url.Values{"area": {"dorm"}, "pack": {"10g\x00"}, "key": {"k2"}, "confirm": {"yes"}}, 400, "流量包含有不允许的字符"},
				{"no key", "/plans/buy", url.Values{"area": {"dorm"}, "pack": {"10g"}, "confirm": {"yes"}}, 400, "表单缺少编号"},
				{"huge key", "/plans/buy", url.Values{"area": {"dorm"}, "pack": {"10g"}, "key": {strings.Repeat("9", 5000)}, "confirm": {"yes"}}, 400, "编号含有不允许的字符"},
				{"another role's area for a pack", "/plans/buy", url.Values{"area": {"lab"}, "pack": {"10g"}, "key": {"k3"}, "confirm": {"yes"}}, 400, "该区域没有您可选的套餐"},
			} {
				r := c.submit("/plans", tc.action, tc.form)
				if r.status != tc.status || !strings.Contains(mainText(r.body), tc.want) {
					t.Errorf("%s: %d, want %d with %q:\n%s", tc.name, r.status, tc.status, tc.want, mainText(r.body))
				}
			}
			// Without the CSRF token.
			if r := c.post("/plans/buy", url.Values{"area": {"dorm"}, "pack": {"10g"}, "key": {"k4"}, "confirm": {"yes"}}); r.status != http.StatusForbidden {
				t.Errorf("no CSRF token: %d", r.status)
			}
			if e.balanceOf("2026001") != 5000 || storetest.RowCount(t, e.st, "packs") != 0 || storetest.RowCount(t, e.st, "plan_choices") != 0 ||
				storetest.CountLedger(t, e.st, access.LedgerPlanChange) != 0 {
				t.Fatalf("a refused form changed something: balance %s", e.balanceOf("2026001"))
			}
		})
	}
}

// The why page says the speed dropped because the allowance is used up,
// and how to get it back: a pack, or the next cycle's date.
func TestWhyIsItSlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite", withPlans(t))
	a := e.account("2026001", "pass-2026001", access.RoleStudent, 5000, false)
	cyc := e.planCycle(a, 51*access.GB, access.ProfileSlow)
	c := e.client()
	c.login("2026001", "pass-2026001")
	end := time.UnixMilli(cyc.EndsAt).In(testStart.Location()).Format("2006-01-02")
	text := mainText(c.get("/why").body)
	for _, want := range []string{"网速变慢了？", "宿舍区本周期的流量额度已用完（已用 51.0 GiB，额度 50.0 GiB），网速已降为 2 Mbit/s。", "购买流量包可立即恢复，或等到 " + end + " 下一周期开始。"} {
		if !strings.Contains(text, want) {
			t.Errorf("the why page lacks %q:\n%s", want, text)
		}
	}
	text = mainText(c.get("/why?lang=en").body)
	if !strings.Contains(text, "Why is it slow?") || !strings.Contains(text, "so your speed dropped to 2 Mbit/s") || !strings.Contains(text, "wait for the next cycle on "+end) {
		t.Errorf("the English why page:\n%s", text)
	}
}
