package bas

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/rfc3162"
	"layeh.com/radius/rfc6911"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/radius/radiusproto"
)

// Errors.
var (
	// ErrNoSession is returned for an Acct-Session-Id the BAS does not know.
	ErrNoSession = errors.New("bas: no such session")
	// ErrBadRequest is returned for an AuthRequest with no credentials.
	ErrBadRequest = errors.New("bas: bad authentication request")
)

// Config describes the simulated BAS and the RADIUS server it talks to.
type Config struct {
	// NASIP is sent as NAS-IP-Address; when it is a loopback address the
	// requests are also sent from it (127.0.0.2 is another BAS than
	// 127.0.0.1), because RADIUS servers find the BAS by source address.
	NASIP  netip.Addr
	Secret string
	// AuthAddr and AcctAddr are the RADIUS server's ports ("127.0.0.1:1812").
	AuthAddr, AcctAddr string
	// CoAListen is where Disconnect-Requests arrive ("127.0.0.1:3799"); see
	// ServeCoA. "" means none.
	CoAListen string
	// InterimInterval is used when the server sends no Acct-Interim-Interval.
	InterimInterval time.Duration
	Log             *slog.Logger

	// LocalAddr overrides the source address of RADIUS requests ("" = see NASIP).
	LocalAddr string
	// IPv6Prefix, when valid, makes the BAS dual stack: a user the
	// caller names no IPv6 address for gets one in this /64, the prefix
	// and the EUI-64 interface id of its MAC (SLAAC), as a dual-stack BAS
	// learns it from the user's Neighbor Discovery.
	IPv6Prefix netip.Prefix
	// NASIdentifier is sent as NAS-Identifier when not empty.
	NASIdentifier string
	// Retry and MaxTries tune retransmission (defaults 1 s and 3).
	Retry    time.Duration
	MaxTries int
	// AcceptRepliesWithoutMA accepts Access-Accept/Reject without a
	// Message-Authenticator, as servers before the BlastRADIUS fixes send
	// them (FreeRADIUS before 3.2.5): only for measuring such a peer.
	AcceptRepliesWithoutMA bool
}

// AuthRequest is one subscriber's login as the BAS sends it to RADIUS.
//
// CHAP: CHAPPassword is the 16-octet response (or the 17-octet
// Ident‖response) and CHAPID its identifier; CHAPChallenge, when set, goes in
// a CHAP-Challenge attribute, otherwise the challenge is the request
// authenticator, which the caller cannot know. PAP: Password. MAC
// authentication: no password and no CHAP; User-Name (or MAC when UserName
// is empty) is sent as the password too, and Service-Type is Call-Check.
type AuthRequest struct {
	UserName      string
	Password      string
	CHAPID        byte
	CHAPPassword  []byte
	CHAPChallenge []byte
	UserIP        netip.Addr
	// UserIPv6 is the user's IPv6 address (dual stack, or IPv6 only when
	// UserIP is not valid): sent as Framed-IPv6-Address.
	UserIPv6 netip.Addr
	MAC      string
}

// AuthResult is RADIUS's answer.
type AuthResult struct {
	Accepted bool
	// ReplyMessage joins the Reply-Message attributes with newlines.
	ReplyMessage   string
	Class          []byte
	SessionTimeout time.Duration
	// AcctSessionID names the session the BAS will account for (also on a
	// reject, for the log).
	AcctSessionID string
	// UserName is the reply's User-Name (the real account), or the request's.
	UserName        string
	InterimInterval time.Duration
}

