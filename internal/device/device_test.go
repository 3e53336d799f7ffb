package device

import (
	"strings"
	"testing"

	"github.com/campusnet/campusnet/internal/access"
)

// Real UAs from testdata/user-agents.tsv, by id.
const (
	uaWindowsChrome  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.0.0 Safari/537.36"                                                     // win-001
	uaMacSafari      = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"                                               // mac-005
	uaLinuxChrome    = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/111.0.0.0 Safari/537.36"                                                               // lnx-001
	uaAndroidPhone   = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Mobile Safari/537.36"                                                     // and-001
	uaIPhone         = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1"                             // iph-001
	uaMIUIDesktop    = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/534.24 (KHTML, like Gecko) Chrome/89.0.4389.116 Safari/534.24 XiaoMi/MiuiBrowser/12.13.2-gn"                             // dm-009
	uaSamsungWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/29.0 Chrome/136.0.0.0 Safari/537.36"                                 // win-029
	uaQuest          = "Mozilla/5.0 (X11; Linux x86_64; Quest 2) AppleWebKit/537.36 (KHTML, like Gecko) OculusBrowser/26.2.0.0.10 SamsungBrowser/4.0 Chrome/110.0.5481.192 VR Safari/537.36" // dm-033
	uaChromebookARM  = "Mozilla/5.0 (X11; CrOS aarch64 13310.93.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/85.0.4183.133 Safari/537.36"                                                // cros-004
	uaPiChromium     = "Mozilla/5.0 (X11; Linux aarch64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	uaUCFakeXP       = "Mozilla/5.0 (Windows; U; Windows NT 5.2; en-US) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/57.0.2987.108 Safari/537.36"                                                                                // dm-015 without its UCBrowser token
	uaMicroMessenger = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) WindowsWechat(0x63090c33) XWEB/14315" // win-027
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name        string
		s           Signals
		want        access.Class
		desktopMode bool
		confidence  string
		reason      string // a substring of the first (deciding) reason
	}{
		{
			name: "operator override beats a phone's client hints",
			s:    Signals{UserAgent: uaAndroidPhone, CHUAMobile: "?1", CHUAPlatform: `"Android"`, Override: PC},
			want: PC, confidence: ConfidenceHigh, reason: "operator",
		},
		{
			name: "Unknown override is no override",
			s:    Signals{UserAgent: uaIPhone, Override: Unknown},
			want: Mobile, confidence: ConfidenceHigh, reason: "iPhone",
		},
		{
			name: "Sec-CH-UA-Platform Android beats a desktop-mode Linux UA",
			s:    Signals{UserAgent: uaLinuxChrome, CHUAMobile: "?0", CHUAPlatform: `"Android"`, MaxTouchPoints: -1},
			want: Mobile, desktopMode: true, confidence: ConfidenceHigh, reason: `Sec-CH-UA-Platform "Android"`,
		},
		{
			name: "Android app spoofing Windows Chrome is caught by its platform hint",
			s:    Signals{UserAgent: uaWindowsChrome, CHUAPlatform: "Android", MaxTouchPoints: -1},
			want: Mobile, desktopMode: true, reason: "phone/tablet OS",
		},
		{
			name: "Sec-CH-UA-Mobile ?1",
			s:    Signals{UserAgent: uaLinuxChrome, CHUAMobile: "?1", MaxTouchPoints: -1},
			want: Mobile, desktopMode: true, reason: "?1",
		},
		{
			name: "userAgentData.mobile true",
			s:    Signals{UserAgent: uaWindowsChrome, UADataMobile: "true", MaxTouchPoints: -1},
			want: Mobile, desktopMode: true, reason: "userAgentData.mobile",
		},
		{
			name: "Sec-CH-UA-Platform Windows",
			s:    Signals{UserAgent: uaWindowsChrome, CHUAMobile: "?0", CHUAPlatform: `"Windows"`, MaxTouchPoints: -1},
			want: PC, confidence: ConfidenceHigh, reason: "desktop OS",
		},
		{
			name: "iPad: MacIntel with touch points",
			s:    Signals{UserAgent: uaMacSafari, Platform: "MacIntel", MaxTouchPoints: 5, ScreenW: 820, ScreenH: 1180},
			want: Mobile, desktopMode: true, confidence: ConfidenceHigh, reason: "iPad",
		},
		{
			name: "Mac: MacIntel without touch points",
			s:    Signals{UserAgent: uaMacSafari, Platform: "MacIntel", MaxTouchPoints: 0, ScreenW: 1440, ScreenH: 900},
			want: PC, confidence: ConfidenceHigh, reason: "is a Mac",
		},
		{
			name: "MacIntel with unknown touch falls back to the UA",
			s:    Signals{UserAgent: uaMacSafari, Platform: "MacIntel", MaxTouchPoints: -1},
			want: PC, confidence: ConfidenceLow, reason: "iPadOS 13+",
		},
		{
			name: "iPhone Safari Request Desktop Website",
			s:    Signals{UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15) AppleWebKit/605.1.15 (KHTML, like Gecko)", Platform: "iPhone", MaxTouchPoints: 5, ScreenW: 390, ScreenH: 844},
			want: Mobile, desktopMode: true, reason: "is an iPhone",
		},
		{
			name: "Android desktop mode: ARM Linux platform beats the X11 UA",
			s:    Signals{UserAgent: uaLinuxChrome, Platform: "Linux armv8l", MaxTouchPoints: 5, ScreenW: 393, ScreenH: 873},
			want: Mobile, desktopMode: true, confidence: ConfidenceHigh, reason: "platform Linux armv8l is an ARM phone/tablet",
		},
		{
			name: "Linux PC: x86 platform without touch",
			s:    Signals{UserAgent: uaLinuxChrome, Platform: "Linux x86_64", MaxTouchPoints: 0, ScreenW: 1920, ScreenH: 1080},
			want: PC, confidence: ConfidenceHigh, reason: "Linux x86_64 without a touch screen",
		},
		{
			name: "desktop mode that spoofs the platform too: a small touch screen decides",
			s:    Signals{UserAgent: uaLinuxChrome, Platform: "Linux x86_64", MaxTouchPoints: 5, ScreenW: 412, ScreenH: 915},
			want: Mobile, desktopMode: true, confidence: ConfidenceMedium, reason: "small touch screen 412x915",
		},
		{
			name: "a small screen without touch is not a phone (netbook)",
			s:    Signals{UserAgent: uaLinuxChrome, MaxTouchPoints: -1, ScreenW: 1024, ScreenH: 600},
			want: PC, confidence: ConfidenceLow, reason: "X11 Linux",
		},
		{
			name: "Windows platform beats a small touch screen (Windows tablets count as pc)",
			s:    Signals{UserAgent: uaWindowsChrome, Platform: "Win32", MaxTouchPoints: 10, ScreenW: 533, ScreenH: 853},
			want: PC, reason: "platform Win32 is Windows",
		},
		{
			name: "DevTools phone emulation on a Mac: platform beats the phone UA",
			s:    Signals{UserAgent: uaAndroidPhone, Platform: "MacIntel", MaxTouchPoints: 0, ScreenW: 1440, ScreenH: 900},
			want: PC, reason: "is a Mac",
		},
		{
			name: "ARM Chromebook with a touch screen is a pc",
			s:    Signals{UserAgent: uaChromebookARM, Platform: "Linux aarch64", MaxTouchPoints: 10, ScreenW: 1366, ScreenH: 768},
			want: PC, reason: "ARM Chromebook",
		},
		{
			name: "Raspberry Pi: honest ARM Linux UA and a big screen",
			s:    Signals{UserAgent: uaPiChromium, Platform: "Linux aarch64", MaxTouchPoints: -1, ScreenW: 1920, ScreenH: 1080},
			want: PC, reason: "X11/Wayland Linux",
		},
		{
			name: "headset without touch: the OculusBrowser token decides",
			s:    Signals{UserAgent: uaQuest, Platform: "Linux aarch64", MaxTouchPoints: 0, ScreenW: 1832, ScreenH: 1920},
			want: Mobile, desktopMode: true, reason: "OculusBrowser",
		},
		{
			name: "MIUI desktop mode from the UA alone",
			s:    Signals{UserAgent: uaMIUIDesktop},
			want: Mobile, desktopMode: true, confidence: ConfidenceMedium, reason: "MiuiBrowser",
		},
		{
			name: "Samsung Internet for Windows is a pc",
			s:    Signals{UserAgent: uaSamsungWindows},
			want: PC, confidence: ConfidenceHigh, reason: "Windows NT",
		},
		{
			name: "PC WeChat carries MicroMessenger and is a pc",
			s:    Signals{UserAgent: uaMicroMessenger},
			want: PC, confidence: ConfidenceHigh, reason: "Windows NT",
		},
		{
			name: "fake Windows XP identity with a modern Chrome leans mobile",
			s:    Signals{UserAgent: uaUCFakeXP},
			want: Mobile, desktopMode: true, confidence: ConfidenceLow, reason: "Windows; U;",
		},
		{
			name: "fake Windows XP identity on a big screen without touch is a pc",
			s:    Signals{UserAgent: uaUCFakeXP, MaxTouchPoints: 0, ScreenW: 1920, ScreenH: 1080},
			want: PC, confidence: ConfidenceMedium, reason: "no touch screen",
		},
		{
			name: "Sec-CH-UA-Mobile ?0 does not turn an Android tablet into a pc",
			s:    Signals{UserAgent: "Mozilla/5.0 (Linux; Android 16; SM-X230) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", CHUAMobile: "?0", MaxTouchPoints: -1},
			want: Mobile, reason: "UA says Android",
		},
		{
			name: "randomised MAC alone",
			s:    Signals{MAC: "3A:10:A4:23:19:C0", MaxTouchPoints: -1},
			want: Mobile, confidence: ConfidenceLow, reason: "locally administered",
		},
		{
			name: "randomised MAC never overrides the UA",
			s:    Signals{UserAgent: uaWindowsChrome, MAC: "3a-10-a4-23-19-c0", MaxTouchPoints: -1},
			want: PC, reason: "Windows NT",
		},
		{
			name: "vendor MAC alone says nothing",
			s:    Signals{MAC: "00:10:a4:23:19:c0", MaxTouchPoints: -1},
			want: Unknown, confidence: ConfidenceNone, reason: "no signal",
		},
		{
			name: "nothing at all",
			s:    Signals{MaxTouchPoints: -1},
			want: Unknown, confidence: ConfidenceNone, reason: "no signal",
		},
		{
			name: "an unrecognised UA",
			s:    Signals{UserAgent: "Java/1.8.0_151", MaxTouchPoints: -1},
			want: Unknown, confidence: ConfidenceNone, reason: "names no platform",
		},
		{
			name: "Apple's captive probe UA alone",
			s:    Signals{UserAgent: "CaptiveNetworkSupport-461.80.2 wispr", MaxTouchPoints: -1},
			want: Unknown, reason: "CaptiveNetworkSupport",
		},
		{
			name: "Android's probe UA is an Android device but not desktop mode",
			s:    Signals{UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/60.0.3112.32 Safari/537.36", MaxTouchPoints: -1},
			want: Mobile, desktopMode: false, reason: "NetworkMonitor",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Classify(tt.s)
			if d.Class != tt.want || d.DesktopMode != tt.desktopMode {
				t.Fatalf("got %s desktopMode=%v, want %s desktopMode=%v\n%s", d.Class, d.DesktopMode, tt.want, tt.desktopMode, d.Explain())
			}
			if tt.confidence != "" && d.Confidence != tt.confidence {
				t.Errorf("confidence %q, want %q\n%s", d.Confidence, tt.confidence, d.Explain())
			}
			if len(d.Reasons) == 0 || !strings.Contains(d.Reasons[0], tt.reason) {
				t.Errorf("first reason does not mention %q\n%s", tt.reason, d.Explain())
			}
		})
	}
}

