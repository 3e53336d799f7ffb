package identity

import (
	"context"
	"errors"

	"github.com/campusnet/campusnet/internal/access"
)

// SSOAware wraps an Authenticator so that a failed password check of an
// account that logs in by single sign-on only (made by an SSO login, no
// password hash: access.Account.UsesSSOOnly) is ErrSSOOnly rather than a
// plain wrong password: the portal, self-service and RADIUS then tell the
// person to use single sign-on at the portal. The account is looked up only
// after a failure, so a good login costs nothing more.
func SSOAware(a Authenticator, accounts interface {
	AccountByUsername(ctx context.Context, username string) (access.Account, error)
}) Authenticator {
	return ssoAware{a, accounts}
}

type ssoAware struct {
	Authenticator
	accounts interface {
		AccountByUsername(ctx context.Context, username string) (access.Account, error)
	}
}

func (s ssoAware) Authenticate(ctx context.Context, user, password string) (Person, error) {
	p, err := s.Authenticator.Authenticate(ctx, user, password)
	// Any failure but an unreachable backend: the local backend finds no
	// hash to check for such an account at all.
	if err != nil && !errors.Is(err, ErrUnavailable) && ctx.Err() == nil {
		if a, aerr := s.accounts.AccountByUsername(ctx, user); aerr == nil && a.UsesSSOOnly() {
			return Person{}, ErrSSOOnly
		}
	}
	return p, err
}
