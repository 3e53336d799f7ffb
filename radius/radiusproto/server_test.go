package radiusproto

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"github.com/campusnet/campusnet/internal/testwait"
)

// quiet is how long a test listens to be sure that no answer comes, once the
// server has counted the drop (so nothing is still on its way).
const quiet = 50 * time.Millisecond

func TestServerAccessRequest(t *testing.T) {
	ts := startServer(t, nil, localNAS(true))
	c := dialRaw(t, ts.auth)
	tests := []struct {
		name     string
		password string
		wantCode radius.Code
		wantMsg  string
	}{
		{name: "right password", password: testPassword, wantCode: radius.CodeAccessAccept, wantMsg: "welcome"},
		{name: "wrong password", password: "guess", wantCode: radius.CodeAccessReject, wantMsg: "bad password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := encodeReq(t, accessRequest(t, testSecret, testUser, tt.password))
			c.send(req)
			reply := c.recv(2 * time.Second)
			if reply == nil {
				t.Fatal("no reply")
			}
			checkReply(t, reply, req, testSecret) // M-A first, authenticators right
			p, err := radius.Parse(reply, []byte(testSecret))
			if err != nil {
				t.Fatal(err)
			}
			if p.Code != tt.wantCode {
				t.Fatalf("code %v, want %v", p.Code, tt.wantCode)
			}
			if got := rfc2865.ReplyMessage_GetString(p); got != tt.wantMsg {
				t.Fatalf("Reply-Message %q, want %q", got, tt.wantMsg)
			}
		})
	}
}

func TestServerCHAP(t *testing.T) {
	ts := startServer(t, nil, localNAS(true))
	cl := &Client{Retry: time.Second, RequireMessageAuthenticator: true}
	defer cl.Close()
	for _, withChallenge := range []bool{false, true} {
		p := radius.New(radius.CodeAccessRequest, []byte(testSecret))
		mustSet(t, rfc2865.UserName_SetString(p, testUser))
		challenge := p.Authenticator[:]
		if withChallenge {
			challenge = []byte("portal-challenge")
			mustSet(t, rfc2865.CHAPChallenge_Set(p, challenge))
		}
		chap := append([]byte{9}, md5Of([]byte{9}, []byte(testPassword), challenge)...)
		mustSet(t, rfc2865.CHAPPassword_Set(p, chap))
		reply, err := cl.Exchange(context.Background(), p, ts.auth)
		if err != nil {
			t.Fatal(err)
		}
		if reply.Code != radius.CodeAccessAccept {
			t.Fatalf("CHAP (challenge attribute %v): %v, want Access-Accept", withChallenge, reply.Code)
		}
	}
}

