package config

import (
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
)

const plansText = `
[[area]]
name = "dorm"
plans = ["dorm-50g", "dorm-flat"]
arrears = "garden"

[[plan]]
name = "dorm-50g"
display_name = "50 GB 包月"
fee = 20.00
allowance_gb = 50
over = "slow"
slow_up_kbps = 1024
slow_down_kbps = 2048
packs = ["10g", "1g-week"]

[[plan]]
name = "dorm-flat"
fee = 30.00
cycle = "168h"

[[pack]]
name = "10g"
gb = 10
price = 5.00

[[pack]]
name = "1g-week"
gb = 1.5
price = 1.00
lasts = "168h"

[[nas]]
name = "b1"
ip = "10.0.0.1"
secret = "s"
area = "dorm"
garden_filter_id = "garden"
`

// Plans and packs reach the services in fen, bytes and durations; the
// area's fee and cycle are its default plan's.
func TestPlans(t *testing.T) {
	c, err := Parse(plansText, "p.toml")
	if err != nil {
		t.Fatal(err)
	}
	a := c.Areas[0].Access()
	if a.Fee != 2000 || a.Cycle != 720*time.Hour || !a.Billed() || !a.Garden() || len(a.Plans) != 2 {
		t.Fatalf("area: fee %d cycle %v billed %v garden %v plans %d", a.Fee, a.Cycle, a.Billed(), a.Garden(), len(a.Plans))
	}
	p := a.DefaultPlan()
	if p.Name != "dorm-50g" || p.Allowance != 50*access.GB || p.Over != access.OverSlow || p.SlowDownKbps != 2048 || len(p.Packs) != 2 {
		t.Fatalf("default plan: %+v", p)
	}
	if k, ok := p.PackByName("1g-week"); !ok || k.Bytes != 3*access.GB/2 || k.Price != 100 || k.Lasts != 168*time.Hour {
		t.Errorf("pack: %+v %v", k, ok)
	}
	if k, _ := p.PackByName("10g"); k.Lasts != 0 {
		t.Errorf("a pack without lasts lasts the cycle, got %v", k.Lasts)
	}
	if f, ok := a.PlanByName("dorm-flat"); !ok || f.Fee != 3000 || f.Cycle != 168*time.Hour || f.Limited() {
		t.Errorf("flat plan: %+v %v", f, ok)
	}
	if _, ok := a.PlanByName("nope"); ok {
		t.Error("an unknown plan was found")
	}
	if g := c.NAS[0].Access().GardenFilterID; g != "garden" {
		t.Errorf("garden filter id %q", g)
	}
	// IPv4 only by default: the IPv6 part of the counters is free.
	if n := p.Counted(1000, 500, 300, 100); n != 1100 {
		t.Errorf("counted %d, want 1100", n)
	}
	p.CountIPv6 = true
	if n := p.Counted(1000, 500, 300, 100); n != 1500 {
		t.Errorf("counted with IPv6 %d, want 1500", n)
	}
}

// The seed's area, without plans, is one flat plan of its fee and cycle.
func TestAreaWithoutPlans(t *testing.T) {
	c, err := Parse("[[area]]\nname = \"dorm\"\nfee = 20.00\n", "p.toml")
	if err != nil {
		t.Fatal(err)
	}
	a := c.Areas[0].Access()
	p := a.DefaultPlan()
	if p.Name != "dorm" || p.Fee != 2000 || p.Cycle != access.DefaultCycle || p.Limited() || a.Arrears != access.ArrearsReject {
		t.Fatalf("implicit plan %+v, arrears %q", p, a.Arrears)
	}
	if q, ok := a.PlanByName(""); !ok || q.Name != "dorm" {
		t.Errorf("PlanByName(\"\") = %+v %v", q, ok)
	}
}

// A plan configuration that cannot work stops the start with its key.
func TestBadPlans(t *testing.T) {
	tests := []struct {
		name, old, new string
		want           []string
	}{
		{"unknown plan", `plans = ["dorm-50g", "dorm-flat"]`, `plans = ["dorm-5g"]`, []string{"area[0] (dorm).plans", `"dorm-5g"`}},
		{"fee beside plans", `arrears = "garden"`, "arrears = \"garden\"\nfee = 20.00", []string{"area[0] (dorm).fee", "leave fee and cycle out"}},
		{"bad over", `over = "slow"`, `over = "cut"`, []string{"plan[0] (dorm-50g).over", "per_gb"}},
		{"slow without rate", `slow_up_kbps = 1024`, ``, []string{"plan[0] (dorm-50g).slow_down_kbps"}},
		{"per_gb without price", `over = "slow"`, `over = "per_gb"`, []string{"plan[0] (dorm-50g).per_gb"}},
		{"unknown pack", `packs = ["10g", "1g-week"]`, `packs = ["20g"]`, []string{"plan[0] (dorm-50g).packs", `"20g"`}},
		{"pack without price", "price = 5.00", "price = 0", []string{"pack[0] (10g).price"}},
		{"pack bad lasts", `lasts = "168h"`, `lasts = "a week"`, []string{"pack[1] (1g-week).lasts"}},
		{"allowance without fee", "fee = 20.00\nallowance_gb", "fee = 0\nallowance_gb", []string{"plan[0] (dorm-50g).fee", "allowance"}},
		{"free and paid", "fee = 30.00", "fee = 0", []string{"area[0] (dorm).plans", "free and paid"}},
		{"garden without filter id", `garden_filter_id = "garden"`, ``, []string{"nas[0] (b1).garden_filter_id", "arrears"}},
		{"bad plan name", `name = "dorm-flat"`, `name = "dorm flat"`, []string{"plan[1].name"}},
		{"control character", `display_name = "50 GB 包月"`, "display_name = \"50\\u0007\"", []string{"plan[0] (dorm-50g).display_name"}},
		{"webhook without secret", `[[area]]`, "[notify]\nwebhook_url = \"https://n.example/x\"\n\n[[area]]", []string{"notify.secret"}},
		{"webhook not http", `[[area]]`, "[notify]\nwebhook_url = \"ftp://n.example/x\"\nsecret = \"k\"\n\n[[area]]", []string{"notify.webhook_url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := strings.Replace(plansText, tt.old, tt.new, 1)
			if text == plansText {
				t.Fatalf("the test's replacement %q matched nothing", tt.old)
			}
			_, err := Parse(text, "p.toml")
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
		})
	}
}
