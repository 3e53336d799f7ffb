package portalproto

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultNotifyAddr is where NotifyServer listens by default. BASes send
// their unsolicited packets to port 50100 (docs/protocols.md#portal-transport).
const DefaultNotifyAddr = "127.0.0.1:50100"

// DefaultDedupWindow is how long NotifyServer remembers an NTF_LOGOUT. A
// Huawei BAS retransmits it 3 times within 5 s
// (docs/protocols.md#portal-timeouts-and-retransmission).
const DefaultDedupWindow = 30 * time.Second

// NotifyServer receives NTF_LOGOUT from BASes on the portal side.
//
// It finds the BAS by the BAS-IP attribute, falling back to the datagram's
// source address, and asks Secrets for its shared secret. A packet from an
// unknown BAS, or one whose v2 authenticator fails, is dropped unanswered.
// Every other NTF_LOGOUT is answered with ACK_NTF_LOGOUT, whether or not the
// user is online, and its retransmissions (same BAS-IP, SerialNo and UserIP
// within DedupWindow) are answered too but reach Handler only once.
// Malformed packets are counted and dropped.
//
// NTF_USERIPCHANGE is counted and dropped: its attributes are not described
// well enough to act on.
type NotifyServer struct {
	// Addr is the UDP address for ListenAndServe; empty means
	// DefaultNotifyAddr.
	Addr string
	// Secrets returns the Portal shared secret of the BAS at basIP; ok is
	// false for an unknown BAS. Required; called from the read loop, so
	// it should be quick.
	Secrets func(basIP netip.Addr) (secret string, ok bool)
	// Handler is called once per forced logout, in its own goroutine,
	// after the ACK has gone out. The user is named by the header's IPv4
	// address (unless 0.0.0.0), the IPv6 attribute (Huawei's User-IPv6 or
	// H3C's UserIPv6-List) and UserMac ("aa:bb:cc:dd:ee:ff", or empty).
	// Required.
	Handler func(ctx context.Context, basIP netip.Addr, user User)
	// Logger receives records about dropped packets; nil discards.
	Logger *slog.Logger
	// DedupWindow; zero means DefaultDedupWindow.
	DedupWindow time.Duration
	// Now is the clock for the duplicate window; nil means time.Now.
	Now func() time.Time

	st serveState

	dmu       sync.Mutex
	seen      map[ntfKey]time.Time
	lastSweep time.Time

	received, acked, duplicates, malformed, unknownBAS, badAuth, ignored atomic.Uint64
}

type ntfKey struct {
	bas    netip.Addr
	serial uint16
	user   netip.Addr
	user6  netip.Addr
}

// NotifyStats counts what a NotifyServer saw. Counters only grow.
type NotifyStats struct {
	Received         uint64 // datagrams read
	Acked            uint64 // ACK_NTF_LOGOUT sent
	Duplicates       uint64 // retransmitted NTF_LOGOUT, acked but not handled again
	Malformed        uint64 // datagrams that did not decode
	UnknownBAS       uint64 // from a BAS Secrets does not know
	BadAuthenticator uint64 // v2 authenticator failed: wrong secret or forged
	Ignored          uint64 // other packet types, NTF_USERIPCHANGE included
}

// Stats returns the counters.
func (s *NotifyServer) Stats() NotifyStats {
	return NotifyStats{
		Received:         s.received.Load(),
		Acked:            s.acked.Load(),
		Duplicates:       s.duplicates.Load(),
		Malformed:        s.malformed.Load(),
		UnknownBAS:       s.unknownBAS.Load(),
		BadAuthenticator: s.badAuth.Load(),
		Ignored:          s.ignored.Load(),
	}
}

// ListenAndServe listens on s.Addr and calls Serve.
func (s *NotifyServer) ListenAndServe() error {
	addr := s.Addr
	if addr == "" {
		addr = DefaultNotifyAddr
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	return s.Serve(pc)
}

// Serve reads packets from pc until Shutdown, and then returns
// ErrServerClosed. It closes pc on return.
func (s *NotifyServer) Serve(pc net.PacketConn) error {
	defer pc.Close()
	if s.Secrets == nil || s.Handler == nil {
		return errors.New("portalproto: NotifyServer needs Secrets and Handler")
	}
	if err := s.st.track(pc); err != nil {
		return err
	}
	defer s.st.untrack(pc)
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	buf := make([]byte, maxPacketLen+1)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if s.st.isClosed() {
				return ErrServerClosed
			}
			return err
		}
		s.received.Add(1)
		s.handle(pc, log, buf[:n], addrPort(from))
	}
}