// TestServerDrops covers every reason for not answering: the client (or a raw
// socket) hears nothing, and the drop is counted by reason.
func TestServerDrops(t *testing.T) {
	unsigned := func(t testing.TB, secret string) []byte {
		b, err := accessRequest(t, secret, testUser, testPassword).Encode() // layeh: no M-A
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name    string
		nas     *NAS
		port    string // "auth" or "acct"
		packet  func(t testing.TB) []byte
		reason  DropReason
		handled bool // the handler must not have been called either way
	}{
		{
			name:   "unknown NAS",
			nas:    &NAS{Name: "other", IP: netip.MustParseAddr("127.0.0.2"), Secret: []byte(testSecret)},
			port:   "auth",
			packet: func(t testing.TB) []byte { return encodeReq(t, accessRequest(t, testSecret, testUser, testPassword)) },
			reason: DropUnknownNAS,
		},
		{
			name:   "wrong secret",
			nas:    localNAS(true),
			port:   "auth",
			packet: func(t testing.TB) []byte { return encodeReq(t, accessRequest(t, "wrong", testUser, testPassword)) },
			reason: DropBadMessageAuthenticator,
		},
		{
			name:   "missing M-A, required",
			nas:    localNAS(true),
			port:   "auth",
			packet: func(t testing.TB) []byte { return unsigned(t, testSecret) },
			reason: DropMissingMessageAuthenticator,
		},
		{
			name: "status-server without M-A",
			nas:  localNAS(false),
			port: "acct",
			packet: func(t testing.TB) []byte {
				b, _ := radius.New(radius.CodeStatusServer, []byte(testSecret)).Encode()
				return b
			},
			reason: DropMissingMessageAuthenticator,
		},
		{
			name: "accounting with bad authenticator",
			nas:  localNAS(true),
			port: "acct",
			packet: func(t testing.TB) []byte {
				b := encodeReq(t, accountingRequest(t, testSecret, rfc2866.AcctStatusType_Value_Start))
				b[5] ^= 0xff
				return b
			},
			reason: DropBadAuthenticator,
		},
		{
			name: "accounting with wrong secret",
			nas:  localNAS(true),
			port: "acct",
			packet: func(t testing.TB) []byte {
				return encodeReq(t, accountingRequest(t, "wrong", rfc2866.AcctStatusType_Value_Start))
			},
			reason: DropBadAuthenticator,
		},
		{
			name:   "access-request on accounting port",
			nas:    localNAS(true),
			port:   "acct",
			packet: func(t testing.TB) []byte { return encodeReq(t, accessRequest(t, testSecret, testUser, testPassword)) },
			reason: DropUnsupportedCode,
		},
		{
			name: "forged M-A in otherwise valid access-request",
			nas:  localNAS(false),
			port: "auth",
			packet: func(t testing.TB) []byte {
				b := encodeReq(t, accessRequest(t, testSecret, testUser, testPassword))
				b[22] ^= 1 // the M-A value is first
				return b
			},
			reason: DropBadMessageAuthenticator,
		},
		{
			name:   "garbage",
			nas:    localNAS(true),
			port:   "auth",
			packet: func(t testing.TB) []byte { return []byte("GET / HTTP/1.1\r\n\r\n") },
			reason: DropMalformed,
		},
		{
			name: "length beyond datagram",
			nas:  localNAS(true),
			port: "auth",
			packet: func(t testing.TB) []byte {
				b := encodeReq(t, accessRequest(t, testSecret, testUser, testPassword))
				b[2], b[3] = 0x0f, 0xff
				return b
			},
			reason: DropMalformed,
		},
		{
			name: "broken attribute framing",
			nas:  localNAS(false),
			port: "auth",
			packet: func(t testing.TB) []byte {
				b := packetBytes(1, 1, seq16(0), attr(1, "alice"))
				b[21] = 40
				return b
			},
			reason: DropMalformed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, nil, tt.nas)
			addr := ts.auth
			if tt.port == "acct" {
				addr = ts.acct
			}
			c := dialRaw(t, addr)
			c.send(tt.packet(t))
			testwait.For(t, "drop "+string(tt.reason), func() bool { return ts.obs.droppedN(tt.reason) == 1 })
			if reply := c.recv(quiet); reply != nil {
				t.Fatalf("got a reply: %x", reply)
			}
			if n := ts.handler.access.Load() + ts.handler.acct.Load(); n != 0 {
				t.Fatalf("handler called %d times", n)
			}
			// The server keeps serving.
			if tt.nas.IP == netip.MustParseAddr("127.0.0.1") {
				ok := encodeReq(t, radius.New(radius.CodeStatusServer, []byte(testSecret)))
				c.send(ok)
				if c.recv(2*time.Second) == nil {
					t.Fatal("no answer to Status-Server after the dropped packet")
				}
			}
		})
	}
}

