package selfservice

import (
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/campusnet/campusnet/internal/ratelimit"
)

// RateLimit is the portal's token bucket (internal/ratelimit), charged for
// each failed login: guessing a password is no cheaper here.
type RateLimit = ratelimit.Rule

// The portal's defaults (DESIGN §10).
var (
	DefaultAccountLimit = ratelimit.DefaultAccount
	DefaultSourceLimit  = ratelimit.DefaultSource
)

// loginLimits are the per-account and per-source limits together.
type loginLimits struct {
	account, source *ratelimit.Limiter
}

func newLoginLimits(account, source RateLimit, now func() time.Time) *loginLimits {
	return &loginLimits{account: ratelimit.New(account, now), source: ratelimit.New(source, now)}
}

// wait reports how long a login of user from source must wait (0: go ahead).
func (l *loginLimits) wait(source, user string) time.Duration {
	return max(l.account.Wait(strings.ToLower(user)), l.source.Wait(source))
}

// failed charges a wrong password to both buckets.
func (l *loginLimits) failed(source, user string) {
	l.account.Charge(strings.ToLower(user))
	l.source.Charge(source)
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
