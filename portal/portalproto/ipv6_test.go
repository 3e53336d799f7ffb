package portalproto

import (
	"bytes"
	"context"
	"net/netip"
	"testing"
	"time"
)

// Golden packets with IPv6 attributes, computed from the authenticator
// formula by a script independent of this package (docs/protocols.md
// lists the attributes and their sources); secret testing123.
var ipv6Vectors = []struct {
	name string
	hex  string
	pkt  Packet
	seed *[16]byte // the request's authenticator, for answers
}{
	{
		name: "v2 REQ_AUTH CHAP dual stack, Huawei User-IPv6 2001:db8:1:2::10",
		hex:  "02030000124001020a0102030000000418a39798c03046494fd3b9bb0ba2add3f11220010db800010002000000000000001001047531041216560474f023f9f002b386c7e38ab15d0a060a000001",
		pkt: Packet{Version: V2, Type: ReqAuth, SerialNo: 0x1240, ReqID: 0x0102, UserIP: netip.MustParseAddr("10.1.2.3"), Attrs: []Attr{
			{AttrUserIPv6, netip.MustParseAddr("2001:db8:1:2::10").AsSlice()},
			{AttrUserName, []byte("u1")},
			{AttrChapPassword, mustHex("16560474f023f9f002b386c7e38ab15d")},
			{AttrBASIP, []byte{10, 0, 0, 1}},
		}},
	},
	{
		name: "v2 REQ_CHALLENGE IPv6 only, H3C UserIPv6-List 2001:db8:1:2::20",
		hex:  "02010000124100000000000000000001d239b12b83144a8227daebae0a4a934a651220010db8000100020000000000000020",
		pkt: Packet{Version: V2, Type: ReqChallenge, SerialNo: 0x1241, UserIP: netip.IPv4Unspecified(), Attrs: []Attr{
			{AttrUserIPv6List, netip.MustParseAddr("2001:db8:1:2::20").AsSlice()},
		}},
	},
	{
		name: "v2 ACK_CHALLENGE answering it",
		hex:  "02020000124102030000000000000003a6b014e3ff6f0f5a6c31863ff54f6acd651220010db80001000200000000000000200312000102030405060708090a0b0c0d0e0f0a060a000001",
		pkt: Packet{Version: V2, Type: AckChallenge, SerialNo: 0x1241, ReqID: 0x0203, UserIP: netip.IPv4Unspecified(), Attrs: []Attr{
			{AttrUserIPv6List, netip.MustParseAddr("2001:db8:1:2::20").AsSlice()},
			{AttrChallenge, mustHex("000102030405060708090a0b0c0d0e0f")},
			{AttrBASIP, []byte{10, 0, 0, 1}},
		}},
		seed: (*[16]byte)(mustHex("d239b12b83144a8227daebae0a4a934a")),
	},
	{
		name: "v2 NTF_LOGOUT IPv6 only, Huawei User-IPv6, UserMac",
		hex:  "0208000000420007000000000000000382c4ab61ed2dc615007869c3142b66470a060a000001f11220010db80001000200000000000000100b08aabbccddeeff",
		pkt: Packet{Version: V2, Type: NtfLogout, SerialNo: 0x0042, ReqID: 0x0007, UserIP: netip.IPv4Unspecified(), Attrs: []Attr{
			{AttrBASIP, []byte{10, 0, 0, 1}},
			{AttrUserIPv6, netip.MustParseAddr("2001:db8:1:2::10").AsSlice()},
			{AttrUserMAC, mustHex("aabbccddeeff")},
		}},
	},
	{
		name: "v2 ACK_NTF_LOGOUT answering it",
		hex:  "020e0000004200070000000000000002b2e1766990fdd2394423df6f1a27d5cef11220010db80001000200000000000000100a060a000001",
		pkt: Packet{Version: V2, Type: AckNtfLogout, SerialNo: 0x0042, ReqID: 0x0007, UserIP: netip.IPv4Unspecified(), Attrs: []Attr{
			{AttrUserIPv6, netip.MustParseAddr("2001:db8:1:2::10").AsSlice()},
			{AttrBASIP, []byte{10, 0, 0, 1}},
		}},
		seed: (*[16]byte)(mustHex("82c4ab61ed2dc615007869c3142b6647")),
	},
	{
		name: "v2 NTF_LOGOUT dual stack, H3C BAS-IPv6 and a two-address UserIPv6-List",
		hex:  "02080000004300000a010203000000024377720cf18d5a416d79d8d2bc2c7e64641220010db8000000000000000000000001652220010db800010002000000000000001020010db8000100020000000000000011",
		pkt: Packet{Version: V2, Type: NtfLogout, SerialNo: 0x0043, UserIP: netip.MustParseAddr("10.1.2.3"), Attrs: []Attr{
			{AttrBASIPv6, netip.MustParseAddr("2001:db8::1").AsSlice()},
			{AttrUserIPv6List, append(netip.MustParseAddr("2001:db8:1:2::10").AsSlice(), netip.MustParseAddr("2001:db8:1:2::11").AsSlice()...)},
		}},
	},
}

