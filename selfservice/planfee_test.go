package selfservice_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/selfservice"
)

// withFeeDormPlans gives the dorm two plans: A at 20.00 for 30 days (the
// default) and B at 30.00 for 10 days.
func withFeeDormPlans(c *selfservice.Config, _ *selfservice.Deps) {
	c.Areas[0].Plans = []access.Plan{
		{Name: "plan-a", Fee: 2000, Cycle: 720 * time.Hour},
		{Name: "plan-b", Fee: 3000, Cycle: 240 * time.Hour},
	}
}

// choose records the account's plan for its next dorm cycle, under its
// lock (billing adds its ledger and audit rows).
func (e *env) choose(a access.Account, plan string) {
	e.t.Helper()
	ctx := context.Background()
	err := e.st.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := e.st.LockAccount(ctx, tx, a.ID); err != nil {
			return err
		}
		return e.st.ChoosePlanTx(ctx, tx, a.ID, "dorm", plan, a.Username)
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// TestWhyChosenPlanFee: with 25.00, a student who chose B (30.00) is told
// on the overview, the "why can't I get online" page and the API that the
// dorm will not open and why, naming 30.00; one who chose nothing is told
// it opens under the default A (20.00, 30 days).
func TestWhyChosenPlanFee(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, kind string) {
		e := newEnv(t, kind, withFeeDormPlans)
		chose := e.account("student1", "student1-pass", "student", 2500, false)
		e.choose(chose, "plan-b")
		e.account("student2", "student2-pass", "student", 2500, false)

		c := e.client()
		c.login("student1", "student1-pass")
		arrears := "账户欠费：余额 25.00 元，不足本周期 30.00 元"
		for _, path := range []string{"/", "/why"} {
			r := c.get(path)
			if r.status != http.StatusOK || !strings.Contains(r.body, arrears) {
				t.Fatalf("%s for plan B with 25.00: %d, lacks %q:\n%s", path, r.status, arrears, r.body)
			}
			if strings.Contains(r.body, "20.00") {
				t.Fatalf("%s names the default plan's fee:\n%s", path, r.body)
			}
		}
		if r := c.get("/"); !strings.Contains(r.body, "网络不能开通") {
			t.Fatalf("overview does not say the network will not open:\n%s", r.body)
		}
		en := e.client()
		en.lang = "en-US,en"
		en.login("student1", "student1-pass")
		if r := en.get("/why"); !strings.Contains(r.body, "below this cycle&#39;s 30.00 yuan") || strings.Contains(r.body, "账户欠费") {
			t.Fatalf("English why page:\n%s", r.body)
		}
		app := e.client()
		app.apiLogin("student1", "student1-pass")
		var me struct {
			Areas []struct {
				Name    string `json:"name"`
				FeeFen  int64  `json:"fee_fen"`
				Open    bool   `json:"open"`
				Warning string `json:"warning"`
			} `json:"areas"`
		}
		mustJSON(t, app.api(http.MethodGet, "/api/v1/me", nil), &me)
		if len(me.Areas) != 1 || me.Areas[0].Open || me.Areas[0].FeeFen != 3000 || !strings.Contains(me.Areas[0].Warning, "30.00") {
			t.Fatalf("API areas %+v: want the dorm closed at 30.00", me.Areas)
		}

		c = e.client()
		c.login("student2", "student2-pass")
		r := c.get("/why")
		if !strings.Contains(r.body, "余额足够，网络可开通") {
			t.Fatalf("why page for the default plan with 25.00:\n%s", r.body)
		}
		if r := c.get("/"); !strings.Contains(r.body, "开始新周期（30 天），结算日扣除 20.00 元") {
			t.Fatalf("overview for the default plan:\n%s", r.body)
		}
	})
}
