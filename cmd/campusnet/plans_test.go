package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/storetest"
)

// planConfig is a dorm with a 50 GB plan (the default) and a flat one.
const planConfig = `
[[area]]
name = "dorm"
plans = ["dorm-50g", "dorm-flat"]

[[plan]]
name = "dorm-50g"
display_name_en = "50 GB a month"
fee = 20.00
allowance_gb = 50
over = "slow"
slow_up_kbps = 2048
slow_down_kbps = 2048
packs = ["10g"]

[[plan]]
name = "dorm-flat"
fee = 30.00

[[pack]]
name = "10g"
gb = 10
price = 5.00
`

// TestAccountPlanAndPack: the desk shows the plans, chooses one for the
// next cycle, buys a pack once per --ref, is refused a pack into the
// committed fee, and account show prints the plan, usage, limit and packs.
func TestAccountPlanAndPack(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			c := newCLIEnv(t, kind, nil)
			f, err := os.OpenFile(c.cfg, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString(planConfig); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			acc, _, err := c.st.OpenAccount(ctx, access.Account{Username: "2026001", Role: access.RoleStudent}, 3000, "test", "open", "opening")
			if err != nil {
				t.Fatal(err)
			}
			var cyc access.Cycle
			err = c.st.InTx(ctx, func(tx *sqlx.Tx) error {
				var err error
				cyc, _, err = c.st.StartCycleTx(ctx, tx, &acc, "dorm", 2000, 720*time.Hour)
				return err
			})
			if err != nil || cyc.ID == 0 {
				t.Fatalf("start cycle: %+v %v", cyc, err)
			}
			storetest.SetCyclePlan(t, c.st, cyc.ID, storetest.CyclePlan{Plan: "dorm-50g", Allowance: 50 * access.GB, Used: 52 * access.GB, Profile: access.ProfileSlow})

			steps := []struct {
				args []string
				code int
				want []string
			}{
				{[]string{"account", "plan", "2026001"}, 0, []string{"* dorm-50g", "50 GB a month: 20.00 yuan / 30 days, 50.0 GiB, then 2048/2048 kbit/s", "(default)",
					"dorm-flat", "30.00 yuan / 30 days, no traffic limit", "pack 10g", "used 52.0 GiB of 50.0 GiB (100 %)", "next cycle: dorm-50g (the default)"}},
				{[]string{"account", "plan", "2026001", "dorm-flat"}, 2, []string{"--reason is required"}},
				{[]string{"account", "plan", "2026001", "dorm-1t", "--reason", "asked"}, 1, []string{"no plan", "dorm-50g, dorm-flat"}},
				{[]string{"account", "plan", "2026001", "dorm-flat", "--area", "mars", "--reason", "asked"}, 1, []string{`no area "mars"`}},
				{[]string{"account", "plan", "2026001", "dorm-flat", "--reason", "asked at the desk", "--actor", "desk1"}, 0,
					[]string{"plan dorm-flat for 2026001 in dorm from the next cycle", "keeps dorm-50g", "by desk1"}},
				{[]string{"account", "plan", "2026001", "dorm-flat", "--reason", "again"}, 0, []string{"already has plan dorm-flat", "nothing changed"}},
				{[]string{"account", "pack", "2026001", "100g"}, 1, []string{"no such pack"}},
				{[]string{"account", "pack", "2026001", "10g", "--ref", "R-1", "--actor", "desk1"}, 0, []string{"pack 10g (10.0 GiB) for 2026001 in dorm: 5.00 yuan, balance 25.00 yuan"}},
				{[]string{"account", "pack", "2026001", "10g", "--ref", "R-1"}, 0, []string{"already bought with reference R-1", "nothing charged"}},
				{[]string{"account", "pack", "2026001", "10g", "--ref", "R-2"}, 0, []string{"balance 20.00 yuan"}},
				{[]string{"account", "pack", "2026001", "10g", "--ref", "R-3"}, 1, []string{"committed", "recharge first"}},
				{[]string{"account", "show", "2026001"}, 0, []string{"plans:", "plan dorm-50g (cycle #", "used 52.0 GiB of 70.0 GiB (74 %), 18.0 GiB left",
					"pack #1 10g: 10.0 GiB of 10.0 GiB left", "next cycle: dorm-flat (chosen)", "pack:1  (10g)"}},
			}
			for _, s := range steps {
				code, out := c.run(s.args...)
				if code != s.code {
					t.Fatalf("%v: exit %d, want %d\n%s", s.args, code, s.code, out)
				}
				for _, w := range s.want {
					if !strings.Contains(out, w) {
						t.Fatalf("%v: output lacks %q:\n%s", s.args, w, out)
					}
				}
			}
			a, err := c.st.AccountByUsername(ctx, "2026001")
			if err != nil || a.Balance != 2000 {
				t.Fatalf("balance %s %v", a.Balance, err)
			}
			if n := storetest.CountLedger(t, c.st, access.LedgerPack); n != 2 {
				t.Fatalf("%d pack rows", n)
			}
			if code, out := c.run("billing", "verify"); code != 0 {
				t.Fatalf("billing verify: %d\n%s", code, out)
			}
		})
	}
}
