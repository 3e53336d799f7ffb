package radius_test

import (
	"context"
	"strings"
	"testing"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
)

func TestDisconnectSession(t *testing.T) {
	e := startEnv(t, "sqlite")
	ctx := context.Background()
	b := e.bas("dorm-bras-1")
	e.serveCoA(b)
	a := e.account("2026070", "pw", access.RoleStudent, 5000)
	e.bind(a, "02:00:00:00:70:01", access.ClassPC)
	online := func() access.Session {
		t.Helper()
		r := mustAuth(t, b, bas.AuthRequest{MAC: "02:00:00:00:70:01", UserIP: addr("10.0.7.1")})
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

	tests := []struct {
		name      string
		nak       int
		silent    bool
		ack       bool
		closed    bool
		detail    string
		wantCause int
	}{
		{name: "ack", ack: true, closed: true, detail: "acknowledged by dorm-bras-1"},
		{name: "nak resources unavailable", nak: 506, detail: "NAK 506 resources unavailable from dorm-bras-1", wantCause: 506},
		{name: "nak session not found", nak: 503, closed: true, detail: "NAK 503 session context not found", wantCause: 503},
		{name: "silence", silent: true, detail: "no answer from dorm-bras-1 after 2 tries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := online()
			b.SetNAK(tt.nak)
			defer b.SetNAK(0)
			if tt.silent {
				b.SetNAK(0)
				e.cfg.NAS[0].CoAPort = 9 // discard: nobody answers
				defer func() { e.cfg.NAS[0].CoAPort = 0 }()
				d := newDisc(e)
				out, err := d.DisconnectSession(ctx, s.ID, "op1", "test")
				if err != nil || out.ACK || !strings.Contains(out.Detail, tt.detail) {
					t.Fatalf("silence: %+v, %v", out, err)
				}
				if err := b.Stop(ctx, s.AcctSessionID); err != nil {
					t.Fatal(err)
				}
				return
			}
			out, err := e.disc.DisconnectSession(ctx, s.ID, "op1", "test "+tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if out.ACK != tt.ack || out.ErrorCause != tt.wantCause || !strings.Contains(out.Detail, tt.detail) {
				t.Fatalf("outcome %+v, want ack %v cause %d detail %q", out, tt.ack, tt.wantCause, tt.detail)
			}
			got, err := e.st.SessionByID(ctx, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			if (got.Status == access.SessionClosed) != tt.closed {
				t.Fatalf("session after %s: %+v", tt.name, got)
			}
			if !tt.closed {
				if err := b.Stop(ctx, s.AcctSessionID); err != nil {
					t.Fatal(err)
				}
			}
			// Audited: who, why, what the BAS said.
			log, _ := e.st.AuditLog(ctx, a.Username, 1)
			if len(log) != 1 || log[0].Actor != "op1" || log[0].Action != "session.disconnect" || log[0].Reason != "test "+tt.name ||
				!strings.Contains(log[0].Detail, tt.detail) {
				t.Fatalf("audit: %+v", log)
			}
		})
	}
	if _, err := e.disc.DisconnectSession(ctx, 999999, "op1", "x"); err == nil {
		t.Fatal("disconnecting an unknown session did not fail")
	}
}
