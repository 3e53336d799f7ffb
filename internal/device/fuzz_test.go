package device

import (
	"net"
	"strings"
	"testing"

	"github.com/campusnet/campusnet/internal/access"
)

// FuzzClassify: User-Agents, headers and page hints are outside input. No
// panic, and every Decision keeps its promises.
func FuzzClassify(f *testing.F) {
	for i, r := range readCorpus(f) {
		s := hintsFor(r, i)
		f.Add(r.ua, "", "", s.Platform, s.MaxTouchPoints, s.ScreenW, s.ScreenH, "", "", "")
	}
	f.Add(uaLinuxChrome, "?0", `"Android"`, "Linux x86_64", 5, 412, 915, "false", "3a:10:a4:23:19:c0", "")
	f.Add("", "?1", "", "", -1, 0, 0, "true", "", "mobile")
	f.Add("(", "", "\"", "mac", 2, -5, 1<<30, "", "0010.a423.19c0", "pc")
	f.Add("Build/R", "", "", "linux arm", 0, 1, 1, "", "", "bogus")
	f.Fuzz(func(t *testing.T, ua, chMobile, chPlatform, platform string, touch, w, h int, uaData, mac, override string) {
		s := Signals{UserAgent: ua, CHUAMobile: chMobile, CHUAPlatform: chPlatform, Platform: platform,
			MaxTouchPoints: touch, ScreenW: w, ScreenH: h, UADataMobile: uaData, MAC: mac, Override: access.Class(override)}
		d := Classify(s)
		switch d.Class {
		case PC, Mobile, Unknown:
		default:
			t.Fatalf("class %q", d.Class)
		}
		switch d.Confidence {
		case ConfidenceHigh, ConfidenceMedium, ConfidenceLow:
			if d.Class == Unknown {
				t.Fatalf("unknown with confidence %q", d.Confidence)
			}
		case ConfidenceNone:
			if d.Class != Unknown {
				t.Fatalf("%s with confidence none", d.Class)
			}
		default:
			t.Fatalf("confidence %q", d.Confidence)
		}
		if d.DesktopMode && d.Class != Mobile {
			t.Fatalf("desktop mode on a %s", d.Class)
		}
		if len(d.Reasons) == 0 {
			t.Fatal("no reasons")
		}
		if d.Class != Unknown && (strings.HasPrefix(d.Reasons[0], overruledPrefix) || strings.HasPrefix(d.Reasons[0], notePrefix)) {
			t.Fatalf("first reason %q did not decide", d.Reasons[0])
		}
		if (override == "pc" || override == "mobile") && d.Class != access.Class(override) {
			t.Fatalf("override %s ignored: %s", override, d.Class)
		}
		if text := d.Explain(); !strings.Contains(text, "class: "+string(d.Class)) {
			t.Fatalf("Explain does not name the class:\n%s", text)
		}
		IsProbe(ua, platform, ua)
	})
}

// FuzzIsLocallyAdministered: MACs come from the BAS and the portal's query
// string. Where the standard library also parses a 6-byte MAC, both agree.
func FuzzIsLocallyAdministered(f *testing.F) {
	for _, s := range []string{"00-10-A4-23-19-C0", "0010-a423-19c0", "00:10:a4:23:19:c0", "0010a42319c0",
		"3a10.a423.19c0", "3a:10:a4:ff:fe:23:19:c0", "", "zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := IsLocallyAdministered(s)
		if hw, err := net.ParseMAC(s); err == nil && len(hw) == 6 {
			if want := hw[0]&0x02 != 0; got != want {
				t.Fatalf("IsLocallyAdministered(%q) = %v, net.ParseMAC says %v", s, got, want)
			}
		}
	})
}

// FuzzIsProbe: hosts, paths and User-Agents are outside input.
func FuzzIsProbe(f *testing.F) {
	f.Add("connectivitycheck.gstatic.com:80", "/generate_204", uaLinuxChrome)
	f.Add("[::1]:80", "?#", "CaptiveNetworkSupport")
	f.Add("www.msftconnecttest.com.", "/redirect/", "")
	f.Fuzz(func(t *testing.T, host, path, ua string) {
		if IsProbeUA(ua) && !IsProbe(host, path, ua) {
			t.Fatalf("probe UA %q not a probe on %q%q", ua, host, path)
		}
	})
}
