package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
)

func portalAccount(t *testing.T, s *store.Store, user string) access.Account {
	t.Helper()
	a, _, err := s.EnsureAccount(context.Background(), access.Account{Username: user, Role: access.RoleStudent, PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestLoginTokenAndAuthLog(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := portalAccount(t, s, "u1")
		now := s.Now()
		tok := access.LoginToken{Nonce: "n1", AccountID: a.ID, Username: a.Username, IP: "10.1.2.3", MAC: "00:11:22:33:44:55",
			UserAgent: "UA", Class: access.ClassMobile, Signals: "platform iPhone", NAS: "dorm-bras-1",
			ExpiresAt: access.Millis(now.Add(time.Minute))}
		id, err := s.CreateLoginToken(ctx, tok)
		if err != nil || id == 0 {
			t.Fatalf("create: %d %v", id, err)
		}
		got, err := s.LoginTokenByID(ctx, id)
		if err != nil || got.Nonce != "n1" || got.Class != access.ClassMobile || got.UsedAt != 0 || got.CreatedAt == 0 {
			t.Fatalf("read back: %+v %v", got, err)
		}
		if _, err := s.CreateLoginToken(ctx, tok); err == nil || !store.IsUniqueViolation(err) {
			t.Fatalf("repeated nonce: %v", err)
		}
		if _, err := s.CreateLoginToken(ctx, access.LoginToken{Nonce: "n2"}); !errors.Is(err, access.ErrInvalid) {
			t.Fatalf("incomplete token: %v", err)
		}

		if _, err := s.AuthLogByToken(ctx, id); !errors.Is(err, access.ErrNotFound) {
			t.Fatalf("no decision yet: %v", err)
		}
		for i, reason := range []string{string(access.ReasonBadCredentials), string(access.ReasonArrears)} {
			_, err := s.DB().ExecContext(ctx, s.Rebind(`INSERT INTO auth_log (at, username, account_id, result, reason, message, token_id)
				VALUES (?, ?, ?, 'reject', ?, ?, ?)`), access.Millis(now)+int64(i), a.Username, a.ID, reason, "msg "+reason, id)
			if err != nil {
				t.Fatal(err)
			}
		}
		e, err := s.AuthLogByToken(ctx, id)
		if err != nil || e.Reason != access.ReasonArrears || e.TokenID == nil || *e.TokenID != id {
			t.Fatalf("newest decision: %+v %v", e, err)
		}

		n, err := s.PurgeLoginTokens(ctx, now.Add(2*time.Minute))
		if err != nil || n != 1 {
			t.Fatalf("purge: %d %v", n, err)
		}
		if _, err := s.AuthLogByToken(ctx, id); err != nil {
			t.Fatalf("auth log must survive the purge of its token: %v", err)
		}
	})
}

func TestRememberDevice(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := portalAccount(t, s, "u1")
		const mac = "02:11:22:33:44:55"
		if err := s.RememberDevice(ctx, a.ID, mac, access.ClassPC, "ua windows"); err != nil {
			t.Fatal(err)
		}
		if err := s.RememberDevice(ctx, a.ID, mac, access.ClassMobile, "platform iPhone"); err != nil {
			t.Fatal(err)
		}
		var d access.Device
		if err := s.DB().GetContext(ctx, &d, s.Rebind(`SELECT id, account_id, mac, class, signals, bound, bound_by, last_seen_at, created_at FROM devices WHERE account_id = ?`), a.ID); err != nil {
			t.Fatal(err)
		}
		if d.Class != access.ClassMobile || d.Signals != "platform iPhone" || d.Bound || d.LastSeenAt == 0 {
			t.Fatalf("device: %+v", d)
		}
		if err := s.RememberDevice(ctx, a.ID, "", access.ClassPC, ""); !errors.Is(err, access.ErrInvalid) {
			t.Fatalf("no MAC: %v", err)
		}
	})
}

func TestActiveCycleRead(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := portalAccount(t, s, "u1")
		if _, err := s.ActiveCycle(ctx, a.ID, "dorm"); !errors.Is(err, access.ErrNotFound) {
			t.Fatalf("none yet: %v", err)
		}
		_, err := s.DB().ExecContext(ctx, s.Rebind(`INSERT INTO cycles (account_id, area, fee_fen, started_at, ends_at, status) VALUES (?, 'dorm', 2000, 1000, 2000, 'settled'), (?, 'dorm', 2000, 2000, 3000, 'active')`), a.ID, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.ActiveCycle(ctx, a.ID, "dorm")
		if err != nil || c.EndsAt != 3000 || c.Fee != 2000 {
			t.Fatalf("active: %+v %v", c, err)
		}
		if _, err := s.ActiveCycle(ctx, a.ID, "office"); !errors.Is(err, access.ErrNotFound) {
			t.Fatalf("other area: %v", err)
		}
	})
}

