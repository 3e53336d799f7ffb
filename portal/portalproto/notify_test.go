package portalproto

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/testwait"
)

type logoutCall struct {
	bas, user netip.Addr
	mac       string
	user6     netip.Addr
}

// portalSide is a NotifyServer that knows the BAS at testBASIP and
// 127.0.0.1, and records the logouts it reports.
type portalSide struct {
	srv   *NotifyServer
	addr  string
	calls chan logoutCall
	now   atomic.Int64 // fake clock, Unix nanoseconds
}

func startPortalSide(t *testing.T) *portalSide {
	t.Helper()
	ps := &portalSide{calls: make(chan logoutCall, 16)}
	ps.now.Store(time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC).UnixNano())
	ps.srv = &NotifyServer{
		Secrets: func(bas netip.Addr) (string, bool) {
			if bas == testBASIP || bas == netip.MustParseAddr("127.0.0.1") {
				return testSecret, true
			}
			return "", false
		},
		Handler: func(_ context.Context, bas netip.Addr, u User) {
			ps.calls <- logoutCall{bas, u.IP, u.MAC, u.IPv6}
		},
		Now: func() time.Time { return time.Unix(0, ps.now.Load()) },
	}
	ps.addr = startNotify(t, ps.srv)
	return ps
}

func (ps *portalSide) expectCalls(t *testing.T, n int) []logoutCall {
	t.Helper()
	var got []logoutCall
	for range n {
		select {
		case c := <-ps.calls:
			got = append(got, c)
		case <-time.After(2 * time.Second):
			t.Fatalf("got %d logout calls, want %d", len(got), n)
		}
	}
	select {
	case c := <-ps.calls:
		t.Fatalf("unexpected extra logout call %+v", c)
	case <-time.After(50 * time.Millisecond):
	}
	return got
}

func TestSendNotifyLogout(t *testing.T) {
	for _, v := range []Version{V1, V2} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			ps := startPortalSide(t)
			bas := &BASServer{Secret: testSecret, BASIP: testBASIP, Handler: &simBAS{}, NotifyVersion: v}
			if err := bas.SendNotifyLogout(context.Background(), ps.addr, testUser, testMAC); err != nil {
				t.Fatal(err)
			}
			got := ps.expectCalls(t, 1)
			if want := (logoutCall{testBASIP, testUser, testMAC, netip.Addr{}}); got[0] != want {
				t.Errorf("handler got %+v, want %+v", got[0], want)
			}
			if st := ps.srv.Stats(); st.Acked != 1 || st.Duplicates != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// lossyRelay forwards datagrams between one BAS and the portal at target,
// dropping the first drop answers from the portal.
func lossyRelay(t *testing.T, target string, drop int) string {
	t.Helper()
	pc := listenUDP(t)
	t.Cleanup(func() { pc.Close() })
	portal, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		var bas net.Addr
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if from.String() == portal.String() {
				if drop > 0 {
					drop--
					continue
				}
				if bas != nil {
					_, _ = pc.WriteTo(buf[:n], bas)
				}
				continue
			}
			bas = from
			_, _ = pc.WriteTo(buf[:n], portal)
		}
	}()
	return pc.LocalAddr().String()
}

// TestNotifyLogoutRetransmitted: the first three ACKs are lost, so the BAS
// sends NTF_LOGOUT four times. Every copy is ACKed, the logout is reported
// once, and the BAS is satisfied by the fourth ACK.
func TestNotifyLogoutRetransmitted(t *testing.T) {
	ps := startPortalSide(t)
	relay := lossyRelay(t, ps.addr, 3)
	bas := &BASServer{Secret: testSecret, BASIP: testBASIP, Handler: &simBAS{}, NotifyWindow: 800 * time.Millisecond}
	if err := bas.SendNotifyLogout(context.Background(), relay, testUser, ""); err != nil {
		t.Fatal(err)
	}
	got := ps.expectCalls(t, 1)
	if got[0] != (logoutCall{testBASIP, testUser, "", netip.Addr{}}) {
		t.Errorf("handler got %+v", got[0])
	}
	if st := ps.srv.Stats(); st.Acked != 4 || st.Duplicates != 3 {
		t.Errorf("stats %+v, want 4 acked, 3 duplicates", st)
	}
}

