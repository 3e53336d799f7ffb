package radiusproto

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"layeh.com/radius"
)

// Defaults for the zero values of Server's tuning fields.
const (
	DefaultWorkers            = 256
	DefaultWaiting            = 4096
	DefaultDuplicateWindow    = 30 * time.Second
	DefaultDuplicateCacheSize = 1 << 17
	// DefaultCoAPort is where a NAS listens for Disconnect and CoA requests
	// (RFC 5176).
	DefaultCoAPort = 3799

	// ShutdownGrace bounds how long ListenAndServe waits for in-flight
	// requests when its context ends.
	ShutdownGrace = 10 * time.Second
	// logEvery bounds how often the same complaint about one address is
	// logged.
	logEvery = time.Minute
)

// NAS is a RADIUS client the server answers: a BAS, BRAS or wireless
// controller, identified by the source address of its packets.
type NAS struct {
	Name   string
	IP     netip.Addr
	Secret []byte // shared secret; never logged
	// RequireMessageAuthenticator drops Access-Requests without a
	// Message-Authenticator (BlastRADIUS mitigation). Status-Server always
	// requires one.
	RequireMessageAuthenticator bool
	Area                        string
	CoAPort                     int // 0 means DefaultCoAPort
}

// LogValue keeps the shared secret out of logs.
func (n *NAS) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", n.Name), slog.String("ip", n.IP.String()))
}

// NASSource finds the NAS that sent a packet from ip. ip is never an
// IPv4-mapped IPv6 address.
type NASSource interface {
	NASByIP(ip netip.Addr) (*NAS, bool)
}

// StaticNAS is a NASSource over a fixed set, keyed by address.
type StaticNAS map[netip.Addr]*NAS

// NewStaticNAS indexes nas by IP.
func NewStaticNAS(nas ...*NAS) StaticNAS {
	m := make(StaticNAS, len(nas))
	for _, n := range nas {
		m[n.IP.Unmap()] = n
	}
	return m
}

// NASByIP implements NASSource.
func (m StaticNAS) NASByIP(ip netip.Addr) (*NAS, bool) {
	n, ok := m[ip]
	return n, ok
}

// Request is an authenticated request handed to a Handler: its source is a
// known NAS and its authenticators checked. Packet.Secret is the NAS's
// secret, so layeh's helpers (rfc2865.UserPassword_GetString) can unhide
// User-Password.
type Request struct {
	NAS      *NAS
	Packet   *radius.Packet
	Src      netip.AddrPort
	Received time.Time
}

// Handler decides. It is called concurrently, at most once per request
// (retransmissions get the cached reply).
type Handler interface {
	// ServeAccess answers an Access-Request with an Access-Accept, -Reject or
	// -Challenge, built for instance with r.Packet.Response(code). nil means
	// no answer: the NAS will retransmit and the handler will be asked again.
	// The server adds the Message-Authenticator and Proxy-State and computes
	// the Response Authenticator.
	ServeAccess(ctx context.Context, r *Request) *radius.Packet
	// ServeAccounting records an Accounting-Request. nil sends the
	// Accounting-Response; an error sends nothing, so that the NAS retransmits.
	ServeAccounting(ctx context.Context, r *Request) error
}

// AsyncHandler is a Handler that can also answer without a goroutine per
// request: the server calls it from its read loop, and the handler calls
// done later (typically from the goroutine that commits a batch of
// requests), exactly once. Wake-ups between threads are the main cost of a
// request on a small machine; answering a batch from the goroutine that
// committed it saves two per request.
type AsyncHandler interface {
	Handler
	// ServeAccountingAsync is ServeAccounting with its result passed to
	// done. It must not block, except briefly for back-pressure.
	ServeAccountingAsync(ctx context.Context, r *Request, done func(error))
	// ServeAccessAsync is ServeAccess with its reply passed to done, for
	// the requests it can decide without blocking (MAC authentication,
	// say). It reports whether it took r; when it did not, done is never
	// called and the server calls ServeAccess on a goroutine.
	ServeAccessAsync(ctx context.Context, r *Request, done func(*radius.Packet)) bool
}

// DropReason says why a packet got no answer.
type DropReason string

