package bas

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	layeh "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"github.com/campusnet/campusnet/internal/testwait"
	"github.com/campusnet/campusnet/portal/portalproto"
	"github.com/campusnet/campusnet/radius/radiusproto"
)

// recorder is a RADIUS server handler that accepts the password "right"
// (PAP or CHAP) and records what the BAS sent.
type recorder struct {
	mu     sync.Mutex
	access []*layeh.Packet
	acct   []rfc2866.AcctStatusType
}

func (r *recorder) ServeAccess(_ context.Context, req *radiusproto.Request) *layeh.Packet {
	p := req.Packet
	r.mu.Lock()
	r.access = append(r.access, p)
	r.mu.Unlock()
	ok := false
	if chap, err := rfc2865.CHAPPassword_Lookup(p); err == nil {
		ok = radiusproto.VerifyCHAP(chap, radiusproto.CHAPChallenge(p), "right")
	} else if pw, err := rfc2865.UserPassword_LookupString(p); err == nil {
		ok = pw == "right"
	}
	if !ok {
		out := p.Response(layeh.CodeAccessReject)
		_ = rfc2865.ReplyMessage_SetString(out, "用户名或密码错误 / Wrong user name or password")
		return out
	}
	return p.Response(layeh.CodeAccessAccept)
}

func (r *recorder) ServeAccounting(_ context.Context, req *radiusproto.Request) error {
	st, _ := rfc2866.AcctStatusType_Lookup(req.Packet)
	r.mu.Lock()
	r.acct = append(r.acct, st)
	r.mu.Unlock()
	return nil
}

func (r *recorder) accounting() []rfc2866.AcctStatusType {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rfc2866.AcctStatusType(nil), r.acct...)
}