func TestSendNotifyLogoutNoPortal(t *testing.T) {
	pc := listenUDP(t) // a portal that never answers
	defer pc.Close()
	var n atomic.Int32
	go func() {
		buf := make([]byte, 512)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			n.Add(1)
		}
	}()
	bas := &BASServer{Secret: testSecret, BASIP: testBASIP, Handler: &simBAS{}, NotifyWindow: 400 * time.Millisecond}
	err := bas.SendNotifyLogout(context.Background(), pc.LocalAddr().String(), testUser, "")
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	testwait.For(t, "four transmissions", func() bool { return n.Load() == 4 })
}

// rawNotify sends b to the notify server from a fresh socket and returns
// the answer, or nil when none comes within 150 ms.
func rawNotify(t *testing.T, addr string, b []byte) *Packet {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(b); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	buf := make([]byte, 2048)
	n, err := conn.Read(buf)
	if err != nil {
		return nil
	}
	p, err := Unmarshal(buf[:n])
	if err != nil {
		t.Fatalf("answer does not decode: %v", err)
	}
	return p
}

func ntfLogout(t *testing.T, serial uint16, secret string, basIP *netip.Addr) (*Packet, []byte) {
	t.Helper()
	p := &Packet{Version: V2, Type: NtfLogout, SerialNo: serial, ReqID: 0x0102, UserIP: testUser}
	if basIP != nil {
		b := basIP.As4()
		p.AddAttr(AttrBASIP, b[:])
	}
	b, err := p.Marshal([]byte(secret), nil)
	if err != nil {
		t.Fatal(err)
	}
	return p, b
}

func TestNotifyServer(t *testing.T) {
	ps := startPortalSide(t)
	bas := testBASIP

	t.Run("duplicates acked, handled once", func(t *testing.T) {
		ntf, b := ntfLogout(t, 0x42, testSecret, &bas)
		for i := range 3 {
			ack := rawNotify(t, ps.addr, b)
			if ack == nil {
				t.Fatalf("copy %d not acked", i+1)
			}
			if ack.Type != AckNtfLogout || ack.SerialNo != 0x42 || ack.ReqID != 0x0102 || ack.UserIP != testUser || ack.ErrCode != CodeOK {
				t.Errorf("ack %+v", ack)
			}
			if err := ack.Verify([]byte(testSecret), &ntf.Authenticator); err != nil {
				t.Errorf("ack authenticator: %v", err)
			}
			if ip, ok := ack.BASIP(); !ok || ip != testBASIP {
				t.Errorf("ack BAS-IP %v %v", ip, ok)
			}
		}
		ps.expectCalls(t, 1)
	})
	t.Run("new serial handled again", func(t *testing.T) {
		_, b := ntfLogout(t, 0x43, testSecret, &bas)
		if rawNotify(t, ps.addr, b) == nil {
			t.Fatal("not acked")
		}
		ps.expectCalls(t, 1)
	})
	t.Run("same packet after the window handled again", func(t *testing.T) {
		_, b := ntfLogout(t, 0x43, testSecret, &bas)
		ps.now.Add(int64(DefaultDedupWindow + time.Second))
		if rawNotify(t, ps.addr, b) == nil {
			t.Fatal("not acked")
		}
		ps.expectCalls(t, 1)
	})
	t.Run("BAS found by source address without BAS-IP", func(t *testing.T) {
		_, b := ntfLogout(t, 0x44, testSecret, nil)
		if rawNotify(t, ps.addr, b) == nil {
			t.Fatal("not acked")
		}
		got := ps.expectCalls(t, 1)
		if got[0].bas != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("BAS = %v", got[0].bas)
		}
	})
	drops := []struct {
		name  string
		data  func() []byte
		count func(NotifyStats) uint64
	}{
		{name: "unknown BAS", data: func() []byte {
			other := netip.MustParseAddr("10.9.9.9")
			_, b := ntfLogout(t, 0x45, testSecret, &other)
			return b
		}, count: func(s NotifyStats) uint64 { return s.UnknownBAS }},
		{name: "wrong secret", data: func() []byte {
			_, b := ntfLogout(t, 0x46, "wrong", &bas)
			return b
		}, count: func(s NotifyStats) uint64 { return s.BadAuthenticator }},
		{name: "malformed", data: func() []byte { return []byte{2, 8, 0, 0, 0} },
			count: func(s NotifyStats) uint64 { return s.Malformed }},
		{name: "attribute overflows", data: func() []byte {
			_, b := ntfLogout(t, 0x47, testSecret, &bas)
			b[len(b)-5] = 0x40
			return b
		}, count: func(s NotifyStats) uint64 { return s.Malformed }},
		{name: "other type", data: func() []byte {
			p := &Packet{Version: V2, Type: NtfUserIPChange, UserIP: testUser}
			b, err := p.Marshal([]byte(testSecret), nil)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}, count: func(s NotifyStats) uint64 { return s.Ignored }},
	}
	for _, tt := range drops {
		t.Run("dropped: "+tt.name, func(t *testing.T) {
			before := tt.count(ps.srv.Stats())
			if ack := rawNotify(t, ps.addr, tt.data()); ack != nil {
				t.Errorf("answered with %+v", ack)
			}
			if tt.count(ps.srv.Stats()) != before+1 {
				t.Errorf("stats %+v", ps.srv.Stats())
			}
			ps.expectCalls(t, 0)
		})
	}
	t.Run("still serving", func(t *testing.T) {
		_, b := ntfLogout(t, 0x48, testSecret, &bas)
		if rawNotify(t, ps.addr, b) == nil {
			t.Fatal("not acked")
		}
		ps.expectCalls(t, 1)
	})
}

