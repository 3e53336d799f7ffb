// Package ratelimit is the failed-login limit that the portal and the
// self-service site share: token buckets by key — an account
// or a source address — charged for each failed login and checked before
// the password is.
//
// With a Shared store (Limiter.Share; internal/store's login_limits table)
// the buckets are the database's, so several nodes behind a load balancer,
// and the portal and the self-service site, draw on one budget per account
// and per address: two nodes give the answers one would (docs/design.md). The
// bucket of the process stays in front of it: a key this node alone has
// already limited is refused without a database read, and a failure costs
// one write — after a password hash or a directory bind, which cost far
// more. If the database fails, the process's bucket still applies.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
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

	mu     sync.Mutex
	m      map[string]*bucket
	purged time.Time // the last purge of the shared store's full buckets

	shared Shared
	scope  string
	log    *slog.Logger
}

// Shared is a store of buckets that every node reads and charges
// (internal/store implements it). A bucket is a row: the tokens it held at
// a time. ChargeLoginLimit must refill and take a token in one atomic
// step, so that concurrent failures on several nodes are all counted.
type Shared interface {
	// LoginLimit reads key's bucket; found is false when it has none
	// (never charged, or purged once full).
	LoginLimit(ctx context.Context, key string) (tokens float64, at time.Time, found bool, err error)
	// ChargeLoginLimit refills key's bucket (one token per every, up to
	// burst) to now and takes one token, creating it full if absent.
	ChargeLoginLimit(ctx context.Context, key string, burst float64, every time.Duration, now time.Time) error
	// PurgeLoginLimits deletes the buckets whose key starts with prefix
	// and which were last charged before before.
	PurgeLoginLimits(ctx context.Context, prefix string, before time.Time) (int64, error)
}

// purgeEvery is how often a Limiter deletes the shared buckets of its
// scope that have refilled (and so hold no information).
const purgeEvery = 10 * time.Minute

// maxKeyLen bounds the key stored in the shared table; a longer key, or
// one that is not clean UTF-8, is stored as its SHA-256.
const maxKeyLen = 128

// Share makes l's buckets shared through s under scope (say "account" or
// "source": keys of different scopes never meet). Services that share a
// scope share the budget: a wrong password at the portal counts at the
// self-service site too. Errors of s are logged to log (nil: discarded)
// and l's own buckets still apply. It returns l.
func (l *Limiter) Share(s Shared, scope string, log *slog.Logger) *Limiter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l.shared, l.scope, l.log = s, scope, log
	return l
}

// sharedKey is key's name in the shared store.
func (l *Limiter) sharedKey(key string) string {
	if len(key) > maxKeyLen || !utf8.ValidString(key) || strings.ContainsRune(key, 0) {
		sum := sha256.Sum256([]byte(key))
		return l.scope + ":sha256:" + hex.EncodeToString(sum[:])
	}
	return l.scope + ":" + key
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
func (l *Limiter) Wait(ctx context.Context, key string) time.Duration {
	if l.off || key == "" {
		return 0
	}
	if w := l.localWait(key); w > 0 || l.shared == nil {
		return w
	}
	tokens, at, found, err := l.shared.LoginLimit(ctx, l.sharedKey(key))
	if err != nil {
		l.log.Warn("ratelimit: shared bucket unreadable; this node's applies", "scope", l.scope, "err", err)
		return 0
	}
	if !found {
		return 0
	}
	b := bucket{tokens: tokens, at: at}
	l.refill(&b, l.now())
	return l.waitOf(&b)
}

// waitOf is how long a refilled bucket's key must wait.
func (l *Limiter) waitOf(b *bucket) time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(l.every))
}

func (l *Limiter) localWait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[key]
	if b == nil {
		return 0
	}
	l.refill(b, l.now())
	return l.waitOf(b)
}

// Charge takes a token from key's bucket (a failed login), in this
// process and, when shared, in the store.
func (l *Limiter) Charge(ctx context.Context, key string) {
	if l.off || key == "" {
		return
	}
	purge := l.chargeLocal(key)
	if l.shared == nil {
		return
	}
	now := l.now()
	if err := l.shared.ChargeLoginLimit(ctx, l.sharedKey(key), l.burst, l.every, now); err != nil {
		l.log.Warn("ratelimit: shared bucket not charged; this node's applies", "scope", l.scope, "err", err)
	}
	if purge {
		// A bucket last charged burst × every ago is full again, whatever
		// it held.
		full := time.Duration(l.burst * float64(l.every))
		if _, err := l.shared.PurgeLoginLimits(ctx, l.scope+":", now.Add(-full)); err != nil {
			l.log.Warn("ratelimit: purge of full shared buckets", "scope", l.scope, "err", err)
		}
	}
}

// chargeLocal charges this process's bucket and reports whether the shared
// store is due a purge.
func (l *Limiter) chargeLocal(key string) (purge bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.purged) >= purgeEvery {
		l.purged, purge = now, true
	}
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
	return purge
}
