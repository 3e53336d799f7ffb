package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	layeh "layeh.com/radius"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/radius/radiusproto"
)

// cliEnv is a configuration file on a fresh store, with one BAS whose
// Disconnect port answers as answer says.
type cliEnv struct {
	t   *testing.T
	cfg string
	st  *store.Store
}

func newCLIEnv(t *testing.T, kind string, answer func(*layeh.Packet) (bool, int)) *cliEnv {
	t.Helper()
	dsn := storetest.DSN(t, kind)
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if answer != nil { // else a port that never answers
		go radiusproto.ListenDisconnect(conn, []byte("testing123"), answer)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	cfg := filepath.Join(t.TempDir(), "c.toml")
	text := fmt.Sprintf(`[server]
database = %q
[radius]
coa_timeout = "200ms"
coa_tries = 2
[[nas]]
name = "dorm-bras-1"
ip = "127.0.0.1"
secret = "testing123"
area = "dorm"
coa_port = %d
`, dsn, port)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return &cliEnv{t: t, cfg: cfg, st: storetest.Open(t, dsn)}
}

func (c *cliEnv) run(args ...string) (int, string) {
	c.t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append(args, "--config", c.cfg), &out, &errb)
	return code, out.String() + errb.String()
}

func TestDevicesCommands(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			c := newCLIEnv(t, kind, func(*layeh.Packet) (bool, int) { return true, 0 })
			for _, u := range []string{"2026001", "lab-printers"} {
				if _, _, err := c.st.EnsureAccount(context.Background(), access.Account{Username: u}); err != nil {
					t.Fatal(err)
				}
			}
			steps := []struct {
				args []string
				code int
				want []string
			}{
				{[]string{"devices", "bind", "2026001", "00-10-A4-23-19-C0", "--class", "pc", "--actor", "op1", "--reason", "PS5 in 3-204"}, 0, []string{"bound 00:10:a4:23:19:c0 to 2026001 as pc (by op1)"}},
				{[]string{"devices", "bind", "lab-printers", "0010-a423-19c0", "--class", "pc"}, 1, []string{"another account"}},
				{[]string{"devices", "bind", "2026001", "not-a-mac", "--class", "pc"}, 1, []string{"not a MAC address"}},
				{[]string{"devices", "bind", "2026001", "00-10-A4-23-19-C1"}, 2, []string{"--class must be pc or mobile"}},
				{[]string{"devices", "bind", "nobody", "00-10-A4-23-19-C1", "--class", "pc"}, 1, []string{`no account "nobody"`}},
				{[]string{"devices", "list", "--user", "2026001"}, 0, []string{"00:10:a4:23:19:c0", "pc", "yes", "op1"}},
				{[]string{"devices", "unbind", "00:10:a4:23:19:c0", "--reason", "student left", "--actor", "op1"}, 0, []string{"unbound 00:10:a4:23:19:c0"}},
				{[]string{"devices", "unbind", "00:10:a4:23:19:c0"}, 1, []string{"is not bound"}},
				{[]string{"nas", "list"}, 0, []string{"dorm-bras-1", "127.0.0.1", "dorm"}},
			}
			for _, s := range steps {
				code, out := c.run(s.args...)
				if code != s.code {
					t.Fatalf("%v: exit %d, want %d:\n%s", s.args, code, s.code, out)
				}
				for _, w := range s.want {
					if !strings.Contains(out, w) {
						t.Errorf("%v: output lacks %q:\n%s", s.args, w, out)
					}
				}
			}
			// Bulk import: good rows bound, bad rows reported with their line.
			file := filepath.Join(t.TempDir(), "devices.csv")
			csv := "account,mac,class\nlab-printers,02-00-00-00-00-01,pc\nlab-printers,0200.0000.0002,mobile\n" +
				"lab-printers,zz,pc\nnobody,02:00:00:00:00:04,pc\nlab-printers,02:00:00:00:00:05,tv\nlab-printers,02:00:00:00:00:06\n"
			if err := os.WriteFile(file, []byte(csv), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out := c.run("devices", "import", file, "--reason", "printer fleet, ticket 1234")
			if code != 1 {
				t.Fatalf("import with bad rows: exit %d:\n%s", code, out)
			}
			for _, w := range []string{"line 4:", "line 5:", "line 6:", "line 7:", "2 bound, 4 bad rows"} {
				if !strings.Contains(out, w) {
					t.Errorf("import output lacks %q:\n%s", w, out)
				}
			}
			acc, err := c.st.AccountByUsername(context.Background(), "lab-printers")
			if err != nil {
				t.Fatal(err)
			}
			devs, err := c.st.DevicesByAccount(context.Background(), acc.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(devs) != 2 {
				t.Fatalf("imported devices: %+v", devs)
			}
			// Every bind is audited with its why.
			for user, why := range map[string]string{"2026001": "PS5 in 3-204", "lab-printers": "printer fleet, ticket 1234"} {
				log, err := c.st.AuditLog(context.Background(), user, 20)
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, e := range log {
					if e.Action == "device.bind" {
						found = true
						if e.Reason != why {
							t.Fatalf("%s: device.bind audited with reason %q, want %q", user, e.Reason, why)
						}
					}
				}
				if !found {
					t.Fatalf("%s: no device.bind in the audit log: %+v", user, log)
				}
			}
		})
	}
}

