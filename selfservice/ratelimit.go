package selfservice

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/campusnet/campusnet/internal/ratelimit"
)

// RateLimit is the portal's token bucket (internal/ratelimit), charged for
// each failed login: guessing a password is no cheaper here.
type RateLimit = ratelimit.Rule

// The portal's defaults: self-service and the portal share one failed-login
// budget per account and per address.
var (
	DefaultAccountLimit = ratelimit.DefaultAccount
	DefaultSourceLimit  = ratelimit.DefaultSource
)

// loginLimits are the per-account and per-source limits together. With a
// shared store (the service's Store) their buckets are the portal's and
// every node's: the scopes and keys are the portal's ("account" and the
// lower-cased user name, "source" and the address).
type loginLimits struct {
	account, source *ratelimit.Limiter
}

func newLoginLimits(account, source RateLimit, now func() time.Time, shared ratelimit.Shared, log *slog.Logger) *loginLimits {
	l := &loginLimits{account: ratelimit.New(account, now), source: ratelimit.New(source, now)}
	if shared != nil {
		l.account.Share(shared, "account", log)
		l.source.Share(shared, "source", log)
	}
	return l
}

// wait reports how long a login of user from source must wait (0: go ahead).
func (l *loginLimits) wait(ctx context.Context, source, user string) time.Duration {
	return max(l.account.Wait(ctx, strings.ToLower(user)), l.source.Wait(ctx, source))
}

// failed charges a wrong password to both buckets.
func (l *loginLimits) failed(ctx context.Context, source, user string) {
	l.account.Charge(ctx, strings.ToLower(user))
	l.source.Charge(ctx, source)
}

// clientIP is the address of the person behind a request: the peer's,
// or, when the peer is a trusted proxy (Config.TrustedProxies), the
// right-most address in X-Forwarded-For that is not a trusted proxy
// itself — the one the nearest trusted proxy saw. A client that sends its
// own X-Forwarded-For only adds entries to the left of it; one that is not
// behind a trusted proxy is never believed.
func (s *Service) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(peer.Unmap()) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // what lies to the left of garbage cannot be trusted
		}
		if a = a.Unmap(); !s.trusted(a) {
			return a.String()
		}
	}
	return host
}

func (s *Service) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
