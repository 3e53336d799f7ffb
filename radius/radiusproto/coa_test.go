package radiusproto

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"github.com/campusnet/campusnet/internal/testwait"
)

// simulatedNAS runs ListenDisconnect on 127.0.0.1:0: it knows one session,
// "sess-1", which it removes on the first Disconnect-Request.
type simulatedNAS struct {
	nas   *NAS
	calls atomic.Int64
	mu    sync.Mutex
	last  *radius.Packet
}

func startNAS(t *testing.T, secret string) *simulatedNAS {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	s := &simulatedNAS{nas: &NAS{Name: "bras-1", IP: netip.MustParseAddr("127.0.0.1"), Secret: []byte(testSecret), CoAPort: port}}
	online := map[string]bool{"sess-1": true}
	done := make(chan error, 1)
	go func() {
		done <- ListenDisconnect(conn, []byte(secret), func(req *radius.Packet) (bool, int) {
			s.calls.Add(1)
			s.mu.Lock()
			defer s.mu.Unlock()
			s.last = req
			id := rfc2866.AcctSessionID_GetString(req)
			if !online[id] {
				return false, 503
			}
			delete(online, id)
			return true, 0
		})
	}()
	t.Cleanup(func() {
		conn.Close()
		if err := <-done; err != nil {
			t.Errorf("ListenDisconnect: %v", err)
		}
	})
	return s
}

func TestDisconnect(t *testing.T) {
	sim := startNAS(t, testSecret)
	c := &CoAClient{Retry: 200 * time.Millisecond}
	defer c.Close()
	ident := SessionIdent{
		UserName:         testUser,
		AcctSessionID:    "sess-1",
		FramedIP:         netip.MustParseAddr("10.1.2.3"),
		CallingStationID: "00-10-A4-23-19-C0",
		NASIP:            netip.MustParseAddr("127.0.0.1"),
	}

	reply, tries, err := c.Disconnect(context.Background(), sim.nas, ident)
	if err != nil {
		t.Fatal(err)
	}
	if ack, cause := DisconnectAnswer(reply); !ack || cause != 0 || tries != 1 {
		t.Fatalf("first Disconnect = ack %v cause %d after %d tries, want ACK after 1 try", ack, cause, tries)
	}
	sim.mu.Lock()
	req := sim.last
	sim.mu.Unlock()
	if _, ok := req.Lookup(attrMessageAuthenticator); !ok {
		t.Fatal("Disconnect-Request without Message-Authenticator")
	}
	if got := rfc2865.UserName_GetString(req); got != testUser {
		t.Fatalf("User-Name %q", got)
	}
	if got := rfc2865.FramedIPAddress_Get(req).String(); got != "10.1.2.3" {
		t.Fatalf("Framed-IP-Address %s", got)
	}
	if got := rfc2865.NASIPAddress_Get(req).String(); got != "127.0.0.1" {
		t.Fatalf("NAS-IP-Address %s", got)
	}
	if got := rfc2865.CallingStationID_GetString(req); got != "00-10-A4-23-19-C0" {
		t.Fatalf("Calling-Station-Id %q", got)
	}

	// The session is gone now: NAK with Error-Cause 503.
	reply, _, err = c.Disconnect(context.Background(), sim.nas, ident)
	if err != nil {
		t.Fatal(err)
	}
	if ack, cause := DisconnectAnswer(reply); ack || cause != 503 {
		t.Fatalf("second Disconnect = ack %v cause %d, want NAK with Error-Cause 503", ack, cause)
	}
}

