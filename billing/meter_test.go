package billing

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius/rfc2866"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/logintoken"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
	cnradius "github.com/campusnet/campusnet/radius"
)

const (
	mib = int64(1) << 20
	gb  = access.GB
)

// The plans of the meter's tests: "net" is a 20-yuan dorm whose default
// plan slows past 1 GB, with a per-GB and a 30-yuan flat plan to choose;
// "block" blocks past 1 GB; "dorm" is the seed's flat dorm.
func meterAreas() []access.Area {
	slow := access.Plan{Name: "slow-1g", Fee: 2000, Cycle: cycleLen, Allowance: gb, Over: access.OverSlow, SlowUpKbps: 1024, SlowDownKbps: 1024,
		Packs: []access.Pack{{Name: "100m", Bytes: 100 << 20, Price: 100}}}
	perGB := access.Plan{Name: "pergb-1g", Fee: 2000, Cycle: cycleLen, Allowance: gb, Over: access.OverPerGB, PerGB: 100}
	flat := access.Plan{Name: "flat", Fee: 3000, Cycle: cycleLen}
	block := access.Plan{Name: "block-1g", Fee: 2000, Cycle: cycleLen, Allowance: gb, Over: access.OverBlock}
	return []access.Area{
		{Name: "net", Fee: 2000, Cycle: cycleLen, Plans: []access.Plan{slow, perGB, flat}},
		{Name: "block", Fee: 2000, Cycle: cycleLen, Plans: []access.Plan{block}},
		{Name: "dorm", Fee: 2000, Cycle: cycleLen},
	}
}

// enforcerLog records the accounts billing asked to enforce.
type enforcerLog struct {
	mu  sync.Mutex
	ids []int64
}

func (l *enforcerLog) EnforceAccount(_ context.Context, id int64) {
	l.mu.Lock()
	l.ids = append(l.ids, id)
	l.mu.Unlock()
}

func (l *enforcerLog) count(id int64) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, x := range l.ids {
		if x == id {
			n++
		}
	}
	return n
}

// meterEnv is a real RADIUS service on the store, a simulated Huawei BAS
// per area sending its accounting, and billing with the meter's plans.
type meterEnv struct {
	t     *testing.T
	ctx   context.Context
	clock *storetest.Clock
	st    *store.Store
	svc   *Service
	reg   *prometheus.Registry
	enf   *enforcerLog
	bases map[string]*bas.BAS
	dsn   string
}

func newMeterEnv(t *testing.T, kind string) *meterEnv {
	t.Helper()
	clock := storetest.NewClock(t0)
	dsn := storetest.DSN(t, kind)
	e := newMeterEnvOn(t, storetest.Open(t, dsn, store.WithClock(clock.Now)), clock)
	e.dsn = dsn
	return e
}

func newMeterEnvOn(t *testing.T, st *store.Store, clock *storetest.Clock) *meterEnv {
	t.Helper()
	areas := meterAreas()
	ips := map[string]string{"net": "127.0.0.1", "block": "127.0.0.2", "dorm": "127.0.0.3"}
	var nas []access.BAS
	for _, a := range areas {
		nas = append(nas, access.BAS{Name: a.Name + "-bras", IP: netip.MustParseAddr(ips[a.Name]), Area: a.Name, Secret: "testing123", Vendor: "huawei"})
	}
	rs, err := cnradius.New(cnradius.Config{
		Store: store.NewAAA(st), Areas: areas, NAS: nas,
		Identity: identity.NewLocal(identity.FromAccounts(st), identity.InitialParams, nil),
		TokenKey: logintoken.NewKey(), InterimInterval: 300 * time.Second, ReserveTimeout: time.Minute,
		SessionTimeout: 8 * time.Hour, Node: "t1", BatchGather: access.DefaultBatchGather,
		Now: clock.Now, Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acct, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rs.Serve(ctx, auth, acct) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("radius serve: %v", err)
		}
	})
	e := &meterEnv{t: t, ctx: context.Background(), clock: clock, st: st, reg: prometheus.NewRegistry(), enf: &enforcerLog{}, bases: map[string]*bas.BAS{}}
	for _, n := range nas {
		b := bas.New(bas.Config{NASIP: n.IP, Secret: n.Secret, AuthAddr: auth.LocalAddr().String(), AcctAddr: acct.LocalAddr().String(),
			Retry: time.Second, MaxTries: 3, IPv6Prefix: netip.MustParsePrefix("2001:db8:9::/64")})
		t.Cleanup(func() { b.Close() })
		e.bases[n.Area] = b
	}
	e.svc = e.node(st)
	return e
}

