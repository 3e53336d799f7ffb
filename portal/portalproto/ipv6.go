package portalproto

import (
	"fmt"
	"net/netip"
	"strings"
)

// IPv6 users (docs/protocols.md#portal-ipv6). The header's UserIP field is
// four bytes, so a user's IPv6 address travels in an attribute, in one of
// two spellings:
//
//   - Huawei: User-IPv6 (0xF1), the 16-byte address (Len 18);
//   - H3C: UserIPv6-List (0x65), one or more 16-byte addresses (Len 2 +
//     16n), with BAS-IPv6 (0x64, 16 bytes) for a BAS known by IPv6.
//
// A dual-stack user has both the IPv4 header field and the attribute; an
// IPv6-only user has UserIP 0.0.0.0 and the attribute alone.

// IPv6Style is how a BAS wants the user's IPv6 address spelt.
type IPv6Style uint8

// IPv6 attribute styles.
const (
	IPv6Huawei IPv6Style = iota // User-IPv6 0xF1 (the default)
	IPv6H3C                     // UserIPv6-List 0x65
)

// ParseIPv6Style reads "huawei" (or "") and "h3c".
func ParseIPv6Style(s string) (IPv6Style, error) {
	switch strings.ToLower(s) {
	case "", "huawei":
		return IPv6Huawei, nil
	case "h3c":
		return IPv6H3C, nil
	}
	return 0, fmt.Errorf("portalproto: IPv6 attribute style %q, want huawei or h3c", s)
}

func (s IPv6Style) String() string {
	if s == IPv6H3C {
		return "h3c"
	}
	return "huawei"
}

// User names a user to the BAS: the IPv4 address of the header, the IPv6
// address of the IPv6 attribute, or both (dual stack), and the MAC
// ("aa:bb:cc:dd:ee:ff" or any form net.ParseMAC takes; "" leaves UserMac
// out).
type User struct {
	IP   netip.Addr // IPv4, or the zero Addr for an IPv6-only user
	IPv6 netip.Addr // IPv6, or the zero Addr
	MAC  string
}

// check normalises u: an IPv6 address given as IP moves to IPv6, an
// IPv4-mapped one to IP, and at least one address must be left.
func (u User) check() (User, error) {
	ip, ip6 := u.IP.Unmap(), u.IPv6
	if ip.Is6() {
		if ip6.IsValid() && ip6 != ip {
			return u, fmt.Errorf("%w: two IPv6 addresses %v and %v", ErrInvalidPacket, ip, ip6)
		}
		ip, ip6 = netip.Addr{}, ip
	}
	if ip6.Is4In6() {
		if ip.IsValid() {
			return u, fmt.Errorf("%w: IPv6 address %v is IPv4", ErrInvalidPacket, ip6)
		}
		ip, ip6 = ip6.Unmap(), netip.Addr{}
	}
	if ip6.IsValid() && (ip6.Zone() != "" || ip6.IsUnspecified() || ip6.IsMulticast()) {
		return u, fmt.Errorf("%w: user IPv6 address %v", ErrInvalidPacket, u.IPv6)
	}
	if ip.IsValid() && ip.IsUnspecified() {
		ip = netip.Addr{}
	}
	if !ip.IsValid() && !ip6.IsValid() {
		return u, fmt.Errorf("%w: no user address", ErrInvalidPacket)
	}
	u.IP, u.IPv6 = ip, ip6
	return u, nil
}

// headerIP is what goes in the header: the IPv4 address, or 0.0.0.0.
func (u User) headerIP() netip.Addr {
	if u.IP.IsValid() {
		return u.IP
	}
	return netip.IPv4Unspecified()
}

// Key is one address that names the user: the IPv4 address when there is
// one, else the IPv6 address.
func (u User) Key() netip.Addr {
	if u.IP.IsValid() {
		return u.IP
	}
	return u.IPv6
}

// AddUserIPv6 adds a user's IPv6 address in style s.
func (p *Packet) AddUserIPv6(s IPv6Style, a netip.Addr) {
	if !a.Is6() {
		return
	}
	b := a.As16()
	if s == IPv6H3C {
		p.AddAttr(AttrUserIPv6List, b[:])
		return
	}
	p.AddAttr(AttrUserIPv6, b[:])
}

// UserIPv6 returns the user's IPv6 address: the Huawei User-IPv6
// attribute, else the first address of H3C's UserIPv6-List. A value of
// the wrong length, an IPv4-mapped or unspecified address is ignored.
func (p *Packet) UserIPv6() (netip.Addr, bool) {
	if v, ok := p.Attr(AttrUserIPv6); ok && len(v) == 16 {
		if a := netip.AddrFrom16([16]byte(v)); usableIPv6(a) {
			return a, true
		}
	}
	if v, ok := p.Attr(AttrUserIPv6List); ok && len(v) >= 16 && len(v)%16 == 0 {
		if a := netip.AddrFrom16([16]byte(v[:16])); usableIPv6(a) {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// UserIPv6Style reports which attribute carried the IPv6 address (for
// answering in the style asked).
func (p *Packet) UserIPv6Style() IPv6Style {
	if _, ok := p.Attr(AttrUserIPv6); ok {
		return IPv6Huawei
	}
	if _, ok := p.Attr(AttrUserIPv6List); ok {
		return IPv6H3C
	}
	return IPv6Huawei
}

// BASIPv6 returns H3C's BAS-IPv6 attribute, if the packet carries a valid
// one.
func (p *Packet) BASIPv6() (netip.Addr, bool) {
	v, ok := p.Attr(AttrBASIPv6)
	if !ok || len(v) != 16 {
		return netip.Addr{}, false
	}
	a := netip.AddrFrom16([16]byte(v))
	if a.Is4In6() || a.IsUnspecified() {
		return netip.Addr{}, false
	}
	return a, true
}

// PacketUser is the user a packet names: the header's IPv4 address (unless
// 0.0.0.0), the IPv6 attribute, and UserMac.
func PacketUser(p *Packet) User {
	u := User{MAC: macOf(p)}
	if ip := p.UserIP.Unmap(); ip.IsValid() && !ip.IsUnspecified() {
		u.IP = ip
	}
	if a, ok := p.UserIPv6(); ok {
		u.IPv6 = a
	}
	return u
}

func usableIPv6(a netip.Addr) bool {
	return a.Is6() && !a.Is4In6() && !a.IsUnspecified() && !a.IsMulticast()
}
