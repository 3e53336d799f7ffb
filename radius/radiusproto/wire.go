package radiusproto

// Wire-level checks and signatures that layeh.com/radius lacks:
// Message-Authenticator (RFC 2869 §5.14, RFC 3579 §3.2, RFC 5176 §3.4),
// verification of request and response authenticators on raw bytes, and CHAP.
//
// Which authenticator goes into the header while the Message-Authenticator
// (HMAC-MD5 keyed with the shared secret, over the whole packet with the
// Message-Authenticator value taken as sixteen zero octets) is computed:
//
//	Access-Request, Status-Server        the random Request Authenticator, as sent
//	Accounting-, Disconnect-, CoA-Request sixteen zero octets; the Request
//	                                      Authenticator MD5(Code‖ID‖Len‖0¹⁶‖Attrs‖Secret)
//	                                      is computed afterwards, over the attributes
//	                                      that already hold the Message-Authenticator
//	every reply                           the Request Authenticator of the request it
//	                                      answers; the Response Authenticator
//	                                      MD5(Code‖ID‖Len‖RequestAuth‖Attrs‖Secret) is
//	                                      computed afterwards
//
// No RFC defines a Message-Authenticator in an Accounting-Response to an
// Accounting-Request, and FreeRADIUS 3.2 computes that one over a zero
// authenticator while it uses the request's for Status-Server replies
// (RFC 5997). The server therefore sends none there; clients accept either
// form in Accounting-Response and in Disconnect/CoA ACK and NAK (FreeRADIUS
// also signs those over zeros, where RFC 5176 uses the request's).
//
// Replies carry the Message-Authenticator as their first attribute, the
// BlastRADIUS (CVE-2024-3596) mitigation: an attacker cannot then choose the
// bytes that precede it.

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"io"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
)

// Attribute types handled here that layeh's generated packages do not give
// the server a reason to import.
const (
	attrProxyState           = radius.Type(33)
	attrEAPMessage           = rfc2869.EAPMessage_Type
	attrMessageAuthenticator = rfc2869.MessageAuthenticator_Type
)

const headerLen = 20

var (
	// ErrNoResponse is returned by clients when no authentic reply arrived
	// after every try. It never means success.
	ErrNoResponse = errors.New("radius: no response")

	// ErrServerClosed is returned by Server.Serve and ListenAndServe after
	// Shutdown.
	ErrServerClosed = errors.New("radius: server closed")

	errMalformed       = errors.New("radius: malformed packet")
	errUnsupportedCode = errors.New("radius: unsupported packet code")
	errBadAuth         = errors.New("radius: bad authenticator")
	errBadMA           = errors.New("radius: bad Message-Authenticator")
	errMissingMA       = errors.New("radius: missing Message-Authenticator")
	errEmptySecret     = errors.New("radius: empty shared secret")
)

