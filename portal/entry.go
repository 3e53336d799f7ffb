package portal

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/portal/portalproto"
)

// The redirect parameters of the BAS vendors (docs/design.md#the-login).
// The first name of each list is the one the portal's own forms use.
var (
	paramUserIP = []string{"userip", "wlanuserip", "ip", "user-ip", "clientip"}
	// A dual-stack user's IPv6 address beside the IPv4 one (an IPv6-only
	// user's address may come in paramUserIP).
	paramUserIP6 = []string{"userip6", "wlanuseripv6", "useripv6", "userv6ip", "ipv6"}
	paramNASName = []string{"nasname", "wlanacname", "acname", "nas"}
	paramNASIP   = []string{"nasip", "wlanacip", "acip"}
	paramMAC     = []string{"usermac", "wlanusermac", "mac", "clientmac"}
	paramURL     = []string{"url", "wlanuserfirsturl", "userurl", "redirect"}
	paramSSID    = []string{"ssid"}
)

// Bounds on what a query may carry; longer values are cut or refused.
const (
	maxParamLen = 256
	maxURLLen   = 1024
	maxSSIDLen  = 64
)

// entry is where a person came from: which address, which BAS, which device.
type entry struct {
	// UserIP is the address the BAS knows the user by: IPv4, or IPv6 for
	// an IPv6-only user. UserIPv6 is a dual-stack user's IPv6 address.
	UserIP   netip.Addr
	UserIPv6 netip.Addr
	NAS      *nasClient
	MAC      string // canonical, or ""
	URL      string // the page the person first asked for (http/https only), or ""
	SSID     string
	ByHand   bool // no redirect parameters: the source address decided
}

// entryProblem says why an entry cannot lead to a login.
type entryProblem struct {
	Kind   string // "bad-ip", "unknown-nas", "unknown-address", "no-portal"
	Detail string // what was given (escaped by the template)
}

// first returns the first non-empty value of the names, cut to max bytes
// (on a rune boundary) and trimmed.
func first(q url.Values, names []string, max int) string {
	for _, n := range names {
		if v := strings.TrimSpace(q.Get(n)); v != "" {
			return cut(v, max)
		}
	}
	return ""
}

// firstText is first for a value shown back to the person: control
// characters and invalid UTF-8 are removed before the spaces they exposed
// are trimmed, and again after the cut, so the value reads back the same
// from the portal's own form fields.
func firstText(q url.Values, names []string, max int) string {
	for _, n := range names {
		if v := strings.TrimSpace(cleanText(q.Get(n))); v != "" {
			return strings.TrimSpace(cut(v, max))
		}
	}
	return ""
}

