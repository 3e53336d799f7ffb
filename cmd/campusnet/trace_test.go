package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
)

// TestTraceCommand: the case on both databases. Two students held
// 10.12.9.9 one after the other, the second without a Stop, and a third
// holds it now: each moment traces to the one who held it then (exit 0), a
// moment between them to nobody (exit 1); a MAC in another notation finds
// its sessions; the CSV starts with a BOM and keeps the Chinese names; every
// trace is audited with who asked and why.
func TestTraceCommand(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			dsn := storetest.DSN(t, kind)
			clock := storetest.NewClock(time.Now())
			st := storetest.Open(t, dsn, store.WithClock(clock.Now))
			h := storetest.SeedTraceHistory(t, st, clock)
			cfgPath := filepath.Join(t.TempDir(), "c.toml")
			if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf("[server]\ndatabase = %q\ntimezone = \"Asia/Shanghai\"\n", dsn)), 0o600); err != nil {
				t.Fatal(err)
			}
			trace := func(code int, args ...string) string {
				t.Helper()
				var out, errb bytes.Buffer
				args = append([]string{"trace", "--config", cfgPath, "--actor", "officer-wang"}, args...)
				if got := run(context.Background(), args, &out, &errb); got != code {
					t.Fatalf("%v: exit %d, want %d\n%s%s", args, got, code, out.String(), errb.String())
				}
				return out.String() + errb.String()
			}
			// A moment of each student's session, in the forms operators type.
			out := trace(0, h.IP, "--at", "2026-12-02 13:30", "--reason", "公安 2026-117")
			for _, w := range []string{"王小明", h.Alice.Username, h.AliceMAC, h.AlicePort, "2026-12-02 13:00:00 +08:00", "2026-12-02 14:00:00 +08:00",
				"Stop (User-Request)", "at 2026-12-02 13:30:00 +08:00 (Asia/Shanghai): 1 session"} {
				if !strings.Contains(out, w) {
					t.Errorf("Alice's moment lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "李华") || strings.Contains(out, "张三") {
				t.Errorf("Alice's moment names another student:\n%s", out)
			}
			out = trace(0, "--reason", "abuse desk #88", h.IP, "--at", "2026-12-02T06:05:00Z")
			if !strings.Contains(out, "李华") || !strings.Contains(out, "no Stop (stale): counted to the last Interim-Update") ||
				!strings.Contains(out, "2026-12-02 14:12:00 +08:00") || strings.Contains(out, "王小明") {
				t.Errorf("Bob's moment:\n%s", out)
			}
			out = trace(0, h.IP, "--at", "2026-12-02T15:03:00+08:00", "--reason", "r")
			if !strings.Contains(out, "张三") || !strings.Contains(out, "online now") {
				t.Errorf("Carol's moment:\n%s", out)
			}
			// Between Alice's Stop and Bob's Start, and after Bob's last
			// Interim-Update: nobody, exit 1, and said so.
			for _, at := range []string{"2026-12-02 14:01", "2026-12-02 14:20"} {
				if out := trace(1, h.IP, "--at", at, "--reason", "r"); !strings.Contains(out, "no session held 10.12.9.9 at "+at+":00 +08:00") {
					t.Errorf("%s:\n%s", at, out)
				}
			}
			// Bob's MAC in Cisco notation, over the afternoon, as JSON.
			out = trace(0, "0200.0c00.000b", "--from", "2026-12-02 12:00", "--to", "2026-12-02 16:00", "--format", "json", "--reason", "r")
			var js struct {
				Key, Timezone string
				Sessions      []access.TraceRecord
			}
			if err := json.Unmarshal([]byte(out), &js); err != nil {
				t.Fatalf("json: %v\n%s", err, out)
			}
			if js.Key != h.BobMAC || js.Timezone != "Asia/Shanghai" || len(js.Sessions) != 1 || js.Sessions[0].Name != "李华" ||
				js.Sessions[0].End != access.TraceNoStop || js.Sessions[0].Until != "2026-12-02T14:12:00+08:00" {
				t.Fatalf("json: %+v", js)
			}
			// The whole day as CSV: a BOM, then the three students in order.
			out = trace(0, h.IP, "--from", "2026-12-02", "--to", "2026-12-02 23:59:59", "--format", "csv", "--reason", "r")
			if !strings.HasPrefix(out, "\ufeff") {
				t.Fatalf("the CSV has no BOM: %q", out[:min(len(out), 20)])
			}
			recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\ufeff"))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 4 || recs[0][1] != "name" || recs[1][1] != "王小明" || recs[2][1] != "李华" || recs[3][1] != "张三" {
				t.Fatalf("CSV rows: %q", recs)
			}
			// IPv6: an address inside Alice's Framed-IPv6-Prefix names her
			// session at her moment, not Bob's or Carol's (other prefixes);
			// the table, the CSV and the JSON carry her IPv6 address.
			out = trace(0, "2001:db8:1:2::abcd", "--at", "2026-12-02 13:30", "--reason", "公安 2026-118")
			if !strings.Contains(out, "王小明") || !strings.Contains(out, h.AliceIPv6) || strings.Contains(out, "李华") || strings.Contains(out, "张三") ||
				!strings.Contains(out, "2001:db8:1:2::abcd at 2026-12-02 13:30:00 +08:00") {
				t.Errorf("2001:db8:1:2::abcd at 13:30:\n%s", out)
			}
			out = trace(0, "2001:db8:1:2::abcd", "--from", "2026-12-02", "--to", "2026-12-02 23:59:59", "--format", "csv", "--reason", "r")
			recs, err = csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "\ufeff"))).ReadAll()
			if err != nil || len(recs) != 2 || recs[0][5] != "ipv6" || recs[0][6] != "ipv6_prefix" || recs[1][1] != "王小明" ||
				recs[1][5] != h.AliceIPv6 || recs[1][6] != h.AlicePrefix {
				t.Fatalf("IPv6 CSV: %q, %v", recs, err)
			}
			out = trace(0, "2001:DB8:FF00:100::/56", "--at", "2026-12-02 15:03", "--format", "json", "--reason", "r")
			if err := json.Unmarshal([]byte(out), &js); err != nil {
				t.Fatalf("json: %v\n%s", err, out)
			}
			if js.Key != "2001:db8:ff00:100::/56" || len(js.Sessions) != 1 || js.Sessions[0].Name != "张三" ||
				js.Sessions[0].IPv6Delegated != h.CarolPD || js.Sessions[0].IPv6Prefix != h.CarolPrefix {
				t.Fatalf("the delegated prefix as JSON: %+v", js)
			}
			out = trace(0, "2001:db8:1:3::1", "--at", "2026-12-02 14:05", "--format", "json", "--reason", "r")
			if err := json.Unmarshal([]byte(out), &js); err != nil || len(js.Sessions) != 1 || js.Sessions[0].Name != "李华" || js.Sessions[0].IPv6 != h.BobIPv6 {
				t.Fatalf("Bob's /64 as JSON: %+v %v", js, err)
			}
			// A moment outside Alice's session: nobody, exit 1.
			for _, at := range []string{"2026-12-02 14:01", "2026-12-02 12:59"} {
				if out := trace(1, "2001:db8:1:2::abcd", "--at", at, "--reason", "r"); !strings.Contains(out, "no session held 2001:db8:1:2::abcd at "+at+":00 +08:00") {
					t.Errorf("2001:db8:1:2::abcd at %s:\n%s", at, out)
				}
			}
			if log, err := st.AuditLog(context.Background(), "2001:db8:1:2::abcd", 100); err != nil || len(log) != 4 || log[len(log)-1].Reason != "公安 2026-118" {
				t.Fatalf("audit rows of 2001:db8:1:2::abcd: %+v %v", log, err)
			}
			// Refused before anything is read: no reason, a bad time, a bad key.
			trace(2, h.IP, "--at", "2026-12-02 14:05")
			trace(2, h.IP, "--at", "14:05 yesterday-ish", "--reason", "r")
			trace(2, "10.12.9", "--reason", "r")
			trace(2, "2001:db8::1::2", "--reason", "r")
			trace(2, "fe80::1%eth0", "--reason", "r")
			trace(2, h.IP, "--at", "2026-12-02 14:05", "--from", "2026-12-02 14:00", "--to", "2026-12-02 15:00", "--reason", "r")
			// Every trace that ran is in the audit log, with the operator and the reason.
			log, err := st.AuditLog(context.Background(), h.IP, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(log) != 6 {
				t.Fatalf("audit rows of %s: %+v", h.IP, log)
			}
			first := log[len(log)-1]
			if first.Actor != "officer-wang" || first.Action != "trace" || first.Reason != "公安 2026-117" ||
				!strings.Contains(first.Detail, "at 2026-12-02 13:30:00 +08:00: 1 session(s)") {
				t.Fatalf("audit row: %+v", first)
			}
		})
	}
}

