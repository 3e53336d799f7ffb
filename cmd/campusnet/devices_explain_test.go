package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestDevicesExplainRanking: devices explain prints the same ranking as the
// portal's refusal page: what decided, what lost, and the advice for a
// phone counted as a pc.
func TestDevicesExplainRanking(t *testing.T) {
	t.Parallel()
	desktopUA := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	tests := []struct {
		name  string
		args  []string
		wants []string
	}{
		{"desktop mode with client hints is mobile",
			[]string{"--ua", desktopUA, "--ch-platform", `"Linux"`, "--ch-mobile", "?0", "--platform", "Linux armv8l", "--touch", "5", "--screen", "390x844"},
			[]string{"class: mobile", "counted as mobile because of:", "  - platform-phone: ", "  - screen-small-touch: ",
				"signs of a computer that ranked lower:", "  - ch-platform-desktop: ", "电脑模式"}},
		{"desktop mode without the page's script is a pc against a random MAC",
			[]string{"--ua", desktopUA, "--ch-platform", "Linux", "--ch-mobile", "?0", "--mac", "7a:3f:12:00:00:01"},
			[]string{"class: pc", "counted as pc because of:", "  - ch-platform-desktop: ", "signs of a phone that ranked lower:",
				"  - mac-random: ", "devices bind --class mobile"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), append([]string{"devices", "explain"}, tt.args...), &out, &errb); code != 0 {
				t.Fatalf("exit %d: %s%s", code, out.String(), errb.String())
			}
			for _, w := range tt.wants {
				if !strings.Contains(out.String(), w) {
					t.Fatalf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}
