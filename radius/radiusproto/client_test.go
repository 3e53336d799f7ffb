package radiusproto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
)

// fakeServer is a scripted RADIUS server: answer decides, per received
// datagram (counted from 1), what to send back (nil: nothing).
type fakeServer struct {
	conn     net.PacketConn
	received [][]byte
	mu       sync.Mutex
}

func startFake(t *testing.T, answer func(n int, req []byte) [][]byte) *fakeServer {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{conn: conn}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, addr, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			req := append([]byte(nil), buf[:n]...)
			f.mu.Lock()
			f.received = append(f.received, req)
			count := len(f.received)
			f.mu.Unlock()
			for _, out := range answer(count, req) {
				conn.WriteTo(out, addr)
			}
		}
	}()
	return f
}

func (f *fakeServer) addr() string { return f.conn.LocalAddr().String() }

func (f *fakeServer) got() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.received...)
}

// acceptFor signs an Access-Accept to the raw request req.
func acceptFor(t testing.TB, req []byte, secret string, withMA bool) []byte {
	p, err := radius.Parse(req, []byte(secret))
	if err != nil {
		t.Error(err)
		return nil
	}
	reply := p.Response(radius.CodeAccessAccept)
	mustSet(t, rfc2865.ReplyMessage_SetString(reply, "ok"))
	out, err := encodeReply(reply, p.Identifier, p.Authenticator, []byte(secret), withMA, nil)
	if err != nil {
		t.Error(err)
	}
	return out
}

func TestClientRetry(t *testing.T) {
	// The server ignores the first copy and answers the second.
	f := startFake(t, func(n int, req []byte) [][]byte {
		if n == 1 {
			return nil
		}
		return [][]byte{acceptFor(t, req, testSecret, true)}
	})
	cl := &Client{Retry: 50 * time.Millisecond, MaxTries: 3, RequireMessageAuthenticator: true}
	defer cl.Close()
	dst := netip.MustParseAddrPort(f.addr())
	reply, tries, err := cl.exchange(context.Background(), accessRequest(t, testSecret, testUser, testPassword), dst)
	if err != nil {
		t.Fatal(err)
	}
	if reply.Code != radius.CodeAccessAccept || tries != 2 {
		t.Fatalf("got %v after %d tries, want Access-Accept after 2", reply.Code, tries)
	}
	got := f.got()
	if len(got) != 2 || !bytes.Equal(got[0], got[1]) {
		t.Fatalf("retransmission is not byte-identical: %x", got)
	}
	checkSignedRequest(t, got[0], testSecret)
}

// checkSignedRequest verifies by hand an Access-Request's M-A, which must be
// present.
func checkSignedRequest(t *testing.T, req []byte, secret string) {
	t.Helper()
	types, offs := attrsOf(t, req)
	for i, typ := range types {
		if typ == 80 {
			if !bytes.Equal(req[offs[i]:offs[i]+16], handMA(req, offs[i], req[4:20], secret)) {
				t.Fatal("request Message-Authenticator is wrong")
			}
			return
		}
	}
	t.Fatal("request has no Message-Authenticator")
}

func TestClientRejectsBadReplies(t *testing.T) {
	tests := []struct {
		name      string
		requireMA bool
		answer    func(t testing.TB, req []byte) []byte
		wantOK    bool
	}{
		{name: "good reply", requireMA: true, wantOK: true,
			answer: func(t testing.TB, req []byte) []byte { return acceptFor(t, req, testSecret, true) }},
		{name: "no M-A, not required", wantOK: true,
			answer: func(t testing.TB, req []byte) []byte { return acceptFor(t, req, testSecret, false) }},
		{name: "no M-A, required", requireMA: true,
			answer: func(t testing.TB, req []byte) []byte { return acceptFor(t, req, testSecret, false) }},
		{name: "wrong secret",
			answer: func(t testing.TB, req []byte) []byte { return acceptFor(t, req, "wrong", true) }},
		{name: "wrong identifier",
			answer: func(t testing.TB, req []byte) []byte {
				b := acceptFor(t, req, testSecret, true)
				b[1]++
				return b
			}},
		{name: "accounting-response to access-request",
			answer: func(t testing.TB, req []byte) []byte {
				p, _ := radius.Parse(req, []byte(testSecret))
				out, _ := encodeReply(p.Response(radius.CodeAccountingResponse), p.Identifier, p.Authenticator, []byte(testSecret), true, nil)
				return out
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, func(_ int, req []byte) [][]byte { return [][]byte{tt.answer(t, req)} })
			cl := &Client{Retry: 30 * time.Millisecond, MaxTries: 2, RequireMessageAuthenticator: tt.requireMA}
			defer cl.Close()
			reply, err := cl.Exchange(context.Background(), accessRequest(t, testSecret, testUser, testPassword), f.addr())
			if tt.wantOK {
				if err != nil || reply.Code != radius.CodeAccessAccept {
					t.Fatalf("Exchange = %v, %v; want Access-Accept", reply, err)
				}
				return
			}
			if !errors.Is(err, ErrNoResponse) {
				t.Fatalf("Exchange = %v, %v; want ErrNoResponse", reply, err)
			}
			if tt.name != "wrong identifier" && !strings.Contains(err.Error(), "discarded") {
				t.Fatalf("error %q does not say replies were discarded", err)
			}
		})
	}
}

