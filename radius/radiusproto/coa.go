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
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc3162"
	"layeh.com/radius/rfc3576"
)

// Attribute types for session identification not in the imported packages.
const (
	attrNASIPv6Address    = radius.Type(95)  // RFC 3162
	attrFramedIPv6Address = radius.Type(168) // RFC 6911
)

// ErrNoSessionIdent is returned by Disconnect when SessionIdent names no
// session.
var ErrNoSessionIdent = errors.New("radius: no session identification")

// SessionIdent names the session to end (RFC 5176 §3). Zero fields are left
// out; at least one of UserName, AcctSessionID, FramedIP, FramedIPv6,
// FramedIPv6Prefix and CallingStationID must be set. FramedIP is sent as
// Framed-IP-Address (or Framed-IPv6-Address when it is IPv6), FramedIPv6
// as Framed-IPv6-Address (RFC 6911) and FramedIPv6Prefix as
// Framed-IPv6-Prefix (RFC 3162), so a session with only IPv6 identifiers
// can be named. NASIP, when valid, is sent as
// NAS-IP-Address (or NAS-IPv6-Address) so the NAS can check it is meant.
type SessionIdent struct {
	UserName         string
	AcctSessionID    string
	FramedIP         netip.Addr
	FramedIPv6       netip.Addr
	FramedIPv6Prefix netip.Prefix
	CallingStationID string
	NASIP            netip.Addr
}

// CoAClient sends Disconnect-Requests and CoA-Requests (RFC 5176) to NAS. The zero value is
// ready to use; set fields before the first call.
type CoAClient struct {
	// Retry is the wait for an answer before resending; 0 means DefaultRetry.
	Retry time.Duration
	// MaxTries is how many times a request is sent in all; 0 means
	// DefaultMaxTries.
	MaxTries int
	// LocalAddr is the local address to send from; "" means any.
	LocalAddr string

	once   sync.Once
	client *Client
}

// initClient copies the settings into the Client once.
func (c *CoAClient) initClient() *Client {
	c.once.Do(func() {
		c.client = &Client{Retry: c.Retry, MaxTries: c.MaxTries, LocalAddr: c.LocalAddr}
	})
	return c.client
}

// Close releases the client's sockets.
func (c *CoAClient) Close() error { return c.initClient().Close() }

// Disconnect asks nas to end the session id names, at nas.IP port nas.CoAPort
// (DefaultCoAPort when 0), signed with nas.Secret and a Message-Authenticator.
// It returns the NAS's verified answer, a Disconnect-ACK or -NAK
// (DisconnectAnswer reads it; a NAK is an answer, not an error), and how
// many times the request was sent. When the NAS never answers, the error
// wraps ErrNoResponse: silence is never success.
func (c *CoAClient) Disconnect(ctx context.Context, nas *NAS, id SessionIdent) (reply *radius.Packet, tries int, err error) {
	p, err := disconnectRequest(nas, id)
	if err != nil {
		return nil, 0, err
	}
	if !nas.IP.IsValid() {
		return nil, 0, fmt.Errorf("radius: disconnect at NAS %s: no IP address", nas.Name)
	}
	port := nas.CoAPort
	if port == 0 {
		port = DefaultCoAPort
	}
	dst := netip.AddrPortFrom(nas.IP.Unmap(), uint16(port))
	cl := c.initClient()
	reply, tries, err = cl.exchange(ctx, p, dst)
	if err != nil {
		return nil, tries, fmt.Errorf("radius: disconnect at NAS %s: %w", nas.Name, err)
	}
	return reply, tries, nil
}

// DisconnectAnswer reads a NAS's answer to a Disconnect-Request (or a
// CoA-Request, see CoAAnswer): ack for a Disconnect-ACK (the session is
// gone) or CoA-ACK; for a NAK, its
// Error-Cause (101), e.g. 503 Session-Context-Not-Found, or 0 when absent.
func DisconnectAnswer(reply *radius.Packet) (ack bool, errorCause int) {
	if reply.Code == radius.CodeDisconnectACK || reply.Code == radius.CodeCoAACK {
		return true, 0
	}
	if v, err := rfc3576.ErrorCause_Lookup(reply); err == nil {
		errorCause = int(v)
	}
	return false, errorCause
}

func disconnectRequest(nas *NAS, id SessionIdent) (*radius.Packet, error) {
	return sessionRequest(radius.CodeDisconnectRequest, nas, id)
}

