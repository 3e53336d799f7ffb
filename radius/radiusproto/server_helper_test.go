package radiusproto

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
)

const (
	testSecret   = "testing123"
	testUser     = "alice"
	testPassword = "secret-pass"
)

// testHandler accepts testUser with testPassword (PAP or CHAP) and rejects
// everything else; it counts calls and can be held or told to fail.
type testHandler struct {
	access, acct atomic.Int64
	hold         chan struct{} // when set, handlers wait for it to close
	entered      chan struct{} // when set, receives once per call on entry
	acctErr      atomic.Bool   // ServeAccounting fails
	noReply      atomic.Bool   // ServeAccess returns nil
}

func (h *testHandler) wait(ctx context.Context) {
	if h.entered != nil {
		h.entered <- struct{}{}
	}
	if h.hold != nil {
		select {
		case <-h.hold:
		case <-ctx.Done():
		}
	}
}

func (h *testHandler) ServeAccess(ctx context.Context, r *Request) *radius.Packet {
	h.access.Add(1)
	h.wait(ctx)
	if h.noReply.Load() {
		return nil
	}
	p := r.Packet
	ok := false
	if pw, err := rfc2865.UserPassword_LookupString(p); err == nil {
		ok = pw == testPassword
	} else if chap, err := rfc2865.CHAPPassword_Lookup(p); err == nil {
		ok = VerifyCHAP(chap, CHAPChallenge(p), testPassword)
	}
	if !ok || rfc2865.UserName_GetString(p) != testUser {
		reply := p.Response(radius.CodeAccessReject)
		if err := rfc2865.ReplyMessage_SetString(reply, "bad password"); err != nil {
			panic(err)
		}
		return reply
	}
	reply := p.Response(radius.CodeAccessAccept)
	if err := rfc2865.ReplyMessage_SetString(reply, "welcome"); err != nil {
		panic(err)
	}
	if err := rfc2865.SessionTimeout_Set(reply, 3600); err != nil {
		panic(err)
	}
	return reply
}

func (h *testHandler) ServeAccounting(ctx context.Context, r *Request) error {
	h.acct.Add(1)
	h.wait(ctx)
	if h.acctErr.Load() {
		return errors.New("database down")
	}
	return nil
}

// testObserver counts what the server reports.
type testObserver struct {
	mu      sync.Mutex
	dropped map[DropReason]int
	dups    map[bool]int
	handled map[Result]int
}

func newTestObserver() *testObserver {
	return &testObserver{dropped: map[DropReason]int{}, dups: map[bool]int{}, handled: map[Result]int{}}
}

func (o *testObserver) Dropped(r DropReason) {
	o.mu.Lock()
	o.dropped[r]++
	o.mu.Unlock()
}

func (o *testObserver) Duplicate(resent bool) {
	o.mu.Lock()
	o.dups[resent]++
	o.mu.Unlock()
}

func (o *testObserver) Handled(_ radius.Code, r Result, _ time.Duration) {
	o.mu.Lock()
	o.handled[r]++
	o.mu.Unlock()
}

func (o *testObserver) droppedN(r DropReason) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.dropped[r]
}

func (o *testObserver) dupN(resent bool) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.dups[resent]
}

type testServer struct {
	srv      *Server
	auth     string
	acct     string
	handler  *testHandler
	obs      *testObserver
	serveErr chan error
}