// Session is a subscriber the BAS has let in.
type Session struct {
	AcctSessionID string
	UserName      string
	UserIP        netip.Addr
	// UserIPv6 is the IPv6 address; accounting reports it as
	// Framed-IPv6-Address and its /64 as Framed-IPv6-Prefix.
	UserIPv6     netip.Addr
	MAC          string // canonical (access.NormalizeMAC), "" if unknown
	Class        []byte
	Started      bool
	StartedAt    time.Time
	InputOctets  uint64
	OutputOctets uint64
	// InputOctets6 and OutputOctets6 are the IPv6 part of the counters,
	// reported in Huawei's Acct-IPv6 attributes (2011/144-149).
	InputOctets6  uint64
	OutputOctets6 uint64
	Interim       time.Duration
	// NASPortID is the NAS-Port-Id of its accounting ("" = one made up from
	// the user address, as a Huawei BAS writes a subscriber's VLAN).
	NASPortID string
	// Authorization is what the BAS applies to the session: from its
	// Access-Accept, then from each CoA-Request it acknowledged.
	Authorization Authorization
}

// nasPort is the session's NAS-Port-Id and NAS-Port.
func (s Session) nasPort() (string, uint32) {
	if s.NASPortID != "" {
		return s.NASPortID, 0
	}
	if !s.UserIP.IsValid() || !s.UserIP.Unmap().Is4() {
		return "", 0
	}
	b := s.UserIP.Unmap().As4()
	vlan := (int(b[2])*256+int(b[3]))%4094 + 1
	return fmt.Sprintf("slot=0;subslot=0;port=%d;vlanid=%d", int(b[2])%48+1, vlan), uint32(vlan)
}

// BAS is a simulated BAS. It is safe for concurrent use.
type BAS struct {
	cfg    Config
	log    *slog.Logger
	client *radiusproto.Client
	prefix uint32
	seq    atomic.Uint32

	// OnDisconnect, when set before ServeCoA, is called after a
	// Disconnect-Request ended a session.
	OnDisconnect func(userIP, userIPv6 netip.Addr, mac string)

	nak    atomic.Int32
	coaNAK atomic.Int32

	mu       sync.Mutex
	sessions map[string]*Session
	coa      net.PacketConn
	acks     int
	naks     int
	coaACKs  int
	coaNAKs  int
}

