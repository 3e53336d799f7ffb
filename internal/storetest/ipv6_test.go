package storetest

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
)

// The IPv6 side of accounting, on both stores and on both of
// PostgreSQL's paths (the set-based batch and the per-request one): a Start
// records what it reports, an Interim-Update that first reports an address
// adds it to the same session, counters are kept apart, and a Start of the
// device's other family does not replace its session.
func TestAccountingIPv6(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		aaa := store.NewAAA(s)
		defer aaa.Close()
		newAccount(t, s, "v6-a")
		const mac = "02:00:00:00:06:01"
		rec := func(kind, asid string) access.AcctRecord {
			return access.AcctRecord{Kind: kind, NAS: "n1", Area: "office", AcctSessionID: asid, Username: "v6-a", MAC: mac}
		}
		// A dual-stack Start that knows only IPv4 yet.
		st := rec(access.AcctStart, "D1")
		st.IP = "10.6.0.1"
		res, err := aaa.RecordAccounting(ctx, []access.AcctRecord{st})
		if err != nil || res[0].Outcome != access.AcctStarted {
			t.Fatalf("start: %+v, %v", res, err)
		}
		id := res[0].SessionID
		// The Interim-Update reports the IPv6 address and prefix first.
		in := rec(access.AcctInterim, "D1")
		in.InputOctets, in.OutputOctets = 5000, 9000
		in.IPv6 = access.IPv6Record{Addr: "2001:db8:6:1::10", Prefix: "2001:db8:6:1::/64", IfID: "0000:0000:0000:0010",
			Input: 1000, Output: 4000, HasOctets: true}
		if res, err = aaa.RecordAccounting(ctx, []access.AcctRecord{in}); err != nil || res[0].SessionID != id {
			t.Fatalf("interim: %+v, %v", res, err)
		}
		got, err := s.SessionByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.IP != "10.6.0.1" || got.IP6 != "2001:db8:6:1::10" || got.IP6Prefix != "2001:db8:6:1::/64" || got.IP6IfID != "0000:0000:0000:0010" {
			t.Fatalf("addresses after the interim: %+v", got)
		}
		if in4, out4 := got.IPv4Octets(); got.InputOctets6 != 1000 || got.OutputOctets6 != 4000 || in4 != 4000 || out4 != 5000 {
			t.Fatalf("traffic apart: v6 %d/%d, v4 %d/%d", got.InputOctets6, got.OutputOctets6, in4, out4)
		}
		// An Interim without IPv6 attributes keeps what the session has.
		in2 := rec(access.AcctInterim, "D1")
		in2.InputOctets = 6000
		if _, err = aaa.RecordAccounting(ctx, []access.AcctRecord{in2}); err != nil {
			t.Fatal(err)
		}
		if got, _ = s.SessionByID(ctx, id); got.IP6 != "2001:db8:6:1::10" || got.InputOctets6 != 1000 {
			t.Fatalf("an interim without IPv6 lost it: %+v", got)
		}

		// A device accounted for each family apart (an IPv4-only session,
		// then an IPv6-only one of the same MAC): the IPv6 Start leaves
		// the IPv4 session online, and a new IPv4 Start replaces only the
		// IPv4 one.
		const mac2 = "02:00:00:00:06:02"
		v4 := rec(access.AcctStart, "F4")
		v4.MAC, v4.IP = mac2, "10.6.0.2"
		res, err = aaa.RecordAccounting(ctx, []access.AcctRecord{v4})
		if err != nil || res[0].Outcome != access.AcctStarted {
			t.Fatalf("IPv4-only start: %+v, %v", res, err)
		}
		id4 := res[0].SessionID
		v6 := rec(access.AcctStart, "F6")
		v6.MAC = mac2
		v6.IPv6 = access.IPv6Record{Prefix: "2001:db8:6:2::/64", Delegated: "2001:db8:ff00::/56"}
		res, err = aaa.RecordAccounting(ctx, []access.AcctRecord{v6})
		if err != nil || res[0].Outcome != access.AcctStarted || res[0].Closed != 0 {
			t.Fatalf("IPv6-only start: %+v, %v", res, err)
		}
		id6 := res[0].SessionID
		live, err := s.LiveSessionsByMAC(ctx, mac2)
		if err != nil || len(live) != 2 {
			t.Fatalf("live sessions of the MAC: %d, %v", len(live), err)
		}
		again := rec(access.AcctStart, "F4b")
		again.MAC, again.IP = mac2, "10.6.0.3"
		if res, err = aaa.RecordAccounting(ctx, []access.AcctRecord{again}); err != nil || res[0].Closed != 1 {
			t.Fatalf("second IPv4 start: %+v, %v", res, err)
		}
		if got, _ = s.SessionByID(ctx, id4); got.Status != access.SessionClosed || got.CloseReason != access.CloseReplaced {
			t.Fatalf("the first IPv4 session: %s %s", got.Status, got.CloseReason)
		}
		if got, _ = s.SessionByID(ctx, id6); got.Status != access.SessionOnline || got.IP6Delegated != "2001:db8:ff00::/56" {
			t.Fatalf("the IPv6 session: %+v", got)
		}
		// A dual-stack Start replaces a session of either family.
		dual := rec(access.AcctStart, "F46")
		dual.MAC, dual.IP = mac2, "10.6.0.4"
		dual.IPv6 = access.IPv6Record{Addr: "2001:db8:6:2::4"}
		if res, err = aaa.RecordAccounting(ctx, []access.AcctRecord{dual}); err != nil || res[0].Closed != 2 {
			t.Fatalf("dual-stack start: %+v, %v", res, err)
		}
		id46 := res[0].SessionID

		// The portal finds the live session of an IPv6 source address by
		// its /64 or its delegated prefix.
		if l, err := s.LiveSessionByIPv6(ctx, netip.MustParseAddr("2001:db8:6:2::99")); err != nil || l.ID != id46 {
			t.Fatalf("live by /64: %+v, %v", l, err)
		}
		if l, err := s.LiveSessionByIPv6(ctx, netip.MustParseAddr("2001:db8:6:1::10")); err != nil || l.ID != id {
			t.Fatalf("live by address: %+v, %v", l, err)
		}
		if _, err := s.LiveSessionByIPv6(ctx, netip.MustParseAddr("2001:db8:7::1")); !errors.Is(err, access.ErrNotFound) {
			t.Fatalf("live by a foreign address: %v", err)
		}
	})
}

