package portalproto

import (
	"bytes"
	"crypto/md5"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Version is the protocol version in the first header byte.
type Version uint8

// Protocol versions. V2 adds the 16-byte authenticator and cannot
// interoperate with V1 (docs/protocols.md#portal-variants).
const (
	V1 Version = 0x01
	V2 Version = 0x02
)

// HeaderLen returns the header length of version v: 16 for V1, 32 for V2.
func (v Version) HeaderLen() int {
	if v == V1 {
		return headerLenV1
	}
	return headerLenV2
}

const (
	headerLenV1 = 16
	headerLenV2 = 32
	// MaxPacketLen bounds what we read and write; a v2 header plus 255
	// attributes of 255 bytes would be larger, but no device sends that.
	maxPacketLen = 4096
	maxAttrValue = 253
	maxAttrs     = 255
)

// AuthMethod is the Pap/Chap header byte.
type AuthMethod uint8

// Authentication methods (docs/protocols.md#portal-header).
const (
	AuthCHAP AuthMethod = 0x00
	AuthPAP  AuthMethod = 0x01
)

func (m AuthMethod) String() string {
	switch m {
	case AuthCHAP:
		return "CHAP"
	case AuthPAP:
		return "PAP"
	}
	return fmt.Sprintf("AuthMethod(%d)", uint8(m))
}

// Type is the packet type (docs/protocols.md#portal-packet-types).
type Type uint8

// Packet types. PS is the portal server.
const (
	ReqChallenge     Type = 0x01 // PS→BAS, CHAP only
	AckChallenge     Type = 0x02 // BAS→PS, carries Challenge
	ReqAuth          Type = 0x03 // PS→BAS
	AckAuth          Type = 0x04 // BAS→PS
	ReqLogout        Type = 0x05 // PS→BAS; ErrCode 1 = timeout notice
	AckLogout        Type = 0x06 // BAS→PS
	AffAckAuth       Type = 0x07 // PS→BAS, confirms ACK_AUTH, no reply
	NtfLogout        Type = 0x08 // BAS→PS, forced logout
	ReqInfo          Type = 0x09 // PS→BAS, flux and port query
	AckInfo          Type = 0x0a // BAS→PS
	NtfUserDiscover  Type = 0x0b // PS→BAS (CMCC/H3C)
	NtfUserIPChange  Type = 0x0c // BAS→PS, re-DHCP
	AffNtfUserIPChan Type = 0x0d // PS→BAS
	AckNtfLogout     Type = 0x0e // PS→BAS, always sent
	NtfHeartbeat     Type = 0x0f // PS→BAS, server "escape" heartbeat, no reply
	NtfUserHeartbeat Type = 0x10 // PS→BAS, user-list sync (Huawei: USER_SYN)
	AckUserHeartbeat Type = 0x11 // BAS→PS (Huawei: ACK_USER_SYN)
	NtfChallenge     Type = 0x12 // EAP, optional
	NtfUserNotify    Type = 0x13 // optional
	AffNtfUserNotify Type = 0x14 // optional
	StatusNotify     Type = 0x81 // PS→BAS, Huawei server-status heartbeat
	AckStatusNotify  Type = 0x82 // BAS→PS
)

func (t Type) String() string {
	switch t {
	case ReqChallenge:
		return "REQ_CHALLENGE"
	case AckChallenge:
		return "ACK_CHALLENGE"
	case ReqAuth:
		return "REQ_AUTH"
	case AckAuth:
		return "ACK_AUTH"
	case ReqLogout:
		return "REQ_LOGOUT"
	case AckLogout:
		return "ACK_LOGOUT"
	case AffAckAuth:
		return "AFF_ACK_AUTH"
	case NtfLogout:
		return "NTF_LOGOUT"
	case ReqInfo:
		return "REQ_INFO"
	case AckInfo:
		return "ACK_INFO"
	case NtfUserDiscover:
		return "NTF_USERDISCOVER"
	case NtfUserIPChange:
		return "NTF_USERIPCHANGE"
	case AffNtfUserIPChan:
		return "AFF_NTF_USERIPCHAN"
	case AckNtfLogout:
		return "ACK_NTF_LOGOUT"
	case NtfHeartbeat:
		return "NTF_HEARTBEAT"
	case NtfUserHeartbeat:
		return "NTF_USER_HEARTBEAT"
	case AckUserHeartbeat:
		return "ACK_USER_HEARTBEAT"
	case NtfChallenge:
		return "NTF_CHALLENGE"
	case NtfUserNotify:
		return "NTF_USER_NOTIFY"
	case AffNtfUserNotify:
		return "AFF_NTF_USER_NOTIFY"
	case StatusNotify:
		return "STATUS_NOTIFY"
	case AckStatusNotify:
		return "ACK_STATUS_NOTIFY"
	}
	return fmt.Sprintf("Type(0x%02x)", uint8(t))
}

// IsRequest reports whether packets of type t carry a request-style v2
// authenticator, MD5 seeded with sixteen zero bytes
// (docs/protocols.md#portal-authenticator).
// That holds for REQ_*, AFF_ACK_AUTH, the heartbeats and every NTF_*,
// including NTF_LOGOUT from the BAS. Every ACK_* is response-style, seeded
// with the authenticator of the request it answers.
//
// UNVERIFIED: AFF_NTF_USERIPCHAN and AFF_NTF_USER_NOTIFY answer an NTF
// packet; they are treated as responses, by analogy with ACK_NTF_LOGOUT.
// Unknown types are treated as requests.
func IsRequest(t Type) bool {
	switch t {
	case AckChallenge, AckAuth, AckLogout, AckInfo, AffNtfUserIPChan,
		AckNtfLogout, AckUserHeartbeat, AffNtfUserNotify, AckStatusNotify:
		return false
	}
	return true
}

// Code is the header's ErrCode byte. Its meaning depends on the packet type
// (docs/protocols.md#portal-error-codes), hence the groups below share values.
type Code uint8

// CodeOK means success in every packet type.
const CodeOK Code = 0

// Codes in ACK_CHALLENGE and ACK_AUTH.
const (
	CodeRejected      Code = 1 // bad ReqID or attributes, or RADIUS reject
	CodeAlreadyOnline Code = 2 // link already established
	CodeInProgress    Code = 3 // another authentication in progress, retry
	CodeFailed        Code = 4
)

// Codes in REQ_LOGOUT (portal to BAS).
const (
	CodeLogoutNormal  Code = 0
	CodeLogoutTimeout Code = 1 // a REQ_CHALLENGE or REQ_AUTH got no answer
)

// Codes in ACK_LOGOUT.
const (
	CodeLogoutRejected       Code = 1
	CodeLogoutFailed         Code = 2
	CodeLogoutAlreadyOffline Code = 3
)

// Codes in ACK_INFO.
const (
	CodeInfoUnsupported Code = 1 // unsupported or failed
	CodeInfoFailed      Code = 2 // processing failure
)

// AttrType is an attribute type (docs/protocols.md#portal-attributes).
type AttrType uint8

// Attribute types.
const (
	AttrUserName     AttrType = 0x01 // string, REQ_AUTH
	AttrPassword     AttrType = 0x02 // PAP password in plaintext
	AttrChallenge    AttrType = 0x03 // 16 bytes, from ACK_CHALLENGE
	AttrChapPassword AttrType = 0x04 // 16 bytes, see ChapPassword
	AttrTextInfo     AttrType = 0x05 // string without NUL; may repeat
	AttrUpLinkFlux   AttrType = 0x06 // empty in REQ_INFO; 8-byte KB in ACK_INFO
	AttrDownLinkFlux AttrType = 0x07 // empty in REQ_INFO; 8-byte KB in ACK_INFO
	AttrPort         AttrType = 0x08 // empty in REQ_INFO; string in ACK_INFO
	AttrIPConfig     AttrType = 0x09 // re-DHCP signalling
	AttrBASIP        AttrType = 0x0a // 4 bytes
	AttrUserMAC      AttrType = 0x0b // 6 bytes; also called Session-ID
	AttrDelayTime    AttrType = 0x0c // NTF_LOGOUT
	AttrUserList     AttrType = 0x0d // conflicting definitions between vendors
	AttrEAPMessage   AttrType = 0x0e
	AttrUserNotify   AttrType = 0x0f
	// H3C (the MSR "portal" command reference's attribute table): the
	// BAS's IPv6 address, 16 bytes; the user's IPv6 addresses, 16 bytes
	// each (ipv6.go).
	AttrBASIPv6      AttrType = 0x64
	AttrUserIPv6List AttrType = 0x65
	// AttrUserIPv6 is Huawei's user IPv6 address, 16 bytes (Len 18), as
	// an open Huawei portal implementation (xpws) defines it; Huawei's
	// public packet-format page does not list it: UNVERIFIED on a device.
	AttrUserIPv6 AttrType = 0xf1
	// UNVERIFIED: seen in a single implementation each.
	AttrCHAPIDXpws     AttrType = 0xf0
	AttrUserMACCMCCTxp AttrType = 0xff
)

// Attr is one type-length-value attribute. On the wire the length byte
// counts the two header bytes, so Value holds at most 253 bytes.
type Attr struct {
	Type  AttrType
	Value []byte
}

// Packet is one Portal protocol packet.
type Packet struct {
	Version  Version
	Type     Type
	Auth     AuthMethod // Pap/Chap byte
	SerialNo uint16     // chosen by the portal per request, echoed by the BAS
	ReqID    uint16     // assigned by the BAS
	UserIP   netip.Addr // IPv4; the zero Addr encodes as 0.0.0.0
	UserPort uint16
	ErrCode  Code
	Attrs    []Attr
	// Authenticator is the v2 authenticator. Marshal sets it; Unmarshal
	// copies it from the wire. V1 packets have none.
	Authenticator [16]byte

	// raw holds the bytes Unmarshal decoded, so that Verify checks what
	// the peer signed even when it is not in our canonical encoding
	// (a nonzero Rsv byte, an AttrNum that disagrees, trailing padding).
	raw []byte
}

// Attr returns the value of the first attribute of type t.
func (p *Packet) Attr(t AttrType) ([]byte, bool) {
	for _, a := range p.Attrs {
		if a.Type == t {
			return a.Value, true
		}
	}
	return nil, false
}

// AddAttr appends an attribute.
func (p *Packet) AddAttr(t AttrType, v []byte) {
	p.Attrs = append(p.Attrs, Attr{Type: t, Value: v})
}

// BASIP returns the BAS-IP attribute, if the packet carries a valid one.
func (p *Packet) BASIP() (netip.Addr, bool) {
	v, ok := p.Attr(AttrBASIP)
	if !ok || len(v) != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte(v)), true
}

