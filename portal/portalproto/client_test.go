package portalproto

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/testwait"
)

var (
	testUser  = netip.MustParseAddr("10.1.2.3")
	testBASIP = netip.MustParseAddr("10.0.0.1")
	testToken = []byte("one-time-token-0001")
	testMAC   = "aa:bb:cc:dd:ee:01"
)

type variant struct {
	version Version
	auth    string
}

var variants = []variant{{V1, "chap"}, {V1, "pap"}, {V2, "chap"}, {V2, "pap"}}

func (v variant) String() string { return fmt.Sprintf("v%d-%s", v.version, v.auth) }

// setup starts a BASServer around bas and a Client for it.
func setup(t *testing.T, v variant, bas *simBAS, timeout time.Duration, gb18030 bool) (*Client, *BASServer, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := &BASServer{Secret: testSecret, BASIP: testBASIP, Handler: bas, OnPacket: rec.record, TextGB18030: gb18030}
	addr := startBAS(t, srv)
	c := newClient(t, ClientConfig{BASAddr: addr, Version: v.version, Secret: testSecret, Auth: v.auth,
		Timeout: timeout, BASIP: testBASIP})
	return c, srv, rec
}

func TestLogin(t *testing.T) {
	const arrears = "账户欠费，请充值后再登录 / account in arrears, recharge first"
	tests := []struct {
		name          string
		authCode      Code
		authText      string
		password      []byte
		gb18030       bool
		wantErr       error
		wantText      string
		alreadyOnline bool
	}{
		{name: "success", password: testToken},
		{name: "wrong password", password: []byte("stale-token"), wantErr: ErrRejected, wantText: "密码错误 / wrong password"},
		{name: "rejected with Chinese text", authCode: CodeRejected, authText: arrears, password: testToken,
			wantErr: ErrRejected, wantText: arrears},
		{name: "rejected with GB18030 text", authCode: CodeRejected, authText: arrears, password: testToken, gb18030: true,
			wantErr: ErrRejected, wantText: arrears},
		{name: "already online", authCode: CodeAlreadyOnline, password: testToken, alreadyOnline: true},
		{name: "in progress", authCode: CodeInProgress, password: testToken, wantErr: ErrInProgress},
		{name: "failed", authCode: CodeFailed, password: testToken, wantErr: ErrFailed},
	}
	for _, v := range variants {
		for _, tt := range tests {
			t.Run(v.String()+"/"+tt.name, func(t *testing.T) {
				bas := &simBAS{token: testToken, authCode: tt.authCode, authText: tt.authText}
				c, srv, _ := setup(t, v, bas, 2*time.Second, tt.gb18030)
				res, err := c.Login(context.Background(), testUser, testMAC, "u1", tt.password)
				if tt.wantErr != nil {
					var be *BASError
					if !errors.Is(err, tt.wantErr) || !errors.As(err, &be) {
						t.Fatalf("err = %v, want a *BASError wrapping %v", err, tt.wantErr)
					}
					if be.Text != tt.wantText {
						t.Errorf("text = %q, want %q", be.Text, tt.wantText)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if res.AlreadyOnline != tt.alreadyOnline {
					t.Errorf("AlreadyOnline = %v", res.AlreadyOnline)
				}
				if res.ReqID == 0 {
					t.Errorf("ReqID = 0")
				}
				bas.mu.Lock()
				got := bas.auths[0]
				bas.mu.Unlock()
				if got.Username != "u1" || got.MAC != testMAC || got.UserIP != testUser || got.Version != v.version {
					t.Errorf("BAS saw %+v", got)
				}
				if tt.alreadyOnline {
					return
				}
				testwait.For(t, "AFF_ACK_AUTH at the BAS", func() bool { return srv.Stats().AffAckAuth == 1 })
				if st := c.Stats(); st.BadAuthenticator != 0 || st.Unmatched != 0 || st.Malformed != 0 {
					t.Errorf("client stats %+v", st)
				}
			})
		}
	}
}

func TestLoginChallengeRefused(t *testing.T) {
	for _, v := range []Version{V1, V2} {
		tests := []struct {
			name          string
			code          Code
			wantErr       error
			alreadyOnline bool
		}{
			{name: "already online", code: CodeAlreadyOnline, alreadyOnline: true},
			{name: "rejected", code: CodeRejected, wantErr: ErrRejected},
			{name: "in progress", code: CodeInProgress, wantErr: ErrInProgress},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("v%d/%s", v, tt.name), func(t *testing.T) {
				bas := &simBAS{token: testToken, challengeCode: tt.code}
				c, _, _ := setup(t, variant{v, "chap"}, bas, 2*time.Second, false)
				res, err := c.Login(context.Background(), testUser, "", "u1", testToken)
				if !errors.Is(err, tt.wantErr) && !(tt.wantErr == nil && err == nil) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if res.AlreadyOnline != tt.alreadyOnline {
					t.Errorf("AlreadyOnline = %v", res.AlreadyOnline)
				}
			})
		}
	}
}

// TestLoginBASSilent: the BAS never answers. Login gives up after the
// timeout and sends REQ_LOGOUT with ErrCode 1 and the SerialNo of the
// unanswered request, which the BAS sees.
func TestLoginBASSilent(t *testing.T) {
	for _, v := range variants {
		stages := []string{"auth"}
		if v.auth == "chap" {
			stages = append(stages, "challenge")
		}
		for _, stage := range stages {
			t.Run(v.String()+"/silent at "+stage, func(t *testing.T) {
				release := make(chan struct{})
				bas := &simBAS{token: testToken, block: release, blockChallenge: stage == "challenge", blockAuth: stage == "auth"}
				c, _, rec := setup(t, v, bas, 200*time.Millisecond, false)
				t.Cleanup(func() { close(release) }) // runs before the server's Shutdown

				_, err := c.Login(context.Background(), testUser, testMAC, "u1", testToken)
				if !errors.Is(err, ErrTimeout) {
					t.Fatalf("err = %v, want ErrTimeout", err)
				}
				want := ReqChallenge
				if stage == "auth" {
					want = ReqAuth
				}
				req := rec.find(func(p *Packet) bool { return p.Type == want })
				if req == nil {
					t.Fatalf("BAS never saw %v", want)
				}
				testwait.For(t, "timeout notice at the BAS", func() bool {
					for _, l := range bas.logoutsSeen() {
						if l.Timeout && l.SerialNo == req.SerialNo && l.ReqID == req.ReqID && l.UserIP == testUser {
							return true
						}
					}
					return false
				})
				notice := rec.find(func(p *Packet) bool { return p.Type == ReqLogout })
				if notice.ErrCode != CodeLogoutTimeout || notice.SerialNo != req.SerialNo {
					t.Errorf("notice %+v", notice)
				}
				if ip, ok := notice.BASIP(); !ok || ip != testBASIP {
					t.Errorf("notice BAS-IP = %v, %v", ip, ok)
				}
				if c.Stats().Timeouts != 1 {
					t.Errorf("stats %+v", c.Stats())
				}
			})
		}
	}
}

func TestLoginContextCanceled(t *testing.T) {
	release := make(chan struct{})
	bas := &simBAS{token: testToken, block: release, blockAuth: true}
	c, _, _ := setup(t, variant{V2, "chap"}, bas, 5*time.Second, false)
	t.Cleanup(func() { close(release) })
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	_, err := c.Login(ctx, testUser, "", "u1", testToken)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrTimeout and DeadlineExceeded", err)
	}
	testwait.For(t, "timeout notice", func() bool {
		l := bas.logoutsSeen()
		return len(l) == 1 && l[0].Timeout
	})
}

