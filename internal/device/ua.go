package device

import (
	"fmt"
	"strings"

	"github.com/campusnet/campusnet/internal/access"
)

// uaInfo holds what the rules need from a User-Agent, computed once.
type uaInfo struct {
	raw      string
	platform string // the first parenthesised section, e.g. "X11; Linux x86_64"

	phoneOS       bool // names a phone/tablet OS: iPhone, iPad, Android, Windows Phone…
	desktopOS     bool // names a desktop OS: Windows NT, Macintosh, X11, CrOS…
	claimsDesktop bool // desktopOS and not phoneOS: what desktop mode looks like
	cros          bool
	// armLinuxDesktop: an X11/Wayland UA that admits an ARM CPU. Desktop mode
	// on Android claims x86_64, so an honest ARM UA is a Linux computer
	// (Raspberry Pi, Asahi) or a Linux phone.
	armLinuxDesktop bool
	probe           bool // an OS connectivity probe or background client (IsProbeUA)
	aospProbe       bool // Android NetworkMonitor's fixed UA
}

func parseUA(s string) uaInfo {
	u := uaInfo{raw: strings.TrimSpace(s)}
	if u.raw == "" {
		return u
	}
	if open := strings.IndexByte(u.raw, '('); open >= 0 {
		rest := u.raw[open+1:]
		if end := strings.IndexByte(rest, ')'); end >= 0 {
			u.platform = strings.TrimSpace(rest[:end])
		} else {
			u.platform = strings.TrimSpace(rest)
		}
	}
	r := u.raw
	u.phoneOS = containsAny(r, "iPhone", "iPad", "iPod", "Android", "Windows Phone", "Windows Mobile", "Lumia", "IEMobile")
	u.cros = strings.Contains(r, "CrOS")
	u.desktopOS = isWindowsDesktopUA(r) || strings.Contains(r, "Macintosh") || u.cros ||
		containsAny(r, "X11", "Wayland", "Linux x86_64", "Linux i686")
	u.claimsDesktop = u.desktopOS && !u.phoneOS
	u.armLinuxDesktop = !u.cros && containsAny(r, "X11", "Wayland") &&
		containsAny(u.platform, "arm", "aarch64")
	u.aospProbe = isAOSPProbeUA(r)
	u.probe = IsProbeUA(r)
	return u
}

// vendorToken is a browser or app token that only ships on phones and
// tablets. Phone browsers keep it when they switch to desktop mode, so it
// betrays a phone behind a desktop UA.
type vendorToken struct {
	token, what string
	// notWithWindows: the vendor also ships a Windows build carrying the
	// same token (Samsung Internet for PC, Huawei Browser on HarmonyOS PC).
	notWithWindows bool
}

// vendorTokens returns the phone-only vendor tokens (a function, not a
// package variable, so nothing at package level can be changed).
func vendorTokens() []vendorToken {
	return []vendorToken{
		{"MiuiBrowser", "Xiaomi's phone browser", false},
		{"HeyTapBrowser", "OPPO/HeyTap's phone browser", false},
		{"OppoBrowser", "OPPO's phone browser", false},
		{"VivoBrowser", "vivo's phone browser", false},
		{"UCBrowser", "UC's phone browser (UC for PC says UBrowser)", false},
		{"UCWEB", "UC's phone browser", false},
		{"Quark/", "Quark's phone browser (Quark for PC says QuarkPC)", false},
		{"360 Aphone", "360's Android browser", false},
		{"MQQBrowser", "QQ's phone browser (QQ for PC says QQBrowser)", false},
		{"MZBrowser", "Meizu's phone browser", false},
		{"Silk/", "Amazon's Fire tablet browser", false},
		{"OculusBrowser", "Meta Quest's headset browser", false},
		{"baiduboxapp", "the Baidu phone app", false},
		{"SamsungBrowser", "Samsung's phone browser", true},
		{"HuaweiBrowser", "Huawei's phone browser", true},
	}
}

