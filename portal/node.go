package portal

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/portal/portalproto"
)

// recentWindow is what "recent" means in a node's heartbeat: the counts of
// the last five minutes, kept in buckets of recentBucket.
const (
	recentWindow = 5 * time.Minute
	recentBucket = 15 * time.Second
	nBuckets     = int(recentWindow / recentBucket)
)

// recentCounts counts logins and BAS errors over the last recentWindow.
type recentCounts struct {
	now     func() time.Time
	mu      sync.Mutex
	buckets [nBuckets]struct {
		slot                 int64
		ok, failed, basError int64
	}
}

func newRecentCounts(now func() time.Time) *recentCounts { return &recentCounts{now: now} }

func (c *recentCounts) add(ok, failed, basErr int64) {
	slot := c.now().UnixNano() / int64(recentBucket)
	c.mu.Lock()
	b := &c.buckets[slot%int64(nBuckets)]
	if b.slot != slot {
		b.slot, b.ok, b.failed, b.basError = slot, 0, 0, 0
	}
	b.ok += ok
	b.failed += failed
	b.basError += basErr
	c.mu.Unlock()
}

func (c *recentCounts) sum() (ok, failed, basErr int64) {
	slot := c.now().UnixNano() / int64(recentBucket)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range c.buckets {
		if slot-b.slot < int64(nBuckets) && b.slot <= slot {
			ok += b.ok
			failed += b.failed
			basErr += b.basError
		}
	}
	return
}

// kickMemory is how long the status page says that a BAS logged the
// address out (NTF_LOGOUT). The note is the store's (portal_kicks), so
// every node's status page gives it, whichever node the BAS told.
const kickMemory = 30 * time.Minute

// Run writes the node's heartbeat every HeartbeatInterval, and purges login
// tokens that expired more than a day ago, until ctx ends; then it records
// that the node stopped, so that operators see it stopped at once.
func (p *Portal) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.HeartbeatInterval)
	defer t.Stop()
	p.heartbeat(ctx)
	purged := time.Time{}
	for {
		select {
		case <-ctx.Done():
			p.stopped(context.WithoutCancel(ctx))
			return nil
		case <-t.C:
		}
		p.heartbeat(ctx)
		if now := p.now(); now.Sub(purged) > time.Hour {
			purged = now
			if n, err := p.st.PurgeLoginTokens(ctx, now.Add(-24*time.Hour)); err != nil {
				p.log.Warn("purge login tokens", "err", err)
			} else if n > 0 {
				p.log.Info("purged expired login tokens", "count", n)
			}
			if _, err := p.st.PurgeSSOStates(ctx, now.Add(-24*time.Hour)); err != nil {
				p.log.Warn("purge single sign-on states", "err", err)
			}
			if _, err := p.st.PurgeKicks(ctx, now.Add(-kickMemory)); err != nil {
				p.log.Warn("purge NTF_LOGOUT notes", "err", err)
			}
		}
	}
}

// Heartbeat writes this node's heartbeat row now.
func (p *Portal) heartbeat(ctx context.Context) {
	ok, failed, basErr := p.counts.sum()
	err := p.st.HeartbeatNode(ctx, access.PortalNode{
		NodeID: p.cfg.NodeID, Address: p.cfg.Address, Version: p.cfg.Version,
		StartedAt: access.Millis(p.started), HeartbeatAt: access.Millis(p.now()),
		LoginsOK: ok, LoginsFailed: failed, BASErrors: basErr,
	})
	if err != nil && ctx.Err() == nil {
		p.log.Warn("heartbeat", "err", err)
	}
}

// stopped records the clean stop of this node.
func (p *Portal) stopped(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := p.st.StopNode(ctx, p.cfg.NodeID); err != nil {
		p.log.Warn("record node stop", "err", err)
	}
}

// ServeNotify receives NTF_LOGOUT from the BASes on pc ([portal]
// notify_listen, UDP 50100) until ShutdownNotify. Each forced logout is
// acknowledged, logged, counted and remembered for the status page; the
// session itself is closed by the BAS's Accounting-Stop to RADIUS.
func (p *Portal) ServeNotify(pc net.PacketConn) error {
	p.mu.Lock()
	if p.notify == nil {
		p.notify = &portalproto.NotifyServer{
			Secrets: p.notifySecret,
			Handler: p.notifyLogout,
			Logger:  p.log,
			Now:     p.now,
		}
	}
	ns := p.notify
	p.mu.Unlock()
	err := ns.Serve(pc)
	if errors.Is(err, portalproto.ErrServerClosed) {
		return nil
	}
	return err
}

// ShutdownNotify stops ServeNotify.
func (p *Portal) ShutdownNotify(ctx context.Context) error {
	p.mu.Lock()
	ns := p.notify
	p.mu.Unlock()
	if ns == nil {
		return nil
	}
	return ns.Shutdown(ctx)
}

func (p *Portal) notifySecret(basIP netip.Addr) (string, bool) {
	n := p.nasByIP(basIP)
	if n == nil {
		return "", false
	}
	return n.PortalSecret, true
}

func (p *Portal) notifyLogout(ctx context.Context, basIP, userIP netip.Addr, mac string) {
	name := basIP.String()
	if n := p.nasByIP(basIP); n != nil {
		name = n.Name
	}
	if err := p.st.RecordKick(ctx, userIP.Unmap().String(), name, p.now()); err != nil {
		p.log.Warn("record NTF_LOGOUT", "nas", name, "ip", userIP, "err", err)
	}
	p.m.ntfLogout.WithLabelValues(name).Inc()
	p.log.Info("BAS logged a user out (NTF_LOGOUT)", "nas", name, "ip", userIP, "mac", mac)
}
