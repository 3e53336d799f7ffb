package radius

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// Radclient runs FreeRADIUS's radclient, an independent implementation of
// the wire format, with attrs on stdin and extra flags. It returns the
// combined output and whether radclient exited 0 (it got a reply). Exported
// for the radius_test package's tests.
func Radclient(t testing.TB, attrs, addr, command, secret string, extra ...string) (string, bool) {
	t.Helper()
	path := NeedRadclient(t)
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

// NeedRadclient returns radclient's path; without it the test skips (fails
// in CI).
func NeedRadclient(t testing.TB) string {
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

func TestRadclient(t *testing.T) {
	ts := startServer(t, nil, localNAS(true))
	sim := startNAS(t, testSecret)
	coaAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sim.nas.CoAPort))
	tests := []struct {
		name    string
		attrs   string
		addr    string
		command string
		secret  string
		wantOK  bool
		want    string
	}{
		{
			name:    "PAP accept",
			attrs:   `User-Name = "alice", User-Password = "secret-pass", Message-Authenticator = 0x00`,
			addr:    ts.auth,
			command: "auth", secret: testSecret, wantOK: true, want: "Received Access-Accept",
		},
		{
			name:    "PAP reject",
			attrs:   `User-Name = "alice", User-Password = "guess", Message-Authenticator = 0x00`,
			addr:    ts.auth,
			command: "auth", secret: testSecret, want: "Received Access-Reject",
		},
		{
			name:    "CHAP accept",
			attrs:   `User-Name = "alice", CHAP-Password = "secret-pass", Message-Authenticator = 0x00`,
			addr:    ts.auth,
			command: "auth", secret: testSecret, wantOK: true, want: "Received Access-Accept",
		},
		{
			name:    "status-server auth port",
			attrs:   `Message-Authenticator = 0x00`,
			addr:    ts.auth,
			command: "status", secret: testSecret, wantOK: true, want: "Received Access-Accept",
		},
		{
			name:    "status-server acct port",
			attrs:   `Message-Authenticator = 0x00`,
			addr:    ts.acct,
			command: "status", secret: testSecret, wantOK: true, want: "Received Accounting-Response",
		},
		{
			name:    "accounting start",
			attrs:   `User-Name = "alice", Acct-Status-Type = Start, Acct-Session-Id = "s-1"`,
			addr:    ts.acct,
			command: "acct", secret: testSecret, wantOK: true, want: "Received Accounting-Response",
		},
		{
			name:    "accounting with M-A",
			attrs:   `User-Name = "alice", Acct-Status-Type = Stop, Acct-Session-Id = "s-1", Message-Authenticator = 0x00`,
			addr:    ts.acct,
			command: "acct", secret: testSecret, wantOK: true, want: "Received Accounting-Response",
		},
		{
			name:    "wrong secret: no answer",
			attrs:   `User-Name = "alice", User-Password = "secret-pass", Message-Authenticator = 0x00`,
			addr:    ts.auth,
			command: "auth", secret: "wrong-secret", want: "No reply from server",
		},
		{
			name:    "no M-A, NAS requires it: no answer",
			attrs:   `User-Name = "alice", User-Password = "secret-pass"`,
			addr:    ts.auth,
			command: "auth", secret: testSecret, want: "No reply from server",
		},
		{
			name:    "disconnect to the simulated NAS",
			attrs:   `Acct-Session-Id = "sess-1", Message-Authenticator = 0x00`,
			addr:    coaAddr,
			command: "disconnect", secret: testSecret, wantOK: true, want: "Received Disconnect-ACK",
		},
		{
			name:    "disconnect, unknown session",
			attrs:   `Acct-Session-Id = "nope", Message-Authenticator = 0x00`,
			addr:    coaAddr,
			command: "disconnect", secret: testSecret, want: "Error-Cause = Session-Context-Not-Found",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, ok := Radclient(t, tt.attrs, tt.addr, tt.command, tt.secret)
			if ok != tt.wantOK || !strings.Contains(out, tt.want) {
				t.Fatalf("radclient exit ok=%v, want %v; output should contain %q:\n%s", ok, tt.wantOK, tt.want, out)
			}
		})
	}
}
