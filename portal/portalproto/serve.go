package portalproto

import (
	"context"
	"net"
	"net/netip"
	"sync"
)

// serveState is the Serve/Shutdown bookkeeping that NotifyServer and
// BASServer share, with net/http's semantics: Shutdown closes the
// listeners, then waits for running handlers until its context ends.
type serveState struct {
	mu     sync.Mutex
	conns  map[net.PacketConn]struct{}
	closed bool
	wg     sync.WaitGroup
	ctx    context.Context // handlers' context; canceled when Shutdown gives up
	cancel context.CancelFunc
}

func (st *serveState) initLocked() {
	if st.ctx == nil {
		st.ctx, st.cancel = context.WithCancel(context.Background())
		st.conns = make(map[net.PacketConn]struct{})
	}
}

// track registers pc, or fails after Shutdown.
func (st *serveState) track(pc net.PacketConn) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.initLocked()
	if st.closed {
		return ErrServerClosed
	}
	st.conns[pc] = struct{}{}
	return nil
}

func (st *serveState) untrack(pc net.PacketConn) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.conns, pc)
}

func (st *serveState) isClosed() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.closed
}

// goHandler runs f in a goroutine that Shutdown waits for, unless the server
// is shutting down.
func (st *serveState) goHandler(f func(ctx context.Context)) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.initLocked()
	if st.closed {
		return false
	}
	st.wg.Add(1)
	ctx := st.ctx
	go func() {
		defer st.wg.Done()
		f(ctx)
	}()
	return true
}

func (st *serveState) shutdown(ctx context.Context) error {
	st.mu.Lock()
	st.initLocked()
	st.closed = true
	for pc := range st.conns {
		_ = pc.Close()
	}
	cancel := st.cancel
	st.mu.Unlock()

	done := make(chan struct{})
	go func() {
		st.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		cancel()
		return nil
	case <-ctx.Done():
		cancel()
		return ctx.Err()
	}
}

func addrPort(a net.Addr) netip.AddrPort {
	if u, ok := a.(*net.UDPAddr); ok {
		ap := u.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
