package notify

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
)

var t0 = time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC)

const secret = "s3cret-webhook-key"

// receiver is a real HTTP server on loopback that checks each delivery's
// signature as a campus's receiver would, and answers with the statuses it
// is given (then 200).
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []delivery
	// answers are the statuses of the next requests; 200 once used up.
	answers []int
	// delay holds each answer back (a slow receiver).
	delay time.Duration
	// inFlight counts requests of one id being served at once.
	inFlight map[string]int
	overlap  int
}

type delivery struct {
	id, event, contentType string
	signed                 bool
	body                   []byte
}

func newReceiver(t *testing.T, answers ...int) *receiver {
	r := &receiver{answers: answers, inFlight: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Errorf("receiver: %v", err)
		}
		id := req.Header.Get(HeaderEventID)
		// The receiver's check: HMAC-SHA256 of the raw body under the shared
		// secret, compared in constant time.
		want := Sign([]byte(secret), body)
		signed := hmac.Equal([]byte(req.Header.Get(HeaderSignature)), []byte(want))
		r.mu.Lock()
		r.inFlight[id]++
		if r.inFlight[id] > 1 {
			r.overlap++
		}
		status := http.StatusOK
		if len(r.answers) > 0 {
			status, r.answers = r.answers[0], r.answers[1:]
		}
		r.got = append(r.got, delivery{id: id, event: req.Header.Get(HeaderEvent), contentType: req.Header.Get("Content-Type"), signed: signed, body: body})
		delay := r.delay
		r.mu.Unlock()
		time.Sleep(delay)
		r.mu.Lock()
		r.inFlight[id]--
		r.mu.Unlock()
		w.WriteHeader(status)
		fmt.Fprintf(w, "status %d", status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

type env struct {
	t     *testing.T
	ctx   context.Context
	clock *storetest.Clock
	st    *store.Store
	reg   *prometheus.Registry
}

func newEnv(t *testing.T, kind string) *env {
	clock := storetest.NewClock(t0)
	return &env{t: t, ctx: context.Background(), clock: clock, st: storetest.New(t, kind, store.WithClock(clock.Now)), reg: prometheus.NewRegistry()}
}

func (e *env) sender(url string, cfg Config) *Sender {
	e.t.Helper()
	cfg.URL, cfg.Secret = url, secret
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func() float64 { return 0 }
	}
	if cfg.Registerer == nil {
		cfg.Registerer = e.reg
	}
	s, err := New(e.st, cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) account(user string) access.Account {
	e.t.Helper()
	if _, _, err := e.st.EnsureAccount(e.ctx, access.Account{Username: user, Role: access.RoleStudent}); err != nil {
		e.t.Fatal(err)
	}
	a, err := e.st.AccountByUsername(e.ctx, user)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// record writes an event as the causing code does: in a transaction.
func (e *env) record(st *store.Store, acc access.Account, event, key string) bool {
	e.t.Helper()
	var added bool
	err := st.InTx(e.ctx, func(tx *sqlx.Tx) error {
		var err error
		added, err = st.AddNotificationTx(e.ctx, tx, event, key, acc, map[string]any{"mac": "00:11:22:33:44:55"})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return added
}

func (e *env) only() access.Notification {
	e.t.Helper()
	list, err := e.st.Notifications(e.ctx, store.NotificationFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(list) != 1 {
		e.t.Fatalf("want 1 notification, got %d: %+v", len(list), list)
	}
	return list[0]
}

func (e *env) run(s *Sender) Report {
	e.t.Helper()
	rep, err := s.RunOnce(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return rep
}

func TestDeliveredSigned(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind)
			r := newReceiver(t)
			acc := e.account("2026001")
			if !e.record(e.st, acc, access.EventDeviceUnbound, "unbind:1:1") {
				t.Fatal("event not added")
			}
			s := e.sender(r.srv.URL+"/campusnet", Config{})
			if rep := e.run(s); rep.Delivered != 1 {
				t.Fatalf("report %+v, want 1 delivered", rep)
			}
			got := r.deliveries()
			if len(got) != 1 {
				t.Fatalf("receiver got %d requests, want 1", len(got))
			}
			d := got[0]
			if !d.signed {
				t.Error("the receiver could not verify the signature")
			}
			if d.contentType != "application/json" || d.event != access.EventDeviceUnbound {
				t.Errorf("headers: content type %q, event %q", d.contentType, d.event)
			}
			var body struct {
				ID      int64          `json:"id"`
				Event   string         `json:"event"`
				Account string         `json:"account"`
				At      string         `json:"at"`
				Data    map[string]any `json:"data"`
			}
			if err := json.Unmarshal(d.body, &body); err != nil {
				t.Fatalf("body %s: %v", d.body, err)
			}
			if strconv.FormatInt(body.ID, 10) != d.id || body.Event != access.EventDeviceUnbound || body.Account != "2026001" ||
				body.At != "2026-12-04T10:00:00+08:00" || body.Data["mac"] != "00:11:22:33:44:55" {
				t.Errorf("body %s with id header %s", d.body, d.id)
			}
			n := e.only()
			if n.Status != "delivered" || n.Attempts != 1 || n.DeliveredAt != access.Millis(t0) {
				t.Errorf("row %+v, want delivered after 1 attempt at t0", n)
			}
			if v := counterValue(s.sent.WithLabelValues(access.EventDeviceUnbound, "delivered")); v != 1 {
				t.Errorf("campusnet_notifications_total delivered = %v", v)
			}
			if v := gaugeValue(s.pending); v != 0 {
				t.Errorf("campusnet_notifications_pending = %v", v)
			}
			// Nothing more to send: the receiver hears nothing again.
			e.clock.Advance(2 * time.Hour)
			e.run(s)
			if len(r.deliveries()) != 1 {
				t.Errorf("a delivered event was sent again")
			}
		})
	}
}

func TestRetryAfterBackoff(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind)
			r := newReceiver(t, http.StatusInternalServerError)
			acc := e.account("2026001")
			e.record(e.st, acc, access.EventPasswordChanged, "password:1:1")
			s := e.sender(r.srv.URL, Config{})
			if rep := e.run(s); rep.Retried != 1 {
				t.Fatalf("first run %+v, want 1 retried", rep)
			}
			n := e.only()
			if n.Status != "pending" || n.Attempts != 1 || n.NextAt != access.Millis(t0.Add(10*time.Second)) ||
				!strings.Contains(n.LastError, "HTTP 500") {
				t.Fatalf("after a 500: %+v", n)
			}
			if v := gaugeValue(s.pending); v != 1 {
				t.Errorf("campusnet_notifications_pending = %v, want 1", v)
			}
			// Not before the backoff.
			e.clock.Advance(9 * time.Second)
			e.run(s)
			if len(r.deliveries()) != 1 {
				t.Fatalf("retried before the backoff: %d requests", len(r.deliveries()))
			}
			e.clock.Advance(time.Second)
			if rep := e.run(s); rep.Delivered != 1 {
				t.Fatalf("after the backoff %+v, want delivered", rep)
			}
			got := r.deliveries()
			if len(got) != 2 || got[0].id != got[1].id || string(got[0].body) != string(got[1].body) || !got[1].signed {
				t.Fatalf("deliveries %+v", got)
			}
			n = e.only()
			if n.Status != "delivered" || n.Attempts != 2 || n.LastError != "" {
				t.Errorf("after the retry: %+v", n)
			}
		})
	}
}

