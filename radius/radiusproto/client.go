package radiusproto

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"layeh.com/radius"
)

// Defaults for the zero values of Client's fields.
const (
	DefaultRetry      = time.Second
	DefaultMaxTries   = 3
	DefaultMaxSockets = 16
)

// ErrClientClosed is returned by Exchange after Close.
var ErrClientClosed = errors.New("radius: client closed")

// Client sends requests (Access-Request, Accounting-Request, Status-Server,
// Disconnect-Request, CoA-Request) and waits for their replies. It is meant
// for many concurrent requests: each UDP socket carries up to 256 requests
// in flight (one per Identifier); more sockets are opened as needed, up to
// MaxSockets, after which Exchange waits for a free Identifier.
//
// Replies are accepted only from the address the request went to, with the
// right Identifier, Response Authenticator and Message-Authenticator (when
// present, or always when RequireMessageAuthenticator). Anything else is
// ignored, and Exchange goes on waiting.
//
// The zero Client is ready to use; set fields before the first Exchange.
type Client struct {
	// Retry is the wait for a reply before the request is sent again (the
	// same bytes, so the server's duplicate detection recognises it).
	// 0 means DefaultRetry.
	Retry time.Duration
	// MaxTries is how many times a request is sent in all. 0 means
	// DefaultMaxTries.
	MaxTries int
	// RequireMessageAuthenticator refuses replies to Access-Request and
	// Status-Server without a Message-Authenticator (BlastRADIUS).
	RequireMessageAuthenticator bool
	// MaxSockets bounds the sockets, so requests in flight are at most
	// 256 × MaxSockets. 0 means DefaultMaxSockets.
	MaxSockets int
	// LocalAddr is the local address to send from, e.g. "127.0.0.2:0" to
	// appear as another NAS; "" means any.
	LocalAddr string

	initOnce sync.Once
	sem      chan struct{} // one token per Identifier in flight
	mu       sync.Mutex
	socks    []*clientSocket
	next     int // socket to try first
	closed   bool
}

type clientSocket struct {
	conn *net.UDPConn
	mu   sync.Mutex
	busy [256]*pending
	free int
	next byte // Identifier to try first: round robin, so a late reply to a finished request rarely meets a new one
}

// pending is a request waiting for its reply.
type pending struct {
	dst     netip.AddrPort
	replies chan []byte
}

func (c *Client) init() {
	c.initOnce.Do(func() {
		n := c.MaxSockets
		if n <= 0 {
			n = DefaultMaxSockets
		}
		c.sem = make(chan struct{}, 256*n)
	})
}

// Close closes the client's sockets; requests in flight fail.
func (c *Client) Close() error {
	c.init()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var first error
	for _, s := range c.socks {
		if err := s.conn.Close(); err != nil && first == nil {
			first = err
		}
	}
	c.socks = nil
	return first
}

// Exchange sends p to addr ("host:port") and returns the verified reply,
// whose Secret is p.Secret. p is encoded by EncodeRequest with an Identifier
// chosen by the client (p itself is not modified); for an Access-Request p
// must be fresh from radius.New, with a random Authenticator. After MaxTries
// sends without an authentic reply it returns an error wrapping
// ErrNoResponse.
func (c *Client) Exchange(ctx context.Context, p *radius.Packet, addr string) (*radius.Packet, error) {
	dst, err := resolve(ctx, addr)
	if err != nil {
		return nil, err
	}
	reply, _, err := c.exchange(ctx, p, dst)
	return reply, err
}

func resolve(ctx context.Context, addr string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("radius: address %q: %w", addr, err)
	}
	pn, err := net.DefaultResolver.LookupPort(ctx, "udp", port)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("radius: address %q: %w", addr, err)
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return netip.AddrPort{}, fmt.Errorf("radius: address %q: %w", addr, err)
	}
	return netip.AddrPortFrom(ips[0].Unmap(), uint16(pn)), nil
}

// expectedReply reports whether code answers a request of code req.
func expectedReply(req, code radius.Code) bool {
	switch req {
	case radius.CodeAccessRequest:
		return code == radius.CodeAccessAccept || code == radius.CodeAccessReject || code == radius.CodeAccessChallenge
	case radius.CodeAccountingRequest:
		return code == radius.CodeAccountingResponse
	case radius.CodeStatusServer:
		return code == radius.CodeAccessAccept || code == radius.CodeAccountingResponse
	case radius.CodeDisconnectRequest:
		return code == radius.CodeDisconnectACK || code == radius.CodeDisconnectNAK
	case radius.CodeCoARequest:
		return code == radius.CodeCoAACK || code == radius.CodeCoANAK
	}
	return false
}

