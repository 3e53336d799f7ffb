package radiusproto

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/campusnet/campusnet/radius/internal/radclient"
)

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
			out, ok := radclient.Run(t, tt.attrs, tt.addr, tt.command, tt.secret)
			if ok != tt.wantOK || !strings.Contains(out, tt.want) {
				t.Fatalf("radclient exit ok=%v, want %v; output should contain %q:\n%s", ok, tt.wantOK, tt.want, out)
			}
		})
	}
}
