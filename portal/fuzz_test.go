package portal

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/logintoken"
	"github.com/campusnet/campusnet/portal/portalproto"
)

// fuzzPortal is a Portal with two NAS and no sockets, enough for the
// decoders of outside input.
func fuzzPortal(tb testing.TB) *Portal {
	tb.Helper()
	p := &Portal{byName: map[string]*nasClient{}, now: time.Now, formKey: deriveKey(logintoken.NewKey(), "fuzz")}
	for _, n := range []access.BAS{
		{Name: "dorm-bras-1", IP: netip.MustParseAddr("10.255.0.1"), UserSubnets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
		{Name: "office-ac", IP: netip.MustParseAddr("172.16.0.1"), UserSubnets: []netip.Prefix{netip.MustParsePrefix("172.16.0.0/12")}},
	} {
		nc := &nasClient{BAS: n}
		p.nas = append(p.nas, nc)
		p.byName[strings.ToLower(n.Name)] = nc
	}
	return p
}

// FuzzResolveEntry feeds redirect query strings to the entry parser: it
// never panics, and what it accepts is well-formed and survives the round
// trip through the portal's own form fields.
func FuzzResolveEntry(f *testing.F) {
	for _, s := range []string{
		"wlanuserip=10.1.2.3&wlanacname=dorm-bras-1&usermac=00-16-3E-01-02-03&wlanuserfirsturl=http://www.example.com/&ssid=CampusNet",
		"userip=172.16.5.5&nasname=OFFICE-AC&mac=0016.3e01.0203&url=https://a.example/x?y=1",
		"ip=10.0.0.1", "wlanacip=10.255.0.1&wlanuserip=10.9.9.9", "wlanuserip=::ffff:10.1.1.1",
		"wlanuserip=%00&wlanacname=%ff%fe", "url=javascript:alert(1)", "wlanuserip=10.1.2.3&url=http://user:pw@evil/",
		"", "a=%zz", strings.Repeat("ssid=x&", 50),
	} {
		f.Add(s, "127.0.0.1")
	}
	p := fuzzPortal(f)
	f.Fuzz(func(t *testing.T, raw, src string) {
		q, _ := url.ParseQuery(raw)
		srcAddr, _ := netip.ParseAddr(src)
		e, prob := p.resolveEntry(q, srcAddr)
		if prob != nil {
			if prob.Kind == "" || len(prob.Detail) > maxParamLen*2 {
				t.Fatalf("problem %+v", prob)
			}
			return
		}
		t.Fatalf("accepted without a portal client: %+v", e)
	})
}

// FuzzEntryRoundTrip checks the accepted entries with a NAS that has a
// client (a placeholder: nothing is sent).
func FuzzEntryRoundTrip(f *testing.F) {
	f.Add("wlanuserip=10.1.2.3&wlanacname=dorm-bras-1&usermac=00-16-3E-01-02-03&wlanuserfirsturl=http://www.example.com/&ssid=Campus%E7%BD%91")
	f.Add("ip=10.0.0.1&url=https://a/b")
	p := fuzzPortal(f)
	c, err := portalproto.NewClient(portalproto.ClientConfig{BASAddr: "127.0.0.1:9"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { c.Close() })
	for _, n := range p.nas {
		n.client = c
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		e, prob := p.resolveEntry(q, netip.MustParseAddr("10.7.7.7"))
		if prob != nil {
			return
		}
		if !e.UserIP.Is4() || e.NAS == nil {
			t.Fatalf("bad entry %+v", e)
		}
		if e.URL != "" && !strings.HasPrefix(e.URL, "http://") && !strings.HasPrefix(e.URL, "https://") {
			t.Fatalf("unsafe URL kept: %q", e.URL)
		}
		if len(e.MAC) != 0 && len(e.MAC) != 17 {
			t.Fatalf("MAC %q", e.MAC)
		}
		again, prob := p.resolveEntry(e.query(), netip.MustParseAddr("10.7.7.7"))
		if prob != nil || again.UserIP != e.UserIP || again.NAS != e.NAS || again.MAC != e.MAC || again.URL != e.URL || again.SSID != e.SSID {
			t.Fatalf("round trip: %+v → %v → %+v %v", e, e.query(), again, prob)
		}
	})
}

// FuzzReadTicket: a logout ticket is accepted only as signed.
func FuzzReadTicket(f *testing.F) {
	p := fuzzPortal(f)
	good := p.signTicket(ticket{IP: "10.1.2.3", NAS: "dorm-bras-1", User: "u1"})
	f.Add(good)
	f.Add("")
	f.Add("e30.AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		tk, ok := p.readTicket(s)
		if ok && s != good {
			t.Fatalf("forged ticket accepted: %q → %+v", s, tk)
		}
	})
}
