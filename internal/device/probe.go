package device

import (
	"net"
	"net/http"
	"strings"
)

// IsProbeUA reports whether a User-Agent belongs to an operating system's
// connectivity probe or background HTTP stack rather than a person's browser:
//
//   - Android NetworkMonitor's fixed "X11; Linux x86_64 … Chrome/60.0.3112.32"
//     (a desktop-looking UA sent by every Android phone);
//   - Apple's "CaptiveNetworkSupport-… wispr" (iPhone, iPad and Mac alike);
//   - Windows' "Microsoft NCSI";
//   - "Dalvik/…", Android's system HTTP client, which some vendor ROMs use
//     for their probes and apps use for background traffic.
//
// The portal must not record a device class from such a request.
func IsProbeUA(ua string) bool {
	ua = strings.TrimSpace(ua)
	return isAOSPProbeUA(ua) ||
		strings.HasPrefix(ua, "CaptiveNetworkSupport") ||
		strings.HasPrefix(ua, "Microsoft NCSI") ||
		strings.HasPrefix(ua, "Dalvik/")
}

// IsProbe reports whether a request for host and path, with User-Agent ua,
// is an OS connectivity probe (docs/protocols.md#os-connectivity-probes)
// rather than a person at the login page. host may carry a port; matching
// ignores case.
//
// Probes are recognised by:
//   - a path ending in /generate_204, /gen_204 or /generate204, on any host
//     (Google's, and the many vendor copies: MIUI, Huawei/Honor, vivo,
//     ColorOS, g.cn);
//   - hosts that only serve probes: connectivitycheck.* ,
//     connect.rom.miui.com, wifi.vivo.com.cn, captive.apple.com,
//     detectportal.firefox.com, www.msftconnecttest.com,
//     ipv6.msftconnecttest.com, www.msftncsi.com — except
//     msftconnecttest.com/redirect, which is the user's browser being sent
//     to the portal by Windows;
//   - www.apple.com/library/test/success.html (older Apple probe);
//   - a probe User-Agent (IsProbeUA), whatever the host.
func IsProbe(host, path, ua string) bool {
	if IsProbeUA(ua) {
		return true
	}
	h := strings.ToLower(strings.TrimSpace(host))
	if hh, _, err := net.SplitHostPort(h); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(h, ".")
	p := strings.ToLower(strings.TrimSpace(path))
	if q := strings.IndexAny(p, "?#"); q >= 0 {
		p = p[:q]
	}
	p = strings.TrimRight(p, "/")

	for _, suffix := range [...]string{"/generate_204", "/gen_204", "/generate204"} {
		if strings.HasSuffix(p, suffix) {
			return true
		}
	}
	switch h {
	case "connect.rom.miui.com", "wifi.vivo.com.cn", "captive.apple.com",
		"detectportal.firefox.com", "www.msftncsi.com":
		return true
	case "www.msftconnecttest.com", "ipv6.msftconnecttest.com":
		return p != "/redirect"
	case "www.apple.com", "apple.com":
		return p == "/library/test/success.html"
	}
	return strings.HasPrefix(h, "connectivitycheck.")
}

// IsProbeRequest is IsProbe for an incoming request: its Host, URL path and
// User-Agent. A nil request is not a probe.
func IsProbeRequest(r *http.Request) bool {
	if r == nil {
		return false
	}
	path := ""
	if r.URL != nil {
		path = r.URL.Path
	}
	return IsProbe(r.Host, path, r.UserAgent())
}
