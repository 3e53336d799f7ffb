package main

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"strconv"
	"testing"

	"github.com/campusnet/campusnet/internal/config"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/radius"
)

// TestSeedAndLoad seeds load-test accounts and runs each load mode briefly
// against a RADIUS service on SQLite: everything is answered and accepted.
func TestSeedAndLoad(t *testing.T) {
	dsn := storetest.SQLiteDSN(t)
	st := storetest.Open(t, dsn)
	ctx := context.Background()
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"seed", "--database", dsn, "--users", "20"}, &out, &errb); code != 0 {
		t.Fatalf("seed: %d %s", code, errb.String())
	}
	auth, acct := startRADIUS(t, st)

	num := func(s, label string) int {
		m := regexp.MustCompile(label + ` (\d+)`).FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("no %q in %s", label, s)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	for _, mode := range []string{"auth-mac", "acct", "mixed"} {
		t.Run(mode, func(t *testing.T) {
			out.Reset()
			code := run(ctx, []string{"load", "--mode", mode, "--users", "20", "--concurrency", "4", "--duration", "500ms", "--warmup", "100ms",
				"--auth", auth, "--acct", acct}, &out, &errb)
			o := out.String()
			if code != 0 || num(o, "sent") == 0 || num(o, "accepted") != num(o, "sent") || num(o, "timed out") != 0 {
				t.Fatalf("load %s: exit %d\n%s%s", mode, code, o, errb.String())
			}
			if !regexp.MustCompile(`p50 \S+  p99 \S+  p999`).MatchString(o) {
				t.Fatalf("no latency percentiles:\n%s", o)
			}
		})
	}
}

// startRADIUS serves campusnet's RADIUS on st (a dorm area with a 20.00 fee
// and 1 PC + 1 mobile, one NAS on 127.0.0.1) until the test ends, and
// returns its authentication and accounting addresses.
func startRADIUS(t *testing.T, st *store.Store) (auth, acct string) {
	t.Helper()
	cfg, err := config.Parse(`
[[area]]
name = "dorm"
max_pc = 1
max_mobile = 1
fee = 20.00
[[nas]]
name = "b"
ip = "127.0.0.1"
secret = "testing123"
area = "dorm"
`, "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	aaa := store.NewAAA(st)
	svc, err := radius.New(radius.Config{Store: aaa, Areas: cfg.Areas, NAS: cfg.NAS})
	if err != nil {
		t.Fatal(err)
	}
	authConn, _ := net.ListenPacket("udp", "127.0.0.1:0")
	acctConn, _ := net.ListenPacket("udp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ctx, authConn, acctConn) }()
	t.Cleanup(func() { cancel(); <-done; aaa.Close() })
	return authConn.LocalAddr().String(), acctConn.LocalAddr().String()
}
