package billing

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusnet/campusnet/internal/access"
)

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the raw body>".
const SignatureHeader = "X-Campusnet-Signature"

// PaymentActor is the ledger actor of the payment platform's recharges.
const PaymentActor = "payment"

// Limits of a payment notification.
const (
	maxWebhookBody = 16 << 10
	maxOrderID     = 128
	maxAccount     = 128
)

// ErrNotification: a payment notification body that is not what the
// contract says (decoding, missing or malformed fields).
var ErrNotification = errors.New("billing: malformed payment notification")

// Notification is the payment platform's webhook body.
type Notification struct {
	OrderID   string     `json:"order_id"`
	Account   string     `json:"account"`
	AmountFen access.Fen `json:"amount_fen"`
	PaidAt    time.Time  `json:"paid_at"`
}

// DecodeNotification parses and checks a webhook body: one JSON object with
// a non-empty printable order_id and account, an integer amount_fen and an
// RFC 3339 paid_at. Unknown fields are ignored; anything after the object is
// refused. The amount's range is the caller's to check.
func DecodeNotification(body []byte) (Notification, error) {
	var raw struct {
		OrderID   *string `json:"order_id"`
		Account   *string `json:"account"`
		AmountFen *int64  `json:"amount_fen"`
		PaidAt    *string `json:"paid_at"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil {
		return Notification{}, fmt.Errorf("%w: %v", ErrNotification, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Notification{}, fmt.Errorf("%w: data after the JSON object", ErrNotification)
	}
	var n Notification
	switch {
	case raw.OrderID == nil || raw.Account == nil || raw.AmountFen == nil || raw.PaidAt == nil:
		return n, fmt.Errorf("%w: order_id, account, amount_fen and paid_at are all required", ErrNotification)
	case !printable(*raw.OrderID, maxOrderID):
		return n, fmt.Errorf("%w: order_id must be 1 to %d printable characters", ErrNotification, maxOrderID)
	case !printable(*raw.Account, maxAccount):
		return n, fmt.Errorf("%w: account must be 1 to %d printable characters", ErrNotification, maxAccount)
	}
	paid, err := time.Parse(time.RFC3339, *raw.PaidAt)
	if err != nil {
		return n, fmt.Errorf("%w: paid_at is not an RFC 3339 time (2026-11-22T08:00:00Z)", ErrNotification)
	}
	if y := paid.UTC().Year(); y < 2000 || y > 2999 {
		return n, fmt.Errorf("%w: paid_at %q is not a plausible payment time", ErrNotification, *raw.PaidAt)
	}
	n = Notification{OrderID: *raw.OrderID, Account: *raw.Account, AmountFen: access.Fen(*raw.AmountFen), PaidAt: paid.UTC()}
	return n, nil
}

func printable(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// Sign returns the X-Campusnet-Signature value for body under secret (what
// the payment platform computes).
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// checkSignature verifies header against body in constant time.
func checkSignature(secret, body []byte, header string) bool {
	if len(secret) == 0 {
		return false
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// WebhookConfig configures NewWebhook.
type WebhookConfig struct {
	// Secret is the HMAC-SHA256 key shared with the payment platform
	// ([selfservice] payment_secret). Empty refuses every notification.
	Secret []byte
	// MaxAmount bounds one recharge (default 2000.00 yuan).
	MaxAmount access.Fen
	// Location is the campus time zone of the payment time in the ledger
	// note ([server] timezone; default access.DefaultLocation).
	Location *time.Location
	// AfterCredit, when set, runs after a recharge is recorded (not for a
	// replay), in a goroutine of its own so that the platform's answer
	// never waits for a BAS: Service.LiftGarden, which lifts the walled
	// garden.
	AfterCredit func(ctx context.Context, accountID int64)
}

// WebhookReply is the JSON answer to an accepted notification. A replay of
// the same order gets the same answer and changes nothing.
type WebhookReply struct {
	Result       string     `json:"result"` // "credited"
	OrderID      string     `json:"order_id"`
	Account      string     `json:"account"`
	AmountFen    access.Fen `json:"amount_fen"`
	BalanceAfter access.Fen `json:"balance_after_fen"`
	LedgerID     int64      `json:"ledger_id"`
}

// WebhookError is the JSON answer to a refused notification.
type WebhookError struct {
	Error   string `json:"error"` // bad_signature, malformed, unknown_account, bad_amount, order_conflict, …
	Message string `json:"message"`
}

type webhook struct {
	st       Store
	cfg      WebhookConfig
	log      *slog.Logger
	payments *prometheus.CounterVec
}

// NewWebhook returns the payment platform's webhook (POST, JSON body
// {"order_id","account","amount_fen","paid_at"}, header X-Campusnet-Signature:
// sha256=<hex HMAC-SHA256 of the raw body>). Self-service mounts it at POST
// /api/v1/payments/notify.
//
// Answers: 200 with WebhookReply when credited (and, identically, for a
// replay of the order); 401 bad signature; 400 malformed body; 404 unknown
// account; 422 amount ≤ 0 or above MaxAmount; 409 an order id seen before
// with another account or amount; 405, 413; 500 when the store fails (the
// platform retries). Nothing is stored unless the answer is 200.
func NewWebhook(st Store, cfg WebhookConfig, log *slog.Logger, reg prometheus.Registerer) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxAmount <= 0 {
		cfg.MaxAmount = 200000
	}
	if cfg.Location == nil {
		cfg.Location = access.DefaultLocation()
	}
	payments := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "campusnet_payments_total",
		Help: "Payment platform notifications, by result (credited, replay, bad_signature, malformed, unknown_account, bad_amount, order_conflict, error).",
	}, []string{"result"})
	if p, err := register(reg, payments); err != nil {
		log.Warn("payments metric not registered", "err", err)
	} else {
		payments = p
	}
	return &webhook{st: st, cfg: cfg, log: log, payments: payments}
}

func (h *webhook) refuse(w http.ResponseWriter, status int, code, format string, args ...any) {
	h.payments.WithLabelValues(code).Inc()
	writeJSON(w, status, WebhookError{Error: code, Message: fmt.Sprintf(format, args...)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.refuse(w, http.StatusMethodNotAllowed, "method", "POST only")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.refuse(w, http.StatusRequestEntityTooLarge, "too_large", "body over %d bytes", maxWebhookBody)
			return
		}
		h.refuse(w, http.StatusBadRequest, "malformed", "could not read the body")
		return
	}
	if !checkSignature(h.cfg.Secret, body, r.Header.Get(SignatureHeader)) {
		h.log.Warn("payment notification with a bad signature", "remote", r.RemoteAddr, "bytes", len(body))
		h.refuse(w, http.StatusUnauthorized, "bad_signature", "%s must be sha256=<hex HMAC-SHA256 of the raw body under the shared secret>", SignatureHeader)
		return
	}
	n, err := DecodeNotification(body)
	if err != nil {
		h.log.Warn("malformed payment notification", "remote", r.RemoteAddr, "err", err)
		h.refuse(w, http.StatusBadRequest, "malformed", "%v", err)
		return
	}
	if n.AmountFen <= 0 || n.AmountFen > h.cfg.MaxAmount {
		h.log.Warn("payment notification amount out of range", "order", n.OrderID, "account", n.Account, "amount_fen", int64(n.AmountFen))
		h.refuse(w, http.StatusUnprocessableEntity, "bad_amount", "amount_fen must be from 1 to %d (%s yuan), got %d", int64(h.cfg.MaxAmount), h.cfg.MaxAmount, int64(n.AmountFen))
		return
	}
	reply, status, code, err := h.credit(r.Context(), n)
	if err != nil {
		if status == http.StatusInternalServerError {
			h.log.Error("payment notification not recorded", "order", n.OrderID, "account", n.Account, "err", err)
		} else {
			h.log.Warn("payment notification refused", "order", n.OrderID, "account", n.Account, "err", err)
		}
		h.refuse(w, status, code, "%v", err)
		return
	}
	h.payments.WithLabelValues(code).Inc()
	if code == "replay" {
		w.Header().Set("X-Campusnet-Replay", "true")
	}
	writeJSON(w, http.StatusOK, reply)
}

// credit records the order once and returns the answer for it: the HTTP
// status, the metric label and, when refused, the error to show.
func (h *webhook) credit(ctx context.Context, n Notification) (WebhookReply, int, string, error) {
	if reply, status, code, found, err := h.existing(ctx, n); found {
		return reply, status, code, err
	}
	acc, err := h.st.AccountByUsername(ctx, n.Account)
	if errors.Is(err, access.ErrNotFound) {
		return WebhookReply{}, http.StatusNotFound, "unknown_account", fmt.Errorf("no account %q", n.Account)
	}
	if err != nil {
		return WebhookReply{}, http.StatusInternalServerError, "error", errStoreDown
	}
	var e access.LedgerEntry
	err = h.st.InTx(ctx, func(tx *sqlx.Tx) error {
		a, err := h.st.LockAccount(ctx, tx, acc.ID)
		if err != nil {
			return err
		}
		// The ledger note is read on pages: campus time with its offset,
		// in each language ("中文 / English", the page shows one).
		paid := n.PaidAt.In(h.cfg.Location).Format("2006-01-02 15:04 -07:00")
		reason := "缴费平台充值，付款时间 " + paid + " / payment platform, paid at " + paid
		e, err = h.st.AddLedgerTx(ctx, tx, &a, access.LedgerRecharge, n.AmountFen, PaymentActor, "order:"+n.OrderID, reason)
		if err != nil {
			return err
		}
		return h.st.InsertPaymentOrderTx(ctx, tx, access.PaymentOrder{OrderID: n.OrderID, AccountID: a.ID, Amount: n.AmountFen,
			PaidAt: n.PaidAt.Format(time.RFC3339), LedgerID: e.ID, ReceivedAt: access.Millis(h.st.Now())})
	})
	if errors.Is(err, access.ErrDuplicate) {
		// The same order arrived twice at once: the other one recorded it.
		if reply, status, code, found, err := h.existing(ctx, n); found {
			return reply, status, code, err
		}
	}
	if err != nil {
		h.log.Error("payment not recorded", "order", n.OrderID, "err", err)
		return WebhookReply{}, http.StatusInternalServerError, "error", errStoreDown
	}
	h.log.Info("payment credited", "order", n.OrderID, "account", n.Account, "amount", n.AmountFen.String(), "balance", e.BalanceAfter.String())
	if h.cfg.AfterCredit != nil {
		go h.cfg.AfterCredit(context.WithoutCancel(ctx), acc.ID)
	}
	return WebhookReply{Result: "credited", OrderID: n.OrderID, Account: acc.Username, AmountFen: n.AmountFen,
		BalanceAfter: e.BalanceAfter, LedgerID: e.ID}, http.StatusOK, "credited", nil
}

var errStoreDown = errors.New("billing: store unavailable, try again")

// existing answers an order seen before (found): the original answer when
// the account and amount match, order_conflict otherwise; a store failure is
// found too, with status 500.
func (h *webhook) existing(ctx context.Context, n Notification) (reply WebhookReply, status int, code string, found bool, err error) {
	o, err := h.st.PaymentOrderByID(ctx, n.OrderID)
	if errors.Is(err, access.ErrNotFound) {
		return WebhookReply{}, 0, "", false, nil
	}
	if err != nil {
		return WebhookReply{}, http.StatusInternalServerError, "error", true, errStoreDown
	}
	e, err := h.st.LedgerByID(ctx, o.LedgerID)
	if err != nil {
		return WebhookReply{}, http.StatusInternalServerError, "error", true, errStoreDown
	}
	acc, err := h.st.AccountByID(ctx, o.AccountID)
	if err != nil {
		return WebhookReply{}, http.StatusInternalServerError, "error", true, errStoreDown
	}
	if acc.Username != n.Account || o.Amount != n.AmountFen {
		return WebhookReply{}, http.StatusConflict, "order_conflict",
			true, fmt.Errorf("order %q was already recorded with another account or amount", n.OrderID)
	}
	return WebhookReply{Result: "credited", OrderID: o.OrderID, Account: acc.Username, AmountFen: o.Amount,
		BalanceAfter: e.BalanceAfter, LedgerID: e.ID}, http.StatusOK, "replay", true, nil
}
