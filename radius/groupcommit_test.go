package radius

import (
	"context"
	"sync"
	"testing"
	"time"
)

// sizeRecorder is a batch function that takes commit to run and records the
// size of every batch.
type sizeRecorder struct {
	commit time.Duration
	mu     sync.Mutex
	sizes  []int
}

func (r *sizeRecorder) run(_ context.Context, items []int) ([]int, error) {
	time.Sleep(r.commit)
	r.mu.Lock()
	r.sizes = append(r.sizes, len(items))
	r.mu.Unlock()
	return items, nil
}

func (r *sizeRecorder) batches() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.sizes...)
}

// closedLoop runs n requesters that each ask again as soon as they have
// their answer, rounds times each.
func closedLoop(t *testing.T, b *groupCommit[int, int], n, rounds int) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			for range rounds {
				if v, err := b.do(context.Background(), i); err != nil || v != i {
					t.Errorf("requester %d: got %d, %v", i, v, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// Eight requesters that wait for their answers split, without gathering,
// into groups that take turns (one batch in the database while the other
// group waits); with it they settle into one batch per commit.
func TestGroupCommitGathersRequestersIntoOneBatch(t *testing.T) {
	const n, rounds = 8, 20
	for _, tc := range []struct {
		name   string
		gather time.Duration
	}{{"gather", time.Second}, {"off", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &sizeRecorder{commit: 5 * time.Millisecond}
			b := newGroupCommit(64, 1, tc.gather, rec.run, nil)
			defer b.close()
			closedLoop(t, b, n, rounds)
			sizes := rec.batches()
			full := 0
			for _, s := range sizes {
				if s == n {
					full++
				}
			}
			t.Logf("%d batches: %v", len(sizes), sizes)
			if tc.gather > 0 {
				// The first batches form as the requesters start; after
				// that every batch carries all of them.
				if full < rounds-3 || len(sizes) > rounds+3 {
					t.Fatalf("%d batches, %d of all %d requesters, want nearly every one of %d rounds full: %v",
						len(sizes), full, n, rounds, sizes)
				}
				return
			}
			// The test's premise: without gathering the requesters split
			// (more batches than the gathering case is allowed).
			if len(sizes) <= rounds+3 {
				t.Fatalf("without gathering %d batches for %d rounds: the requesters did not split (%v)", len(sizes), rounds, sizes)
			}
		})
	}
}

// A lone requester never waits for company: a batch of one expects one.
func TestGroupCommitLoneRequestDoesNotWait(t *testing.T) {
	rec := &sizeRecorder{commit: time.Millisecond}
	b := newGroupCommit(64, 1, time.Second, rec.run, nil)
	defer b.close()
	closedLoop(t, b, 1, 30)
	if m := b.gatherMissed.Load(); m != 0 {
		t.Fatalf("a lone requester waited for others %d times", m)
	}
	for _, s := range rec.batches() {
		if s != 1 {
			t.Fatalf("batch of %d from one requester", s)
		}
	}
}

// When requesters stop coming back, a worker waits for them once, for no
// longer than a batch took, and then expects only those left.
func TestGroupCommitStopsWaitingForRequestersThatLeft(t *testing.T) {
	rec := &sizeRecorder{commit: 3 * time.Millisecond}
	b := newGroupCommit(64, 1, time.Second, rec.run, nil)
	defer b.close()
	closedLoop(t, b, 8, 10)
	before := b.gatherMissed.Load()
	start := time.Now()
	closedLoop(t, b, 1, 20)
	took := time.Since(start)
	if m := b.gatherMissed.Load() - before; m > 1 {
		t.Fatalf("waited in vain %d times for requesters that had left, want at most once", m)
	}
	// 20 batches of 3 ms, plus one wait of about a batch's time; nowhere
	// near the gather bound of a second.
	if took > 500*time.Millisecond {
		t.Fatalf("20 lone requests took %v", took)
	}
}