// TextInfo returns every TextInfo attribute decoded with DecodeText and
// joined with "; ". It is empty when there is none.
func (p *Packet) TextInfo() string {
	var parts []string
	for _, a := range p.Attrs {
		if a.Type == AttrTextInfo {
			if s := DecodeText(a.Value); s != "" {
				parts = append(parts, s)
			}
		}
	}
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	var b bytes.Buffer
	for i, s := range parts {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(s)
	}
	return b.String()
}

// Marshal encodes p. For V2 it computes the authenticator, stores it in
// p.Authenticator and writes it into the packet:
//
//	MD5(header[0:16] ‖ seed ‖ attributes ‖ secret)
//
// where seed is sixteen zero bytes for request-style types (IsRequest) and
// requestAuth, the authenticator of the request being answered, for
// responses. requestAuth must be nil for request-style types and non-nil for
// responses; a mix-up is an error rather than a packet the peer would drop.
// V1 packets have no authenticator and ignore secret and requestAuth.
func (p *Packet) Marshal(secret []byte, requestAuth *[16]byte) ([]byte, error) {
	if p.Version != V1 && p.Version != V2 {
		return nil, fmt.Errorf("%w: version %d", ErrInvalidPacket, p.Version)
	}
	seed, err := authSeed(p.Version, p.Type, requestAuth)
	if err != nil {
		return nil, err
	}
	b, err := p.encode(seed)
	if err != nil {
		return nil, err
	}
	if p.Version == V2 {
		p.Authenticator = authenticator(b, seed, secret)
		copy(b[16:32], p.Authenticator[:])
	} else {
		p.Authenticator = [16]byte{}
	}
	p.raw = nil
	return b, nil
}