// TestWrongSecret: the BAS drops requests signed with another secret, so the
// portal times out.
func TestWrongSecret(t *testing.T) {
	bas := &simBAS{token: testToken}
	srv := &BASServer{Secret: testSecret, Handler: bas}
	addr := startBAS(t, srv)
	c := newClient(t, ClientConfig{BASAddr: addr, Secret: "not-the-secret", Timeout: 200 * time.Millisecond})
	_, err := c.Login(context.Background(), testUser, "", "u1", testToken)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	testwait.For(t, "BAS counting bad authenticators", func() bool { return srv.Stats().BadAuthenticator == 2 }) // request + notice
}

// fakeBAS answers every request with what answer returns, from a raw socket.
func fakeBAS(t *testing.T, answer func(req *Packet) []byte) (addr string, seen chan *Packet) {
	t.Helper()
	pc := listenUDP(t)
	t.Cleanup(func() { pc.Close() })
	seen = make(chan *Packet, 16)
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			p, err := Unmarshal(buf[:n])
			if err != nil {
				continue
			}
			seen <- p
			if out := answer(p); out != nil {
				_, _ = pc.WriteTo(out, from)
			}
		}
	}()
	return pc.LocalAddr().String(), seen
}

// TestClientIgnoresBadAnswers: answers signed with the wrong secret, for
// another SerialNo or user, or that do not decode, are counted and ignored;
// the login times out and the timeout notice goes out.
func TestClientIgnoresBadAnswers(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(ack *Packet) (secret string)
		raw   []byte
		check func(ClientStats) bool
	}{
		{name: "wrong secret", mod: func(*Packet) string { return "wrong" },
			check: func(s ClientStats) bool { return s.BadAuthenticator == 1 }},
		{name: "other serial", mod: func(a *Packet) string { a.SerialNo++; return testSecret },
			check: func(s ClientStats) bool { return s.Unmatched == 1 }},
		{name: "other user", mod: func(a *Packet) string { a.UserIP = netip.MustParseAddr("10.9.9.9"); return testSecret },
			check: func(s ClientStats) bool { return s.Unmatched == 1 }},
		{name: "malformed", raw: []byte{2, 2, 0},
			check: func(s ClientStats) bool { return s.Malformed == 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, seen := fakeBAS(t, func(req *Packet) []byte {
				if req.Type != ReqChallenge {
					return nil
				}
				if tt.raw != nil {
					return tt.raw
				}
				ack := &Packet{Version: V2, Type: AckChallenge, SerialNo: req.SerialNo, ReqID: 7, UserIP: req.UserIP,
					Attrs: []Attr{{AttrChallenge, make([]byte, 16)}}}
				secret := tt.mod(ack)
				b, err := ack.Marshal([]byte(secret), &req.Authenticator)
				if err != nil {
					panic(err)
				}
				return b
			})
			c := newClient(t, ClientConfig{BASAddr: addr, Secret: testSecret, Timeout: 200 * time.Millisecond})
			_, err := c.Login(context.Background(), testUser, "", "u1", testToken)
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("err = %v, want ErrTimeout", err)
			}
			if st := c.Stats(); !tt.check(st) {
				t.Errorf("stats %+v", st)
			}
			first := <-seen
			notice := <-seen
			if notice.Type != ReqLogout || notice.ErrCode != CodeLogoutTimeout || notice.SerialNo != first.SerialNo {
				t.Errorf("after the timeout the BAS saw %+v", notice)
			}
			if err := notice.Verify([]byte(testSecret), nil); err != nil {
				t.Errorf("notice: %v", err)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	tests := []struct {
		name    string
		code    Code
		wantErr error
	}{
		{name: "ok", code: CodeOK},
		{name: "already offline", code: CodeLogoutAlreadyOffline},
		{name: "rejected", code: CodeLogoutRejected, wantErr: ErrRejected},
		{name: "failed", code: CodeLogoutFailed, wantErr: ErrFailed},
	}
	for _, v := range []Version{V1, V2} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("v%d/%s", v, tt.name), func(t *testing.T) {
				bas := &simBAS{token: testToken, logoutCode: tt.code}
				c, _, rec := setup(t, variant{v, "chap"}, bas, 2*time.Second, false)
				err := c.Logout(context.Background(), testUser)
				if !errors.Is(err, tt.wantErr) && !(tt.wantErr == nil && err == nil) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				l := bas.logoutsSeen()
				if len(l) != 1 || l[0].Timeout || l[0].UserIP != testUser {
					t.Errorf("BAS saw %+v", l)
				}
				p := rec.find(func(p *Packet) bool { return p.Type == ReqLogout })
				if ip, ok := p.BASIP(); !ok || ip != testBASIP {
					t.Errorf("REQ_LOGOUT BAS-IP = %v, %v", ip, ok)
				}
			})
		}
	}
}

