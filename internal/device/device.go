package device

import (
	"github.com/campusnet/campusnet/internal/access"

	"fmt"
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
	tierOverride    tier = iota // the operator said so
	tierClientHints             // Sec-CH-UA-*, navigator.userAgentData
	tierPlatform                // navigator.platform, qualified by touch points
	tierUASpecific              // UA tokens that name a phone OS, vendor or probe
	tierScreen                  // screen size and touch, "?0"
	tierUAGeneric               // UA desktop platform tokens and weak shapes
	tierMAC                     // a locally administered MAC
)

// evidence is one signal's verdict. Class Unknown marks a note.
type evidence struct {
	tier  tier
	class access.Class
	conf  string
	text  string
}

// Classify decides a device's class from its signals. It never fails: with
// nothing to go on it returns Unknown with ConfidenceNone.
//
// Order, strongest first: Override; client hints (Sec-CH-UA-Platform,
// Sec-CH-UA-Mobile ?1, userAgentData.mobile true); navigator.platform
// (iPhone/iPad/Android/ARM Linux → mobile, MacIntel with touch → iPad,
// MacIntel without touch, Win32, x86 Linux without touch → pc); UA tokens
// that name a phone OS or a phone-only vendor browser (these beat a desktop
// platform in the same UA); a small touch screen (→ mobile) or a large screen
// without touch (→ pc); the UA's desktop platform (Windows NT, Macintosh,
// X11, CrOS); last, a locally administered MAC, which only decides when
// nothing else did.
func Classify(s Signals) Decision {
	ua := parseUA(s.UserAgent)

	uaSpecific, uaGeneric := ua.specificEvidence(), ua.genericEvidence()
	if ua.raw != "" && len(uaSpecific)+len(uaGeneric) == 0 {
		uaGeneric = append(uaGeneric, evidence{tierUAGeneric, Unknown, "", "the User-Agent names no platform the rules know"})
	}

	var ev []evidence
	ev = append(ev, overrideEvidence(s)...)
	ev = append(ev, clientHintEvidence(s)...)
	ev = append(ev, platformEvidence(s, ua)...)
	ev = append(ev, uaSpecific...)
	ev = append(ev, screenEvidence(s)...)
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
	var overruled, notes []string
	for i, e := range ev {
		switch {
		case i == decider:
		case e.class == d.Class:
			d.Reasons = append(d.Reasons, e.text)
		case e.class == Unknown:
			notes = append(notes, notePrefix+e.text)
		default:
			overruled = append(overruled, overruledPrefix+e.text)
		}
	}
	d.Reasons = append(d.Reasons, overruled...)
	d.Reasons = append(d.Reasons, notes...)
	d.DesktopMode = d.Class == Mobile && ua.claimsDesktop && !ua.probe
	return d
}

func overrideEvidence(s Signals) []evidence {
	switch s.Override {
	case PC, Mobile:
		return []evidence{{tierOverride, s.Override, ConfidenceHigh,
			fmt.Sprintf("an operator set this device to %s", s.Override)}}
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