func TestServerMessageAuthenticatorOptional(t *testing.T) {
	ts := startServer(t, nil, localNAS(false))
	b, err := accessRequest(t, testSecret, testUser, testPassword).Encode() // no M-A
	if err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, ts.auth)
	c.send(b)
	reply := c.recv(2 * time.Second)
	if reply == nil {
		t.Fatal("no reply to an Access-Request without M-A from a NAS that does not require it")
	}
	checkReply(t, reply, b, testSecret) // the reply is signed all the same
	if reply[0] != byte(radius.CodeAccessAccept) {
		t.Fatalf("code %d, want Access-Accept", reply[0])
	}
}

func TestServerStatusServer(t *testing.T) {
	ts := startServer(t, nil, localNAS(true))
	cl := &Client{Retry: time.Second, RequireMessageAuthenticator: true}
	defer cl.Close()
	tests := []struct {
		name string
		addr string
		want radius.Code
	}{
		{name: "auth port", addr: ts.auth, want: radius.CodeAccessAccept},
		{name: "acct port", addr: ts.acct, want: radius.CodeAccountingResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply, err := cl.Exchange(context.Background(), radius.New(radius.CodeStatusServer, []byte(testSecret)), tt.addr)
			if err != nil {
				t.Fatal(err)
			}
			if reply.Code != tt.want {
				t.Fatalf("code %v, want %v", reply.Code, tt.want)
			}
		})
	}
	if n := ts.handler.access.Load() + ts.handler.acct.Load(); n != 0 {
		t.Fatalf("Status-Server reached the handler %d times", n)
	}
}

func accountingRequest(t testing.TB, secret string, status rfc2866.AcctStatusType) *radius.Packet {
	t.Helper()
	p := radius.New(radius.CodeAccountingRequest, []byte(secret))
	mustSet(t, rfc2865.UserName_SetString(p, testUser))
	mustSet(t, rfc2866.AcctStatusType_Set(p, status))
	mustSet(t, rfc2866.AcctSessionID_SetString(p, "sess-1"))
	return p
}

func TestServerAccounting(t *testing.T) {
	ts := startServer(t, nil, localNAS(true))
	c := dialRaw(t, ts.acct)
	for _, withMA := range []bool{false, true} {
		p := accountingRequest(t, testSecret, rfc2866.AcctStatusType_Value_Start)
		if withMA {
			p.Add(attrMessageAuthenticator, make(radius.Attribute, 16))
		}
		req := encodeReq(t, p)
		c.send(req)
		reply := c.recv(2 * time.Second)
		if reply == nil {
			t.Fatalf("no Accounting-Response (request with M-A: %v)", withMA)
		}
		if reply[0] != byte(radius.CodeAccountingResponse) {
			t.Fatalf("code %d", reply[0])
		}
		if got, want := reply[4:20], handAuth(reply, req[4:20], testSecret); !bytes.Equal(got, want) {
			t.Fatalf("Response Authenticator %x, want %x", got, want)
		}
		if types, _ := attrsOf(t, reply); len(types) != 0 {
			t.Fatalf("Accounting-Response carries attributes %v, want none", types)
		}
	}
}

// TestServerAccountingFailure: when recording fails there is no answer, and
// the NAS's retransmission is handled again rather than answered from cache.
func TestServerAccountingFailure(t *testing.T) {
	h := &testHandler{}
	h.acctErr.Store(true)
	ts := startServer(t, h, localNAS(true))
	c := dialRaw(t, ts.acct)
	req := encodeReq(t, accountingRequest(t, testSecret, rfc2866.AcctStatusType_Value_Stop))
	c.send(req)
	testwait.For(t, "first handler call", func() bool { return h.acct.Load() == 1 })
	if reply := c.recv(quiet); reply != nil {
		t.Fatal("answered although the handler failed")
	}
	h.acctErr.Store(false)
	c.send(req)
	if reply := c.recv(2 * time.Second); reply == nil {
		t.Fatal("no answer to the retransmission")
	}
	if n := h.acct.Load(); n != 2 {
		t.Fatalf("handler called %d times, want 2", n)
	}
}

