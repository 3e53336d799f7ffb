package identity

import (
	"regexp"
	"testing"
)

func TestNewTemporaryPassword(t *testing.T) {
	shape := regexp.MustCompile(`^[a-hjkmnp-z2-9]{5}-[a-hjkmnp-z2-9]{5}$`)
	seen := map[string]bool{}
	for range 200 {
		p := NewTemporaryPassword()
		if !shape.MatchString(p) {
			t.Fatalf("%q: not two groups of five unambiguous characters", p)
		}
		if seen[p] {
			t.Fatalf("%q twice in 200", p)
		}
		seen[p] = true
	}
}
