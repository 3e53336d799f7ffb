package billing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusnet/campusnet/internal/access"
)

var testSecret = []byte("payment-secret-for-tests")

type hookResp struct {
	status int
	body   []byte
	reply  WebhookReply
	err    WebhookError
}

// post sends body to the webhook over real HTTP, signed with sig ("" = sign
// with the test secret).
func post(t *testing.T, url string, body []byte, sig string) hookResp {
	t.Helper()
	if sig == "" {
		sig = Sign(testSecret, body)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if sig != "none" {
		req.Header.Set(SignatureHeader, sig)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(res.Body); err != nil {
		t.Fatal(err)
	}
	r := hookResp{status: res.StatusCode, body: buf.Bytes()}
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(r.body, &r.reply); err != nil {
			t.Fatalf("reply %q: %v", r.body, err)
		}
	} else if err := json.Unmarshal(r.body, &r.err); err != nil || r.err.Error == "" || r.err.Message == "" {
		t.Fatalf("refusal %d without a clear JSON body: %q", res.StatusCode, r.body)
	}
	return r
}

func order(id, account string, amount int64) []byte {
	return fmt.Appendf(nil, `{"order_id": %q, "account": %q, "amount_fen": %d, "paid_at": "2026-11-22T08:00:00Z"}`, id, account, amount)
}

func newHook(t *testing.T, e *env) (*httptest.Server, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	h := NewWebhook(e.st, WebhookConfig{Secret: testSecret, MaxAmount: 200000}, nil, reg)
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/payments/notify", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, reg
}

func TestWebhook(t *testing.T) {
	t.Parallel()
	forKinds(t, func(t *testing.T, e *env) {
		srv, _ := newHook(t, e)
		url := srv.URL + "/api/v1/payments/notify"
		a := e.account("2026002", 1200)

		// In arrears, then the payment platform's notification arrives.
		if open, _, err := e.svc.Check(e.ctx, a.Username, "dorm"); err != nil || open {
			t.Fatal("12 yuan opened the dorm")
		}
		first := post(t, url, order("P-0001", a.Username, 5000), "")
		if first.status != http.StatusOK || first.reply.BalanceAfter != 6200 || first.reply.AmountFen != 5000 || first.reply.OrderID != "P-0001" {
			t.Fatalf("credit: %d %s", first.status, first.body)
		}
		if open, _, err := e.svc.Check(e.ctx, a.Username, "dorm"); err != nil || !open {
			t.Fatal("the recharge did not open the dorm")
		}
		// Other orders move the balance; a replay of the first must still
		// answer exactly as the first time and add nothing.
		post(t, url, order("P-0002", a.Username, 100), "")
		again := post(t, url, order("P-0001", a.Username, 5000), "")
		if again.status != http.StatusOK || !bytes.Equal(again.body, first.body) {
			t.Fatalf("replay: %d %s, first %s", again.status, again.body, first.body)
		}
		if b := e.balance(a.Username); b != 6300 {
			t.Fatalf("balance after replay %s", b)
		}
		led, err := e.st.LedgerByReference(e.ctx, access.LedgerRecharge, "order:P-0001")
		if err != nil {
			t.Fatal(err)
		}
		if led.Actor != PaymentActor || led.Amount != 5000 {
			t.Fatalf("ledger row %+v", led)
		}
		// The note a student reads gives the payment time in local time
		// with its offset, not UTC's "…Z", in both languages.
		if paid := regexp.MustCompile(`付款时间 \d{4}-\d\d-\d\d \d\d:\d\d [+-]\d\d:\d\d / payment platform, paid at \d{4}-\d\d-\d\d \d\d:\d\d [+-]\d\d:\d\d$`); !paid.MatchString(led.Reason) {
			t.Fatalf("ledger note %q", led.Reason)
		}

		cases := []struct {
			name   string
			body   []byte
			sig    string
			status int
			code   string
		}{
			{"forged signature", order("P-1", a.Username, 5000), Sign([]byte("guess"), order("P-1", a.Username, 5000)), 401, "bad_signature"},
			{"signature of another body", order("P-1", a.Username, 500000), Sign(testSecret, order("P-1", a.Username, 5000)), 401, "bad_signature"},
			{"no signature", order("P-1", a.Username, 5000), "none", 401, "bad_signature"},
			{"signature without prefix", order("P-1", a.Username, 5000), strings.TrimPrefix(Sign(testSecret, order("P-1", a.Username, 5000)), "sha256="), 401, "bad_signature"},
			{"negative amount", order("P-2", a.Username, -5000), "", 422, "bad_amount"},
			{"zero amount", order("P-3", a.Username, 0), "", 422, "bad_amount"},
			{"huge amount", order("P-9", a.Username, 200001), "", 422, "bad_amount"},
			{"amount beyond int64", []byte(`{"order_id":"P-4","account":"2026002","amount_fen":99999999999999999999,"paid_at":"2026-11-22T08:00:00Z"}`), "", 400, "malformed"},
			{"fractional fen", []byte(`{"order_id":"P-4","account":"2026002","amount_fen":50.5,"paid_at":"2026-11-22T08:00:00Z"}`), "", 400, "malformed"},
			{"amount as a string", []byte(`{"order_id":"P-4","account":"2026002","amount_fen":"5000","paid_at":"2026-11-22T08:00:00Z"}`), "", 400, "malformed"},
			{"truncated JSON", order("P-5", a.Username, 5000)[:40], "", 400, "malformed"},
			{"two objects", append(order("P-5", a.Username, 5000), order("P-6", a.Username, 5000)...), "", 400, "malformed"},
			{"missing paid_at", []byte(`{"order_id":"P-7","account":"2026002","amount_fen":5000}`), "", 400, "malformed"},
			{"bad paid_at", []byte(`{"order_id":"P-7","account":"2026002","amount_fen":5000,"paid_at":"yesterday"}`), "", 400, "malformed"},
			{"empty order id", order("", a.Username, 5000), "", 400, "malformed"},
			{"control characters in the order id", order("P-\n8", a.Username, 5000), "", 400, "malformed"},
			{"unknown account", order("P-10", "nobody", 5000), "", 404, "unknown_account"},
			{"replay with another amount", order("P-0001", a.Username, 9000), "", 409, "order_conflict"},
			{"replay for another account", order("P-0001", "nobody", 5000), "", 409, "order_conflict"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := e.balance(a.Username)
				n := e.countLedger(access.LedgerRecharge)
				r := post(t, url, c.body, c.sig)
				if r.status != c.status || r.err.Error != c.code {
					t.Fatalf("got %d %s, want %d %s", r.status, r.body, c.status, c.code)
				}
				if e.balance(a.Username) != before || e.countLedger(access.LedgerRecharge) != n {
					t.Fatal("a refused notification changed the books")
				}
			})
		}
		// A GET is not a notification.
		res, err := http.Get(url)
		if err != nil || res.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("GET: %v %v", res.StatusCode, err)
		}
		res.Body.Close()
		e.verifyClean()
	})
}

