package billing

import (
	"fmt"
	"strings"

	"github.com/campusnet/campusnet/internal/access"
)

// MaxYuanInput bounds an amount typed by an operator: 1,000,000.00 yuan.
const MaxYuanInput access.Fen = 100_000_000

// ParseYuan reads an amount in yuan as people write it ("50", "12.50",
// "-5", "+3.5") and returns it in fen. It refuses more than two decimals,
// anything that is not a plain decimal number, and amounts beyond
// MaxYuanInput.
func ParseYuan(s string) (access.Fen, error) {
	in := strings.TrimSpace(s)
	t := in
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	whole, frac, hasDot := strings.Cut(t, ".")
	if whole == "" || (hasDot && (frac == "" || len(frac) > 2)) {
		return 0, fmt.Errorf("%w: %q is not an amount in yuan with at most two decimals (like 50 or 12.50)", ErrAmount, s)
	}
	var fen int64
	for _, r := range whole {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%w: %q is not an amount in yuan (like 50 or 12.50)", ErrAmount, s)
		}
		fen = fen*10 + int64(r-'0')
		if fen > int64(MaxYuanInput) {
			return 0, fmt.Errorf("%w: %q is more than %s yuan", ErrAmount, s, MaxYuanInput)
		}
	}
	fen *= 100
	for i, r := range frac {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%w: %q is not an amount in yuan (like 50 or 12.50)", ErrAmount, s)
		}
		d := int64(r - '0')
		if i == 0 {
			d *= 10
		}
		fen += d
	}
	if fen > int64(MaxYuanInput) {
		return 0, fmt.Errorf("%w: %q is more than %s yuan", ErrAmount, s, MaxYuanInput)
	}
	if neg {
		fen = -fen
	}
	return access.Fen(fen), nil
}