func TestSessionsAndKick(t *testing.T) {
	for _, tt := range []struct {
		name   string
		answer func(*layeh.Packet) (bool, int)
		code   int
		want   string
	}{
		{"ack", func(*layeh.Packet) (bool, int) { return true, 0 }, 0, "disconnected: acknowledged by dorm-bras-1"},
		{"nak", func(*layeh.Packet) (bool, int) { return false, 506 }, 1, "NOT disconnected: NAK 506 resources unavailable from dorm-bras-1"},
		{"silence", nil, 1, "NOT disconnected: no answer from dorm-bras-1 after 2 tries"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLIEnv(t, "sqlite", tt.answer)
			sid := c.startSession(t, "2026001", "K1", "02:00:00:00:00:01", "10.0.0.1")
			ctx := context.Background()
			code, out := c.run("sessions", "--user", "2026001", "--online")
			if code != 0 || !strings.Contains(out, "02:00:00:00:00:01") || !strings.Contains(out, "online") {
				t.Fatalf("sessions: %d\n%s", code, out)
			}
			id := fmt.Sprint(sid)
			code, out = c.run("kick", id, "--reason", "abuse report", "--actor", "op1")
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Fatalf("kick: exit %d, want %d and %q:\n%s", code, tt.code, tt.want, out)
			}
			s, err := c.st.SessionByID(ctx, sid)
			if err != nil {
				t.Fatal(err)
			}
			if (s.Status == access.SessionClosed) != (tt.code == 0) {
				t.Fatalf("session after kick: %+v", s)
			}
			log, err := c.st.AuditLog(ctx, "2026001", 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(log) != 1 || log[0].Actor != "op1" || log[0].Reason != "abuse report" {
				t.Fatalf("audit: %+v", log)
			}
		})
	}
}

// FuzzDevicesImport feeds the device import arbitrary CSV: no panic, and a
// row is either bound or reported.
func FuzzDevicesImport(f *testing.F) {
	f.Add("account,mac,class\nu1,00-10-A4-23-19-C0,pc\n")
	f.Add("u1,0010.a423.19c0,mobile\nu1,\"x\ny\",pc\n")
	f.Add("\"unterminated\nu1,zz,pc,extra\n#comment\n\n")
	st := storetest.NewSQLite(f)
	if _, _, err := st.EnsureAccount(context.Background(), access.Account{Username: "u1"}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var out bytes.Buffer
		rep, err := importDevices(context.Background(), st, strings.NewReader(text), "fuzz", "", &out)
		if err != nil {
			return
		}
		if rep.bad != strings.Count(out.String(), "\n") {
			t.Fatalf("%d bad rows, %d reported:\n%s", rep.bad, strings.Count(out.String(), "\n"), out.String())
		}
	})
}