// specificEvidence: tokens that name a phone OS, a phone-only vendor, a probe,
// or a computer in a way a phone does not copy. They outrank screen hints.
func (u uaInfo) specificEvidence() []evidence {
	r := u.raw
	if r == "" {
		return nil
	}
	var ev []evidence
	add := func(c access.Class, conf, format string, args ...any) {
		ev = append(ev, evidence{tierUASpecific, c, conf, fmt.Sprintf(format, args...), ""})
	}

	switch {
	case u.aospProbe:
		add(Mobile, ConfidenceMedium, "UA is the fixed one Android's NetworkMonitor sends when probing for a captive portal (an Android device, but a probe, not a browser)")
		return ev
	case strings.Contains(r, "CaptiveNetworkSupport"):
		add(Unknown, "", "UA is Apple's captive-network probe (CaptiveNetworkSupport): iPhones, iPads and Macs all send it")
		return ev
	case strings.HasPrefix(r, "Microsoft NCSI"):
		add(PC, ConfidenceHigh, "UA is Windows' connectivity probe (Microsoft NCSI), which only Windows sends")
		return ev
	}

	skipPhoneOS := false
	if strings.Contains(r, "OpenHarmony") {
		switch kind := openHarmonyKind(u.platform); kind {
		case "PC", "2in1":
			add(PC, ConfidenceHigh, "UA says OpenHarmony %s: a HarmonyOS computer", kind)
			skipPhoneOS = true
		case "Phone", "Tablet", "Wearable", "Watch":
			add(Mobile, ConfidenceHigh, "UA says OpenHarmony %s", kind)
		}
	}
	if strings.Contains(r, "Android") {
		switch {
		case strings.Contains(r, "CrosArc"), strings.Contains(r, "Chromebook"):
			add(PC, ConfidenceHigh, "UA is an Android app on a Chromebook (Android and Chromebook/CrosArc tokens)")
			skipPhoneOS = true
		case chromeOSBuild(r):
			add(PC, ConfidenceHigh, "UA is an Android app on a Chromebook (Android with a ChromeOS build id Build/R…)")
			skipPhoneOS = true
		}
	}
	if strings.Contains(r, "Darwin/") && !containsAny(r, "iPhone", "iPad", "iPod") &&
		containsAny(r, "x86_64", "MacBook", "iMac", "Macmini", "MacPro", "Macintosh") {
		add(PC, ConfidenceHigh, "UA is macOS's system HTTP client (CFNetwork on a Mac)")
	}

	if !skipPhoneOS {
		u.phoneOSEvidence(add)
	}

	for _, v := range vendorTokens() {
		if !strings.Contains(r, v.token) {
			continue
		}
		name := strings.TrimSuffix(v.token, "/")
		if v.notWithWindows && (isWindowsDesktopUA(r) || skipPhoneOS) {
			add(Unknown, "", "%s alongside a Windows/PC platform is the vendor's PC build", name)
			continue
		}
		if u.claimsDesktop {
			add(Mobile, ConfidenceMedium, "UA has %s, %s, although it claims a computer (desktop mode)", name, v.what)
		} else {
			add(Mobile, ConfidenceHigh, "UA has %s, %s", name, v.what)
		}
	}
	return ev
}

func (u uaInfo) phoneOSEvidence(add func(c access.Class, conf, format string, args ...any)) {
	r := u.raw
	android := strings.Contains(r, "Android")
	switch {
	case strings.Contains(r, "iPhone"):
		add(Mobile, ConfidenceHigh, "UA says iPhone")
	case strings.Contains(r, "iPod"):
		add(Mobile, ConfidenceHigh, "UA says iPod")
	case strings.Contains(r, "iPad"):
		add(Mobile, ConfidenceHigh, "UA says iPad")
	case containsAny(r, "Windows Phone", "Windows Mobile", "IEMobile", "Lumia"):
		add(Mobile, ConfidenceHigh, "UA says Windows Phone/Lumia (a phone, although it may say Windows NT)")
	case android && strings.Contains(r, "Mobile"):
		add(Mobile, ConfidenceHigh, "UA says Android with the Mobile token (phone)")
	case android:
		add(Mobile, ConfidenceHigh, "UA says Android (no Mobile token: a tablet, foldable, watch or system client)")
	case containsAny(r, "BlackBerry", "BB10", "Symbian", "MIDP", "Nokia"):
		add(Mobile, ConfidenceHigh, "UA names a handset platform (BlackBerry/Symbian/MIDP)")
	case strings.Contains(r, "Macintosh") && strings.Contains(r, "Mobile/"):
		add(Mobile, ConfidenceMedium, "UA says Macintosh but carries Mobile/…, which only iPad and iPhone WebViews send")
	case strings.Contains(r, "Macintosh") && hasWord(r, "iOS"):
		add(Mobile, ConfidenceMedium, "UA says Macintosh but names iOS: an iPad app's WebView")
	case hasWord(r, "Mobile"):
		add(Mobile, ConfidenceHigh, "UA has the Mobile token")
	}
	if !android && strings.Contains(r, "Build/") {
		add(Mobile, ConfidenceMedium, "UA carries an Android build id (Build/…) although it does not say Android")
	}
	if u.claimsDesktop && strings.Contains(u.platform, "HTC") {
		add(Mobile, ConfidenceMedium, "UA names an HTC handset inside a desktop platform (desktop mode)")
	}
}

