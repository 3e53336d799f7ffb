package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
)

// Retry policy: the first retry after BaseBackoff, doubling to MaxBackoff.
const (
	BaseBackoff = 10 * time.Second
	MaxBackoff  = time.Hour
)

// Defaults of Config.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMaxAttempts = 12
	DefaultInterval    = 5 * time.Second
	DefaultBatch       = 20
)

// Headers of each delivery.
const (
	HeaderSignature = "X-Campusnet-Signature" // "sha256=" + hex HMAC-SHA256 of the body under the secret
	HeaderEventID   = "X-Campusnet-Event-Id"  // the event's id, also "id" in the body
	HeaderEvent     = "X-Campusnet-Event"     // the event's name, also "event" in the body
)

// Store is what the sender needs of the database (*store.Store).
type Store interface {
	Now() time.Time
	ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]access.Notification, error)
	FinishNotification(ctx context.Context, id, claim int64, o store.NotificationOutcome) (bool, error)
	PendingNotifications(ctx context.Context) (int64, error)
}

// Config configures a Sender.
type Config struct {
	URL    string // [notify] webhook_url (http or https)
	Secret string // [notify] secret: the HMAC key of the signature
	// Timeout bounds one attempt ([notify] timeout, default 10 s).
	Timeout time.Duration
	// MaxAttempts is how many attempts an event gets before it is failed
	// ([notify] max_attempts, default 12).
	MaxAttempts int
	// Interval is how often Run looks for due events (default 5 s).
	Interval time.Duration
	// Batch is how many events one claim takes (default 20).
	Batch int
	// Client sends the requests (default: one with no redirects followed).
	Client *http.Client
	// Now is the clock (default the store's).
	Now func() time.Time
	// Jitter returns a number in [0, 1) that spreads the retries
	// (default math/rand/v2's Float64).
	Jitter func() float64
	Log    *slog.Logger
	// Registerer receives campusnet_notifications_total and
	// campusnet_notifications_pending; nil means none.
	Registerer prometheus.Registerer
}

// Sender delivers due events. Several may run on one database (one per
// node): a claim leases its events, so each is sent by one at a time.
type Sender struct {
	st  Store
	cfg Config
	log *slog.Logger

	sent    *prometheus.CounterVec
	pending prometheus.Gauge
}

// Report counts what one RunOnce did.
type Report struct {
	Delivered int // answered 2xx
	Retried   int // failed and due again later
	Failed    int // failed for the last time (max_attempts)
	Lost      int // outcomes not recorded: the claim had passed to another sender
}

// New returns a Sender posting to cfg.URL.
func New(st Store, cfg Config) (*Sender, error) {
	if st == nil {
		return nil, errors.New("notify: no store")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("notify: webhook_url %q: want an http:// or https:// URL", cfg.URL)
	}
	if cfg.Secret == "" {
		return nil, errors.New("notify: webhook_url needs a secret")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Client == nil {
		// A redirect is an answer that is not 2xx: following it would turn
		// the POST into a GET (RFC 9110 §15.4) and send nothing.
		cfg.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Now == nil {
		cfg.Now = st.Now
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Sender{st: st, cfg: cfg, log: cfg.Log}
	if err := s.metrics(cfg.Registerer); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Sender) metrics(reg prometheus.Registerer) error {
	s.sent = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campusnet_notifications_total",
		Help: "Webhook delivery attempts of students' events on this node, by event and result (delivered, retry, failed)."},
		[]string{"event", "result"})
	s.pending = prometheus.NewGauge(prometheus.GaugeOpts{Name: "campusnet_notifications_pending",
		Help: "Events recorded and not yet delivered nor failed (the whole database's, as this node last counted)."})
	for _, e := range []string{access.EventAllowance80, access.EventAllowance100, access.EventLowBalance, access.EventArrears,
		access.EventDeviceKicked, access.EventDeviceUnbound, access.EventPasswordChanged} {
		for _, r := range []string{"delivered", "retry", "failed"} {
			s.sent.WithLabelValues(e, r)
		}
	}
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{s.sent, s.pending} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("notify: metrics: %w", err)
		}
	}
	return nil
}

