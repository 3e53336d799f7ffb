package portal

import (
	"context"
	"encoding/json"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/internal/testwait"
)

// withPlans gives the harness's dorm the plans of docs/plans.md: a 50 GB
// plan that slows down past its allowance (the default), one that blocks
// and one that charges per GB.
func withPlans(c *Config) {
	slow := access.Plan{Name: "dorm-50g", DisplayName: "50 GB 包月", DisplayNameEN: "50 GB a month", Fee: 2000, Cycle: 720 * time.Hour,
		Allowance: 50 * access.GB, Over: access.OverSlow, SlowUpKbps: 2048, SlowDownKbps: 2048,
		Packs: []access.Pack{{Name: "10g", DisplayName: "10 GB 流量包", DisplayNameEN: "10 GB pack", Bytes: 10 * access.GB, Price: 500}}}
	block := access.Plan{Name: "dorm-block", DisplayName: "20 GB 限量", DisplayNameEN: "20 GB capped", Fee: 1500, Cycle: 720 * time.Hour,
		Allowance: 20 * access.GB, Over: access.OverBlock}
	perGB := access.Plan{Name: "dorm-pergb", DisplayName: "10 GB 按量", DisplayNameEN: "10 GB metered", Fee: 1000, Cycle: 720 * time.Hour,
		Allowance: 10 * access.GB, Over: access.OverPerGB, PerGB: 100}
	c.Areas[0].Plans = []access.Plan{slow, block, perGB}
}

// planCycle is the account's running dorm cycle, given plan's terms (as
// billing copies them when the cycle starts) and used bytes of counted
// traffic through the meter's store write.
func planCycle(t *testing.T, st *store.Store, acc access.Account, plan string, allowance, used int64, profile access.Profile) access.Cycle {
	t.Helper()
	// On PostgreSQL the cycle starts in a transaction after the one that
	// puts the session online: wait for it.
	var c access.Cycle
	testwait.For(t, "the dorm cycle", func() bool {
		var err error
		c, err = st.ActiveCycle(context.Background(), acc.ID, "dorm")
		return err == nil
	})
	storetest.SetCycleTerms(t, st, c.ID, plan, allowance, profile)
	if used > 0 {
		storetest.AddCycleUsage(t, st, c.ID, used)
	}
	return c
}

// englishText is a page's main text without tags, names and the language
// switch; han finds Chinese in it.
var (
	han      = regexp.MustCompile(`\p{Han}`)
	pageTags = regexp.MustCompile(`<[^>]*>`)
)

func mainText(body string, names ...string) string {
	if i := strings.Index(body, "<main>"); i >= 0 {
		body = body[i:]
	}
	if i := strings.Index(body, "</main>"); i >= 0 {
		body = body[:i]
	}
	body = strings.Replace(body, ">中文</a>", "></a>", 1)
	text := html.UnescapeString(pageTags.ReplaceAllString(body, " "))
	for _, n := range names {
		text = strings.ReplaceAll(text, n, "")
	}
	return text
}

// TestPlanOnPortalPages: a student whose cycle has an allowance reads on
// the online and status pages what is used of it and its packs, what is
// left, with a bar, and what happens at 100 % with the link to the plans
// page; past it, that the speed is lowered and why (or that only
// self-service and payment are reachable). In English, without a Chinese
// word; a flat cycle shows no plan block.
func TestPlanOnPortalPages(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			testPlanOnPortalPages(t, kind)
		})
	}
}

