package radiusproto

import (
	"bytes"
	"context"
	"net/netip"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2866"
)

// authenticHandler fails the test if it is given a request that does not
// verify by the RFC formulas, recomputed here independently of the server.
type authenticHandler struct {
	t      *testing.T
	secret string
	calls  int
}

func (h *authenticHandler) check(r *Request) {
	h.calls++
	raw, err := r.Packet.MarshalBinary()
	if err != nil {
		h.t.Fatalf("handler got a packet that does not encode: %v", err)
	}
	types, offs := attrsOf(h.t, raw)
	maOff := -1
	for i, typ := range types {
		if typ == 80 {
			maOff = offs[i]
		}
	}
	switch r.Packet.Code {
	case radius.CodeAccessRequest:
		if maOff < 0 { // the NAS requires it
			h.t.Fatal("handler got an Access-Request without Message-Authenticator")
		}
		if !bytes.Equal(raw[maOff:maOff+16], handMA(raw, maOff, raw[4:20], h.secret)) {
			h.t.Fatal("handler got an Access-Request with a bad Message-Authenticator")
		}
	case radius.CodeAccountingRequest:
		if !bytes.Equal(raw[4:20], handAuth(raw, make([]byte, 16), h.secret)) {
			h.t.Fatal("handler got an Accounting-Request with a bad authenticator")
		}
		if maOff >= 0 && !bytes.Equal(raw[maOff:maOff+16], handMA(raw, maOff, make([]byte, 16), h.secret)) {
			h.t.Fatal("handler got an Accounting-Request with a bad Message-Authenticator")
		}
	default:
		h.t.Fatalf("handler got a %v", r.Packet.Code)
	}
}

func (h *authenticHandler) ServeAccess(_ context.Context, r *Request) *radius.Packet {
	h.check(r)
	return r.Packet.Response(radius.CodeAccessAccept)
}

func (h *authenticHandler) ServeAccounting(_ context.Context, r *Request) error {
	h.check(r)
	return nil
}

// FuzzServeRequest feeds arbitrary datagrams through the server's packet
// handling: no panic, the handler only sees authentic requests, and every
// reply parses and is signed.
func FuzzServeRequest(f *testing.F) {
	seed := func(p *radius.Packet) {
		b, err := EncodeRequest(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(byte(1), b)
		f.Add(byte(2), b)
	}
	seed(accessRequest(f, testSecret, testUser, testPassword))
	seed(accountingRequest(f, testSecret, rfc2866.AcctStatusType_Value_Start))
	withMA := accountingRequest(f, testSecret, rfc2866.AcctStatusType_Value_Stop)
	withMA.Add(attrMessageAuthenticator, make(radius.Attribute, 16))
	seed(withMA)
	seed(radius.New(radius.CodeStatusServer, []byte(testSecret)))
	unsigned, _ := accessRequest(f, testSecret, testUser, testPassword).Encode()
	f.Add(byte(1), unsigned)
	f.Add(byte(1), []byte{})
	f.Add(byte(2), make([]byte, 20))

	src := netip.MustParseAddrPort("127.0.0.1:40000")
	f.Fuzz(func(t *testing.T, port byte, b []byte) {
		h := &authenticHandler{t: t, secret: testSecret}
		s := &Server{NAS: NewStaticNAS(localNAS(true)), Handler: h}
		s.init()
		kind := portAuth
		if port%2 == 0 {
			kind = portAcct
		}
		in := append([]byte(nil), b...)
		out := s.handlePacket(context.Background(), kind, in, src, time.Now())
		if !bytes.Equal(in, b) {
			t.Fatal("handlePacket modified its input")
		}
		if out == nil {
			return
		}
		reply, err := radius.Parse(out, []byte(testSecret))
		if err != nil {
			t.Fatalf("reply does not parse: %v", err)
		}
		if reply.Code != radius.CodeAccountingResponse || radius.Code(b[0]) == radius.CodeStatusServer {
			checkReply(t, out, b, testSecret)
		} else if !bytes.Equal(out[4:20], handAuth(out, b[4:20], testSecret)) {
			t.Fatal("Accounting-Response with a bad Response Authenticator")
		}
		// A retransmission gets the same bytes: from the cache, or for
		// Status-Server (not cached) because its reply is deterministic.
		again := s.handlePacket(context.Background(), kind, b, src, time.Now())
		if !bytes.Equal(again, out) {
			t.Fatalf("retransmission answered\n%x\nfirst\n%x", again, out)
		}
		if h.calls > 1 {
			t.Fatalf("handler called %d times for one request", h.calls)
		}
	})
}