func TestInfo(t *testing.T) {
	for _, v := range []Version{V1, V2} {
		t.Run(fmt.Sprintf("v%d/ok", v), func(t *testing.T) {
			want := InfoResult{UpLinkKB: 1 << 33, DownLinkKB: 123456, Port: "AR49-45-vlan-00-0000@vlan"}
			bas := &simBAS{token: testToken, info: want}
			c, _, rec := setup(t, variant{v, "chap"}, bas, 2*time.Second, false)
			got, err := c.Info(context.Background(), testUser)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("Info = %+v, want %+v", got, want)
			}
			req := rec.find(func(p *Packet) bool { return p.Type == ReqInfo })
			if len(req.Attrs) != 3 || len(req.Attrs[0].Value) != 0 {
				t.Errorf("REQ_INFO attributes %+v", req.Attrs)
			}
			if _, ok := req.BASIP(); ok {
				t.Errorf("REQ_INFO carries BAS-IP")
			}
		})
		t.Run(fmt.Sprintf("v%d/unsupported", v), func(t *testing.T) {
			bas := &simBAS{token: testToken, infoCode: CodeInfoUnsupported}
			c, _, _ := setup(t, variant{v, "chap"}, bas, 2*time.Second, false)
			if _, err := c.Info(context.Background(), testUser); !errors.Is(err, ErrUnsupported) {
				t.Fatalf("err = %v, want ErrUnsupported", err)
			}
		})
	}
}