// genericEvidence: the UA's desktop platform, and weak shapes. A phone in
// desktop mode sends exactly these, so they rank below the page's hints.
func (u uaInfo) genericEvidence() []evidence {
	r := u.raw
	if r == "" || u.aospProbe || strings.Contains(r, "CaptiveNetworkSupport") || strings.HasPrefix(r, "Microsoft NCSI") {
		return nil
	}
	var ev []evidence
	add := func(c access.Class, conf, format string, args ...any) {
		ev = append(ev, evidence{tierUAGeneric, c, conf, fmt.Sprintf(format, args...), ""})
	}
	if u.claimsDesktop {
		if major := chromeMajor(r); strings.Contains(r, "Windows; U;") && major >= 30 {
			add(Mobile, ConfidenceLow, "UA claims Windows in the old \"Windows; U;\" form next to Chrome %d, which no real Chrome sent: the desktop-mode identity of UC/Quark/vivo phone browsers", major)
		}
		switch {
		case isWindowsDesktopUA(r) && hasWord(r, "Touch"):
			add(PC, ConfidenceMedium, "UA says Windows NT with Touch (desktop): a Windows tablet or 2-in-1, which counts as pc")
		case isWindowsDesktopUA(r):
			add(PC, ConfidenceHigh, "UA says Windows NT (desktop)")
		case u.cros:
			add(PC, ConfidenceHigh, "UA says CrOS (Chromebook)")
		case strings.Contains(r, "Macintosh"):
			if strings.Contains(r, "AppleWebKit/605") && !containsAny(r, "Chrome/", "Firefox/", "Edg/", "OPR/") {
				add(PC, ConfidenceLow, "UA says Macintosh Safari (desktop); iPadOS 13+ Safari sends the same UA")
			} else {
				add(PC, ConfidenceHigh, "UA says Macintosh (desktop)")
			}
		default:
			if isPlainX11(u.platform) {
				add(PC, ConfidenceLow, "UA says X11 Linux (desktop); Android Chrome \"desktop site\" and Firefox on tablets send the same UA")
			} else {
				add(PC, ConfidenceMedium, "UA says X11/Wayland Linux (desktop)")
			}
		}
		return ev
	}
	if u.phoneOS {
		return nil
	}
	lr := strings.ToLower(r)
	switch {
	case containsAny(lr, "curl/", "libcurl", "wget/"):
		add(PC, ConfidenceLow, "UA is a command-line HTTP client (curl/Wget): usually a computer")
	case strings.HasPrefix(lr, "okhttp"):
		add(Mobile, ConfidenceLow, "UA is okhttp, mostly used by Android apps (also by Java programs)")
	case containsAny(r, "FreeBSD", "OpenBSD", "NetBSD", "SunOS"):
		add(PC, ConfidenceMedium, "UA names a BSD/Unix desktop OS")
	}
	return ev
}

// isWindowsDesktopUA: a Windows platform token that is not Windows Phone.
func isWindowsDesktopUA(r string) bool {
	if containsAny(r, "Windows Phone", "Windows Mobile", "Windows CE") {
		return false
	}
	return containsAny(r, "Windows NT", "Windows; U;", "Win64", "WOW64", "Windows 98", "Windows 95", "Windows XP", "Win98")
}

// isPlainX11 reports the exact platform section Android "desktop site" and
// Firefox on tablets send: "X11; Linux x86_64", optionally with "; rv:N".
func isPlainX11(platform string) bool {
	rest, ok := strings.CutPrefix(platform, "X11; Linux x86_64")
	if !ok {
		return false
	}
	if rest == "" {
		return true
	}
	rv, ok := strings.CutPrefix(rest, "; rv:")
	return ok && !strings.Contains(rv, ";")
}

// isAOSPProbeUA: Android's NetworkMonitor sends this fixed UA (a desktop
// Linux Chrome 60 that never shipped as such) with every generate_204 probe.
func isAOSPProbeUA(r string) bool {
	return strings.Contains(r, "X11; Linux x86_64") && strings.Contains(r, "Chrome/60.0.3112.32 ")
}

// openHarmonyKind returns the device-type field of an OpenHarmony UA
// platform section: "(PC; OpenHarmony 6.1; …)", "(2in1;OpenHarmony-6.0;…)",
// "(Phone; OpenHarmony 5.0)".
func openHarmonyKind(platform string) string {
	for f := range strings.SplitSeq(platform, ";") {
		f = strings.TrimSpace(f)
		for _, k := range [...]string{"PC", "2in1", "Phone", "Tablet", "Wearable", "Watch"} {
			if strings.EqualFold(f, k) {
				return k
			}
		}
	}
	return ""
}

// chromeOSBuild finds "Build/R<digits>-", the build id of ChromeOS releases
// that Android apps on Chromebooks report.
func chromeOSBuild(r string) bool {
	for rest := r; ; {
		i := strings.Index(rest, "Build/R")
		if i < 0 {
			return false
		}
		rest = rest[i+len("Build/R"):]
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n > 0 && n < len(rest) && rest[n] == '-' {
			return true
		}
	}
}

// chromeMajor returns the major version after "Chrome/", or 0.
func chromeMajor(r string) int {
	_, rest, ok := strings.Cut(r, "Chrome/")
	if !ok {
		return 0
	}
	n := 0
	for i := 0; i < len(rest) && i < 6 && rest[i] >= '0' && rest[i] <= '9'; i++ {
		n = n*10 + int(rest[i]-'0')
	}
	return n
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// hasWord reports whether w occurs in s with no letter or digit on either
// side, so "iOS" matches "Schoology iOS v2" but not "CriOS".
func hasWord(s, w string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], w)
		if i < 0 {
			return false
		}
		start, end := off+i, off+i+len(w)
		if (start == 0 || !isAlnum(s[start-1])) && (end == len(s) || !isAlnum(s[end])) {
			return true
		}
		off = start + 1
	}
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
