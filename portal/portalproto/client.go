package portalproto

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultTimeout is how long the Client waits for each answer. txportal
// waits 5 s; the portal side does not retransmit
// (docs/protocols.md#portal-timeouts-and-retransmission).
const DefaultTimeout = 5 * time.Second

// ClientConfig configures a Client for one BAS.
type ClientConfig struct {
	// BASAddr is host:port where the BAS listens, usually port 2000.
	BASAddr string
	// LocalAddr optionally fixes the local address to send from; the BAS
	// usually knows the portal by its IP. Default: any, ephemeral port.
	LocalAddr string
	// Version is V1 or V2; zero means V2.
	Version Version
	// Secret is the v2 shared secret; V1 ignores it.
	Secret string
	// Auth is "chap" (the default) or "pap".
	Auth string
	// Timeout bounds the wait for each answer; zero means DefaultTimeout.
	Timeout time.Duration
	// BASIP is sent as the BAS-IP attribute in REQ_AUTH, AFF_ACK_AUTH and
	// REQ_LOGOUT; the zero Addr leaves it out.
	BASIP netip.Addr
	// IPv6Style is how the user's IPv6 address is spelt (Huawei's
	// User-IPv6 by default, or H3C's UserIPv6-List); it is sent in every
	// request that names a user who has one.
	IPv6Style IPv6Style
	// Logger receives debug records about ignored answers; nil discards.
	Logger *slog.Logger
}

// LoginResult describes a successful login.
type LoginResult struct {
	// ReqID is the BAS's request ID for the session.
	ReqID uint16
	// AlreadyOnline is set when the BAS answered ErrCode 2: the user was
	// online already, which the portal shows as success.
	AlreadyOnline bool
	// TextInfo is the BAS's text, decoded; usually empty on success.
	TextInfo string
}

// InfoResult is the answer to REQ_INFO.
type InfoResult struct {
	UpLinkKB   uint64 // uplink traffic in KB
	DownLinkKB uint64 // downlink traffic in KB
	Port       string // port, VLAN or SSID, as the BAS names it
}

// ClientStats counts what a Client saw. Counters only grow.
type ClientStats struct {
	Sent             uint64 // packets sent
	Answers          uint64 // answers matched to a pending request
	Malformed        uint64 // datagrams that did not decode
	BadAuthenticator uint64 // v2 answers whose authenticator failed: wrong secret or forged
	Unmatched        uint64 // answers to no pending request: late, duplicate, wrong type, user or version
	Timeouts         uint64 // requests that got no answer in time
}

// Client is the portal side of the protocol towards one BAS. One UDP socket
// carries every request; answers are matched on SerialNo and, in v2, on the
// response authenticator computed from the stored request authenticator.
// A Client is safe for concurrent use.
type Client struct {
	conn    *net.UDPConn
	bas     string
	version Version
	secret  []byte
	auth    AuthMethod
	timeout time.Duration
	basIP   netip.Addr
	style   IPv6Style
	log     *slog.Logger

	serial atomic.Uint32

	mu      sync.Mutex
	pending map[uint16]*pendingReq

	done      chan struct{}
	closeOnce sync.Once
	loopDone  chan struct{}

	sent, answers, malformed, badAuth, unmatched, timeouts atomic.Uint64
}

type pendingReq struct {
	want   Type
	userIP netip.Addr
	auth   [16]byte
	ch     chan *Packet
}

// NewClient opens the client's UDP socket towards cfg.BASAddr and starts
// reading answers. Close releases it.
func NewClient(cfg ClientConfig) (*Client, error) {
	c := &Client{
		bas:      cfg.BASAddr,
		version:  cfg.Version,
		secret:   []byte(cfg.Secret),
		timeout:  cfg.Timeout,
		basIP:    cfg.BASIP.Unmap(),
		style:    cfg.IPv6Style,
		log:      cfg.Logger,
		pending:  make(map[uint16]*pendingReq),
		done:     make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	if c.version == 0 {
		c.version = V2
	}
	if c.version != V1 && c.version != V2 {
		return nil, fmt.Errorf("portalproto: version %d, want 1 or 2", cfg.Version)
	}
	switch strings.ToLower(cfg.Auth) {
	case "", "chap":
		c.auth = AuthCHAP
	case "pap":
		c.auth = AuthPAP
	default:
		return nil, fmt.Errorf("portalproto: auth %q, want \"chap\" or \"pap\"", cfg.Auth)
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.basIP.IsValid() && !c.basIP.Is4() {
		return nil, fmt.Errorf("portalproto: BAS IP %v is not IPv4", cfg.BASIP)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	raddr, err := net.ResolveUDPAddr("udp", cfg.BASAddr)
	if err != nil {
		return nil, fmt.Errorf("portalproto: BAS address: %w", err)
	}
	var laddr *net.UDPAddr
	if cfg.LocalAddr != "" {
		if laddr, err = net.ResolveUDPAddr("udp", cfg.LocalAddr); err != nil {
			return nil, fmt.Errorf("portalproto: local address: %w", err)
		}
	}
	// A connected socket: the kernel drops datagrams from anyone but the BAS.
	if c.conn, err = net.DialUDP("udp", laddr, raddr); err != nil {
		return nil, fmt.Errorf("portalproto: %w", err)
	}
	c.serial.Store(rand.Uint32())
	go c.readLoop()
	return c, nil
}

// LocalAddr returns the address the client sends from.
func (c *Client) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// Close closes the socket; requests waiting for an answer fail with
// ErrClosed.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.done)
		err = c.conn.Close()
		<-c.loopDone
	})
	return err
}