// TestReasonsOrder: the decider comes first, agreeing signals next, then
// the overruled ones, then notes — the order Explain promises.
func TestReasonsOrder(t *testing.T) {
	d := Classify(Signals{UserAgent: uaMIUIDesktop, Platform: "Linux armv8l", MaxTouchPoints: 5, ScreenW: 393, ScreenH: 873, MAC: "3a:10:a4:23:19:c0"})
	want := []string{
		"platform Linux armv8l is an ARM phone/tablet",
		"UA has MiuiBrowser",
		"small touch screen",
		"MAC is locally administered",
		"overruled: UA says X11 Linux",
	}
	if len(d.Reasons) != len(want) {
		t.Fatalf("reasons %q, want %d", d.Reasons, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(d.Reasons[i], w) {
			t.Errorf("reason %d = %q, want prefix %q", i, d.Reasons[i], w)
		}
	}
}

func TestExplain(t *testing.T) {
	tests := []struct {
		name    string
		s       Signals
		want    []string
		notWant []string
	}{
		{
			name: "desktop mode carries the FAQ in Chinese and English",
			s:    Signals{UserAgent: uaLinuxChrome, Platform: "Linux aarch64", MaxTouchPoints: 5, ScreenW: 393, ScreenH: 873},
			want: []string{"class: mobile (confidence high)", "1. platform Linux aarch64 is an ARM phone/tablet",
				"overruled: UA says X11 Linux", "电脑模式/桌面版网站", "desktop mode", "iPhone/Android"},
		},
		{
			name:    "a plain PC has no FAQ",
			s:       Signals{UserAgent: uaWindowsChrome, Platform: "Win32", ScreenW: 1920, ScreenH: 1080},
			want:    []string{"class: pc (confidence high)", "1. platform Win32 is Windows", "UA says Windows NT (desktop)"},
			notWant: []string{"FAQ", "电脑模式", "overruled"},
		},
		{
			name: "unknown says how it is counted",
			s:    Signals{MaxTouchPoints: -1},
			want: []string{"class: unknown (confidence none)", "counts unknown devices as configured"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := Classify(tt.s).Explain()
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("Explain lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(text, w) {
					t.Errorf("Explain has %q:\n%s", w, text)
				}
			}
		})
	}
	if text := (Decision{}).Explain(); !strings.Contains(text, "class: unknown") {
		t.Errorf("zero Decision explains as %q", text)
	}
}
