package portalproto

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// simBAS is a BASHandler that accepts one token for every user, like a BAS
// whose RADIUS server checks the portal's one-time token.
type simBAS struct {
	token []byte

	mu            sync.Mutex
	challengeCode Code
	authCode      Code // answered when the credentials are right
	authText      string
	logoutCode    Code
	info          InfoResult
	infoCode      Code
	// block, when set, makes Challenge (blockChallenge) or Auth
	// (blockAuth) wait for it to close: a BAS that does not answer.
	block          chan struct{}
	blockChallenge bool
	blockAuth      bool

	auths   []AuthRequest
	logouts []LogoutRequest
}

func (b *simBAS) wait(ctx context.Context, which bool) {
	b.mu.Lock()
	ch := b.block
	b.mu.Unlock()
	if which && ch != nil {
		select {
		case <-ch:
		case <-ctx.Done():
		}
	}
}

func (b *simBAS) Challenge(ctx context.Context, userIP netip.Addr, mac string) (uint16, []byte, Code) {
	b.wait(ctx, b.blockChallenge)
	b.mu.Lock()
	defer b.mu.Unlock()
	return 0, nil, b.challengeCode
}

func (b *simBAS) Auth(ctx context.Context, req AuthRequest) (Code, string) {
	b.wait(ctx, b.blockAuth)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.auths = append(b.auths, req)
	var ok bool
	switch req.Method {
	case AuthCHAP:
		ok = bytes.Equal(req.ChapPassword, ChapPassword(req.ReqID, b.token, req.Challenge)) && req.ChapID == byte(req.ReqID)
	case AuthPAP:
		ok = bytes.Equal(req.PapPassword, b.token)
	}
	if !ok {
		return CodeRejected, "密码错误 / wrong password"
	}
	return b.authCode, b.authText
}

func (b *simBAS) Logout(ctx context.Context, req LogoutRequest) Code {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.logouts = append(b.logouts, req)
	return b.logoutCode
}

func (b *simBAS) Info(ctx context.Context, userIP netip.Addr) (InfoResult, Code) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.info, b.infoCode
}

func (b *simBAS) logoutsSeen() []LogoutRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]LogoutRequest(nil), b.logouts...)
}

func listenUDP(t *testing.T) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

// udpServer is BASServer and NotifyServer.
type udpServer interface {
	Serve(net.PacketConn) error
	Shutdown(context.Context) error
}

// startServer serves srv on a loopback port, stops it at the end of the
// test (checking Serve returns ErrServerClosed) and returns its address.
func startServer(t *testing.T, name string, srv udpServer) string {
	t.Helper()
	pc := listenUDP(t)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(pc) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("%s Shutdown: %v", name, err)
		}
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("%s Serve returned %v", name, err)
		}
	})
	return pc.LocalAddr().String()
}

// startBAS serves srv on a loopback port and returns its address.
func startBAS(t *testing.T, srv *BASServer) string { t.Helper(); return startServer(t, "BAS", srv) }

// startNotify serves srv on a loopback port and returns its address.
func startNotify(t *testing.T, srv *NotifyServer) string {
	t.Helper()
	return startServer(t, "notify", srv)
}

func newClient(t *testing.T, cfg ClientConfig) *Client {
	t.Helper()
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// recorder collects the packets a BASServer saw, for OnPacket.
type recorder struct {
	mu   sync.Mutex
	pkts []*Packet
}

func (r *recorder) record(p *Packet, _ netip.AddrPort) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pkts = append(r.pkts, p)
}

func (r *recorder) find(match func(*Packet) bool) *Packet {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.pkts {
		if match(p) {
			return p
		}
	}
	return nil
}
