package roster

import (
	"regexp"
	"strings"
)

var (
	reIDCard18 = regexp.MustCompile(`^[0-9]{17}[0-9Xx]$`)
	reIDCard15 = regexp.MustCompile(`^[0-9]{15}$`)
)

// IDCardChecksumOK checks the GB 11643 check character of an 18-character
// resident id-card number: the first 17 digits weighted by 2^(17-i) mod 11
// (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), summed mod 11,
// index "10X98765432".
func IDCardChecksumOK(s string) bool {
	if len(s) != 18 {
		return false
	}
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return checkDigit(s[:17]) == s[17]
}

// checkDigit is the GB 11643 check character of 17 digits: the weighted
// sum modulo 11 indexes "10X98765432".
func checkDigit(seventeen string) byte {
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(seventeen[i]-'0') * weights[i]
	}
	return "10X98765432"[sum%11]
}

// CompleteIDCard appends the check character to 17 digits: a valid
// 18-character resident id-card number, for fixtures and the demo.
func CompleteIDCard(seventeen string) string {
	return seventeen + string(checkDigit(seventeen))
}

// Trailing-X modes of InitialPassword (identity.trailing_x).
const (
	TrailingXDrop = "drop" // the default: the six characters before the X
	TrailingXKeep = "keep"
	TrailingXZero = "zero"
)

// InitialPassword is the last six characters of the id-card number (the
// seeds' rule). An X at the end is dropped (default: the six before it are
// taken), kept, or replaced by 0, as trailingX says.
func InitialPassword(idcard, trailingX string) string {
	s := strings.ToUpper(idcard)
	if strings.HasSuffix(s, "X") {
		switch trailingX {
		case TrailingXKeep:
		case TrailingXZero:
			s = s[:len(s)-1] + "0"
		default:
			s = s[:len(s)-1]
		}
	}
	if len(s) <= 6 {
		return s
	}
	return s[len(s)-6:]
}
