package radius

// The IPv6 attributes of Access-Requests and Accounting-Requests
// (docs/protocols.md#radius-and-ipv6).

import (
	"encoding/binary"
	"net/netip"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/campusnet/campusnet/internal/access"
)

// Attribute types of RFC 3162, RFC 4818 and RFC 6911.
const (
	attrFramedInterfaceID   = radius.Type(96)
	attrFramedIPv6Prefix    = radius.Type(97)
	attrDelegatedIPv6Prefix = radius.Type(123)
	attrFramedIPv6Address   = radius.Type(168)
)

// The IPv6 counters of Huawei (Vendor-Id 2011) and H3C (25506): the same
// sub-attribute numbers in both vendors' references and in FreeRADIUS's
// dictionary.huawei. Octets are the IPv6 part of the session's traffic,
// Gigawords the multiples of 2^32 above them.
const (
	vsaIPv6InputOctets     = 144
	vsaIPv6OutputOctets    = 145
	vsaIPv6InputGigawords  = 148
	vsaIPv6OutputGigawords = 149
)

// ipv6Of reads the IPv6 identifiers and counters of p. Malformed values
// are left out (the rest of the request still counts); an address comes
// from Framed-IPv6-Address, else from a /64-or-shorter Framed-IPv6-Prefix
// and Framed-Interface-Id together (RFC 3162 §2.1).
func ipv6Of(p *radius.Packet) access.IPv6Record {
	var r access.IPv6Record
	var prefix netip.Prefix
	var ifid [8]byte
	hasIfID := false
	var in, out, ing, outg uint32
	var hasIn, hasOut bool
	for _, avp := range p.Attributes {
		v := avp.Attribute
		switch avp.Type {
		case attrFramedIPv6Address:
			if a, ok := ipv6Addr(v); ok && r.Addr == "" {
				r.Addr = a.String()
			}
		case attrFramedIPv6Prefix:
			if pf, ok := ipv6Prefix(v); ok && !prefix.IsValid() {
				prefix = pf
				r.Prefix = pf.String()
			}
		case attrDelegatedIPv6Prefix:
			if pf, ok := ipv6Prefix(v); ok && r.Delegated == "" {
				r.Delegated = pf.String()
			}
		case attrFramedInterfaceID:
			if len(v) == 8 && !hasIfID {
				copy(ifid[:], v)
				hasIfID = true
				r.IfID = access.FormatIfID(ifid)
			}
		case rfc2865.VendorSpecific_Type:
			id, vsa, err := radius.VendorSpecific(v)
			if err != nil || (id != vendorHuawei && id != vendorH3C) {
				continue
			}
			// Vendor-Type(1) Vendor-Length(1) Value, possibly several.
			for len(vsa) >= 2 && int(vsa[1]) >= 2 && int(vsa[1]) <= len(vsa) {
				t, val := vsa[0], vsa[2:vsa[1]]
				vsa = vsa[vsa[1]:]
				if len(val) != 4 {
					continue
				}
				n := binary.BigEndian.Uint32(val)
				switch t {
				case vsaIPv6InputOctets:
					in, hasIn = n, true
				case vsaIPv6OutputOctets:
					out, hasOut = n, true
				case vsaIPv6InputGigawords:
					ing = n
				case vsaIPv6OutputGigawords:
					outg = n
				}
			}
		}
	}
	if r.Addr == "" && hasIfID && prefix.IsValid() {
		if a := access.IPv6FromPrefixAndIfID(prefix, ifid); a.IsValid() {
			r.Addr = a.String()
		}
	}
	if hasIn || hasOut {
		r.HasOctets = true
		r.Input = int64(ing)<<32 | int64(in)
		r.Output = int64(outg)<<32 | int64(out)
	}
	return r
}

// ipv6Addr reads a 16-byte IPv6 address that is a unicast address a user
// could hold (not an IPv4-mapped one, not unspecified, not multicast).
func ipv6Addr(v []byte) (netip.Addr, bool) {
	if len(v) != 16 {
		return netip.Addr{}, false
	}
	a := netip.AddrFrom16([16]byte(v))
	if a.Is4In6() || a.IsUnspecified() || a.IsMulticast() {
		return netip.Addr{}, false
	}
	return a, true
}

// ipv6Prefix reads an RFC 3162 prefix: Reserved(1) Prefix-Length(1) and
// the prefix's significant bytes (up to 16). Bits past the length are
// cleared rather than refused: some BASes send the whole address.
func ipv6Prefix(v []byte) (netip.Prefix, bool) {
	if len(v) < 2 || len(v) > 18 || v[1] > 128 || v[1] == 0 {
		return netip.Prefix{}, false
	}
	var b [16]byte
	copy(b[:], v[2:])
	a := netip.AddrFrom16(b)
	if a.Is4In6() {
		return netip.Prefix{}, false
	}
	p, err := a.Prefix(int(v[1]))
	if err != nil {
		return netip.Prefix{}, false
	}
	return p, true
}
