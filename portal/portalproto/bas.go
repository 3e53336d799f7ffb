package portalproto

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// BASHandler decides what a simulated BAS answers. BASServer calls it from
// one goroutine per request.
type BASHandler interface {
	// Challenge answers REQ_CHALLENGE for the user at userIP (the IPv4
	// address, or the IPv6 one of an IPv6-only user). With CodeOK, reqID 0 lets the
	// server assign one and a nil challenge lets it draw 16 random bytes.
	Challenge(ctx context.Context, userIP netip.Addr, mac string) (reqID uint16, challenge []byte, code Code)
	// Auth answers REQ_AUTH; textInfo goes into TextInfo when not empty.
	// This is where a BAS would run RADIUS.
	Auth(ctx context.Context, req AuthRequest) (code Code, textInfo string)
	// Logout answers REQ_LOGOUT. For a timeout notice (req.Timeout) the
	// code is not sent: the portal expects no answer.
	Logout(ctx context.Context, req LogoutRequest) Code
	// Info answers REQ_INFO for the user at userIP (as in Challenge).
	Info(ctx context.Context, userIP netip.Addr) (InfoResult, Code)
}

// AuthRequest is a decoded REQ_AUTH.
type AuthRequest struct {
	Version Version
	Method  AuthMethod
	// UserIP is the header's IPv4 address, the zero Addr for an
	// IPv6-only user; UserIPv6 the IPv6 attribute's address, if any.
	UserIP   netip.Addr
	UserIPv6 netip.Addr
	MAC      string // "aa:bb:cc:dd:ee:ff", empty when the portal sent none
	Username string
	// ReqID is the one the BAS gave in ACK_CHALLENGE (CHAP) or, for PAP,
	// the one the server assigned for ACK_AUTH.
	ReqID uint16
	// CHAP: ChapID is the low byte of ReqID; Challenge is the challenge
	// this server issued for (UserIP, ReqID), so ChapPassword should equal
	// ChapPassword(ReqID, secret, Challenge).
	ChapID       byte
	ChapPassword []byte
	Challenge    []byte
	// PAP: the password in plaintext.
	PapPassword []byte
}

// LogoutRequest is a decoded REQ_LOGOUT.
type LogoutRequest struct {
	Version Version
	// UserIP and UserIPv6 name the user as in AuthRequest.
	UserIP   netip.Addr
	UserIPv6 netip.Addr
	ReqID    uint16
	// Timeout is set for ErrCode 1: the portal gave up waiting for an
	// answer to the REQ_CHALLENGE or REQ_AUTH with this SerialNo and
	// cancels it.
	Timeout  bool
	SerialNo uint16
}

// BASServer is the BAS side of the protocol, for the BAS simulator in tests
// and demos. It answers each request in the version it was asked, verifies
// v2 request authenticators (dropping failures unanswered), signs answers,
// keeps the CHAP challenges it issued, and records AFF_ACK_AUTH without
// answering it. Malformed packets are counted and dropped.
type BASServer struct {
	// Secret is the Portal shared secret (v2).
	Secret string
	// BASIP is sent as the BAS-IP attribute in answers and NTF_LOGOUT;
	// the zero Addr leaves it out.
	BASIP netip.Addr
	// Handler decides the answers. Required.
	Handler BASHandler
	// Logger; nil discards.
	Logger *slog.Logger
	// TextGB18030 encodes TextInfo in GB18030 instead of UTF-8, as some
	// Chinese-market devices do.
	TextGB18030 bool
	// OnPacket, when set, sees every verified packet received (after
	// decoding, before handling), for tests and demos that record what the
	// portal sent. It runs in the read loop and must be quick.
	OnPacket func(p *Packet, from netip.AddrPort)
	// IPv6Style spells the user's IPv6 address in NTF_LOGOUT (answers use
	// the style of the request).
	IPv6Style IPv6Style
	// NotifyVersion is the version of NTF_LOGOUT; zero means V2.
	NotifyVersion Version
	// NotifyRetries is how many times NTF_LOGOUT is retransmitted without
	// an ACK_NTF_LOGOUT; zero means 3, negative means none.
	NotifyRetries int
	// NotifyWindow is the time all transmissions of one NTF_LOGOUT are
	// spread over; zero means 5 s (Huawei: 3 times within 5 s).
	NotifyWindow time.Duration

	st     serveState
	serial atomic.Uint32
	reqID  atomic.Uint32

	mu         sync.Mutex
	challenges map[chalKey]chalEntry
	lastSweep  time.Time
	sessions   map[netip.Addr]uint16 // user → ReqID of the accepted login

	received, malformed, badAuth, affAcks, ignored atomic.Uint64
}