// node is another billing service (a node) on st with the meter's plans.
func (e *meterEnv) node(st *store.Store) *Service {
	e.t.Helper()
	svc, err := New(st, Config{Areas: meterAreas(), Registerer: e.reg, Enforcer: e.enf})
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

// student creates an account with a password and an opening balance.
func (e *meterEnv) student(user string, balance access.Fen) access.Account {
	e.t.Helper()
	hash, err := identity.HashPassword("pw-"+user, identity.InitialParams)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, _, err := e.st.EnsureAccount(e.ctx, access.Account{Username: user, Role: access.RoleStudent, PasswordHash: hash}); err != nil {
		e.t.Fatal(err)
	}
	if balance > 0 {
		if _, err := e.svc.Recharge(e.ctx, user, balance, "test", "open:"+user, "opening balance"); err != nil {
			e.t.Fatal(err)
		}
	}
	a, err := e.st.AccountByUsername(e.ctx, user)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// login authenticates at the area's BAS and sends Accounting-Start.
func (e *meterEnv) login(area, user string, n int) string {
	e.t.Helper()
	b := e.bases[area]
	res, err := b.Authenticate(e.ctx, bas.AuthRequest{UserName: user, Password: "pw-" + user,
		UserIP: netip.AddrFrom4([4]byte{10, 9, byte(n >> 8), byte(n)}), MAC: fmt.Sprintf("02:00:00:09:%02x:%02x", n>>8, n&0xff)})
	if err != nil || !res.Accepted {
		e.t.Fatalf("login %s in %s: %+v %v", user, area, res, err)
	}
	if err := b.Start(e.ctx, res.AcctSessionID); err != nil {
		e.t.Fatal(err)
	}
	return res.AcctSessionID
}

// traffic adds IPv4 and IPv6 octets (in and out each) to the session at the BAS.
func (e *meterEnv) traffic(area, id string, v4, v6 int64) {
	e.t.Helper()
	if err := e.bases[area].AddTraffic(id, uint64(v4), uint64(v4)); err != nil {
		e.t.Fatal(err)
	}
	if v6 > 0 {
		if err := e.bases[area].AddTrafficIPv6(id, uint64(v6), uint64(v6)); err != nil {
			e.t.Fatal(err)
		}
	}
}

// snapshot is the session as the BAS has it now.
func (e *meterEnv) snapshot(area, id string) bas.Session {
	e.t.Helper()
	s, ok := e.bases[area].Session(id)
	if !ok {
		e.t.Fatalf("no session %s", id)
	}
	return s
}

// interim sends an Interim-Update with the session's counters s.
func (e *meterEnv) interim(area string, s bas.Session) {
	e.t.Helper()
	if err := e.bases[area].Account(e.ctx, rfc2866.AcctStatusType_Value_InterimUpdate, s); err != nil {
		e.t.Fatal(err)
	}
}

func (e *meterEnv) meter(svc *Service) MeterReport {
	e.t.Helper()
	rep, err := svc.Meter(e.ctx)
	if err != nil {
		e.t.Fatalf("meter: %v (%s)", err, rep)
	}
	return rep
}

func (e *meterEnv) cycle(a access.Account, area string) access.Cycle {
	e.t.Helper()
	c, err := e.st.ActiveCycle(e.ctx, a.ID, area)
	if err != nil {
		e.t.Fatalf("active cycle of %s in %s: %v", a.Username, area, err)
	}
	return c
}

func (e *meterEnv) verifyClean() {
	e.t.Helper()
	probs, err := e.svc.Verify(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range probs {
		e.t.Errorf("billing verify: %s %s: %s", p.Username, p.Kind, p.Detail)
	}
}

func (e *meterEnv) notifications(a access.Account) map[string]int {
	e.t.Helper()
	var evs []string
	if err := e.st.DB().SelectContext(e.ctx, &evs, e.st.DB().Rebind(`SELECT event FROM notifications WHERE account_id = ?`), a.ID); err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int{}
	for _, ev := range evs {
		out[ev]++
	}
	return out
}

func forMeterKinds(t *testing.T, fn func(t *testing.T, e *meterEnv)) {
	t.Helper()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) { fn(t, newMeterEnv(t, kind)) })
	}
}