func TestPortalSide(t *testing.T) {
	t.Parallel()
	rec, auth, acct := startRecorder(t)
	nasIP := netip.MustParseAddr("127.0.0.1")

	// The portal's notify listener.
	kicked := make(chan netip.Addr, 4)
	ns := &portalproto.NotifyServer{Secrets: func(netip.Addr) (string, bool) { return "ps", true },
		Handler: func(_ context.Context, _ netip.Addr, u portalproto.User) { kicked <- u.Key() }}
	nc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ns.Serve(nc)
	defer func() {
		if err := ns.Shutdown(context.Background()); err != nil {
			t.Errorf("notify server shutdown: %v", err)
		}
	}()

	b := New(Config{NASIP: nasIP, Secret: "s3", AuthAddr: auth, AcctAddr: acct, Retry: 200 * time.Millisecond, MaxTries: 2})
	defer b.Close()
	p := NewPortalSide(b, PortalSideConfig{Secret: "ps", BASIP: nasIP, NotifyAddr: nc.LocalAddr().String(), NotifyWindow: time.Second})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go p.Serve(pc)
	defer func() {
		if err := p.Shutdown(context.Background()); err != nil {
			t.Errorf("portal side shutdown: %v", err)
		}
	}()

	ctx := context.Background()
	tests := []struct {
		name    string
		version portalproto.Version
		auth    string
	}{{"v2 chap", portalproto.V2, "chap"}, {"v1 chap", portalproto.V1, "chap"}, {"v2 pap", portalproto.V2, "pap"}, {"v1 pap", portalproto.V1, "pap"}}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := portalproto.NewClient(portalproto.ClientConfig{BASAddr: pc.LocalAddr().String(), Version: tt.version, Secret: "ps",
				Auth: tt.auth, BASIP: nasIP, Timeout: 500 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ip := netip.AddrFrom4([4]byte{10, 0, 0, byte(10 + i)})
			mac := "00:16:3e:00:00:0" + string(rune('1'+i))

			var be *portalproto.BASError
			if _, err := c.Login(ctx, ip, mac, "u1", []byte("wrong")); !errors.As(err, &be) || be.Text != "用户名或密码错误 / Wrong user name or password" {
				t.Fatalf("wrong password: %v", err)
			}
			before := len(rec.accounting())
			res, err := c.Login(ctx, ip, mac, "u1", []byte("right"))
			if err != nil || res.AlreadyOnline {
				t.Fatalf("login: %+v %v", res, err)
			}
			rec.mu.Lock()
			last := rec.access[len(rec.access)-1]
			rec.mu.Unlock()
			fip, _ := rfc2865.FramedIPAddress_Lookup(last)
			csid, _ := rfc2865.CallingStationID_LookupString(last)
			nip, _ := rfc2865.NASIPAddress_Lookup(last)
			if !fip.Equal(ip.AsSlice()) || csid != FormatMAC(mac) || !nip.Equal(nasIP.AsSlice()) {
				t.Fatalf("Access-Request: Framed-IP %v Calling-Station-Id %q NAS-IP %v", fip, csid, nip)
			}
			if _, err := rfc2865.CHAPChallenge_Lookup(last); (err == nil) != (tt.auth == "chap") {
				t.Fatalf("CHAP-Challenge present = %v for %s", err == nil, tt.auth)
			}
			testwait.For(t, "Accounting-Start", func() bool {
				a := rec.accounting()
				return len(a) == before+1 && a[before] == rfc2866.AcctStatusType_Value_Start
			})
			if res, err := c.Login(ctx, ip, mac, "u1", []byte("right")); err != nil || !res.AlreadyOnline {
				t.Fatalf("again: %+v %v", res, err)
			}
			if err := c.Logout(ctx, ip); err != nil {
				t.Fatal(err)
			}
			testwait.For(t, "Accounting-Stop", func() bool {
				a := rec.accounting()
				return len(a) == before+2 && a[before+1] == rfc2866.AcctStatusType_Value_Stop
			})
			if err := c.Logout(ctx, ip); err != nil { // already offline is fine
				t.Fatal(err)
			}
		})
	}

	t.Run("disconnect sends NTF_LOGOUT", func(t *testing.T) {
		c, _ := portalproto.NewClient(portalproto.ClientConfig{BASAddr: pc.LocalAddr().String(), Secret: "ps", BASIP: nasIP})
		defer c.Close()
		ip := netip.MustParseAddr("10.0.1.1")
		if _, err := c.Login(ctx, ip, "", "u1", []byte("right")); err != nil {
			t.Fatal(err)
		}
		p.disconnected(ip, netip.Addr{}, "")
		select {
		case got := <-kicked:
			if got != ip {
				t.Fatalf("NTF_LOGOUT for %v", got)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("no NTF_LOGOUT")
		}
		if _, ok := p.Online(ip); ok {
			t.Fatal("still online at the BAS")
		}
	})

	t.Run("silent", func(t *testing.T) {
		p.SetSilent(true)
		defer p.SetSilent(false)
		c, _ := portalproto.NewClient(portalproto.ClientConfig{BASAddr: pc.LocalAddr().String(), Secret: "ps", BASIP: nasIP, Timeout: 200 * time.Millisecond})
		defer c.Close()
		if _, err := c.Login(ctx, netip.MustParseAddr("10.0.2.1"), "", "u1", []byte("right")); !errors.Is(err, portalproto.ErrTimeout) {
			t.Fatalf("silent BAS: %v", err)
		}
	})
	if st := p.Stats(); st.Accepted != 5 || st.Rejected != 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMACForIP(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"127.0.0.1", "02:00:7f:00:00:01"},
		{"10.1.2.3", "02:00:0a:01:02:03"},
		{"::ffff:10.1.2.3", "02:00:0a:01:02:03"},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			if got := macForIP(netip.MustParseAddr(tt.ip)); got != tt.want {
				t.Fatalf("macForIP(%s) = %s, want %s", tt.ip, got, tt.want)
			}
		})
	}
}