// Stats returns the counters.
func (c *Client) Stats() ClientStats {
	return ClientStats{
		Sent:             c.sent.Load(),
		Answers:          c.answers.Load(),
		Malformed:        c.malformed.Load(),
		BadAuthenticator: c.badAuth.Load(),
		Unmatched:        c.unmatched.Load(),
		Timeouts:         c.timeouts.Load(),
	}
}

func (c *Client) readLoop() {
	defer close(c.loopDone)
	buf := make([]byte, maxPacketLen+1)
	for {
		n, err := c.conn.Read(buf)
		if err != nil {
			select {
			case <-c.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// ICMP port unreachable shows up here on a connected
			// socket; the waiting request will time out.
			continue
		}
		p, err := Unmarshal(buf[:n])
		if err != nil {
			c.malformed.Add(1)
			c.log.Debug("malformed answer", "nas", c.bas, "err", err)
			continue
		}
		c.deliver(p)
	}
}

func (c *Client) deliver(p *Packet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pr := c.pending[p.SerialNo]
	if pr == nil || pr.want != p.Type || p.Version != c.version || p.UserIP != pr.userIP {
		c.unmatched.Add(1)
		c.log.Debug("unmatched answer", "nas", c.bas, "type", p.Type.String(), "serial", p.SerialNo, "ip", p.UserIP)
		return
	}
	if err := p.Verify(c.secret, &pr.auth); err != nil {
		c.badAuth.Add(1)
		c.log.Debug("answer fails authenticator check, wrong secret?", "nas", c.bas, "type", p.Type.String(), "ip", p.UserIP)
		return
	}
	delete(c.pending, p.SerialNo)
	c.answers.Add(1)
	pr.ch <- p // buffered, and the entry is gone: never blocks
}

// roundTrip assigns p a SerialNo, sends it and waits for an answer of type
// want. On return p.SerialNo is the number used. unanswered reports that p
// went out and the wait ended without an answer (timeout or ctx).
func (c *Client) roundTrip(ctx context.Context, p *Packet, want Type) (a *Packet, unanswered bool, err error) {
	select {
	case <-c.done:
		return nil, false, ErrClosed
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, false, c.ctxErr(err, p.Type)
	}
	pr := &pendingReq{want: want, userIP: p.UserIP, ch: make(chan *Packet, 1)}
	c.mu.Lock()
	for {
		p.SerialNo = uint16(c.serial.Add(1))
		if c.pending[p.SerialNo] == nil {
			break
		}
	}
	b, err := p.Marshal(c.secret, nil)
	if err != nil {
		c.mu.Unlock()
		return nil, false, err
	}
	pr.auth = p.Authenticator
	c.pending[p.SerialNo] = pr
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.pending[p.SerialNo] == pr {
			delete(c.pending, p.SerialNo)
		}
		c.mu.Unlock()
	}()

	if _, err := c.conn.Write(b); err != nil {
		return nil, false, fmt.Errorf("portalproto: send %v to %s: %w", p.Type, c.bas, err)
	}
	c.sent.Add(1)
	t := time.NewTimer(c.timeout)
	defer t.Stop()
	select {
	case a := <-pr.ch:
		return a, false, nil
	case <-t.C:
		c.timeouts.Add(1)
		return nil, true, fmt.Errorf("%w: no %v from %s within %v", ErrTimeout, want, c.bas, c.timeout)
	case <-ctx.Done():
		return nil, true, c.ctxErr(ctx.Err(), p.Type)
	case <-c.done:
		return nil, false, ErrClosed
	}
}