// New returns a BAS; it opens sockets lazily.
func New(cfg Config) *BAS {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.InterimInterval <= 0 {
		cfg.InterimInterval = 300 * time.Second
	}
	local := cfg.LocalAddr
	if local == "" && cfg.NASIP.IsValid() && cfg.NASIP.IsLoopback() {
		local = netip.AddrPortFrom(cfg.NASIP.Unmap(), 0).String()
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &BAS{
		cfg:      cfg,
		log:      cfg.Log,
		client:   &radiusproto.Client{Retry: cfg.Retry, MaxTries: cfg.MaxTries, RequireMessageAuthenticator: !cfg.AcceptRepliesWithoutMA, LocalAddr: local},
		prefix:   binary.BigEndian.Uint32(b[:]),
		sessions: map[string]*Session{},
	}
}

// Close releases the sockets.
func (b *BAS) Close() error {
	b.mu.Lock()
	coa := b.coa
	b.mu.Unlock()
	if coa != nil {
		coa.Close()
	}
	return b.client.Close()
}

// FormatMAC writes a MAC as RFC 3580 does in Calling-Station-Id:
// "00-10-A4-23-19-C0". Anything that is not a MAC is returned as it is.
func FormatMAC(mac string) string {
	m, err := access.NormalizeMAC(mac)
	if err != nil {
		return mac
	}
	return strings.ToUpper(strings.ReplaceAll(m, ":", "-"))
}

func (b *BAS) newSessionID() string {
	return fmt.Sprintf("%08X%08X", b.prefix, b.seq.Add(1))
}

func (b *BAS) secret() []byte { return []byte(b.cfg.Secret) }

func (b *BAS) addNAS(p *radius.Packet) {
	if b.cfg.NASIP.IsValid() && b.cfg.NASIP.Unmap().Is4() {
		_ = rfc2865.NASIPAddress_Add(p, b.cfg.NASIP.Unmap().AsSlice())
	}
	if b.cfg.NASIdentifier != "" {
		_ = rfc2865.NASIdentifier_AddString(p, b.cfg.NASIdentifier)
	}
}

// Authenticate sends an Access-Request and reports the answer. An accepted
// subscriber becomes a session (not yet started) under the returned
// AcctSessionID. An error means no authentic answer came.
func (b *BAS) Authenticate(ctx context.Context, r AuthRequest) (AuthResult, error) {
	r.UserIPv6 = b.ipv6For(r)
	p, id, err := b.AccessRequest(r)
	if err != nil {
		return AuthResult{}, err
	}
	user := rfc2865.UserName_GetString(p)
	reply, err := b.client.Exchange(ctx, p, b.cfg.AuthAddr)
	if err != nil {
		return AuthResult{AcctSessionID: id}, fmt.Errorf("bas: access-request for %s: %w", user, err)
	}
	res := ReadAuthReply(reply, user)
	res.AcctSessionID = id
	if !res.Accepted {
		return res, nil
	}
	canon, _ := access.NormalizeMAC(r.MAC)
	s := &Session{AcctSessionID: id, UserName: res.UserName, UserIP: r.UserIP, UserIPv6: r.UserIPv6, MAC: canon, Class: res.Class, Interim: res.InterimInterval,
		Authorization: ReadAuthorization(reply)}
	if s.Interim == 0 {
		s.Interim = b.cfg.InterimInterval
	}
	b.mu.Lock()
	b.sessions[id] = s
	b.mu.Unlock()
	return res, nil
}

// ipv6For is r's IPv6 address: the one given, else the SLAAC address of
// its MAC in Config.IPv6Prefix, else none.
func (b *BAS) ipv6For(r AuthRequest) netip.Addr {
	if r.UserIPv6.IsValid() || !b.cfg.IPv6Prefix.IsValid() {
		return r.UserIPv6
	}
	mac, err := access.NormalizeMAC(r.MAC)
	if err != nil {
		return netip.Addr{}
	}
	return EUI64(b.cfg.IPv6Prefix, mac)
}

// EUI64 is the SLAAC address of a MAC (canonical form) in a /64: the
// prefix and the modified EUI-64 interface id (RFC 4291 appendix A).
func EUI64(prefix netip.Prefix, mac string) netip.Addr {
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 || !prefix.Addr().Is6() || prefix.Bits() > 64 {
		return netip.Addr{}
	}
	a := prefix.Masked().Addr().As16()
	a[8], a[9], a[10], a[11] = hw[0]^0x02, hw[1], hw[2], 0xff
	a[12], a[13], a[14], a[15] = 0xfe, hw[3], hw[4], hw[5]
	return netip.AddrFrom16(a)
}

// AccessRequest builds the Access-Request Authenticate sends for r, with
// the Acct-Session-Id the session will have if it is accepted. The caller
// sends it (a load generator, say); the BAS keeps no session for it.
func (b *BAS) AccessRequest(r AuthRequest) (*radius.Packet, string, error) {
	p := radius.New(radius.CodeAccessRequest, b.secret())
	user := r.UserName
	mac := r.MAC
	if user == "" && mac != "" {
		user = FormatMAC(mac)
	}
	if user == "" {
		return nil, "", fmt.Errorf("%w: no user name", ErrBadRequest)
	}
	if err := rfc2865.UserName_AddString(p, user); err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	switch {
	case len(r.CHAPPassword) == 17:
		_ = rfc2865.CHAPPassword_Add(p, r.CHAPPassword)
	case len(r.CHAPPassword) == 16:
		_ = rfc2865.CHAPPassword_Add(p, append([]byte{r.CHAPID}, r.CHAPPassword...))
	case len(r.CHAPPassword) != 0:
		return nil, "", fmt.Errorf("%w: CHAP response of %d octets", ErrBadRequest, len(r.CHAPPassword))
	case r.Password != "":
		if err := rfc2865.UserPassword_AddString(p, r.Password); err != nil {
			return nil, "", fmt.Errorf("%w: %v", ErrBadRequest, err)
		}
	default: // MAC authentication
		_ = rfc2865.UserPassword_AddString(p, user)
		_ = rfc2865.ServiceType_Add(p, rfc2865.ServiceType_Value_CallCheck)
	}
	if len(r.CHAPPassword) != 0 && len(r.CHAPChallenge) != 0 {
		_ = rfc2865.CHAPChallenge_Add(p, r.CHAPChallenge)
	}
	if len(r.CHAPPassword) != 0 || r.Password != "" {
		_ = rfc2865.ServiceType_Add(p, rfc2865.ServiceType_Value_FramedUser)
	}
	b.addNAS(p)
	_ = rfc2865.NASPortType_Add(p, rfc2865.NASPortType_Value_Ethernet)
	if mac != "" {
		_ = rfc2865.CallingStationID_AddString(p, FormatMAC(mac))
	}
	if r.UserIP.IsValid() && r.UserIP.Unmap().Is4() {
		_ = rfc2865.FramedIPAddress_Add(p, r.UserIP.Unmap().AsSlice())
	}
	if v6 := b.ipv6For(r); v6.Is6() && !v6.Is4In6() {
		_ = rfc6911.FramedIPv6Address_Add(p, v6.AsSlice())
	}
	id := b.newSessionID()
	_ = rfc2866.AcctSessionID_AddString(p, id)
	return p, id, nil
}

// ReadAuthReply reads the answer to an Access-Request for user.
func ReadAuthReply(reply *radius.Packet, user string) AuthResult {
	res := AuthResult{Accepted: reply.Code == radius.CodeAccessAccept, UserName: user}
	var msgs []string
	for _, m := range reply.Attributes {
		if m.Type == rfc2865.ReplyMessage_Type {
			msgs = append(msgs, string(m.Attribute))
		}
	}
	res.ReplyMessage = strings.Join(msgs, "\n")
	if c, err := rfc2865.Class_Lookup(reply); err == nil {
		res.Class = append([]byte(nil), c...)
	}
	if v, err := rfc2865.SessionTimeout_Lookup(reply); err == nil {
		res.SessionTimeout = time.Duration(v) * time.Second
	}
	if v, err := rfc2869.AcctInterimInterval_Lookup(reply); err == nil && v > 0 {
		res.InterimInterval = time.Duration(v) * time.Second
	}
	if u, err := rfc2865.UserName_LookupString(reply); err == nil && u != "" {
		res.UserName = u
	}
	return res
}

// Sessions returns a copy of the session table.
func (b *BAS) Sessions() []Session {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Session, 0, len(b.sessions))
	for _, s := range b.sessions {
		out = append(out, *s)
	}
	return out
}

