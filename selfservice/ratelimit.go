package selfservice

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// RateLimit is a token bucket charged for each failed login: Burst
// failures at once, then one more every Every. The portal uses the same
// rule and the same defaults, so guessing a password is no cheaper here.
type RateLimit struct {
	Burst int
	Every time.Duration
}

// The portal's defaults (DESIGN §10).
var (
	DefaultAccountLimit = RateLimit{Burst: 10, Every: time.Minute}
	DefaultSourceLimit  = RateLimit{Burst: 30, Every: 10 * time.Second}
)

// maxBuckets bounds each table's memory; beyond it, full buckets (which
// hold no information) are dropped.
const maxBuckets = 200_000

// limiter is a set of token buckets by key, in this process: with N nodes
// behind a load balancer an attacker gets N times the budget, which still
// makes online guessing take hours per account, and a database write per
// failed login would hand an attacker a cheap way to load the database.
type limiter struct {
	rl  RateLimit
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newLimiter(rl RateLimit, now func() time.Time) *limiter {
	if rl.Burst <= 0 {
		rl.Burst = 1
	}
	if rl.Every <= 0 {
		rl.Every = time.Minute
	}
	return &limiter{rl: rl, now: now, m: map[string]*bucket{}}
}

// refill brings b up to now; the caller holds the lock.
func (l *limiter) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.at); el > 0 {
		b.tokens = min(float64(l.rl.Burst), b.tokens+float64(el)/float64(l.rl.Every))
	}
	b.at = now
}

// wait reports how long key must wait before it may try (0: now).
func (l *limiter) wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[key]
	if b == nil {
		return 0
	}
	now := l.now()
	l.refill(b, now)
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(l.rl.Every))
}

// charge takes a token from key's bucket (a failed login).
func (l *limiter) charge(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.m[key]
	if b == nil {
		if len(l.m) >= maxBuckets {
			for k, old := range l.m {
				l.refill(old, now)
				if old.tokens >= float64(l.rl.Burst) {
					delete(l.m, k)
				}
			}
		}
		b = &bucket{tokens: float64(l.rl.Burst), at: now}
		l.m[key] = b
	}
	l.refill(b, now)
	b.tokens = max(0, b.tokens-1)
}

// loginLimits are the per-account and per-source limits together.
type loginLimits struct {
	account, source *limiter
}

func newLoginLimits(account, source RateLimit, now func() time.Time) *loginLimits {
	return &loginLimits{account: newLimiter(account, now), source: newLimiter(source, now)}
}

// wait reports how long a login of user from source must wait (0: go ahead).
func (l *loginLimits) wait(source, user string) time.Duration {
	return max(l.account.wait(strings.ToLower(user)), l.source.wait(source))
}

// failed charges a wrong password to both buckets.
func (l *loginLimits) failed(source, user string) {
	l.account.charge(strings.ToLower(user))
	l.source.charge(source)
}

// clientIP is the request's source address. X-Forwarded-For is not
// trusted: a client could name any address in it.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
