package billing

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/storetest"
)

// planAreas: a dorm with a 50 GB plan (the default, slowed past it, with a
// cycle pack and a week pack) and a flat plan; the office is free.
func planAreas() []access.Area {
	p50 := access.Plan{Name: "dorm-50g", DisplayName: "50 GB 包月", DisplayNameEN: "50 GB a month", Fee: 2000, Cycle: cycleLen,
		Allowance: 50 * access.GB, Over: access.OverSlow, SlowUpKbps: 2048, SlowDownKbps: 2048,
		Packs: []access.Pack{
			{Name: "10g", DisplayName: "10 GB 流量包", DisplayNameEN: "10 GB pack", Bytes: 10 * access.GB, Price: 500},
			{Name: "week", Bytes: 5 * access.GB, Price: 300, Lasts: 168 * time.Hour},
		}}
	flat := access.Plan{Name: "dorm-flat", Fee: 3000, Cycle: cycleLen}
	return []access.Area{
		{Name: "dorm", Fee: 2000, Cycle: cycleLen, Plans: []access.Plan{p50, flat}},
		{Name: "office"},
	}
}

// recordingEnforcer stands in for radius.Enforcer (the CoA branch): it
// records which accounts billing asked it to enforce.
type recordingEnforcer struct {
	mu       sync.Mutex
	accounts []int64
}

func (r *recordingEnforcer) EnforceAccount(_ context.Context, id int64) {
	r.mu.Lock()
	r.accounts = append(r.accounts, id)
	r.mu.Unlock()
}

func (r *recordingEnforcer) calls() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int64(nil), r.accounts...)
}

// newPlanEnv is newEnv with the plan areas and a recording enforcer.
func newPlanEnv(t *testing.T, kind string) (*env, *recordingEnforcer) {
	t.Helper()
	e := newEnv(t, kind)
	enf := &recordingEnforcer{}
	svc, err := New(e.st, Config{Areas: planAreas(), Registerer: prometheus.NewRegistry(), Enforcer: enf})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	return e, enf
}

func forPlanKinds(t *testing.T, fn func(t *testing.T, e *env, enf *recordingEnforcer)) {
	t.Helper()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e, enf := newPlanEnv(t, kind)
			fn(t, e, enf)
		})
	}
}

// runningCycle starts a dorm cycle for a and gives it the 50 GB plan with
// used bytes counted and profile p, as the cycle start and the meter do.
func (e *env) runningCycle(a access.Account, used int64, p access.Profile) access.Cycle {
	e.t.Helper()
	c, started, err := e.svc.StartCycle(e.ctx, a.Username, "dorm")
	if err != nil || !started {
		e.t.Fatalf("start: %v %v", started, err)
	}
	storetest.SetCyclePlan(e.t, e.st, c.ID, storetest.CyclePlan{Plan: "dorm-50g", Allowance: 50 * access.GB, Used: used, Profile: p})
	c, ok := e.activeCycle(a, "dorm")
	if !ok {
		e.t.Fatal("no active cycle")
	}
	return c
}

func (e *env) lastAudit(user string) access.AuditEntry {
	e.t.Helper()
	audit, err := e.st.AuditLog(e.ctx, user, 1)
	if err != nil || len(audit) == 0 {
		e.t.Fatalf("audit of %s: %v %v", user, audit, err)
	}
	return audit[0]
}

