package radius_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/radius/radiusproto"
)

// FuzzRequestHandler feeds the policy and accounting handlers arbitrary
// attribute values and lengths (as a BAS with the right secret could send
// them). Nothing may panic, and nothing may be written: the store has no
// account, so no session, device or token can come of it.
func FuzzRequestHandler(f *testing.F) {
	f.Add([]byte("2026001"), []byte("pw"), []byte("00-10-A4-23-19-C0"), []byte{}, []byte{}, uint32(0), []byte("10.0.0.1"), uint32(1), []byte("S1"), []byte("cn:x"))
	f.Add([]byte("0010a42319c0"), []byte{}, []byte("0010a42319c0"), []byte{}, []byte{}, uint32(10), []byte{10, 0, 0, 1}, uint32(2), []byte{}, []byte{})
	f.Add([]byte("u"), []byte{}, []byte{}, make([]byte, 17), []byte("0123456789abcdef"), uint32(2), []byte{1, 2, 3}, uint32(3), []byte("x"), []byte{0xff})
	f.Add(make([]byte, 253), make([]byte, 128), make([]byte, 253), make([]byte, 3), make([]byte, 253), uint32(0xffffffff), make([]byte, 16), uint32(7), make([]byte, 253), make([]byte, 253))
	e := startEnv(f, "sqlite")
	nas := e.svc.NASSource()
	n, _ := nas.NASByIP(netip.MustParseAddr("127.0.0.1"))
	ctx := context.Background()
	clip := func(b []byte) []byte {
		if len(b) > 253 {
			return b[:253]
		}
		return b
	}
	f.Fuzz(func(t *testing.T, user, pass, csid, chap, chal []byte, svcType uint32, ip []byte, status uint32, asid, class []byte) {
		p := layeh.New(layeh.CodeAccessRequest, n.Secret)
		if len(user) > 0 {
			p.Add(rfc2865.UserName_Type, clip(user))
		}
		if len(pass) > 0 {
			p.Add(rfc2865.UserPassword_Type, clip(pass))
		}
		if len(csid) > 0 {
			p.Add(rfc2865.CallingStationID_Type, clip(csid))
		}
		if len(chap) > 0 {
			p.Add(rfc2865.CHAPPassword_Type, clip(chap))
		}
		if len(chal) > 0 {
			p.Add(rfc2865.CHAPChallenge_Type, clip(chal))
		}
		if svcType != 0 {
			mustSet(t, rfc2865.ServiceType_Add(p, rfc2865.ServiceType(svcType)))
		}
		if len(ip) > 0 {
			p.Add(rfc2865.FramedIPAddress_Type, clip(ip))
		}
		req := &radiusproto.Request{NAS: n, Packet: p, Src: netip.MustParseAddrPort("127.0.0.1:1000"), Received: time.Now()}
		reply := e.svc.ServeAccess(ctx, req)
		if reply != nil && reply.Code != layeh.CodeAccessReject {
			t.Fatalf("a request against an empty store got %v", reply.Code)
		}
		q := layeh.New(layeh.CodeAccountingRequest, n.Secret)
		mustSet(t, rfc2866.AcctStatusType_Add(q, rfc2866.AcctStatusType(status)))
		if len(asid) > 0 {
			q.Add(rfc2866.AcctSessionID_Type, clip(asid))
		}
		if len(class) > 0 {
			q.Add(rfc2865.Class_Type, clip(class))
		}
		for _, a := range p.Attributes {
			q.Add(a.Type, a.Attribute)
		}
		_ = e.svc.ServeAccounting(ctx, &radiusproto.Request{NAS: n, Packet: q, Src: req.Src, Received: req.Received})
		for _, table := range []string{"sessions", "devices", "login_tokens", "accounts", "cycles"} {
			if count := storetest.RowCount(t, e.st, table); count != 0 {
				t.Fatalf("%d rows in %s after a fuzzed request", count, table)
			}
		}
	})
}
