package device

import (
	"slices"
	"strings"
	"testing"

	"github.com/campusnet/campusnet/internal/i18n"
)

// TestRankingDecidedAndAgainst: a Decision names the kinds of signal that
// decided and those that lost, and PhoneEvidence says when a pc overruled
// signs of a phone.
func TestRankingDecidedAndAgainst(t *testing.T) {
	tests := []struct {
		name             string
		s                Signals
		decided, against []string
		phoneEvidence    bool
	}{
		{"desktop mode with hints: the hardware wins",
			Signals{UserAgent: uaLinuxChrome, CHUAMobile: "?0", CHUAPlatform: `"Linux"`, Platform: "Linux armv8l", MaxTouchPoints: 5, ScreenW: 390, ScreenH: 844},
			[]string{SignalPlatformPhone, SignalScreenSmallTouch}, []string{SignalCHPlatformDesktop, SignalCHMobileNo, SignalUADesktop}, false},
		{"desktop mode without the script: the hints win over a random MAC",
			Signals{UserAgent: uaLinuxChrome, CHUAMobile: "?0", CHUAPlatform: `"Linux"`, MaxTouchPoints: -1, MAC: "7a:00:00:00:00:01"},
			[]string{SignalCHPlatformDesktop, SignalCHMobileNo, SignalUADesktop}, []string{SignalMACRandom}, true},
		{"a Windows touch laptop stays a pc",
			Signals{UserAgent: uaWindowsChrome, CHUAMobile: "?0", CHUAPlatform: `"Windows"`, Platform: "Win32", MaxTouchPoints: 10, ScreenW: 1368, ScreenH: 912},
			[]string{SignalPlatformComputer, SignalCHPlatformDesktop, SignalCHMobileNo, SignalUADesktop}, nil, false},
		{"a Chromebook tablet with a small touch screen stays a pc",
			Signals{UserAgent: "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
				Platform: "Linux x86_64", MaxTouchPoints: 10, ScreenW: 600, ScreenH: 960},
			[]string{SignalPlatformComputer, SignalUADesktop}, []string{SignalScreenSmallTouch}, true},
		{"an iPhone asking for desktop websites",
			Signals{UserAgent: uaMacSafari, Platform: "MacIntel", MaxTouchPoints: 5, ScreenW: 393, ScreenH: 852},
			[]string{SignalPlatformAppleTouch, SignalScreenSmallTouch}, []string{SignalUADesktop}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Classify(tt.s)
			if !slices.Equal(d.Decided, tt.decided) || !slices.Equal(d.Against, tt.against) || d.PhoneEvidence() != tt.phoneEvidence {
				t.Fatalf("decided %v against %v phoneEvidence %v; want %v %v %v\n%s",
					d.Decided, d.Against, d.PhoneEvidence(), tt.decided, tt.against, tt.phoneEvidence, d.Explain())
			}
			text := d.Explain()
			for _, k := range append(slices.Clone(tt.decided), tt.against...) {
				if !strings.Contains(text, "  - "+k+": ") {
					t.Fatalf("Explain does not list %s:\n%s", k, text)
				}
			}
			if strings.Contains(text, "Request Desktop Website\", or bind") != tt.phoneEvidence {
				t.Fatalf("Explain's advice for a phone counted as a pc: want %v\n%s", tt.phoneEvidence, text)
			}
		})
	}
}

// TestSignalMessages: every kind of signal has a Chinese and an English
// phrase for the pages.
func TestSignalMessages(t *testing.T) {
	for _, k := range []string{SignalOverride, SignalCHPhone, SignalPlatformPhone, SignalPlatformAppleTouch, SignalPlatformComputer,
		SignalUAPhone, SignalUAComputer, SignalScreenSmallTouch, SignalScreenLarge, SignalCHPlatformDesktop, SignalCHMobileNo,
		SignalUADesktop, SignalMACRandom} {
		if zh, en, ok := i18n.Texts(SignalMessage(k)); !ok || zh == en {
			t.Errorf("%s: message %q/%q registered %v", k, zh, en, ok)
		}
	}
}
