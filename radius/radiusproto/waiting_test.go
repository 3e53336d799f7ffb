package radiusproto

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/testwait"
)

// TestWaitingLoginsDoNotHoldWorkers: a login the handler keeps waiting (a
// password being hashed) gives its worker back, so the read loop goes on;
// beyond Waiting such logins a new one is dropped unanswered and counted.
func TestWaitingLoginsDoNotHoldWorkers(t *testing.T) {
	h := &testHandler{hold: make(chan struct{}), entered: make(chan struct{}, 4)}
	obs := newTestObserver()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{NAS: NewStaticNAS(localNAS(false)), Handler: h, Metrics: obs, Workers: 1, Waiting: 1}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(conn, nil) }()
	defer func() {
		close(h.hold)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		<-done
	}()
	c := dialRaw(t, conn.LocalAddr().String())

	first := encodeReq(t, accessRequest(t, testSecret, testUser, testPassword))
	c.send(first)
	select {
	case <-h.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the first login never reached the handler")
	}
	// The one worker is free again: a second login is read, and dropped
	// because the one waiting place is taken.
	c.send(encodeReq(t, accessRequest(t, testSecret, "bob", testPassword)))
	testwait.For(t, "the second login to be dropped as overload", func() bool { return obs.droppedN(DropOverload) == 1 })
	if n := h.access.Load(); n != 1 {
		t.Fatalf("handler called %d times, want 1", n)
	}
	// Let go, the first login is answered.
	h.hold <- struct{}{}
	if reply := c.recv(5 * time.Second); reply == nil {
		t.Fatal("the held login got no answer")
	}
}
