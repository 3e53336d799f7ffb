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

// clientHintEvidence reads Sec-CH-UA-Platform, Sec-CH-UA-Mobile and
// navigator.userAgentData.mobile. Chromium keeps Sec-CH-UA-Platform
// "Android" in desktop mode and in apps that spoof a Windows UA, which makes
// the platform hint the best single signal there is. "?0" is not evidence
// here: tablets and desktop mode send it too (see screenEvidence).
func clientHintEvidence(s Signals) []evidence {
	var ev []evidence
	plat := strings.ToLower(strings.Trim(strings.TrimSpace(s.CHUAPlatform), `"`))
	shown := strings.Trim(strings.TrimSpace(s.CHUAPlatform), `"`)
	switch plat {
	case "android", "ios", "ipados":
		ev = append(ev, evidence{tierClientHints, Mobile, ConfidenceHigh,
			fmt.Sprintf("Sec-CH-UA-Platform %q is a phone/tablet OS", shown)})
	}
	if strings.TrimSpace(s.CHUAMobile) == "?1" {
		ev = append(ev, evidence{tierClientHints, Mobile, ConfidenceHigh,
			"Sec-CH-UA-Mobile ?1: the browser says it is a phone"})
	}
	if strings.EqualFold(strings.TrimSpace(s.UADataMobile), "true") {
		ev = append(ev, evidence{tierClientHints, Mobile, ConfidenceHigh,
			"navigator.userAgentData.mobile is true: the browser says it is a phone"})
	}
	switch plat {
	case "windows", "macos", "linux", "chrome os", "chromeos", "chromium os":
		ev = append(ev, evidence{tierClientHints, PC, ConfidenceHigh,
			fmt.Sprintf("Sec-CH-UA-Platform %q is a desktop OS", shown)})
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
		return []evidence{{tierPlatform, c, ConfidenceHigh, fmt.Sprintf(format, args...)}}
	}
	note := func(format string, args ...any) []evidence {
		return []evidence{{tierPlatform, Unknown, "", fmt.Sprintf(format, args...)}}
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
			return one(Mobile, "platform %s with %d touch points is an iPad (iPadOS presents itself as a Mac)", p, touch)
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
		if touch == 0 {
			return one(PC, "platform %s without a touch screen is a computer", p)
		}
		return note("platform %s with touch: a Linux computer, or an Android device in desktop mode", p)
	}
	return note("platform %s is not one the rules know", p)
}

// screenEvidence reads the screen size and touch points, and the "not
// mobile" client hints. These say nothing about the OS, so a UA token that
// names a phone OS or vendor (tierUASpecific) outranks them.
func screenEvidence(s Signals) []evidence {
	var ev []evidence
	w, h, touch := s.ScreenW, s.ScreenH, s.MaxTouchPoints
	if w > 0 && h > 0 {
		short := min(w, h)
		switch {
		case touch > 0 && short <= smallScreenMax:
			ev = append(ev, evidence{tierScreen, Mobile, ConfidenceMedium,
				fmt.Sprintf("small touch screen %dx%d (shorter side ≤ %d CSS px)", w, h, smallScreenMax)})
		case touch == 0 && short > smallScreenMax:
			ev = append(ev, evidence{tierScreen, PC, ConfidenceMedium,
				fmt.Sprintf("no touch screen and a %dx%d screen: a computer", w, h)})
		}
	}
	if strings.TrimSpace(s.CHUAMobile) == "?0" {
		ev = append(ev, evidence{tierScreen, PC, ConfidenceLow,
			"Sec-CH-UA-Mobile ?0: the browser asks for the desktop layout (tablets and desktop mode do too)"})
	}
	if strings.EqualFold(strings.TrimSpace(s.UADataMobile), "false") {
		ev = append(ev, evidence{tierScreen, PC, ConfidenceLow,
			"navigator.userAgentData.mobile is false: the browser asks for the desktop layout (tablets and desktop mode do too)"})
	}
	return ev
}
