package portal

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/internal/testwait"
)

// heldHasher computes real keys, but only once let go: while it is held
// the stage's one worker is busy hashing for somebody else.
type heldHasher struct{ release chan struct{} }

func (h heldHasher) Key(ctx context.Context, pw, salt []byte, p identity.Params) ([]byte, error) {
	<-h.release
	return identity.InProcess{}.Key(ctx, pw, salt, p)
}

// TestLoginBusyIsNotWrongPassword: a portal login whose password cannot be
// checked in time (every hashing worker busy) gets the busy page — 503,
// Retry-After, "try again in a few seconds" — never the wrong-password
// page, and no failure is charged against the account; once the stage is
// free the same password logs in.
func TestLoginBusyIsNotWrongPassword(t *testing.T) {
	t.Parallel()
	st := storetest.NewSQLite(t)
	held := heldHasher{release: make(chan struct{})}
	stage := identity.NewStage(identity.StageConfig{Hasher: held, Workers: 1})
	local := identity.NewLocalStage(identity.FromAccounts(st), cheapParams, stage, nil)
	h := newHarnessAuth(t, st, local, func(c *Config) { c.LoginWait = 300 * time.Millisecond })
	h.account("student1", "student1-pass", 5000, false)

	// Somebody else's login holds the only worker.
	go local.Authenticate(context.Background(), "student1", "student1-pass")
	testwait.For(t, "the other login to hold the worker", func() bool { return stage.Stats().Hashing == 1 })

	for _, lang := range []string{"", "en"} {
		b := h.browser(uaWindows)
		b.lang = lang
		p := b.login(redirect("bras-v2-chap", "10.0.0.20", ""), "student1", "student1-pass", nil)
		if p.status != http.StatusServiceUnavailable || p.header.Get("Retry-After") == "" {
			t.Fatalf("lang %q: status %d, Retry-After %q, want 503 with Retry-After\n%s", lang, p.status, p.header.Get("Retry-After"), p.body)
		}
		want, wrong := "几秒后再试", "密码错误"
		if lang == "en" {
			want, wrong = "try again in a few seconds", "wrong"
		}
		if !strings.Contains(p.body, want) || strings.Contains(strings.ToLower(p.body), wrong) {
			t.Fatalf("lang %q: want the busy page (%q), not a wrong password:\n%s", lang, want, p.body)
		}
	}
	if s := stage.Stats(); s.Late == 0 {
		t.Fatalf("stage %+v: the busy logins were not counted", s)
	}

	close(held.release)
	p := h.browser(uaWindows).login(redirect("bras-v2-chap", "10.0.0.20", ""), "student1", "student1-pass", nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, "已上线") {
		t.Fatalf("after the storm: status %d\n%s", p.status, p.body)
	}
}
