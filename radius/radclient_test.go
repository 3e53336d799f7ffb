package radius_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/radius/internal/radclient"
)

// TestRadclientInterop drives the service with FreeRADIUS's radclient: PAP,
// CHAP over a portal token (challenge in the request authenticator), MAC
// authentication, accounting, Status-Server, and the requests that get no
// answer at all.
func TestRadclientInterop(t *testing.T) {
	radclient.Need(t)
	e := startEnv(t, "sqlite")
	a := e.account("2026200", "pw-200", access.RoleStudent, 5000)
	b := e.account("2026202", "pw-202", access.RoleStudent, 5000)
	c := e.account("2026203", "pw-203", access.RoleStudent, 5000)
	e.bind(c, "00-10-A4-23-19-C0", access.ClassMobile)
	tok, tokID := e.token(b, "02:00:00:02:00:01", "10.0.2.1", access.ClassPC)

	tests := []struct {
		name    string
		attrs   string
		command string
		secret  string
		extra   []string
		reply   bool
		want    []string
	}{
		{name: "PAP against identity", command: "auth", secret: secret, reply: true,
			attrs: `User-Name = "2026200", User-Password = "pw-200", Calling-Station-Id = "02-00-00-02-00-09", Message-Authenticator = 0x00`,
			want:  []string{"Received Access-Accept", `User-Name = "2026200"`, "Class = 0x636e3a", "Acct-Interim-Interval = 300", "Session-Timeout = 28800"}},
		{name: "PAP wrong password", command: "auth", secret: secret, reply: true,
			attrs: `User-Name = "2026200", User-Password = "nope", Message-Authenticator = 0x00`,
			want:  []string{"Received Access-Reject", `Reply-Message = "用户名或密码错误"`, "Wrong user name or password"}},
		{name: "CHAP over the portal token", command: "auth", secret: secret, reply: true,
			attrs: `User-Name = "2026202", CHAP-Password = "` + tok + `", Calling-Station-Id = "02-00-00-02-00-01", Message-Authenticator = 0x00`,
			want:  []string{"Received Access-Accept", `User-Name = "2026202"`}},
		{name: "MAC authentication", command: "auth", secret: secret, reply: true,
			attrs: `User-Name = "0010-a423-19c0", User-Password = "0010-a423-19c0", Calling-Station-Id = "00-10-A4-23-19-C0", Service-Type = Call-Check, Message-Authenticator = 0x00`,
			want:  []string{"Received Access-Accept", `User-Name = "2026203"`}},
		{name: "MAC not bound", command: "auth", secret: secret, reply: true,
			attrs: `User-Name = "00-10-A4-23-19-C1", User-Password = "00-10-A4-23-19-C1", Calling-Station-Id = "00-10-A4-23-19-C1", Message-Authenticator = 0x00`,
			want:  []string{"Received Access-Reject", "未绑定"}},
		{name: "accounting start", command: "acct", secret: secret, reply: true,
			attrs: `Acct-Status-Type = Start, Acct-Session-Id = "RC-1", User-Name = "2026200", Calling-Station-Id = "00-10-A4-23-19-C0", Framed-IP-Address = 10.0.2.5`,
			want:  []string{"Received Accounting-Response"}},
		{name: "accounting interim", command: "acct", secret: secret, reply: true,
			attrs: `Acct-Status-Type = Interim-Update, Acct-Session-Id = "RC-1", User-Name = "2026200", Acct-Input-Octets = 1000, Acct-Input-Gigawords = 1, Acct-Output-Octets = 2000`,
			want:  []string{"Received Accounting-Response"}},
		{name: "accounting stop", command: "acct", secret: secret, reply: true,
			attrs: `Acct-Status-Type = Stop, Acct-Session-Id = "RC-1", User-Name = "2026200", Acct-Input-Octets = 3000, Acct-Input-Gigawords = 1, Acct-Output-Octets = 4000, Acct-Terminate-Cause = User-Request`,
			want:  []string{"Received Accounting-Response"}},
		{name: "accounting stop sent twice", command: "acct", secret: secret, reply: true, extra: []string{"-c", "2"},
			attrs: `Acct-Status-Type = Stop, Acct-Session-Id = "RC-1", User-Name = "2026200", Acct-Input-Octets = 3000, Acct-Input-Gigawords = 1, Acct-Output-Octets = 4000, Acct-Terminate-Cause = User-Request`,
			want:  []string{"Received Accounting-Response"}},
		{name: "status-server", command: "status", secret: secret, reply: true,
			attrs: `Message-Authenticator = 0x00`, want: []string{"Received Access-Accept"}},
		{name: "wrong secret: no answer", command: "auth", secret: "not-the-secret",
			attrs: `User-Name = "2026200", User-Password = "pw-200", Message-Authenticator = 0x00`, want: []string{"No reply"}},
		{name: "no Message-Authenticator: no answer", command: "auth", secret: secret,
			attrs: `User-Name = "2026200", User-Password = "pw-200"`, want: []string{"No reply"}},
		{name: "accounting with a wrong secret: no answer", command: "acct", secret: "not-the-secret",
			attrs: `Acct-Status-Type = Start, Acct-Session-Id = "RC-9", User-Name = "2026200"`, want: []string{"No reply"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := e.authAddr
			if tt.command == "acct" {
				addr = e.acctAddr
			}
			out, _ := radclient.Run(t, tt.attrs, addr, tt.command, tt.secret, tt.extra...)
			if got := strings.Contains(out, "Received "); got != tt.reply {
				t.Fatalf("radclient got a reply: %v, want %v:\n%s", got, tt.reply, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("radclient output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	// The token was used once; the accounting session is recorded once,
	// with its final counters.
	if l, err := e.st.AuthLogByToken(context.Background(), tokID); err != nil || l.Result != "accept" || l.Method != "token-chap" {
		t.Fatalf("token log: %+v, %v", l, err)
	}
	var rc []access.Session
	for _, s := range e.sessions(a, false) {
		if s.AcctSessionID == "RC-1" {
			rc = append(rc, s)
		}
	}
	if len(rc) != 1 || rc[0].Status != access.SessionClosed || rc[0].InputOctets != 1<<32+3000 || rc[0].OutputOctets != 4000 {
		t.Fatalf("RC-1 sessions: %+v", rc)
	}
}

// TestRetransmission sends the same Accounting-Request bytes twice (what a
// BAS does when the answer is late): the same answer comes back, and the
// session is recorded once.
func TestRetransmission(t *testing.T) {
	e := startEnv(t, "sqlite")
	a := e.account("2026201", "pw", access.RoleStudent, 5000)
	out, ok := radclient.Run(t, `Acct-Status-Type = Start, Acct-Session-Id = "RT-1", User-Name = "2026201"`, e.acctAddr, "acct", secret)
	if !ok {
		t.Fatalf("radclient: %s", out)
	}
	// Build one packet by hand and send it twice from one socket.
	pkt := encodeAcct(t, "RT-2", a.Username)
	conn, err := net.Dial("udp", e.acctAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var replies [][]byte
	for range 2 {
		if _, err := conn.Write(pkt); err != nil {
			t.Fatal(err)
		}
		if err := conn.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no reply: %v", err)
		}
		replies = append(replies, buf[:n])
	}
	if string(replies[0]) != string(replies[1]) {
		t.Fatal("a retransmission got a different reply")
	}
	n := 0
	for _, s := range e.sessions(a, false) {
		if s.AcctSessionID == "RT-2" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d sessions RT-2 after a retransmission, want 1", n)
	}
}
