package radius_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/internal/config"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/logintoken"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/radius"
	"github.com/campusnet/campusnet/radius/radiusproto"
)

const (
	secret   = "testing123"
	interim  = 300 * time.Second
	reserveT = 60 * time.Second
)

// testConfig is a campus with a dorm (1 PC + 1 mobile, 20 yuan, seamless),
// a free office, a staff-only lab and a dorm that replaces the oldest
// device, each with its BAS on its own loopback address.
const testConfig = `
[[area]]
name = "dorm"
max_pc = 1
max_mobile = 1
fee = 20.00
seamless = true

[[area]]
name = "office"
fee = 0

[[area]]
name = "lab"
roles = ["staff"]

[[area]]
name = "dorm2"
max_pc = 1
max_mobile = 1
on_limit = "replace_oldest"

[[nas]]
name = "dorm-bras-1"
ip = "127.0.0.1"
secret = "testing123"
area = "dorm"

[[nas]]
name = "office-ac"
ip = "127.0.0.2"
secret = "testing123"
area = "office"

[[nas]]
name = "lab-ac"
ip = "127.0.0.3"
secret = "testing123"
area = "lab"
require_message_authenticator = false

[[nas]]
name = "dorm2-bras"
ip = "127.0.0.4"
secret = "testing123"
area = "dorm2"
`

// env is a running RADIUS service on a real store, with its clock.
type env struct {
	t        testing.TB
	st       *store.Store
	clock    *storetest.Clock
	cfg      *config.Config
	svc      *radius.Service
	key      logintoken.Key
	authAddr string
	acctAddr string
	disc     *radius.Disconnector
	cancel   context.CancelFunc
	done     chan error
	coa      map[string]string // NAS name → its Disconnect listen address
}

type envOption func(*radius.Config)

func withBatch(size, workers int) envOption {
	return func(c *radius.Config) { c.BatchSize, c.BatchWorkers = size, workers }
}

// startEnv runs the service on st (a fresh store of kind when st is nil).
func startEnv(t testing.TB, kind string, opts ...envOption) *env {
	t.Helper()
	clock := storetest.NewClock(time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC))
	st := storetest.New(t, kind, store.WithClock(clock.Now))
	return startEnvOn(t, st, clock, opts...)
}

func startEnvOn(t testing.TB, st *store.Store, clock *storetest.Clock, opts ...envOption) *env {
	t.Helper()
	return startEnvConfig(t, testConfig, st, clock, opts...)
}

// startEnvConfig is startEnvOn with another configuration file.
func startEnvConfig(t testing.TB, conf string, st *store.Store, clock *storetest.Clock, opts ...envOption) *env {
	t.Helper()
	cfg, err := config.Parse(conf, "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, clock: clock, cfg: cfg, key: logintoken.NewKey(), done: make(chan error, 1), coa: map[string]string{}}
	// Each BAS's Disconnect port: a free port on its address.
	for i := range cfg.NAS {
		n := &cfg.NAS[i]
		c, err := net.ListenPacket("udp", netip.AddrPortFrom(n.Addr, 0).String())
		if err != nil {
			t.Fatal(err)
		}
		n.CoAPort = c.LocalAddr().(*net.UDPAddr).Port
		e.coa[n.Name] = c.LocalAddr().String()
		c.Close()
	}
	e.disc = newDisc(e)
	t.Cleanup(func() { e.disc.Close() })
	rc := radius.Config{
		Store: store.NewAAA(st), Areas: cfg.AccessAreas(), NAS: cfg.AccessBASes(),
		Identity: identity.NewLocal(identity.FromAccounts(st), identity.InitialParams, nil),
		TokenKey: e.key, InterimInterval: interim, ReserveTimeout: reserveT,
		SessionTimeout: 8 * time.Hour, Node: "t1", Disconnector: e.disc,
		BatchGather: access.DefaultBatchGather, // as the configuration file has it
		Now:         clock.Now, Registerer: prometheus.NewRegistry(), Log: testLog(t),
	}
	for _, o := range opts {
		o(&rc)
	}
	svc, err := radius.New(rc)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	auth, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acct, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.authAddr, e.acctAddr = auth.LocalAddr().String(), acct.LocalAddr().String()
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go func() { e.done <- svc.Serve(ctx, auth, acct) }()
	t.Cleanup(e.stop)
	return e
}

// stop shuts the service down (flushing the authentication log).
func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	if err := <-e.done; err != nil {
		e.t.Errorf("serve: %v", err)
	}
}

// bas returns a simulated BAS at the NAS's address. It waits 1 s before
// resending, as a real BAS does: no test here expects silence from it, and
// a loaded CI machine (race detector, PostgreSQL, parallel packages) can
// take longer than a shorter budget to answer.
func (e *env) bas(nas string) *bas.BAS {
	e.t.Helper()
	return e.basRetry(nas, time.Second)
}

