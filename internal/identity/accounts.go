package identity

import (
	"context"
	"errors"
	"fmt"

	"github.com/campusnet/campusnet/internal/access"
)

// Accounts is what the local backend needs of campusnet's account store
// (internal/store's Store satisfies it).
type Accounts interface {
	AccountByUsername(ctx context.Context, username string) (access.Account, error)
	SetPasswordHash(ctx context.Context, username, hash string, mustChange bool) error
}

// FromAccounts makes an account store the local backend's LocalStore: an
// absent account is ErrUnknownUser, any other store failure ErrUnavailable.
func FromAccounts(a Accounts) LocalStore { return accountsStore{a} }

type accountsStore struct{ a Accounts }

func (s accountsStore) LocalCredential(ctx context.Context, user string) (LocalCredential, error) {
	a, err := s.a.AccountByUsername(ctx, user)
	if errors.Is(err, access.ErrNotFound) {
		return LocalCredential{}, ErrUnknownUser
	}
	if err != nil {
		return LocalCredential{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return LocalCredential{
		Person:   Person{ID: a.Username, Name: a.Name, Role: a.Role, MustChange: a.MustChange},
		Hash:     a.PasswordHash,
		Disabled: a.Disabled,
		Document: a.DocFacts,
	}, nil
}

func (s accountsStore) SetPasswordHash(ctx context.Context, user, hash string, mustChange bool) error {
	return s.a.SetPasswordHash(ctx, user, hash, mustChange)
}

// ChangePasswordHash is the account store's ChangePasswordHash when it has
// one (PasswordChanger), else SetPasswordHash with the flag cleared.
func (s accountsStore) ChangePasswordHash(ctx context.Context, user, hash string) error {
	if pc, ok := s.a.(PasswordChanger); ok {
		return pc.ChangePasswordHash(ctx, user, hash)
	}
	return s.a.SetPasswordHash(ctx, user, hash, false)
}