// TestSessionsByIPv6 is the store's side of the trace of an IPv6 address or
// prefix: the sessions whose /64 (or Framed-IPv6-Prefix) or delegated
// prefix overlaps it during an interval.
func TestSessionsByIPv6(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		aaa := store.NewAAA(s)
		defer aaa.Close()
		newAccount(t, s, "tr-a")
		newAccount(t, s, "tr-b")
		start := func(user, asid, mac string, six access.IPv6Record) int64 {
			t.Helper()
			res, err := aaa.RecordAccounting(ctx, []access.AcctRecord{{Kind: access.AcctStart, NAS: "n1", Area: "office",
				AcctSessionID: asid, Username: user, MAC: mac, IPv6: six}})
			if err != nil || res[0].SessionID == 0 {
				t.Fatalf("start %s: %+v, %v", asid, res, err)
			}
			return res[0].SessionID
		}
		t0 := time.Now()
		a := start("tr-a", "T1", "02:00:00:00:07:01", access.IPv6Record{Addr: "2001:db8:10:1::abcd"})
		b := start("tr-b", "T2", "02:00:00:00:07:02", access.IPv6Record{Prefix: "2001:db8:10:2::/64", Delegated: "2001:db8:20::/48"})
		if _, err := aaa.RecordAccounting(ctx, []access.AcctRecord{{Kind: access.AcctStop, NAS: "n1", AcctSessionID: "T1"}}); err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()

		ids := func(q string, from, to time.Time) []int64 {
			t.Helper()
			p, err := access.ParseIPv6Query(q)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.SessionsByIPv6(ctx, p, from, to, 0)
			if err != nil {
				t.Fatal(err)
			}
			var out []int64
			for _, x := range got {
				out = append(out, x.ID)
			}
			return out
		}
		for _, c := range []struct {
			q    string
			from time.Time
			to   time.Time
			want []int64
		}{
			{"2001:db8:10:1::1", time.Time{}, time.Time{}, []int64{a}},                 // another address of a's /64
			{"2001:DB8:10:1:0:0:0:ABCD", t0.Add(-time.Hour), t1, []int64{a}},           // the address itself, any spelling
			{"2001:db8:10:2:aaaa::1", time.Time{}, time.Time{}, []int64{b}},            // inside b's Framed-IPv6-Prefix
			{"2001:db8:20:ffff::1", time.Time{}, time.Time{}, []int64{b}},              // inside b's delegated prefix
			{"2001:db8:10::/48", time.Time{}, time.Time{}, []int64{b, a}},              // a prefix covering both, newest first
			{"2001:db8:10:3::1", time.Time{}, time.Time{}, nil},                        // nobody's
			{"2001:db8:10:1::1", t1.Add(time.Hour), t1.Add(2 * time.Hour), nil},        // a was closed by then
			{"2001:db8:10:2::1", t1.Add(time.Hour), t1.Add(2 * time.Hour), []int64{b}}, // b is still online
			{"2001:db8:10:2::1", t0.Add(-2 * time.Hour), t0.Add(-time.Hour), nil},      // before b started
		} {
			got := ids(c.q, c.from, c.to)
			if len(got) != len(c.want) {
				t.Errorf("%s in [%v, %v]: %v, want %v", c.q, c.from, c.to, got, c.want)
				continue
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("%s: %v, want %v", c.q, got, c.want)
				}
			}
		}
		for _, bad := range []string{"10.0.0.1", "::ffff:10.0.0.1", "2001:db8::zz", "fe80::1%eth0", "2001:db8::1\x00"} {
			if _, err := access.ParseIPv6Query(bad); !errors.Is(err, access.ErrInvalid) {
				t.Errorf("ParseIPv6Query(%q): %v", bad, err)
			}
		}
	})
}

