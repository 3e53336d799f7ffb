package ratelimit_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/ratelimit"
	"github.com/campusnet/campusnet/internal/storetest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSharedAcrossNodes: two limiters on one store (two nodes) see each
// other's failures, whatever the key (a long or non-UTF-8 user name is
// stored as its hash), keep scopes apart, and refill by the clock.
func TestSharedAcrossNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.NewSQLite(t)
	now := time.UnixMilli(1_800_000_000_000)
	clock := func() time.Time { return now }
	rule := ratelimit.Rule{Burst: 4, Every: time.Minute}
	n1 := ratelimit.New(rule, clock).Share(st, "account", nil)
	n2 := ratelimit.New(rule, clock).Share(st, "account", nil)
	src := ratelimit.New(rule, clock).Share(st, "source", nil)
	for _, key := range []string{"victim", strings.Repeat("长", 300), "bad\xff\x00utf8"} {
		n1.Charge(ctx, key)
		n1.Charge(ctx, key)
		n2.Charge(ctx, key)
		if w := n2.Wait(ctx, key); w != 0 {
			t.Fatalf("%.20q: limited after 3 of 4: %v", key, w)
		}
		n1.Charge(ctx, key)
		for name, l := range map[string]*ratelimit.Limiter{"node 1": n1, "node 2": n2} {
			if w := l.Wait(ctx, key); w != time.Minute {
				t.Fatalf("%.20q at %s after 4 failures over two nodes: wait %v, want 1m", key, name, w)
			}
		}
		if w := src.Wait(ctx, key); w != 0 {
			t.Fatalf("%.20q: another scope limited: %v", key, w)
		}
	}
	now = now.Add(30 * time.Second)
	if w := n2.Wait(ctx, "victim"); w != 30*time.Second {
		t.Fatalf("half a token back: wait %v, want 30s", w)
	}
	var n int
	if err := st.DB().Get(&n, `SELECT count(*) FROM login_limits WHERE length(key) > 200`); err != nil || n != 0 {
		t.Fatalf("%d keys stored longer than 200 bytes (%v)", n, err)
	}
}

// TestSharedStoreDown: when the database fails, a failed login is still
// charged to this node's bucket, the node still limits, and the error is
// logged without the key.
func TestSharedStoreDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.NewSQLite(t)
	now := time.UnixMilli(1_800_000_000_000)
	var logs syncBuffer
	l := ratelimit.New(ratelimit.Rule{Burst: 2, Every: time.Minute}, func() time.Time { return now }).
		Share(st, "account", slog.New(slog.NewTextHandler(&logs, nil)))
	st.Close()
	if w := l.Wait(ctx, "victim"); w != 0 {
		t.Fatalf("refused with nothing charged: %v", w)
	}
	l.Charge(ctx, "victim")
	l.Charge(ctx, "victim")
	if w := l.Wait(ctx, "victim"); w != time.Minute {
		t.Fatalf("database down, 2 failures of 2 here: wait %v, want 1m", w)
	}
	if !strings.Contains(logs.String(), "shared bucket not charged") || strings.Contains(logs.String(), "victim") {
		t.Fatalf("log:\n%s", logs.String())
	}
}
