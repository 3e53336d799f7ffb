package storetest

import (
	"context"
	"testing"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
)

func TestAccountRefusals(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, _, err := s.EnsureAccount(ctx, access.Account{Username: "student1"})
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := s.EnsureAccount(ctx, access.Account{Username: "student2"})
		if err != nil {
			t.Fatal(err)
		}
		add := func(at int64, user string, acc *int64, result string, reason access.Reason) {
			t.Helper()
			_, err := s.DB().Exec(s.Rebind(`INSERT INTO auth_log (at, username, account_id, result, reason) VALUES (?, ?, ?, ?, ?)`),
				at, user, acc, result, reason)
			if err != nil {
				t.Fatal(err)
			}
		}
		add(1000, "student1", &a.ID, "reject", access.ReasonArrears)
		add(2000, "student1", &a.ID, "accept", access.ReasonOK)
		add(3000, "student1", nil, "reject", access.ReasonBadCredentials) // name only
		add(4000, "student2", &b.ID, "reject", access.ReasonDeviceLimitPC)
		add(5000, "student1", &a.ID, "reject", access.ReasonDeviceLimitMobile)
		add(6000, "student1", &b.ID, "reject", access.ReasonMACNotBound) // a name typed for another account's MAC

		got, err := s.AccountRefusals(ctx, a.ID, "student1", 10)
		if err != nil {
			t.Fatal(err)
		}
		var reasons []string
		for _, e := range got {
			reasons = append(reasons, string(e.Reason))
		}
		want := []string{string(access.ReasonDeviceLimitMobile), string(access.ReasonBadCredentials), string(access.ReasonArrears)}
		if len(reasons) != len(want) {
			t.Fatalf("refusals %v, want %v", reasons, want)
		}
		for i := range want {
			if reasons[i] != want[i] {
				t.Fatalf("refusals %v, want %v (newest first)", reasons, want)
			}
		}
		if got, err := s.AccountRefusals(ctx, a.ID, "student1", 1); err != nil || len(got) != 1 || got[0].At != 5000 {
			t.Fatalf("limit 1: %+v", got)
		}
	})
}

func TestNASActivities(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, _, err := s.EnsureAccount(ctx, access.Account{Username: "student1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.DB().Exec(s.Rebind(`INSERT INTO nas (name, ip, area, last_request_at) VALUES (?, ?, ?, ?), (?, ?, ?, ?)`),
			"bras-1", "10.0.0.1", "dorm", 1234, "ac-2", "10.0.0.2", "office", 0); err != nil {
			t.Fatal(err)
		}
		for i, st := range []struct{ nas, status string }{
			{"bras-1", "online"}, {"bras-1", "online"}, {"bras-1", "reserved"}, {"bras-1", "closed"}, {"old-bras", "online"},
		} {
			_, err := s.DB().Exec(s.Rebind(`INSERT INTO sessions (account_id, username, nas, area, status, correlation) VALUES (?, 'student1', ?, 'dorm', ?, ?)`),
				a.ID, st.nas, st.status, "c"+string(rune('0'+i)))
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.NASActivities(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []access.NASActivity{
			{Name: "ac-2", IP: "10.0.0.2", Area: "office"},
			{Name: "bras-1", IP: "10.0.0.1", Area: "dorm", LastRequestAt: 1234, Online: 2, Reserved: 1},
			{Name: "old-bras", Online: 1},
		}
		if len(got) != len(want) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("row %d: got %+v, want %+v", i, got[i], want[i])
			}
		}
	})
}
