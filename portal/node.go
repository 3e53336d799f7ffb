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

// kickedSet remembers the user addresses a BAS logged out (NTF_LOGOUT) for
// a while, so the status page can say why a person is offline.
type kickedSet struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[netip.Addr]kick
}

type kick struct {
	at  time.Time
	nas string
}

const kickMemory = 30 * time.Minute

func newKickedSet(now func() time.Time) *kickedSet {
	return &kickedSet{now: now, m: map[netip.Addr]kick{}}
}

func (k *kickedSet) add(ip netip.Addr, nas string) {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.m) > 100000 {
		for a, v := range k.m {
			if now.Sub(v.at) > kickMemory {
				delete(k.m, a)
			}
		}
	}
	k.m[ip] = kick{now, nas}
}

func (k *kickedSet) get(ip netip.Addr) (kick, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[ip]
	if !ok || k.now().Sub(v.at) > kickMemory {
		return kick{}, false
	}
	return v, true
}

// forget drops an address after a new login there.
func (k *kickedSet) forget(ip netip.Addr) {
	k.mu.Lock()
	delete(k.m, ip)
	k.mu.Unlock()
}

// Run writes the node's heartbeat every HeartbeatInterval, and purges login
// tokens that expired more than a day ago, until ctx ends.
func (p *Portal) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.HeartbeatInterval)
	defer t.Stop()
	p.heartbeat(ctx)
	purged := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		p.heartbeat(ctx)
		if now := p.now(); now.Sub(purged) > time.Hour {
			purged = now
			if n, err := p.st.PurgeLoginTokens(ctx, now.Add(-24*time.Hour)); err != nil {
				p.log.Warn("portal: purge login tokens", "err", err)
			} else if n > 0 {
				p.log.Info("portal: purged expired login tokens", "count", n)
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
		p.log.Warn("portal: heartbeat", "err", err)
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
	return n.Secret, true
}

func (p *Portal) notifyLogout(ctx context.Context, basIP, userIP netip.Addr, mac string) {
	name := basIP.String()
	if n := p.nasByIP(basIP); n != nil {
		name = n.Name
	}
	p.kicked.add(userIP.Unmap(), name)
	p.m.ntfLogout.WithLabelValues(name).Inc()
	p.log.Info("portal: BAS logged a user out (NTF_LOGOUT)", "nas", name, "ip", userIP, "mac", mac)
}
