package identity

import (
	"context"
	"errors"
	"fmt"

	"github.com/campusnet/campusnet/internal/access"
)

// Person is who a successful authentication proved the caller to be.
type Person struct {
	// ID is the canonical user name: the key in the local store, or the
	// directory's IDAttribute value (which may differ in case from what
	// the person typed).
	ID string
	// Name is the display name.
	Name string
	// Role is the person's kind of account, for example "student",
	// "staff" or "operator"; it selects the billing plan and privileges.
	Role access.Role
	// MustChange is set while the password is an initial one that the
	// person has to replace before doing anything else.
	MustChange bool
	// Provider is the single sign-on provider that vouched for the person
	// (internal/sso); "" for a password login.
	Provider string
}

// Authenticator checks a user name and password.
//
// Errors satisfy errors.Is with [ErrBadCredentials] (wrong password or
// unknown user), [ErrDisabled], [ErrPasswordExpired] or [ErrUnavailable];
// anything else is an internal failure.
type Authenticator interface {
	Authenticate(ctx context.Context, user, password string) (Person, error)
}

var (
	// ErrBadCredentials is what the person is told for both a wrong
	// password and an unknown user name.
	ErrBadCredentials = errors.New("identity: wrong user name or password")

	// ErrUnknownUser is returned when no such user exists. It wraps
	// ErrBadCredentials, so errors.Is(err, ErrBadCredentials) holds for it
	// too: show the person the ErrBadCredentials message, log this one.
	ErrUnknownUser = fmt.Errorf("%w (unknown user)", ErrBadCredentials)

	// ErrUnavailable means the backend could not be asked: the directory
	// is down, refused the connection, timed out, failed TLS verification,
	// or rejected the service account.
	ErrUnavailable = errors.New("identity: directory unavailable")

	// ErrDisabled means the account exists but is locked or disabled in
	// the backend.
	ErrDisabled = errors.New("identity: account disabled")

	// ErrPasswordExpired means the password was right but the directory
	// will not accept it any more: it has expired, or an administrator
	// reset it and the person must change it. The person changes it at
	// unified identity (the password reset page), then logs in again.
	ErrPasswordExpired = errors.New("identity: password expired")

	// ErrSSOOnly is returned for a password login to an account that logs
	// in by single sign-on only and has no password of its own. It wraps
	// ErrBadCredentials; the refusal says to log in at the portal by
	// single sign-on (access.RefuseUseSSO).
	ErrSSOOnly = fmt.Errorf("%w (the account logs in by single sign-on only)", ErrBadCredentials)

	// ErrWeakPassword is returned by [Local.ChangePassword] when the new
	// password breaks the policy; the specific errors below wrap it.
	ErrWeakPassword = errors.New("identity: new password not allowed")
	// ErrPasswordTooShort: fewer than MinPasswordLen characters.
	ErrPasswordTooShort = fmt.Errorf("%w: shorter than %d characters", ErrWeakPassword, MinPasswordLen)
	// ErrPasswordTooLong: more than MaxPasswordLen characters.
	ErrPasswordTooLong = fmt.Errorf("%w: longer than %d characters", ErrWeakPassword, MaxPasswordLen)
	// ErrPasswordReused: the new password equals the current one (while
	// MustChange is set, that is the initial password) or the user name.
	ErrPasswordReused = fmt.Errorf("%w: same as the current password or the user name", ErrWeakPassword)
)