// A Start and its Interim-Update in one batch: on PostgreSQL the Interim
// takes the per-request path after the set-based Start; both record the
// IPv6 side, counters above 2^32 included.
func TestAccountingIPv6SameBatch(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		aaa := store.NewAAA(s)
		defer aaa.Close()
		newAccount(t, s, "v6-b")
		recs := []access.AcctRecord{
			{Kind: access.AcctStart, NAS: "n1", Area: "office", AcctSessionID: "B1", Username: "v6-b", MAC: "02:00:00:00:06:11", IP: "10.6.1.1"},
			{Kind: access.AcctInterim, NAS: "n1", Area: "office", AcctSessionID: "B1", Username: "v6-b", MAC: "02:00:00:00:06:11",
				InputOctets: 1 << 34, OutputOctets: 1 << 35,
				IPv6: access.IPv6Record{Addr: "2001:db8:6:11::1", Input: 1<<33 + 7, Output: 1<<34 + 9, HasOctets: true}},
		}
		res, err := aaa.RecordAccounting(ctx, recs)
		if err != nil || res[0].SessionID == 0 || res[1].SessionID != res[0].SessionID {
			t.Fatalf("batch: %+v, %v", res, err)
		}
		got, err := s.SessionByID(ctx, res[0].SessionID)
		if err != nil {
			t.Fatal(err)
		}
		if got.IP != "10.6.1.1" || got.IP6 != "2001:db8:6:11::1" || got.InputOctets6 != 1<<33+7 || got.OutputOctets6 != 1<<34+9 {
			t.Fatalf("session: %+v", got)
		}
	})
}