// TestClientForgedThenGenuine: a forged reply does not end the wait; the
// genuine one that follows is accepted.
func TestClientForgedThenGenuine(t *testing.T) {
	f := startFake(t, func(_ int, req []byte) [][]byte {
		return [][]byte{acceptFor(t, req, "attacker", true), acceptFor(t, req, testSecret, true)}
	})
	cl := &Client{Retry: time.Second, MaxTries: 1, RequireMessageAuthenticator: true}
	defer cl.Close()
	reply, err := cl.Exchange(context.Background(), accessRequest(t, testSecret, testUser, testPassword), f.addr())
	if err != nil || reply.Code != radius.CodeAccessAccept {
		t.Fatalf("Exchange = %v, %v", reply, err)
	}
}

func TestClientContextCancel(t *testing.T) {
	f := startFake(t, func(int, []byte) [][]byte { return nil })
	cl := &Client{Retry: time.Second, MaxTries: 5}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := cl.Exchange(ctx, accessRequest(t, testSecret, testUser, testPassword), f.addr())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Exchange = %v, want DeadlineExceeded", err)
	}
}

// TestClientConcurrency pushes more requests at once than one socket has
// Identifiers, through a real Server, with a socket limit that makes some
// wait for a free Identifier.
func TestClientConcurrency(t *testing.T) {
	ts := startServer(t, nil, localNAS(true))
	cl := &Client{Retry: 2 * time.Second, MaxSockets: 2, RequireMessageAuthenticator: true}
	defer cl.Close()
	const n = 1500
	var wg sync.WaitGroup
	var accepted, accounted atomic.Int64
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				reply, err := cl.Exchange(context.Background(), accessRequest(t, testSecret, testUser, testPassword), ts.auth)
				if err != nil {
					errs <- err
					return
				}
				if reply.Code == radius.CodeAccessAccept {
					accepted.Add(1)
				}
				return
			}
			p := accountingRequest(t, testSecret, rfc2866.AcctStatusType_Value_InterimUpdate)
			if err := rfc2866.AcctSessionID_SetString(p, fmt.Sprintf("sess-%d", i)); err != nil {
				errs <- err
				return
			}
			if _, err := cl.Exchange(context.Background(), p, ts.acct); err != nil {
				errs <- err
				return
			}
			accounted.Add(1)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if accepted.Load() != n/2 || accounted.Load() != n/2 {
		t.Fatalf("accepted %d, accounted %d; want %d each", accepted.Load(), accounted.Load(), n/2)
	}
	cl.mu.Lock()
	socks := len(cl.socks)
	cl.mu.Unlock()
	if socks > 2 {
		t.Fatalf("%d sockets opened, limit 2", socks)
	}
	if h := ts.handler.access.Load() + ts.handler.acct.Load(); h != n {
		t.Fatalf("handler called %d times for %d requests", h, n)
	}
}

func TestClientResolvesHostNames(t *testing.T) {
	ts := startServer(t, nil, localNAS(true))
	_, port, _ := net.SplitHostPort(ts.auth)
	cl := &Client{Retry: 200 * time.Millisecond, MaxTries: 1} // localhost may be ::1 here, where nobody listens
	defer cl.Close()
	reply, err := cl.Exchange(context.Background(), radius.New(radius.CodeStatusServer, []byte(testSecret)), net.JoinHostPort("localhost", port))
	if err != nil && !strings.Contains(err.Error(), "no response") {
		t.Fatal(err)
	}
	if err == nil && reply.Code != radius.CodeAccessAccept {
		t.Fatalf("code %v", reply.Code)
	}
	if _, err := cl.Exchange(context.Background(), radius.New(radius.CodeStatusServer, []byte(testSecret)), "no-port"); err == nil {
		t.Fatal("Exchange to an address without port succeeded")
	}
}

func TestClientClosed(t *testing.T) {
	cl := &Client{}
	cl.Close()
	_, err := cl.Exchange(context.Background(), accessRequest(t, testSecret, testUser, testPassword), "127.0.0.1:1812")
	if !errors.Is(err, ErrClientClosed) {
		t.Fatalf("Exchange after Close = %v, want ErrClientClosed", err)
	}
}

func TestClientLocalAddr(t *testing.T) {
	// Another loopback address appears as another NAS.
	other := &NAS{Name: "bras-2", IP: netip.MustParseAddr("127.0.0.2"), Secret: []byte("second-secret"), RequireMessageAuthenticator: true}
	ts := startServer(t, nil, localNAS(true), other)
	cl := &Client{LocalAddr: "127.0.0.2:0", RequireMessageAuthenticator: true}
	defer cl.Close()
	reply, err := cl.Exchange(context.Background(), accessRequest(t, "second-secret", testUser, testPassword), ts.auth)
	if err != nil && strings.Contains(err.Error(), "client socket") {
		t.Skipf("127.0.0.2 not usable here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if reply.Code != radius.CodeAccessAccept {
		t.Fatalf("code %v", reply.Code)
	}
}

// FuzzVerifyReply feeds arbitrary replies to the client's checks: no panic,
// and whatever passes is signed with the secret.
func FuzzVerifyReply(f *testing.F) {
	req := encodeReq(f, accessRequest(f, testSecret, testUser, testPassword))
	f.Add(acceptFor(f, req, testSecret, true))
	f.Add(acceptFor(f, req, testSecret, false))
	f.Add([]byte{2, req[1], 0, 20})
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := verifyReply(b, req, []byte(testSecret), true)
		if err != nil {
			return
		}
		checkReply(t, resp, req, testSecret)
		if _, err := radius.Parse(resp, []byte(testSecret)); err != nil {
			t.Fatalf("verified reply does not parse: %v", err)
		}
	})
}