func authSeed(v Version, t Type, requestAuth *[16]byte) ([16]byte, error) {
	if v != V2 {
		return [16]byte{}, nil
	}
	if IsRequest(t) {
		if requestAuth != nil {
			return [16]byte{}, fmt.Errorf("%w: %v is request-style, it takes no request authenticator", ErrAuthenticatorSeed, t)
		}
		return [16]byte{}, nil
	}
	if requestAuth == nil {
		return [16]byte{}, fmt.Errorf("%w: %v answers a request, its authenticator is needed", ErrAuthenticatorSeed, t)
	}
	return *requestAuth, nil
}

// encode writes the header, with seed in the v2 authenticator field, and the
// attributes.
func (p *Packet) encode(seed [16]byte) ([]byte, error) {
	if len(p.Attrs) > maxAttrs {
		return nil, fmt.Errorf("%w: %d attributes, at most %d", ErrInvalidPacket, len(p.Attrs), maxAttrs)
	}
	ip := p.UserIP.Unmap()
	if p.UserIP.IsValid() && !ip.Is4() {
		return nil, fmt.Errorf("%w: user IP %v is not IPv4", ErrInvalidPacket, p.UserIP)
	}
	n := p.Version.HeaderLen()
	for _, a := range p.Attrs {
		if len(a.Value) > maxAttrValue {
			return nil, fmt.Errorf("%w: attribute %d is %d bytes, at most %d", ErrInvalidPacket, a.Type, len(a.Value), maxAttrValue)
		}
		n += 2 + len(a.Value)
	}
	if n > maxPacketLen {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidPacket, n, maxPacketLen)
	}
	b := make([]byte, 0, n)
	b = append(b, byte(p.Version), byte(p.Type), byte(p.Auth), 0)
	b = binary.BigEndian.AppendUint16(b, p.SerialNo)
	b = binary.BigEndian.AppendUint16(b, p.ReqID)
	if ip.IsValid() {
		b = append(b, ip.AsSlice()...)
	} else {
		b = append(b, 0, 0, 0, 0)
	}
	b = binary.BigEndian.AppendUint16(b, p.UserPort)
	b = append(b, byte(p.ErrCode), byte(len(p.Attrs)))
	if p.Version == V2 {
		b = append(b, seed[:]...)
	}
	for _, a := range p.Attrs {
		b = append(b, byte(a.Type), byte(2+len(a.Value)))
		b = append(b, a.Value...)
	}
	return b, nil
}