// Session returns one session.
func (b *BAS) Session(acctSessionID string) (Session, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.sessions[acctSessionID]
	if !ok {
		return Session{}, false
	}
	return *s, true
}

// Forget drops a session without accounting for it (load generation).
func (b *BAS) Forget(acctSessionID string) {
	b.mu.Lock()
	delete(b.sessions, acctSessionID)
	b.mu.Unlock()
}

// AddTraffic adds octets to a session's counters (sent at the next Interim
// or Stop).
func (b *BAS) AddTraffic(acctSessionID string, in, out uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.sessions[acctSessionID]
	if !ok {
		return ErrNoSession
	}
	s.InputOctets += in
	s.OutputOctets += out
	return nil
}

// AddTrafficIPv6 adds IPv6 octets to a session's counters: to its totals
// and to their IPv6 part.
func (b *BAS) AddTrafficIPv6(acctSessionID string, in, out uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.sessions[acctSessionID]
	if !ok {
		return ErrNoSession
	}
	s.InputOctets += in
	s.OutputOctets += out
	s.InputOctets6 += in
	s.OutputOctets6 += out
	return nil
}

// Start sends Accounting-Start for the session.
func (b *BAS) Start(ctx context.Context, acctSessionID string) error {
	b.mu.Lock()
	s, ok := b.sessions[acctSessionID]
	if ok && !s.Started {
		s.Started, s.StartedAt = true, time.Now()
	}
	var snap Session
	if ok {
		snap = *s
	}
	b.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoSession, acctSessionID)
	}
	return b.account(ctx, rfc2866.AcctStatusType_Value_Start, snap, 0)
}

