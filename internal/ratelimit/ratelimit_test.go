package ratelimit

import (
	"context"
	"strconv"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	l := New(Rule{Burst: 2, Every: time.Minute}, clock)
	for range 2 {
		if w := l.Wait(ctx, "a"); w != 0 {
			t.Fatalf("refused within the burst: %v", w)
		}
		l.Charge(ctx, "a")
	}
	if w := l.Wait(ctx, "a"); w != time.Minute {
		t.Fatalf("over the burst: wait %v, want 1m", w)
	}
	l.Charge(ctx, "a") // a failure while limited does not push the wait past one interval
	if w := l.Wait(ctx, "a"); w != time.Minute {
		t.Fatalf("charged while limited: wait %v, want 1m", w)
	}
	if l.Wait(ctx, "b") != 0 {
		t.Fatal("another key limited")
	}
	now = now.Add(30 * time.Second)
	if w := l.Wait(ctx, "a"); w != 30*time.Second {
		t.Fatalf("half refilled: wait %v, want 30s", w)
	}
	now = now.Add(30 * time.Second)
	if l.Wait(ctx, "a") != 0 {
		t.Fatal("no token back after a minute")
	}

	// An empty key (no user name, no address) is never limited.
	for range 5 {
		l.Charge(ctx, "")
	}
	if l.Wait(ctx, "") != 0 {
		t.Fatal("empty key limited")
	}
	// Burst < 0 turns the limit off.
	off := New(Rule{Burst: -1}, clock)
	for range 100 {
		off.Charge(ctx, "a")
	}
	if off.Wait(ctx, "a") != 0 {
		t.Fatal("a limit that is off refused")
	}
}

func TestLimiterMemoryBound(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	l := New(Rule{Burst: 1, Every: time.Second}, func() time.Time { return now })
	for i := range maxBuckets {
		l.m[strconv.Itoa(i)] = &bucket{tokens: 0, at: now}
	}
	now = now.Add(time.Hour) // every bucket has refilled
	l.Charge(ctx, "new")
	if len(l.m) != 1 || l.Wait(ctx, "new") != time.Second {
		t.Fatalf("full table not swept: %d buckets", len(l.m))
	}
}
