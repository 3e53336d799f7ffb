package device

import (
	"net/http/httptest"
	"testing"
)

func TestIsProbe(t *testing.T) {
	const (
		safari    = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1"
		aospProbe = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/60.0.3112.32 Safari/537.36"
	)
	tests := []struct {
		name       string
		host, path string
		ua         string
		want       bool
	}{
		{"desktop Linux UA on Android's probe", "connectivitycheck.gstatic.com", "/generate_204", uaLinuxChrome, true},
		{"Google HTTPS fallback", "www.google.com", "/generate_204", uaLinuxChrome, true},
		{"Google gen_204 fallback", "www.google.com", "/gen_204", "", true},
		{"Play fallback", "play.googleapis.com", "/generate_204", "", true},
		{"MIUI", "connect.rom.miui.com", "/generate_204", "", true},
		{"Huawei", "connectivitycheck.platform.hicloud.com", "/generate_204", "", true},
		{"Honor, any path", "connectivitycheck.platform.hihonorcloud.com", "/", "", true},
		{"vivo", "wifi.vivo.com.cn", "/generate_204", "", true},
		{"ColorOS without underscore", "conn3.coloros.com", "/generate204", "", true},
		{"China fallback g.cn", "g.cn", "/generate_204", "", true},
		{"host with port and capitals", "ConnectivityCheck.GStatic.com:80", "/generate_204", "", true},
		{"trailing slash and query", "www.google.cn", "/generate_204/?x=1", "", true},
		{"Apple CNA", "captive.apple.com", "/hotspot-detect.html", safari, true},
		{"Apple old probe", "www.apple.com", "/library/test/success.html", safari, true},
		{"Apple homepage is not a probe", "www.apple.com", "/", safari, false},
		{"Windows NCSI", "www.msftconnecttest.com", "/connecttest.txt", "", true},
		{"Windows NCSI v6", "ipv6.msftconnecttest.com", "/connecttest.txt", "", true},
		{"Windows 8.1 NCSI", "www.msftncsi.com", "/ncsi.txt", "", true},
		{"Windows redirect is the user's browser", "www.msftconnecttest.com", "/redirect", uaWindowsChrome, false},
		{"Firefox canonical", "detectportal.firefox.com", "/canonical.html", "", true},
		{"Firefox success.txt", "detectportal.firefox.com", "/success.txt", "", true},
		{"Android probe UA on any host", "portal.campus.example", "/", aospProbe, true},
		{"Apple probe UA", "portal.campus.example", "/login", "CaptiveNetworkSupport-461.80.2 wispr", true},
		{"Windows probe UA", "portal.campus.example", "/", "Microsoft NCSI", true},
		{"Dalvik background request", "example.com", "/api", "Dalvik/2.1.0 (Linux; U; Android 14; SM-S921U Build/UP1A.231005.007)", true},
		{"desktop Linux UA on the login page", "portal.campus.example", "/login", uaLinuxChrome, false},
		{"phone on the login page", "portal.campus.example", "/login", uaAndroidPhone, false},
		{"a site that merely contains 204", "example.com", "/generate_2044", uaWindowsChrome, false},
		{"empty", "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsProbe(tt.host, tt.path, tt.ua); got != tt.want {
				t.Errorf("IsProbe(%q, %q, %q) = %v, want %v", tt.host, tt.path, tt.ua, got, tt.want)
			}
		})
	}
}

// TestIsProbeRequest: a desktop Linux UA arriving on a probe request is
// flagged, so the portal does not count the phone behind it as a PC.
func TestIsProbeRequest(t *testing.T) {
	tests := []struct {
		name, url, ua string
		want          bool
	}{
		{"desktop Linux UA on generate_204", "http://connectivitycheck.gstatic.com/generate_204", uaLinuxChrome, true},
		{"MIUI probe with port", "http://connect.rom.miui.com:80/generate_204", uaLinuxChrome, true},
		{"Apple CNA", "http://captive.apple.com/hotspot-detect.html", "CaptiveNetworkSupport-461.80.2 wispr", true},
		{"login page", "http://portal.campus.example/login?wlanuserip=10.0.0.2", uaLinuxChrome, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.url, nil)
			r.Header.Set("User-Agent", tt.ua)
			if got := IsProbeRequest(r); got != tt.want {
				t.Errorf("IsProbeRequest(%s) = %v, want %v", tt.url, got, tt.want)
			}
		})
	}
	if IsProbeRequest(nil) {
		t.Error("IsProbeRequest(nil) = true")
	}
}