// TestBASServerSurvivesMalformed: garbage and forged requests do not stop
// the BAS; a login afterwards works.
func TestBASServerSurvivesMalformed(t *testing.T) {
	bas := &simBAS{token: testToken}
	srv := &BASServer{Secret: testSecret, Handler: bas}
	addr := startBAS(t, srv)
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	forged, err := (&Packet{Version: V2, Type: ReqChallenge, UserIP: testUser}).Marshal([]byte("wrong"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{{}, {1}, {2, 1, 0, 0, 0, 0, 0, 0, 10, 1, 2, 3, 0, 0, 0, 1}, make([]byte, 5000), forged} {
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	testwait.For(t, "garbage counted", func() bool {
		st := srv.Stats()
		return st.Malformed == 4 && st.BadAuthenticator == 1
	})
	c := newClient(t, ClientConfig{BASAddr: addr, Secret: testSecret, Timeout: 2 * time.Second})
	if _, err := c.Login(context.Background(), testUser, "", "u1", testToken); err != nil {
		t.Fatal(err)
	}
}

// TestShutdownWaitsForHandlers: Shutdown returns once a running handler
// finishes, and Serve then returns ErrServerClosed.
func TestShutdownWaitsForHandlers(t *testing.T) {
	var mu sync.Mutex
	finished := false
	started := make(chan struct{})
	srv := &NotifyServer{
		Secrets: func(netip.Addr) (string, bool) { return testSecret, true },
		Handler: func(context.Context, netip.Addr, User) {
			close(started)
			time.Sleep(100 * time.Millisecond)
			mu.Lock()
			finished = true
			mu.Unlock()
		},
	}
	pc := listenUDP(t)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(pc) }()
	_, b := ntfLogout(t, 1, testSecret, nil)
	rawNotify(t, pc.LocalAddr().String(), b)
	<-started
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if !finished {
		t.Error("Shutdown returned before the handler finished")
	}
	mu.Unlock()
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	if err := srv.Serve(listenUDP(t)); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown returned %v", err)
	}
}
