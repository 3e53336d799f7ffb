package identity_test

import (
	"context"
	"errors"
	"testing"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/storetest"
)

// TestFromAccounts runs the local backend on the real store, as serve does.
func TestFromAccounts(t *testing.T) {
	st := storetest.NewSQLite(t)
	ctx := context.Background()
	hash, err := identity.HashPassword("initial-1", identity.InitialParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.EnsureAccount(ctx, access.Account{Username: "s1", Name: "S One", Role: "student", PasswordHash: hash, MustChange: true}); err != nil {
		t.Fatal(err)
	}
	loc := identity.NewLocal(identity.FromAccounts(st), identity.InitialParams, nil)
	p, err := loc.Authenticate(ctx, "s1", "initial-1")
	if err != nil || p.ID != "s1" || p.Role != "student" || !p.MustChange {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
	if _, err := loc.Authenticate(ctx, "nobody", "x-password"); !errors.Is(err, identity.ErrUnknownUser) {
		t.Fatalf("unknown user: %v", err)
	}
	if err := loc.ChangePassword(ctx, "s1", "initial-1", "a-new-password"); err != nil {
		t.Fatal(err)
	}
	a, err := st.AccountByUsername(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	if a.MustChange {
		t.Fatal("must-change not cleared in the store")
	}
	st.Close()
	if _, err := loc.Authenticate(ctx, "s1", "a-new-password"); !errors.Is(err, identity.ErrUnavailable) {
		t.Fatalf("store closed: %v", err)
	}
}
