package radiusproto

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"testing"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
)

// packetBytes builds a raw packet from a header and attributes given as
// (type, value) pairs.
func packetBytes(code, id byte, auth []byte, attrs ...[]byte) []byte {
	b := []byte{code, id, 0, 0}
	b = append(b, auth...)
	for _, a := range attrs {
		b = append(b, a[0], byte(len(a)+1))
		b = append(b, a[1:]...)
	}
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
	return b
}

func attr(typ byte, value string) []byte { return append([]byte{typ}, value...) }

func seq16(start byte) []byte {
	b := make([]byte, 16)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func hmacMD5(key string, msg []byte) []byte {
	m := hmac.New(md5.New, []byte(key))
	m.Write(msg)
	return m.Sum(nil)
}

func md5Of(parts ...[]byte) []byte {
	h := md5.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// TestMessageAuthenticatorVectors builds each signed packet by hand from the
// RFC formulas and compares it with what the package encodes.
func TestMessageAuthenticatorVectors(t *testing.T) {
	zero := make([]byte, 16)
	maZero := append([]byte{80}, zero...)

	t.Run("access-request RFC 3579 3.2", func(t *testing.T) {
		auth := seq16(0x10)
		// M-A first, then User-Name, as EncodeRequest lays it out.
		want := packetBytes(1, 42, auth, maZero, attr(1, "alice"))
		copy(want[22:38], hmacMD5(testSecret, want)) // header holds the random authenticator
		p := &radius.Packet{Code: radius.CodeAccessRequest, Identifier: 42, Secret: []byte(testSecret)}
		copy(p.Authenticator[:], auth)
		mustSet(t, rfc2865.UserName_SetString(p, "alice"))
		got, err := EncodeRequest(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("EncodeRequest\n got %x\nwant %x", got, want)
		}
		if hasMA, err := verifyRequest(got, []byte(testSecret)); err != nil || !hasMA {
			t.Fatalf("verifyRequest = %v, %v", hasMA, err)
		}
		if _, err := verifyRequest(got, []byte("other")); !errors.Is(err, errBadMA) {
			t.Fatalf("verifyRequest with wrong secret = %v, want errBadMA", err)
		}
	})

	t.Run("disconnect-request RFC 5176 3.4", func(t *testing.T) {
		// M-A over the packet with a zero Request Authenticator, then the
		// Request Authenticator MD5 over the packet holding the M-A.
		want := packetBytes(40, 7, zero, maZero, attr(1, "alice"), attr(44, "sess-1"))
		copy(want[22:38], hmacMD5(testSecret, want))
		copy(want[4:20], md5Of(want, []byte(testSecret)))
		p := &radius.Packet{Code: radius.CodeDisconnectRequest, Identifier: 7, Secret: []byte(testSecret)}
		copy(p.Authenticator[:], seq16(0x99)) // ignored: it is computed
		p.Add(1, radius.Attribute("alice"))
		p.Add(44, radius.Attribute("sess-1"))
		got, err := EncodeRequest(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("EncodeRequest\n got %x\nwant %x", got, want)
		}
		if _, err := verifyRequest(got, []byte(testSecret)); err != nil {
			t.Fatalf("verifyRequest: %v", err)
		}
		if _, err := verifyRequest(got, []byte("other")); !errors.Is(err, errBadAuth) {
			t.Fatalf("verifyRequest with wrong secret = %v, want errBadAuth", err)
		}
	})

	t.Run("accounting-request without M-A RFC 2866", func(t *testing.T) {
		want := packetBytes(4, 9, zero, attr(44, "sess-1"), []byte{40, 0, 0, 0, 1})
		copy(want[4:20], md5Of(want, []byte(testSecret)))
		p := &radius.Packet{Code: radius.CodeAccountingRequest, Identifier: 9, Secret: []byte(testSecret)}
		p.Add(44, radius.Attribute("sess-1"))
		p.Add(40, radius.Attribute{0, 0, 0, 1})
		got, err := EncodeRequest(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("EncodeRequest\n got %x\nwant %x", got, want)
		}
		if hasMA, err := verifyRequest(got, []byte(testSecret)); err != nil || hasMA {
			t.Fatalf("verifyRequest = %v, %v", hasMA, err)
		}
	})

	t.Run("access-accept RFC 3579 3.2 and RFC 2865 3", func(t *testing.T) {
		reqAuth := seq16(0x40)
		// M-A first, computed with the Request Authenticator in the header,
		// then the Response Authenticator over the packet holding it.
		want := packetBytes(2, 42, reqAuth, maZero, attr(18, "welcome"))
		copy(want[22:38], hmacMD5(testSecret, want))
		copy(want[4:20], md5Of(want, []byte(testSecret)))
		reply := &radius.Packet{Code: radius.CodeAccessAccept, Identifier: 42, Secret: []byte(testSecret)}
		reply.Add(18, radius.Attribute("welcome"))
		reply.Add(80, radius.Attribute(seq16(1))) // a stale M-A is replaced, and moved first
		got, err := EncodeReply(reply, [16]byte(reqAuth))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("EncodeReply\n got %x\nwant %x", got, want)
		}
		req := packetBytes(1, 42, reqAuth)
		if _, err := verifyReply(got, req, []byte(testSecret), true); err != nil {
			t.Fatalf("verifyReply: %v", err)
		}
		tampered := append([]byte(nil), got...)
		tampered[len(tampered)-1] ^= 1
		if _, err := verifyReply(tampered, req, []byte(testSecret), true); !errors.Is(err, errBadAuth) {
			t.Fatalf("verifyReply of tampered reply = %v, want errBadAuth", err)
		}
	})
}

func TestVerifyReplyMessageAuthenticator(t *testing.T) {
	reqAuth := seq16(0x40)
	req := packetBytes(1, 5, reqAuth)
	// signed builds a reply with a correct Response Authenticator over
	// whatever M-A value it carries.
	signed := func(ma []byte) []byte {
		var b []byte
		if ma == nil {
			b = packetBytes(2, 5, reqAuth, attr(18, "hi"))
		} else {
			b = packetBytes(2, 5, reqAuth, append([]byte{80}, ma...), attr(18, "hi"))
		}
		copy(b[4:20], md5Of(b, []byte(testSecret)))
		return b
	}
	goodMA := func() []byte {
		b := packetBytes(2, 5, reqAuth, append([]byte{80}, make([]byte, 16)...), attr(18, "hi"))
		return hmacMD5(testSecret, b)
	}()
	tests := []struct {
		name      string
		reply     []byte
		requireMA bool
		want      error
	}{
		{name: "good M-A", reply: signed(goodMA), requireMA: true},
		{name: "forged M-A, valid MD5", reply: signed(seq16(3)), want: errBadMA},
		{name: "no M-A, not required", reply: signed(nil)},
		{name: "no M-A, required", reply: signed(nil), requireMA: true, want: errMissingMA},
		{name: "short M-A", reply: signed(goodMA[:8]), want: errMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := verifyReply(tt.reply, req, []byte(testSecret), tt.requireMA)
			if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
				t.Fatalf("verifyReply = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyRequestRejects(t *testing.T) {
	zero := make([]byte, 16)
	ma := append([]byte{80}, zero...)
	tests := []struct {
		name string
		pkt  []byte
		want error
	}{
		{name: "two M-A", pkt: packetBytes(1, 1, seq16(0), ma, ma), want: errMalformed},
		{name: "attribute overruns", pkt: append(packetBytes(1, 1, seq16(0)), 1, 9, 'x')[:23], want: errMalformed},
		{name: "attribute length 1", pkt: append(packetBytes(1, 1, seq16(0)), 1, 1), want: errMalformed},
		{name: "access-accept as request", pkt: packetBytes(2, 1, seq16(0)), want: errUnsupportedCode},
		{name: "accounting with random authenticator", pkt: packetBytes(4, 1, seq16(0)), want: errBadAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkt := tt.pkt
			if len(pkt) >= 4 {
				binary.BigEndian.PutUint16(pkt[2:4], uint16(len(pkt)))
			}
			_, err := verifyRequest(pkt, []byte(testSecret))
			if !errors.Is(err, tt.want) {
				t.Fatalf("verifyRequest = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyCHAP(t *testing.T) {
	challenge := seq16(0x20)
	const ident = 0x33
	hash := md5Of([]byte{ident}, []byte(testPassword), challenge)
	chap := append([]byte{ident}, hash...)
	tests := []struct {
		name      string
		chap      []byte
		challenge []byte
		password  string
		want      bool
	}{
		{name: "right password", chap: chap, challenge: challenge, password: testPassword, want: true},
		{name: "attribute with header", chap: append([]byte{3, 19}, chap...), challenge: challenge, password: testPassword, want: true},
		{name: "wrong password", chap: chap, challenge: challenge, password: "guess"},
		{name: "wrong challenge", chap: chap, challenge: seq16(0x21), password: testPassword},
		{name: "wrong ident", chap: append([]byte{ident + 1}, hash...), challenge: challenge, password: testPassword},
		{name: "short", chap: chap[:16], challenge: challenge, password: testPassword},
		{name: "empty challenge", chap: chap, password: testPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifyCHAP(tt.chap, tt.challenge, tt.password); got != tt.want {
				t.Fatalf("VerifyCHAP = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCHAPChallenge(t *testing.T) {
	p := radius.New(radius.CodeAccessRequest, []byte(testSecret))
	if got := CHAPChallenge(p); !bytes.Equal(got, p.Authenticator[:]) {
		t.Fatalf("without CHAP-Challenge got %x, want the Request Authenticator", got)
	}
	mustSet(t, rfc2865.CHAPChallenge_Set(p, []byte("0123456789")))
	if got := CHAPChallenge(p); string(got) != "0123456789" {
		t.Fatalf("got %q, want the CHAP-Challenge attribute", got)
	}
}

// TestVerifyReplyZeroVectorMA: FreeRADIUS signs Accounting-Response and
// Disconnect/CoA ACK/NAK over a zero authenticator; clients accept that form
// there, and only there.
func TestVerifyReplyZeroVectorMA(t *testing.T) {
	reqAuth := seq16(0x40)
	zero := make([]byte, 16)
	tests := []struct {
		name string
		code byte
		ok   bool
	}{
		{name: "accounting-response", code: 5, ok: true},
		{name: "disconnect-ack", code: 41, ok: true},
		{name: "coa-nak", code: 45, ok: true},
		{name: "access-accept", code: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := packetBytes(tt.code, 5, zero, append([]byte{80}, zero...))
			copy(b[22:38], hmacMD5(testSecret, b)) // over zeros
			copy(b[4:20], reqAuth)
			copy(b[4:20], md5Of(b, []byte(testSecret)))
			_, err := verifyReply(b, packetBytes(1, 5, reqAuth), []byte(testSecret), false)
			if (err == nil) != tt.ok {
				t.Fatalf("verifyReply = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