// Reasons for dropping a packet, as reported to Observer.Dropped.
const (
	DropUnknownNAS                  DropReason = "unknown_nas"
	DropBadAuthenticator            DropReason = "bad_authenticator"
	DropMissingMessageAuthenticator DropReason = "missing_message_authenticator"
	DropBadMessageAuthenticator     DropReason = "bad_message_authenticator"
	DropMalformed                   DropReason = "malformed"
	DropUnsupportedCode             DropReason = "unsupported_code" // e.g. an Access-Request on the accounting port
	// DropOverload: a request for a goroutine of its own (a login that
	// waits for a password hash) found Server.Waiting of them taken.
	DropOverload DropReason = "overload"
)

// Result is the outcome of a handled request, as reported to Observer.Handled.
type Result string

// Results of handled requests.
const (
	ResultAccept    Result = "accept"
	ResultReject    Result = "reject"
	ResultChallenge Result = "challenge"
	ResultOK        Result = "ok"       // Accounting-Response or Status-Server answered
	ResultNoReply   Result = "no_reply" // ServeAccess returned nil
	ResultError     Result = "error"    // ServeAccounting failed, or the handler panicked or built a bad reply
)

// Observer receives the server's counters; Prometheus collectors live with
// the caller. Methods are called concurrently and must be fast.
type Observer interface {
	// Dropped counts a packet dropped before reaching the handler.
	Dropped(reason DropReason)
	// Duplicate counts a retransmission: resent is true when the cached reply
	// was sent again, false when it was dropped because the first copy is
	// still being handled.
	Duplicate(resent bool)
	// Handled counts a request that reached the handler (or a Status-Server),
	// with the time from receipt to reply.
	Handled(code radius.Code, result Result, elapsed time.Duration)
}

type nopObserver struct{}

func (nopObserver) Dropped(DropReason)                         {}
func (nopObserver) Duplicate(bool)                             {}
func (nopObserver) Handled(radius.Code, Result, time.Duration) {}

// portKind tells the authentication port from the accounting port.
type portKind byte

const (
	portAuth portKind = 1
	portAcct portKind = 2
)

func (p portKind) String() string {
	if p == portAuth {
		return "auth"
	}
	return "acct"
}

// Server is a RADIUS authentication and accounting server over UDP.
//
// Packets from addresses that are not a known NAS, with a wrong authenticator
// or Message-Authenticator (wrong shared secret), without a required
// Message-Authenticator, or malformed, are dropped without an answer,
// counted and logged (at most once a minute per address and reason). Replies
// to Access-Requests always carry a Message-Authenticator as their first
// attribute. Status-Server (RFC 5997) is answered on both ports.
// Retransmissions are answered from a reply cache without calling the
// Handler (RFC 5080 §2.2.2).
type Server struct {
	AuthAddr, AcctAddr string // for ListenAndServe, e.g. "127.0.0.1:1812"; "" = do not listen
	NAS                NASSource
	Handler            Handler
	Log                *slog.Logger // nil discards; messages carry no "radius" prefix, so give it one with service=
	Metrics            Observer     // nil discards

	// Workers bounds the requests handled at once; when all are busy the
	// read loops wait, and the kernel's socket buffer absorbs bursts.
	// 0 means DefaultWorkers. They are held by requests the AsyncHandler
	// takes (MAC authentication, accounting) and by every request while
	// it is checked.
	Workers int
	// Waiting bounds the requests handled on a goroutine of their own
	// (Handler.ServeAccess: a login by token or password, which may wait
	// for a password hash or the directory). They do not hold a worker:
	// a storm of password logins cannot stop the read loops. When all are
	// taken a new one is dropped unanswered (DropOverload), so that its
	// NAS retransmits. 0 means DefaultWaiting.
	Waiting int
	// DuplicateWindow is how long replies are kept for retransmissions;
	// 0 means DefaultDuplicateWindow. DuplicateCacheSize bounds the number
	// of requests remembered (the oldest go first); 0 means
	// DefaultDuplicateCacheSize.
	DuplicateWindow    time.Duration
	DuplicateCacheSize int

	initOnce sync.Once
	log      *slog.Logger
	obs      Observer
	dedupe   *dedupe
	sem      chan struct{}
	waiting  chan struct{}
	throttle *throttle
	baseCtx  context.Context
	cancel   context.CancelFunc

	mu      sync.Mutex
	closing atomic.Bool
	conns   []net.PacketConn
	loops   sync.WaitGroup // read loops
	workers sync.WaitGroup // request goroutines
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.log = s.Log
		if s.log == nil {
			s.log = slog.New(slog.DiscardHandler)
		}
		s.obs = s.Metrics
		if s.obs == nil {
			s.obs = nopObserver{}
		}
		window, size, workers, waiting := s.DuplicateWindow, s.DuplicateCacheSize, s.Workers, s.Waiting
		if window <= 0 {
			window = DefaultDuplicateWindow
		}
		if size <= 0 {
			size = DefaultDuplicateCacheSize
		}
		if workers <= 0 {
			workers = DefaultWorkers
		}
		if waiting <= 0 {
			waiting = DefaultWaiting
		}
		s.dedupe = newDedupe(window, size)
		s.sem = make(chan struct{}, workers)
		s.waiting = make(chan struct{}, waiting)
		s.throttle = newThrottle(logEvery)
		s.baseCtx, s.cancel = context.WithCancel(context.Background())
	})
}