func TestIPv6GoldenEncode(t *testing.T) {
	for _, v := range ipv6Vectors {
		p := v.pkt
		got, err := p.Marshal([]byte(testSecret), v.seed)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		if want := mustHex(v.hex); !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %x\nwant %x", v.name, got, want)
		}
	}
}

func TestIPv6GoldenDecode(t *testing.T) {
	want := map[string]User{
		"v2 REQ_AUTH CHAP dual stack, Huawei User-IPv6 2001:db8:1:2::10":         {IP: netip.MustParseAddr("10.1.2.3"), IPv6: netip.MustParseAddr("2001:db8:1:2::10")},
		"v2 REQ_CHALLENGE IPv6 only, H3C UserIPv6-List 2001:db8:1:2::20":         {IPv6: netip.MustParseAddr("2001:db8:1:2::20")},
		"v2 ACK_CHALLENGE answering it":                                          {IPv6: netip.MustParseAddr("2001:db8:1:2::20")},
		"v2 NTF_LOGOUT IPv6 only, Huawei User-IPv6, UserMac":                     {IPv6: netip.MustParseAddr("2001:db8:1:2::10"), MAC: "aa:bb:cc:dd:ee:ff"},
		"v2 ACK_NTF_LOGOUT answering it":                                         {IPv6: netip.MustParseAddr("2001:db8:1:2::10")},
		"v2 NTF_LOGOUT dual stack, H3C BAS-IPv6 and a two-address UserIPv6-List": {IP: netip.MustParseAddr("10.1.2.3"), IPv6: netip.MustParseAddr("2001:db8:1:2::10")},
	}
	for _, v := range ipv6Vectors {
		p, err := Unmarshal(mustHex(v.hex))
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		if err := p.Verify([]byte(testSecret), v.seed); err != nil {
			t.Errorf("%s: %v", v.name, err)
		}
		if got := PacketUser(p); got != want[v.name] {
			t.Errorf("%s: user %+v, want %+v", v.name, got, want[v.name])
		}
	}
	p, _ := Unmarshal(mustHex(ipv6Vectors[5].hex))
	if a, ok := p.BASIPv6(); !ok || a != netip.MustParseAddr("2001:db8::1") {
		t.Errorf("BAS-IPv6: %v %v", a, ok)
	}
	// Values a BAS should not send are ignored, not misread.
	for _, bad := range [][]Attr{
		{{AttrUserIPv6, make([]byte, 15)}},                                 // short
		{{AttrUserIPv6, netip.MustParseAddr("::ffff:10.1.2.3").AsSlice()}}, // IPv4-mapped
		{{AttrUserIPv6, make([]byte, 16)}},                                 // unspecified
		{{AttrUserIPv6List, make([]byte, 20)}},                             // not a multiple of 16
		{{AttrUserIPv6List, netip.MustParseAddr("ff02::1").AsSlice()}},     // multicast
	} {
		q := Packet{Version: V2, Type: NtfLogout, Attrs: bad}
		if a, ok := q.UserIPv6(); ok {
			t.Errorf("%x: read as %v", bad[0].Value, a)
		}
	}
}