func TestPortalNodes(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for _, n := range []access.PortalNode{
			{NodeID: "3", Address: "10.0.0.3:80", Version: "v1", StartedAt: 1, HeartbeatAt: 10, LoginsOK: 5},
			{NodeID: "1", Address: "10.0.0.1:80", Version: "v1", StartedAt: 1, HeartbeatAt: 10},
			{NodeID: "3", Address: "10.0.0.3:80", Version: "v2", StartedAt: 20, HeartbeatAt: 30, LoginsOK: 1, BASErrors: 2},
		} {
			if err := s.HeartbeatNode(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		nodes, err := s.PortalNodes(ctx)
		if err != nil || len(nodes) != 2 {
			t.Fatalf("nodes: %+v %v", nodes, err)
		}
		if nodes[0].NodeID != "1" || nodes[1].Version != "v2" || nodes[1].StartedAt != 20 || nodes[1].BASErrors != 2 || nodes[1].LoginsOK != 1 {
			t.Fatalf("nodes: %+v", nodes)
		}
		if err := s.HeartbeatNode(ctx, access.PortalNode{}); !errors.Is(err, access.ErrInvalid) {
			t.Fatalf("empty id: %v", err)
		}
		// A clean stop is kept until the node's next heartbeat.
		if ok, err := s.StopNode(ctx, "3"); !ok || err != nil {
			t.Fatalf("stop: %v %v", ok, err)
		}
		if ok, err := s.StopNode(ctx, "9"); ok || err != nil {
			t.Fatalf("stop of no node: %v %v", ok, err)
		}
		if nodes, err := s.PortalNodes(ctx); err != nil || nodes[1].StoppedAt == 0 || nodes[0].StoppedAt != 0 {
			t.Fatalf("after stop: %+v %v", nodes, err)
		}
		if err := s.HeartbeatNode(ctx, access.PortalNode{NodeID: "3", StartedAt: 40, HeartbeatAt: 40}); err != nil {
			t.Fatal(err)
		}
		if nodes, err := s.PortalNodes(ctx); err != nil || nodes[1].StoppedAt != 0 {
			t.Fatalf("after restart: %+v %v", nodes, err)
		}
		if ok, err := s.DeletePortalNode(ctx, "1"); !ok || err != nil {
			t.Fatalf("delete: %v %v", ok, err)
		}
	})
}

// TestPortalKicks: the NTF_LOGOUT notes every portal node reads: the
// newest per address, only when recent enough, gone after a login there or
// a purge.
func TestPortalKicks(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.UnixMilli(1_800_000_000_000)
		for _, k := range []struct {
			ip, nas string
			at      time.Time
		}{{"10.2.0.8", "bras-1", t0}, {"10.2.0.8", "bras-2", t0.Add(time.Minute)}, {"10.2.0.9", "bras-1", t0}} {
			if err := s.RecordKick(ctx, k.ip, k.nas, k.at); err != nil {
				t.Fatal(err)
			}
		}
		nas, at, ok, err := s.KickByIP(ctx, "10.2.0.8", t0)
		if err != nil || !ok || nas != "bras-2" || !at.Equal(t0.Add(time.Minute)) {
			t.Fatalf("newest note: %q %v %v %v", nas, at, ok, err)
		}
		if _, _, ok, err := s.KickByIP(ctx, "10.2.0.8", t0.Add(2*time.Minute)); err != nil || ok {
			t.Fatal("a note older than since was returned")
		}
		if _, _, ok, err := s.KickByIP(ctx, "10.2.0.7", t0); err != nil || ok {
			t.Fatal("a note for an address never logged out")
		}
		if err := s.ForgetKick(ctx, "10.2.0.8"); err != nil {
			t.Fatal(err)
		}
		if _, _, ok, err := s.KickByIP(ctx, "10.2.0.8", t0); err != nil || ok {
			t.Fatal("note survived ForgetKick")
		}
		if n, err := s.PurgeKicks(ctx, t0.Add(time.Second)); err != nil || n != 1 {
			t.Fatalf("purge: %d %v, want 10.2.0.9's note", n, err)
		}
		if err := s.RecordKick(ctx, "", "bras-1", t0); !errors.Is(err, access.ErrInvalid) {
			t.Fatalf("a note without an address: %v", err)
		}
	})
}

// TestDeviceClassOverride: a class a person gave when binding is the
// override, and a portal login's classification does not replace it; a
// device the portal bound or only saw has none.
func TestDeviceClassOverride(t *testing.T) {
	t.Parallel()
	ForEach(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a := portalAccount(t, s, "u1")
		const byDesk, seen = "00:16:3e:00:00:01", "00:16:3e:00:00:02"
		if _, err := s.BindDevice(ctx, a.ID, byDesk, access.ClassMobile, "desk1", "", 0); err != nil {
			t.Fatal(err)
		}
		for _, mac := range []string{byDesk, seen} {
			if err := s.RememberDevice(ctx, a.ID, mac, access.ClassPC, "ua Windows"); err != nil {
				t.Fatal(err)
			}
		}
		if c, ok, err := s.DeviceClassOverride(ctx, a.ID, byDesk); err != nil || !ok || c != access.ClassMobile {
			t.Fatalf("desk-bound device: %q %v %v", c, ok, err)
		}
		if _, ok, err := s.DeviceClassOverride(ctx, a.ID, seen); err != nil || ok {
			t.Fatalf("a device only seen: %v %v", ok, err)
		}
		devs, err := s.DevicesByAccount(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range devs {
			if want := map[string]access.Class{byDesk: access.ClassMobile, seen: access.ClassPC}[d.MAC]; d.Class != want {
				t.Fatalf("%s: class %s, want %s", d.MAC, d.Class, want)
			}
		}
	})
}