// The same order sent many times at once is credited once, and every
// answer is the same.
func TestWebhookConcurrentReplay(t *testing.T) {
	t.Parallel()
	forKinds(t, func(t *testing.T, e *env) {
		srv, reg := newHook(t, e)
		url := srv.URL + "/api/v1/payments/notify"
		e.account("s1", 0)
		body := order("P-RACE", "s1", 3000)
		var wg sync.WaitGroup
		out := make([]hookResp, 8)
		for i := range out {
			wg.Add(1)
			go func() { defer wg.Done(); out[i] = post(t, url, body, "") }()
		}
		wg.Wait()
		for _, r := range out {
			if r.status != http.StatusOK || !bytes.Equal(r.body, out[0].body) {
				t.Fatalf("answers differ: %d %s vs %s", r.status, r.body, out[0].body)
			}
		}
		if b := e.balance("s1"); b != 3000 {
			t.Fatalf("balance %s, want 30.00", b)
		}
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var credited, replay float64
		for _, mf := range mfs {
			if mf.GetName() != "campusnet_payments_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				switch m.GetLabel()[0].GetValue() {
				case "credited":
					credited = m.GetCounter().GetValue()
				case "replay":
					replay = m.GetCounter().GetValue()
				}
			}
		}
		if credited != 1 || replay != 7 {
			t.Fatalf("campusnet_payments_total credited %v replay %v", credited, replay)
		}
		e.verifyClean()
	})
}

func TestWebhookBodyLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "sqlite")
	srv, _ := newHook(t, e)
	body := []byte(`{"order_id":"` + strings.Repeat("x", maxWebhookBody) + `"}`)
	r := post(t, srv.URL+"/api/v1/payments/notify", body, "")
	if r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func FuzzWebhook(f *testing.F) {
	f.Add(order("P-1", "2026001", 5000))
	f.Add([]byte(`{"order_id":"a","account":"b","amount_fen":-1,"paid_at":"2026-11-22T08:00:00+08:00","extra":[1,2]}`))
	f.Add([]byte(`{"order_id":"a","account":"b","amount_fen":1e3,"paid_at":"2026-11-22T08:00:00Z"}`))
	f.Add([]byte(`{"order_id":null}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"order_id":"\u0000","account":"b","amount_fen":1,"paid_at":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := DecodeNotification(body)
		if err != nil {
			if n != (Notification{}) {
				t.Fatalf("refused body returned %+v", n)
			}
			return
		}
		if !printable(n.OrderID, maxOrderID) || !printable(n.Account, maxAccount) || n.PaidAt.IsZero() || n.PaidAt.Location() != time.UTC {
			t.Fatalf("accepted an invalid notification: %+v", n)
		}
		// What was accepted survives a round trip unchanged.
		b, _ := json.Marshal(map[string]any{"order_id": n.OrderID, "account": n.Account, "amount_fen": int64(n.AmountFen),
			"paid_at": n.PaidAt.Format(time.RFC3339Nano)})
		again, err := DecodeNotification(b)
		if err != nil || again.OrderID != n.OrderID || again.Account != n.Account || again.AmountFen != n.AmountFen || !again.PaidAt.Equal(n.PaidAt) {
			t.Fatalf("round trip: %+v → %+v, %v", n, again, err)
		}
	})
}
