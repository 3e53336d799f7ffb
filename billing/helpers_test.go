package billing

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
	cnradius "github.com/campusnet/campusnet/radius"
	"github.com/campusnet/campusnet/radius/radiusproto"
)

// t0 is when the tests' fake clock starts.
var t0 = time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)

const cycleLen = 720 * time.Hour

func testAreas() []access.Area {
	return []access.Area{
		{Name: "dorm", Fee: 2000, Cycle: cycleLen},
		{Name: "office"},
	}
}

// env is one test's billing world: a store on a fake clock, the service and
// a test BAS that answers Disconnect-Requests.
type env struct {
	t     *testing.T
	ctx   context.Context
	clock *storetest.Clock
	st    *store.Store
	svc   *Service
	bas   *testBAS
	reg   *prometheus.Registry
}

func newEnv(t *testing.T, kind string) *env {
	t.Helper()
	clock := storetest.NewClock(t0)
	st := storetest.New(t, kind, store.WithClock(clock.Now))
	return newEnvOn(t, st, clock)
}

func newEnvOn(t *testing.T, st *store.Store, clock *storetest.Clock) *env {
	t.Helper()
	bas := startBAS(t)
	reg := prometheus.NewRegistry()
	// The real Disconnector of the radius package, against the test BAS.
	disc := cnradius.NewDisconnector(cnradius.DisconnectorConfig{Store: st, Timeout: 200 * time.Millisecond, Tries: 3,
		NAS: []access.BAS{{Name: bas.nas.Name, IP: bas.nas.IP, Secret: string(bas.nas.Secret), CoAPort: bas.nas.CoAPort, Area: "dorm"}}})
	t.Cleanup(func() { disc.Close() })
	svc, err := New(st, Config{Areas: testAreas(), Registerer: reg, Disconnector: disc,
		PaymentURL: "https://pay.example.edu/"})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: context.Background(), clock: clock, st: st, svc: svc, bas: bas, reg: reg}
}

// account creates a student with an opening balance (a recharge).
func (e *env) account(user string, balance access.Fen) access.Account {
	e.t.Helper()
	_, _, err := e.st.EnsureAccount(e.ctx, access.Account{Username: user, Role: access.RoleStudent})
	if err != nil {
		e.t.Fatal(err)
	}
	if balance > 0 {
		if _, err := e.svc.Recharge(e.ctx, user, balance, "test", "open:"+user, "opening balance"); err != nil {
			e.t.Fatal(err)
		}
	}
	a, err := e.st.AccountByUsername(e.ctx, user)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *env) balance(user string) access.Fen {
	e.t.Helper()
	a, err := e.st.AccountByUsername(e.ctx, user)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.Balance
}

// online inserts a session that RADIUS would have: online in area, last
// heard of now.
func (e *env) online(a access.Account, area, mac, ip string) int64 {
	e.t.Helper()
	return storetest.AddOnlineSession(e.t, e.st, storetest.OnlineSession{Account: a, NAS: "test-bas", Area: area,
		MAC: mac, IP: ip, Class: "pc", At: e.clock.Now()})
}

// interim marks every live session heard of now (Interim-Update).
func (e *env) interim() {
	e.t.Helper()
	storetest.TouchOnlineSessions(e.t, e.st, e.clock.Now())
}

func (e *env) sessionStatus(id int64) (status access.SessionState, reason string) {
	e.t.Helper()
	s, err := e.st.SessionByID(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	status, reason = s.Status, s.CloseReason
	return status, reason
}

func (e *env) settle() SettleReport {
	e.t.Helper()
	rep, err := e.svc.Settle(e.ctx)
	if err != nil {
		e.t.Fatalf("settle: %v (%s)", err, rep)
	}
	return rep
}

func (e *env) verifyClean() {
	e.t.Helper()
	probs, err := e.svc.Verify(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range probs {
		e.t.Errorf("billing verify: %s %s: %s", p.Username, p.Kind, p.Detail)
	}
}

func (e *env) activeCycle(a access.Account, area string) (access.Cycle, bool) {
	e.t.Helper()
	var c access.Cycle
	found := false
	err := e.st.InTx(e.ctx, func(tx *sqlx.Tx) error {
		var err error
		c, err = e.st.ActiveCycleTx(e.ctx, tx, a.ID, area)
		found = err == nil
		if err != nil && !isNotFound(err) {
			return err
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c, found
}

func (e *env) countLedger(kind access.LedgerKind) int {
	e.t.Helper()
	return storetest.CountLedger(e.t, e.st, kind)
}

// testBAS answers Disconnect-Requests on 127.0.0.1 as a BAS would, and
// records what it was asked.
type testBAS struct {
	nas *radiusproto.NAS
	mu  sync.Mutex
	got []basRequest
	nak int // Error-Cause of the NAK to answer; 0 = ACK
}

type basRequest struct {
	User, AcctSessionID, FramedIP string
}

func startBAS(t *testing.T) *testBAS {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("testing123")
	b := &testBAS{nas: &radiusproto.NAS{Name: "test-bas", IP: netip.MustParseAddr("127.0.0.1"), Secret: secret,
		CoAPort: conn.LocalAddr().(*net.UDPAddr).Port}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = radiusproto.ListenDisconnect(conn, secret, func(req *radius.Packet) (bool, int) {
			r := basRequest{User: rfc2865.UserName_GetString(req), AcctSessionID: rfc2866.AcctSessionID_GetString(req)}
			if ip := rfc2865.FramedIPAddress_Get(req); ip != nil {
				r.FramedIP = ip.String()
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			b.got = append(b.got, r)
			if b.nak != 0 {
				return false, b.nak
			}
			return true, 0
		})
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return b
}

func isNotFound(err error) bool { return errors.Is(err, access.ErrNotFound) }

func (b *testBAS) setNAK(nak int) {
	b.mu.Lock()
	b.nak = nak
	b.mu.Unlock()
}

func (b *testBAS) requests() []basRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]basRequest(nil), b.got...)
}