type chalKey struct {
	user  netip.Addr
	reqID uint16
}

type chalEntry struct {
	challenge []byte
	expires   time.Time
}

// challengeTTL bounds how long an issued challenge is accepted.
const challengeTTL = time.Minute

// BASStats counts what a BASServer saw. Counters only grow.
type BASStats struct {
	Received         uint64 // datagrams read
	Malformed        uint64 // datagrams that did not decode
	BadAuthenticator uint64 // v2 requests whose authenticator failed
	AffAckAuth       uint64 // AFF_ACK_AUTH received
	Ignored          uint64 // types the server does not handle
}

// Stats returns the counters.
func (s *BASServer) Stats() BASStats {
	return BASStats{
		Received:         s.received.Load(),
		Malformed:        s.malformed.Load(),
		BadAuthenticator: s.badAuth.Load(),
		AffAckAuth:       s.affAcks.Load(),
		Ignored:          s.ignored.Load(),
	}
}

func (s *BASServer) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// ListenAndServe listens on addr (the BAS's port, usually ":2000") and
// calls Serve.
func (s *BASServer) ListenAndServe(addr string) error {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	return s.Serve(pc)
}

// Serve reads requests from pc until Shutdown, and then returns
// ErrServerClosed. It closes pc on return.
func (s *BASServer) Serve(pc net.PacketConn) error {
	defer pc.Close()
	if s.Handler == nil {
		return errors.New("portalproto: BASServer needs a Handler")
	}
	if err := s.st.track(pc); err != nil {
		return err
	}
	defer s.st.untrack(pc)
	log := s.logger()
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
		src := addrPort(from)
		p, err := Unmarshal(buf[:n])
		if err != nil {
			s.malformed.Add(1)
			log.Warn("bas: malformed packet", "from", src.String(), "err", err)
			continue
		}
		if !IsRequest(p.Type) {
			s.ignored.Add(1)
			continue
		}
		if err := p.Verify([]byte(s.Secret), nil); err != nil {
			s.badAuth.Add(1)
			log.Warn("bas: request fails authenticator check, wrong secret?", "from", src.String(), "type", p.Type.String())
			continue
		}
		if s.OnPacket != nil {
			s.OnPacket(p, src)
		}
		s.st.goHandler(func(ctx context.Context) { s.serveRequest(ctx, pc, log, p, src) })
	}
}

// Shutdown stops reading and waits for running handlers until ctx ends.
func (s *BASServer) Shutdown(ctx context.Context) error {
	return s.st.shutdown(ctx)
}

func macOf(p *Packet) string {
	if v, ok := p.Attr(AttrUserMAC); ok && len(v) == 6 {
		return net.HardwareAddr(v).String()
	}
	return ""
}

func (s *BASServer) newReqID() uint16 {
	for {
		if id := uint16(s.reqID.Add(1)); id != 0 {
			return id
		}
	}
}

