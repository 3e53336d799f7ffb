package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	layeh "layeh.com/radius"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
)

// TestNotifyCommands: the operator's kick, unbind and password reset each
// leave their event, notify list shows them, and notify retry sends a
// failed one again (audited); bad input is refused.
func TestNotifyCommands(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			c := newCLIEnv(t, kind, func(*layeh.Packet) (bool, int) { return true, 0 })
			ctx := context.Background()
			sid := c.startSession(t, "2026001", "N1", "02:00:00:00:00:31", "10.0.0.31")
			steps := []struct {
				args []string
				code int
				want []string
			}{
				{[]string{"kick", fmt.Sprint(sid), "--reason", "abuse report", "--actor", "op1"}, 0, []string{"disconnected"}},
				{[]string{"devices", "bind", "2026001", "02:00:00:00:00:32", "--class", "pc", "--actor", "op1"}, 0, nil},
				{[]string{"devices", "unbind", "02:00:00:00:00:32", "--actor", "op1", "--reason", "left"}, 0, nil},
				{[]string{"account", "reset-password", "2026001", "--reason", "forgot, card checked", "--actor", "op1"}, 0, []string{"temporary password"}},
				{[]string{"notify", "list", "--account", "2026001"}, 0, []string{"device_kicked", "device_unbound", "password_changed", "pending"}},
				{[]string{"notify", "list", "--status", "failed"}, 0, nil},
				{[]string{"notify", "list", "--status", "bogus"}, 2, []string{"--status must be"}},
				{[]string{"notify", "list", "--status", "pending\x00"}, 2, []string{"control characters"}},
				{[]string{"notify", "list", "--limit", "99999999999999999999"}, 2, nil},
				{[]string{"notify", "list", "--account", "nobody"}, 1, []string{`no account "nobody"`}},
				{[]string{"notify", "retry", "1"}, 2, []string{"--reason is required"}},
				{[]string{"notify", "retry", "1x", "--reason", "r"}, 2, []string{"not a notification id"}},
				{[]string{"notify", "retry", "999999", "--reason", "r"}, 1, []string{"no notification #999999"}},
			}
			for _, s := range steps {
				code, out := c.run(s.args...)
				if code != s.code {
					t.Fatalf("%q: exit %d, want %d:\n%s", s.args, code, s.code, out)
				}
				for _, w := range s.want {
					if !strings.Contains(out, w) {
						t.Errorf("%q: output lacks %q:\n%s", s.args, w, out)
					}
				}
			}
			list, err := c.st.Notifications(ctx, store.NotificationFilter{})
			if err != nil || len(list) != 3 {
				t.Fatalf("notifications %+v, %v", list, err)
			}
			kick := list[2]
			if kick.Event != access.EventDeviceKicked || kick.Key != fmt.Sprintf("kick:%d", sid) || !strings.Contains(kick.Payload, `"by":"operator"`) {
				t.Fatalf("kick event %+v", kick)
			}
			// Pending: retry refuses (the sender tries it by itself).
			id := fmt.Sprint(kick.ID)
			if code, out := c.run("notify", "retry", id, "--reason", "r"); code != 1 || !strings.Contains(out, "still pending") {
				t.Fatalf("retry of a pending event: %d\n%s", code, out)
			}
			// Failed for good, as a sender leaves it after max_attempts.
			claimed, err := c.st.ClaimNotifications(ctx, time.Now().Add(time.Hour), time.Minute, 10)
			if err != nil || len(claimed) != 3 {
				t.Fatalf("claim %v %v", claimed, err)
			}
			for _, n := range claimed {
				if n.ID != kick.ID {
					continue
				}
				if ok, err := c.st.FinishNotification(ctx, n.ID, n.NextAt, store.NotificationOutcome{Failed: true, Error: "HTTP 500 Internal Server Error"}); !ok || err != nil {
					t.Fatalf("fail: %v %v", ok, err)
				}
			}
			code, out := c.run("notify", "list", "--status", "failed")
			if code != 0 || !strings.Contains(out, "HTTP 500 Internal Server Error") || !strings.Contains(out, "device_kicked") {
				t.Fatalf("list failed: %d\n%s", code, out)
			}
			if code, out := c.run("notify", "retry", id, "--reason", "receiver fixed", "--actor", "op2"); code != 0 || !strings.Contains(out, "pending again") {
				t.Fatalf("retry: %d\n%s", code, out)
			}
			n, err := c.st.NotificationByID(ctx, kick.ID)
			if err != nil || n.Status != "pending" || n.Attempts != 0 {
				t.Fatalf("after retry: %+v %v", n, err)
			}
			audit, err := c.st.AuditLog(ctx, "2026001", 20)
			if err != nil || audit[0].Action != "notification.retry" || audit[0].Actor != "op2" || audit[0].Reason != "receiver fixed" {
				t.Fatalf("audit %+v %v", audit, err)
			}
		})
	}
}