func TestServerDuplicates(t *testing.T) {
	tests := []struct {
		name   string
		port   string
		packet func(t testing.TB) []byte
		calls  func(h *testHandler) int64
	}{
		{
			name:   "access-request",
			port:   "auth",
			packet: func(t testing.TB) []byte { return encodeReq(t, accessRequest(t, testSecret, testUser, testPassword)) },
			calls:  func(h *testHandler) int64 { return h.access.Load() },
		},
		{
			name: "accounting-request",
			port: "acct",
			packet: func(t testing.TB) []byte {
				return encodeReq(t, accountingRequest(t, testSecret, rfc2866.AcctStatusType_Value_Stop))
			},
			calls: func(h *testHandler) int64 { return h.acct.Load() },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name+" answered", func(t *testing.T) {
			ts := startServer(t, nil, localNAS(true))
			addr := map[string]string{"auth": ts.auth, "acct": ts.acct}[tt.port]
			c := dialRaw(t, addr)
			req := tt.packet(t)
			c.send(req)
			first := c.recv(2 * time.Second)
			c.send(req)
			second := c.recv(2 * time.Second)
			if first == nil || !bytes.Equal(first, second) {
				t.Fatalf("retransmission got\n%x\nwant the cached\n%x", second, first)
			}
			if n := tt.calls(ts.handler); n != 1 {
				t.Fatalf("handler called %d times, want 1", n)
			}
			if n := ts.obs.dupN(true); n != 1 {
				t.Fatalf("duplicates counted %d, want 1", n)
			}
			// A new request reusing the Identifier is not a duplicate.
			p, _ := radius.Parse(tt.packet(t), []byte(testSecret))
			p.Identifier = req[1]
			p.Add(41, radius.NewInteger(1)) // Acct-Delay-Time: new contents, new authenticator
			c.send(encodeReq(t, p))
			if c.recv(2*time.Second) == nil {
				t.Fatal("no answer to a new request with a reused Identifier")
			}
			if n := tt.calls(ts.handler); n != 2 {
				t.Fatalf("handler called %d times, want 2", n)
			}
		})
		t.Run(tt.name+" in flight", func(t *testing.T) {
			h := &testHandler{hold: make(chan struct{}), entered: make(chan struct{}, 4)}
			ts := startServer(t, h, localNAS(true))
			addr := map[string]string{"auth": ts.auth, "acct": ts.acct}[tt.port]
			c := dialRaw(t, addr)
			req := tt.packet(t)
			c.send(req)
			<-h.entered
			c.send(req)
			testwait.For(t, "in-flight duplicate", func() bool { return ts.obs.dupN(false) == 1 })
			close(h.hold)
			if c.recv(2*time.Second) == nil {
				t.Fatal("no reply")
			}
			if extra := c.recv(quiet); extra != nil {
				t.Fatal("the in-flight duplicate was answered too")
			}
			if n := tt.calls(h); n != 1 {
				t.Fatalf("handler called %d times, want 1", n)
			}
		})
	}
}

func TestServerProxyState(t *testing.T) {
	ts := startServer(t, nil, localNAS(true))
	p := accessRequest(t, testSecret, testUser, testPassword)
	p.Add(attrProxyState, radius.Attribute("ps-1"))
	p.Add(attrProxyState, radius.Attribute("ps-2"))
	cl := &Client{}
	defer cl.Close()
	reply, err := cl.Exchange(context.Background(), p, ts.auth)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range reply.Attributes {
		if a.Type == attrProxyState {
			got = append(got, string(a.Attribute))
		}
	}
	if strings.Join(got, ",") != "ps-1,ps-2" {
		t.Fatalf("Proxy-State in reply %q, want ps-1,ps-2", got)
	}
}

// logCounter counts log records by level.
type logCounter struct {
	mu     sync.Mutex
	counts map[slog.Level]int
	texts  []string
}

