package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// pool keeps up to size idle LDAP connections and lets at most size be in
// use at once, so a burst of logins cannot open hundreds of connections to
// the directory.
type pool struct {
	name  string
	dialf func(context.Context) (*ldap.Conn, error)
	log   *slog.Logger
	slots chan struct{}
	dials atomic.Int64 // connections opened, for tests and debugging

	mu     sync.Mutex
	idle   []idleConn
	closed bool
}

type idleConn struct {
	c     *ldap.Conn
	since time.Time
}

func newPool(name string, size int, dial func(context.Context) (*ldap.Conn, error), log *slog.Logger) *pool {
	return &pool{name: name, dialf: dial, log: log, slots: make(chan struct{}, size)}
}

// errPoolClosed is returned (wrapped in ErrUnavailable) after Close.
var errPoolClosed = errors.New("identity: ldap backend closed")

// do runs op on a connection. A connection that fails at the network level
// is thrown away; if it was an idle one (the directory may have restarted
// since) op is tried once more on a new connection. Errors that are not
// the directory's answer come back wrapped in ErrUnavailable; the
// directory's answers (invalid credentials and the like) come back as they
// are.
func (p *pool) do(ctx context.Context, op func(*ldap.Conn) error) error {
	if err := ctx.Err(); err != nil {
		return unavailable(ctx, err)
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		// The directory answers, just not this many at once: busy, not down.
		return fmt.Errorf("%w: waiting for a free %s connection: %w", ErrBusy, p.name, ctx.Err())
	}
	defer func() { <-p.slots }()

	c, reused := p.take()
	for {
		if c == nil {
			var err error
			if c, err = p.dial(ctx); err != nil {
				return unavailable(ctx, err)
			}
		}
		err := withConn(ctx, c, op)
		if err == nil || !isConnError(err) {
			p.put(c)
			return err
		}
		c.Close()
		if !reused || ctx.Err() != nil {
			return unavailable(ctx, err)
		}
		p.log.DebugContext(ctx, "identity: ldap connection lost, redialing", "pool", p.name, "err", err)
		c, reused = nil, false
	}
}

func (p *pool) dial(ctx context.Context) (*ldap.Conn, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, errPoolClosed
	}
	p.dials.Add(1)
	return p.dialf(ctx)
}

// take returns the most recently used healthy idle connection, or nil.
func (p *pool) take() (*ldap.Conn, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.idle) > 0 {
		ic := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if ic.c.IsClosing() || time.Since(ic.since) > maxIdle {
			ic.c.Close()
			continue
		}
		return ic.c, true
	}
	return nil, false
}

func (p *pool) put(c *ldap.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || c.IsClosing() || len(p.idle) >= cap(p.slots) {
		c.Close()
		return
	}
	p.idle = append(p.idle, idleConn{c: c, since: time.Now()})
}

func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, ic := range p.idle {
		ic.c.Close()
	}
	p.idle = nil
}

// withConn runs op on c, bounded by ctx: the request timeout is set to
// what is left of ctx, and c is closed if ctx ends first, which also
// interrupts a TLS handshake that has no timeout of its own.
func withConn(ctx context.Context, c *ldap.Conn, op func(*ldap.Conn) error) error {
	if d, ok := ctx.Deadline(); ok {
		left := time.Until(d)
		if left <= 0 {
			return ldap.NewError(ldap.ErrorNetwork, ctx.Err())
		}
		c.SetTimeout(left)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	err := op(c)
	if !stop() && err != nil && isConnError(err) {
		err = ldap.NewError(ldap.ErrorNetwork, fmt.Errorf("%w (%v)", ctx.Err(), err))
	}
	return err
}

// isConnError reports whether err means the connection, not the
// directory, failed: any error that is not an LDAP result the server sent.
func isConnError(err error) bool {
	var le *ldap.Error
	if !errors.As(err, &le) {
		return true
	}
	switch le.ResultCode {
	case ldap.ErrorNetwork, ldap.ErrorUnexpectedMessage, ldap.ErrorUnexpectedResponse:
		return true
	}
	return false
}

func unavailable(ctx context.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: timed out: %w", ErrUnavailable, err)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