func TestBackoffSchedule(t *testing.T) {
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second,
		320 * time.Second, 640 * time.Second, 1280 * time.Second, 2560 * time.Second, time.Hour, time.Hour}
	for i, w := range want {
		if got := Backoff(i+1, 0); got != w {
			t.Errorf("Backoff(%d) = %s, want %s", i+1, got, w)
		}
	}
	if got := Backoff(1, 0.999); got < 12*time.Second || got > 12500*time.Millisecond {
		t.Errorf("Backoff(1) with most jitter = %s, want about 12.5 s", got)
	}
	if got := Backoff(10, 0.999); got != time.Hour {
		t.Errorf("Backoff(10) with jitter = %s, want capped at 1 h", got)
	}
	if got := Backoff(1000, 0.5); got != time.Hour {
		t.Errorf("Backoff(1000) = %s", got)
	}
}

func TestFailedAfterMaxAttempts(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind)
			// A refused connection: a port nothing listens on.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			url := "http://" + ln.Addr().String() + "/hook?token=" + secret
			ln.Close()
			acc := e.account("2026001")
			e.record(e.st, acc, access.EventDeviceKicked, "kick:7")
			s := e.sender(url, Config{MaxAttempts: 3})
			for i := 1; i <= 3; i++ {
				rep := e.run(s)
				n := e.only()
				if n.Attempts != i {
					t.Fatalf("attempt %d: row %+v", i, n)
				}
				if i < 3 && (rep.Retried != 1 || n.Status != "pending") {
					t.Fatalf("attempt %d: %+v, row %+v", i, rep, n)
				}
				if !strings.Contains(n.LastError, "refused") || strings.Contains(n.LastError, secret) {
					t.Fatalf("last_error %q: want the refusal, never the secret", n.LastError)
				}
				e.clock.Advance(time.Hour)
			}
			n := e.only()
			if n.Status != "failed" || n.Attempts != 3 {
				t.Fatalf("after max_attempts: %+v", n)
			}
			if v := counterValue(s.sent.WithLabelValues(access.EventDeviceKicked, "failed")); v != 1 {
				t.Errorf("failed counter %v", v)
			}
			// A failed event is left alone…
			e.clock.Advance(24 * time.Hour)
			if rep := e.run(s); rep != (Report{}) {
				t.Fatalf("failed event tried again: %+v", rep)
			}
			// …until the NOC retries it: then it has max_attempts afresh.
			if _, err := e.st.RetryNotification(e.ctx, "noc-op", n.ID, "receiver fixed"); err != nil {
				t.Fatal(err)
			}
			r := newReceiver(t)
			s2 := e.sender(r.srv.URL, Config{MaxAttempts: 3, Registerer: prometheus.NewRegistry()})
			if rep := e.run(s2); rep.Delivered != 1 {
				t.Fatalf("after the retry: %+v", rep)
			}
			if _, err := e.st.RetryNotification(e.ctx, "noc-op", 999999, "x"); err == nil {
				t.Error("retry of an unknown id succeeded")
			}
			audit, err := e.st.AuditLog(e.ctx, "2026001", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(audit) == 0 || audit[0].Action != "notification.retry" || audit[0].Actor != "noc-op" {
				t.Errorf("retry not audited: %+v", audit)
			}
		})
	}
}