// Sign returns the X-Campusnet-Signature value of body: "sha256=" and the
// hex HMAC-SHA256 of the body under secret (as the payment webhook's).
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Backoff is the pause after the attempt-th failed attempt (1, 2, …): 10 s
// doubling to an hour, stretched by up to a quarter by jitter in [0, 1), so
// that events that failed together are not all retried together.
func Backoff(attempt int, jitter float64) time.Duration {
	d := MaxBackoff
	if attempt < 20 {
		d = min(BaseBackoff<<max(attempt-1, 0), MaxBackoff)
	}
	d += time.Duration(float64(d) * jitter / 4)
	return min(d, MaxBackoff)
}

// lease is how long a claim holds its events: long enough to try them all,
// one after another.
func (s *Sender) lease() time.Duration {
	return s.cfg.Timeout*time.Duration(s.cfg.Batch) + 30*time.Second
}

// RunOnce delivers every event due now, a claimed batch at a time.
func (s *Sender) RunOnce(ctx context.Context) (Report, error) {
	var rep Report
	for {
		batch, err := s.st.ClaimNotifications(ctx, s.cfg.Now(), s.lease(), s.cfg.Batch)
		if err != nil {
			return rep, err
		}
		for _, n := range batch {
			if ctx.Err() != nil {
				return rep, ctx.Err() // the rest are tried when the lease ends
			}
			s.deliver(ctx, n, &rep)
		}
		if len(batch) < s.cfg.Batch {
			break
		}
	}
	if n, err := s.st.PendingNotifications(ctx); err == nil {
		s.pending.Set(float64(n))
	}
	return rep, nil
}

// deliver makes one attempt and records its outcome.
func (s *Sender) deliver(ctx context.Context, n access.Notification, rep *Report) {
	status, err := s.post(ctx, n)
	if ctx.Err() != nil {
		return // shutting down: not the receiver's failure; the lease runs out
	}
	o := store.NotificationOutcome{Delivered: err == nil}
	result := "delivered"
	attempts := n.Attempts + 1
	if err != nil {
		o.Error = s.clean(err.Error())
		if attempts >= s.cfg.MaxAttempts {
			o.Failed, result = true, "failed"
		} else {
			o.NextAt, result = s.cfg.Now().Add(Backoff(attempts, s.cfg.Jitter())), "retry"
		}
	}
	ok, ferr := s.st.FinishNotification(context.WithoutCancel(ctx), n.ID, n.NextAt, o)
	switch {
	case ferr != nil:
		s.log.Error("notification outcome not recorded; it is tried again when its claim ends", "id", n.ID, "event", n.Event, "err", ferr)
		return
	case !ok:
		rep.Lost++
		s.log.Warn("notification claim lost meanwhile (retried by the NOC, or taken by another node)", "id", n.ID, "event", n.Event)
		return
	}
	s.sent.WithLabelValues(n.Event, result).Inc()
	switch result {
	case "delivered":
		rep.Delivered++
		s.log.Debug("notification delivered", "id", n.ID, "event", n.Event, "status", status, "attempts", attempts)
	case "retry":
		rep.Retried++
		s.log.Info("notification not delivered; retrying", "id", n.ID, "event", n.Event, "attempts", attempts,
			"next", o.NextAt.Format(time.RFC3339), "err", o.Error)
	default:
		rep.Failed++
		s.log.Warn("notification failed for good", "id", n.ID, "event", n.Event, "attempts", attempts, "err", o.Error)
	}
}

// post sends one event; an error is any answer but 2xx, or none.
func (s *Sender) post(ctx context.Context, n access.Notification) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	body := []byte(n.Payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "campusnet-notify")
	req.Header.Set(HeaderSignature, Sign([]byte(s.cfg.Secret), body))
	req.Header.Set(HeaderEventID, strconv.FormatInt(n.ID, 10))
	req.Header.Set(HeaderEvent, n.Event)
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may carry a token
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, fmt.Errorf("no answer within %s", s.cfg.Timeout)
		}
		return 0, err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := "HTTP " + resp.Status
		if t := strings.TrimSpace(string(snippet)); t != "" {
			msg += ": " + t
		}
		return resp.StatusCode, errors.New(msg)
	}
	return resp.StatusCode, nil
}

// clean makes an error fit last_error: one line of printable text, at most
// 300 bytes, without the secret.
func (s *Sender) clean(msg string) string {
	msg = strings.ReplaceAll(msg, s.cfg.Secret, "[secret]")
	msg = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, msg)
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > 300 {
		cut := 300
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

// Run delivers due events now and then every Interval until ctx ends.
func (s *Sender) Run(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		if rep, err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("notification run", "err", err, "delivered", rep.Delivered)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
