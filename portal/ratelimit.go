package portal

import (
	"sync"
	"time"
)

// limiter is a set of token buckets keyed by account or source address,
// charged for each failed login and checked before the password is. The
// buckets live in this process: with N portal nodes behind a load balancer
// a patient attacker gets N times the budget, which still turns an online
// guess into hours per account (DESIGN §10; documented in the README).
type limiter struct {
	burst float64
	every time.Duration
	now   func() time.Time
	off   bool

	mu sync.Mutex
	m  map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets bounds the memory; when it is reached, buckets that have
// refilled (and so hold no information) are dropped.
const maxBuckets = 200000

func newLimiter(rl RateLimit, now func() time.Time) *limiter {
	l := &limiter{burst: float64(rl.Burst), every: rl.Every, now: now, m: map[string]*bucket{}, off: rl.Burst < 0}
	if l.every <= 0 {
		l.every = time.Minute
	}
	if l.burst == 0 {
		l.burst = 1
	}
	return l
}

// refill brings b up to date; the caller holds l.mu.
func (l *limiter) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.at); el > 0 {
		b.tokens += float64(el) / float64(l.every)
		if b.tokens > l.burst {
			b.tokens = l.burst
		}
	}
	b.at = now
}

// allow reports whether key may try (it has at least one token left), and
// if not, how long until it may.
func (l *limiter) allow(key string) (bool, time.Duration) {
	if l.off || key == "" {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.m[key]
	if !ok {
		return true, 0
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(l.every))
}

// charge takes a token from key's bucket (a failed attempt).
func (l *limiter) charge(key string) {
	if l.off || key == "" {
		return
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.m[key]
	if !ok {
		if len(l.m) >= maxBuckets {
			l.sweep(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.m[key] = b
	}
	l.refill(b, now)
	b.tokens--
}

// sweep drops full buckets; the caller holds l.mu.
func (l *limiter) sweep(now time.Time) {
	for k, b := range l.m {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.m, k)
		}
	}
}
