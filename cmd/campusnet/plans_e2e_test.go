package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"layeh.com/radius/rfc2866"

	"github.com/campusnet/campusnet/billing"
	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/notify"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/internal/testwait"
	"github.com/campusnet/campusnet/portal/portalproto"
)

// plansE2EConfig is a dorm of traffic plans: a 1 GB plan (the default)
// that slows to 512/1024 kbit/s past its allowance and offers a 1 GB pack,
// and a per-GB plan; students in arrears are let into the walled garden.
// The area's full rate is 10/20 Mbit/s, so the simulator sees each profile.
const plansE2EConfig = `
[[area]]
name = "dorm"
plans = ["dorm-1g", "dorm-metered"]
arrears = "garden"
rate_up_kbps = 10240
rate_down_kbps = 20480

[[plan]]
name = "dorm-1g"
display_name = "1 GB 包月"
display_name_en = "1 GB a month"
fee = 20.00
allowance_gb = 1
over = "slow"
slow_up_kbps = 512
slow_down_kbps = 1024
packs = ["1g"]

[[plan]]
name = "dorm-metered"
fee = 10.00
allowance_gb = 1
over = "per_gb"
per_gb = 1.00

[[pack]]
name = "1g"
display_name = "1 GB 流量包"
display_name_en = "1 GB pack"
gb = 1
price = 5.00

[billing]
meter_interval = "200ms"
`

// hook is a local receiver of the [notify] webhook: it keeps the events
// whose signature is right.
type hook struct {
	mu     sync.Mutex
	events []string
	bad    int
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	var ev struct {
		Event   string `json:"event"`
		Account string `json:"account"`
	}
	if err != nil || r.Header.Get(notify.HeaderSignature) != notify.Sign([]byte("hook-secret"), body) || json.Unmarshal(body, &ev) != nil {
		h.bad++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.events = append(h.events, ev.Account+" "+ev.Event)
}

func (h *hook) has(want string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.events {
		if e == want {
			return true
		}
	}
	return false
}

// TestPlansEndToEnd is issue 24 through one running serve, its BAS
// simulator and real HTTP: a student on the 1 GB plan logs in through the
// portal; accounting with growing octets (an IPv6 part, a late
// retransmitted Interim) is metered exactly; crossing the allowance slows
// the session by CoA at the simulator, the portal's status page and RFC
// 8908 API say so, and allowance_100 reaches the webhook receiver; a pack
// bought in self-service (form, CSRF token, key, confirmation) restores
// the full rate by CoA, and billing verify is clean. A second student with
// too little balance is accepted into the garden (Filter-Id at the
// simulator), the signed payment webhook credits them, and the simulator's
// session leaves the garden by CoA without a new login.
func TestPlansEndToEnd(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) { testPlansEndToEnd(t, kind) })
	}
}