// A dual-stack and an IPv6-only login through the BAS server, and the
// logout of each: the BAS sees the IPv6 address in the style the client
// was configured with.
func TestLoginUserIPv6(t *testing.T) {
	for _, style := range []IPv6Style{IPv6Huawei, IPv6H3C} {
		t.Run(style.String(), func(t *testing.T) {
			h := &simBAS{token: []byte("tok")}
			rec := &recorder{}
			srv := &BASServer{Secret: testSecret, BASIP: testBASIP, Handler: h, OnPacket: rec.record}
			addr := startBAS(t, srv)
			c := newClient(t, ClientConfig{BASAddr: addr, Secret: testSecret, BASIP: testBASIP, IPv6Style: style, Timeout: 2 * time.Second})
			ctx := context.Background()
			v6 := netip.MustParseAddr("2001:db8:1:2::30")
			for _, u := range []User{{IP: testUser, IPv6: v6, MAC: testMAC}, {IPv6: v6}} {
				if _, err := c.LoginUser(ctx, u, "u1", []byte("tok")); err != nil {
					t.Fatalf("login %+v: %v", u, err)
				}
				h.mu.Lock()
				got := h.auths[len(h.auths)-1]
				h.mu.Unlock()
				if got.UserIPv6 != v6 || got.UserIP != u.IP {
					t.Errorf("BAS saw %v / %v, want %v / %v", got.UserIP, got.UserIPv6, u.IP, v6)
				}
				if err := c.LogoutUser(ctx, u); err != nil {
					t.Fatalf("logout %+v: %v", u, err)
				}
				lo := h.logoutsSeen()
				if l := lo[len(lo)-1]; l.UserIPv6 != v6 || l.UserIP != u.IP {
					t.Errorf("logout saw %+v", l)
				}
			}
			want := AttrUserIPv6
			if style == IPv6H3C {
				want = AttrUserIPv6List
			}
			if p := rec.find(func(p *Packet) bool { return p.Type == ReqAuth }); p == nil {
				t.Fatal("no REQ_AUTH seen")
			} else if _, ok := p.Attr(want); !ok {
				t.Errorf("REQ_AUTH without attribute %#x: %+v", want, p.Attrs)
			}
			// The address-only Login takes an IPv6 address too.
			if _, err := c.Login(ctx, v6, "", "u1", []byte("tok")); err != nil {
				t.Fatalf("Login(IPv6): %v", err)
			}
			for _, bad := range []User{{}, {IPv6: netip.MustParseAddr("fe80::1%eth0")}, {IP: testUser, IPv6: netip.MustParseAddr("::ffff:10.0.0.9")}} {
				if _, err := c.LoginUser(ctx, bad, "u1", []byte("tok")); err == nil {
					t.Errorf("LoginUser(%+v) accepted", bad)
				}
			}
		})
	}
}

// NTF_LOGOUT for an IPv6-only user reaches the portal's handler with the
// address and is acknowledged (the BAS side checks the ACK's
// authenticator).
func TestNotifyLogoutIPv6(t *testing.T) {
	ps := startPortalSide(t)
	v6 := netip.MustParseAddr("2001:db8:1:2::40")
	for _, style := range []IPv6Style{IPv6Huawei, IPv6H3C} {
		bas := &BASServer{Secret: testSecret, BASIP: testBASIP, IPv6Style: style, NotifyRetries: -1, NotifyWindow: time.Second}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err := bas.SendNotifyLogoutUser(ctx, ps.addr, User{IPv6: v6, MAC: testMAC})
		cancel()
		if err != nil {
			t.Fatalf("%v: NTF_LOGOUT not acknowledged: %v", style, err)
		}
		got := ps.expectCalls(t, 1)
		if want := (logoutCall{testBASIP, netip.Addr{}, testMAC, v6}); got[0] != want {
			t.Errorf("%v: handler got %+v, want %+v", style, got[0], want)
		}
	}
}