func testPlanOnPortalPages(t *testing.T, kind string) {
	h := newHarnessOn(t, storetest.New(t, kind), withPlans)
	ctx := context.Background()
	acc := h.account("u1", "password-1", 5000, false)
	b := h.browser(uaWindows)

	// Log in by hand; the online page is read again once the cycle runs.
	entry := b.get("/")
	f := formOf(t, entry.body)
	f.Set("username", "u1")
	f.Set("password", "password-1")
	ans := b.postRaw("/login", f)
	online := ans.header.Get("Location")
	if ans.status != http.StatusSeeOther || !strings.HasPrefix(online, "/online?") {
		t.Fatalf("login answered %d %q", ans.status, online)
	}
	h.waitOnline("127.0.0.1")
	if p := b.get("/status"); strings.Contains(p.body, `id="plan"`) {
		t.Fatalf("a cycle without an allowance shows a plan:\n%s", p.body)
	}

	c := planCycle(t, h.st, acc, "dorm-50g", 50*access.GB, 12*access.GB+access.GB/2, access.ProfileFull)
	err := h.st.InTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := h.st.LockAccount(ctx, tx, acc.ID); err != nil {
			return err
		}
		_, err := h.st.InsertPackTx(ctx, tx, access.PackHeld{AccountID: acc.ID, Area: "dorm", CycleID: c.ID, Name: "10g", Bytes: 10 * access.GB,
			Price: 500, BoughtAt: access.Millis(h.st.Now()), ExpiresAt: c.EndsAt})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{online, "/status"} {
		p := b.get(path)
		mustContain(t, p, `id="plan"`, "本周期流量", "50 GB 包月", "已用 12.5 GB，共 60.0 GB（20%）", "其中流量包 10.0 GB",
			"剩余 47.5 GB", `<meter id="plan-meter"`, `value="20"`, "用到 100% 后网速降为 2 Mbit/s",
			`href="http://selfaaa.example.edu.cn/plans"`)
		if strings.Contains(p.body, "网速已降为") {
			t.Fatalf("%s: a cycle under its allowance reads as slowed:\n%s", path, p.body)
		}
	}

	// Past the allowance and the pack: the meter made the profile slow.
	storetest.AddCycleUsage(t, h.st, c.ID, 50*access.GB)
	storetest.SetCycleTerms(t, h.st, c.ID, "dorm-50g", 50*access.GB, access.ProfileSlow)
	p := b.get("/status")
	end := strings.ReplaceAll(formatTime(h.portal.cfg.Location, c.EndsAt), "+", "&#43;") // as html/template writes it
	mustContain(t, p, "已用 62.5 GB，共 60.0 GB（100%）", "剩余 0 B", `value="100"`,
		"本周期流量已用完，网速已降为 2 Mbit/s；购买流量包后或新周期（"+end+"）开始时恢复。")

	b.lang = "en-US,en;q=0.9"
	p = b.get("/status")
	mustContain(t, p, "Traffic this cycle", "50 GB a month", "Used 62.5 GB of 60.0 GB (100 %)", "of which packs: 10.0 GB", "0 B left",
		"You have used this cycle&#39;s traffic: your speed is lowered to 2 Mbit/s until you buy a pack or the next cycle starts ("+end+").",
		"Packs and plans")
	if m := han.FindString(mainText(p.body)); m != "" {
		t.Errorf("English status page has Chinese %q:\n%s", m, mainText(p.body))
	}
	p = b.get(online)
	mustContain(t, p, "Traffic this cycle", "Used 62.5 GB of 60.0 GB")
	if m := han.FindString(mainText(p.body, acc.Name)); m != "" {
		t.Errorf("English online page has Chinese %q:\n%s", m, mainText(p.body, acc.Name))
	}

	// A blocking plan before and past its allowance, and a per-GB one.
	b.lang = ""
	storetest.SetCycleTerms(t, h.st, c.ID, "dorm-block", 100*access.GB, access.ProfileFull)
	mustContain(t, b.get("/status"), "20 GB 限量", "用到 100% 后只能访问自助服务和缴费页面，购买流量包后恢复")
	storetest.SetCycleTerms(t, h.st, c.ID, "dorm-block", 20*access.GB, access.ProfileRestricted)
	mustContain(t, b.get("/status"), "本周期流量已用完，网络受限：只能访问自助服务和缴费页面，购买流量包后恢复。")
	storetest.SetCycleTerms(t, h.st, c.ID, "dorm-pergb", 100*access.GB, access.ProfileFull)
	mustContain(t, b.get("/status"), "超出后每用 1 GB（不足 1 GB 按 1 GB 计）从余额扣 1.00 元")
	storetest.SetCycleTerms(t, h.st, c.ID, "dorm-pergb", 10*access.GB, access.ProfileRestricted)
	mustContain(t, b.get("/status"), "余额不足以支付超出的流量", `href="https://pay.example.edu.cn/"`)
}

