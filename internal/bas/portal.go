package bas

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

	"github.com/campusnet/campusnet/portal/portalproto"
)

// PortalSideConfig configures the BAS's Portal protocol side (the part a
// Huawei BRAS or wireless AC runs on UDP 2000).
type PortalSideConfig struct {
	// Secret is the Portal shared secret (v2; v1 ignores it).
	Secret string
	// BASIP is sent as the BAS-IP attribute; usually the RADIUS NAS-IP.
	BASIP netip.Addr
	// NotifyAddr is the portal's notify_listen (UDP 50100), where
	// NTF_LOGOUT goes after a Disconnect-Request.
	NotifyAddr string
	// NotifyVersion is the version of NTF_LOGOUT (default 2).
	NotifyVersion portalproto.Version
	// NotifyWindow bounds the retransmissions of one NTF_LOGOUT (default 5 s).
	NotifyWindow time.Duration
	// IPv6Style spells a user's IPv6 address in NTF_LOGOUT (Huawei's
	// User-IPv6 by default); answers follow the portal's requests.
	IPv6Style portalproto.IPv6Style
	Log       *slog.Logger
}

// PortalSide is the Portal protocol side of a simulated BAS: it answers the
// portal's REQ_CHALLENGE, REQ_AUTH, REQ_LOGOUT and REQ_INFO in v1 or v2 (as
// asked), and turns them into the RADIUS side's Access-Request (CHAP-Password
// and CHAP-Challenge from the portal's exchange, or User-Password for PAP;
// Framed-IP-Address, Calling-Station-Id, NAS-IP-Address), Accounting-Start
// after ACK_AUTH and Accounting-Stop at logout. When a Disconnect-Request
// ends a session it sends NTF_LOGOUT to the portal.
type PortalSide struct {
	bas *BAS
	cfg PortalSideConfig
	log *slog.Logger
	srv *portalproto.BASServer

	silent atomic.Bool

	mu      sync.Mutex
	users   map[netip.Addr]string // user address (IPv4, else IPv6) → Acct-Session-Id
	pending map[netip.Addr]bool   // REQ_AUTH being run through RADIUS
	bg      sync.WaitGroup

	accepted, rejected, radiusErrors atomic.Uint64
}

// NewPortalSide returns the Portal side of b. It sets b.OnDisconnect, so that a
// Disconnect-Request also sends NTF_LOGOUT to the portal.
func NewPortalSide(b *BAS, cfg PortalSideConfig) *PortalSide {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	p := &PortalSide{bas: b, cfg: cfg, log: cfg.Log, users: map[netip.Addr]string{}, pending: map[netip.Addr]bool{}}
	p.srv = &portalproto.BASServer{Secret: cfg.Secret, BASIP: cfg.BASIP, IPv6Style: cfg.IPv6Style, Handler: portalHandler{p}, Logger: cfg.Log,
		NotifyVersion: cfg.NotifyVersion, NotifyWindow: cfg.NotifyWindow}
	b.OnDisconnect = p.disconnected
	return p
}

// PortalSideStats counts what the Portal side did.
type PortalSideStats struct {
	Accepted, Rejected, RADIUSErrors uint64
	Online                           int
	Server                           portalproto.BASStats
}

// Stats returns the counters.
func (p *PortalSide) Stats() PortalSideStats {
	p.mu.Lock()
	n := len(p.users)
	p.mu.Unlock()
	return PortalSideStats{Accepted: p.accepted.Load(), Rejected: p.rejected.Load(), RADIUSErrors: p.radiusErrors.Load(),
		Online: n, Server: p.srv.Stats()}
}

// SetSilent makes the BAS read requests and answer nothing (a BAS that is
// down or unreachable: the portal's "portal not response").
func (p *PortalSide) SetSilent(silent bool) { p.silent.Store(silent) }

// ListenAndServe listens on addr (the BAS's portal_addr, e.g.
// "127.0.0.1:2000") and serves until Shutdown.
func (p *PortalSide) ListenAndServe(addr string) error {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	return p.Serve(pc)
}