func TestDisconnectSilence(t *testing.T) {
	// A socket that reads and never answers: a NAS that is down, or that
	// drops our requests.
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var got atomic.Int64
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, _, err := conn.ReadFrom(buf); err != nil {
				return
			}
			got.Add(1)
		}
	}()
	nas := &NAS{Name: "dead", IP: netip.MustParseAddr("127.0.0.1"), Secret: []byte(testSecret), CoAPort: conn.LocalAddr().(*net.UDPAddr).Port}
	c := &CoAClient{Retry: 30 * time.Millisecond, MaxTries: 3}
	defer c.Close()
	reply, tries, err := c.Disconnect(context.Background(), nas, SessionIdent{AcctSessionID: "sess-1"})
	if !errors.Is(err, ErrNoResponse) {
		t.Fatalf("Disconnect = %v, %v; want ErrNoResponse", reply, err)
	}
	if reply != nil || tries != 3 {
		t.Fatalf("answer %v after %d tries, want none after 3 tries", reply, tries)
	}
	testwait.For(t, "three copies", func() bool { return got.Load() == 3 })
}

func TestDisconnectWrongSecret(t *testing.T) {
	sim := startNAS(t, "the-nas-has-another")
	c := &CoAClient{Retry: 30 * time.Millisecond, MaxTries: 2}
	defer c.Close()
	_, _, err := c.Disconnect(context.Background(), sim.nas, SessionIdent{AcctSessionID: "sess-1"})
	if !errors.Is(err, ErrNoResponse) {
		t.Fatalf("Disconnect = %v, want ErrNoResponse", err)
	}
	if n := sim.calls.Load(); n != 0 {
		t.Fatalf("the NAS acted on %d unauthenticated requests", n)
	}
}

func TestDisconnectNeedsIdent(t *testing.T) {
	c := &CoAClient{}
	defer c.Close()
	_, _, err := c.Disconnect(context.Background(), localNAS(true), SessionIdent{NASIP: netip.MustParseAddr("127.0.0.1")})
	if !errors.Is(err, ErrNoSessionIdent) {
		t.Fatalf("Disconnect = %v, want ErrNoSessionIdent", err)
	}
}

// TestListenDisconnectRetransmission: a retransmitted Disconnect-Request
// gets the same ACK, not a NAK for a session already gone.
func TestListenDisconnectRetransmission(t *testing.T) {
	sim := startNAS(t, testSecret)
	p := radius.New(radius.CodeDisconnectRequest, []byte(testSecret))
	mustSet(t, rfc2866.AcctSessionID_SetString(p, "sess-1"))
	req := encodeReq(t, p)
	c := dialRaw(t, netip.AddrPortFrom(sim.nas.IP, uint16(sim.nas.CoAPort)).String())
	for i := range 2 {
		c.send(req)
		reply := c.recv(2 * time.Second)
		if reply == nil {
			t.Fatalf("copy %d: no answer", i+1)
		}
		if reply[0] != byte(radius.CodeDisconnectACK) {
			t.Fatalf("copy %d: code %d, want Disconnect-ACK", i+1, reply[0])
		}
		checkReply(t, reply, req, testSecret)
	}
	if n := sim.calls.Load(); n != 1 {
		t.Fatalf("fn called %d times, want 1", n)
	}
}

// FuzzAnswerDisconnect feeds arbitrary datagrams to the Disconnect listener:
// no panic, and fn only sees requests signed with the secret.
func FuzzAnswerDisconnect(f *testing.F) {
	p := radius.New(radius.CodeDisconnectRequest, []byte(testSecret))
	mustSet(f, rfc2866.AcctSessionID_SetString(p, "sess-1"))
	f.Add(encodeReq(f, p))
	p.Code = radius.CodeCoARequest
	f.Add(encodeReq(f, p))
	f.Add([]byte{40, 1, 0, 20})
	src := netip.MustParseAddrPort("127.0.0.1:3799")
	f.Fuzz(func(t *testing.T, b []byte) {
		cache := newDedupe(time.Minute, 16)
		answerDisconnect(b, src, []byte(testSecret), cache, func(req *radius.Packet) (bool, int) {
			raw, err := req.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(raw[4:20], handAuth(raw, make([]byte, 16), testSecret)) {
				t.Fatal("fn got a request with a bad authenticator")
			}
			return true, 0
		})
	})
}