// Shutdown stops reading and waits for running handlers until ctx ends,
// then cancels their context.
func (s *NotifyServer) Shutdown(ctx context.Context) error {
	return s.st.shutdown(ctx)
}

func (s *NotifyServer) handle(pc net.PacketConn, log *slog.Logger, b []byte, from netip.AddrPort) {
	p, err := Unmarshal(b)
	if err != nil {
		s.malformed.Add(1)
		log.Warn("portal notify: malformed packet", "from", from.String(), "err", err)
		return
	}
	if p.Type != NtfLogout {
		s.ignored.Add(1)
		log.Debug("portal notify: packet type not handled", "from", from.String(), "type", p.Type.String())
		return
	}
	basIP, ok := p.BASIP()
	if !ok {
		basIP, ok = p.BASIPv6()
	}
	if !ok {
		basIP = from.Addr().Unmap()
	}
	secret, ok := s.Secrets(basIP)
	if !ok {
		s.unknownBAS.Add(1)
		log.Warn("portal notify: NTF_LOGOUT from unknown BAS", "nas", basIP, "from", from.String())
		return
	}
	if err := p.Verify([]byte(secret), nil); err != nil {
		s.badAuth.Add(1)
		log.Warn("portal notify: NTF_LOGOUT fails authenticator check, wrong secret?", "nas", basIP, "from", from.String())
		return
	}

	ack := &Packet{
		Version: p.Version, Type: AckNtfLogout, Auth: p.Auth,
		SerialNo: p.SerialNo, ReqID: p.ReqID, UserIP: p.UserIP,
	}
	u := PacketUser(p)
	if u.IPv6.IsValid() {
		ack.AddUserIPv6(p.UserIPv6Style(), u.IPv6)
	}
	if basIP.Is4() {
		b := basIP.As4()
		ack.AddAttr(AttrBASIP, b[:])
	} else if basIP.Is6() {
		b := basIP.As16()
		ack.AddAttr(AttrBASIPv6, b[:])
	}
	// UNVERIFIED: the ACK_NTF_LOGOUT authenticator is seeded with the
	// NTF_LOGOUT's, by analogy with every other answer
	// (docs/protocols.md#portal-authenticator).
	out, err := ack.Marshal([]byte(secret), &p.Authenticator)
	if err == nil {
		_, err = pc.WriteTo(out, net.UDPAddrFromAddrPort(from))
	}
	if err != nil {
		log.Warn("portal notify: ACK_NTF_LOGOUT not sent", "nas", basIP, "ip", p.UserIP, "err", err)
	} else {
		s.acked.Add(1)
	}

	if !s.firstTime(ntfKey{basIP, p.SerialNo, p.UserIP, u.IPv6}) {
		s.duplicates.Add(1)
		return
	}
	if !u.IP.IsValid() && !u.IPv6.IsValid() {
		s.ignored.Add(1)
		log.Warn("portal notify: NTF_LOGOUT names no user address", "nas", basIP, "from", from.String())
		return
	}
	s.st.goHandler(func(ctx context.Context) { s.Handler(ctx, basIP, u) })
}

// firstTime records k and reports whether it was not seen within the
// window.
func (s *NotifyServer) firstTime(k ntfKey) bool {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	window := s.DedupWindow
	if window <= 0 {
		window = DefaultDedupWindow
	}
	t := now()
	s.dmu.Lock()
	defer s.dmu.Unlock()
	if s.seen == nil {
		s.seen = make(map[ntfKey]time.Time)
	}
	if t.Sub(s.lastSweep) > window {
		for key, at := range s.seen {
			if t.Sub(at) > window {
				delete(s.seen, key)
			}
		}
		s.lastSweep = t
	}
	if at, ok := s.seen[k]; ok && t.Sub(at) <= window {
		return false
	}
	s.seen[k] = t
	return true
}
