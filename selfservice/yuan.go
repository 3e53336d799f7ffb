package selfservice

import (
	"errors"
	"strings"

	"github.com/campusnet/campusnet/internal/access"
)

// errBadAmount is returned by parseYuan.
var errBadAmount = errors.New("selfservice: bad amount (write yuan with at most two decimals, e.g. 20 or 12.50)")

// maxYuanDigits bounds the integer part (10^9 yuan is far beyond any
// campus balance, and far from int64 overflow).
const maxYuanDigits = 9

// parseYuan reads an amount of yuan as an operator types it ("20",
// "12.5", "-3.00", "+1") into fen, exactly: no floating point.
func parseYuan(s string) (access.Fen, error) {
	s = strings.TrimSpace(s)
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || len(whole) > maxYuanDigits || len(frac) > 2 || (hasDot && frac == "") {
		return 0, errBadAmount
	}
	var v int64
	for _, c := range whole {
		if c < '0' || c > '9' {
			return 0, errBadAmount
		}
		v = v*10 + int64(c-'0')
	}
	v *= 100
	for i, c := range frac {
		if c < '0' || c > '9' {
			return 0, errBadAmount
		}
		if i == 0 {
			v += 10 * int64(c-'0')
		} else {
			v += int64(c - '0')
		}
	}
	if neg {
		v = -v
	}
	return access.Fen(v), nil
}
