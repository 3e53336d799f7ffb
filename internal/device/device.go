package device

import (
	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/i18n"

	"fmt"
	"slices"
	"strings"
)

// The device classes (access.Class), by their short names here. Unknown
// means no signal was good enough; the area decides how it counts, and the
// portal may ask.
const (
	PC      = access.ClassPC
	Mobile  = access.ClassMobile
	Unknown = access.ClassUnknown
)

// Confidence values of a Decision.
const (
	// ConfidenceHigh: an operator override, a client hint, an unambiguous
	// page hint or an unambiguous User-Agent token decided.
	ConfidenceHigh = "high"
	// ConfidenceMedium: a vendor token contradicting the UA's own platform,
	// screen and touch hints, or a UA shape that is rarely borrowed.
	ConfidenceMedium = "medium"
	// ConfidenceLow: a UA shape that phones are known to send too, a
	// command-line client, or only a randomised MAC.
	ConfidenceLow = "low"
	// ConfidenceNone goes with Unknown: nothing decided.
	ConfidenceNone = "none"
)

// Signals is everything the portal knows about a device when it logs in.
// Zero values mean "not reported", except MaxTouchPoints, where the page
// script's 0 means "no touch screen": set it to -1 when the page did not run.
// Touch points alone never decide; they only qualify Platform and the screen.
type Signals struct {
	// UserAgent is the User-Agent header of the login request.
	UserAgent string
	// CHUAMobile is the Sec-CH-UA-Mobile header: "?1", "?0" or "".
	// Chromium sends it only to secure origins.
	CHUAMobile string
	// CHUAPlatform is the Sec-CH-UA-Platform header, e.g. `"Android"`
	// (quotes optional).
	CHUAPlatform string
	// Platform is navigator.platform from the login page, e.g.
	// "Linux armv8l", "iPhone", "MacIntel", "Win32".
	Platform string
	// MaxTouchPoints is navigator.maxTouchPoints; -1 when unknown.
	MaxTouchPoints int
	// ScreenW and ScreenH are screen.width and screen.height in CSS pixels;
	// 0 when unknown.
	ScreenW, ScreenH int
	// UADataMobile is navigator.userAgentData.mobile: "true", "false" or "".
	UADataMobile string
	// MAC is the device's MAC address in any common notation.
	MAC string
	// Override is an operator's decision for this device; "" or Unknown
	// when there is none.
	Override access.Class
}

// Decision is the outcome of Classify.
type Decision struct {
	Class access.Class
	// Reasons are human-readable, strongest first. The first reason decided;
	// the following plain ones agree. Reasons starting with "overruled: "
	// pointed the other way and lost; "note: " ones decided nothing.
	Reasons []string
	// DesktopMode: the User-Agent claims a computer but the device was found
	// to be a phone or tablet — the FAQ's desktop-mode case (including iPads,
	// whose Safari asks for desktop sites by default).
	DesktopMode bool
	// Confidence is one of the Confidence* constants.
	Confidence string
	// Decided are the kinds of signal (the Signal* constants) that gave
	// Class, the decider first; Against are the kinds that pointed the other
	// way and ranked lower. A pc with a phone kind in Against is a computer
	// "against the evidence of a phone": the refusal page lists both.
	Decided, Against []string
}

// The kinds of signal a Decision names in Decided and Against. Each has a
// catalogue message "device.signal.<kind>" (SignalMessage) for the pages.
const (
	SignalOverride           = "override"             // an operator's class for the MAC
	SignalCHPhone            = "ch-phone"             // Sec-CH-UA-Platform Android/iOS, ?1, userAgentData.mobile true
	SignalPlatformPhone      = "platform-phone"       // navigator.platform iPhone, iPad, Android, ARM Linux with touch
	SignalPlatformAppleTouch = "platform-apple-touch" // MacIntel with touch points: iPad, or iPhone asking for desktop sites
	SignalPlatformComputer   = "platform-computer"    // Win32, MacIntel without touch, x86 Linux without touch, Chromebook
	SignalUAPhone            = "ua-phone"             // the UA names a phone OS or a phone-only browser
	SignalUAComputer         = "ua-computer"          // the UA names a computer in a way phones do not copy
	SignalScreenSmallTouch   = "screen-small-touch"   // a touch screen with a short side of at most 600 CSS px
	SignalScreenLarge        = "screen-large"         // no touch and a larger screen
	SignalCHPlatformDesktop  = "ch-platform-desktop"  // Sec-CH-UA-Platform Windows/macOS/Linux/Chrome OS
	SignalCHMobileNo         = "ch-mobile-no"         // Sec-CH-UA-Mobile ?0, userAgentData.mobile false
	SignalUADesktop          = "ua-desktop"           // the UA's desktop platform: Windows NT, Macintosh, X11, CrOS
	SignalMACRandom          = "mac-random"           // a locally administered (randomised) MAC
)