// Choosing a plan records the choice, a 0.00 ledger row and an audit row,
// leaves the running cycle as it is, and a second identical choice changes
// nothing.
func TestChoosePlan(t *testing.T) {
	t.Parallel()
	forPlanKinds(t, func(t *testing.T, e *env, _ *recordingEnforcer) {
		a := e.account("2026001", 5000)
		before := e.runningCycle(a, 3*access.GB, access.ProfileFull)
		st, err := e.svc.PlanStatus(e.ctx, a.Username, "dorm")
		if err != nil || st.Chosen || st.Next.Name != "dorm-50g" || st.Plan.Name != "dorm-50g" {
			t.Fatalf("before any choice: %+v %v", st, err)
		}
		e.clock.Advance(time.Hour)
		changed, err := e.svc.ChoosePlan(e.ctx, a.Username, "dorm", "dorm-flat", "2026001", "self-service")
		if err != nil || !changed {
			t.Fatalf("choose: %v %v", changed, err)
		}
		led, err := e.st.LedgerByAccount(e.ctx, a.ID, 1)
		if err != nil {
			t.Fatal(err)
		}
		wantRef := "plan:" + itoa(a.ID) + ":dorm:" + itoa(access.Millis(e.clock.Now()))
		if len(led) != 1 || led[0].Kind != access.LedgerPlanChange || led[0].Amount != 0 || led[0].BalanceAfter != 5000 || led[0].Reference != wantRef {
			t.Fatalf("ledger row: %+v, want reference %s", led, wantRef)
		}
		if au := e.lastAudit(a.Username); au.Action != "account.plan" || au.Actor != "2026001" || !strings.Contains(au.Detail, "dorm-flat") || !strings.Contains(au.Detail, "was dorm-50g") {
			t.Fatalf("audit: %+v", au)
		}
		after, _ := e.activeCycle(a, "dorm")
		if after != before {
			t.Fatalf("the running cycle changed:\n%+v\n%+v", before, after)
		}
		st, err = e.svc.PlanStatus(e.ctx, a.Username, "dorm")
		if err != nil || !st.Chosen || st.Next.Name != "dorm-flat" || st.Plan.Name != "dorm-50g" || st.Used() != 3*access.GB {
			t.Fatalf("after the choice: %+v %v", st, err)
		}
		if e.balance(a.Username) != 5000 {
			t.Fatalf("balance %s", e.balance(a.Username))
		}

		// The same plan again: nothing.
		e.clock.Advance(time.Minute)
		rows := e.countLedger(access.LedgerPlanChange)
		if changed, err := e.svc.ChoosePlan(e.ctx, a.Username, "dorm", "dorm-flat", "desk", "again"); err != nil || changed {
			t.Fatalf("same plan again: %v %v", changed, err)
		}
		if n := e.countLedger(access.LedgerPlanChange); n != rows {
			t.Fatalf("same plan again wrote a ledger row: %d → %d", rows, n)
		}

		// Refusals change nothing.
		for _, tc := range []struct {
			name, area, plan, reason string
			want                     error
		}{
			{"unknown plan", "dorm", "dorm-1t", "", ErrUnknownPlan},
			{"empty plan", "dorm", "", "", ErrUnknownPlan},
			{"NUL in the plan", "dorm", "dorm-50g\x00", "", ErrUnknownPlan},
			{"another area's plan", "office", "dorm-50g", "", ErrUnknownPlan},
			{"unknown area", "mars", "dorm-50g", "", ErrUnknownArea},
			{"control character in the reason", "dorm", "dorm-50g", "ok\x1b[2J", ErrText},
			{"huge reason", "dorm", "dorm-50g", strings.Repeat("x", 10000), ErrText},
		} {
			if _, err := e.svc.ChoosePlan(e.ctx, a.Username, tc.area, tc.plan, "desk", tc.reason); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		if n := e.countLedger(access.LedgerPlanChange); n != rows {
			t.Fatalf("refusals wrote ledger rows: %d → %d", rows, n)
		}
		if c, err := e.st.PlanChoice(e.ctx, a.ID, "dorm"); err != nil || c != "dorm-flat" {
			t.Fatalf("choice after refusals: %q %v", c, err)
		}
		if _, err := e.svc.ChoosePlan(e.ctx, "nobody", "dorm", "dorm-flat", "desk", ""); !errors.Is(err, access.ErrNotFound) {
			t.Fatalf("unknown account: %v", err)
		}

		// Back to the default is a change of its own.
		e.clock.Advance(time.Minute)
		if changed, err := e.svc.ChoosePlan(e.ctx, a.Username, "dorm", "dorm-50g", "desk", "changed her mind"); err != nil || !changed {
			t.Fatalf("back to 50 GB: %v %v", changed, err)
		}
		if n := e.countLedger(access.LedgerPlanChange); n != rows+1 {
			t.Fatalf("plan_change rows %d, want %d", n, rows+1)
		}
		e.verifyClean()
	})
}

// Buying a pack: the price comes off the balance once per form, never
// into the committed cycle fee, only a pack the plan offers; a slowed
// cycle whose usage the pack covers is back at full rate.
func TestBuyPack(t *testing.T) {
	t.Parallel()
	forPlanKinds(t, func(t *testing.T, e *env, enf *recordingEnforcer) {
		a := e.account("2026001", 3000) // 20.00 committed to the cycle, 10.00 to spend
		c := e.runningCycle(a, 55*access.GB, access.ProfileSlow)
		e.clock.Advance(time.Hour)

		p, led, err := e.svc.BuyPack(e.ctx, a.Username, "dorm", "10g", "2026001", "form:k1")
		if err != nil {
			t.Fatalf("buy: %v", err)
		}
		if e.balance(a.Username) != 2500 || led.Amount != -500 || led.Kind != access.LedgerPack || led.Reference != access.PackReference(p.ID) || led.BalanceAfter != 2500 {
			t.Fatalf("after buying: balance %s, ledger %+v", e.balance(a.Username), led)
		}
		if p.ExpiresAt != c.EndsAt || p.CycleID != c.ID || p.Bytes != 10*access.GB || p.LedgerID != led.ID || p.Price != 500 {
			t.Fatalf("pack: %+v (cycle %+v)", p, c)
		}
		if got, _ := e.activeCycle(a, "dorm"); got.Profile != access.ProfileFull {
			t.Fatalf("60 GB cover the 55 GB used, the profile is %q", got.Profile)
		}
		if calls := enf.calls(); len(calls) != 1 || calls[0] != a.ID {
			t.Fatalf("enforcer calls %v, want [%d]", calls, a.ID)
		}
		if au := e.lastAudit(a.Username); au.Action != "account.pack" || au.Actor != "2026001" || !strings.Contains(au.Detail, "10g") || !strings.Contains(au.Detail, "profile back to full") {
			t.Fatalf("audit: %+v", au)
		}

		// The same form again buys nothing.
		again, _, err := e.svc.BuyPack(e.ctx, a.Username, "dorm", "10g", "2026001", "form:k1")
		if !errors.Is(err, access.ErrDuplicate) || again.ID != p.ID {
			t.Fatalf("double submit: %+v %v", again, err)
		}
		if e.balance(a.Username) != 2500 || e.countLedger(access.LedgerPack) != 1 || storetest.RowCount(t, e.st, "packs") != 1 {
			t.Fatalf("double submit charged: balance %s", e.balance(a.Username))
		}

		// Down to exactly the committed fee, then no further.
		if _, _, err := e.svc.BuyPack(e.ctx, a.Username, "dorm", "10g", "2026001", "form:k2"); err != nil {
			t.Fatalf("second pack: %v", err)
		}
		if _, _, err := e.svc.BuyPack(e.ctx, a.Username, "dorm", "10g", "2026001", "form:k3"); !errors.Is(err, ErrFunds) || !strings.Contains(err.Error(), "20.00") {
			t.Fatalf("a pack into the committed fee: %v", err)
		}
		for _, tc := range []struct {
			name, area, pack, ref string
			want                  error
		}{
			{"a pack the plan does not offer", "dorm", "100g", "form:k4", ErrUnknownPack},
			{"NUL in the pack", "dorm", "10g\x00", "form:k5", ErrUnknownPack},
			{"an area without the pack", "office", "10g", "form:k6", ErrNoCycle},
			{"unknown area", "mars", "10g", "form:k7", ErrUnknownArea},
			{"no reference", "dorm", "10g", "", ErrText},
			{"control characters in the reference", "dorm", "10g", "k\r\n8", ErrText},
		} {
			if _, _, err := e.svc.BuyPack(e.ctx, a.Username, tc.area, tc.pack, "2026001", tc.ref); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		if e.balance(a.Username) != 2000 || e.countLedger(access.LedgerPack) != 2 {
			t.Fatalf("refusals charged: balance %s, %d pack rows", e.balance(a.Username), e.countLedger(access.LedgerPack))
		}

		// A week pack lasts a week from now, not to the cycle's end.
		if _, err := e.svc.Recharge(e.ctx, a.Username, 1000, "desk", "cash-1", "cash"); err != nil {
			t.Fatal(err)
		}
		wk, _, err := e.svc.BuyPack(e.ctx, a.Username, "dorm", "week", "desk", "cli:w1")
		if err != nil || wk.ExpiresAt != access.Millis(e.clock.Now().Add(168*time.Hour)) {
			t.Fatalf("week pack: %+v %v", wk, err)
		}
		st, err := e.svc.PlanStatus(e.ctx, a.Username, "dorm")
		if err != nil || st.Limit() != 75*access.GB || st.Remaining() != 20*access.GB || len(st.Packs) != 3 {
			t.Fatalf("status: limit %d remaining %d packs %d: %v", st.Limit(), st.Remaining(), len(st.Packs), err)
		}
		if len(enf.calls()) != 1 {
			t.Fatalf("packs bought at full rate asked for enforcement: %v", enf.calls())
		}
		e.verifyClean()
	})
}

// A pack that does not cover what the cycle used leaves it slowed; one
// without a running cycle is refused with the reason.
func TestBuyPackLimits(t *testing.T) {
	t.Parallel()
	forPlanKinds(t, func(t *testing.T, e *env, enf *recordingEnforcer) {
		a := e.account("s1", 5000)
		if _, _, err := e.svc.BuyPack(e.ctx, a.Username, "dorm", "10g", "s1", "form:1"); !errors.Is(err, ErrNoCycle) || !strings.Contains(err.Error(), "next login") {
			t.Fatalf("no cycle: %v", err)
		}
		e.runningCycle(a, 80*access.GB, access.ProfileSlow)
		if _, _, err := e.svc.BuyPack(e.ctx, a.Username, "dorm", "10g", "s1", "form:2"); err != nil {
			t.Fatal(err)
		}
		if c, _ := e.activeCycle(a, "dorm"); c.Profile != access.ProfileSlow {
			t.Fatalf("60 GB do not cover 80 GB used: profile %q", c.Profile)
		}
		if len(enf.calls()) != 0 {
			t.Fatalf("enforcer called: %v", enf.calls())
		}
		if e.balance(a.Username) != 4500 {
			t.Fatalf("balance %s", e.balance(a.Username))
		}
		e.verifyClean()
	})
}

// The same form submitted at once to two nodes buys one pack: the account
// lock and the reference's unique key, not the process.
func TestBuyPackConcurrent(t *testing.T) {
	t.Parallel()
	forPlanKinds(t, func(t *testing.T, e *env, _ *recordingEnforcer) {
		a := e.account("s1", 5000)
		e.runningCycle(a, 0, access.ProfileFull)
		other, err := New(e.st, Config{Areas: planAreas(), Registerer: prometheus.NewRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				svc := e.svc
				if i%2 == 1 {
					svc = other
				}
				_, _, errs[i] = svc.BuyPack(e.ctx, a.Username, "dorm", "10g", "s1", "form:same")
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, access.ErrDuplicate):
				t.Errorf("concurrent purchase: %v", err)
			}
		}
		if ok != 1 || e.balance(a.Username) != 4500 || e.countLedger(access.LedgerPack) != 1 {
			t.Fatalf("%d purchases succeeded, balance %s", ok, e.balance(a.Username))
		}
		e.verifyClean()
	})
}

// billing verify is clean after purchases and finds a pack whose ledger
// row was removed, and one whose price disagrees with its row.
func TestVerifyPacks(t *testing.T) {
	t.Parallel()
	forPlanKinds(t, func(t *testing.T, e *env, _ *recordingEnforcer) {
		a := e.account("s1", 5000)
		b := e.account("s2", 5000)
		e.runningCycle(a, 0, access.ProfileFull)
		e.runningCycle(b, 0, access.ProfileFull)
		pa, _, err := e.svc.BuyPack(e.ctx, a.Username, "dorm", "10g", "s1", "form:a")
		if err != nil {
			t.Fatal(err)
		}
		pb, _, err := e.svc.BuyPack(e.ctx, b.Username, "dorm", "week", "s2", "form:b")
		if err != nil {
			t.Fatal(err)
		}
		e.verifyClean()

		db := e.st.DB()
		if _, err := db.Exec(e.st.Rebind(`DELETE FROM ledger WHERE id = ?`), pa.LedgerID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(e.st.Rebind(`UPDATE packs SET price_fen = 100 WHERE id = ?`), pb.ID); err != nil {
			t.Fatal(err)
		}
		probs, err := e.svc.Verify(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, p := range probs {
			got[p.Username+" "+p.Kind] = p.Detail
		}
		if d, ok := got["s1 "+access.ProblemPackNoLedger]; !ok || !strings.Contains(d, access.PackReference(pa.ID)) {
			t.Errorf("the pack without its ledger row is not reported: %+v", probs)
		}
		if _, ok := got["s2 "+access.ProblemPackMismatch]; !ok {
			t.Errorf("the pack whose price disagrees is not reported: %+v", probs)
		}
		if _, ok := got["s2 "+access.ProblemPackNoLedger]; ok {
			t.Errorf("s2's pack has its row: %+v", probs)
		}

		// A pack ledger row whose pack is gone.
		if _, err := db.Exec(e.st.Rebind(`DELETE FROM packs WHERE id = ?`), pb.ID); err != nil {
			t.Fatal(err)
		}
		probs, err = e.svc.Verify(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, p := range probs {
			found = found || (p.Username == "s2" && p.Kind == access.ProblemOrphanPackFee)
		}
		if !found {
			t.Errorf("a pack row without its pack is not reported: %+v", probs)
		}
	})
}