func (l *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCounter) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts[r.Level]++
	var sb strings.Builder
	sb.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		sb.WriteString(" " + a.Key + "=" + a.Value.Resolve().String())
		return true
	})
	l.texts = append(l.texts, sb.String())
	return nil
}
func (l *logCounter) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCounter) WithGroup(string) slog.Handler      { return l }

func TestServerLogsUnknownNASOncePerMinute(t *testing.T) {
	logs := &logCounter{counts: map[slog.Level]int{}}
	ts := &Server{NAS: NewStaticNAS(localNAS(true)), Handler: &testHandler{}, Log: slog.New(logs)}
	ts.init()
	src := netip.MustParseAddrPort("192.0.2.9:1812")
	now := time.Now()
	for i := range 5 {
		ts.handlePacket(context.Background(), portAuth, []byte("junk"), src, now.Add(time.Duration(i)*time.Second))
	}
	ts.handlePacket(context.Background(), portAuth, []byte("junk"), src, now.Add(61*time.Second))
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if n := logs.counts[slog.LevelWarn]; n != 2 {
		t.Fatalf("%d warnings for 6 packets over 61 s, want 2: %q", n, logs.texts)
	}
}

func TestServerNeverLogsSecret(t *testing.T) {
	logs := &logCounter{counts: map[slog.Level]int{}}
	nas := localNAS(true)
	h := &testHandler{}
	h.acctErr.Store(true)
	s := &Server{NAS: NewStaticNAS(nas), Handler: h, Log: slog.New(logs)}
	s.init()
	src := netip.MustParseAddrPort("127.0.0.1:5000")
	s.handlePacket(context.Background(), portAuth, encodeReq(t, accessRequest(t, "wrong", testUser, testPassword)), src, time.Now())
	s.handlePacket(context.Background(), portAcct, encodeReq(t, accountingRequest(t, testSecret, 1)), src, time.Now())
	slog.New(logs).Info("nas", "nas", nas)
	logs.mu.Lock()
	defer logs.mu.Unlock()
	for _, line := range logs.texts {
		if strings.Contains(line, testSecret) || strings.Contains(line, testPassword) {
			t.Fatalf("log line leaks a secret: %q", line)
		}
	}
	if len(logs.texts) < 3 {
		t.Fatalf("expected log lines, got %q", logs.texts)
	}
}

func TestServerHandlerPanic(t *testing.T) {
	s := &Server{NAS: NewStaticNAS(localNAS(true)), Handler: panicHandler{}}
	s.init()
	src := netip.MustParseAddrPort("127.0.0.1:5000")
	if out := s.handlePacket(context.Background(), portAuth, encodeReq(t, accessRequest(t, testSecret, testUser, testPassword)), src, time.Now()); out != nil {
		t.Fatal("answered although the handler panicked")
	}
	if out := s.handlePacket(context.Background(), portAcct, encodeReq(t, accountingRequest(t, testSecret, 1)), src, time.Now()); out != nil {
		t.Fatal("answered although the handler panicked")
	}
}

type panicHandler struct{}

func (panicHandler) ServeAccess(context.Context, *Request) *radius.Packet { panic("boom") }
func (panicHandler) ServeAccounting(context.Context, *Request) error      { panic("boom") }

// TestServerShutdownAnswersInFlight: Shutdown stops reading but lets a
// request being handled get its answer.
func TestServerShutdownAnswersInFlight(t *testing.T) {
	h := &testHandler{hold: make(chan struct{}), entered: make(chan struct{}, 1)}
	authConn := listenUDP(t)
	s := &Server{NAS: NewStaticNAS(localNAS(true)), Handler: h}
	served := make(chan error, 1)
	go func() { served <- s.Serve(authConn, nil) }()
	c := dialRaw(t, authConn.LocalAddr().String())
	c.send(encodeReq(t, accessRequest(t, testSecret, testUser, testPassword)))
	<-h.entered
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v before the request in flight was answered", err)
	case <-time.After(quiet):
	}
	close(h.hold)
	if c.recv(2*time.Second) == nil {
		t.Fatal("request in flight was not answered")
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
}

