package access

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeMAC(t *testing.T) {
	const want = "00:10:a4:23:19:c0"
	tests := []struct {
		name string
		in   string
		want string // "" means ErrBadMAC
	}{
		{name: "rfc3580 dashes upper", in: "00-10-A4-23-19-C0", want: want},
		{name: "h3c groups of four", in: "0010-a423-19c0", want: want},
		{name: "colons lower", in: "00:10:a4:23:19:c0", want: want},
		{name: "colons upper", in: "00:10:A4:23:19:C0", want: want},
		{name: "cisco dots", in: "0010.a423.19c0", want: want},
		{name: "bare hex", in: "0010a42319c0", want: want},
		{name: "bare hex upper", in: "0010A42319C0", want: want},
		{name: "surrounding space", in: "  00-10-a4-23-19-c0\n", want: want},
		{name: "empty", in: ""},
		{name: "too short", in: "00:10:a4:23:19"},
		{name: "too long", in: "00:10:a4:23:19:c0:11"},
		{name: "mixed separators", in: "00:10-a4:23:19:c0"},
		{name: "dots in pairs", in: "00.10.a4.23.19.c0"},
		{name: "colons in quads", in: "0010:a423:19c0"},
		{name: "misplaced separator", in: "001:0a4:23:19:c0x"},
		{name: "non hex", in: "00:10:a4:23:19:cg"},
		{name: "non hex bare", in: "0010a42319cz"},
		{name: "separator at end", in: "0010a42319c0-"},
		{name: "sixteen hex no separators", in: "0010a42319c0aabbc"},
		{name: "unicode", in: "00:10:a4:23:19:ｃ0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeMAC(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrBadMAC) {
					t.Fatalf("NormalizeMAC(%q) = %q, %v; want ErrBadMAC", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NormalizeMAC(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func FuzzNormalizeMAC(f *testing.F) {
	for _, s := range []string{"00-10-A4-23-19-C0", "0010-a423-19c0", "0010.a423.19c0", "0010a42319c0", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeMAC(s)
		if err != nil {
			if !errors.Is(err, ErrBadMAC) {
				t.Fatalf("error %v does not wrap ErrBadMAC", err)
			}
			return
		}
		if len(got) != 17 || strings.ToLower(got) != got {
			t.Fatalf("NormalizeMAC(%q) = %q: not canonical", s, got)
		}
		again, err := NormalizeMAC(got)
		if err != nil || again != got {
			t.Fatalf("canonical form %q does not normalize to itself: %q, %v", got, again, err)
		}
		// The hex digits must be the input's, in order.
		var digits []byte
		for i := 0; i < len(s); i++ {
			c := s[i]
			if strings.IndexByte("0123456789abcdefABCDEF", c) >= 0 {
				digits = append(digits, c)
			}
		}
		if strings.ToLower(string(digits)) != strings.ReplaceAll(got, ":", "") {
			t.Fatalf("NormalizeMAC(%q) = %q: digits differ", s, got)
		}
	})
}
