// Package ratelimit is the failed-login limit that the portal and the
// self-service site share (DESIGN §10): token buckets by key — an account
// or a source address — charged for each failed login and checked before
// the password is.
//
// The buckets live in this process: with N nodes behind a load balancer a
// patient attacker gets N times the budget, which still turns an online
// guess into hours per account; a database write per failed login would
// instead hand an attacker a cheap way to load the database.
package ratelimit

import (
	"sync"
	"time"
)

// Rule is a token bucket: Burst failures at once, then one more every
// Every. Burst < 0 turns the limit off; Burst 0 means 1, Every ≤ 0 a minute.
type Rule struct {
	Burst int
	Every time.Duration
}

// The defaults: ten wrong passwords for an account, then one a minute;
// thirty from one address, then one every ten seconds.
var (
	DefaultAccount = Rule{Burst: 10, Every: time.Minute}
	DefaultSource  = Rule{Burst: 30, Every: 10 * time.Second}
)

// maxBuckets bounds the memory; when it is reached, buckets that have
// refilled (and so hold no information) are dropped.
const maxBuckets = 200_000

// Limiter is a set of token buckets by key. It is safe for concurrent use.
type Limiter struct {
	burst float64
	every time.Duration
	off   bool
	now   func() time.Time

	mu sync.Mutex
	m  map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// New returns a Limiter of rule r reading the clock now.
func New(r Rule, now func() time.Time) *Limiter {
	l := &Limiter{burst: float64(r.Burst), every: r.Every, off: r.Burst < 0, now: now, m: map[string]*bucket{}}
	if l.burst <= 0 {
		l.burst = 1
	}
	if l.every <= 0 {
		l.every = time.Minute
	}
	return l
}

// refill brings b up to now; the caller holds l.mu.
func (l *Limiter) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.at); el > 0 {
		b.tokens = min(l.burst, b.tokens+float64(el)/float64(l.every))
	}
	b.at = now
}

// Wait reports how long key must wait before it may try again (0: now).
// An empty key is never limited.
func (l *Limiter) Wait(key string) time.Duration {
	if l.off || key == "" {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[key]
	if b == nil {
		return 0
	}
	l.refill(b, l.now())
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(l.every))
}

// Charge takes a token from key's bucket (a failed login).
func (l *Limiter) Charge(key string) {
	if l.off || key == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.m[key]
	if b == nil {
		if len(l.m) >= maxBuckets {
			for k, old := range l.m {
				l.refill(old, now)
				if old.tokens >= l.burst {
					delete(l.m, k)
				}
			}
		}
		b = &bucket{tokens: l.burst, at: now}
		l.m[key] = b
	}
	l.refill(b, now)
	b.tokens = max(0, b.tokens-1)
}
