package portal

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/storetest"
)

// testPlans are A at 20.00 (the default) and B at 30.00.
var testPlans = []access.Plan{
	{Name: "plan-a", Fee: 2000, Cycle: 720 * time.Hour},
	{Name: "plan-b", Fee: 3000, Cycle: 720 * time.Hour},
}

// withPlans gives the dorm testPlans and what it does with students in
// arrears.
func withFeePlans(arrears string) harnessOpt {
	return func(c *Config) {
		c.Areas[0].Plans = testPlans
		c.Areas[0].Fee, c.Areas[0].Arrears = 2000, arrears
	}
}

// planHarness is a harness whose dorm has testPlans, on a store of kind;
// its RADIUS stand-in starts cycles under them.
func planHarness(t *testing.T, kind, arrears string) *harness {
	t.Helper()
	h := newHarnessOn(t, storetest.New(t, kind), withFeePlans(arrears))
	h.radius.mu.Lock()
	h.radius.plans = testPlans
	h.radius.mu.Unlock()
	return h
}

// choose records the account's plan for its next dorm cycle, under its
// lock (billing adds its ledger and audit rows).
func (h *harness) choose(a access.Account, plan string) {
	h.t.Helper()
	ctx := context.Background()
	err := h.st.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := h.st.LockAccount(ctx, tx, a.ID); err != nil {
			return err
		}
		return h.st.ChoosePlanTx(ctx, tx, a.ID, "dorm", plan, a.Username)
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

// TestOnlinePageChosenPlanFee: in a garden dorm, the online page of a
// student with 25.00 who chose B (30.00) says they are in the garden and
// names 30.00; one who chose nothing sees the default's 20.00 per cycle and
// no garden.
func TestOnlinePageChosenPlanFee(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			h := planHarness(t, kind, access.ArrearsGarden)
			chose := h.account("plan-chose", "password-1", 2500, false)
			h.choose(chose, "plan-b")
			h.account("plan-none", "password-2", 2500, false)

			p := h.browser(uaWindows).login(redirect("bras-v2-chap", "10.2.9.1", ""), "plan-chose", "password-1", nil)
			if p.status != http.StatusOK {
				t.Fatalf("status %d\n%s", p.status, p.body)
			}
			mustContain(t, p, "已上线", "余额 25.00 元不足本周期费用 30.00 元", "30.00 元 / 周期", `href="https://pay.example.edu.cn/"`)
			en := h.browser(uaWindows)
			en.lang = "en-US,en"
			p = en.get("/status?" + ticketQuery(t, p))
			mustContain(t, p, "Your balance of 25.00 yuan does not cover the cycle fee of 30.00 yuan")
			if strings.Contains(p.body, "不足本周期费用") {
				t.Fatalf("the English page speaks Chinese too:\n%s", p.body)
			}

			p = h.browser(uaWindows).login(redirect("bras-v2-chap", "10.2.9.2", ""), "plan-none", "password-2", nil)
			if p.status != http.StatusOK {
				t.Fatalf("status %d\n%s", p.status, p.body)
			}
			mustContain(t, p, "已上线", "20.00 元 / 周期")
			if strings.Contains(p.body, "不足本周期费用") {
				t.Fatalf("a balance that covers the default plan is shown the garden:\n%s", p.body)
			}
		})
	}
}

// ticketQuery is the query of the status link on an online page.
func ticketQuery(t *testing.T, p page) string {
	t.Helper()
	m := regexp.MustCompile(`href="/status\?([^"]+)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no status link on the page:\n%s", p.body)
	}
	return html.UnescapeString(m[1])
}

// TestRefusedPageChosenPlanFee: the ARREARS page of a student who chose B
// shows B's fee, not the default's.
func TestRefusedPageChosenPlanFee(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			h := planHarness(t, kind, access.ArrearsReject)
			chose := h.account("plan-poor", "password-1", 2500, false)
			h.choose(chose, "plan-b")
			rf := access.RefuseArrears(2500, 3000, h.cfg.PaymentURL) // what RADIUS answers (radius/planfee_test.go)
			h.radius.setRefusal("plan-poor", &rf)

			p := h.browser(uaWindows).login(redirect("bras-v2-chap", "10.2.9.3", ""), "plan-poor", "password-1", nil)
			if p.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403\n%s", p.status, p.body)
			}
			mustContain(t, p, "账户欠费", "<dd>30.00 元</dd>", "<dd>25.00 元</dd>", string(access.ReasonArrears))
			if strings.Contains(p.body, "20.00") {
				t.Fatalf("the refusal page names the default plan's fee:\n%s", p.body)
			}
		})
	}
}