// Usage through RADIUS accounting: retransmitted and out-of-order Interims
// add nothing, IPv6 is free by default, a second run adds nothing, and the
// Stop's last counters are added after the session closed.
func TestMeterCountsAccountingOnce(t *testing.T) {
	t.Parallel()
	forMeterKinds(t, func(t *testing.T, e *meterEnv) {
		a := e.student("2026101", 5000)
		id := e.login("net", a.Username, 1)
		c := e.cycle(a, "net")
		if c.Plan != "slow-1g" || c.Fee != 2000 || c.Allowance != gb || c.EndsAt-c.StartedAt != cycleLen.Milliseconds() {
			t.Fatalf("the Start's cycle does not run under the default plan: %+v", c)
		}
		e.clock.Advance(5 * time.Minute)
		e.traffic("net", id, 10*mib, 30*mib)
		first := e.snapshot("net", id)
		e.interim("net", first)
		e.clock.Advance(5 * time.Minute)
		e.traffic("net", id, 20*mib, 0)
		second := e.snapshot("net", id)
		e.interim("net", second)
		e.interim("net", first)  // out of order
		e.interim("net", second) // retransmitted
		rep := e.meter(e.svc)
		// IPv4 both ways: (10 + 20) MiB in and out; the 30 MiB of IPv6 each way is free.
		if got := e.cycle(a, "net").Used; got != 60*mib {
			t.Fatalf("used %d bytes, want %d (report %s)", got, 60*mib, rep)
		}
		e.interim("net", first)
		if rep := e.meter(e.svc); rep.Sessions != 0 || e.cycle(a, "net").Used != 60*mib {
			t.Fatalf("a second run counted again: %s, used %d", rep, e.cycle(a, "net").Used)
		}
		if v4, v6 := counterValue(e.svc.m.meterBytes.WithLabelValues("ipv4")), counterValue(e.svc.m.meterBytes.WithLabelValues("ipv6")); v4 != float64(60*mib) || v6 != float64(60*mib) {
			t.Fatalf("campusnet_meter_bytes_total ipv4 %v ipv6 %v", v4, v6)
		}
		e.clock.Advance(time.Minute)
		e.traffic("net", id, 5*mib, 0)
		if err := e.bases["net"].Stop(e.ctx, id); err != nil {
			t.Fatal(err)
		}
		e.meter(e.svc)
		if got := e.cycle(a, "net").Used; got != 70*mib {
			t.Fatalf("after the Stop used %d bytes, want %d", got, 70*mib)
		}
		if n := e.enf.count(a.ID); n != 0 {
			t.Fatalf("enforcer called %d times under the allowance", n)
		}
		e.verifyClean()
	})
}

