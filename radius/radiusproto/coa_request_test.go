package radiusproto

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
)

// startCoANAS runs ListenDisconnect answering CoA-Requests: it ACKs those
// for "sess-1" and records the last, NAKs others with Error-Cause 503.
func startCoANAS(t *testing.T, secret string) (*NAS, *atomic.Pointer[radius.Packet]) {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var last atomic.Pointer[radius.Packet]
	done := make(chan error, 1)
	go func() {
		done <- ListenDisconnect(conn, []byte(secret), func(req *radius.Packet) (bool, int) {
			last.Store(req)
			if req.Code != radius.CodeCoARequest || rfc2866.AcctSessionID_GetString(req) != "sess-1" {
				return false, 503
			}
			return true, 0
		})
	}()
	t.Cleanup(func() {
		conn.Close()
		if err := <-done; err != nil {
			t.Errorf("ListenDisconnect: %v", err)
		}
	})
	return &NAS{Name: "bras-1", IP: netip.MustParseAddr("127.0.0.1"), Secret: []byte(testSecret),
		CoAPort: conn.LocalAddr().(*net.UDPAddr).Port}, &last
}

func rateVSA(t *testing.T, vendor uint32, typ byte, bps uint32) radius.Attribute {
	t.Helper()
	v := []byte{typ, 6, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(v[2:], bps)
	a, err := radius.NewVendorSpecific(vendor, v)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestCoA: a CoA-Request names the session, carries the attributes given,
// is signed (Request Authenticator and Message-Authenticator, which the
// listener checks before it calls fn) and gets the verified CoA-ACK; an
// unknown session gets a CoA-NAK with its Error-Cause.
func TestCoA(t *testing.T) {
	nas, last := startCoANAS(t, testSecret)
	c := &CoAClient{Retry: 200 * time.Millisecond}
	defer c.Close()
	var attrs radius.Attributes
	attrs.Add(rfc2865.VendorSpecific_Type, rateVSA(t, 2011, 2, 2048000))
	attrs.Add(rfc2865.FilterID_Type, radius.Attribute("campusnet-slow"))
	id := SessionIdent{UserName: testUser, AcctSessionID: "sess-1", FramedIP: netip.MustParseAddr("10.1.2.3"), NASIP: nas.IP}

	reply, tries, err := c.CoA(context.Background(), nas, id, attrs)
	if err != nil {
		t.Fatal(err)
	}
	if reply.Code != radius.CodeCoAACK || tries != 1 {
		t.Fatalf("CoA = %v after %d tries, want CoA-ACK after 1", reply.Code, tries)
	}
	if ack, cause := CoAAnswer(reply); !ack || cause != 0 {
		t.Fatalf("CoAAnswer = %v %d", ack, cause)
	}
	req := last.Load()
	if req.Code != radius.CodeCoARequest {
		t.Fatalf("request code %v, want CoA-Request (43)", req.Code)
	}
	if _, ok := req.Lookup(attrMessageAuthenticator); !ok {
		t.Fatal("CoA-Request without Message-Authenticator")
	}
	if got := rfc2865.UserName_GetString(req); got != testUser {
		t.Fatalf("User-Name %q", got)
	}
	if got := rfc2865.FilterID_GetString(req); got != "campusnet-slow" {
		t.Fatalf("Filter-Id %q", got)
	}
	vsa, ok := req.Lookup(rfc2865.VendorSpecific_Type)
	if !ok {
		t.Fatal("no Vendor-Specific rate attribute")
	}
	vid, v, err := radius.VendorSpecific(vsa)
	if err != nil || vid != 2011 || v[0] != 2 || binary.BigEndian.Uint32(v[2:]) != 2048000 {
		t.Fatalf("Vendor-Specific %d %x %v, want Huawei-Input-Average-Rate 2048000", vid, v, err)
	}

	id.AcctSessionID = "sess-2"
	reply, _, err = c.CoA(context.Background(), nas, id, attrs)
	if err != nil {
		t.Fatal(err)
	}
	if ack, cause := CoAAnswer(reply); ack || cause != 503 || reply.Code != radius.CodeCoANAK {
		t.Fatalf("CoA of an unknown session = %v ack %v cause %d, want CoA-NAK 503", reply.Code, ack, cause)
	}
}

// TestCoAWrongSecret: a NAS with another secret drops the request; no answer
// is never success.
func TestCoAWrongSecret(t *testing.T) {
	nas, last := startCoANAS(t, "the-nas-has-another")
	c := &CoAClient{Retry: 30 * time.Millisecond, MaxTries: 2}
	defer c.Close()
	_, tries, err := c.CoA(context.Background(), nas, SessionIdent{AcctSessionID: "sess-1"}, nil)
	if !errors.Is(err, ErrNoResponse) || tries != 2 {
		t.Fatalf("CoA = %v after %d tries, want ErrNoResponse after 2", err, tries)
	}
	if last.Load() != nil {
		t.Fatal("the NAS acted on a request signed with another secret")
	}
}

// TestCoAForgedReply: a CoA-ACK signed with another secret (a forger, or a
// NAS configured wrong) is discarded, never taken for an acknowledgement.
func TestCoAForgedReply(t *testing.T) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wrong := []byte("not-the-secret")
	var answered atomic.Int64
	go func() {
		buf := make([]byte, 4096)
		for {
			n, addr, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			req, err := radius.Parse(buf[:n], wrong)
			if err != nil {
				continue
			}
			out, err := encodeReply(req.Response(radius.CodeCoAACK), req.Identifier, req.Authenticator, wrong, true, nil)
			if err != nil {
				continue
			}
			answered.Add(1)
			conn.WriteTo(out, addr)
		}
	}()
	nas := &NAS{Name: "forged", IP: netip.MustParseAddr("127.0.0.1"), Secret: []byte(testSecret), CoAPort: conn.LocalAddr().(*net.UDPAddr).Port}
	c := &CoAClient{Retry: 50 * time.Millisecond, MaxTries: 2}
	defer c.Close()
	reply, _, err := c.CoA(context.Background(), nas, SessionIdent{AcctSessionID: "sess-1"}, nil)
	if !errors.Is(err, ErrNoResponse) || reply != nil {
		t.Fatalf("CoA = %v, %v; want ErrNoResponse", reply, err)
	}
	if answered.Load() == 0 {
		t.Fatal("the forger never answered: the test proves nothing")
	}
}

func TestCoANeedsIdent(t *testing.T) {
	c := &CoAClient{}
	defer c.Close()
	_, _, err := c.CoA(context.Background(), localNAS(true), SessionIdent{NASIP: netip.MustParseAddr("127.0.0.1")}, nil)
	if !errors.Is(err, ErrNoSessionIdent) {
		t.Fatalf("CoA = %v, want ErrNoSessionIdent", err)
	}
}