// startServer serves on 127.0.0.1:0 for the given NAS list and shuts down at
// the end of the test.
func startServer(t testing.TB, h *testHandler, nas ...*NAS) *testServer {
	t.Helper()
	if h == nil {
		h = &testHandler{}
	}
	authConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acctConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{
		handler:  h,
		obs:      newTestObserver(),
		auth:     authConn.LocalAddr().String(),
		acct:     acctConn.LocalAddr().String(),
		serveErr: make(chan error, 1),
	}
	ts.srv = &Server{NAS: NewStaticNAS(nas...), Handler: h, Metrics: ts.obs}
	go func() { ts.serveErr <- ts.srv.Serve(authConn, acctConn) }()
	t.Cleanup(func() {
		if h.hold != nil {
			select {
			case <-h.hold:
			default:
				close(h.hold)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ts.srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-ts.serveErr; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return ts
}

func localNAS(require bool) *NAS {
	return &NAS{Name: "bras-1", IP: netip.MustParseAddr("127.0.0.1"), Secret: []byte(testSecret), RequireMessageAuthenticator: require, Area: "dorm"}
}

// rawConn is a UDP socket talking to one server address with raw bytes.
type rawConn struct {
	t    testing.TB
	conn net.Conn
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, conn: c}
}

func (c *rawConn) send(b []byte) {
	c.t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// recv returns the next datagram, or nil when none comes within d.
func (c *rawConn) recv(d time.Duration) []byte {
	c.t.Helper()
	buf := make([]byte, 4096)
	if err := c.conn.SetReadDeadline(time.Now().Add(d)); err != nil {
		c.t.Fatal(err)
	}
	n, err := c.conn.Read(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		c.t.Fatal(err)
	}
	return buf[:n]
}

// accessRequest builds a PAP Access-Request for user/password.
func accessRequest(t testing.TB, secret, user, password string) *radius.Packet {
	t.Helper()
	p := radius.New(radius.CodeAccessRequest, []byte(secret))
	if err := rfc2865.UserName_SetString(p, user); err != nil {
		t.Fatal(err)
	}
	if err := rfc2865.UserPassword_SetString(p, password); err != nil {
		t.Fatal(err)
	}
	return p
}

func encodeReq(t testing.TB, p *radius.Packet) []byte {
	t.Helper()
	b, err := EncodeRequest(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The independent verifiers below follow the RFC text directly, so that the
// tests do not check the package against itself.

// handMA computes HMAC-MD5 over pkt with the M-A value at off zeroed and
// auth in the header.
func handMA(pkt []byte, off int, auth []byte, secret string) []byte {
	c := append([]byte(nil), pkt...)
	copy(c[4:20], auth)
	copy(c[off:off+16], make([]byte, 16))
	m := hmac.New(md5.New, []byte(secret))
	m.Write(c)
	return m.Sum(nil)
}

// handAuth computes MD5(pkt with auth in the header ‖ secret).
func handAuth(pkt []byte, auth []byte, secret string) []byte {
	c := append([]byte(nil), pkt...)
	copy(c[4:20], auth)
	h := md5.New()
	h.Write(c)
	h.Write([]byte(secret))
	return h.Sum(nil)
}

// attrsOf lists (type, offset of value) of a raw packet's attributes.
func attrsOf(t testing.TB, pkt []byte) (types []byte, offs []int) {
	t.Helper()
	n := int(binary.BigEndian.Uint16(pkt[2:4]))
	for i := 20; i < n; {
		if i+2 > n || pkt[i+1] < 2 || i+int(pkt[i+1]) > n {
			t.Fatalf("bad attribute framing at %d", i)
		}
		types = append(types, pkt[i])
		offs = append(offs, i+2)
		i += int(pkt[i+1])
	}
	return types, offs
}

// checkReply verifies reply (raw) to request (raw) by hand: Response
// Authenticator and a Message-Authenticator that is the first attribute.
func checkReply(t testing.TB, reply, request []byte, secret string) {
	t.Helper()
	if len(reply) < 20 || reply[1] != request[1] {
		t.Fatalf("reply too short or wrong identifier: %x", reply)
	}
	types, offs := attrsOf(t, reply)
	if len(types) == 0 || types[0] != 80 {
		t.Fatalf("first reply attribute is %v, want Message-Authenticator (80)", types)
	}
	if got, want := reply[offs[0]:offs[0]+16], handMA(reply, offs[0], request[4:20], secret); !hmac.Equal(got, want) {
		t.Fatalf("reply Message-Authenticator %x, want %x", got, want)
	}
	if got, want := reply[4:20], handAuth(reply, request[4:20], secret); !hmac.Equal(got, want) {
		t.Fatalf("Response Authenticator %x, want %x", got, want)
	}
}

// mustSet fails the test when setting an attribute failed (a value too long
// for one attribute).
func mustSet(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// listenUDP opens a UDP socket on a free loopback port.
func listenUDP(t testing.TB) net.PacketConn {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return c
}
