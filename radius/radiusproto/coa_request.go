package radiusproto

import (
	"context"
	"fmt"
	"net/netip"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
)

// CoA asks nas to change the session id names (RFC 5176 §2: a
// CoA-Request, code 43), at nas.IP port nas.CoAPort (DefaultCoAPort when
// 0). The request carries the session identification attributes, as a
// Disconnect-Request does, then attrs (the authorization to apply: rate
// attributes, Filter-Id); it is signed with nas.Secret, its Request
// Authenticator computed as for Accounting-Request (RFC 5176 §2.3) and a
// Message-Authenticator first (RFC 5176 §3.3 requires one with EAP and
// the BlastRADIUS advice with every request). The reply is verified (the
// Response Authenticator, its Message-Authenticator when present, and a
// code that answers a CoA-Request) and returned: a CoA-ACK or CoA-NAK
// (CoAAnswer reads it; a NAK is an answer, not an error). When the NAS
// never answers, or answers only with replies that fail verification (a
// wrong secret), the error wraps ErrNoResponse.
//
// attrs must not carry Service-Type Authorize-Only: this client does not
// follow a CoA-NAK's Error-Cause 507 Request-Initiated with an
// Access-Request (RFC 5176 §3.2), so every change is pushed whole.
func (c *CoAClient) CoA(ctx context.Context, nas *NAS, id SessionIdent, attrs radius.Attributes) (reply *radius.Packet, tries int, err error) {
	p, err := sessionRequest(radius.CodeCoARequest, nas, id)
	if err != nil {
		return nil, 0, err
	}
	for _, a := range attrs {
		if a.Type == rfc2865.ServiceType_Type {
			return nil, 0, fmt.Errorf("radius: coa at NAS %s: Service-Type in a pushed CoA-Request is not supported", nas.Name)
		}
		p.Add(a.Type, a.Attribute)
	}
	if !nas.IP.IsValid() {
		return nil, 0, fmt.Errorf("radius: coa at NAS %s: no IP address", nas.Name)
	}
	port := nas.CoAPort
	if port == 0 {
		port = DefaultCoAPort
	}
	dst := netip.AddrPortFrom(nas.IP.Unmap(), uint16(port))
	reply, tries, err = c.initClient().exchange(ctx, p, dst)
	if err != nil {
		return nil, tries, fmt.Errorf("radius: coa at NAS %s: %w", nas.Name, err)
	}
	return reply, tries, nil
}

// CoAAnswer reads a NAS's answer to a CoA-Request: ack for a CoA-ACK (the
// change is applied); for a CoA-NAK, its Error-Cause (101), e.g. 503
// Session-Context-Not-Found or 405 Unsupported-Service, or 0 when absent.
func CoAAnswer(reply *radius.Packet) (ack bool, errorCause int) {
	return DisconnectAnswer(reply)
}