// Interim sends Accounting Interim-Update, adding a little traffic.
func (b *BAS) Interim(ctx context.Context, acctSessionID string) error {
	b.mu.Lock()
	s, ok := b.sessions[acctSessionID]
	var snap Session
	if ok {
		s.InputOctets += 1 << 20
		s.OutputOctets += 4 << 20
		snap = *s
	}
	b.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoSession, acctSessionID)
	}
	return b.account(ctx, rfc2866.AcctStatusType_Value_InterimUpdate, snap, 0)
}

// Stop sends Accounting-Stop (User-Request) and forgets the session.
func (b *BAS) Stop(ctx context.Context, acctSessionID string) error {
	return b.stop(ctx, acctSessionID, rfc2866.AcctTerminateCause_Value_UserRequest)
}

func (b *BAS) stop(ctx context.Context, acctSessionID string, cause rfc2866.AcctTerminateCause) error {
	b.mu.Lock()
	s, ok := b.sessions[acctSessionID]
	var snap Session
	if ok {
		snap = *s
		delete(b.sessions, acctSessionID)
	}
	b.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNoSession, acctSessionID)
	}
	return b.account(ctx, rfc2866.AcctStatusType_Value_Stop, snap, cause)
}

// AccountingOn tells RADIUS the BAS (re)started, and forgets every session.
func (b *BAS) AccountingOn(ctx context.Context) error {
	b.mu.Lock()
	clear(b.sessions)
	b.mu.Unlock()
	p := radius.New(radius.CodeAccountingRequest, b.secret())
	_ = rfc2866.AcctStatusType_Add(p, rfc2866.AcctStatusType_Value_AccountingOn)
	_ = rfc2866.AcctSessionID_AddString(p, b.newSessionID())
	b.addNAS(p)
	if _, err := b.client.Exchange(ctx, p, b.cfg.AcctAddr); err != nil {
		return fmt.Errorf("bas: accounting-on: %w", err)
	}
	return nil
}

// Account sends an Accounting-Request for an arbitrary session state (for
// load generation and tests that replay accounting).
func (b *BAS) Account(ctx context.Context, status rfc2866.AcctStatusType, s Session) error {
	cause := rfc2866.AcctTerminateCause(0)
	if status == rfc2866.AcctStatusType_Value_Stop {
		cause = rfc2866.AcctTerminateCause_Value_UserRequest
	}
	return b.account(ctx, status, s, cause)
}

func (b *BAS) account(ctx context.Context, status rfc2866.AcctStatusType, s Session, cause rfc2866.AcctTerminateCause) error {
	p := b.AccountingRequest(status, s, cause)
	if _, err := b.client.Exchange(ctx, p, b.cfg.AcctAddr); err != nil {
		return fmt.Errorf("bas: accounting %v for %s: %w", status, s.AcctSessionID, err)
	}
	return nil
}

