package selfservice_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/radius"
	"github.com/campusnet/campusnet/selfservice"
)

// TestUnbindWhileOnlineEndToEnd: a device bound for seamless login is
// online through the simulated BAS and the real RADIUS server; the student
// unbinds it in self-service; the BAS receives the Disconnect-Request and
// ends the session, the binding is gone, and the device's next MAC
// authentication is refused.
func TestUnbindWhileOnlineEndToEnd(t *testing.T) {
	t.Parallel()
	forEach(t, func(t *testing.T, kind string) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		authConn, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		acctConn, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		b := bas.New(bas.Config{NASIP: netip.MustParseAddr("127.0.0.1"), Secret: "testing123",
			AuthAddr: authConn.LocalAddr().String(), AcctAddr: acctConn.LocalAddr().String(), CoAListen: "127.0.0.1:0",
			Retry: 500 * time.Millisecond})
		t.Cleanup(func() { b.Close() })
		coa, err := b.ListenCoA()
		if err != nil {
			t.Fatal(err)
		}
		go b.ServeCoA(ctx)
		nas := testNAS(int(coa.Port()))

		var st *store.Store
		e := newEnv(t, kind, func(c *selfservice.Config, d *selfservice.Deps) {
			st = d.Store.(*store.Store)
			d.Disconnector = newDisconnector(t, st, int(coa.Port()))
		})
		svc, err := radius.New(radius.Config{Store: store.NewAAA(st), Areas: billingAccessAreas(), NAS: []access.BAS{nas},
			Now: e.clock.Now, Node: "1"})
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- svc.Serve(ctx, authConn, acctConn) }()
		t.Cleanup(func() { cancel(); <-served })

		s1 := e.account("student1", "student1-pass", "student", 5000, false)
		const mac = "3c:22:fb:00:00:10"
		e.bind(s1, mac, "pc") // as a portal login in the dorm did

		res, err := b.Authenticate(ctx, bas.AuthRequest{MAC: mac, UserIP: netip.MustParseAddr("10.1.2.3")})
		if err != nil || !res.Accepted {
			t.Fatalf("MAC authentication of a bound device: %+v %v", res, err)
		}
		if err := b.Start(ctx, res.AcctSessionID); err != nil {
			t.Fatal(err)
		}
		live, err := st.LiveSessionsByMAC(ctx, mac)
		if err != nil || len(live) != 1 || live[0].Status != access.SessionOnline {
			t.Fatalf("session after Accounting-Start: %+v %v", live, err)
		}

		c := e.client()
		c.login("student1", "student1-pass")
		if p := c.get("/devices"); !strings.Contains(p.body, "10.1.2.3") {
			t.Fatalf("devices page does not show the online device: %s", p.body)
		}
		r := c.submit("/devices", "/devices/unbind", url.Values{"mac": {mac}})
		page := c.follow(r.location)
		if !strings.Contains(page.body, "接入设备 dorm-bras-1 已确认") || !strings.Contains(page.body, "已解绑") {
			t.Fatalf("unbind result: %s", page.body)
		}
		if acks, naks := b.DisconnectCounts(); acks != 1 || naks != 0 {
			t.Fatalf("BAS answered %d ACKs, %d NAKs; want 1 ACK", acks, naks)
		}
		if _, ok := b.Session(res.AcctSessionID); ok {
			t.Fatal("the BAS still has the session")
		}
		if _, err := st.BoundDeviceByMAC(ctx, mac); !errors.Is(err, access.ErrNotFound) {
			t.Fatalf("binding after unbind: %v", err)
		}
		if se, err := st.SessionByID(ctx, live[0].ID); err != nil || se.Status != access.SessionClosed {
			t.Fatalf("session after unbind: %+v", se)
		}

		again, err := b.Authenticate(ctx, bas.AuthRequest{MAC: mac, UserIP: netip.MustParseAddr("10.1.2.3")})
		if err != nil || again.Accepted || !strings.Contains(again.ReplyMessage, "未绑定") {
			t.Fatalf("MAC authentication after unbind: %+v %v", again, err)
		}
	})
}
