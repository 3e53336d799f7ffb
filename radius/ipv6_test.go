package radius_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/radius/internal/radclient"
)

// An IPv6-only session accounted by FreeRADIUS's radclient: the Start
// with Framed-IPv6-Prefix, Framed-Interface-Id and Delegated-IPv6-Prefix
// is recorded (the address made of the prefix and the interface id), the
// Interim-Update's Huawei IPv6 counters are kept apart, and the trace of
// an address inside the prefix or the delegated prefix names the student.
func TestIPv6AccountingRadclient(t *testing.T) {
	radclient.Need(t)
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			e := startEnv(t, kind)
			a := e.account("2026600", "pw-600", access.RoleStudent, 5000)
			for _, attrs := range []string{
				`Acct-Status-Type = Start, Acct-Session-Id = "V6-1", User-Name = "2026600", Calling-Station-Id = "02-00-00-06-00-01",
					Framed-IPv6-Prefix = 2001:db8:42:1::/64, Framed-Interface-Id = 0211:22ff:fe33:4455, Delegated-IPv6-Prefix = 2001:db8:4200::/56`,
				`Acct-Status-Type = Interim-Update, Acct-Session-Id = "V6-1", User-Name = "2026600", Calling-Station-Id = "02-00-00-06-00-01",
					Acct-Input-Octets = 3000, Acct-Output-Octets = 7000, Huawei-Acct-IPv6-Input-Octets = 1000, Huawei-Acct-IPv6-Output-Octets = 5000,
					Huawei-Acct-IPv6-Output-Gigawords = 1`,
			} {
				out, _ := radclient.Run(t, strings.Join(strings.Fields(attrs), " "), e.acctAddr, "acct", secret)
				if !strings.Contains(out, "Received Accounting-Response") {
					t.Fatalf("radclient:\n%s", out)
				}
			}
			live := e.sessions(a, true)
			if len(live) != 1 {
				t.Fatalf("live sessions: %+v", live)
			}
			s := live[0]
			if s.IP != "" || s.IP6 != "2001:db8:42:1:211:22ff:fe33:4455" || s.IP6Prefix != "2001:db8:42:1::/64" ||
				s.IP6IfID != "0211:22ff:fe33:4455" || s.IP6Delegated != "2001:db8:4200::/56" {
				t.Fatalf("IPv6 identifiers: %+v", s)
			}
			if s.InputOctets6 != 1000 || s.OutputOctets6 != 1<<32+5000 {
				t.Fatalf("IPv6 counters: %d / %d", s.InputOctets6, s.OutputOctets6)
			}
			for _, q := range []string{"2001:db8:42:1::99", "2001:db8:4200:ab::1", "2001:db8:42::/48"} {
				p, err := access.ParseIPv6Query(q)
				if err != nil {
					t.Fatal(err)
				}
				got, err := e.st.SessionsByIPv6(context.Background(), p, e.clock.Now().Add(-time.Hour), e.clock.Now(), 0)
				if err != nil || len(got) != 1 || got[0].Username != "2026600" {
					t.Fatalf("trace %s: %+v, %v", q, got, err)
				}
			}
		})
	}
}

// A device is one device whatever its address family: the dorm's one PC
// logs in over IPv4, then over IPv6 alone (a BAS that authenticates each
// family apart), and both sessions stay online; another PC is refused over
// IPv6 as over IPv4. A Disconnect-Request for the IPv6-only session names
// it by its IPv6 identifiers and ends it.
func TestIPv6DeviceLimitAndDisconnect(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			e := startEnv(t, kind)
			ctx := context.Background()
			b := e.bas("dorm-bras-1")
			e.serveCoA(b)
			a := e.account("2026610", "pw", access.RoleStudent, 5000)
			const pc, other = "02:00:00:06:10:01", "02:00:00:06:10:02"
			e.bind(a, pc, access.ClassPC)
			e.bind(a, other, access.ClassPC)
			v6 := addr("2001:db8:61:1::10")
			r4 := mustAuth(t, b, bas.AuthRequest{MAC: pc, UserIP: addr("10.0.61.1")})
			if !r4.Accepted {
				t.Fatalf("IPv4 login refused: %s", r4.ReplyMessage)
			}
			if err := b.Start(ctx, r4.AcctSessionID); err != nil {
				t.Fatal(err)
			}
			r6 := mustAuth(t, b, bas.AuthRequest{MAC: pc, UserIPv6: v6})
			if !r6.Accepted {
				t.Fatalf("the same PC over IPv6 refused: %s", r6.ReplyMessage)
			}
			if err := b.Start(ctx, r6.AcctSessionID); err != nil {
				t.Fatal(err)
			}
			byASID := map[string]access.Session{}
			for _, s := range e.sessions(a, true) {
				byASID[s.AcctSessionID] = s
			}
			s4, s6 := byASID[r4.AcctSessionID], byASID[r6.AcctSessionID]
			if s4.Status != access.SessionOnline || s6.Status != access.SessionOnline || s6.IP6 != v6.String() || s6.IP != "" {
				t.Fatalf("sessions after the IPv6 login: %+v", byASID)
			}
			r := mustAuth(t, b, bas.AuthRequest{MAC: other, UserIPv6: addr("2001:db8:61:1::20")})
			if r.Accepted || !strings.Contains(r.ReplyMessage, "02-00-00-06-10-01") || !strings.Contains(r.ReplyMessage, "1 PC") {
				t.Fatalf("a second PC over IPv6: accepted %v, %q", r.Accepted, r.ReplyMessage)
			}

			out, err := e.disc.DisconnectSession(ctx, s6.ID, "op1", "ipv6 only")
			if err != nil || !out.ACK {
				t.Fatalf("disconnect of the IPv6-only session: %+v, %v", out, err)
			}
			got, err := e.st.SessionByID(ctx, s6.ID)
			if err != nil || got.Status != access.SessionClosed {
				t.Fatalf("after the disconnect: %+v, %v", got, err)
			}
			if _, ok := b.Session(r6.AcctSessionID); ok {
				t.Fatal("the BAS still has the IPv6 session")
			}
			if _, ok := b.Session(r4.AcctSessionID); !ok {
				t.Fatal("the BAS ended the IPv4 session too")
			}
		})
	}
}