func (c *Client) ctxErr(err error, t Type) error {
	if errors.Is(err, context.DeadlineExceeded) {
		c.timeouts.Add(1)
		return fmt.Errorf("%w: %v to %s: %w", ErrTimeout, t, c.bas, err)
	}
	return fmt.Errorf("portalproto: %v to %s: %w", t, c.bas, err)
}

// send sends p without waiting for an answer: AFF_ACK_AUTH and the timeout
// notice. p.SerialNo must be set.
func (c *Client) send(p *Packet) error {
	b, err := p.Marshal(c.secret, nil)
	if err != nil {
		return err
	}
	if _, err := c.conn.Write(b); err != nil {
		return fmt.Errorf("portalproto: send %v to %s: %w", p.Type, c.bas, err)
	}
	c.sent.Add(1)
	return nil
}

func (c *Client) newPacket(t Type, u User) *Packet {
	p := &Packet{Version: c.version, Type: t, Auth: c.auth, UserIP: u.headerIP()}
	if u.IPv6.IsValid() {
		p.AddUserIPv6(c.style, u.IPv6)
	}
	return p
}

func (c *Client) addBASIP(p *Packet) {
	if c.basIP.IsValid() {
		b := c.basIP.As4()
		p.AddAttr(AttrBASIP, b[:])
	}
}

// cancel sends the timeout notice for a REQ_CHALLENGE or REQ_AUTH that got
// no answer: REQ_LOGOUT with ErrCode 1 and the original SerialNo. No
// answer is expected (docs/protocols.md#portal-timeouts-and-retransmission).
func (c *Client) cancel(serial, reqID uint16, u User) {
	p := c.newPacket(ReqLogout, u)
	p.SerialNo, p.ReqID, p.ErrCode = serial, reqID, CodeLogoutTimeout
	c.addBASIP(p)
	if err := c.send(p); err != nil {
		c.log.Debug("timeout notice not sent", "nas", c.bas, "ip", u.Key(), "err", err)
	}
}

// userOf is the User of the address-only calls: an IPv4 address goes in
// the header, an IPv6 one in the IPv6 attribute.
func userOf(ip netip.Addr, mac string) (User, error) {
	return User{IP: ip, MAC: mac}.check()
}

// Login logs the user at userIP in through the BAS. With CHAP it runs
// REQ_CHALLENGE → ACK_CHALLENGE → REQ_AUTH (ChapPassWord over password) →
// ACK_AUTH → AFF_ACK_AUTH; with PAP it skips the challenge and sends
// password as PassWord. mac ("aa:bb:cc:dd:ee:ff" or any form net.ParseMAC
// takes) is sent as the UserMac attribute; empty leaves it out.
//
// A BAS answer of ErrCode 2 (already online) is a success with
// AlreadyOnline set. Other refusals are a *BASError, which wraps
// ErrRejected, ErrInProgress or ErrFailed. When the BAS does not answer a
// REQ_CHALLENGE or REQ_AUTH in time, or ctx ends while waiting, Login sends
// the timeout notice and returns an error wrapping ErrTimeout (or the
// context's error).
func (c *Client) Login(ctx context.Context, userIP netip.Addr, mac, username string, password []byte) (LoginResult, error) {
	u, err := userOf(userIP, mac)
	if err != nil {
		return LoginResult{}, err
	}
	return c.LoginUser(ctx, u, username, password)
}

