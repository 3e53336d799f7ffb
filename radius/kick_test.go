package radius_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/internal/testwait"
)

// kicks returns the account's device_kicked events and each one's "by".
func kicks(t *testing.T, st *store.Store, a access.Account) map[string]string {
	t.Helper()
	list, err := st.Notifications(context.Background(), store.NotificationFilter{AccountID: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range list {
		if n.Event != access.EventDeviceKicked {
			continue
		}
		var p struct {
			Data struct {
				By  string `json:"by"`
				MAC string `json:"mac"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(n.Payload), &p); err != nil {
			t.Fatal(err)
		}
		out[n.Key] = p.Data.By + " " + p.Data.MAC
	}
	return out
}

// An acknowledged Disconnect-Request asked by an operator or the student
// records device_kicked once, with who; a NAK, and billing's disconnect
// for arrears, record none.
func TestKickNotified(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := startEnv(t, kind)
			ctx := context.Background()
			b := e.bas("dorm-bras-1")
			e.serveCoA(b)
			a := e.account("2026071", "pw", access.RoleStudent, 5000)
			e.bind(a, "02:00:00:00:71:01", access.ClassPC)
			online := func() access.Session {
				t.Helper()
				r := mustAuth(t, b, bas.AuthRequest{MAC: "02:00:00:00:71:01", UserIP: addr("10.0.7.11")})
				if !r.Accepted {
					t.Fatalf("refused: %q", r.ReplyMessage)
				}
				if err := b.Start(ctx, r.AcctSessionID); err != nil {
					t.Fatal(err)
				}
				for _, s := range e.sessions(a, true) {
					if s.AcctSessionID == r.AcctSessionID {
						return s
					}
				}
				t.Fatal("no online session")
				return access.Session{}
			}
			want := map[string]string{}
			for _, c := range []struct {
				actor, reason, by string
				nak               int
			}{
				{actor: "op1", reason: "noc: abuse report", by: "operator"},
				{actor: a.Username, reason: "kick", by: "student"},
				{actor: "op1", reason: "noc", nak: 506},
				{actor: "billing", reason: string(access.ReasonArrears)},
				{actor: a.Username, reason: "mac_unbound"},
			} {
				s := online()
				b.SetNAK(c.nak)
				out, err := e.disc.DisconnectSession(ctx, s.ID, c.actor, c.reason)
				b.SetNAK(0)
				if err != nil || out.ACK != (c.nak == 0) {
					t.Fatalf("%+v: %+v %v", c, out, err)
				}
				if c.by != "" {
					want[fmt.Sprintf("kick:%d", s.ID)] = c.by + " 02:00:00:00:71:01"
					// Asked again (a retried command): still one event.
					if _, err := e.disc.DisconnectSession(ctx, s.ID, c.actor, c.reason); err != nil {
						t.Fatal(err)
					}
				}
				if got, err := e.st.SessionByID(ctx, s.ID); err != nil || (c.nak == 0 && got.Status != access.SessionClosed) {
					t.Fatalf("session after %+v: %+v %v", c, got, err)
				}
				if c.nak != 0 {
					if err := b.Stop(ctx, s.AcctSessionID); err != nil {
						t.Fatal(err)
					}
				}
			}
			got := kicks(t, e.st, a)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("device_kicked events %v, want %v", got, want)
			}
		})
	}
}

// A device limit's replace_oldest records device_kicked for the session it
// took offline.
func TestReplaceOldestNotified(t *testing.T) {
	e := startEnv(t, "sqlite")
	b := e.bas("dorm2-bras")
	e.serveCoA(b)
	ctx := context.Background()
	a := e.account("2026051", "pw", access.RoleStudent, 0)
	e.bind(a, "02:00:00:00:51:01", access.ClassPC)
	e.bind(a, "02:00:00:00:51:02", access.ClassPC)
	old := mustAuth(t, b, bas.AuthRequest{MAC: "02:00:00:00:51:01", UserIP: addr("10.4.0.11")})
	if err := b.Start(ctx, old.AcctSessionID); err != nil {
		t.Fatal(err)
	}
	if nw := mustAuth(t, b, bas.AuthRequest{MAC: "02:00:00:00:51:02"}); !nw.Accepted {
		t.Fatalf("replace_oldest refused: %q", nw.ReplyMessage)
	}
	testwait.For(t, "device_kicked of the oldest PC", func() bool {
		for _, v := range kicks(t, e.st, a) {
			if v == "device_limit 02:00:00:00:51:01" {
				return true
			}
		}
		return false
	})
}