var errNotConfigured = errors.New("radius: Server needs NAS and Handler")

// ListenAndServe listens on AuthAddr and AcctAddr (UDP) and serves until ctx
// ends or Shutdown is called. When ctx ends it stops reading and waits up to
// 10 s for requests in flight before returning. It returns ErrServerClosed
// after a shutdown, or the error that stopped it.
func (s *Server) ListenAndServe(ctx context.Context) error {
	s.init()
	if s.AuthAddr == "" && s.AcctAddr == "" {
		return errors.New("radius: no listen address")
	}
	if s.NAS == nil || s.Handler == nil {
		return errNotConfigured
	}
	var auth, acct net.PacketConn
	var err error
	if s.AuthAddr != "" {
		if auth, err = net.ListenPacket("udp", s.AuthAddr); err != nil {
			return fmt.Errorf("radius: listen auth: %w", err)
		}
	}
	if s.AcctAddr != "" {
		if acct, err = net.ListenPacket("udp", s.AcctAddr); err != nil {
			if auth != nil {
				auth.Close()
			}
			return fmt.Errorf("radius: listen acct: %w", err)
		}
	}
	done := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(done)
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownGrace)
		defer cancel()
		if err := s.Shutdown(sctx); err != nil {
			s.log.Warn("shutdown", "err", err)
		}
	})
	err = s.Serve(auth, acct)
	if !stop() {
		<-done
	}
	return err
}

// Serve answers requests read from authConn (Access-Request, Status-Server)
// and acctConn (Accounting-Request, Status-Server); either may be nil. It
// returns ErrServerClosed after Shutdown, or the first error that stopped a
// read loop (for instance the connection closed by someone else) once both
// loops have stopped. Serve takes ownership of the connections.
func (s *Server) Serve(authConn, acctConn net.PacketConn) error {
	s.init()
	if s.NAS == nil || s.Handler == nil {
		return errNotConfigured
	}
	type listener struct {
		conn net.PacketConn
		kind portKind
	}
	var ls []listener
	if authConn != nil {
		ls = append(ls, listener{authConn, portAuth})
	}
	if acctConn != nil {
		ls = append(ls, listener{acctConn, portAcct})
	}
	if len(ls) == 0 {
		return errors.New("radius: Serve needs a connection")
	}
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		for _, l := range ls {
			l.conn.Close()
		}
		return ErrServerClosed
	}
	for _, l := range ls {
		s.conns = append(s.conns, l.conn)
	}
	s.loops.Add(len(ls))
	s.mu.Unlock()

	errc := make(chan error, len(ls))
	for _, l := range ls {
		go func() {
			defer s.loops.Done()
			s.log.Info("listening", "port", l.kind.String(), "addr", l.conn.LocalAddr().String())
			errc <- s.readLoop(l.conn, l.kind)
		}()
	}
	var first error
	for range ls {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	if s.closing.Load() {
		return ErrServerClosed
	}
	return first
}

// Shutdown stops reading, waits for requests in flight to be answered, then
// closes the connections. If ctx ends first, handlers' contexts are
// cancelled, the connections closed, and ctx's error returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.mu.Lock()
	s.closing.Store(true)
	conns := s.conns
	s.mu.Unlock()
	for _, c := range conns {
		c.SetReadDeadline(time.Unix(1, 0)) // wake the read loops
	}
	done := make(chan struct{})
	go func() {
		s.loops.Wait() // no more workers.Add after this
		s.workers.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.cancel()
	for _, c := range conns {
		c.Close()
	}
	return err
}