// AccountingRequest builds the Accounting-Request Account sends for s (cause
// 0: no Acct-Terminate-Cause).
func (b *BAS) AccountingRequest(status rfc2866.AcctStatusType, s Session, cause rfc2866.AcctTerminateCause) *radius.Packet {
	p := radius.New(radius.CodeAccountingRequest, b.secret())
	_ = rfc2866.AcctStatusType_Add(p, status)
	_ = rfc2866.AcctSessionID_AddString(p, s.AcctSessionID)
	if s.UserName != "" {
		_ = rfc2865.UserName_AddString(p, s.UserName)
	}
	b.addNAS(p)
	if s.MAC != "" {
		_ = rfc2865.CallingStationID_AddString(p, FormatMAC(s.MAC))
	}
	if s.UserIP.IsValid() && s.UserIP.Unmap().Is4() {
		_ = rfc2865.FramedIPAddress_Add(p, s.UserIP.Unmap().AsSlice())
	}
	six := s.UserIPv6.Is6() && !s.UserIPv6.Is4In6()
	if six {
		_ = rfc6911.FramedIPv6Address_Add(p, s.UserIPv6.AsSlice())
		pfx, _ := s.UserIPv6.Prefix(64)
		_ = rfc3162.FramedIPv6Prefix_Add(p, &net.IPNet{IP: pfx.Addr().AsSlice(), Mask: net.CIDRMask(64, 128)})
	}
	if len(s.Class) > 0 {
		_ = rfc2865.Class_Add(p, s.Class)
	}
	if id, n := s.nasPort(); id != "" {
		_ = rfc2869.NASPortID_AddString(p, id)
		if n != 0 {
			_ = rfc2865.NASPort_Add(p, rfc2865.NASPort(n))
		}
	}
	if status != rfc2866.AcctStatusType_Value_Start {
		_ = rfc2866.AcctInputOctets_Add(p, rfc2866.AcctInputOctets(uint32(s.InputOctets)))
		_ = rfc2866.AcctOutputOctets_Add(p, rfc2866.AcctOutputOctets(uint32(s.OutputOctets)))
		_ = rfc2869.AcctInputGigawords_Add(p, rfc2869.AcctInputGigawords(uint32(s.InputOctets>>32)))
		_ = rfc2869.AcctOutputGigawords_Add(p, rfc2869.AcctOutputGigawords(uint32(s.OutputOctets>>32)))
		if six {
			addHuaweiIPv6Counters(p, s.InputOctets6, s.OutputOctets6)
		}
		if !s.StartedAt.IsZero() {
			_ = rfc2866.AcctSessionTime_Add(p, rfc2866.AcctSessionTime(time.Since(s.StartedAt)/time.Second))
		}
	}
	if cause != 0 {
		_ = rfc2866.AcctTerminateCause_Add(p, cause)
	}
	_ = rfc2866.AcctAuthentic_Add(p, rfc2866.AcctAuthentic_Value_RADIUS)
	return p
}

// addHuaweiIPv6Counters adds Huawei's IPv6 octet counters and their
// gigawords (Vendor-Id 2011, types 144, 145, 148, 149).
func addHuaweiIPv6Counters(p *radius.Packet, in, out uint64) {
	for _, c := range []struct {
		t byte
		v uint32
	}{{144, uint32(in)}, {145, uint32(out)}, {148, uint32(in >> 32)}, {149, uint32(out >> 32)}} {
		v := []byte{c.t, 6, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(v[2:], c.v)
		if vsa, err := radius.NewVendorSpecific(2011, v); err == nil {
			p.Add(rfc2865.VendorSpecific_Type, vsa)
		}
	}
}

// LocalAddr is the address the BAS sends its RADIUS requests from ("" =
// any).
func (b *BAS) LocalAddr() string { return b.client.LocalAddr }

// SetNAK makes the BAS answer Disconnect-Requests (SetCoANAK: CoA-Requests) with a NAK carrying
// Error-Cause errorCause (e.g. 503, 506), until SetNAK(0) restores ACKs.
func (b *BAS) SetNAK(errorCause int) { b.nak.Store(int32(errorCause)) }

// DisconnectCounts reports how many Disconnect-Requests were ACKed and NAKed.
func (b *BAS) DisconnectCounts() (acks, naks int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.acks, b.naks
}

// ListenCoA binds CoAListen (if not yet bound) and returns the address.
func (b *BAS) ListenCoA() (netip.AddrPort, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.coa == nil {
		if b.cfg.CoAListen == "" {
			return netip.AddrPort{}, errors.New("bas: no CoA listen address")
		}
		c, err := net.ListenPacket("udp", b.cfg.CoAListen)
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("bas: listen coa: %w", err)
		}
		b.coa = c
	}
	return b.coa.LocalAddr().(*net.UDPAddr).AddrPort(), nil
}

