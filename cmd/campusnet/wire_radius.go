package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/radius"
)

// reapEvery is how often stale sessions and expired reservations are closed.
const reapEvery = 10 * time.Second

// startRadius starts the RADIUS authentication and accounting servers, the
// reaper, and the Disconnect-Request client that billing and self-service use.
func (s *server) startRadius(ctx context.Context) error {
	log := s.log.With("service", "radius")
	disc := newDisconnector(s)
	s.disc = disc
	s.enf = radius.NewEnforcer(radius.EnforcerConfig{Store: s.st, Areas: s.cfg.AccessAreas(), NAS: s.cfg.AccessBASes(),
		Disconnector: disc, Timeout: s.cfg.Radius.CoATimeout.Duration, Tries: s.cfg.Radius.CoATries,
		StaleAfter: access.StaleAfter(s.cfg.Radius.InterimInterval.Duration), Now: s.now,
		Log: log.With("part", "enforcer"), Registerer: s.reg})
	aaa := store.NewAAA(s.st)
	workers := radius.DefaultBatchWorkers
	if n := s.cfg.Radius.BatchWorkers; n > 0 && s.st.Dialect() == store.Postgres {
		workers = n // SQLite has one writer at a time anyway
	}
	cfg := radius.Config{
		Store: aaa, Areas: s.cfg.AccessAreas(), NAS: s.cfg.AccessBASes(),
		Identity: s.ident, TokenKey: s.tokenKey,
		InterimInterval: s.cfg.Radius.InterimInterval.Duration,
		ReserveTimeout:  s.cfg.Radius.ReserveTimeout.Duration,
		SessionTimeout:  s.cfg.Radius.SessionTimeout.Duration,
		PaymentURL:      s.cfg.SelfService.PaymentURL,
		Node:            s.cfg.Server.NodeID,
		Location:        s.cfg.Server.Location,
		Disconnector:    disc,
		BatchWorkers:    workers,
		BatchSize:       s.cfg.Radius.BatchSize,
		BatchGather:     s.cfg.Radius.BatchGather.Duration,
		RetryWindow:     s.cfg.Radius.RetryWindow.Duration,
		Now:             s.now, Log: log, Registerer: s.reg,
	}
	if s.local == nil {
		// A directory (LDAP) user's first login creates the account row.
		cfg.EnsureAccount = func(ctx context.Context, p identity.Person) error {
			_, _, err := s.st.EnsureAccount(ctx, access.DirectoryAccount(p.ID, p.Name, p.Role))
			return err
		}
	}
	// The batch transactions and the authentication log writer get a small
	// pool of their own (PostgreSQL only; see internal/store/radius_pg.go).
	if err := aaa.OpenHotPool(ctx, 2*workers+4); err != nil {
		return err
	}
	svc, err := radius.New(cfg)
	if err != nil {
		aaa.Close()
		return err
	}
	authConn, err := net.ListenPacket("udp", s.cfg.Radius.AuthListen)
	if err != nil {
		svc.Close()
		return fmt.Errorf("radius: listen %s: %w", s.cfg.Radius.AuthListen, err)
	}
	acctConn, err := net.ListenPacket("udp", s.cfg.Radius.AcctListen)
	if err != nil {
		authConn.Close()
		svc.Close()
		return fmt.Errorf("radius: listen %s: %w", s.cfg.Radius.AcctListen, err)
	}
	s.setAddr("radius-auth", authConn.LocalAddr().String())
	s.setAddr("radius-acct", acctConn.LocalAddr().String())
	s.goRun("radius", func(ctx context.Context) error {
		defer aaa.Close()
		return svc.Serve(ctx, authConn, acctConn)
	})
	s.goRun("radius-reaper", func(ctx context.Context) error { return svc.RunReaper(ctx, reapEvery) })
	if s.st.Dialect() == store.Postgres {
		s.goRun("store-analyze", func(ctx context.Context) error { return s.analyzeGrown(ctx, analyzeEvery) })
	}
	return nil
}

// analyzeEvery is how often the hot tables' growth is checked.
const analyzeEvery = 5 * time.Second

// analyzeGrown analyzes the hot tables that have grown (store.AnalyzeGrown)
// every interval until ctx ends: on a new install, MAC authentication and
// accounting are planned for the tables as they fill up, with autovacuum
// or without it.
func (s *server) analyzeGrown(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		done, err := s.st.AnalyzeGrown(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("analyze grown tables", "err", err)
		}
		if len(done) > 0 {
			s.log.Info("analyzed grown tables", "tables", done)
		}
	}
}

// newDisconnector builds the Disconnect-Request client from the configuration.
func newDisconnector(s *server) *radius.Disconnector {
	return radius.NewDisconnector(radius.DisconnectorConfig{Store: s.st, NAS: s.cfg.AccessBASes(),
		Timeout: s.cfg.Radius.CoATimeout.Duration, Tries: s.cfg.Radius.CoATries,
		Log: s.log.With("service", "radius"), Registerer: s.reg})
}