func (s *Server) readLoop(conn net.PacketConn, kind portKind) error {
	udp, _ := conn.(*net.UDPConn)
	buf := make([]byte, radius.MaxPacketLength)
	var backoff time.Duration
	for {
		var (
			n   int
			src netip.AddrPort
			err error
		)
		if udp != nil {
			n, src, err = udp.ReadFromUDPAddrPort(buf)
		} else {
			var addr net.Addr
			n, addr, err = conn.ReadFrom(buf)
			if ua, ok := addr.(*net.UDPAddr); ok {
				src = ua.AddrPort()
			}
		}
		if err != nil {
			if s.closing.Load() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Transient (e.g. ICMP-induced) errors: back off briefly, keep serving.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("read", "port", kind.String(), "err", err)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		received := time.Now()
		pkt := make([]byte, n)
		copy(pkt, buf[:n])
		s.sem <- struct{}{}
		s.workers.Add(1)
		release := func() {
			<-s.sem
			s.workers.Done()
		}
		reply, in := s.admit(kind, pkt, src, received)
		if in == nil {
			if reply != nil {
				s.write(conn, udp, kind, reply, src)
			}
			release()
			continue
		}
		if s.serveAsync(conn, udp, in, release) {
			continue
		}
		// A goroutine of its own, which gives its worker back.
		<-s.sem
		select {
		case s.waiting <- struct{}{}:
		default:
			s.complete(in, nil, ResultNoReply)
			s.drop(DropOverload, kind, src.Addr().Unmap(), in.req.NAS, received)
			s.workers.Done()
			continue
		}
		go func() {
			defer func() {
				<-s.waiting
				s.workers.Done()
			}()
			out, result := s.serve(s.baseCtx, in)
			if out = s.complete(in, out, result); out != nil {
				s.write(conn, udp, kind, out, src)
			}
		}()
	}
}

// write sends reply to dst.
func (s *Server) write(conn net.PacketConn, udp *net.UDPConn, kind portKind, reply []byte, dst netip.AddrPort) {
	var err error
	if udp != nil {
		_, err = udp.WriteToUDPAddrPort(reply, dst)
	} else {
		_, err = conn.WriteTo(reply, net.UDPAddrFromAddrPort(dst))
	}
	if err != nil {
		s.log.Warn("write", "port", kind.String(), "ip", dst.Addr().Unmap().String(), "err", err)
	}
}

// serveAsync hands in to an AsyncHandler, if the handler is one and takes
// it; the reply is written, and release called, when the handler is done.
func (s *Server) serveAsync(conn net.PacketConn, udp *net.UDPConn, in *inbound, release func()) bool {
	h, ok := s.Handler.(AsyncHandler)
	if !ok {
		return false
	}
	var once atomic.Bool
	finish := func(out []byte, result Result) {
		if !once.CompareAndSwap(false, true) {
			return // the handler answered, then panicked
		}
		defer release()
		if out = s.complete(in, out, result); out != nil {
			s.write(conn, udp, in.kind, out, in.req.Src)
		}
	}
	r := in.req
	taken, err := func() (taken bool, err error) {
		defer s.recovered(r, &err)
		if r.Packet.Code == radius.CodeAccountingRequest {
			h.ServeAccountingAsync(s.baseCtx, r, func(err error) { finish(s.accountingReply(r, err)) })
			return true, nil
		}
		return h.ServeAccessAsync(s.baseCtx, r, func(p *radius.Packet) { finish(s.accessReply(r, p, nil)) }), nil
	}()
	if err != nil {
		finish(nil, ResultError)
		return true
	}
	return taken
}

// drop counts and logs a packet dropped before the handler.
func (s *Server) drop(reason DropReason, kind portKind, ip netip.Addr, nas *NAS, now time.Time) {
	s.obs.Dropped(reason)
	level := slog.LevelWarn
	if !s.throttle.allow(ip, reason, now) {
		level = slog.LevelDebug
	}
	if !s.log.Enabled(context.Background(), level) {
		return
	}
	attrs := []any{"port", kind.String(), "ip", ip.String(), "reason", string(reason)}
	if nas != nil {
		attrs = append(attrs, "nas", nas.Name)
	}
	msg := "radius packet dropped"
	switch reason {
	case DropUnknownNAS:
		msg = "radius packet from unknown NAS dropped"
	case DropBadAuthenticator, DropBadMessageAuthenticator:
		msg = "radius packet dropped: check the shared secret"
	case DropOverload:
		msg = "radius login dropped: too many logins waiting (Waiting); the NAS will retransmit"
	case DropMissingMessageAuthenticator:
		msg = "radius packet without Message-Authenticator dropped: configure the NAS to send it, or set require_message_authenticator = false"
	}
	s.log.Log(context.Background(), level, msg, attrs...)
}

// handlePacket is everything the server does with one datagram b from src
// that arrived on the kind port: it returns the reply to send, or nil. It is
// safe for concurrent use and needs no socket.
func (s *Server) handlePacket(ctx context.Context, kind portKind, b []byte, src netip.AddrPort, received time.Time) []byte {
	reply, in := s.admit(kind, b, src, received)
	if in == nil {
		return reply
	}
	out, result := s.serve(ctx, in)
	return s.complete(in, out, result)
}

// inbound is an admitted request on its way to the handler: checked, and
// registered with duplicate detection.
type inbound struct {
	kind  portKind
	req   *Request
	key   dedupeKey
	entry *dedupeEntry
}

// admit checks a datagram: it returns either the reply to send at once (a
// Status-Server, a retransmission's cached reply), or the request for the
// handler, or neither (dropped).
func (s *Server) admit(kind portKind, b []byte, src netip.AddrPort, received time.Time) ([]byte, *inbound) {
	ip := src.Addr().Unmap()
	nas, ok := s.NAS.NASByIP(ip)
	if !ok || nas == nil {
		s.drop(DropUnknownNAS, kind, ip, nil, received)
		return nil, nil
	}
	raw, err := trimPacket(b)
	if err != nil {
		s.drop(DropMalformed, kind, ip, nas, received)
		return nil, nil
	}
	code := radius.Code(raw[0])
	switch {
	case code == radius.CodeStatusServer:
	case kind == portAuth && code == radius.CodeAccessRequest:
	case kind == portAcct && code == radius.CodeAccountingRequest:
	default:
		s.drop(DropUnsupportedCode, kind, ip, nas, received)
		return nil, nil
	}
	hasMA, err := verifyRequest(raw, nas.Secret)
	switch {
	case errors.Is(err, errBadAuth):
		s.drop(DropBadAuthenticator, kind, ip, nas, received)
		return nil, nil
	case errors.Is(err, errBadMA):
		s.drop(DropBadMessageAuthenticator, kind, ip, nas, received)
		return nil, nil
	case err != nil:
		s.drop(DropMalformed, kind, ip, nas, received)
		return nil, nil
	}
	pkt, err := radius.Parse(raw, nas.Secret)
	if err != nil {
		s.drop(DropMalformed, kind, ip, nas, received)
		return nil, nil
	}
	if !hasMA {
		_, eap := pkt.Lookup(attrEAPMessage)
		if code == radius.CodeStatusServer || (code == radius.CodeAccessRequest && (nas.RequireMessageAuthenticator || eap)) {
			s.drop(DropMissingMessageAuthenticator, kind, ip, nas, received)
			return nil, nil
		}
	}

	if code == radius.CodeStatusServer {
		// Not cached: answering is cheap and RFC 5997 §3 asks for a fresh
		// Identifier on every Status-Server anyway.
		replyCode := radius.CodeAccessAccept
		if kind == portAcct {
			replyCode = radius.CodeAccountingResponse
		}
		out, err := encodeReply(pkt.Response(replyCode), pkt.Identifier, pkt.Authenticator, nas.Secret, true, nil)
		if err != nil {
			s.log.Error("status-server reply", "nas", nas.Name, "err", err)
			return nil, nil
		}
		s.obs.Handled(code, ResultOK, time.Since(received))
		return out, nil
	}

	key := dedupeKey{port: kind, src: src, id: pkt.Identifier, auth: pkt.Authenticator}
	entry, cached, state := s.dedupe.begin(key, received)
	switch state {
	case dedupeAnswered:
		s.obs.Duplicate(true)
		return cached, nil
	case dedupeInFlight:
		s.obs.Duplicate(false)
		return nil, nil
	}

	req := &Request{NAS: nas, Packet: pkt, Src: src, Received: received}
	return nil, &inbound{kind: kind, req: req, key: key, entry: entry}
}

// serve asks the handler about in, on the caller's goroutine.
func (s *Server) serve(ctx context.Context, in *inbound) ([]byte, Result) {
	if in.req.Packet.Code == radius.CodeAccessRequest {
		return s.serveAccess(ctx, in.req)
	}
	return s.serveAccounting(ctx, in.req)
}

// complete records the outcome of in with duplicate detection and the
// observer, and returns out.
func (s *Server) complete(in *inbound, out []byte, result Result) []byte {
	if out == nil {
		s.dedupe.abort(in.key, in.entry)
	} else {
		s.dedupe.finish(in.entry, out, time.Now())
	}
	s.obs.Handled(in.req.Packet.Code, result, time.Since(in.req.Received))
	return out
}

// ErrHandlerPanic stands for the result of a handler that panicked.
var ErrHandlerPanic = errors.New("radius: handler panicked")

// recovered turns a handler panic into a logged ErrHandlerPanic in *err.
func (s *Server) recovered(r *Request, err *error) {
	if v := recover(); v != nil {
		s.log.Error("handler panic", "nas", r.NAS.Name, "code", r.Packet.Code.String(), "panic", fmt.Sprint(v))
		*err = ErrHandlerPanic
	}
}

func (s *Server) serveAccess(ctx context.Context, r *Request) ([]byte, Result) {
	reply, err := func() (p *radius.Packet, err error) {
		defer s.recovered(r, &err)
		return s.Handler.ServeAccess(ctx, r), nil
	}()
	return s.accessReply(r, reply, err)
}

// accessReply encodes the handler's answer to an Access-Request.
func (s *Server) accessReply(r *Request, reply *radius.Packet, err error) ([]byte, Result) {
	if err != nil {
		return nil, ResultError
	}
	if reply == nil {
		return nil, ResultNoReply
	}
	var result Result
	switch reply.Code {
	case radius.CodeAccessAccept:
		result = ResultAccept
	case radius.CodeAccessReject:
		result = ResultReject
	case radius.CodeAccessChallenge:
		result = ResultChallenge
	default:
		s.log.Error("handler built a reply that is not Access-Accept/Reject/Challenge", "nas", r.NAS.Name, "code", reply.Code.String())
		return nil, ResultError
	}
	out, err := encodeReply(reply, r.Packet.Identifier, r.Packet.Authenticator, r.NAS.Secret, true, proxyStateToCopy(r.Packet, reply))
	if err != nil {
		s.log.Error("encode reply", "nas", r.NAS.Name, "err", err)
		return nil, ResultError
	}
	return out, result
}

func (s *Server) serveAccounting(ctx context.Context, r *Request) ([]byte, Result) {
	err := func() (err error) {
		defer s.recovered(r, &err)
		return s.Handler.ServeAccounting(ctx, r)
	}()
	return s.accountingReply(r, err)
}

// accountingReply encodes the Accounting-Response, unless the handler
// failed.
func (s *Server) accountingReply(r *Request, err error) ([]byte, Result) {
	if err != nil {
		s.log.Warn("accounting not recorded; NAS will retransmit", "nas", r.NAS.Name, "err", err)
		return nil, ResultError
	}
	// No Message-Authenticator: see the note on Accounting-Response in wire.go.
	reply := r.Packet.Response(radius.CodeAccountingResponse)
	out, err := encodeReply(reply, r.Packet.Identifier, r.Packet.Authenticator, r.NAS.Secret, false, proxyStateToCopy(r.Packet, reply))
	if err != nil {
		s.log.Error("encode reply", "nas", r.NAS.Name, "err", err)
		return nil, ResultError
	}
	return out, ResultOK
}

// proxyStateToCopy returns the request's Proxy-State attributes, which the
// reply must carry unchanged and in order (RFC 2865 §5.33), unless the
// handler already copied them.
func proxyStateToCopy(req, reply *radius.Packet) radius.Attributes {
	if _, ok := reply.Lookup(attrProxyState); ok {
		return nil
	}
	var out radius.Attributes
	for _, a := range req.Attributes {
		if a.Type == attrProxyState {
			out = append(out, a)
		}
	}
	return out
}

// throttle remembers when a complaint about an address was last logged.
type throttle struct {
	every time.Duration
	mu    sync.Mutex
	last  map[throttleKey]time.Time
}

type throttleKey struct {
	ip     netip.Addr
	reason DropReason
}

func newThrottle(every time.Duration) *throttle {
	return &throttle{every: every, last: make(map[throttleKey]time.Time)}
}

// allow reports whether to log about (ip, reason) now, and if so records it.
func (t *throttle) allow(ip netip.Addr, reason DropReason, now time.Time) bool {
	k := throttleKey{ip, reason}
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.last[k]; ok && now.Sub(last) < t.every {
		return false
	}
	if len(t.last) >= 4096 { // a flood from many addresses: forget the old ones
		for k, last := range t.last {
			if now.Sub(last) >= t.every {
				delete(t.last, k)
			}
		}
		if len(t.last) >= 4096 {
			return false
		}
	}
	t.last[k] = now
	return true
}