// sessionRequest is a Disconnect- or CoA-Request naming the session id
// (RFC 5176 §3: the session identification attributes).
func sessionRequest(code radius.Code, nas *NAS, id SessionIdent) (*radius.Packet, error) {
	if id.UserName == "" && id.AcctSessionID == "" && !id.FramedIP.IsValid() && !id.FramedIPv6.IsValid() &&
		!id.FramedIPv6Prefix.IsValid() && id.CallingStationID == "" {
		return nil, ErrNoSessionIdent
	}
	p := radius.New(code, nas.Secret)
	var err error
	add := func(e error) {
		if err == nil && e != nil {
			err = e
		}
	}
	if id.NASIP.IsValid() {
		ip := id.NASIP.Unmap()
		if ip.Is4() {
			add(rfc2865.NASIPAddress_Add(p, ip.AsSlice()))
		} else {
			p.Add(attrNASIPv6Address, ip.AsSlice())
		}
	}
	if id.UserName != "" {
		add(rfc2865.UserName_AddString(p, id.UserName))
	}
	if id.AcctSessionID != "" {
		add(rfc2866.AcctSessionID_AddString(p, id.AcctSessionID))
	}
	if id.FramedIP.IsValid() {
		ip := id.FramedIP.Unmap()
		if ip.Is4() {
			add(rfc2865.FramedIPAddress_Add(p, ip.AsSlice()))
		} else {
			p.Add(attrFramedIPv6Address, ip.AsSlice())
		}
	}
	if id.FramedIPv6.Is6() && !id.FramedIPv6.Is4In6() && id.FramedIPv6 != id.FramedIP {
		p.Add(attrFramedIPv6Address, id.FramedIPv6.AsSlice())
	}
	if pf := id.FramedIPv6Prefix.Masked(); pf.IsValid() && pf.Addr().Is6() {
		add(rfc3162.FramedIPv6Prefix_Add(p, &net.IPNet{IP: pf.Addr().AsSlice(), Mask: net.CIDRMask(pf.Bits(), 128)}))
	}
	if id.CallingStationID != "" {
		add(rfc2865.CallingStationID_AddString(p, id.CallingStationID))
	}
	if err != nil {
		return nil, fmt.Errorf("radius: %v: %w", code, err)
	}
	return p, nil
}

// ListenDisconnect answers Disconnect-Requests and CoA-Requests read from
// conn, as a NAS would: it is for simulators and tests. Requests whose
// authenticator or Message-Authenticator does not match secret are dropped;
// for the others fn decides, and the answer (ACK, or NAK with Error-Cause
// errorCause when not 0) goes back signed with a Message-Authenticator.
// Retransmissions get the same answer without calling fn again. It returns
// nil when conn is closed.
func ListenDisconnect(conn net.PacketConn, secret []byte, fn func(req *radius.Packet) (ack bool, errorCause int)) error {
	cache := newDedupe(DefaultDuplicateWindow, 4096)
	buf := make([]byte, radius.MaxPacketLength)
	for {
		n, addr, err := conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		ua, _ := addr.(*net.UDPAddr)
		if ua == nil {
			continue
		}
		out := answerDisconnect(buf[:n], ua.AddrPort(), secret, cache, fn)
		if out != nil {
			conn.WriteTo(out, addr)
		}
	}
}

func answerDisconnect(b []byte, src netip.AddrPort, secret []byte, cache *dedupe, fn func(*radius.Packet) (bool, int)) []byte {
	raw, err := trimPacket(b)
	if err != nil {
		return nil
	}
	code := radius.Code(raw[0])
	if code != radius.CodeDisconnectRequest && code != radius.CodeCoARequest {
		return nil
	}
	if _, err := verifyRequest(raw, secret); err != nil {
		return nil
	}
	req, err := radius.Parse(raw, secret)
	if err != nil {
		return nil
	}
	now := time.Now()
	key := dedupeKey{src: src, id: req.Identifier, auth: req.Authenticator}
	entry, cached, state := cache.begin(key, now)
	switch state {
	case dedupeAnswered:
		return cached
	case dedupeInFlight:
		return nil
	}
	ack, cause := fn(req)
	replyCode := radius.CodeDisconnectNAK
	switch {
	case code == radius.CodeDisconnectRequest && ack:
		replyCode = radius.CodeDisconnectACK
	case code == radius.CodeCoARequest && ack:
		replyCode = radius.CodeCoAACK
	case code == radius.CodeCoARequest:
		replyCode = radius.CodeCoANAK
	}
	reply := req.Response(replyCode)
	if !ack && cause != 0 {
		rfc3576.ErrorCause_Add(reply, rfc3576.ErrorCause(cause))
	}
	out, err := encodeReply(reply, req.Identifier, req.Authenticator, secret, true, nil)
	if err != nil {
		cache.abort(key, entry)
		return nil
	}
	cache.finish(entry, out, now)
	return out
}