// trimPacket checks the header's Length field and returns b cut to it: octets
// beyond Length are padding and ignored (RFC 2865 §3).
func trimPacket(b []byte) ([]byte, error) {
	if len(b) < headerLen {
		return nil, errMalformed
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < headerLen || n > radius.MaxPacketLength || n > len(b) {
		return nil, errMalformed
	}
	return b[:n], nil
}

// findMessageAuthenticator walks the attributes of the trimmed packet b and
// returns the offset of the Message-Authenticator value, or -1 when there is
// none. Broken attribute framing, a Message-Authenticator whose length is not
// 18, or two of them make the packet malformed.
func findMessageAuthenticator(b []byte) (int, error) {
	off := -1
	for i := headerLen; i < len(b); {
		if len(b)-i < 2 {
			return -1, errMalformed
		}
		l := int(b[i+1])
		if l < 2 || i+l > len(b) {
			return -1, errMalformed
		}
		if radius.Type(b[i]) == attrMessageAuthenticator {
			if l != 18 || off >= 0 {
				return -1, errMalformed
			}
			off = i + 2
		}
		i += l
	}
	return off, nil
}

var zeroAuth [16]byte

// messageAuthenticator computes HMAC-MD5(secret, Code‖ID‖Len‖auth‖Attrs) over
// the trimmed packet b, with the 16 octets at off (the Message-Authenticator
// value) taken as zero.
func messageAuthenticator(b, auth []byte, off int, secret []byte) [16]byte {
	m := hmac.New(md5.New, secret)
	m.Write(b[:4])
	m.Write(auth)
	m.Write(b[headerLen:off])
	m.Write(zeroAuth[:])
	m.Write(b[off+16:])
	var sum [16]byte
	m.Sum(sum[:0])
	return sum
}

// authenticatorHash computes MD5(Code‖ID‖Len‖auth‖Attrs‖Secret) over the
// trimmed packet b: the Response Authenticator when auth is the request's, the
// accounting/CoA Request Authenticator when auth is zero.
func authenticatorHash(b, auth, secret []byte) [16]byte {
	h := md5.New()
	h.Write(b[:4])
	h.Write(auth)
	h.Write(b[headerLen:])
	h.Write(secret)
	var sum [16]byte
	h.Sum(sum[:0])
	return sum
}

// computedAuthenticator reports whether code is a request whose authenticator
// is an MD5 over its contents rather than a random nonce.
func computedAuthenticator(code radius.Code) bool {
	switch code {
	case radius.CodeAccountingRequest, radius.CodeDisconnectRequest, radius.CodeCoARequest:
		return true
	}
	return false
}

// verifyRequest checks a trimmed request received with secret: the Request
// Authenticator of accounting, Disconnect and CoA requests, and the
// Message-Authenticator when present. It reports whether one was present.
// Requirements on its presence are the caller's.
func verifyRequest(b, secret []byte) (hasMA bool, err error) {
	if len(secret) == 0 {
		return false, errEmptySecret
	}
	off, err := findMessageAuthenticator(b)
	if err != nil {
		return false, err
	}
	code := radius.Code(b[0])
	auth := b[4:20]
	switch {
	case code == radius.CodeAccessRequest || code == radius.CodeStatusServer:
	case computedAuthenticator(code):
		sum := authenticatorHash(b, zeroAuth[:], secret)
		if subtle.ConstantTimeCompare(sum[:], auth) != 1 {
			return false, errBadAuth
		}
		auth = zeroAuth[:]
	default:
		return false, errUnsupportedCode
	}
	if off < 0 {
		return false, nil
	}
	sum := messageAuthenticator(b, auth, off, secret)
	if !hmac.Equal(sum[:], b[off:off+16]) {
		return true, errBadMA
	}
	return true, nil
}

// verifyReply checks a reply resp to the request req (both as on the wire)
// sent with secret: identifier, Response Authenticator and, when present, the
// Message-Authenticator. requireMA refuses a reply without one.
func verifyReply(resp, req, secret []byte, requireMA bool) ([]byte, error) {
	resp, err := trimPacket(resp)
	if err != nil {
		return nil, err
	}
	if len(req) < headerLen || resp[1] != req[1] {
		return nil, errMalformed
	}
	off, err := findMessageAuthenticator(resp)
	if err != nil {
		return nil, err
	}
	reqAuth := req[4:20]
	sum := authenticatorHash(resp, reqAuth, secret)
	if subtle.ConstantTimeCompare(sum[:], resp[4:20]) != 1 {
		return nil, errBadAuth
	}
	if off < 0 {
		if requireMA {
			return nil, errMissingMA
		}
		return resp, nil
	}
	ma := messageAuthenticator(resp, reqAuth, off, secret)
	if hmac.Equal(ma[:], resp[off:off+16]) {
		return resp, nil
	}
	switch radius.Code(resp[0]) {
	case radius.CodeAccountingResponse, radius.CodeDisconnectACK, radius.CodeDisconnectNAK, radius.CodeCoAACK, radius.CodeCoANAK:
		ma = messageAuthenticator(resp, zeroAuth[:], off, secret)
		if hmac.Equal(ma[:], resp[off:off+16]) {
			return resp, nil
		}
	}
	return nil, errBadMA
}

// withMessageAuthenticatorFirst returns attrs with any Message-Authenticator
// removed and a zeroed one placed first, followed by extra. attrs is not
// modified.
func withMessageAuthenticatorFirst(attrs, extra radius.Attributes) radius.Attributes {
	out := make(radius.Attributes, 1, len(attrs)+len(extra)+1)
	out[0] = &radius.AVP{Type: attrMessageAuthenticator, Attribute: make(radius.Attribute, 16)}
	for _, a := range attrs {
		if a.Type != attrMessageAuthenticator {
			out = append(out, a)
		}
	}
	return append(out, extra...)
}

// EncodeRequest returns the wire form of the request p, signed with p.Secret:
//
//   - Access-Request, Status-Server, Disconnect-Request and CoA-Request always
//     get a Message-Authenticator, as the first attribute (an existing one is
//     replaced); an Accounting-Request gets one only if p already holds one
//     (radclient's "Message-Authenticator = 0x00" convention);
//   - Access-Request and Status-Server keep p.Authenticator, which must be
//     random and must be the one p's User-Password was hidden with;
//   - Accounting-, Disconnect- and CoA-Request get their computed Request
//     Authenticator, after the Message-Authenticator.
//
// p is not modified.
func EncodeRequest(p *radius.Packet) ([]byte, error) {
	if len(p.Secret) == 0 {
		return nil, errEmptySecret
	}
	q := *p
	switch p.Code {
	case radius.CodeAccessRequest, radius.CodeStatusServer, radius.CodeDisconnectRequest, radius.CodeCoARequest:
		q.Attributes = withMessageAuthenticatorFirst(p.Attributes, nil)
	case radius.CodeAccountingRequest:
		if _, ok := p.Lookup(attrMessageAuthenticator); ok {
			q.Attributes = withMessageAuthenticatorFirst(p.Attributes, nil)
		}
	default:
		return nil, errUnsupportedCode
	}
	b, err := q.MarshalBinary()
	if err != nil {
		return nil, err
	}
	off, err := findMessageAuthenticator(b)
	if err != nil {
		return nil, err
	}
	computed := computedAuthenticator(p.Code)
	if computed {
		copy(b[4:20], zeroAuth[:])
	}
	if off >= 0 {
		ma := messageAuthenticator(b, b[4:20], off, p.Secret)
		copy(b[off:], ma[:])
	}
	if computed {
		sum := authenticatorHash(b, zeroAuth[:], p.Secret)
		copy(b[4:20], sum[:])
	}
	return b, nil
}

// EncodeReply returns the wire form of reply, signed with reply.Secret, as an
// answer to a request whose authenticator was requestAuthenticator: the
// Message-Authenticator first (computed with the request's authenticator in
// the header), then the Response Authenticator. reply.Authenticator is
// ignored; reply is not modified.
func EncodeReply(reply *radius.Packet, requestAuthenticator [16]byte) ([]byte, error) {
	return encodeReply(reply, reply.Identifier, requestAuthenticator, reply.Secret, true, nil)
}

// encodeReply is EncodeReply with the request's identifier and the secret
// given apart, the Message-Authenticator optional and extra attributes
// (Proxy-State) appended.
func encodeReply(reply *radius.Packet, id byte, reqAuth [16]byte, secret []byte, withMA bool, extra radius.Attributes) ([]byte, error) {
	if len(secret) == 0 {
		return nil, errEmptySecret
	}
	switch reply.Code {
	case radius.CodeAccessAccept, radius.CodeAccessReject, radius.CodeAccessChallenge,
		radius.CodeAccountingResponse,
		radius.CodeDisconnectACK, radius.CodeDisconnectNAK, radius.CodeCoAACK, radius.CodeCoANAK:
	default:
		return nil, errUnsupportedCode
	}
	q := *reply
	q.Identifier = id
	q.Authenticator = reqAuth
	switch {
	case withMA:
		q.Attributes = withMessageAuthenticatorFirst(reply.Attributes, extra)
	case len(extra) > 0:
		q.Attributes = append(append(make(radius.Attributes, 0, len(reply.Attributes)+len(extra)), reply.Attributes...), extra...)
	}
	b, err := q.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if withMA {
		off, err := findMessageAuthenticator(b)
		if err != nil {
			return nil, err
		}
		ma := messageAuthenticator(b, reqAuth[:], off, secret)
		copy(b[off:], ma[:])
	}
	sum := authenticatorHash(b, reqAuth[:], secret)
	copy(b[4:20], sum[:])
	return b, nil
}

// VerifyCHAP reports whether chapPassword, the value of a CHAP-Password
// attribute (17 octets: CHAP Ident ‖ MD5(Ident‖secret‖challenge); the 19-octet
// form with the attribute header is also accepted), proves knowledge of
// secret for challenge. challenge is the CHAP-Challenge attribute or, when
// that is absent, the Request Authenticator (see CHAPChallenge). The
// comparison takes constant time.
func VerifyCHAP(chapPassword, challenge []byte, secret string) bool {
	if len(chapPassword) == 19 && chapPassword[0] == byte(rfc2865.CHAPPassword_Type) && chapPassword[1] == 19 {
		chapPassword = chapPassword[2:]
	}
	if len(chapPassword) != 17 || len(challenge) == 0 {
		return false
	}
	h := md5.New()
	h.Write(chapPassword[:1])
	io.WriteString(h, secret)
	h.Write(challenge)
	var sum [16]byte
	h.Sum(sum[:0])
	return subtle.ConstantTimeCompare(sum[:], chapPassword[1:]) == 1
}

// CHAPChallenge returns the challenge a CHAP-Password in p answers: the
// CHAP-Challenge attribute (60) when present, else p's Request Authenticator
// (RFC 2865 §2.2).
func CHAPChallenge(p *radius.Packet) []byte {
	if c, ok := p.Lookup(rfc2865.CHAPChallenge_Type); ok && len(c) > 0 {
		return c
	}
	return p.Authenticator[:]
}
