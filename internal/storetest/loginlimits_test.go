package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/store"
)

// TestLoginLimitsShared: the shared failed-login buckets refill and take a
// token in one statement, count every one of many concurrent charges (the
// nodes of one database), never refill for a clock that is behind, and
// are purged by scope and age only.
func TestLoginLimitsShared(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.UnixMilli(1_800_000_000_000)
		bucket := func(key string) (float64, time.Time, bool) {
			t.Helper()
			tokens, at, found, err := s.LoginLimit(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			return tokens, at, found
		}
		charge := func(key string, burst float64, every time.Duration, now time.Time) {
			t.Helper()
			if err := s.ChargeLoginLimit(ctx, key, burst, every, now); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, found := bucket("account:alice"); found {
			t.Fatal("a bucket before any charge")
		}
		for range 4 { // one more than the burst: the bucket stays at 0
			charge("account:alice", 3, time.Minute, t0)
		}
		if tokens, at, found := bucket("account:alice"); !found || tokens != 0 || !at.Equal(t0) {
			t.Fatalf("after 4 charges of a burst of 3: %v tokens at %v (found %v), want 0 at %v", tokens, at, found, t0)
		}
		// 150 s later 2.5 tokens have come back; a charge leaves 1.5.
		charge("account:alice", 3, time.Minute, t0.Add(150*time.Second))
		if tokens, at, _ := bucket("account:alice"); tokens != 1.5 || !at.Equal(t0.Add(150*time.Second)) {
			t.Fatalf("refilled and charged: %v tokens at %v, want 1.5", tokens, at)
		}
		// A node whose clock is a minute behind refills nothing and keeps
		// the row's time.
		charge("account:alice", 3, time.Minute, t0.Add(90*time.Second))
		if tokens, at, _ := bucket("account:alice"); tokens != 0.5 || !at.Equal(t0.Add(150*time.Second)) {
			t.Fatalf("charged by a clock behind: %v tokens at %v, want 0.5 at the row's time", tokens, at)
		}
		// Refilling stops at the burst.
		charge("account:alice", 3, time.Minute, t0.Add(24*time.Hour))
		if tokens, _, _ := bucket("account:alice"); tokens != 2 {
			t.Fatalf("a day later: %v tokens, want the burst less one", tokens)
		}

		// 40 charges at once, on as many connections: all counted.
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.ChargeLoginLimit(ctx, "source:10.2.4.2", 100, time.Hour, t0)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if tokens, _, _ := bucket("source:10.2.4.2"); tokens != 60 {
			t.Fatalf("40 concurrent charges of a burst of 100 left %v tokens, want 60", tokens)
		}

		// Purge: by prefix (LIKE's wildcards taken literally) and by age.
		charge("account:bob", 3, time.Minute, t0.Add(time.Hour))
		charge("accXunt:carol", 3, time.Minute, t0)
		n, err := s.PurgeLoginLimits(ctx, "acc_unt:", t0.Add(time.Minute))
		if err != nil || n != 0 {
			t.Fatalf("purge of prefix acc_unt: removed %d (%v), want 0", n, err)
		}
		n, err = s.PurgeLoginLimits(ctx, "account:", t0.Add(time.Minute))
		if err != nil || n != 0 {
			t.Fatalf("purge before alice's and bob's last charges removed %d (%v)", n, err)
		}
		n, err = s.PurgeLoginLimits(ctx, "account:", t0.Add(2*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("purge removed %d (%v), want bob's bucket only", n, err)
		}
		if _, _, found := bucket("account:bob"); found {
			t.Fatal("bob's old bucket survived the purge")
		}
		for _, key := range []string{"account:alice", "source:10.2.4.2", "accXunt:carol"} {
			if _, _, found := bucket(key); !found {
				t.Fatalf("%s purged", key)
			}
		}
		if err := s.ChargeLoginLimit(ctx, "", 3, time.Minute, t0); err == nil {
			t.Fatal("a charge without a key was accepted")
		}
	})
}