// isPhoneKind: the Signal kinds that point to a phone or tablet.
func isPhoneKind(k string) bool {
	switch k {
	case SignalCHPhone, SignalPlatformPhone, SignalPlatformAppleTouch, SignalUAPhone, SignalScreenSmallTouch, SignalMACRandom:
		return true
	}
	return false
}

// PhoneEvidence reports whether a pc decision overruled signs of a phone
// or tablet: Against names a kind only phones show.
func (d Decision) PhoneEvidence() bool {
	if d.Class != PC {
		return false
	}
	for _, k := range d.Against {
		if isPhoneKind(k) {
			return true
		}
	}
	return false
}

// Prefixes of Reasons that did not decide.
const (
	overruledPrefix = "overruled: "
	notePrefix      = "note: "
)

// tier orders the evidence, strongest first. Evidence of a stronger tier
// decides; weaker tiers are kept as agreeing or overruled reasons.
type tier int

const (
	tierOverride     tier = iota // the operator said so
	tierClientHints              // Sec-CH-UA-*, navigator.userAgentData
	tierPlatform                 // navigator.platform, qualified by touch points
	tierUASpecific               // UA tokens that name a phone OS, vendor or probe
	tierScreen                   // screen size and touch
	tierDesktopHints             // Sec-CH-UA-Platform Windows/macOS/Linux, "?0": desktop mode rewrites these
	tierUAGeneric                // UA desktop platform tokens and weak shapes
	tierMAC                      // a locally administered MAC
)

// evidence is one signal's verdict. Class Unknown marks a note.
type evidence struct {
	tier  tier
	class access.Class
	conf  string
	text  string
	// sig is the kind of signal (Signal*); "" takes the tier's kind.
	sig string
}

// kind is e's Signal* kind.
func (e evidence) kind() string {
	if e.sig != "" {
		return e.sig
	}
	switch e.tier {
	case tierOverride:
		return SignalOverride
	case tierUASpecific:
		if e.class == PC {
			return SignalUAComputer
		}
		return SignalUAPhone
	case tierUAGeneric:
		if e.class == PC {
			return SignalUADesktop
		}
		return SignalUAPhone
	}
	return ""
}

// Classify decides a device's class from its signals. It never fails: with
// nothing to go on it returns Unknown with ConfidenceNone.
//
// Order, strongest first: Override; the client hints that say phone
// (Sec-CH-UA-Platform Android/iOS, Sec-CH-UA-Mobile ?1, userAgentData.mobile
// true) and Sec-CH-UA-Platform "Chrome OS"; navigator.platform
// (iPhone/iPad/Android/ARM Linux with touch → mobile, MacIntel with touch →
// iPad or iPhone, MacIntel without touch, Win32, x86 Linux without touch, a
// CrOS UA → pc); UA tokens that name a phone OS or a phone-only vendor
// browser (these beat a desktop platform in the same UA); a small touch
// screen (→ mobile) or a large screen without touch (→ pc); the hints
// desktop mode rewrites (Sec-CH-UA-Platform Windows/macOS/Linux, ?0,
// userAgentData.mobile false → pc); the UA's desktop platform (Windows NT,
// Macintosh, X11, CrOS); last, a locally administered MAC, which only
// decides when nothing else did.
func Classify(s Signals) Decision {
	ua := parseUA(s.UserAgent)

	uaSpecific, uaGeneric := ua.specificEvidence(), ua.genericEvidence()
	if ua.raw != "" && len(uaSpecific)+len(uaGeneric) == 0 {
		uaGeneric = append(uaGeneric, evidence{tierUAGeneric, Unknown, "", "the User-Agent names no platform the rules know", ""})
	}

	var ev []evidence
	ev = append(ev, overrideEvidence(s)...)
	ev = append(ev, clientHintEvidence(s)...)
	ev = append(ev, platformEvidence(s, ua)...)
	ev = append(ev, uaSpecific...)
	ev = append(ev, screenEvidence(s)...)
	ev = append(ev, desktopHintEvidence(s)...)
	ev = append(ev, uaGeneric...)
	ev = append(ev, macEvidence(s)...)

	d := Decision{Class: Unknown, Confidence: ConfidenceNone}
	decider := -1
	for i, e := range ev {
		if e.class != Unknown {
			decider = i
			d.Class, d.Confidence = e.class, e.conf
			break
		}
	}
	if decider < 0 {
		for _, e := range ev {
			d.Reasons = append(d.Reasons, notePrefix+e.text)
		}
		if len(d.Reasons) == 0 {
			d.Reasons = []string{"no signal: no User-Agent, page hints, client hints or MAC"}
		}
		return d
	}

	d.Reasons = append(d.Reasons, ev[decider].text)
	d.Decided = addKind(d.Decided, ev[decider].kind())
	var overruled, notes []string
	for i, e := range ev {
		switch {
		case i == decider:
		case e.class == d.Class:
			d.Reasons = append(d.Reasons, e.text)
			d.Decided = addKind(d.Decided, e.kind())
		case e.class == Unknown:
			notes = append(notes, notePrefix+e.text)
		default:
			overruled = append(overruled, overruledPrefix+e.text)
			d.Against = addKind(d.Against, e.kind())
		}
	}
	d.Reasons = append(d.Reasons, overruled...)
	d.Reasons = append(d.Reasons, notes...)
	d.DesktopMode = d.Class == Mobile && ua.claimsDesktop && !ua.probe
	return d
}

