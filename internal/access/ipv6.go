package access

import (
	"encoding/hex"
	"fmt"
	"net/netip"
)

// IPv6Record is the IPv6 side of one Accounting-Request (or of what the
// portal learnt from the BAS): the user's address, the prefix on its link,
// its interface id, a delegated prefix, and the IPv6 part of the traffic.
// Empty strings mean "not reported"; Octets6 false means the BAS sent no
// IPv6 counters (so the stored ones are kept).
type IPv6Record struct {
	Addr      string // canonical text, "2001:db8:1:2::10"
	Prefix    string // canonical text, "2001:db8:1:2::/64"
	IfID      string // "0211:22ff:fe33:4455"
	Delegated string // canonical text, "2001:db8:ff00::/56"
	// Input and Output are the IPv6 octets (with their gigawords) when
	// HasOctets.
	Input, Output int64
	HasOctets     bool
}

// Any reports whether r carries an address or a prefix.
func (r IPv6Record) Any() bool { return r.Addr != "" || r.Prefix != "" || r.Delegated != "" }

// NetRange is the range of addresses that names the user's link: the
// Framed-IPv6-Prefix when there is one, else the /64 of the address (the
// prefix length of every SLAAC and DHCPv6 campus link). lo and hi are the
// range's first and last address as 32 lower-case hex digits, so that the
// store compares ranges as fixed-width text on SQLite and PostgreSQL alike;
// both are "" when r has neither.
func (r IPv6Record) NetRange() (lo, hi string) {
	if p, err := netip.ParsePrefix(r.Prefix); err == nil {
		return PrefixRange(p)
	}
	if a, err := netip.ParseAddr(r.Addr); err == nil && a.Is6() {
		p, _ := a.Prefix(64)
		return PrefixRange(p)
	}
	return "", ""
}

// DelegatedRange is NetRange of the delegated prefix.
func (r IPv6Record) DelegatedRange() (lo, hi string) {
	if p, err := netip.ParsePrefix(r.Delegated); err == nil {
		return PrefixRange(p)
	}
	return "", ""
}

// PrefixRange is the first and last address of an IPv6 prefix as 32 hex
// digits each; ("", "") for anything but a valid IPv6 prefix.
func PrefixRange(p netip.Prefix) (lo, hi string) {
	if !p.IsValid() || !p.Addr().Is6() || p.Addr().Is4In6() {
		return "", ""
	}
	p = p.Masked()
	first := p.Addr().As16()
	last := first
	for i := p.Bits(); i < 128; i++ {
		last[i/8] |= 0x80 >> (i % 8)
	}
	return hex.EncodeToString(first[:]), hex.EncodeToString(last[:])
}

// ParseIPv6Query reads what an operator asks a trace about: an IPv6
// address (a /128) or an IPv6 prefix, in any textual form.
func ParseIPv6Query(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if !p.Addr().Is6() || p.Addr().Is4In6() {
			return netip.Prefix{}, fmt.Errorf("%q is not an IPv6 prefix: %w", StripControl(s), ErrInvalid)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() || a.Is4In6() || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an IPv6 address or prefix: %w", StripControl(s), ErrInvalid)
	}
	return netip.PrefixFrom(a, 128), nil
}

// IPv6FromPrefixAndIfID is the address made of a /64 (or shorter)
// prefix's first 64 bits and a Framed-Interface-Id (RFC 3162 §2.1), or the
// zero Addr when p is longer than /64.
func IPv6FromPrefixAndIfID(p netip.Prefix, ifid [8]byte) netip.Addr {
	if !p.Addr().Is6() || p.Bits() > 64 {
		return netip.Addr{}
	}
	b := p.Masked().Addr().As16()
	copy(b[8:], ifid[:])
	return netip.AddrFrom16(b)
}

// FormatIfID writes an interface id as four groups of four hex digits.
func FormatIfID(ifid [8]byte) string {
	h := hex.EncodeToString(ifid[:])
	return h[0:4] + ":" + h[4:8] + ":" + h[8:12] + ":" + h[12:16]
}

// SetIPv6 records r's identifiers on s where r has them.
func (s *Session) SetIPv6(r IPv6Record) {
	if r.Addr != "" {
		s.IP6 = r.Addr
	}
	if r.Prefix != "" {
		s.IP6Prefix = r.Prefix
	}
	if r.IfID != "" {
		s.IP6IfID = r.IfID
	}
	if r.Delegated != "" {
		s.IP6Delegated = r.Delegated
	}
}

// IPv6Record is the session's IPv6 identifiers as a record (no counters).
func (s Session) IPv6Record() IPv6Record {
	return IPv6Record{Addr: s.IP6, Prefix: s.IP6Prefix, IfID: s.IP6IfID, Delegated: s.IP6Delegated}
}

// IPv6Text is the session's IPv6 side as people read it: the address (or,
// without one, the link's prefix), and a delegated prefix after it;
// "" when the session has none.
func (s Session) IPv6Text() string {
	a := s.IP6
	if a == "" {
		a = s.IP6Prefix
	}
	switch {
	case s.IP6Delegated == "":
		return a
	case a == "":
		return s.IP6Delegated
	}
	return a + " + " + s.IP6Delegated
}

// InputOctets4 and OutputOctets4 are IPv4Octets one at a time (for
// templates).
func (s Session) InputOctets4() int64 { in, _ := s.IPv4Octets(); return in }

// OutputOctets4: see InputOctets4.
func (s Session) OutputOctets4() int64 { _, out := s.IPv4Octets(); return out }
