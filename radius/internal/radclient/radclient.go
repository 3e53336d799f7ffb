// Package radclient runs FreeRADIUS's radclient, an independent
// implementation of the RADIUS wire format, for the tests of radius and
// radius/radiusproto.
package radclient

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Run runs radclient with attrs on stdin and extra flags. It returns the
// combined output and whether radclient exited 0 (it got a reply).
func Run(t testing.TB, attrs, addr, command, secret string, extra ...string) (string, bool) {
	t.Helper()
	path := Need(t)
	args := append([]string{"-x", "-r", "1", "-t", "1"}, extra...)
	if _, err := os.Stat("/etc/freeradius/3.0/dictionary"); err != nil {
		args = append(args, "-d", "/usr/share/freeradius")
	}
	args = append(args, addr, command, secret)
	cmd := exec.Command(path, args...)
	cmd.Stdin = strings.NewReader(attrs)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// Need returns radclient's path; without it the test skips (fails in CI).
func Need(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("radclient")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("radclient not found: install freeradius-utils")
		}
		t.Skip("radclient not found: install freeradius-utils")
	}
	return path
}
