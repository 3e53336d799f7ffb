package device

import (
	"fmt"
	"strings"

	"github.com/campusnet/campusnet/internal/access"
)

// smallScreenMax is the longest "shorter side" of a phone-class screen in CSS
// pixels. Phones are 320–480, small tablets in portrait start around 600;
// desktops and laptops are 720 and up (a 1024x600 netbook sits on the line,
// which is why a small screen also needs touch).
const smallScreenMax = 600

// clientHintEvidence reads the client hints that say "phone":
// Sec-CH-UA-Platform Android/iOS, Sec-CH-UA-Mobile ?1 and
// navigator.userAgentData.mobile true, and the one desktop platform hint
// that desktop mode never sends, "Chrome OS". A phone's desktop mode
// rewrites the hints to "Linux" and ?0; those are desktopHintEvidence, ranked
// below the hardware.
func clientHintEvidence(s Signals) []evidence {
	var ev []evidence
	shown, plat := chPlatform(s)
	switch plat {
	case "android", "ios", "ipados":
		ev = append(ev, evidence{tierClientHints, Mobile, ConfidenceHigh,
			fmt.Sprintf("Sec-CH-UA-Platform %q is a phone/tablet OS", shown), SignalCHPhone})
	}
	if strings.TrimSpace(s.CHUAMobile) == "?1" {
		ev = append(ev, evidence{tierClientHints, Mobile, ConfidenceHigh,
			"Sec-CH-UA-Mobile ?1: the browser says it is a phone", SignalCHPhone})
	}
	if strings.EqualFold(strings.TrimSpace(s.UADataMobile), "true") {
		ev = append(ev, evidence{tierClientHints, Mobile, ConfidenceHigh,
			"navigator.userAgentData.mobile is true: the browser says it is a phone", SignalCHPhone})
	}
	switch plat {
	case "chrome os", "chromeos", "chromium os":
		ev = append(ev, evidence{tierClientHints, PC, ConfidenceHigh,
			fmt.Sprintf("Sec-CH-UA-Platform %q is a Chromebook (desktop mode never claims Chrome OS)", shown), SignalCHPlatformDesktop})
	}
	return ev
}

// desktopHintEvidence reads what a phone's desktop mode rewrites besides the
// User-Agent: Sec-CH-UA-Platform Windows/macOS/Linux, Sec-CH-UA-Mobile ?0
// and navigator.userAgentData.mobile false. Chrome, Edge and Samsung Internet
// on Android send "Linux" and ?0 in desktop mode, so these rank below what
// the hardware reports (navigator.platform with touch, a small touch
// screen) and the UA's phone tokens, and above the UA's desktop platform.
func desktopHintEvidence(s Signals) []evidence {
	var ev []evidence
	shown, plat := chPlatform(s)
	switch plat {
	case "windows", "macos":
		ev = append(ev, evidence{tierDesktopHints, PC, ConfidenceHigh,
			fmt.Sprintf("Sec-CH-UA-Platform %q is a desktop OS", shown), SignalCHPlatformDesktop})
	case "linux":
		ev = append(ev, evidence{tierDesktopHints, PC, ConfidenceMedium,
			fmt.Sprintf("Sec-CH-UA-Platform %q is a desktop OS (a phone in desktop mode sends it too)", shown), SignalCHPlatformDesktop})
	}
	if strings.TrimSpace(s.CHUAMobile) == "?0" {
		ev = append(ev, evidence{tierDesktopHints, PC, ConfidenceLow,
			"Sec-CH-UA-Mobile ?0: the browser asks for the desktop layout (tablets and desktop mode do too)", SignalCHMobileNo})
	}
	if strings.EqualFold(strings.TrimSpace(s.UADataMobile), "false") {
		ev = append(ev, evidence{tierDesktopHints, PC, ConfidenceLow,
			"navigator.userAgentData.mobile is false: the browser asks for the desktop layout (tablets and desktop mode do too)", SignalCHMobileNo})
	}
	return ev
}

