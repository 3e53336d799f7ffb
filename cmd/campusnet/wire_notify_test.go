package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/notify"
	"github.com/campusnet/campusnet/internal/testwait"
)

// serve runs the webhook sender when [notify] webhook_url is set: an event
// recorded by an operator's unbind reaches a loopback receiver, signed.
func TestServeSendsNotifications(t *testing.T) {
	t.Parallel()
	got := make(chan string, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(notify.HeaderSignature) == notify.Sign([]byte("hook-secret"), body) {
			got <- r.Header.Get(notify.HeaderEvent)
		} else {
			got <- "bad signature"
		}
	}))
	defer recv.Close()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "c.db")
	s := startServer(t, testConfig(t, dsn, fmt.Sprintf("[notify]\nwebhook_url = %q\nsecret = \"hook-secret\"\n", recv.URL)), false)
	ctx := context.Background()
	a, _, err := s.st.EnsureAccount(ctx, access.Account{Username: "s1", Role: access.RoleStudent})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.st.BindDevice(ctx, a.ID, "02:00:00:00:00:41", access.ClassPC, "op1", "tv", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.st.UnbindDevice(ctx, a.ID, "02:00:00:00:00:41", "op1", "moved out"); err != nil {
		t.Fatal(err)
	}
	var ev string
	testwait.For(t, "the receiver to get the event", func() bool {
		select {
		case ev = <-got:
			return true
		default:
			return false
		}
	})
	if ev != access.EventDeviceUnbound {
		t.Fatalf("receiver got %q", ev)
	}
}