// TestConcurrentLogins: many logins share the client's one socket; each
// gets its own answer.
func TestConcurrentLogins(t *testing.T) {
	bas := &simBAS{token: testToken}
	c, srv, _ := setup(t, variant{V2, "chap"}, bas, 2*time.Second, false)
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			ip := netip.AddrFrom4([4]byte{10, 2, byte(i / 256), byte(i)})
			if _, err := c.Login(context.Background(), ip, "", fmt.Sprintf("u%d", i), testToken); err != nil {
				errs <- fmt.Errorf("%v: %w", ip, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	testwait.For(t, "every AFF_ACK_AUTH", func() bool { return srv.Stats().AffAckAuth == n })
}

func TestNewClientErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  ClientConfig
	}{
		{name: "bad auth", cfg: ClientConfig{BASAddr: "127.0.0.1:2000", Auth: "eap"}},
		{name: "bad version", cfg: ClientConfig{BASAddr: "127.0.0.1:2000", Version: 3}},
		{name: "bad address", cfg: ClientConfig{BASAddr: "nowhere"}},
		{name: "IPv6 BAS-IP", cfg: ClientConfig{BASAddr: "127.0.0.1:2000", BASIP: netip.MustParseAddr("::1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := NewClient(tt.cfg); err == nil {
				c.Close()
				t.Fatal("no error")
			}
		})
	}
}

func TestClientClosed(t *testing.T) {
	pc := listenUDP(t) // a BAS that never answers
	defer pc.Close()
	c := newClient(t, ClientConfig{BASAddr: pc.LocalAddr().String(), Secret: testSecret})
	errc := make(chan error, 1)
	go func() { errc <- c.Logout(context.Background(), testUser) }()
	buf := make([]byte, 512)
	if _, _, err := pc.ReadFrom(buf); err != nil { // the request is on its way
		t.Fatal(err)
	}
	c.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
	if err := c.Logout(context.Background(), testUser); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	var _ net.Addr = c.LocalAddr()
}