// exchange is Exchange to a resolved address; it also reports how many
// times the request was sent.
func (c *Client) exchange(ctx context.Context, p *radius.Packet, dst netip.AddrPort) (*radius.Packet, int, error) {
	c.init()
	retry, tries := c.Retry, c.MaxTries
	if retry <= 0 {
		retry = DefaultRetry
	}
	if tries <= 0 {
		tries = DefaultMaxTries
	}
	wait := &pending{dst: dst, replies: make(chan []byte, 4)}
	sock, id, err := c.acquire(ctx, wait)
	if err != nil {
		return nil, 0, err
	}
	defer c.release(sock, id)

	q := *p
	q.Identifier = id
	req, err := EncodeRequest(&q)
	if err != nil {
		return nil, 0, err
	}
	requireMA := c.RequireMessageAuthenticator && (p.Code == radius.CodeAccessRequest || p.Code == radius.CodeStatusServer)

	timer := time.NewTimer(retry)
	defer timer.Stop()
	var bad int
	var lastBad error
	for try := 1; try <= tries; try++ {
		if _, err := sock.conn.WriteToUDPAddrPort(req, dst); err != nil {
			return nil, try, fmt.Errorf("radius: send to %s: %w", dst, err)
		}
		timer.Reset(retry)
	wait:
		for {
			select {
			case <-ctx.Done():
				return nil, try, ctx.Err()
			case <-timer.C:
				break wait
			case b := <-wait.replies:
				reply, err := ReadReply(b, req, p.Secret, requireMA)
				if err == nil {
					return reply, try, nil
				}
				bad++
				lastBad = err
			}
		}
	}
	if bad > 0 {
		return nil, tries, fmt.Errorf("%w from %s after %d tries (%d replies discarded, last: %v; check the shared secret)", ErrNoResponse, dst, tries, bad, lastBad)
	}
	return nil, tries, fmt.Errorf("%w from %s after %d tries", ErrNoResponse, dst, tries)
}

// ReadReply checks that b is an authentic reply to the encoded request req
// (Identifier, Response Authenticator, Message-Authenticator when present or
// when requireMA, a code that answers the request's) and parses it.
func ReadReply(b, req, secret []byte, requireMA bool) (*radius.Packet, error) {
	resp, err := verifyReply(b, req, secret, requireMA)
	if err != nil {
		return nil, err
	}
	reply, err := radius.Parse(resp, secret)
	if err != nil {
		return nil, err
	}
	if rc := radius.Code(req[0]); !expectedReply(rc, reply.Code) {
		return nil, fmt.Errorf("%w: %v in reply to %v", errUnsupportedCode, reply.Code, rc)
	}
	return reply, nil
}

// acquire reserves an Identifier on some socket for w, opening a socket when
// all are full.
func (c *Client) acquire(ctx context.Context, w *pending) (*clientSocket, byte, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		<-c.sem
		return nil, 0, ErrClientClosed
	}
	n := len(c.socks)
	for i := range n {
		s := c.socks[(c.next+i)%n]
		if id, ok := s.alloc(w); ok {
			c.next = (c.next + i) % n
			return s, id, nil
		}
	}
	// The semaphore guarantees fewer than MaxSockets sockets are full.
	s, err := c.openSocket()
	if err != nil {
		<-c.sem
		return nil, 0, err
	}
	c.socks = append(c.socks, s)
	c.next = len(c.socks) - 1
	id, _ := s.alloc(w)
	return s, id, nil
}

func (c *Client) release(s *clientSocket, id byte) {
	s.mu.Lock()
	s.busy[id] = nil
	s.free++
	s.mu.Unlock()
	<-c.sem
}

func (c *Client) openSocket() (*clientSocket, error) {
	var laddr *net.UDPAddr
	if c.LocalAddr != "" {
		a, err := net.ResolveUDPAddr("udp", c.LocalAddr)
		if err != nil {
			return nil, fmt.Errorf("radius: local address: %w", err)
		}
		laddr = a
	}
	conn, err := net.ListenUDP("udp", laddr)
	if err != nil {
		return nil, fmt.Errorf("radius: client socket: %w", err)
	}
	s := &clientSocket{conn: conn, free: 256}
	go s.read()
	return s, nil
}

func (s *clientSocket) alloc(w *pending) (byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.free == 0 {
		return 0, false
	}
	for i := range 256 {
		id := s.next + byte(i)
		if s.busy[id] == nil {
			s.busy[id] = w
			s.free--
			s.next = id + 1
			return id, true
		}
	}
	return 0, false
}

// read hands each datagram to the request waiting on its Identifier, if it
// came from where that request went; verification is the waiter's.
func (s *clientSocket) read() {
	buf := make([]byte, radius.MaxPacketLength)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(time.Millisecond) // do not spin on a persistent error
			continue
		}
		if n < headerLen {
			continue
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		s.mu.Lock()
		w := s.busy[buf[1]]
		s.mu.Unlock()
		if w == nil || w.dst != from {
			continue
		}
		b := make([]byte, n)
		copy(b, buf[:n])
		select {
		case w.replies <- b:
		default: // the waiter has enough to look at
		}
	}
}
