package device

import "strings"

// IsLocallyAdministered reports whether mac is a locally administered
// (randomised, "private") address: bit 0x02 of the first octet set, i.e. the
// second hex digit is 2, 6, A or E. Accepted notations: 00-10-A4-23-19-C0,
// 00:10:a4:23:19:c0, 0010-a423-19c0, 0010.a423.19c0 and 0010a42319c0, in
// either case. Anything else, including 8- and 20-byte addresses, is false.
//
// Android 10+ and iOS 14+ randomise per network by default; Windows and
// macOS can too. So it means "a modern OS", and is only a hint for phones.
func IsLocallyAdministered(mac string) bool {
	b, ok := parseMAC(strings.TrimSpace(mac))
	return ok && b[0]&0x02 != 0
}

// parseMAC reads a 6-byte MAC in the notations IsLocallyAdministered accepts.
func parseMAC(s string) ([6]byte, bool) {
	var out [6]byte
	var digits []byte
	switch len(s) {
	case 12: // 0010a42319c0
		digits = []byte(s)
	case 14: // 0010-a423-19c0 or 0010.a423.19c0
		sep := s[4]
		if (sep != '-' && sep != '.') || s[9] != sep {
			return out, false
		}
		digits = []byte(s[0:4] + s[5:9] + s[10:14])
	case 17: // 00-10-a4-23-19-c0 or 00:10:a4:23:19:c0
		sep := s[2]
		if sep != '-' && sep != ':' {
			return out, false
		}
		for i := 0; i < 6; i++ {
			if i > 0 && s[3*i-1] != sep {
				return out, false
			}
			digits = append(digits, s[3*i], s[3*i+1])
		}
	default:
		return out, false
	}
	for i := range out {
		hi, ok1 := unhex(digits[2*i])
		lo, ok2 := unhex(digits[2*i+1])
		if !ok1 || !ok2 {
			return out, false
		}
		out[i] = hi<<4 | lo
	}
	return out, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// macEvidence: a randomised MAC hints at a modern phone OS. It only decides
// when nothing else did; a vendor (burned-in) MAC says nothing here.
func macEvidence(s Signals) []evidence {
	if !IsLocallyAdministered(s.MAC) {
		return nil
	}
	return []evidence{{tierMAC, Mobile, ConfidenceLow,
		"MAC is locally administered (randomised): phones and tablets do this by default, some computers too", SignalMACRandom}}
}
