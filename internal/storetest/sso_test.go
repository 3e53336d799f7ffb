package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
)

// TestSSOStatesSingleUse: a single sign-on state is consumed once, however
// many nodes are handed it at the same moment; an expired or unknown one is
// never consumed; purging takes the expired ones only. And an account made
// by single sign-on keeps its provider.
func TestSSOStatesSingleUse(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.UnixMilli(1_800_000_000_000)
		st := access.SSOState{ID: "h1", Provider: "cas", Purpose: "portal", Browser: "b1", Nonce: "n", Verifier: "v",
			Payload: "userip=10.0.0.1", CreatedAt: access.Millis(t0), ExpiresAt: access.Millis(t0.Add(10 * time.Minute))}
		if err := s.CreateSSOState(ctx, st); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateSSOState(ctx, st); err == nil {
			t.Fatal("the same state id twice")
		}
		var won atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := s.ConsumeSSOState(ctx, "h1", t0.Add(time.Minute))
				switch {
				case err == nil:
					won.Add(1)
					if got.Payload != st.Payload || got.Verifier != "v" || got.Browser != "b1" || got.UsedAt == 0 {
						t.Errorf("consumed %+v", got)
					}
				case !errors.Is(err, access.ErrNotFound):
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if won.Load() != 1 {
			t.Fatalf("%d consumptions of one state", won.Load())
		}
		late := st
		late.ID = "h2"
		if err := s.CreateSSOState(ctx, late); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConsumeSSOState(ctx, "h2", t0.Add(10*time.Minute)); !errors.Is(err, access.ErrNotFound) {
			t.Fatalf("expired state consumed: %v", err)
		}
		if _, err := s.ConsumeSSOState(ctx, "nope", t0); !errors.Is(err, access.ErrNotFound) {
			t.Fatalf("unknown state: %v", err)
		}
		fresh := st
		fresh.ID, fresh.ExpiresAt = "h3", access.Millis(t0.Add(time.Hour))
		if err := s.CreateSSOState(ctx, fresh); err != nil {
			t.Fatal(err)
		}
		if n, err := s.PurgeSSOStates(ctx, t0.Add(30*time.Minute)); err != nil || n != 2 {
			t.Fatalf("purged %d, %v", n, err)
		}
		if _, err := s.ConsumeSSOState(ctx, "h3", t0); err != nil {
			t.Fatalf("a live state was purged: %v", err)
		}

		a, created, err := s.EnsureAccount(ctx, access.SSOAccount("cas", "20260001", "新同学", access.RoleStaff))
		if err != nil || !created || a.SSOProvider != "cas" || a.Role != access.RoleStaff || !a.UsesSSOOnly() {
			t.Fatalf("%+v %v %v", a, created, err)
		}
		if b, err := s.AccountByID(ctx, a.ID); err != nil || b.SSOProvider != "cas" {
			t.Fatalf("%+v %v", b, err)
		}
	})
}
