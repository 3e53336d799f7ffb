package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/store"
)

// eventsOf returns "event key-prefix by" of each of the account's
// notifications, oldest first.
func eventsOf(t *testing.T, s *store.Store, a access.Account) []string {
	t.Helper()
	list, err := s.Notifications(context.Background(), store.NotificationFilter{AccountID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(list) - 1; i >= 0; i-- {
		n := list[i]
		var p struct {
			Account string         `json:"account"`
			Data    map[string]any `json:"data"`
		}
		if err := json.Unmarshal([]byte(n.Payload), &p); err != nil || p.Account != a.Username {
			t.Fatalf("payload %q: %v", n.Payload, err)
		}
		out = append(out, fmt.Sprintf("%s %s %v", n.Event, n.Key, p.Data["by"]))
	}
	return out
}

// Unbinding a MAC, by the student or an operator, records device_unbound
// in the unbinding transaction; an unbind that finds nothing records none.
func TestUnbindNotified(t *testing.T) {
	t.Parallel()
	clock := NewClock(time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC))
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, _, err := s.EnsureAccount(ctx, access.Account{Username: "2026001"})
		if err != nil {
			t.Fatal(err)
		}
		d, err := s.BindDevice(ctx, a.ID, "02:00:00:00:00:01", access.ClassPC, "op1", "console", 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UnbindDevice(ctx, a.ID, d.MAC, a.Username, "self-service unbind"); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
		if _, err := s.BindDevice(ctx, a.ID, d.MAC, access.ClassPC, "op1", "again", 0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UnbindDevice(ctx, 0, d.MAC, "op1", "noc"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UnbindDevice(ctx, 0, d.MAC, "op1", "noc"); err == nil {
			t.Fatal("unbinding an unbound MAC succeeded")
		}
		ms := access.Millis(clock.Now())
		want := fmt.Sprint([]string{
			fmt.Sprintf("device_unbound unbind:%d:%d student", d.ID, ms-1000),
			fmt.Sprintf("device_unbound unbind:%d:%d operator", d.ID, ms),
		})
		if got := fmt.Sprint(eventsOf(t, s, a)); got != want {
			t.Fatalf("events %s, want %s", got, want)
		}
	}, store.WithClock(clock.Now))
}

// The student's password change (self-service and the portal's forced
// change both go through identity.Local.ChangePassword) and an operator's
// reset record password_changed; a login that only rehashes the same
// password records nothing, nor does a refused change.
func TestPasswordChangedNotified(t *testing.T) {
	t.Parallel()
	clock := NewClock(time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC))
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		hash, err := identity.HashPassword("initial-Pw1", identity.InitialParams)
		if err != nil {
			t.Fatal(err)
		}
		a, _, err := s.EnsureAccount(ctx, access.Account{Username: "2026002", PasswordHash: hash})
		if err != nil {
			t.Fatal(err)
		}
		local := identity.NewLocal(identity.FromAccounts(s), identity.DefaultParams, nil)
		// A login with a weaker hash rehashes it: no change of password.
		if _, err := local.Authenticate(ctx, a.Username, "initial-Pw1"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.AccountByUsername(ctx, a.Username); got.PasswordHash == hash {
			t.Fatal("the login did not rehash (the test needs it)")
		}
		if err := local.ChangePassword(ctx, a.Username, "wrong", "Brand-new-pass9"); err == nil {
			t.Fatal("a change with the wrong password succeeded")
		}
		if got := eventsOf(t, s, a); len(got) != 0 {
			t.Fatalf("events before any change: %v", got)
		}
		if err := local.ChangePassword(ctx, a.Username, "initial-Pw1", "Brand-new-pass9"); err != nil {
			t.Fatal(err)
		}
		if _, err := local.Authenticate(ctx, a.Username, "Brand-new-pass9"); err != nil {
			t.Fatalf("the new password does not work: %v", err)
		}
		clock.Advance(time.Minute)
		tmp, err := identity.HashPassword("Temp-pass-77", identity.InitialParams)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ResetPassword(ctx, "op1", a.Username, tmp, "forgot, card checked"); err != nil {
			t.Fatal(err)
		}
		ms := access.Millis(clock.Now())
		want := fmt.Sprint([]string{
			fmt.Sprintf("password_changed password:%d:%d student", a.ID, ms-60000),
			fmt.Sprintf("password_changed password:%d:%d operator", a.ID, ms),
		})
		if got := fmt.Sprint(eventsOf(t, s, a)); got != want {
			t.Fatalf("events %s, want %s", got, want)
		}
		if err := s.ChangePasswordHash(ctx, "nobody", tmp); err == nil {
			t.Fatal("changed the password of an unknown account")
		}
	}, store.WithClock(clock.Now))
}

// Bad input to the notification API is refused and changes nothing.
func TestNotificationsBadInput(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.Notifications(ctx, store.NotificationFilter{Status: "pending\x00; DROP TABLE notifications"}); err == nil {
			t.Fatal("a hostile status was accepted")
		}
		if _, err := s.RetryNotification(ctx, "op1", -1, "x"); err == nil {
			t.Fatal("retry of id -1 succeeded")
		}
		if n := RowCount(t, s, "notifications"); n != 0 {
			t.Fatalf("%d rows", n)
		}
	})
}