func testPlansEndToEnd(t *testing.T, kind string) {
	ctx := context.Background()
	recv := &hook{}
	hs := httptest.NewServer(recv)
	t.Cleanup(hs.Close)

	coaPort, portalPort := freeUDPPort(t, "127.0.0.1"), freeUDPPort(t, "127.0.0.1")
	nas := fmt.Sprintf(`[[nas]]
name = "plan-bras"
ip = "127.0.0.1"
secret = "testing123"
area = "dorm"
vendor = "huawei"
coa_port = %d
portal_addr = "127.0.0.1:%d"
portal_version = 2
portal_secret = "portal-secret"
portal_auth = "chap"
user_subnets = ["10.0.0.0/16", "127.0.0.0/8", "2001:db8:24::/48"]
garden_filter_id = "campusnet-garden"

[notify]
webhook_url = %q
secret = "hook-secret"
`, coaPort, portalPort, hs.URL)
	cfg := testConfig(t, storetest.DSN(t, kind), nas+plansE2EConfig)
	cfg.Portal.BASTimeout.Duration = 2 * time.Second
	if got := cfg.Billing.MeterInterval.Duration; got != 200*time.Millisecond {
		t.Fatalf("meter_interval = %v", got)
	}
	s := startServer(t, cfg, false)

	for _, u := range []struct {
		user    string
		balance access.Fen
	}{{"2026001", 5000}, {"2026002", 500}} {
		hash, err := identity.HashPassword(u.user+"-pass", identity.InitialParams)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.st.OpenAccount(ctx, access.Account{Username: u.user, Role: access.RoleStudent, PasswordHash: hash},
			u.balance, "test", "open:"+u.user, "opening"); err != nil {
			t.Fatal(err)
		}
	}

	// The BAS simulator of plan-bras: Portal v2 and CoA on loopback.
	ip := netip.MustParseAddr("127.0.0.1")
	b := bas.New(bas.Config{NASIP: ip, Secret: "testing123", AuthAddr: s.Addr("radius-auth"), AcctAddr: s.Addr("radius-acct"),
		CoAListen: fmt.Sprintf("127.0.0.1:%d", coaPort), NASIdentifier: "plan-bras", IPv6Prefix: netip.MustParsePrefix("2001:db8:24::/64")})
	if _, err := b.ListenCoA(); err != nil {
		t.Fatal(err)
	}
	bctx, stopBAS := context.WithCancel(ctx)
	coaDone := make(chan error, 1)
	go func() { coaDone <- b.ServeCoA(bctx) }()
	bp := bas.NewPortalSide(b, bas.PortalSideConfig{Secret: "portal-secret", BASIP: ip, NotifyAddr: s.Addr("portal-notify"), NotifyVersion: portalproto.Version(2)})
	pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", portalPort))
	if err != nil {
		t.Fatal(err)
	}
	go bp.Serve(pc)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		bp.Shutdown(sctx)
		stopBAS()
		<-coaDone
		b.Close()
	})
	basSession := func(user string) bas.Session {
		t.Helper()
		var found bas.Session
		testwait.For(t, "the simulator's session of "+user, func() bool {
			for _, x := range b.Sessions() {
				if x.UserName == user && x.Started {
					found = x
					return true
				}
			}
			return false
		})
		return found
	}
	authz := func(id string) bas.Authorization {
		x, ok := b.Session(id)
		if !ok {
			t.Fatalf("the simulator lost session %s", id)
		}
		return x.Authorization
	}
	full := bas.Authorization{UpKbps: 10240, DownKbps: 20480}
	slow := bas.Authorization{UpKbps: 512, DownKbps: 1024}
	acct := func(snap bas.Session) {
		t.Helper()
		if err := b.Account(ctx, rfc2866.AcctStatusType_Value_InterimUpdate, snap); err != nil {
			t.Fatal(err)
		}
	}
	traffic := func(id string, in, out, in6, out6 uint64) bas.Session {
		t.Helper()
		if err := b.AddTraffic(id, in, out); err != nil {
			t.Fatal(err)
		}
		if err := b.AddTrafficIPv6(id, in6, out6); err != nil {
			t.Fatal(err)
		}
		x, ok := b.Session(id)
		if !ok {
			t.Fatalf("no session %s", id)
		}
		return x
	}
	cycle := func(user string) access.Cycle {
		t.Helper()
		a, err := s.st.AccountByUsername(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := s.st.CyclesByAccount(ctx, a.ID, 5)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.Status == "active" && c.Area == "dorm" {
				return c
			}
		}
		return access.Cycle{}
	}
	waitUsed := func(user string, want int64) {
		t.Helper()
		var c access.Cycle
		testwait.For(t, fmt.Sprintf("the meter to count %d bytes for %s", want, user), func() bool {
			c = cycle(user)
			return c.Used >= want
		})
		if c.Used != want {
			t.Fatalf("%s's cycle counts %d bytes, want %d", user, c.Used, want)
		}
	}

	// 2026001 logs in by hand from 127.0.0.1 through the portal and the BAS.
	pcb := newV6Browser(t, s.Addr("portal"), e2eWindows)
	code, body := pcb.login(url.Values{}, "2026001", "2026001-pass")
	if code != http.StatusOK {
		t.Fatalf("portal login: %d\n%s", code, body)
	}
	contains(t, body, "已上线")
	ticket := hiddenForm(body).Get("ticket")
	sess := basSession("2026001")
	if sess.Authorization != full {
		t.Fatalf("Access-Accept of a fresh cycle: %+v, want %+v", sess.Authorization, full)
	}
	c := cycle("2026001")
	if c.Plan != "dorm-1g" || c.Allowance != access.GB || c.Fee != 2000 {
		t.Fatalf("the login's cycle: %+v", c)
	}
	testwait.For(t, "the store's online session", func() bool {
		x, err := s.st.LiveSessionByIP(ctx, "127.0.0.1")
		return err == nil && x.Status == access.SessionOnline
	})

	// Growing octets (AddTrafficIPv6 adds to the totals and to their IPv6
	// part), the IPv6 part not counted by the plan.
	const mb = 1 << 20
	a := traffic(sess.AcctSessionID, 100*mb, 300*mb, 10*mb, 30*mb)
	acct(a)
	waitUsed("2026001", 400*mb)
	bb := traffic(sess.AcctSessionID, 50*mb, 150*mb, 0, 0)
	acct(bb)
	waitUsed("2026001", 600*mb)
	acct(a) // the first Interim again, late: the counters never go down
	cc := traffic(sess.AcctSessionID, 20*mb, 80*mb, 5*mb, 5*mb)
	acct(cc)
	acct(cc)
	waitUsed("2026001", 700*mb)

	var captive struct {
		Captive bool   `json:"captive"`
		Bytes   *int64 `json:"bytes-remaining"`
	}
	readCaptive := func() {
		t.Helper()
		code, _, body := pcb.do(http.MethodGet, "/api/v1/captive", nil, nil)
		if code != http.StatusOK {
			t.Fatalf("captive API: %d %s", code, body)
		}
		captive.Bytes = nil
		if err := json.Unmarshal([]byte(body), &captive); err != nil {
			t.Fatalf("captive API: %v\n%s", err, body)
		}
	}
	readCaptive()
	if captive.Captive || captive.Bytes == nil || *captive.Bytes != access.GB-700*mb {
		t.Fatalf("captive API under the allowance: %+v %v", captive, captive.Bytes)
	}
	if got := authz(sess.AcctSessionID); got != full {
		t.Fatalf("under the allowance the simulator has %+v", got)
	}

	// Past 1 GB: the meter slows the cycle, the enforcer's CoA the session.
	traffic(sess.AcctSessionID, 100*mb, 300*mb, 0, 0)
	acct(traffic(sess.AcctSessionID, 0, 0, 0, 0))
	waitUsed("2026001", 1100*mb)
	testwait.For(t, "the slow rate at the simulator", func() bool { return authz(sess.AcctSessionID) == slow })
	if c := cycle("2026001"); c.Profile != access.ProfileSlow {
		t.Fatalf("cycle past its allowance: %+v", c)
	}
	testwait.For(t, "the store to record the acknowledged profile", func() bool {
		x, err := s.st.LiveSessionByIP(ctx, "127.0.0.1")
		return err == nil && x.Profile == access.ProfileSlow
	})
	code, _, body = pcb.do(http.MethodGet, "/status?ticket="+url.QueryEscape(ticket), nil, nil)
	if code != http.StatusOK {
		t.Fatalf("status page: %d\n%s", code, body)
	}
	contains(t, body, "网速已降为下行 1 Mbit/s、上行 512 kbit/s")
	readCaptive()
	if captive.Captive || captive.Bytes == nil || *captive.Bytes != 0 {
		t.Fatalf("captive API past the allowance: %+v %v", captive, captive.Bytes)
	}
	acc1, err := s.st.AccountByUsername(ctx, "2026001")
	if err != nil {
		t.Fatal(err)
	}
	events, err := s.st.Notifications(ctx, store.NotificationFilter{AccountID: acc1.ID})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range events {
		kinds[e.Event]++
	}
	if kinds[access.EventAllowance80] != 1 || kinds[access.EventAllowance100] != 1 {
		t.Fatalf("notifications of 2026001: %v", kinds)
	}
	testwait.For(t, "allowance_100 at the webhook receiver", func() bool { return recv.has("2026001 allowance_100") })

	// A 1 GB pack from self-service over HTTP restores the full rate.
	ss := newV6Browser(t, s.Addr("selfservice"), e2eWindows)
	_, _, body = ss.do(http.MethodGet, "/login", nil, nil)
	f := hiddenForm(body)
	f.Set("username", "2026001")
	f.Set("password", "2026001-pass")
	if code, _, body = ss.do(http.MethodPost, "/login", f, nil); code != http.StatusOK {
		t.Fatalf("self-service login: %d\n%s", code, body)
	}
	code, _, body = ss.do(http.MethodGet, "/plans", nil, nil)
	if code != http.StatusOK {
		t.Fatalf("/plans: %d\n%s", code, body)
	}
	contains(t, body, "1 GB 包月", "1 GB 流量包", `action="/plans/buy"`)
	f = hiddenForm(body)
	if f.Get("csrf") == "" || f.Get("key") == "" || f.Get("pack") != "1g" {
		t.Fatalf("the buy form: %v", f)
	}
	code, _, body = ss.do(http.MethodPost, "/plans/buy", f, nil)
	if code != http.StatusOK {
		t.Fatalf("buy (confirmation page): %d\n%s", code, body)
	}
	contains(t, body, `name="confirm" value="yes"`)
	if got := authz(sess.AcctSessionID); got != slow {
		t.Fatalf("before the confirmation the simulator has %+v", got)
	}
	code, _, body = ss.do(http.MethodPost, "/plans/buy", hiddenForm(body), nil)
	if code != http.StatusOK {
		t.Fatalf("buy: %d\n%s", code, body)
	}
	testwait.For(t, "the full rate back at the simulator", func() bool { return authz(sess.AcctSessionID) == full })
	if c := cycle("2026001"); c.Profile != access.ProfileFull {
		t.Fatalf("cycle after the pack: %+v", c)
	}
	acc1, err = s.st.AccountByUsername(ctx, "2026001")
	if err != nil || acc1.Balance != 5000-500 { // the cycle's fee is charged at its settlement
		t.Fatalf("2026001 after the pack: %s %v", acc1.Balance, err)
	}
	readCaptive()
	if captive.Bytes == nil || *captive.Bytes != 2*access.GB-1100*mb {
		t.Fatalf("captive API after the pack: %+v %v", captive, captive.Bytes)
	}

	// 2026002 cannot pay the cycle: accepted into the garden.
	gsess := func() bas.Session {
		res, err := b.Authenticate(ctx, bas.AuthRequest{UserName: "2026002", Password: "2026002-pass",
			UserIP: netip.MustParseAddr("10.0.24.2"), MAC: "02:00:00:00:24:02"})
		if err != nil || !res.Accepted {
			t.Fatalf("garden login: %+v %v", res, err)
		}
		if err := b.Start(ctx, res.AcctSessionID); err != nil {
			t.Fatal(err)
		}
		return basSession("2026002")
	}()
	const garden = "campusnet-garden"
	if gsess.Authorization.FilterID != garden {
		t.Fatalf("Access-Accept in arrears: %+v, want Filter-Id %s", gsess.Authorization, garden)
	}
	if c := cycle("2026002"); c.ID != 0 {
		t.Fatalf("a cycle in the garden: %+v", c)
	}
	testwait.For(t, "the garden session in the store", func() bool {
		x, err := s.st.LiveSessionByIP(ctx, "10.0.24.2")
		return err == nil && x.Status == access.SessionOnline
	})

	// The payment platform pays 20 yuan; the CoA lifts the garden.
	pay := []byte(`{"order_id":"pay-24-1","account":"2026002","amount_fen":2000,"paid_at":"2026-03-01T10:00:00+08:00"}`)
	for _, sig := range []string{billing.Sign([]byte("wrong"), pay), billing.Sign([]byte(cfg.SelfService.PaymentSecret), pay)} {
		req, err := http.NewRequest(http.MethodPost, "http://"+s.Addr("selfservice")+"/api/v1/payments/notify", bytes.NewReader(pay))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(billing.SignatureHeader, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		good := !strings.HasPrefix(sig, billing.Sign([]byte("wrong"), pay))
		if good != (resp.StatusCode == http.StatusOK) {
			t.Fatalf("webhook (good signature %v): %d", good, resp.StatusCode)
		}
		if !good {
			if got := authz(gsess.AcctSessionID); got.FilterID != garden {
				t.Fatalf("a forged payment changed the session: %+v", got)
			}
		}
	}
	testwait.For(t, "the garden lifted at the simulator", func() bool { return authz(gsess.AcctSessionID) == full })
	if c := cycle("2026002"); c.Plan != "dorm-1g" || c.Fee != 2000 {
		t.Fatalf("2026002's cycle after the payment: %+v", c)
	}
	if n := len(b.Sessions()); n != 2 {
		t.Fatalf("the simulator has %d sessions, want the same 2 (no new login)", n)
	}

	svc, err := s.billingService()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := svc.Verify(ctx)
	if err != nil || len(problems) != 0 {
		t.Fatalf("billing verify: %v %v", problems, err)
	}
	recv.mu.Lock()
	bad := recv.bad
	recv.mu.Unlock()
	if bad != 0 {
		t.Fatalf("%d deliveries with a bad signature", bad)
	}
}