// TestSessionsFilters: campusnet sessions --ip, --mac, --from and --to.
func TestSessionsFilters(t *testing.T) {
	t.Parallel()
	dsn := storetest.DSN(t, "sqlite")
	clock := storetest.NewClock(time.Now())
	st := storetest.Open(t, dsn, store.WithClock(clock.Now))
	h := storetest.SeedTraceHistory(t, st, clock)
	cfgPath := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf("[server]\ndatabase = %q\n", dsn)), 0o600); err != nil {
		t.Fatal(err)
	}
	sessions := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(context.Background(), append([]string{"sessions", "--config", cfgPath}, args...), &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	users := func(out string) string {
		var u []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			u = append(u, strings.Fields(l)[1])
		}
		return strings.Join(u, " ")
	}
	c, b, a := h.Carol.Username, h.Bob.Username, h.Alice.Username
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--ip", h.IP}, c + " " + b + " " + a}, // newest first; not 10.12.9.90, not the reservation
		{[]string{"--ip", h.IP, "--from", "2026-12-02 14:05", "--to", "2026-12-02 15:03"}, c + " " + b},
		{[]string{"--ip", h.IP, "--to", "2026-12-02 14:01"}, a},
		{[]string{"--mac", "02-00-0C-00-00-0A"}, a},
		{[]string{"--from", "2026-12-02 14:20", "--ip", h.IP}, c},
	} {
		if got := users(sessions(tc.args...)); got != tc.want {
			t.Errorf("sessions %v: %s, want %s", tc.args, got, tc.want)
		}
	}
	if out := sessions("--ip", h.IP); !strings.Contains(out, "2026-12-02 13:00:00 +08:00") {
		t.Errorf("times carry the offset:\n%s", out)
	}
}