// addKind appends k to ks once.
func addKind(ks []string, k string) []string {
	if k == "" || slices.Contains(ks, k) {
		return ks
	}
	return append(ks, k)
}

func overrideEvidence(s Signals) []evidence {
	switch s.Override {
	case PC, Mobile:
		return []evidence{{tierOverride, s.Override, ConfidenceHigh,
			fmt.Sprintf("an operator set this device to %s", s.Override), ""}}
	}
	return nil
}

// Explain renders the decision for an operator: the class, the signals in
// order, and for desktop mode the FAQ text to give the student.
func (d Decision) Explain() string {
	var b strings.Builder
	class, conf := d.Class, d.Confidence
	if class == "" {
		class = Unknown
	}
	if conf == "" {
		conf = ConfidenceNone
	}
	fmt.Fprintf(&b, "class: %s (confidence %s)\n", class, conf)
	if class == Unknown {
		b.WriteString("no signal was strong enough; the portal counts unknown devices as configured (default pc)\n")
	}
	if len(d.Reasons) > 0 {
		b.WriteString("signals, strongest first:\n")
		for i, r := range d.Reasons {
			fmt.Fprintf(&b, "  %d. %s\n", i+1, r)
		}
	}
	// The same lists, in the same words, as the portal's refusal page.
	en := i18n.For(i18n.English)
	if len(d.Decided) > 0 {
		fmt.Fprintf(&b, "counted as %s because of:\n", class)
		for _, k := range d.Decided {
			fmt.Fprintf(&b, "  - %s: %s\n", k, en.T(SignalMessage(k)))
		}
	}
	if len(d.Against) > 0 {
		lost := "phone"
		if class == Mobile {
			lost = "computer"
		}
		fmt.Fprintf(&b, "signs of a %s that ranked lower:\n", lost)
		for _, k := range d.Against {
			fmt.Fprintf(&b, "  - %s: %s\n", k, en.T(SignalMessage(k)))
		}
	}
	if d.PhoneEvidence() {
		b.WriteString("if this is a phone or tablet: turn off desktop mode / \"Request Desktop Website\", or bind its MAC as mobile\n")
		b.WriteString("  (campusnet devices bind --class mobile, or self-service: register the device as mobile)\n")
	}
	if d.DesktopMode {
		b.WriteString("desktop mode: the User-Agent claims a computer, but the signals above show a phone or tablet,\n")
		b.WriteString("  so it was counted as mobile. Where those signals are missing (no script, no vendor token)\n")
		b.WriteString("  the same device is counted as a PC. iPad Safari asks for desktop websites by default.\n")
		b.WriteString("  FAQ (中文): 手机浏览器开启“电脑模式/桌面版网站”后，会被识别为电脑，占用电脑名额。\n")
		b.WriteString("    请在浏览器设置里关闭“电脑版/桌面版网站/请求桌面网站”（iPad：设置 > Safari 浏览器 > 请求桌面网站），或把浏览器标识（UA）设为 iPhone/Android，然后重新登录。\n")
		b.WriteString("  FAQ (English): a phone browser in \"desktop mode\" (\"desktop site\") is identified as a computer\n")
		b.WriteString("    and uses a PC slot. Turn off desktop mode / \"Request Desktop Website\" in the browser settings\n")
		b.WriteString("    (iPad: Settings > Safari > Request Desktop Website),\n")
		b.WriteString("    or set the browser's identity (UA) to iPhone/Android, then log in again.\n")
	}
	return b.String()
}