// LoginUser is Login for a user named by an IPv4 address, an IPv6 address
// or both (dual stack): the IPv6 address goes in every packet of the
// exchange, in the client's IPv6Style.
func (c *Client) LoginUser(ctx context.Context, u User, username string, password []byte) (LoginResult, error) {
	u, err := u.check()
	if err != nil {
		return LoginResult{}, err
	}
	userIP := u
	var hw net.HardwareAddr
	if mac := u.MAC; mac != "" {
		if hw, err = net.ParseMAC(mac); err != nil || len(hw) != 6 {
			return LoginResult{}, fmt.Errorf("%w: MAC %q", ErrInvalidPacket, mac)
		}
	}
	var reqID uint16
	var challenge []byte
	if c.auth == AuthCHAP {
		p := c.newPacket(ReqChallenge, userIP)
		if hw != nil {
			p.AddAttr(AttrUserMAC, hw)
		}
		a, unanswered, err := c.roundTrip(ctx, p, AckChallenge)
		if err != nil {
			if unanswered {
				c.cancel(p.SerialNo, 0, userIP)
			}
			return LoginResult{}, err
		}
		switch a.ErrCode {
		case CodeOK:
		case CodeAlreadyOnline:
			return LoginResult{ReqID: a.ReqID, AlreadyOnline: true, TextInfo: a.TextInfo()}, nil
		default:
			return LoginResult{}, &BASError{Type: a.Type, Code: a.ErrCode, Text: a.TextInfo()}
		}
		var ok bool
		if challenge, ok = a.Attr(AttrChallenge); !ok || len(challenge) == 0 {
			return LoginResult{}, fmt.Errorf("%w: ACK_CHALLENGE from %s without Challenge", ErrMalformed, c.bas)
		}
		reqID = a.ReqID
	}

	p := c.newPacket(ReqAuth, userIP)
	p.ReqID = reqID
	p.AddAttr(AttrUserName, []byte(username))
	if c.auth == AuthCHAP {
		p.AddAttr(AttrChapPassword, ChapPassword(reqID, password, challenge))
	} else {
		p.AddAttr(AttrPassword, password)
	}
	if hw != nil {
		p.AddAttr(AttrUserMAC, hw)
	}
	c.addBASIP(p)
	a, unanswered, err := c.roundTrip(ctx, p, AckAuth)
	if err != nil {
		if unanswered {
			c.cancel(p.SerialNo, reqID, userIP)
		}
		return LoginResult{}, err
	}
	res := LoginResult{ReqID: a.ReqID, TextInfo: a.TextInfo()}
	switch a.ErrCode {
	case CodeOK:
	case CodeAlreadyOnline:
		res.AlreadyOnline = true
		return res, nil
	default:
		return LoginResult{}, &BASError{Type: a.Type, Code: a.ErrCode, Text: res.TextInfo}
	}
	aff := c.newPacket(AffAckAuth, userIP)
	aff.SerialNo, aff.ReqID = p.SerialNo, a.ReqID
	c.addBASIP(aff)
	if err := c.send(aff); err != nil {
		// The BAS has authenticated the user; a lost AFF_ACK_AUTH is
		// its problem to time out, not a failed login.
		c.log.Warn("AFF_ACK_AUTH not sent", "nas", c.bas, "ip", u.Key(), "err", err)
	}
	return res, nil
}

// Logout asks the BAS to log the user at userIP out (REQ_LOGOUT, ErrCode 0,
// ReqID 0) and waits for ACK_LOGOUT. "Already offline" (ErrCode 3) is not
// an error; other refusals are a *BASError.
//
// UNVERIFIED: txportal and syler send ReqID 0, xpws the session's ReqID.
func (c *Client) Logout(ctx context.Context, userIP netip.Addr) error {
	u, err := userOf(userIP, "")
	if err != nil {
		return err
	}
	return c.LogoutUser(ctx, u)
}

// LogoutUser is Logout for a user named by IPv4, IPv6 or both.
func (c *Client) LogoutUser(ctx context.Context, u User) error {
	u, err := u.check()
	if err != nil {
		return err
	}
	p := c.newPacket(ReqLogout, u)
	c.addBASIP(p)
	a, _, err := c.roundTrip(ctx, p, AckLogout)
	if err != nil {
		return err
	}
	switch a.ErrCode {
	case CodeOK, CodeLogoutAlreadyOffline:
		return nil
	}
	return &BASError{Type: a.Type, Code: a.ErrCode, Text: a.TextInfo()}
}

// Info asks the BAS for the traffic counters and port of the user at
// userIP (REQ_INFO with empty UpLinkFlux, DownLinkFlux and Port). A
// refusal is a *BASError wrapping ErrUnsupported or ErrFailed.
func (c *Client) Info(ctx context.Context, userIP netip.Addr) (InfoResult, error) {
	u, err := userOf(userIP, "")
	if err != nil {
		return InfoResult{}, err
	}
	p := c.newPacket(ReqInfo, u)
	p.AddAttr(AttrUpLinkFlux, nil)
	p.AddAttr(AttrDownLinkFlux, nil)
	p.AddAttr(AttrPort, nil)
	a, _, err := c.roundTrip(ctx, p, AckInfo)
	if err != nil {
		return InfoResult{}, err
	}
	if a.ErrCode != CodeOK {
		return InfoResult{}, &BASError{Type: a.Type, Code: a.ErrCode, Text: a.TextInfo()}
	}
	var res InfoResult
	if v, ok := a.Attr(AttrUpLinkFlux); ok {
		res.UpLinkKB = flux(v)
	}
	if v, ok := a.Attr(AttrDownLinkFlux); ok {
		res.DownLinkKB = flux(v)
	}
	if v, ok := a.Attr(AttrPort); ok {
		res.Port = DecodeText(v)
	}
	return res, nil
}

// flux reads a big-endian counter of up to 8 bytes; §1.5 says 8.
func flux(v []byte) uint64 {
	if len(v) > 8 {
		return 0
	}
	var b [8]byte
	copy(b[8-len(v):], v)
	return binary.BigEndian.Uint64(b[:])
}