// basRetry is bas with the BAS's retransmission interval (3 tries).
func (e *env) basRetry(nas string, retry time.Duration) *bas.BAS {
	e.t.Helper()
	n, ok := e.cfg.NASByName(nas)
	if !ok {
		e.t.Fatalf("no NAS %s", nas)
	}
	b := bas.New(bas.Config{NASIP: n.Addr, Secret: n.Secret, AuthAddr: e.authAddr, AcctAddr: e.acctAddr,
		CoAListen: e.coa[nas], Retry: retry, MaxTries: 3})
	e.t.Cleanup(func() { b.Close() })
	return b
}

// serveCoA makes the BAS answer Disconnect-Requests until the test ends.
func (e *env) serveCoA(b *bas.BAS) {
	e.t.Helper()
	if _, err := b.ListenCoA(); err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.ServeCoA(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			e.t.Errorf("ServeCoA: %v", err)
		}
	})
}

// account creates an account with a password and a balance in fen.
func (e *env) account(user, pass string, role access.Role, balance access.Fen) access.Account {
	e.t.Helper()
	ctx := context.Background()
	hash, err := identity.HashPassword(pass, identity.InitialParams)
	if err != nil {
		e.t.Fatal(err)
	}
	a, _, err := e.st.EnsureAccount(ctx, access.Account{Username: user, Name: user, Role: role, PasswordHash: hash})
	if err != nil {
		e.t.Fatal(err)
	}
	if balance != 0 {
		e.recharge(a, balance)
	}
	a, _ = e.st.AccountByUsername(ctx, user)
	return a
}

func (e *env) recharge(a access.Account, amount access.Fen) {
	e.t.Helper()
	ctx := context.Background()
	err := e.st.InTx(ctx, func(tx *sqlx.Tx) error {
		acc, err := e.st.LockAccount(ctx, tx, a.ID)
		if err != nil {
			return err
		}
		_, err = e.st.AddLedgerTx(ctx, tx, &acc, access.LedgerRecharge, amount, "test", fmt.Sprintf("test:%d:%d", a.ID, time.Now().UnixNano()), "")
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// token stores a portal login token and returns it in clear.
func (e *env) token(a access.Account, mac, ip string, class access.Class) (string, int64) {
	e.t.Helper()
	nonce := logintoken.NewNonce()
	now := e.clock.Now()
	id, err := e.st.CreateLoginToken(context.Background(), access.LoginToken{Nonce: nonce, AccountID: a.ID, Username: a.Username,
		IP: ip, MAC: mac, Class: class, CreatedAt: access.Millis(now), ExpiresAt: access.Millis(now.Add(time.Minute))})
	if err != nil {
		e.t.Fatal(err)
	}
	return logintoken.Derive(e.key, nonce), id
}

// bind binds a MAC to an account as an operator would.
func (e *env) bind(a access.Account, mac string, class access.Class) {
	e.t.Helper()
	m, err := access.NormalizeMAC(mac)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.BindDevice(context.Background(), a.ID, m, class, "op", "", 0); err != nil {
		e.t.Fatal(err)
	}
}

// sessions returns the account's sessions, oldest first.
func (e *env) sessions(a access.Account, liveOnly bool) []access.Session {
	e.t.Helper()
	list, err := e.st.SessionsByAccount(context.Background(), a.ID, liveOnly)
	if err != nil {
		e.t.Fatal(err)
	}
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list
}

// authLog returns the authentication log of a user name (after stop).
func (e *env) authLog(user string) []access.AuthLogEntry {
	e.t.Helper()
	list, err := e.st.AuthLog(context.Background(), user, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return list
}

// mustAuth authenticates and fails the test on a transport error.
func mustAuth(t testing.TB, b *bas.BAS, r bas.AuthRequest) bas.AuthResult {
	t.Helper()
	res, err := b.Authenticate(context.Background(), r)
	if err != nil {
		t.Fatalf("authenticate %+v: %v", r.UserName, err)
	}
	return res
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// testLog is the service's log: warnings and errors go to the test log.
func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// encodeAcct is an Accounting-Request Start, signed, on the wire.
func encodeAcct(t testing.TB, acctSessionID, user string) []byte {
	t.Helper()
	p := layeh.New(layeh.CodeAccountingRequest, []byte(secret))
	mustSet(t, rfc2866.AcctStatusType_Add(p, rfc2866.AcctStatusType_Value_Start))
	mustSet(t, rfc2866.AcctSessionID_AddString(p, acctSessionID))
	mustSet(t, rfc2865.UserName_AddString(p, user))
	p.Identifier = 42
	b, err := radiusproto.EncodeRequest(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newDisc is a Disconnector for the env's current configuration.
func newDisc(e *env) *radius.Disconnector {
	d := radius.NewDisconnector(radius.DisconnectorConfig{Store: e.st, NAS: e.cfg.AccessBASes(), Timeout: 200 * time.Millisecond, Tries: 2})
	e.t.Cleanup(func() { d.Close() })
	return d
}

// mustSet fails the test when setting an attribute failed (a value too long
// for one attribute).
func mustSet(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