// ServeCoA answers Disconnect-Requests and CoA-Requests (RFC 5176; see
// changeAuthorization) until ctx ends. A request
// naming a session the BAS has (by Acct-Session-Id, Framed-IP-Address,
// Calling-Station-Id or User-Name) is ACKed, the session ended, OnDisconnect
// called and an Accounting-Stop (Admin-Reset) sent; an unknown session gets
// a NAK with Error-Cause 503, a NAS-IP-Address that is not this BAS's a NAK
// 403; after SetNAK every request gets a NAK with that cause.
func (b *BAS) ServeCoA(ctx context.Context) error {
	if _, err := b.ListenCoA(); err != nil {
		return err
	}
	b.mu.Lock()
	conn := b.coa
	b.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	err := radiusproto.ListenDisconnect(conn, b.secret(), func(req *radius.Packet) (bool, int) {
		return b.disconnect(ctx, req)
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (b *BAS) disconnect(ctx context.Context, req *radius.Packet) (bool, int) {
	count := func(ack bool, cause int) (bool, int) {
		b.mu.Lock()
		if ack {
			b.acks++
		} else {
			b.naks++
		}
		b.mu.Unlock()
		return ack, cause
	}
	if req.Code == radius.CodeCoARequest {
		return b.changeAuthorization(req)
	}
	if req.Code != radius.CodeDisconnectRequest {
		return count(false, 405) // Unsupported-Service
	}
	if c := b.nak.Load(); c != 0 {
		return count(false, int(c))
	}
	if !b.forThisNAS(req) {
		return count(false, 403)
	}
	b.mu.Lock()
	found := b.find(req)
	var snap Session
	if found != nil {
		snap = *found
		delete(b.sessions, snap.AcctSessionID)
	}
	b.mu.Unlock()
	if found == nil {
		return count(false, 503)
	}
	b.log.Info("disconnect", "session", snap.AcctSessionID, "user", snap.UserName, "mac", snap.MAC)
	if b.OnDisconnect != nil {
		b.OnDisconnect(snap.UserIP, snap.UserIPv6, snap.MAC)
	}
	go func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := b.account(sctx, rfc2866.AcctStatusType_Value_Stop, snap, rfc2866.AcctTerminateCause_Value_AdminReset); err != nil {
			b.log.Warn("accounting-stop after disconnect", "session", snap.AcctSessionID, "err", err)
		}
	}()
	return count(true, 0)
}

// forThisNAS reports whether a request's NAS-IP-Address, if any, is this
// BAS's.
func (b *BAS) forThisNAS(req *radius.Packet) bool {
	if ip, err := rfc2865.NASIPAddress_Lookup(req); err == nil && b.cfg.NASIP.IsValid() {
		if a, ok := netip.AddrFromSlice(ip); ok && a.Unmap() != b.cfg.NASIP.Unmap() {
			return false
		}
	}
	return true
}

// find is the session a Disconnect- or CoA-Request names (RFC 5176 §3:
// every identification attribute given must match); b.mu is held.
func (b *BAS) find(req *radius.Packet) *Session {
	asid, _ := rfc2866.AcctSessionID_LookupString(req)
	user, _ := rfc2865.UserName_LookupString(req)
	csid, _ := rfc2865.CallingStationID_LookupString(req)
	mac, _ := access.NormalizeMAC(csid)
	var fip, fip6 netip.Addr
	if ip, err := rfc2865.FramedIPAddress_Lookup(req); err == nil {
		fip, _ = netip.AddrFromSlice(ip)
		fip = fip.Unmap()
	}
	if ip, err := rfc6911.FramedIPv6Address_Lookup(req); err == nil {
		fip6, _ = netip.AddrFromSlice(ip)
	}
	var fpfx netip.Prefix
	if n, err := rfc3162.FramedIPv6Prefix_Lookup(req); err == nil {
		if a, ok := netip.AddrFromSlice(n.IP); ok {
			ones, _ := n.Mask.Size()
			fpfx = netip.PrefixFrom(a, ones)
		}
	}
	for _, s := range b.sessions {
		switch {
		case asid != "" && s.AcctSessionID != asid:
			continue
		case fip.IsValid() && s.UserIP != fip:
			continue
		case fip6.IsValid() && s.UserIPv6 != fip6:
			continue
		case fpfx.IsValid() && !fpfx.Contains(s.UserIPv6):
			continue
		case mac != "" && s.MAC != mac:
			continue
		case user != "" && s.UserName != user:
			continue
		}
		return s
	}
	return nil
}
