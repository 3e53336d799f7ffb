package device

import "testing"

func TestIsLocallyAdministered(t *testing.T) {
	tests := []struct {
		name, mac string
		want      bool
	}{
		{"dashes, vendor", "00-10-A4-23-19-C0", false},
		{"groups of four, vendor", "0010-a423-19c0", false},
		{"colons, vendor", "00:10:a4:23:19:c0", false},
		{"bare, vendor", "0010a42319c0", false},
		{"dots, vendor", "0010.a423.19c0", false},
		{"dashes, random", "02-10-A4-23-19-C0", true},
		{"groups of four, random", "3a10-a423-19c0", true},
		{"colons, random (6)", "86:10:a4:23:19:c0", true},
		{"bare, random (E)", "ee10a42319c0", true},
		{"bare upper, random (A)", "DA10A42319C0", true},
		{"surrounding spaces", " 3a:10:a4:23:19:c0\n", true},
		{"second digit 3 is random and multicast", "03:00:00:00:00:00", true},
		{"second digit 1 is not local", "01:00:5e:00:00:01", false},
		{"mixed separators", "3a:10-a4:23:19:c0", false},
		{"misplaced separator", "3a1:0a4:23:19:c0", false},
		{"not hex", "3g:10:a4:23:19:c0", false},
		{"too short", "3a:10:a4:23:19", false},
		{"too long", "3a:10:a4:23:19:c0:00", false},
		{"EUI-64", "3a:10:a4:ff:fe:23:19:c0", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsLocallyAdministered(tt.mac); got != tt.want {
				t.Errorf("IsLocallyAdministered(%q) = %v, want %v", tt.mac, got, tt.want)
			}
		})
	}
}
