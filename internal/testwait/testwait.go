// Package testwait is the tests' one polling helper: for effects that happen
// after a packet or request with no answer of its own (an acknowledgement
// handled in the background, a session the reaper closes, a log entry the
// writer flushes).
package testwait

import (
	"testing"
	"time"
)

// Timeout is how long For polls before it fails the test. It is generous
// because the race detector on a loaded two-core machine slows everything.
const Timeout = 5 * time.Second

// For polls cond every few milliseconds until it holds, and fails the test
// with "timed out waiting for <what>" when Timeout passes first.
func For(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
