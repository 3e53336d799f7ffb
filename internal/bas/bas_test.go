package bas

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"

	"github.com/campusnet/campusnet/internal/testwait"
	"github.com/campusnet/campusnet/radius/radiusproto"
)

func TestFormatMAC(t *testing.T) {
	for in, want := range map[string]string{"00:10:a4:23:19:c0": "00-10-A4-23-19-C0", "0010-a423-19c0": "00-10-A4-23-19-C0", "x": "x"} {
		if got := FormatMAC(in); got != want {
			t.Errorf("FormatMAC(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRADIUSSide(t *testing.T) {
	t.Parallel()
	rec, auth, acct := startRecorder(t)
	nasIP := netip.MustParseAddr("127.0.0.1")
	b := New(Config{NASIP: nasIP, Secret: "s3", AuthAddr: auth, AcctAddr: acct,
		CoAListen: "127.0.0.1:0", Retry: 200 * time.Millisecond, MaxTries: 2})
	defer b.Close()
	gone := make(chan string, 4)
	b.OnDisconnect = func(_, _ netip.Addr, mac string) { gone <- mac }
	coa, err := b.ListenCoA()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- b.ServeCoA(ctx) }()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("ServeCoA: %v", err)
		}
	}()

	// PAP: refused, then accepted (a session, not started).
	if res, err := b.Authenticate(ctx, AuthRequest{UserName: "u1", Password: "wrong"}); err != nil || res.Accepted || res.ReplyMessage == "" {
		t.Fatalf("wrong password: %+v %v", res, err)
	}
	res, err := b.Authenticate(ctx, AuthRequest{UserName: "u1", Password: "right", MAC: "00:16:3e:00:00:01", UserIP: netip.MustParseAddr("10.0.0.1")})
	if err != nil || !res.Accepted || res.AcctSessionID == "" {
		t.Fatalf("login: %+v %v", res, err)
	}
	if s, ok := b.Session(res.AcctSessionID); !ok || s.Started || s.MAC != "00:16:3e:00:00:01" {
		t.Fatalf("session after accept: %+v %v", s, ok)
	}
	// MAC authentication: Call-Check, the MAC as user name.
	if _, err := b.Authenticate(ctx, AuthRequest{MAC: "00-16-3E-00-00-02"}); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	last := rec.access[len(rec.access)-1]
	rec.mu.Unlock()
	if u, _ := rfc2865.UserName_LookupString(last); u != "00-16-3E-00-00-02" {
		t.Fatalf("MAC authentication User-Name %q", u)
	}
	if st, _ := rfc2865.ServiceType_Lookup(last); st != rfc2865.ServiceType_Value_CallCheck {
		t.Fatalf("MAC authentication Service-Type %v", st)
	}

	// Accounting.
	for _, f := range []func(context.Context, string) error{b.Start, b.Interim} {
		if err := f(ctx, res.AcctSessionID); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Start(ctx, "nope"); err == nil {
		t.Fatal("Start of an unknown session succeeded")
	}

	// Disconnect-Requests, as campusnet sends them.
	nas := &radiusproto.NAS{Name: "bras", IP: nasIP, Secret: []byte("s3"), CoAPort: int(coa.Port())}
	cc := &radiusproto.CoAClient{Retry: 200 * time.Millisecond, MaxTries: 2}
	defer cc.Close()
	tests := []struct {
		name  string
		nak   int
		ident radiusproto.SessionIdent
		ack   bool
		cause int
	}{
		{"unknown session", 0, radiusproto.SessionIdent{AcctSessionID: "nope"}, false, 503},
		{"told to NAK", 506, radiusproto.SessionIdent{AcctSessionID: res.AcctSessionID}, false, 506},
		{"another NAS", 0, radiusproto.SessionIdent{AcctSessionID: res.AcctSessionID, NASIP: netip.MustParseAddr("192.0.2.1")}, false, 403},
		{"ack", 0, radiusproto.SessionIdent{AcctSessionID: res.AcctSessionID, UserName: "u1", CallingStationID: "00-16-3E-00-00-01", NASIP: nasIP}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b.SetNAK(tt.nak)
			defer b.SetNAK(0)
			reply, _, err := cc.Disconnect(ctx, nas, tt.ident)
			if err != nil {
				t.Fatalf("disconnect: %v", err)
			}
			if ack, cause := radiusproto.DisconnectAnswer(reply); ack != tt.ack || cause != tt.cause {
				t.Fatalf("disconnect: ack %v cause %d, want ack %v cause %d", ack, cause, tt.ack, tt.cause)
			}
		})
	}
	select {
	case mac := <-gone:
		if mac != "00:16:3e:00:00:01" {
			t.Fatalf("OnDisconnect(%q)", mac)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("OnDisconnect not called")
	}
	if _, ok := b.Session(res.AcctSessionID); ok {
		t.Fatal("session still there after Disconnect-ACK")
	}
	want := []rfc2866.AcctStatusType{rfc2866.AcctStatusType_Value_Start, rfc2866.AcctStatusType_Value_InterimUpdate, rfc2866.AcctStatusType_Value_Stop}
	testwait.For(t, "Accounting-Stop after the disconnect", func() bool { return slices.Equal(rec.accounting(), want) })
	acks, naks := b.DisconnectCounts()
	if acks != 1 || naks != 3 {
		t.Fatalf("counts %d %d", acks, naks)
	}
	// Accounting-On forgets everything.
	if _, err := b.Authenticate(ctx, AuthRequest{UserName: "u1", Password: "right"}); err != nil {
		t.Fatal(err)
	}
	if err := b.AccountingOn(ctx); err != nil || len(b.Sessions()) != 0 {
		t.Fatalf("accounting-on: %v, %d sessions", err, len(b.Sessions()))
	}
}

// startRecorder serves RADIUS for the NAS "bras" on 127.0.0.1 (secret
// "s3") with a recorder, until the test ends, and returns the recorder and
// the authentication and accounting addresses.
func startRecorder(t *testing.T) (rec *recorder, auth, acct string) {
	t.Helper()
	rec = &recorder{}
	nas := &radiusproto.NAS{Name: "bras", IP: netip.MustParseAddr("127.0.0.1"), Secret: []byte("s3")}
	rs := &radiusproto.Server{NAS: radiusproto.NewStaticNAS(nas), Handler: rec}
	authC, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acctC, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go rs.Serve(authC, acctC)
	t.Cleanup(func() {
		if err := rs.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return rec, authC.LocalAddr().String(), acctC.LocalAddr().String()
}
