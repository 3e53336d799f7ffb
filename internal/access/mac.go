package access

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadMAC reports a string that is not a MAC address in any notation that
// BAS vendors use.
var ErrBadMAC = errors.New("access: bad MAC address")

// NormalizeMAC returns the canonical form of a 48-bit MAC address: lower-case
// hex in colon-separated pairs ("00:10:a4:23:19:c0"). It accepts the
// notations seen in RADIUS Calling-Station-Id and portal redirect parameters:
//
//	00-10-A4-23-19-C0   RFC 3580, Huawei
//	00:10:a4:23:19:c0   most Wi-Fi controllers
//	0010-a423-19c0      H3C
//	0010.a423.19c0      Cisco
//	0010a42319c0        bare hex
//
// Surrounding white space is ignored; case does not matter. Mixed separators,
// misplaced separators and any other length are refused with an error wrapping
// ErrBadMAC.
func NormalizeMAC(s string) (string, error) {
	t := strings.TrimSpace(s)
	var hex [12]byte
	n := 0
	switch len(t) {
	case 12:
		// bare hex
	case 17: // pairs
		if !separated(t, 3, ":-") {
			return "", badMAC(s)
		}
	case 14: // groups of four
		if !separated(t, 5, ".-") {
			return "", badMAC(s)
		}
	default:
		return "", badMAC(s)
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
		case 'A' <= c && c <= 'F':
			c += 'a' - 'A'
		default:
			if len(t) != 12 && (i+1)%groupStride(len(t)) == 0 {
				continue // a separator, already checked
			}
			return "", badMAC(s)
		}
		if n == len(hex) {
			return "", badMAC(s)
		}
		hex[n] = c
		n++
	}
	if n != len(hex) {
		return "", badMAC(s)
	}
	var out [17]byte
	for i := range 6 {
		if i > 0 {
			out[3*i-1] = ':'
		}
		out[3*i] = hex[2*i]
		out[3*i+1] = hex[2*i+1]
	}
	return string(out[:]), nil
}

// groupStride is the distance between separators for a formatted address of
// length n.
func groupStride(n int) int {
	if n == 17 {
		return 3
	}
	return 5
}

// separated reports whether t has the same separator, one of seps, at every
// stride-th position and nowhere else.
func separated(t string, stride int, seps string) bool {
	sep := t[stride-1]
	if !strings.ContainsRune(seps, rune(sep)) {
		return false
	}
	for i := 0; i < len(t); i++ {
		isSepPos := (i+1)%stride == 0
		if isSepPos != (t[i] == sep) {
			return false
		}
	}
	return true
}

func badMAC(s string) error {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return fmt.Errorf("%w: %q", ErrBadMAC, s)
}
