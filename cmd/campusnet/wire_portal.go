package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/campusnet/campusnet/internal/config"
	"github.com/campusnet/campusnet/portal"
)

// startPortal starts the portal: its web pages on [portal] listen (and
// tls_listen), the NTF_LOGOUT listener on notify_listen and the node's
// heartbeat.
func (s *server) startPortal(ctx context.Context) error {
	ln, err := s.listen("portal", s.cfg.Portal.Listen)
	if err != nil {
		return err
	}
	pcfg := portalConfig(s.cfg, s.demo)
	pcfg.Address = ln.Addr().String()
	p, err := portal.New(pcfg, portal.Deps{Store: s.st, Auth: s.ident, Local: s.local, TokenKey: s.tokenKey,
		Now: s.now, Log: s.log.With("service", "portal"), Metrics: s.reg})
	if err != nil {
		ln.Close()
		return err
	}
	s.serveHTTP("portal", ln, p)
	if err := s.serveTLS("portal-tls", s.cfg.Portal.TLSListen, s.cfg.Portal.TLSCert, s.cfg.Portal.TLSKey, p); err != nil {
		p.Close()
		return err
	}
	pc, err := net.ListenPacket("udp", s.cfg.Portal.NotifyListen)
	if err != nil {
		p.Close()
		return fmt.Errorf("portal notify: listen %s: %w", s.cfg.Portal.NotifyListen, err)
	}
	s.setAddr("portal-notify", pc.LocalAddr().String())
	s.goRun("portal-notify", func(ctx context.Context) error {
		stop := context.AfterFunc(ctx, func() {
			sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			_ = p.ShutdownNotify(sctx)
		})
		defer stop()
		return p.ServeNotify(pc)
	})
	s.goRun("portal-node", func(ctx context.Context) error {
		defer p.Close()
		return p.Run(ctx)
	})
	return nil
}

// portalConfig maps the file's keys onto the portal's Config. With --demo
// the demo BAS also serves 127.0.0.0/8: a newcomer's browser on loopback
// reaches the portal from 127.0.0.1, which is in no campus subnet, and the
// typed-by-hand entry must still find a BAS (the login page also offers a
// simulated BAS redirect as another user address).
func portalConfig(cfg *config.Config, demo bool) portal.Config {
	pc := portal.Config{
		Organisation: cfg.Server.Organisation, NodeID: cfg.Server.NodeID, Version: version, Helpdesk: cfg.Server.Helpdesk,
		PublicURL: cfg.Portal.PublicURL, TokenTTL: cfg.Portal.TokenTTL.Duration, BASTimeout: cfg.Portal.BASTimeout.Duration,
		SessionTimeout: cfg.Radius.SessionTimeout.Duration, PasswordResetURL: cfg.Portal.PasswordResetURL, TrailingX: cfg.Identity.TrailingX,
		SelfServiceURL: cfg.Portal.SelfServiceURL, PaymentURL: cfg.SelfService.PaymentURL, Demo: demo,
		Location: cfg.Server.Location,
	}
	pc.Areas = cfg.AccessAreas()
	loopback := netip.MustParseAddr("127.0.0.1")
	_, covered := cfg.NASForUser(loopback)
	for _, n := range cfg.AccessBASes() {
		if demo && !covered && n.PortalAddr != "" {
			n.UserSubnets = append(n.UserSubnets, netip.MustParsePrefix("127.0.0.0/8"))
			covered = true
		}
		pc.NAS = append(pc.NAS, n)
	}
	return pc
}