// platformEvidence reads navigator.platform as reported by the login page.
// Desktop mode changes the User-Agent, not the platform a phone reports,
// except that iPadOS reports "MacIntel" (told apart by its touch points).
func platformEvidence(s Signals, ua uaInfo) []evidence {
	p := strings.TrimSpace(s.Platform)
	lp := strings.ToLower(p)
	touch := s.MaxTouchPoints
	one := func(c access.Class, format string, args ...any) []evidence {
		sig := SignalPlatformPhone
		if c == PC {
			sig = SignalPlatformComputer
		}
		return []evidence{{tierPlatform, c, ConfidenceHigh, fmt.Sprintf(format, args...), sig}}
	}
	note := func(format string, args ...any) []evidence {
		return []evidence{{tierPlatform, Unknown, "", fmt.Sprintf(format, args...), ""}}
	}
	linux := strings.HasPrefix(lp, "linux")
	arm := strings.Contains(lp, "arm") || strings.Contains(lp, "aarch64")
	x86 := strings.Contains(lp, "x86") || strings.Contains(lp, "i686") || strings.Contains(lp, "i386")

	switch {
	case lp == "":
		return nil
	case strings.HasPrefix(lp, "iphone"), strings.HasPrefix(lp, "ipod"):
		return one(Mobile, "platform %s is an iPhone", p)
	case strings.HasPrefix(lp, "ipad"):
		return one(Mobile, "platform %s is an iPad", p)
	case strings.Contains(lp, "android"):
		return one(Mobile, "platform %s is a phone/tablet OS", p)
	case strings.HasPrefix(lp, "mac"):
		switch {
		case touch > 1:
			e := one(Mobile, "platform %s with %d touch points is an iPad, or an iPhone asking for desktop websites (iOS presents itself as a Mac there; no Mac has a touch screen)", p, touch)
			e[0].sig = SignalPlatformAppleTouch
			return e
		case touch >= 0:
			return one(PC, "platform %s without a touch screen is a Mac", p)
		}
		return note("platform %s is a Mac or an iPad; the page did not report touch points", p)
	case strings.HasPrefix(lp, "win"):
		return one(PC, "platform %s is Windows", p)
	case linux && arm:
		switch {
		case ua.cros:
			return one(PC, "platform %s with a CrOS User-Agent is an ARM Chromebook", p)
		case ua.armLinuxDesktop:
			return note("platform %s and the User-Agent agree on ARM Linux: a Linux computer (or a Linux phone); the screen decides", p)
		case touch == 0:
			return note("platform %s without a touch screen: an ARM Linux computer or a headset; not decided by the platform", p)
		}
		return one(Mobile, "platform %s is an ARM phone/tablet", p)
	case linux && x86:
		if ua.cros {
			return one(PC, "platform %s with a CrOS User-Agent is a Chromebook", p)
		}
		if touch == 0 {
			return one(PC, "platform %s without a touch screen is a computer", p)
		}
		return note("platform %s with touch: a Linux computer, or an Android device in desktop mode", p)
	}
	return note("platform %s is not one the rules know", p)
}

// screenEvidence reads the screen size and touch points. These say nothing
// about the OS, so a UA token that names a phone OS or vendor
// (tierUASpecific) outranks them; desktop mode cannot change them, so they
// outrank the desktop-mode hints and the UA's desktop platform.
func screenEvidence(s Signals) []evidence {
	var ev []evidence
	w, h, touch := s.ScreenW, s.ScreenH, s.MaxTouchPoints
	if w > 0 && h > 0 {
		short := min(w, h)
		switch {
		case touch > 0 && short <= smallScreenMax:
			ev = append(ev, evidence{tierScreen, Mobile, ConfidenceMedium,
				fmt.Sprintf("small touch screen %dx%d (shorter side ≤ %d CSS px)", w, h, smallScreenMax), SignalScreenSmallTouch})
		case touch == 0 && short > smallScreenMax:
			ev = append(ev, evidence{tierScreen, PC, ConfidenceMedium,
				fmt.Sprintf("no touch screen and a %dx%d screen: a computer", w, h), SignalScreenLarge})
		}
	}
	return ev
}

// chPlatform is Sec-CH-UA-Platform without its quotes, as sent (for the
// explanation) and lower-cased (for matching).
func chPlatform(s Signals) (shown, plat string) {
	shown = strings.Trim(strings.TrimSpace(s.CHUAPlatform), `"`)
	return shown, strings.ToLower(shown)
}