// Past a slow plan's allowance the cycle goes slow, the student is told
// at 80 % and 100 %, and the enforcer is called; a pack bought lifts it and
// is used before the profile goes slow again.
func TestMeterSlowAndPack(t *testing.T) {
	t.Parallel()
	forMeterKinds(t, func(t *testing.T, e *meterEnv) {
		a := e.student("2026102", 5000)
		id := e.login("net", a.Username, 2)
		e.clock.Advance(time.Minute)
		e.traffic("net", id, 420*mib, 0) // 840 MiB: 82 % of 1 GB
		e.interim("net", e.snapshot("net", id))
		e.meter(e.svc)
		if n := e.notifications(a); n[access.EventAllowance80] != 1 || n[access.EventAllowance100] != 0 {
			t.Fatalf("at 82 %%: notifications %v", n)
		}
		if c := e.cycle(a, "net"); c.Profile != access.ProfileFull {
			t.Fatalf("slowed under the allowance: %+v", c)
		}
		e.clock.Advance(time.Minute)
		e.traffic("net", id, 100*mib, 0) // 1040 MiB
		e.interim("net", e.snapshot("net", id))
		rep := e.meter(e.svc)
		c := e.cycle(a, "net")
		if c.Profile != access.ProfileSlow || rep.Profiles != 1 || e.enf.count(a.ID) != 1 {
			t.Fatalf("past the allowance: %+v, %s, enforcer %d", c, rep, e.enf.count(a.ID))
		}
		if n := e.notifications(a); n[access.EventAllowance80] != 1 || n[access.EventAllowance100] != 1 {
			t.Fatalf("past 100 %%: notifications %v", n)
		}
		// A 100 MiB pack bought covers the usage: the profile is lifted at
		// once, and the next run leaves it so.
		if _, _, err := e.svc.BuyPack(e.ctx, a.Username, "net", "100m", a.Username, "self:k1"); err != nil {
			t.Fatal(err)
		}
		e.meter(e.svc)
		if c := e.cycle(a, "net"); c.Profile != access.ProfileFull || e.enf.count(a.ID) != 2 {
			t.Fatalf("after a pack: %+v, enforcer %d", c, e.enf.count(a.ID))
		}
		e.clock.Advance(time.Minute)
		e.traffic("net", id, 30*mib, 0) // 60 MiB of the pack
		e.interim("net", e.snapshot("net", id))
		e.meter(e.svc)
		packs, err := e.st.Packs(e.ctx, a.ID, "net", access.Millis(e.clock.Now()))
		if err != nil || len(packs) != 1 || packs[0].Used != 60*mib {
			t.Fatalf("pack after 60 MiB: %+v %v", packs, err)
		}
		if c := e.cycle(a, "net"); c.Profile != access.ProfileFull {
			t.Fatalf("slowed with a pack left: %+v", c)
		}
		e.clock.Advance(time.Minute)
		e.traffic("net", id, 30*mib, 0) // 40 MiB left in the pack, 20 past it
		e.interim("net", e.snapshot("net", id))
		e.meter(e.svc)
		if c := e.cycle(a, "net"); c.Profile != access.ProfileSlow || c.Used != 1160*mib || e.enf.count(a.ID) != 3 {
			t.Fatalf("past the pack: %+v, enforcer %d", c, e.enf.count(a.ID))
		}
		e.verifyClean()
	})
}

// A block plan restricts the sessions past the allowance.
func TestMeterBlock(t *testing.T) {
	t.Parallel()
	forMeterKinds(t, func(t *testing.T, e *meterEnv) {
		a := e.student("2026103", 5000)
		id := e.login("block", a.Username, 3)
		e.clock.Advance(time.Minute)
		e.traffic("block", id, 513*mib, 0)
		e.interim("block", e.snapshot("block", id))
		e.meter(e.svc)
		if c := e.cycle(a, "block"); c.Profile != access.ProfileRestricted || c.Plan != "block-1g" {
			t.Fatalf("past a block plan's allowance: %+v", c)
		}
	})
}

