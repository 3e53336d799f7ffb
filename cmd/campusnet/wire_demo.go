package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/internal/config"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/portal/portalproto"
)

// startDemo runs, with --demo, a simulated BAS in this process:
// the demo NAS's Portal protocol on its portal_addr (127.0.0.1:2000) and its
// Disconnect listener on coa_port (3799), talking RADIUS to this server. It
// then prints where everything is and how to try it.
func (s *server) startDemo(ctx context.Context) error {
	if !s.demo {
		return nil
	}
	n := demoNAS(s.cfg)
	if n == nil {
		s.log.Warn("demo: no NAS with a loopback ip and a portal_addr in the configuration: no BAS simulator")
		printDemo(ctx, s.env.stdout, s, nil)
		return nil
	}
	authAddr := firstNonEmpty(s.Addr("radius-auth"), s.cfg.Radius.AuthListen)
	acctAddr := firstNonEmpty(s.Addr("radius-acct"), s.cfg.Radius.AcctListen)
	log := s.log.With("service", "bassim", "nas", n.Name)
	b := bas.New(bas.Config{NASIP: n.Addr, Secret: n.Secret, AuthAddr: authAddr, AcctAddr: acctAddr,
		CoAListen: netip.AddrPortFrom(n.Addr, uint16(n.CoAPort)).String(), Log: log, NASIdentifier: n.Name,
		IPv6Prefix: demoIPv6Prefix(n)})
	coa, err := b.ListenCoA()
	if err != nil {
		b.Close()
		return fmt.Errorf("demo BAS: %w", err)
	}
	s.setAddr("demo-coa", coa.String())
	bp := bas.NewPortalSide(b, bas.PortalSideConfig{Secret: n.PortalSecret, BASIP: n.Addr,
		NotifyAddr: s.Addr("portal-notify"), NotifyVersion: portalproto.Version(n.PortalVersion), Log: log})
	pc, err := net.ListenPacket("udp", n.PortalAddr)
	if err != nil {
		b.Close()
		return fmt.Errorf("demo BAS: portal listen %s: %w", n.PortalAddr, err)
	}
	s.setAddr("demo-portal", pc.LocalAddr().String())
	s.goRun("demo-bas-coa", func(ctx context.Context) error { return b.ServeCoA(ctx) })
	s.goRun("demo-bas-portal", func(ctx context.Context) error {
		// A (re)started BAS tells RADIUS that none of its old sessions
		// survived, as a real one does with Accounting-On.
		go func() {
			actx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := b.AccountingOn(actx); err != nil && ctx.Err() == nil {
				log.Warn("demo BAS: accounting-on", "err", err)
			}
		}()
		stop := context.AfterFunc(ctx, func() {
			sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			_ = bp.Shutdown(sctx)
			b.Close()
		})
		defer stop()
		return bp.Serve(pc)
	})
	printDemo(ctx, s.env.stdout, s, n)
	return nil
}

// demoIPv6Prefix is the /64 the demo BAS gives its users IPv6 addresses
// from (dual stack): the first IPv6 user subnet of the NAS, else
// 2001:db8:cafe::/64 (a documentation prefix).
func demoIPv6Prefix(n *config.NAS) netip.Prefix {
	for _, p := range n.Subnets {
		if p.Addr().Is6() && !p.Addr().Is4In6() && p.Bits() <= 64 {
			q, _ := p.Addr().Prefix(64)
			return q
		}
	}
	return netip.MustParsePrefix("2001:db8:cafe::/64")
}