func TestTimeoutRetried(t *testing.T) {
	e := newEnv(t, "sqlite")
	r := newReceiver(t)
	r.delay = 500 * time.Millisecond
	e.record(e.st, e.account("2026001"), access.EventArrears, "arrears:1")
	s := e.sender(r.srv.URL, Config{Timeout: 100 * time.Millisecond})
	if rep := e.run(s); rep.Retried != 1 {
		t.Fatalf("%+v", rep)
	}
	if n := e.only(); n.Status != "pending" || !strings.Contains(n.LastError, "no answer within 100ms") {
		t.Fatalf("%+v", n)
	}
}

// The same key written twice — a retried transaction, or two nodes that
// both saw the cause — is one row, delivered once.
func TestSameKeyOnce(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind)
			dsn := storetest.DSN(t, kind)
			node1 := storetest.Open(t, dsn, store.WithClock(e.clock.Now))
			node2 := storetest.Open(t, dsn, store.WithClock(e.clock.Now))
			e.st = node1
			acc := e.account("2026001")
			var wg sync.WaitGroup
			added := make([]bool, 8)
			for i := range added {
				wg.Add(1)
				go func() {
					defer wg.Done()
					st := node1
					if i%2 == 1 {
						st = node2
					}
					err := st.InTx(e.ctx, func(tx *sqlx.Tx) error {
						var err error
						added[i], err = st.AddNotificationTx(e.ctx, tx, access.EventLowBalance, "low_balance:42", acc, nil)
						return err
					})
					if err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			n := 0
			for _, a := range added {
				if a {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%d writers report the event added, want 1", n)
			}
			// A transaction that wrote it and then failed leaves nothing.
			boom := fmt.Errorf("boom")
			err := node2.InTx(e.ctx, func(tx *sqlx.Tx) error {
				if _, err := node2.AddNotificationTx(e.ctx, tx, access.EventLowBalance, "low_balance:43", acc, nil); err != nil {
					return err
				}
				return boom
			})
			if err != boom {
				t.Fatalf("rolled-back transaction: %v", err)
			}
			r := newReceiver(t)
			e.run(e.sender(r.srv.URL, Config{}))
			if got := r.deliveries(); len(got) != 1 || got[0].event != access.EventLowBalance {
				t.Fatalf("deliveries %+v, want one low_balance", got)
			}
		})
	}
}