func (s *BASServer) serveRequest(ctx context.Context, pc net.PacketConn, log *slog.Logger, p *Packet, from netip.AddrPort) {
	ans := &Packet{
		Version: p.Version, Auth: p.Auth, SerialNo: p.SerialNo,
		ReqID: p.ReqID, UserIP: p.UserIP,
	}
	u := PacketUser(p)
	key := u.Key()
	if u.IPv6.IsValid() {
		ans.AddUserIPv6(p.UserIPv6Style(), u.IPv6)
	}
	switch p.Type {
	case ReqChallenge:
		ans.Type = AckChallenge
		reqID, challenge, code := s.Handler.Challenge(ctx, key, macOf(p))
		ans.ErrCode = code
		if code == CodeOK {
			if reqID == 0 {
				reqID = s.newReqID()
			}
			if challenge == nil {
				challenge = make([]byte, 16)
				_, _ = rand.Read(challenge)
			}
			ans.ReqID = reqID
			ans.AddAttr(AttrChallenge, challenge)
			s.mu.Lock()
			if s.challenges == nil {
				s.challenges = make(map[chalKey]chalEntry)
			}
			now := time.Now()
			if now.Sub(s.lastSweep) > challengeTTL {
				for k, e := range s.challenges {
					if now.After(e.expires) {
						delete(s.challenges, k)
					}
				}
				s.lastSweep = now
			}
			s.challenges[chalKey{key, reqID}] = chalEntry{challenge, now.Add(challengeTTL)}
			s.mu.Unlock()
		}
	case ReqAuth:
		ans.Type = AckAuth
		s.auth(ctx, p, u, ans)
	case ReqLogout:
		req := LogoutRequest{Version: p.Version, UserIP: u.IP, UserIPv6: u.IPv6, ReqID: p.ReqID,
			Timeout: p.ErrCode == CodeLogoutTimeout, SerialNo: p.SerialNo}
		code := s.Handler.Logout(ctx, req)
		if req.Timeout {
			s.mu.Lock()
			delete(s.challenges, chalKey{key, p.ReqID})
			s.mu.Unlock()
			return // a timeout notice is not answered
		}
		if code == CodeOK {
			s.mu.Lock()
			delete(s.sessions, key)
			s.mu.Unlock()
		}
		ans.Type, ans.ErrCode = AckLogout, code
	case AffAckAuth:
		s.affAcks.Add(1)
		return
	case ReqInfo:
		ans.Type = AckInfo
		info, code := s.Handler.Info(ctx, key)
		ans.ErrCode = code
		if code == CodeOK {
			ans.AddAttr(AttrUpLinkFlux, binary.BigEndian.AppendUint64(nil, info.UpLinkKB))
			ans.AddAttr(AttrDownLinkFlux, binary.BigEndian.AppendUint64(nil, info.DownLinkKB))
			if info.Port != "" {
				ans.AddAttr(AttrPort, []byte(info.Port))
			}
		}
	default:
		s.ignored.Add(1)
		return
	}
	if s.BASIP.IsValid() {
		b := s.BASIP.Unmap().As4()
		ans.AddAttr(AttrBASIP, b[:])
	}
	out, err := ans.Marshal([]byte(s.Secret), requestAuth(p))
	if err == nil {
		_, err = pc.WriteTo(out, net.UDPAddrFromAddrPort(from))
	}
	if err != nil {
		log.Warn("bas: answer not sent", "type", ans.Type.String(), "ip", p.UserIP, "err", err)
	}
}

// requestAuth is the seed for an answer to p: nil in v1.
func requestAuth(p *Packet) *[16]byte {
	if p.Version == V1 {
		return nil
	}
	a := p.Authenticator
	return &a
}

func (s *BASServer) auth(ctx context.Context, p *Packet, u User, ans *Packet) {
	key := u.Key()
	req := AuthRequest{Version: p.Version, Method: p.Auth, UserIP: u.IP, UserIPv6: u.IPv6, MAC: u.MAC, ReqID: p.ReqID}
	if v, ok := p.Attr(AttrUserName); ok {
		req.Username = string(v)
	}
	switch p.Auth {
	case AuthCHAP:
		s.mu.Lock()
		e, ok := s.challenges[chalKey{key, p.ReqID}]
		delete(s.challenges, chalKey{key, p.ReqID})
		s.mu.Unlock()
		if !ok || time.Now().After(e.expires) {
			ans.ErrCode = CodeRejected
			ans.AddAttr(AttrTextInfo, s.text("unknown or expired ReqID"))
			return
		}
		req.ChapID = byte(p.ReqID)
		req.Challenge = e.challenge
		req.ChapPassword, _ = p.Attr(AttrChapPassword)
	case AuthPAP:
		req.ReqID = s.newReqID()
		ans.ReqID = req.ReqID
		req.PapPassword, _ = p.Attr(AttrPassword)
	default:
		ans.ErrCode = CodeRejected
		ans.AddAttr(AttrTextInfo, s.text(fmt.Sprintf("unknown Pap/Chap byte %d", p.Auth)))
		return
	}
	code, text := s.Handler.Auth(ctx, req)
	ans.ErrCode = code
	if text != "" {
		ans.AddAttr(AttrTextInfo, s.text(text))
	}
	if code == CodeOK {
		s.mu.Lock()
		if s.sessions == nil {
			s.sessions = make(map[netip.Addr]uint16)
		}
		s.sessions[key] = ans.ReqID
		s.mu.Unlock()
	}
}

func (s *BASServer) text(t string) []byte {
	var b []byte
	if s.TextGB18030 {
		b = EncodeGB18030(t)
	} else {
		b = []byte(t)
	}
	if len(b) > maxAttrValue {
		b = b[:maxAttrValue]
	}
	return b
}