// authenticator computes MD5(b[0:16] ‖ seed ‖ b[32:] ‖ secret).
func authenticator(b []byte, seed [16]byte, secret []byte) [16]byte {
	h := md5.New()
	h.Write(b[:16])
	h.Write(seed[:])
	h.Write(b[32:])
	h.Write(secret)
	var out [16]byte
	h.Sum(out[:0])
	return out
}

// Verify checks the v2 authenticator of p against secret. requestAuth
// follows the rule of Marshal: nil for request-style types, the
// authenticator of the request being answered for responses. A packet from
// Unmarshal is checked on the exact bytes received. V1 packets carry no
// authenticator, so Verify accepts them.
func (p *Packet) Verify(secret []byte, requestAuth *[16]byte) error {
	if p.Version == V1 {
		return nil
	}
	seed, err := authSeed(p.Version, p.Type, requestAuth)
	if err != nil {
		return err
	}
	b := p.raw
	if b == nil {
		if b, err = p.encode(seed); err != nil {
			return err
		}
	}
	want := authenticator(b, seed, secret)
	if subtle.ConstantTimeCompare(want[:], p.Authenticator[:]) != 1 {
		return ErrBadAuthenticator
	}
	return nil
}

// Unmarshal decodes one packet. It copies b, so the caller may reuse it.
//
// Attributes run to the end of the datagram. Each attribute's length byte
// counts its two header bytes; a length below 2 or past the end is an error
// unless the header's AttrNum attributes have already been read, in which
// case the rest is taken as padding (some implementations send fixed-size
// buffers) and ignored. Otherwise AttrNum is not enforced: every well-formed
// attribute is kept, including unknown types. Rsv is ignored.
func Unmarshal(b []byte) (*Packet, error) {
	if len(b) < headerLenV1 {
		return nil, fmt.Errorf("%w: %d bytes, shorter than a header", ErrMalformed, len(b))
	}
	if len(b) > maxPacketLen {
		return nil, fmt.Errorf("%w: %d bytes, longer than %d", ErrMalformed, len(b), maxPacketLen)
	}
	v := Version(b[0])
	if v != V1 && v != V2 {
		return nil, fmt.Errorf("%w: version 0x%02x", ErrMalformed, b[0])
	}
	hl := v.HeaderLen()
	if len(b) < hl {
		return nil, fmt.Errorf("%w: %d bytes, shorter than a v%d header", ErrMalformed, len(b), v)
	}
	raw := bytes.Clone(b)
	p := &Packet{
		Version:  v,
		Type:     Type(raw[1]),
		Auth:     AuthMethod(raw[2]),
		SerialNo: binary.BigEndian.Uint16(raw[4:6]),
		ReqID:    binary.BigEndian.Uint16(raw[6:8]),
		UserIP:   netip.AddrFrom4([4]byte(raw[8:12])),
		UserPort: binary.BigEndian.Uint16(raw[12:14]),
		ErrCode:  Code(raw[14]),
		raw:      raw,
	}
	attrNum := int(raw[15])
	if v == V2 {
		copy(p.Authenticator[:], raw[16:32])
	}
	rest := raw[hl:]
	for len(rest) > 0 {
		if len(rest) < 2 || rest[1] < 2 || int(rest[1]) > len(rest) {
			if len(p.Attrs) >= attrNum {
				break // padding after the announced attributes
			}
			return nil, fmt.Errorf("%w: attribute %d of %d truncated or with bad length", ErrMalformed, len(p.Attrs)+1, attrNum)
		}
		l := int(rest[1])
		p.Attrs = append(p.Attrs, Attr{Type: AttrType(rest[0]), Value: rest[2:l:l]})
		rest = rest[l:]
	}
	return p, nil
}