// Two senders (two nodes) on one PostgreSQL never deliver an event twice,
// nor one event at the same time.
func TestTwoSendersPostgres(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	clock := storetest.NewClock(t0)
	node1 := storetest.Open(t, dsn, store.WithClock(clock.Now))
	node2 := storetest.Open(t, dsn, store.WithClock(clock.Now))
	e := &env{t: t, ctx: context.Background(), clock: clock, st: node1, reg: prometheus.NewRegistry()}
	acc := e.account("2026001")
	const events = 60
	for i := range events {
		e.record(node1, acc, access.EventDeviceKicked, fmt.Sprintf("kick:%d", i))
	}
	r := newReceiver(t)
	r.delay = 5 * time.Millisecond
	s1 := e.sender(r.srv.URL, Config{Batch: 5})
	e.st = node2
	s2 := e.sender(r.srv.URL, Config{Batch: 5, Registerer: prometheus.NewRegistry()})
	var wg sync.WaitGroup
	reps := make([]Report, 2)
	for i, s := range []*Sender{s1, s2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := s.RunOnce(e.ctx)
			if err != nil {
				t.Error(err)
			}
			reps[i] = rep
		}()
	}
	wg.Wait()
	got := r.deliveries()
	seen := map[string]int{}
	for _, d := range got {
		seen[d.id]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
	if len(seen) != events || r.overlap != 0 {
		t.Fatalf("%d events delivered of %d, %d overlapping deliveries", len(seen), events, r.overlap)
	}
	if reps[0].Delivered == 0 || reps[1].Delivered == 0 || reps[0].Delivered+reps[1].Delivered != events {
		t.Errorf("reports %+v: both nodes should have sent a share", reps)
	}
	pending, err := node1.PendingNotifications(e.ctx)
	if err != nil || pending != 0 {
		t.Errorf("pending %d, %v", pending, err)
	}
}

// A sender that dies after claiming leaves its events to another once the
// lease has run out, and not before.
func TestLeaseExpires(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind)
			e.record(e.st, e.account("2026001"), access.EventDeviceUnbound, "unbind:1:1")
			claimed, err := e.st.ClaimNotifications(e.ctx, e.clock.Now(), time.Minute, 10)
			if err != nil || len(claimed) != 1 {
				t.Fatalf("claim: %v %v", claimed, err)
			}
			r := newReceiver(t)
			s := e.sender(r.srv.URL, Config{})
			e.run(s)
			if len(r.deliveries()) != 0 {
				t.Fatal("a claimed event was sent by another sender")
			}
			e.clock.Advance(time.Minute)
			if rep := e.run(s); rep.Delivered != 1 {
				t.Fatalf("after the lease: %+v", rep)
			}
			// The dead sender's late outcome changes nothing.
			ok, err := e.st.FinishNotification(e.ctx, claimed[0].ID, claimed[0].NextAt, store.NotificationOutcome{Error: "late"})
			if err != nil || ok {
				t.Fatalf("stale claim finished: %v %v", ok, err)
			}
			if n := e.only(); n.Status != "delivered" {
				t.Errorf("%+v", n)
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	e := newEnv(t, "sqlite")
	for _, c := range []Config{{URL: "ftp://x/", Secret: "k"}, {URL: "http://x/"}, {URL: "", Secret: "k"}, {URL: "http://\x00/", Secret: "k"}} {
		if _, err := New(e.st, c); err == nil {
			t.Errorf("New(%q) accepted", c.URL)
		}
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

func gaugeValue(g prometheus.Gauge) float64 {
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		return -1
	}
	return m.GetGauge().GetValue()
}
