package billing

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
)

// events returns the account's recorded notifications, oldest first.
func (e *env) events(a access.Account) []access.Notification {
	e.t.Helper()
	list, err := e.st.Notifications(e.ctx, store.NotificationFilter{AccountID: a.ID})
	if err != nil {
		e.t.Fatal(err)
	}
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list
}

func payloadData(t *testing.T, n access.Notification) map[string]any {
	t.Helper()
	var p struct {
		Event string         `json:"event"`
		Data  map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(n.Payload), &p); err != nil || p.Event != n.Event {
		t.Fatalf("payload %q: %v", n.Payload, err)
	}
	return p.Data
}

// The settlement job writes low_balance once per cycle, low_balance_notice
// (72 h by default) before the cycle ends, for an account whose balance
// will not pay the next one; a student who can pay hears nothing.
func TestLowBalanceNotice(t *testing.T) {
	t.Parallel()
	forKinds(t, func(t *testing.T, e *env) {
		poor := e.account("2026001", 3000) // 10.00 left after the first cycle's 20.00
		rich := e.account("2026002", 4000) // 20.00 left: exactly the next fee
		for _, a := range []access.Account{poor, rich} {
			if _, started, err := e.svc.StartCycle(e.ctx, a.Username, "dorm"); !started || err != nil {
				t.Fatalf("start: %v %v", started, err)
			}
		}
		// Settlement is at +720 h: at +648 h - 1 min it is too early.
		e.clock.Advance(cycleLen - 72*time.Hour - time.Minute)
		if rep := e.settle(); rep.LowBalance != 0 || len(e.events(poor)) != 0 {
			t.Fatalf("too early: %s, %+v", rep, e.events(poor))
		}
		e.clock.Advance(2 * time.Minute)
		if rep := e.settle(); rep.LowBalance != 1 {
			t.Fatalf("within the notice: LowBalance %d", rep.LowBalance)
		}
		got := e.events(poor)
		if len(got) != 1 || got[0].Event != access.EventLowBalance || got[0].Status != "pending" {
			t.Fatalf("events %+v", got)
		}
		c, _ := e.activeCycle(poor, "dorm")
		if got[0].Key != "low_balance:"+itoa(c.ID) {
			t.Errorf("key %q", got[0].Key)
		}
		d := payloadData(t, got[0])
		if d["balance"] != "30.00" || d["after_settlement"] != "10.00" || d["fee"] != "20.00" || d["area"] != "dorm" || d["settles_at"] != "2026-10-01T16:00:00+08:00" {
			t.Errorf("data %v", d)
		}
		if len(e.events(rich)) != 0 {
			t.Errorf("a student who can pay was notified: %+v", e.events(rich))
		}
		// Later runs before settlement add nothing.
		e.clock.Advance(time.Hour)
		if rep := e.settle(); rep.LowBalance != 0 || len(e.events(poor)) != 1 {
			t.Fatalf("second notice: %s", rep)
		}
	})
}

// A recharge before the notice keeps it from being written.
func TestLowBalanceRechargedFirst(t *testing.T) {
	t.Parallel()
	forKinds(t, func(t *testing.T, e *env) {
		a := e.account("2026001", 3000)
		if _, started, err := e.svc.StartCycle(e.ctx, a.Username, "dorm"); !started || err != nil {
			t.Fatalf("start: %v %v", started, err)
		}
		if _, err := e.svc.Recharge(e.ctx, a.Username, 1000, "counter1", "cash-9", "cash"); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(cycleLen - time.Hour)
		if rep := e.settle(); rep.LowBalance != 0 || len(e.events(a)) != 0 {
			t.Fatalf("notified with the next fee paid: %+v", e.events(a))
		}
	})
}

// Settlement that finds the student online without the next fee writes
// arrears in its transaction (once, however often it runs) and no
// device_kicked for its own disconnect.
func TestArrearsNotified(t *testing.T) {
	t.Parallel()
	forKinds(t, func(t *testing.T, e *env) {
		e.svc.cfg.LowBalanceNotice = -1 // this test is about arrears only
		a := e.account("s1", 3000)
		c, started, err := e.svc.StartCycle(e.ctx, a.Username, "dorm")
		if !started || err != nil {
			t.Fatalf("start: %v %v", started, err)
		}
		e.online(a, "dorm", "00:11:22:33:44:55", "10.1.2.3")
		e.clock.Advance(cycleLen + 30*time.Second)
		e.interim()
		if rep := e.settle(); rep.Arrears != 1 || rep.Disconnects["ack"] != 1 {
			t.Fatalf("%s", rep)
		}
		e.settle()
		got := e.events(a)
		if len(got) != 1 || got[0].Event != access.EventArrears || got[0].Key != "arrears:"+itoa(c.ID) {
			t.Fatalf("events %+v", got)
		}
		if d := payloadData(t, got[0]); d["balance"] != "10.00" || d["fee"] != "20.00" || d["payment_url"] != "https://pay.example.edu/" {
			t.Errorf("data %v", d)
		}
		// The garden's login helper uses the same key: nothing new.
		if added, err := e.svc.NotifyArrears(e.ctx, a.Username, "dorm"); err != nil || added {
			t.Fatalf("garden after settlement: %v %v", added, err)
		}
	})
}

// The garden login's helper: once per lapse, none while a cycle runs.
func TestNotifyArrearsHelper(t *testing.T) {
	t.Parallel()
	forKinds(t, func(t *testing.T, e *env) {
		a := e.account("s2", 500)
		for i, want := range []bool{true, false} {
			if added, err := e.svc.NotifyArrears(e.ctx, a.Username, "dorm"); err != nil || added != want {
				t.Fatalf("call %d: added %v, %v", i, added, err)
			}
		}
		if _, err := e.svc.NotifyArrears(e.ctx, a.Username, "office"); err == nil {
			t.Error("arrears in a free area accepted")
		}
		if _, err := e.svc.Recharge(e.ctx, a.Username, 2000, "counter1", "cash-2", "cash"); err != nil {
			t.Fatal(err)
		}
		if _, started, err := e.svc.StartCycle(e.ctx, a.Username, "dorm"); !started || err != nil {
			t.Fatalf("start: %v %v", started, err)
		}
		if added, err := e.svc.NotifyArrears(e.ctx, a.Username, "dorm"); err != nil || added {
			t.Fatalf("with a cycle running: %v %v", added, err)
		}
		if got := e.events(a); len(got) != 1 || got[0].Key != "arrears:"+itoa(a.ID)+":dorm:0" {
			t.Fatalf("events %+v", got)
		}
	})
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
