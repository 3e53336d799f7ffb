package portalproto

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
)

const testSecret = "testing123"

type vector struct {
	name string
	data []byte
}

// readVectors parses testdata/portal-vectors.txt (vectors computed from the
// formulas in docs/protocols.md): a name line, then a hex line.
func readVectors(t testing.TB) []vector {
	t.Helper()
	f, err := os.Open("testdata/portal-vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vector
	var name string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if name == "" {
			name = line
			continue
		}
		b, err := hex.DecodeString(line)
		if err != nil {
			t.Fatalf("vector %q: %v", name, err)
		}
		out = append(out, vector{name, b})
		name = ""
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if name != "" {
		t.Fatalf("vector %q has no data line", name)
	}
	return out
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestGoldenVectors(t *testing.T) {
	secret := []byte(testSecret)
	userIP := netip.MustParseAddr("10.1.2.3")
	basIP := []byte{10, 0, 0, 1}
	challenge := mustHex("000102030405060708090a0b0c0d0e0f")
	token := []byte("one-time-token-0001")
	chapPW := mustHex("16560474f023f9f002b386c7e38ab15d")

	// Authenticators of the requests that responses are seeded with, as
	// computed by Marshal of the earlier vectors (and checked against them).
	var reqChallengeAuth, reqAuthAuth [16]byte
	copy(reqChallengeAuth[:], mustHex("014b7c2aa5a3fdacfc8a96cb277fee99"))
	copy(reqAuthAuth[:], mustHex("8f3b9153cb25b5803f28f043f4aebebb"))

	type tc struct {
		pkt         *Packet
		requestAuth *[16]byte
		text        string // expected TextInfo
		bytes       func() []byte
	}
	cases := map[string]tc{
		"v2 REQ_CHALLENGE serial=0x1234 reqid=0 userip=10.1.2.3, no attributes": {
			pkt: &Packet{Version: V2, Type: ReqChallenge, SerialNo: 0x1234, UserIP: userIP},
		},
		"v2 ACK_CHALLENGE answering the above: reqid=0x0102, Challenge=000102..0f, BAS-IP=10.0.0.1 (response authenticator seeded with the request's)": {
			pkt: &Packet{Version: V2, Type: AckChallenge, SerialNo: 0x1234, ReqID: 0x0102, UserIP: userIP,
				Attrs: []Attr{{AttrChallenge, challenge}, {AttrBASIP, basIP}}},
			requestAuth: &reqChallengeAuth,
		},
		"ChapPassWord = MD5(0x02 || 'one-time-token-0001' || challenge)": {
			bytes: func() []byte { return ChapPassword(0x0102, token, challenge) },
		},
		"v2 REQ_AUTH CHAP serial=0x1235 reqid=0x0102 UserName=u1 ChapPassWord=above": {
			pkt: &Packet{Version: V2, Type: ReqAuth, Auth: AuthCHAP, SerialNo: 0x1235, ReqID: 0x0102, UserIP: userIP,
				Attrs: []Attr{{AttrUserName, []byte("u1")}, {AttrChapPassword, chapPW}}},
		},
		"v2 ACK_AUTH ErrCode=0 answering the above, BAS-IP=10.0.0.1": {
			pkt: &Packet{Version: V2, Type: AckAuth, SerialNo: 0x1235, ReqID: 0x0102, UserIP: userIP,
				Attrs: []Attr{{AttrBASIP, basIP}}},
			requestAuth: &reqAuthAuth,
		},
		"v2 ACK_AUTH ErrCode=1 with TextInfo (UTF-8) '账户欠费 / account in arrears', BAS-IP=10.0.0.1": {
			pkt: &Packet{Version: V2, Type: AckAuth, SerialNo: 0x1235, ReqID: 0x0102, UserIP: userIP, ErrCode: CodeRejected,
				Attrs: []Attr{{AttrTextInfo, []byte("账户欠费 / account in arrears")}, {AttrBASIP, basIP}}},
			requestAuth: &reqAuthAuth,
			text:        "账户欠费 / account in arrears",
		},
		"v2 AFF_ACK_AUTH serial=0x1235 reqid=0x0102 BAS-IP=10.0.0.1": {
			pkt: &Packet{Version: V2, Type: AffAckAuth, SerialNo: 0x1235, ReqID: 0x0102, UserIP: userIP,
				Attrs: []Attr{{AttrBASIP, basIP}}},
		},
		"v2 REQ_LOGOUT ErrCode=0 serial=0x1236 BAS-IP=10.0.0.1": {
			pkt: &Packet{Version: V2, Type: ReqLogout, SerialNo: 0x1236, UserIP: userIP,
				Attrs: []Attr{{AttrBASIP, basIP}}},
		},
		"v2 REQ_LOGOUT ErrCode=1 (timeout notice for the REQ_AUTH above) serial=0x1235 reqid=0x0102": {
			pkt: &Packet{Version: V2, Type: ReqLogout, SerialNo: 0x1235, ReqID: 0x0102, UserIP: userIP, ErrCode: CodeLogoutTimeout,
				Attrs: []Attr{{AttrBASIP, basIP}}},
		},
		"v2 NTF_LOGOUT from the BAS serial=0x0042 reqid=0x0102 BAS-IP=10.0.0.1 (request-style authenticator)": {
			pkt: &Packet{Version: V2, Type: NtfLogout, SerialNo: 0x0042, ReqID: 0x0102, UserIP: userIP,
				Attrs: []Attr{{AttrBASIP, basIP}}},
		},
		"v1 REQ_AUTH PAP serial=0x0007 reqid=0 userip=10.9.8.7 UserName=u1 PassWord=one-time-token-0001 (no authenticator in v1)": {
			pkt: &Packet{Version: V1, Type: ReqAuth, Auth: AuthPAP, SerialNo: 0x0007, UserIP: netip.MustParseAddr("10.9.8.7"),
				Attrs: []Attr{{AttrUserName, []byte("u1")}, {AttrPassword, token}}},
		},
	}

	vectors := readVectors(t)
	if len(vectors) != len(cases) {
		t.Errorf("%d vectors in the file, %d test cases", len(vectors), len(cases))
	}
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			c, ok := cases[v.name]
			if !ok {
				t.Fatalf("no test case for this vector")
			}
			if c.bytes != nil {
				if got := c.bytes(); !bytes.Equal(got, v.data) {
					t.Fatalf("got %x, want %x", got, v.data)
				}
				return
			}
			// Encode.
			enc := *c.pkt
			got, err := enc.Marshal(secret, c.requestAuth)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, v.data) {
				t.Fatalf("Marshal:\n got %x\nwant %x", got, v.data)
			}
			// Decode and verify.
			p, err := Unmarshal(v.data)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Verify(secret, c.requestAuth); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.Version == V2 {
				if err := p.Verify([]byte("wrong-secret"), c.requestAuth); !errors.Is(err, ErrBadAuthenticator) {
					t.Errorf("Verify with a wrong secret: %v, want ErrBadAuthenticator", err)
				}
			}
			want := *c.pkt
			want.Authenticator = enc.Authenticator
			p.raw = nil
			if !reflect.DeepEqual(p, &want) {
				t.Errorf("Unmarshal:\n got %+v\nwant %+v", p, &want)
			}
			if p.TextInfo() != c.text {
				t.Errorf("TextInfo = %q, want %q", p.TextInfo(), c.text)
			}
		})
	}
}

