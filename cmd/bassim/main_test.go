package main

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	radiuslib "layeh.com/radius"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/internal/config"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/radius"
)

// TestSeedAndLoad seeds load-test accounts and runs each load mode briefly
// against a RADIUS service on SQLite: everything is answered and accepted.
// (`campusnet users seed-load` seeds them outside tests.)
func TestSeedAndLoad(t *testing.T) {
	dsn := storetest.SQLiteDSN(t)
	st := storetest.Open(t, dsn)
	ctx := context.Background()
	var out, errb bytes.Buffer
	seedLoadUsers(t, st, 20)
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
	svc, err := radius.New(radius.Config{Store: aaa, Areas: cfg.AccessAreas(), NAS: cfg.AccessBASes()})
	if err != nil {
		t.Fatal(err)
	}
	authConn := listenUDP(t)
	acctConn := listenUDP(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Serve(ctx, authConn, acctConn) }()
	t.Cleanup(func() { cancel(); <-done; aaa.Close() })
	return authConn.LocalAddr().String(), acctConn.LocalAddr().String()
}

// TestLoadCountsTimeouts: requests nobody answers are sent MaxTries times,
// then counted as timed out, and the workers go on with the next ones; a
// reply with the wrong authenticator (another secret) is not an answer.
func TestLoadCountsTimeouts(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var got atomic.Int64
	go func() {
		buf := make([]byte, 4096)
		for {
			n, from, err := silent.ReadFrom(buf)
			if err != nil {
				return
			}
			got.Add(1)
			// An Accounting-Response signed with another secret.
			p, err := radiuslib.Parse(buf[:n], []byte("testing123"))
			if err != nil {
				continue
			}
			p.Secret = []byte("another-secret")
			b, err := p.Response(radiuslib.CodeAccountingResponse).Encode()
			if err == nil {
				silent.WriteTo(b, from)
			}
		}
	}()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"load", "--mode", "acct", "--users", "4", "--concurrency", "2", "--duration", "400ms",
		"--warmup", "0s", "--retry", "40ms", "--tries", "2", "--acct", silent.LocalAddr().String()}, &out, &errb)
	o := out.String()
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, o, errb.String())
	}
	m := regexp.MustCompile(`sent (\d+)  accepted (\d+)  rejected \d+  timed out (\d+)`).FindStringSubmatch(o)
	if m == nil {
		t.Fatalf("no counts in:\n%s", o)
	}
	sent, _ := strconv.Atoi(m[1])
	accepted, _ := strconv.Atoi(m[2])
	timedOut, _ := strconv.Atoi(m[3])
	// Each request waits 2 × 40 ms: two workers finish about 10 in 400 ms.
	if accepted != 0 || timedOut < 4 || timedOut != sent {
		t.Fatalf("want only timeouts (several), got:\n%s", o)
	}
	if n := got.Load(); n < int64(2*timedOut) {
		t.Fatalf("the silent server got %d packets for %d requests sent twice each", n, timedOut)
	}
}

// seedLoadUsers creates the first n users of the load-test population with
// the default prefix and password, 100.00 yuan each and their PC bound, as
// `campusnet users seed-load` does.
func seedLoadUsers(t *testing.T, st *store.Store, n int) {
	t.Helper()
	ctx := context.Background()
	hash, err := identity.HashPassword("load-pass", identity.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		user := bas.LoadUser("loaduser", i)
		a, _, err := st.EnsureAccount(ctx, access.Account{Username: user, Name: "load test " + user, Role: access.RoleStudent, PasswordHash: hash})
		if err != nil {
			t.Fatal(err)
		}
		err = st.InTx(ctx, func(tx *sqlx.Tx) error {
			acc, err := st.LockAccount(ctx, tx, a.ID)
			if err != nil {
				return err
			}
			_, err = st.AddLedgerTx(ctx, tx, &acc, access.LedgerRecharge, 10000, "test", "seed:"+user, "load-test balance")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.BindDevice(ctx, a.ID, bas.LoadMAC(i), access.ClassPC, "test", "", 0); err != nil {
			t.Fatal(err)
		}
	}
}

// listenUDP opens a UDP socket on a free loopback port.
func listenUDP(t *testing.T) net.PacketConn {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLoadDualStack: with --ipv6-prefix the simulated users are dual stack:
// their Access-Requests and accounting carry the SLAAC address of their
// MAC in the /64, which the server records; a prefix that is not IPv6 is a
// usage error.
func TestLoadDualStack(t *testing.T) {
	st := storetest.NewSQLite(t)
	seedLoadUsers(t, st, 2)
	auth, acct := startRADIUS(t, st)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"load", "--mode", "mixed", "--users", "2", "--concurrency", "1", "--duration", "300ms",
		"--warmup", "0s", "--auth", auth, "--acct", acct, "--ipv6-prefix", "2001:db8:77::/64"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	got, err := st.SessionsByIPv6(context.Background(), netip.MustParsePrefix("2001:db8:77::/64"), time.Time{}, time.Time{}, 0)
	if err != nil || len(got) == 0 {
		t.Fatalf("no session in the IPv6 prefix: %v\n%s", err, out.String())
	}
	want := bas.EUI64(netip.MustParsePrefix("2001:db8:77::/64"), got[0].MAC).String()
	if got[0].IP6 != want || got[0].IP == "" {
		t.Fatalf("session %+v, want IPv6 %s beside its IPv4 address", got[0], want)
	}
	if code := run(context.Background(), []string{"load", "--ipv6-prefix", "10.0.0.0/8"}, &out, &errb); code == 0 {
		t.Fatal("an IPv4 --ipv6-prefix accepted")
	}
}