// startSession makes user's account (if new) and starts a session for it
// at dorm-bras-1 as RADIUS accounting does, returning its id.
func (c *cliEnv) startSession(t *testing.T, user, asid, mac, ip string) int64 {
	t.Helper()
	ctx := context.Background()
	if _, _, err := c.st.EnsureAccount(ctx, access.Account{Username: user}); err != nil {
		t.Fatal(err)
	}
	aaa := store.NewAAA(c.st)
	defer aaa.Close()
	res, err := aaa.RecordAccounting(ctx, []access.AcctRecord{{Kind: access.AcctStart, NAS: "dorm-bras-1", Area: "dorm",
		AcctSessionID: asid, Username: user, MAC: mac, IP: ip}})
	if err != nil || res[0].SessionID == 0 {
		t.Fatalf("start: %+v %v", res, err)
	}
	return res[0].SessionID
}

// TestKickClosedSession: kicking a session that has already ended says when
// and why it ended, exits 0, and sends the BAS no Disconnect-Request.
func TestKickClosedSession(t *testing.T) {
	var heard atomic.Int32
	c := newCLIEnv(t, "sqlite", func(*layeh.Packet) (bool, int) { heard.Add(1); return true, 0 })
	ctx := context.Background()
	sid := c.startSession(t, "2026001", "K2", "02:00:00:00:00:02", "10.0.0.2")
	if _, err := c.st.CloseSession(ctx, sid, "mac unbound"); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprint(sid)
	code, out := c.run("kick", id, "--reason", "abuse report", "--actor", "op1")
	if code != 0 || !strings.Contains(out, "session #"+id+" of 2026001 is already closed: at ") || !strings.Contains(out, "mac unbound") {
		t.Fatalf("kick of a closed session: exit %d:\n%s", code, out)
	}
	// kick waits for the answer, so a request sent would have been counted.
	if n := heard.Load(); n != 0 {
		t.Fatalf("the BAS received %d Disconnect-Requests for a closed session", n)
	}
	if code, out := c.run("kick", "999999"); code == 0 || !strings.Contains(out, "no session #999999") {
		t.Fatalf("kick of no session: exit %d:\n%s", code, out)
	}
}

// TestSessionsIPv6: `campusnet sessions` shows a session's IPv6 address and
// IPv6 traffic, and --ipv6 finds the sessions of an IPv6 address or prefix.
func TestSessionsIPv6(t *testing.T) {
	c := newCLIEnv(t, "sqlite", nil)
	ctx := context.Background()
	c.startSession(t, "2026011", "S4", "02:00:00:00:01:04", "10.0.0.4")
	if _, _, err := c.st.EnsureAccount(ctx, access.Account{Username: "2026012"}); err != nil {
		t.Fatal(err)
	}
	aaa := store.NewAAA(c.st)
	defer aaa.Close()
	if _, err := aaa.RecordAccounting(ctx, []access.AcctRecord{{Kind: access.AcctStart, NAS: "dorm-bras-1", Area: "dorm",
		AcctSessionID: "S6", Username: "2026012", MAC: "02:00:00:00:01:06", IP: "10.0.0.6",
		IPv6: access.IPv6Record{Addr: "2001:db8:6::6", Delegated: "2001:db8:66::/56", Input: 3 << 20, Output: 5 << 20, HasOctets: true}}}); err != nil {
		t.Fatal(err)
	}
	code, out := c.run("sessions")
	if code != 0 || !strings.Contains(out, "IPV6") || !strings.Contains(out, "2001:db8:6::6 + 2001:db8:66::/56") || !strings.Contains(out, "3.0 MiB") {
		t.Fatalf("sessions: %d\n%s", code, out)
	}
	code, out = c.run("sessions", "--ipv6", "2001:db8:66:12::1")
	if code != 0 || !strings.Contains(out, "2026012") || strings.Contains(out, "2026011") {
		t.Fatalf("sessions --ipv6: %d\n%s", code, out)
	}
	if code, out = c.run("sessions", "--ipv6", "2001:db8:7::1"); code != 0 || !strings.Contains(out, "(no sessions)") {
		t.Fatalf("sessions --ipv6 of nobody: %d\n%s", code, out)
	}
	if code, out = c.run("sessions", "--ipv6", "10.0.0.4"); code == 0 || !strings.Contains(out, "not an IPv6") {
		t.Fatalf("sessions --ipv6 IPv4: %d\n%s", code, out)
	}
}