// SendNotifyLogout tells the portal at portalAddr (host:port, usually port
// 50100) that the user at userIP was logged out, with NTF_LOGOUT from a new
// ephemeral socket. It carries BAS-IP, the ReqID of the user's login if this
// server accepted one, and UserMac when mac is not empty. Without an
// ACK_NTF_LOGOUT it retransmits the same packet NotifyRetries times over
// NotifyWindow, and then returns an error wrapping ErrTimeout. In v2 the
// ACK must carry an authenticator seeded with the NTF_LOGOUT's (UNVERIFIED
// against devices; it is what NotifyServer sends).
func (s *BASServer) SendNotifyLogout(ctx context.Context, portalAddr string, userIP netip.Addr, mac string) error {
	u, err := userOf(userIP, mac)
	if err != nil {
		return err
	}
	return s.SendNotifyLogoutUser(ctx, portalAddr, u)
}

// SendNotifyLogoutUser is SendNotifyLogout for a user named by IPv4, IPv6
// (in the server's IPv6Style) or both.
func (s *BASServer) SendNotifyLogoutUser(ctx context.Context, portalAddr string, u User) error {
	u, err := u.check()
	if err != nil {
		return err
	}
	userIP, mac := u.headerIP(), u.MAC
	version := s.NotifyVersion
	if version == 0 {
		version = V2
	}
	retries := s.NotifyRetries
	if retries == 0 {
		retries = 3
	} else if retries < 0 {
		retries = 0
	}
	window := s.NotifyWindow
	if window <= 0 {
		window = 5 * time.Second
	}
	interval := window / time.Duration(retries+1)

	if s.serial.Load() == 0 {
		var b [4]byte
		_, _ = rand.Read(b[:])
		s.serial.CompareAndSwap(0, binary.BigEndian.Uint32(b[:])|1)
	}
	p := &Packet{Version: version, Type: NtfLogout, SerialNo: uint16(s.serial.Add(1)), UserIP: userIP}
	s.mu.Lock()
	p.ReqID = s.sessions[u.Key()]
	s.mu.Unlock()
	if u.IPv6.IsValid() {
		p.AddUserIPv6(s.IPv6Style, u.IPv6)
	}
	if s.BASIP.IsValid() {
		b := s.BASIP.Unmap().As4()
		p.AddAttr(AttrBASIP, b[:])
	}
	if mac != "" {
		hw, err := net.ParseMAC(mac)
		if err != nil || len(hw) != 6 {
			return fmt.Errorf("%w: MAC %q", ErrInvalidPacket, mac)
		}
		p.AddAttr(AttrUserMAC, hw)
	}
	out, err := p.Marshal([]byte(s.Secret), nil)
	if err != nil {
		return err
	}

	conn, err := net.Dial("udp", portalAddr)
	if err != nil {
		return fmt.Errorf("portalproto: %w", err)
	}
	defer conn.Close()
	// Unblock a pending Read when ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetReadDeadline(time.Now()) })
	defer stop()

	buf := make([]byte, maxPacketLen+1)
	for attempt := 0; attempt <= retries; attempt++ {
		if _, err := conn.Write(out); err != nil {
			return fmt.Errorf("portalproto: send NTF_LOGOUT to %s: %w", portalAddr, err)
		}
		deadline := time.Now().Add(interval)
		if err := conn.SetReadDeadline(deadline); err != nil {
			return err
		}
		if ctx.Err() != nil { // AfterFunc may have run before the deadline was set
			return fmt.Errorf("portalproto: NTF_LOGOUT to %s: %w", portalAddr, ctx.Err())
		}
		for {
			n, err := conn.Read(buf)
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("portalproto: NTF_LOGOUT to %s: %w", portalAddr, ctx.Err())
				}
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break // retransmit
				}
				if time.Now().Before(deadline) {
					continue // e.g. ICMP port unreachable
				}
				break
			}
			a, err := Unmarshal(buf[:n])
			if err != nil || a.Type != AckNtfLogout || a.SerialNo != p.SerialNo || a.UserIP != userIP || a.Version != version {
				continue
			}
			if err := a.Verify([]byte(s.Secret), requestAuth(p)); err != nil {
				s.badAuth.Add(1)
				continue
			}
			return nil
		}
	}
	return fmt.Errorf("%w: no ACK_NTF_LOGOUT from %s within %v", ErrTimeout, portalAddr, window)
}
