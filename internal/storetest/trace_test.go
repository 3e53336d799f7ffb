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

// TestTraceSessions: two students held one address one after the other,
// the second without a Stop, and a third holds it now; each moment traces
// to the one who held it then, a moment between them to nobody, and an
// interval to all of them in order.
func TestTraceSessions(t *testing.T) {
	t.Parallel()
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) {
			clock := NewClock(time.Now())
			s := New(t, kind, store.WithClock(clock.Now))
			h := SeedTraceHistory(t, s, clock)
			ctx := context.Background()
			ip := netip.MustParseAddr(h.IP)
			at := func(tm time.Time) []access.TraceRow {
				t.Helper()
				rows, err := s.TraceSessions(ctx, access.TraceQuery{IP: ip, From: tm, To: tm})
				if err != nil {
					t.Fatal(err)
				}
				return rows
			}
			one := func(tm time.Time, who access.Account, end string, until time.Time) access.TraceRow {
				t.Helper()
				rows := at(tm)
				if len(rows) != 1 || rows[0].AccountID != who.ID || rows[0].End != end || rows[0].Until != access.Millis(until) {
					t.Fatalf("at %s: %+v, want %s's session (%s, until %s)", tm, rows, who.Username, end, until)
				}
				return rows[0]
			}
			a := one(h.AtAlice, h.Alice, access.TraceStopped, h.AliceStop)
			if a.Name != "王小明" || a.Role != access.RoleStudent || a.MAC != h.AliceMAC || a.NASPort != h.AlicePort || a.NAS != h.NASName ||
				a.StartedAt != access.Millis(h.AliceStart) || a.InputOctets != 2<<20 || a.OutputOctets != 9<<20 || a.TerminateCause != "User-Request" {
				t.Fatalf("Alice's row: %+v", a)
			}
			one(h.AliceStart, h.Alice, access.TraceStopped, h.AliceStop) // both ends count
			one(h.AliceStop, h.Alice, access.TraceStopped, h.AliceStop)
			b := one(h.AtBob, h.Bob, access.TraceNoStop, h.BobLastInterim)
			if b.Name != "李华" || b.CloseReason != access.CloseStale || b.EndText() != "no Stop (stale): counted to the last Interim-Update" {
				t.Fatalf("Bob's row: %+v (%s)", b, b.EndText())
			}
			c := one(h.AtCarol, h.Carol, access.TraceOnline, clock.Now())
			if c.Status != access.SessionOnline || c.EndText() != "online now" {
				t.Fatalf("Carol's row: %+v", c)
			}
			for _, gap := range []time.Time{h.AtGap, h.AtAfterBob, h.AliceStart.Add(-time.Minute)} {
				if rows := at(gap); len(rows) != 0 {
					t.Fatalf("at %s (nobody held it): %+v", gap, rows)
				}
			}
			// The whole day, oldest first; the never-online reservation
			// and 10.12.9.90 are not among them.
			day, err := s.TraceSessions(ctx, access.TraceQuery{IP: ip, From: h.AliceStart.Add(-13 * time.Hour), To: h.AliceStart.Add(11 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if len(day) != 3 || day[0].AccountID != h.Alice.ID || day[1].AccountID != h.Bob.ID || day[2].AccountID != h.Carol.ID {
				t.Fatalf("the day: %+v", day)
			}
			// An interval that only touches Bob's and Carol's sessions.
			if rows, err := s.TraceSessions(ctx, access.TraceQuery{IP: ip, From: h.AtBob, To: h.AtCarol}); err != nil || len(rows) != 2 {
				t.Fatalf("14:05–15:03: %+v, %v", rows, err)
			}
			// An interval in the future: nobody (an online session counts up to now).
			if rows, err := s.TraceSessions(ctx, access.TraceQuery{IP: ip, From: clock.Now().Add(time.Hour), To: clock.Now().Add(2 * time.Hour)}); err != nil || len(rows) != 0 {
				t.Fatalf("the future: %+v, %v", rows, err)
			}
			// By MAC, in any notation.
			rows, err := s.TraceSessions(ctx, access.TraceQuery{MAC: "02-00-0C-00-00-0B", From: h.AliceStart, To: h.AtCarol})
			if err != nil || len(rows) != 1 || rows[0].AccountID != h.Bob.ID {
				t.Fatalf("Bob's MAC: %+v, %v", rows, err)
			}
			// IPv6: an address the device chose inside Alice's /64 names her
			// session at her moment, and nobody's outside it; Bob's and
			// Carol's prefixes are not hers.
			v6 := func(key string, from, to time.Time) []access.TraceRow {
				t.Helper()
				q, err := access.ParseTraceKey(key)
				if err != nil {
					t.Fatal(err)
				}
				q.From, q.To = from, to
				rows, err := s.TraceSessions(ctx, q)
				if err != nil {
					t.Fatalf("trace %s: %v", key, err)
				}
				return rows
			}
			whole := []time.Time{h.AliceStart.Add(-13 * time.Hour), h.AliceStart.Add(11 * time.Hour)}
			if rows := v6("2001:db8:1:2::abcd", h.AtAlice, h.AtAlice); len(rows) != 1 || rows[0].AccountID != h.Alice.ID ||
				rows[0].IP6 != h.AliceIPv6 || rows[0].IP6Prefix != h.AlicePrefix || rows[0].Until != access.Millis(h.AliceStop) {
				t.Fatalf("2001:db8:1:2::abcd at 13:30: %+v", rows)
			}
			if rows := v6("2001:db8:1:2::abcd", whole[0], whole[1]); len(rows) != 1 || rows[0].AccountID != h.Alice.ID {
				t.Fatalf("2001:db8:1:2::abcd all day: %+v", rows)
			}
			for _, tm := range []time.Time{h.AtGap, h.AtBob, h.AtCarol, h.AliceStart.Add(-time.Minute)} {
				if rows := v6("2001:db8:1:2::abcd", tm, tm); len(rows) != 0 {
					t.Fatalf("2001:db8:1:2::abcd at %s (outside Alice's session): %+v", tm, rows)
				}
			}
			// Bob's prefix, first reported in an Interim-Update, counts from
			// his Start to his last Interim-Update.
			if rows := v6(h.BobIPv6, h.BobStart, h.BobStart); len(rows) != 1 || rows[0].AccountID != h.Bob.ID || rows[0].End != access.TraceNoStop {
				t.Fatalf("%s at Bob's Start: %+v", h.BobIPv6, rows)
			}
			if rows := v6("2001:db8:1:3::1", h.AtAfterBob, h.AtAfterBob); len(rows) != 0 {
				t.Fatalf("Bob's /64 after his last Interim-Update: %+v", rows)
			}
			// Carol: by her link, by an address of her delegated /56, online.
			for _, key := range []string{"2001:db8:1:4::99", "2001:db8:ff00:1ab::1", "2001:db8:ff00:100::/64", "2001:db8:ff00::/40"} {
				if rows := v6(key, h.AtCarol, h.AtCarol); len(rows) != 1 || rows[0].AccountID != h.Carol.ID || rows[0].IP6Delegated != h.CarolPD ||
					rows[0].End != access.TraceOnline {
					t.Fatalf("%s at 15:03: %+v", key, rows)
				}
			}
			if rows := v6("2001:db8:ff00:200::1", h.AtCarol, h.AtCarol); len(rows) != 0 {
				t.Fatalf("outside Carol's delegated prefix: %+v", rows)
			}
			// A prefix over the day: everyone inside it, oldest first.
			if rows := v6("2001:db8:1::/48", whole[0], whole[1]); len(rows) != 3 || rows[0].AccountID != h.Alice.ID ||
				rows[1].AccountID != h.Bob.ID || rows[2].AccountID != h.Carol.ID {
				t.Fatalf("2001:db8:1::/48 all day: %+v", rows)
			}
			if rows := v6("2001:db8:2::/48", whole[0], whole[1]); len(rows) != 0 {
				t.Fatalf("2001:db8:2::/48: %+v", rows)
			}
			if rec := day[0].Record(Campus); rec.IPv6 != h.AliceIPv6 || rec.IPv6Prefix != h.AlicePrefix || rec.CSV()[5] != h.AliceIPv6 {
				t.Fatalf("Alice's record: %+v %q", rec, rec.CSV())
			}
			// Bad queries change nothing and say why.
			for _, q := range []access.TraceQuery{
				{From: h.AtBob, To: h.AtBob},
				{IP: ip, MAC: h.BobMAC, From: h.AtBob, To: h.AtBob},
				{IP: ip, From: h.AtCarol, To: h.AtBob},
				{IP: ip},
				{MAC: "02:00:0c:00:00", From: h.AtBob, To: h.AtBob},
				{IP: netip.MustParseAddr("2001:db8::1"), From: h.AtBob, To: h.AtBob},
				{IPv6: netip.MustParsePrefix("10.12.9.0/24"), From: h.AtBob, To: h.AtBob},
				{IPv6: netip.MustParsePrefix("2001:db8::/32"), IP: ip, From: h.AtBob, To: h.AtBob},
			} {
				if _, err := s.TraceSessions(ctx, q); !errors.Is(err, access.ErrInvalid) {
					t.Errorf("query %+v: %v", q, err)
				}
			}
			for _, key := range []string{"10.12.9", "2001:db8::1::2", "fe80::1%eth0", "::ffff:10.0.0.0/104", "2001:db8::/129", "02:00:0c:00:00"} {
				if _, err := access.ParseTraceKey(key); !errors.Is(err, access.ErrInvalid) {
					t.Errorf("key %q: %v", key, err)
				}
			}
		})
	}
}
