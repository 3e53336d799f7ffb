package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
)

// TraceHistory is what SeedTraceHistory recorded: on 2026-12-02 (campus
// time, Asia/Shanghai) two students held TraceIP one after the other —
// Alice from 13:00 to her Stop at 14:00, Bob from 14:02 to his last
// Interim-Update at 14:12, after which no Stop came and the reaper closed
// his session at 14:45 — and Carol holds it since 15:00, online. Each moment
// field is a time to trace and whose session it finds.
type TraceHistory struct {
	IP                         string
	Alice, Bob, Carol          access.Account
	AliceMAC, BobMAC, CarolMAC string
	AlicePort                  string // NAS-Port-Id of Alice's Start
	AliceStart, AliceStop      time.Time
	BobStart, BobLastInterim   time.Time
	CarolStart                 time.Time
	AtAlice, AtGap, AtBob      time.Time // 13:30 Alice; 14:01 nobody; 14:05 Bob
	AtAfterBob, AtCarol        time.Time // 14:20 nobody (after Bob's last Interim); 15:03 Carol
	NASName                    string
	// The IPv6 side: Alice's session had the link 2001:db8:1:2::/64
	// (Framed-IPv6-Prefix) and the address AliceIPv6 in it; Bob's reported
	// 2001:db8:1:3::/64 in an Interim-Update (BobIPv6); Carol's has
	// 2001:db8:1:4::/64 and the delegated prefix CarolPD.
	AliceIPv6, AlicePrefix string
	BobIPv6, BobPrefix     string
	CarolPrefix, CarolPD   string
}

// Campus is the zone SeedTraceHistory's times are written in.
var Campus = access.DefaultLocation()

func campus(h, m int) time.Time { return time.Date(2026, 12, 2, h, m, 0, 0, Campus) }

// SeedTraceHistory records TraceHistory through the accounting path
// (store.AAA.RecordAccounting), moving clock, the store's clock
// (store.WithClock(clock.Now)); it leaves the clock at 15:05 that day.
// The accounts have Chinese names (王小明, 李华, 张三), as a CSV of a trace
// must keep them.
func SeedTraceHistory(t testing.TB, st *store.Store, clock *Clock) TraceHistory {
	t.Helper()
	ctx := context.Background()
	h := TraceHistory{IP: "10.12.9.9", AliceMAC: "02:00:0c:00:00:0a", BobMAC: "02:00:0c:00:00:0b", CarolMAC: "02:00:0c:00:00:0c",
		AlicePort: "slot=1;subslot=0;port=3;vlanid=1203", NASName: "dorm-bras-1",
		AliceStart: campus(13, 0), AliceStop: campus(14, 0), BobStart: campus(14, 2), BobLastInterim: campus(14, 12), CarolStart: campus(15, 0),
		AliceIPv6: "2001:db8:1:2:211:22ff:fe33:4455", AlicePrefix: "2001:db8:1:2::/64", BobIPv6: "2001:db8:1:3::b0b", BobPrefix: "2001:db8:1:3::/64",
		CarolPrefix: "2001:db8:1:4::/64", CarolPD: "2001:db8:ff00:100::/56",
		AtAlice: campus(13, 30), AtGap: campus(14, 1), AtBob: campus(14, 5), AtAfterBob: campus(14, 20), AtCarol: campus(15, 3)}
	for _, a := range []struct {
		acc        *access.Account
		user, name string
	}{{&h.Alice, "2026010001", "王小明"}, {&h.Bob, "2026010002", "李华"}, {&h.Carol, "2026010003", "张三"}} {
		acc, _, err := st.EnsureAccount(ctx, access.Account{Username: a.user, Name: a.name, Role: access.RoleStudent})
		if err != nil {
			t.Fatal(err)
		}
		*a.acc = acc
	}
	aaa := store.NewAAA(st)
	defer aaa.Close()
	rec := func(at time.Time, r access.AcctRecord) {
		t.Helper()
		clock.Set(at)
		r.NAS, r.Area = h.NASName, "dorm"
		res, err := aaa.RecordAccounting(ctx, []access.AcctRecord{r})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Outcome == access.AcctUnknown {
			t.Fatalf("accounting %+v recorded nothing", r)
		}
	}
	rec(h.AliceStart, access.AcctRecord{Kind: access.AcctStart, AcctSessionID: "A1", Username: h.Alice.Username, MAC: h.AliceMAC, IP: h.IP, NASPort: h.AlicePort,
		IPv6: access.IPv6Record{Addr: h.AliceIPv6, Prefix: h.AlicePrefix, IfID: "0211:22ff:fe33:4455"}})
	rec(campus(13, 30), access.AcctRecord{Kind: access.AcctInterim, AcctSessionID: "A1", InputOctets: 1 << 20, OutputOctets: 5 << 20})
	rec(h.AliceStop, access.AcctRecord{Kind: access.AcctStop, AcctSessionID: "A1", InputOctets: 2 << 20, OutputOctets: 9 << 20, TerminateCause: "User-Request"})
	rec(h.BobStart, access.AcctRecord{Kind: access.AcctStart, AcctSessionID: "B1", Username: h.Bob.Username, MAC: h.BobMAC, IP: h.IP, NASPort: "1203"})
	rec(campus(14, 7), access.AcctRecord{Kind: access.AcctInterim, AcctSessionID: "B1", InputOctets: 1 << 10, OutputOctets: 3 << 10,
		IPv6: access.IPv6Record{Addr: h.BobIPv6, Prefix: h.BobPrefix}})
	rec(h.BobLastInterim, access.AcctRecord{Kind: access.AcctInterim, AcctSessionID: "B1", InputOctets: 7 << 10, OutputOctets: 9 << 10})
	clock.Set(campus(14, 45))
	if stale, _, err := st.ReapSessions(ctx, campus(14, 45).Add(-12*time.Minute), campus(14, 44)); err != nil || stale != 1 {
		t.Fatalf("reaping Bob's session: %d closed, %v", stale, err)
	}
	rec(h.CarolStart, access.AcctRecord{Kind: access.AcctStart, AcctSessionID: "C1", Username: h.Carol.Username, MAC: h.CarolMAC, IP: h.IP,
		IPv6: access.IPv6Record{Prefix: h.CarolPrefix, Delegated: h.CarolPD}})
	rec(campus(15, 5), access.AcctRecord{Kind: access.AcctInterim, AcctSessionID: "C1", InputOctets: 100, OutputOctets: 200})
	// Noise a trace must not return: another address that shares a prefix
	// with TraceIP, and a reservation of TraceIP that never went online.
	rec(campus(13, 10), access.AcctRecord{Kind: access.AcctStart, AcctSessionID: "N1", Username: h.Carol.Username, MAC: "02:00:0c:00:00:99", IP: "10.12.9.90"})
	if _, err := st.DB().Exec(st.Rebind(`INSERT INTO sessions (account_id, username, nas, area, mac, ip, class, status, correlation,
		reserved_at, stopped_at, close_reason) VALUES (?, ?, ?, 'dorm', ?, ?, 'pc', 'closed', 'corr-trace-noise', ?, ?, ?)`),
		h.Carol.ID, h.Carol.Username, h.NASName, h.CarolMAC, h.IP, access.Millis(campus(14, 3)), access.Millis(campus(14, 4)), access.CloseReserveTimeout); err != nil {
		t.Fatal(err)
	}
	clock.Set(campus(15, 5))
	return h
}