// TestCaptiveAPIBytesRemaining: the RFC 8908 API of an address whose cycle
// has an allowance answers bytes-remaining, the limit (allowance and
// packs) less the counted traffic, next to seconds-remaining, over IPv4
// and from [::1]; without an allowance it has none.
func TestCaptiveAPIBytesRemaining(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			testCaptiveAPIBytesRemaining(t, kind)
		})
	}
}

func testCaptiveAPIBytesRemaining(t *testing.T, kind string) {
	h := newHarnessOn(t, storetest.New(t, kind), withPlans)
	ctx := context.Background()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		if storetest.InCI() {
			t.Fatalf("no IPv6 loopback: %v", err)
		}
		t.Skipf("no IPv6 loopback: %v", err)
	}
	v6 := httptest.NewUnstartedServer(h.portal)
	v6.Listener.Close()
	v6.Listener = ln
	v6.Start()
	t.Cleanup(v6.Close)
	api := func(base string) (captiveJSON, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, base+"/api/v1/captive", nil)
		if err != nil {
			t.Fatal(err)
		}
		p := h.browser("").do(req)
		if p.status != http.StatusOK || p.header.Get("Content-Type") != "application/captive+json" {
			t.Fatalf("captive API at %s: %d %v", base, p.status, p.header)
		}
		var c captiveJSON
		if err := json.Unmarshal([]byte(p.body), &c); err != nil {
			t.Fatalf("captive API body %q: %v", p.body, err)
		}
		return c, p.body
	}

	// IPv4: a portal login from 127.0.0.1.
	u1 := h.account("u1", "password-1", 5000, false)
	mustContain(t, h.browser(uaWindows).login(url.Values{}, "u1", "password-1", nil), "127.0.0.1")
	h.waitOnline("127.0.0.1")
	if c, body := api(h.srv.URL); c.Captive || c.SecondsRemaining == nil || strings.Contains(body, "bytes-remaining") {
		t.Fatalf("a cycle without an allowance: %s", body)
	}
	used := 7*access.GB + 12345
	planCycle(t, h.st, u1, "dorm-50g", 50*access.GB, used, access.ProfileFull)
	c, body := api(h.srv.URL)
	if c.Captive || c.BytesRemaining == nil || *c.BytesRemaining != 50*access.GB-used || c.SecondsRemaining == nil || *c.SecondsRemaining <= 0 {
		t.Fatalf("IPv4, 50 GB with %d used: %s", used, body)
	}

	// IPv6 only, from [::1]: the BAS's Accounting-Start names ::1.
	u2 := h.account("u2", "password-2", 5000, false)
	aaa := store.NewAAA(h.st)
	defer aaa.Close()
	res, err := aaa.RecordAccounting(ctx, []access.AcctRecord{{Kind: access.AcctStart, NAS: "bras-v2-chap", Area: "dorm", AcctSessionID: "v6-u2",
		Username: "u2", MAC: "00:16:3e:00:00:62", IPv6: access.IPv6Record{Addr: "::1"}, Fee: 2000, CycleLength: 720 * time.Hour}})
	if err != nil || !res[0].CycleStarted {
		t.Fatalf("IPv6 Start: %+v %v", res, err)
	}
	planCycle(t, h.st, u2, "dorm-50g", 50*access.GB, 60*access.GB, access.ProfileSlow)
	c, body = api(v6.URL)
	if c.Captive || c.BytesRemaining == nil || *c.BytesRemaining != 0 {
		t.Fatalf("IPv6, past the allowance: %s", body)
	}
	planCycle(t, h.st, u2, "dorm-50g", 100*access.GB, 0, access.ProfileFull)
	if c, body = api(v6.URL); c.BytesRemaining == nil || *c.BytesRemaining != 40*access.GB {
		t.Fatalf("IPv6, 100 GB with 60 GB used: %s", body)
	}
}
