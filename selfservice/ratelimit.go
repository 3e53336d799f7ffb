package selfservice

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Login rate limits, per node (DESIGN §10). A source address may try
// sourceAttempts logins per sourceWindow; an account that saw userFailures
// wrong passwords within userWindow is refused until the window ends, from
// any source. Counting in memory per node is deliberate: the limits slow
// guessing down, they do not have to be exact across nodes, and a database
// write per failed login would hand an attacker a cheap way to load it.
const (
	sourceAttempts = 20
	sourceWindow   = time.Minute
	userFailures   = 5
	userWindow     = 5 * time.Minute
	// maxTracked bounds the memory of each table; beyond it expired
	// entries are dropped first.
	maxTracked = 100_000
)

type window struct {
	start time.Time
	n     int
}

type loginLimits struct {
	now      func() time.Time
	mu       sync.Mutex
	bySource map[string]*window
	byUser   map[string]*window
}

func newLoginLimits(now func() time.Time) *loginLimits {
	return &loginLimits{now: now, bySource: map[string]*window{}, byUser: map[string]*window{}}
}

// attempt counts a login attempt from source for user and reports how long
// to wait when it must be refused (0 = go ahead).
func (l *loginLimits) attempt(source, user string) time.Duration {
	now := l.now()
	user = strings.ToLower(user)
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := l.byUser[user]; w != nil && now.Sub(w.start) < userWindow && w.n >= userFailures {
		return w.start.Add(userWindow).Sub(now)
	}
	w := current(l.bySource, source, now, sourceWindow)
	if w.n >= sourceAttempts {
		return w.start.Add(sourceWindow).Sub(now)
	}
	w.n++
	return 0
}

// failed counts a wrong password for user.
func (l *loginLimits) failed(user string) {
	now := l.now()
	l.mu.Lock()
	current(l.byUser, strings.ToLower(user), now, userWindow).n++
	l.mu.Unlock()
}

// succeeded forgets user's failures.
func (l *loginLimits) succeeded(user string) {
	l.mu.Lock()
	delete(l.byUser, strings.ToLower(user))
	l.mu.Unlock()
}

// current returns key's window in m, starting a new one when the old has
// ended. The caller holds the lock.
func current(m map[string]*window, key string, now time.Time, length time.Duration) *window {
	w := m[key]
	if w == nil || now.Sub(w.start) >= length {
		if w == nil && len(m) >= maxTracked {
			for k, old := range m {
				if now.Sub(old.start) >= length {
					delete(m, k)
				}
			}
			if len(m) >= maxTracked {
				clear(m) // under attack from everywhere: forget rather than grow
			}
		}
		w = &window{start: now}
		m[key] = w
	}
	return w
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