// A per-GB plan charges each GB begun past the allowance once, from what
// the balance has beyond the committed fee; when it cannot pay the
// sessions are restricted until a recharge pays it. Another node's run
// charges nothing more, and billing verify is clean.
func TestMeterPerGB(t *testing.T) {
	t.Parallel()
	forMeterKinds(t, func(t *testing.T, e *meterEnv) {
		a := e.student("2026104", 2250) // the 20.00 fee and 2.50 to spend
		err := e.st.InTx(e.ctx, func(tx *sqlx.Tx) error {
			return e.st.ChoosePlanTx(e.ctx, tx, a.ID, "net", "pergb-1g", a.Username)
		})
		if err != nil {
			t.Fatal(err)
		}
		id := e.login("net", a.Username, 4)
		if c := e.cycle(a, "net"); c.Plan != "pergb-1g" {
			t.Fatalf("the chosen plan is not the cycle's: %+v", c)
		}
		e.clock.Advance(time.Minute)
		// 1 GB + 2.5 GB: three GB begun past the allowance, two payable.
		e.traffic("net", id, (gb+gb*5/2)/2, 0)
		e.interim("net", e.snapshot("net", id))
		rep := e.meter(e.svc)
		c := e.cycle(a, "net")
		if rep.Charged != 2 || c.ChargedGB != 2 || c.Profile != access.ProfileRestricted || e.balance(a) != 2050 {
			t.Fatalf("per GB with 2.50 to spend: %s, %+v, balance %s", rep, c, e.balance(a))
		}
		other := e.node(storetest.Open(t, e.dsn, store.WithClock(e.clock.Now)))
		if rep := e.meter(other); rep.Charged != 0 {
			t.Fatalf("another node charged again: %s", rep)
		}
		if _, err := e.svc.Recharge(e.ctx, a.Username, 500, "desk", "desk:1", ""); err != nil {
			t.Fatal(err)
		}
		rep = e.meter(other)
		c = e.cycle(a, "net")
		if rep.Charged != 1 || c.ChargedGB != 3 || c.Profile != access.ProfileFull || e.balance(a) != 2450 {
			t.Fatalf("after a recharge: %s, %+v, balance %s", rep, c, e.balance(a))
		}
		led, err := e.st.LedgerByReference(e.ctx, access.LedgerTrafficFee, access.TrafficFeeReference(c.ID, 3))
		if err != nil || led.Amount != -100 {
			t.Fatalf("the third GB's ledger row: %+v %v", led, err)
		}
		if got := counterValue(e.svc.m.trafficFees); got != 3 {
			t.Fatalf("campusnet_traffic_fees_total = %v", got)
		}
		e.verifyClean()
		// A traffic_fee row for a GB the cycle did not charge is found.
		err = e.st.InTx(e.ctx, func(tx *sqlx.Tx) error {
			acc, err := e.st.LockAccount(e.ctx, tx, a.ID)
			if err != nil {
				return err
			}
			_, err = e.st.AddLedgerTx(e.ctx, tx, &acc, access.LedgerTrafficFee, -100, "test", access.TrafficFeeReference(c.ID, 9), "")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		probs, err := e.svc.Verify(e.ctx)
		if err != nil || len(probs) == 0 || probs[len(probs)-1].Kind != access.ProblemTrafficFee {
			t.Fatalf("verify missed a traffic_fee row past charged_gb: %+v %v", probs, err)
		}
	})
}

func (e *meterEnv) balance(a access.Account) access.Fen {
	e.t.Helper()
	acc, err := e.st.AccountByID(e.ctx, a.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return acc.Balance
}

// A delta whose readings straddle the settlement date is split by time
// between the settled cycle and the one renewed under the next plan.
func TestMeterSplitsAtCycleStart(t *testing.T) {
	t.Parallel()
	forMeterKinds(t, func(t *testing.T, e *meterEnv) {
		a := e.student("2026105", 5000)
		id := e.login("net", a.Username, 5)
		first := e.cycle(a, "net")
		e.clock.Advance(cycleLen - 5*time.Minute)
		e.traffic("net", id, 50*mib, 0)
		e.interim("net", e.snapshot("net", id))
		e.meter(e.svc)
		// Heard of again just before the settlement, with nothing new.
		e.clock.Advance(4 * time.Minute)
		e.interim("net", e.snapshot("net", id))
		e.clock.Advance(time.Minute)
		if rep, err := e.svc.Settle(e.ctx); err != nil || rep.Renewed != 1 {
			t.Fatalf("settle: %s %v", rep, err)
		}
		next := e.cycle(a, "net")
		if next.Plan != "slow-1g" || next.Allowance != gb || next.StartedAt != first.EndsAt {
			t.Fatalf("renewed cycle: %+v", next)
		}
		// 5 minutes before the boundary, 15 after: a quarter and three quarters.
		e.clock.Advance(15 * time.Minute)
		e.traffic("net", id, 40*mib, 0)
		e.interim("net", e.snapshot("net", id))
		e.meter(e.svc)
		var old access.Cycle
		err := e.st.InTx(e.ctx, func(tx *sqlx.Tx) error {
			var err error
			old, err = e.st.CycleByIDTx(e.ctx, tx, first.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if old.Used != 100*mib+20*mib || e.cycle(a, "net").Used != 60*mib {
			t.Fatalf("split: settled cycle %d bytes, new %d", old.Used, e.cycle(a, "net").Used)
		}
		e.verifyClean()
	})
}

// A flat area, and an area whose plans have no allowance, are not metered:
// no watermark, no usage, the cycle as before.
func TestMeterFlatAreaUnchanged(t *testing.T) {
	t.Parallel()
	forMeterKinds(t, func(t *testing.T, e *meterEnv) {
		a := e.student("2026106", 5000)
		id := e.login("dorm", a.Username, 6)
		e.clock.Advance(time.Minute)
		e.traffic("dorm", id, 2*gb, 0)
		e.interim("dorm", e.snapshot("dorm", id))
		flat, err := New(e.st, Config{Areas: testAreas()})
		if err != nil {
			t.Fatal(err)
		}
		if flat.Metering() {
			t.Fatal("a campus of flat areas is metered")
		}
		rep := e.meter(e.svc)
		c := e.cycle(a, "dorm")
		if rep.Accounts != 0 || c.Used != 0 || c.Plan != "" || c.Allowance != 0 || c.Profile != "" || storetest.RowCount(t, e.st, "session_meter") != 0 {
			t.Fatalf("the flat dorm was metered: %s, %+v", rep, c)
		}
		// The 30-yuan flat plan, chosen, is what the login's check needs.
		b := e.student("2026107", 2500)
		err = e.st.InTx(e.ctx, func(tx *sqlx.Tx) error { return e.st.ChoosePlanTx(e.ctx, tx, b.ID, "net", "flat", b.Username) })
		if err != nil {
			t.Fatal(err)
		}
		if open, _, err := e.svc.Check(e.ctx, b.Username, "net"); err != nil || open {
			t.Fatalf("25 yuan opened the net under a 30-yuan plan: %v %v", open, err)
		}
		if open, _, err := e.svc.Check(e.ctx, b.Username, "block"); err != nil || !open {
			t.Fatalf("25 yuan must open a 20-yuan area: %v %v", open, err)
		}
	})
}

// Two billing nodes on one PostgreSQL meter at once while accounting
// arrives: every byte is counted once.
func TestMeterConcurrentNodes(t *testing.T) {
	t.Parallel()
	dsn := storetest.DSN(t, "postgres")
	clock := storetest.NewClock(t0)
	e := newMeterEnvOn(t, storetest.Open(t, dsn, store.WithClock(clock.Now)), clock)
	nodes := []*Service{e.svc, e.node(storetest.Open(t, dsn, store.WithClock(clock.Now)))}
	const students = 12
	var accs []access.Account
	var ids []string
	for i := range students {
		accs = append(accs, e.student(fmt.Sprintf("2026%03d", 200+i), 5000))
		ids = append(ids, e.login("net", accs[i].Username, 20+i))
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 16)
	for _, n := range nodes {
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := n.Meter(e.ctx); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	for round := range 5 {
		for _, id := range ids {
			e.traffic("net", id, int64(round+1)*mib, mib)
			e.interim("net", e.snapshot("net", id))
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("meter: %v", err)
	}
	e.meter(nodes[1])
	for _, a := range accs {
		if got := e.cycle(a, "net").Used; got != 30*mib {
			t.Errorf("%s: used %d bytes, want %d", a.Username, got, 30*mib)
		}
	}
	e.verifyClean()
}