// TestProtocolsDocVectors checks the two vectors written into docs/protocols.md.
func TestProtocolsDocVectors(t *testing.T) {
	p := &Packet{Version: V2, Type: ReqChallenge, SerialNo: 0x1234, UserIP: netip.MustParseAddr("10.1.2.3")}
	b, err := p.Marshal([]byte(testSecret), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "02010000123400000a01020300000000014b7c2aa5a3fdacfc8a96cb277fee99"; hex.EncodeToString(b) != want {
		t.Errorf("REQ_CHALLENGE = %x, want %s", b, want)
	}
	chap := ChapPassword(0x0102, []byte("pass"), mustHex("000102030405060708090a0b0c0d0e0f"))
	if want := "b424b3f0816ba234e6ec88ef3e1a60de"; hex.EncodeToString(chap) != want {
		t.Errorf("ChapPassword = %x, want %s", chap, want)
	}
}

func TestUnmarshalErrors(t *testing.T) {
	v2hdr := func(attrNum byte, attrs ...byte) []byte {
		b := mustHex("02040000123501020a010203000000")
		b = append(b, attrNum)
		b = append(b, make([]byte, 16)...)
		return append(b, attrs...)
	}
	tests := []struct {
		name      string
		in        []byte
		wantErr   bool
		wantAttrs int
	}{
		{name: "empty", in: nil, wantErr: true},
		{name: "short v1 header", in: mustHex("010100000001"), wantErr: true},
		{name: "v2 version with a v1-sized header", in: mustHex("02010000123400000a01020300000000"), wantErr: true},
		{name: "unknown version", in: mustHex("03010000123400000a01020300000000"), wantErr: true},
		{name: "attr length 0", in: v2hdr(1, 0x05, 0x00), wantErr: true},
		{name: "attr length 1", in: v2hdr(1, 0x05, 0x01, 0x41), wantErr: true},
		{name: "attr overflows the packet", in: v2hdr(1, 0x05, 0x05, 0x41), wantErr: true},
		{name: "lone type byte", in: v2hdr(1, 0x05), wantErr: true},
		{name: "second attr truncated", in: v2hdr(2, 0x05, 0x03, 0x41, 0x05, 0x09), wantErr: true},
		{name: "empty attr, Len 2", in: v2hdr(1, 0x06, 0x02), wantAttrs: 1},
		{name: "unknown attr type kept", in: v2hdr(1, 0x77, 0x03, 0x41), wantAttrs: 1},
		{name: "more attrs than AttrNum", in: v2hdr(1, 0x05, 0x03, 0x41, 0x05, 0x03, 0x42), wantAttrs: 2},
		{name: "fewer attrs than AttrNum", in: v2hdr(3, 0x05, 0x03, 0x41), wantAttrs: 1},
		{name: "zero padding after AttrNum attrs", in: v2hdr(1, 0x05, 0x03, 0x41, 0, 0, 0, 0), wantAttrs: 1},
		{name: "garbage tail after AttrNum attrs", in: v2hdr(1, 0x05, 0x03, 0x41, 0x07), wantAttrs: 1},
		{name: "too long", in: append(v2hdr(0), make([]byte, maxPacketLen)...), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Unmarshal(tt.in)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Attrs) != tt.wantAttrs {
				t.Errorf("%d attributes, want %d", len(p.Attrs), tt.wantAttrs)
			}
		})
	}
}