// Serve answers the portal on pc until Shutdown; it then returns nil.
func (p *PortalSide) Serve(pc net.PacketConn) error {
	err := p.srv.Serve(silentConn{pc, &p.silent})
	if errors.Is(err, portalproto.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops Serve and waits for running requests and the accounting
// they started until ctx ends.
func (p *PortalSide) Shutdown(ctx context.Context) error {
	err := p.srv.Shutdown(ctx)
	done := make(chan struct{})
	go func() { p.bg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return err
}

// Online returns the Acct-Session-Id of the user at ip, if online here.
func (p *PortalSide) Online(ip netip.Addr) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id, ok := p.users[ip.Unmap()]
	return id, ok
}

// NotifyLogout tells the portal that the user at ip is logged out
// (NTF_LOGOUT, retransmitted until acknowledged) and forgets the user here.
func (p *PortalSide) NotifyLogout(ctx context.Context, ip netip.Addr, mac string) error {
	return p.NotifyLogoutUser(ctx, portalproto.User{IP: ip, MAC: mac})
}

// NotifyLogoutUser is NotifyLogout for a user named by IPv4, IPv6 or both:
// the NTF_LOGOUT carries the IPv6 address in the Huawei or H3C attribute
// (PortalSideConfig.IPv6Style).
func (p *PortalSide) NotifyLogoutUser(ctx context.Context, u portalproto.User) error {
	p.mu.Lock()
	if u.IP.IsValid() {
		delete(p.users, u.IP.Unmap())
	}
	if u.IPv6.IsValid() {
		delete(p.users, u.IPv6)
	}
	p.mu.Unlock()
	if p.cfg.NotifyAddr == "" {
		return nil
	}
	return p.srv.SendNotifyLogoutUser(ctx, p.cfg.NotifyAddr, u)
}

// disconnected runs when a Disconnect-Request ended a session at the BAS:
// the RADIUS side sends Accounting-Stop, this side NTF_LOGOUT.
func (p *PortalSide) disconnected(ip, ip6 netip.Addr, mac string) {
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.NotifyLogoutUser(ctx, portalproto.User{IP: ip, IPv6: ip6, MAC: mac}); err != nil {
			p.log.Warn("NTF_LOGOUT not acknowledged", "ip", ip, "ip6", ip6, "mac", mac, "err", err)
		}
	}()
}

// silentConn drops every answer while silent is set.
type silentConn struct {
	net.PacketConn
	silent *atomic.Bool
}

func (c silentConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.silent.Load() {
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, addr)
}

// portalHandler is the BASHandler of a Portal.
type portalHandler struct{ p *PortalSide }

func (h portalHandler) Challenge(_ context.Context, ip netip.Addr, _ string) (uint16, []byte, portalproto.Code) {
	p := h.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.users[ip]; ok {
		return 0, nil, portalproto.CodeAlreadyOnline
	}
	if p.pending[ip] {
		return 0, nil, portalproto.CodeInProgress
	}
	return 0, nil, portalproto.CodeOK
}

func (h portalHandler) Auth(ctx context.Context, req portalproto.AuthRequest) (portalproto.Code, string) {
	p := h.p
	ip := portalproto.User{IP: req.UserIP, IPv6: req.UserIPv6}.Key()
	if p.silent.Load() {
		return portalproto.CodeFailed, "" // not sent: a silent BAS does nothing
	}
	p.mu.Lock()
	if _, ok := p.users[ip]; ok {
		p.mu.Unlock()
		return portalproto.CodeAlreadyOnline, ""
	}
	if p.pending[ip] {
		p.mu.Unlock()
		return portalproto.CodeInProgress, ""
	}
	p.pending[ip] = true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.pending, ip)
		p.mu.Unlock()
	}()

	mac := req.MAC
	if mac == "" {
		// A real BAS always knows the MAC of the address it intercepted
		// (ARP, DHCP) and sends it as Calling-Station-Id, even when the
		// portal was opened by hand and learnt none.
		mac = macForIP(ip)
	}
	ar := AuthRequest{UserName: req.Username, UserIP: req.UserIP, UserIPv6: req.UserIPv6, MAC: mac}
	if req.Method == portalproto.AuthCHAP {
		ar.CHAPID, ar.CHAPPassword, ar.CHAPChallenge = req.ChapID, req.ChapPassword, req.Challenge
	} else {
		ar.Password = string(req.PapPassword)
	}
	res, err := p.bas.Authenticate(ctx, ar)
	if err != nil {
		p.radiusErrors.Add(1)
		p.log.Warn("RADIUS did not answer", "user", req.Username, "ip", ip, "err", err)
		return portalproto.CodeFailed, "RADIUS server not responding"
	}
	if !res.Accepted {
		p.rejected.Add(1)
		return portalproto.CodeRejected, res.ReplyMessage
	}
	p.accepted.Add(1)
	p.mu.Lock()
	p.users[ip] = res.AcctSessionID
	p.mu.Unlock()
	// ACK_AUTH goes out when this returns; Accounting-Start follows it.
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := p.bas.Start(sctx, res.AcctSessionID); err != nil {
			p.log.Warn("accounting-start", "session", res.AcctSessionID, "err", err)
		}
	}()
	return portalproto.CodeOK, res.ReplyMessage
}

func (h portalHandler) Logout(ctx context.Context, req portalproto.LogoutRequest) portalproto.Code {
	p := h.p
	ip := portalproto.User{IP: req.UserIP, IPv6: req.UserIPv6}.Key()
	if p.silent.Load() {
		return portalproto.CodeLogoutFailed
	}
	p.mu.Lock()
	id, ok := p.users[ip]
	// A timeout notice cancels a login the portal gave up on; if RADIUS
	// accepted it meanwhile, the user is logged out again so that the
	// portal's "not online" page is true.
	if ok {
		delete(p.users, ip)
	}
	p.mu.Unlock()
	if !ok {
		return portalproto.CodeLogoutAlreadyOffline
	}
	if err := p.bas.Stop(ctx, id); err != nil && !errors.Is(err, ErrNoSession) {
		p.log.Warn("accounting-stop", "session", id, "err", err)
	}
	return portalproto.CodeOK
}

func (h portalHandler) Info(_ context.Context, ip netip.Addr) (portalproto.InfoResult, portalproto.Code) {
	p := h.p
	id, ok := p.Online(ip)
	if !ok {
		return portalproto.InfoResult{}, portalproto.CodeInfoFailed
	}
	s, ok := p.bas.Session(id)
	if !ok {
		return portalproto.InfoResult{}, portalproto.CodeInfoFailed
	}
	return portalproto.InfoResult{UpLinkKB: s.InputOctets / 1024, DownLinkKB: s.OutputOctets / 1024, Port: "simulated"}, portalproto.CodeOK
}

// macForIP is the simulated BAS's MAC for a user address it has no MAC for:
// locally administered, 02:00 followed by the IPv4 address (or the IPv6
// address's last four bytes).
func macForIP(ip netip.Addr) string {
	b := ip.Unmap().AsSlice()
	b = b[len(b)-4:]
	return fmt.Sprintf("02:00:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3])
}