func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// sourceAddr is the request's remote address. X-Forwarded-For is not
// trusted: the portal is reached directly through the BAS.
func sourceAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// resolveEntry finds the user's address, BAS and MAC from the redirect
// parameters in q, or from the source address when there are none.
func (p *Portal) resolveEntry(q url.Values, src netip.Addr) (entry, *entryProblem) {
	var e entry
	e.URL = safeURL(first(q, paramURL, maxURLLen))
	e.SSID = firstText(q, paramSSID, maxSSIDLen)
	if m := first(q, paramMAC, maxParamLen); m != "" {
		if mac, err := access.NormalizeMAC(m); err == nil {
			e.MAC = mac
		}
		// A MAC the portal cannot read is left out rather than refused:
		// the BAS knows the device anyway.
	}
	ipText := first(q, paramUserIP, maxParamLen)
	if ipText != "" {
		ip, err := netip.ParseAddr(ipText)
		if err != nil || !userAddr(ip.Unmap()) {
			return e, &entryProblem{Kind: "bad-ip", Detail: cleanText(ipText)}
		}
		e.UserIP = ip.Unmap()
	} else {
		e.UserIP = src
		e.ByHand = true
	}
	if v6 := first(q, paramUserIP6, maxParamLen); v6 != "" {
		ip, err := netip.ParseAddr(v6)
		if err != nil || !ip.Is6() || ip.Is4In6() || !userAddr(ip) {
			return e, &entryProblem{Kind: "bad-ip", Detail: cleanText(v6)}
		}
		if e.UserIP.Is6() && ip != e.UserIP {
			return e, &entryProblem{Kind: "bad-ip", Detail: cleanText(v6)}
		}
		if e.UserIP.Is4() {
			e.UserIPv6 = ip
		}
	}
	if name := first(q, paramNASName, maxParamLen); name != "" {
		e.NAS = p.byName[strings.ToLower(name)]
		if e.NAS == nil {
			return e, &entryProblem{Kind: "unknown-nas", Detail: cleanText(name)}
		}
	} else if ipText := first(q, paramNASIP, maxParamLen); ipText != "" {
		if ip, err := netip.ParseAddr(ipText); err == nil {
			e.NAS = p.nasByIP(ip)
		}
		if e.NAS == nil {
			return e, &entryProblem{Kind: "unknown-nas", Detail: cleanText(ipText)}
		}
	}
	if e.NAS == nil {
		if !e.UserIP.IsValid() {
			return e, &entryProblem{Kind: "unknown-address", Detail: ""}
		}
		e.NAS = p.nasFor(e.UserIP)
		if e.NAS == nil {
			return e, &entryProblem{Kind: "unknown-address", Detail: e.UserIP.String()}
		}
	}
	if !userAddr(e.UserIP) {
		return e, &entryProblem{Kind: "bad-ip", Detail: e.UserIP.String()}
	}
	// A dual-stack user whose redirect named the IPv4 address and whose
	// request came over IPv6 from the same BAS's IPv6 subnet: the source is
	// the user's IPv6 address, sent to the BAS beside the IPv4 one.
	if e.UserIP.Is4() && !e.UserIPv6.IsValid() && src.Is6() && !src.Is4In6() && userAddr(src) && p.nasFor(src) == e.NAS {
		e.UserIPv6 = src
	}
	if e.NAS.client == nil {
		return e, &entryProblem{Kind: "no-portal", Detail: e.NAS.Name}
	}
	return e, nil
}

// userAddr reports whether a is an address a user could have: IPv4, or a
// global or unique-local IPv6 address (not link-local, which needs a zone,
// not multicast or unspecified). IPv6 loopback counts, for tests and the
// demo on [::1].
func userAddr(a netip.Addr) bool {
	if a.Is4() {
		return true
	}
	return a.Is6() && a.Zone() == "" && !a.IsUnspecified() && !a.IsMulticast() && !a.IsLinkLocalUnicast()
}

// user is the entry as the Portal protocol names the user.
func (e entry) user() portalproto.User {
	if e.UserIP.Is6() {
		return portalproto.User{IPv6: e.UserIP, MAC: e.MAC}
	}
	return portalproto.User{IP: e.UserIP, IPv6: e.UserIPv6, MAC: e.MAC}
}

// query gives the entry back as the portal's own parameters, for forms and
// links that must come back to the same place.
func (e entry) query() url.Values {
	q := url.Values{}
	if !e.ByHand && e.UserIP.IsValid() {
		q.Set("userip", e.UserIP.String())
	}
	if e.UserIPv6.IsValid() && !e.ByHand {
		q.Set("userip6", e.UserIPv6.String())
	}
	if e.NAS != nil && !e.ByHand {
		q.Set("nasname", e.NAS.Name)
	}
	if e.MAC != "" {
		q.Set("usermac", e.MAC)
	}
	if e.URL != "" {
		q.Set("url", e.URL)
	}
	if e.SSID != "" {
		q.Set("ssid", e.SSID)
	}
	return q
}

// safeURL keeps an absolute http(s) URL (the "continue to" link) and drops
// anything else (javascript:, data:, relative paths).
func safeURL(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	return u.String()
}

// cleanText drops control characters and invalid UTF-8 from a value that
// is shown back to the person (the templates escape HTML).
func cleanText(s string) string {
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}