func TestServerShutdownDeadline(t *testing.T) {
	h := &testHandler{hold: make(chan struct{}), entered: make(chan struct{}, 1)}
	authConn := listenUDP(t)
	s := &Server{NAS: NewStaticNAS(localNAS(true)), Handler: h}
	go s.Serve(authConn, nil)
	c := dialRaw(t, authConn.LocalAddr().String())
	c.send(encodeReq(t, accessRequest(t, testSecret, testUser, testPassword)))
	<-h.entered
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	// The held handler sees its context cancelled and returns.
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
}

func TestListenAndServe(t *testing.T) {
	s := &Server{AuthAddr: "127.0.0.1:0", AcctAddr: "127.0.0.1:0", NAS: NewStaticNAS(localNAS(true)), Handler: &testHandler{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx) }()
	testwait.For(t, "listening", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.conns) == 2
	})
	cl := &Client{}
	defer cl.Close()
	s.mu.Lock()
	addr := s.conns[0].LocalAddr().String()
	s.mu.Unlock()
	if _, err := cl.Exchange(ctx, radius.New(radius.CodeStatusServer, []byte(testSecret)), addr); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("ListenAndServe = %v, want ErrServerClosed", err)
	}
}

// asyncHandler answers accounting through AsyncHandler, from a goroutine
// of its own as a batch would; the first request panics in the read loop.
type asyncHandler struct {
	testHandler
	calls atomic.Int64
}

func (h *asyncHandler) ServeAccountingAsync(_ context.Context, _ *Request, done func(error)) {
	if h.calls.Add(1) == 1 {
		panic("boom")
	}
	go done(nil)
}

func (h *asyncHandler) ServeAccessAsync(context.Context, *Request, func(*radius.Packet)) bool {
	return false // the server's goroutine path
}

// TestServerAsyncHandler: requests an AsyncHandler takes are answered when
// it calls done, retransmissions get the cached reply, the other requests
// take the goroutine path, and a panic in the read loop drops that request
// only.
func TestServerAsyncHandler(t *testing.T) {
	h := &asyncHandler{}
	authConn := listenUDP(t)
	acctConn := listenUDP(t)
	s := &Server{NAS: NewStaticNAS(localNAS(true)), Handler: h}
	served := make(chan error, 1)
	go func() { served <- s.Serve(authConn, acctConn) }()
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	acct := dialRaw(t, acctConn.LocalAddr().String())
	acct.send(encodeReq(t, accountingRequest(t, testSecret, rfc2866.AcctStatusType_Value_Start)))
	if b := acct.recv(300 * time.Millisecond); b != nil {
		t.Fatal("answered although the handler panicked")
	}
	req := encodeReq(t, accountingRequest(t, testSecret, rfc2866.AcctStatusType_Value_Stop))
	acct.send(req)
	first := acct.recv(2 * time.Second)
	if first == nil || radius.Code(first[0]) != radius.CodeAccountingResponse {
		t.Fatalf("no Accounting-Response after the panic: %x", first)
	}
	acct.send(req)
	if again := acct.recv(2 * time.Second); !bytes.Equal(again, first) {
		t.Fatalf("retransmission got %x, want the cached %x", again, first)
	}
	if n := h.calls.Load(); n != 2 {
		t.Fatalf("handler called %d times, want 2 (the retransmission is answered from the cache)", n)
	}
	auth := dialRaw(t, authConn.LocalAddr().String())
	auth.send(encodeReq(t, accessRequest(t, testSecret, testUser, testPassword)))
	if b := auth.recv(2 * time.Second); b == nil || radius.Code(b[0]) != radius.CodeAccessAccept {
		t.Fatalf("Access-Request not answered on the goroutine path: %x", b)
	}
}