// TestVerifyRawBytes: a peer's non-canonical encoding (Rsv set, AttrNum off,
// padding) still verifies, because Verify hashes the bytes received.
func TestVerifyRawBytes(t *testing.T) {
	p := &Packet{Version: V2, Type: NtfLogout, SerialNo: 9, UserIP: netip.MustParseAddr("10.1.2.3"),
		Attrs: []Attr{{AttrBASIP, []byte{10, 0, 0, 1}}}}
	b, err := p.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b[3] = 0x55 // Rsv
	b[15] = 0   // AttrNum
	b = append(b, 0, 0)
	auth := authenticator(b, [16]byte{}, []byte(testSecret))
	copy(b[16:32], auth[:])
	q, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Verify([]byte(testSecret), nil); err != nil {
		t.Fatal(err)
	}
}

func TestMarshalErrors(t *testing.T) {
	ip := netip.MustParseAddr("10.1.2.3")
	auth := &[16]byte{1}
	tests := []struct {
		name        string
		p           Packet
		requestAuth *[16]byte
		want        error
	}{
		{name: "response without request authenticator", p: Packet{Version: V2, Type: AckAuth, UserIP: ip}, want: ErrAuthenticatorSeed},
		{name: "request with a request authenticator", p: Packet{Version: V2, Type: ReqAuth, UserIP: ip}, requestAuth: auth, want: ErrAuthenticatorSeed},
		{name: "IPv6 user", p: Packet{Version: V2, Type: ReqAuth, UserIP: netip.MustParseAddr("2001:db8::1")}, want: ErrInvalidPacket},
		{name: "bad version", p: Packet{Version: 3, Type: ReqAuth, UserIP: ip}, want: ErrInvalidPacket},
		{name: "attribute too long", p: Packet{Version: V2, Type: ReqAuth, UserIP: ip, Attrs: []Attr{{AttrUserName, make([]byte, 254)}}}, want: ErrInvalidPacket},
		{name: "v1 response needs no authenticator", p: Packet{Version: V1, Type: AckAuth, UserIP: ip}},
		{name: "longest attribute", p: Packet{Version: V2, Type: ReqAuth, UserIP: ip, Attrs: []Attr{{AttrUserName, make([]byte, 253)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.p.Marshal([]byte(testSecret), tt.requestAuth)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestIsRequest(t *testing.T) {
	for _, typ := range []Type{ReqChallenge, ReqAuth, ReqLogout, AffAckAuth, NtfLogout, ReqInfo, NtfHeartbeat, StatusNotify} {
		if !IsRequest(typ) {
			t.Errorf("IsRequest(%v) = false", typ)
		}
	}
	for _, typ := range []Type{AckChallenge, AckAuth, AckLogout, AckInfo, AckNtfLogout, AckStatusNotify} {
		if IsRequest(typ) {
			t.Errorf("IsRequest(%v) = true", typ)
		}
	}
}

func TestDecodeText(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{name: "ascii", in: []byte("no balance"), want: "no balance"},
		{name: "utf-8", in: []byte("账户欠费"), want: "账户欠费"},
		{name: "gb18030", in: EncodeGB18030("账户欠费，请充值"), want: "账户欠费，请充值"},
		{name: "trailing NUL", in: []byte("用户已在线\x00\x00"), want: "用户已在线"},
		{name: "empty", in: nil, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DecodeText(tt.in); got != tt.want {
				t.Errorf("DecodeText = %q, want %q", got, tt.want)
			}
		})
	}
	p := &Packet{Attrs: []Attr{{AttrTextInfo, []byte("a")}, {AttrBASIP, []byte{1, 2, 3, 4}}, {AttrTextInfo, EncodeGB18030("乙")}}}
	if got := p.TextInfo(); got != "a; 乙" {
		t.Errorf("TextInfo = %q", got)
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, v := range readVectors(f) {
		f.Add(v.data)
	}
	f.Add(mustHex("0108000000420000c0a80001000000010b06aabbccddeeff"))
	f.Add(mustHex("02040000123501020a01020300000102000000000000000000000000000000000523e8"))
	for _, v := range ipv6Vectors {
		f.Add(mustHex(v.hex))
	}
	secret := []byte(testSecret)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Unmarshal(b)
		if err != nil {
			return
		}
		_ = p.TextInfo()
		// The IPv6 attributes read safely whatever their length, and an
		// address read is one a user could hold.
		u := PacketUser(p)
		if u.IPv6.IsValid() && !usableIPv6(u.IPv6) {
			t.Fatalf("unusable IPv6 user address %v", u.IPv6)
		}
		if a, ok := p.BASIPv6(); ok && (!a.Is6() || a.Is4In6()) {
			t.Fatalf("BAS-IPv6 %v", a)
		}
		verified := p.Verify(secret, nil) == nil || p.Version == V1
		var reqAuth *[16]byte
		if !IsRequest(p.Type) {
			reqAuth = &[16]byte{}
		}
		q := *p
		out, err := q.Marshal(secret, reqAuth)
		if err != nil {
			// Only packets beyond what we encode: more than 255 attributes.
			if len(p.Attrs) <= maxAttrs {
				t.Fatalf("Marshal of a decoded packet: %v", err)
			}
			return
		}
		p2, err := Unmarshal(out)
		if err != nil {
			t.Fatalf("Unmarshal of Marshal output: %v", err)
		}
		if err := p2.Verify(secret, reqAuth); err != nil {
			t.Fatalf("Verify of Marshal output: %v", err)
		}
		if p2.Version != p.Version || p2.Type != p.Type || p2.Auth != p.Auth || p2.SerialNo != p.SerialNo ||
			p2.ReqID != p.ReqID || p2.UserIP != p.UserIP || p2.UserPort != p.UserPort || p2.ErrCode != p.ErrCode ||
			len(p2.Attrs) != len(p.Attrs) {
			t.Fatalf("round trip changed the header:\n%+v\n%+v", p, p2)
		}
		for i := range p.Attrs {
			if p.Attrs[i].Type != p2.Attrs[i].Type || !bytes.Equal(p.Attrs[i].Value, p2.Attrs[i].Value) {
				t.Fatalf("round trip changed attribute %d", i)
			}
		}
		// A canonical, correctly signed request comes back byte for byte.
		canonical := b[3] == 0 && int(b[15]) == len(p.Attrs) && len(b) == len(out)
		if verified && canonical && reqAuth == nil && !bytes.Equal(out, b) {
			t.Fatalf("round trip of a signed request:\n got %x\nwant %x", out, b)
		}
	})
}
