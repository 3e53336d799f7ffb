package main

import (
	"net/http"
	"path/filepath"
	"regexp"
	"testing"
)

// The demo's dorm offers a plan choice: the flat 20-yuan plan, the default
// (exactly the seed's rule), and a 50 GB plan with a 10 GB pack; a demo
// student sees both on /plans, the flat one chosen.
func TestDemoOffersPlans(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "sqlite:"+filepath.Join(t.TempDir(), "c.db"), "")
	dorm, ok := cfg.AreaByName("dorm")
	if !ok || len(dorm.Plans) != 2 || dorm.Plans[0] != "dorm-flat" {
		t.Fatalf("the default dorm: %+v", dorm)
	}
	s := startServer(t, cfg, true)
	ss := newV6Browser(t, s.Addr("selfservice"), e2eWindows)
	_, _, body := ss.do(http.MethodGet, "/login", nil, nil)
	f := hiddenForm(body)
	f.Set("username", "student1")
	f.Set("password", "student1-pass")
	if code, _, body := ss.do(http.MethodPost, "/login", f, nil); code != http.StatusOK {
		t.Fatalf("self-service login: %d\n%s", code, body)
	}
	code, _, body := ss.do(http.MethodGet, "/plans", nil, nil)
	if code != http.StatusOK {
		t.Fatalf("/plans: %d\n%s", code, body)
	}
	contains(t, body, "包月不限量", "50 GB 包月", "20.00")
	if !regexp.MustCompile(`value="dorm-flat"\s+checked`).MatchString(body) {
		t.Fatalf("the flat plan is not the chosen one:\n%s", body)
	}
}