// demoNAS is the NAS the simulator plays: "dorm-bras-1" if configured, else
// the first NAS on a loopback address with a portal_addr.
func demoNAS(cfg *config.Config) *config.NAS {
	if n, ok := cfg.NASByName("dorm-bras-1"); ok && n.Addr.IsLoopback() && n.PortalAddr != "" {
		return n
	}
	for i := range cfg.NAS {
		if n := &cfg.NAS[i]; n.Addr.IsLoopback() && n.PortalAddr != "" {
			return n
		}
	}
	return nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// printDemo tells a newcomer what is running and how to try it.
func printDemo(ctx context.Context, w io.Writer, s *server, n *config.NAS) {
	if w == nil {
		return
	}
	auth := firstNonEmpty(s.Addr("radius-auth"), s.cfg.Radius.AuthListen)
	fmt.Fprintf(w, "\ncampusnet demo (node %s)\n", s.cfg.Server.NodeID)
	fmt.Fprintf(w, "  portal        http://%s/   (open it in a browser; your address 127.0.0.1 counts as a dorm user)\n", s.Addr("portal"))
	if a := s.Addr("selfservice"); a != "" {
		fmt.Fprintf(w, "  self-service  http://%s/\n", a)
	}
	fmt.Fprintf(w, "  RADIUS        auth %s, acct %s\n", auth, firstNonEmpty(s.Addr("radius-acct"), s.cfg.Radius.AcctListen))
	fmt.Fprintf(w, "  metrics       http://%s/metrics\n", s.Addr("ops"))
	if n != nil {
		fmt.Fprintf(w, "  BAS simulator %s (%s): Portal v%d/%s on %s, Disconnect on %s, NTF_LOGOUT to %s\n",
			n.Name, n.Addr, n.PortalVersion, n.PortalAuth, s.Addr("demo-portal"), s.Addr("demo-coa"), s.Addr("portal-notify"))
	}
	area := "dorm"
	if n != nil {
		area = n.Area
	}
	fmt.Fprintf(w, "  accounts      as they are in the database now (a second run does not reseed: delete the SQLite file to start over)\n")
	for _, l := range demoAccountLines(ctx, s.st, s.cfg.AccessAreas(), area) {
		fmt.Fprintf(w, "                %s\n", l)
	}
	if n != nil {
		host, port, err := net.SplitHostPort(auth)
		if err != nil {
			host, port = "127.0.0.1", "1812"
		}
		if port != "1812" {
			host += ":" + port
		}
		if _, err := strconv.Atoi(port); err == nil {
			fmt.Fprintf(w, "  try RADIUS    radtest -x student1 student1-pass %s 0 %s\n", host, n.Secret)
			fmt.Fprintf(w, "                (direct PAP; accepted while student1 has no PC online in the dorm, and then holds the PC slot for %s)\n", s.cfg.Radius.ReserveTimeout.Duration)
		}
	}
	fmt.Fprintln(w)
}

// demoAccountLines describe the demo accounts as the database has them now,
// not as seeded: seeding is done once (seedDemo), so after a recharge, a
// password reset or a disabling a second `serve --demo` says what a login
// in area will meet.
func demoAccountLines(ctx context.Context, st *store.Store, areas []access.Area, area string) []string {
	var ar access.Area
	for _, a := range areas {
		if a.Name == area {
			ar = a
		}
	}
	var out []string
	for _, d := range demoAccounts {
		a, err := st.AccountByUsername(ctx, d.user)
		if err != nil {
			out = append(out, fmt.Sprintf("%-10s not in the database (%v)", d.user, err))
			continue
		}
		cred := d.user + " / " + d.pass
		if a.MustChange {
			cred = d.user + " / (a temporary password from an operator)"
		} else if ok, err := identity.VerifyPassword(a.PasswordHash, d.pass); err != nil || !ok {
			cred = d.user + " / (password changed)"
		}
		state := ""
		_, cycleErr := st.ActiveCycle(ctx, a.ID, ar.Name)
		next, err := st.NextPlan(ctx, a.ID, ar)
		if err != nil {
			out = append(out, fmt.Sprintf("%-10s next plan: %v", d.user, err))
			continue
		}
		fee := next.Fee // the next cycle's plan's (docs/plans.md)
		switch {
		case a.Disabled:
			state = "disabled: " + a.DisabledReason
		case ar.Name != "" && !ar.OpenTo(a.Role):
			state = fmt.Sprintf("the %s area is not open to %s", ar.Name, a.Role)
		case ar.Billed() && !access.DormOpen(a.Balance, fee, cycleErr == nil):
			state = fmt.Sprintf("in arrears for the %s (%s per cycle)", ar.Name, fee)
		case ar.Billed():
			state = fmt.Sprintf("the %s opens (%s per cycle)", ar.Name, fee)
		default:
			state = "the " + ar.Name + " opens"
		}
		role := ""
		if a.Role != access.RoleStudent {
			role = string(a.Role) + ", "
		}
		if a.Role == access.RoleOperator {
			state += "; signs in to the NOC pages"
		}
		out = append(out, fmt.Sprintf("%-34s %s%s yuan, %s", cred, role, a.Balance, state))
	}
	return out
}
