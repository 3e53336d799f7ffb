package main

import (
	"context"
	"fmt"

	"github.com/campusnet/campusnet/billing"
	"github.com/campusnet/campusnet/internal/access"
)

// billingService builds billing's Service from the configuration: the
// areas' fees and cycles, the store's clock, s.disc for disconnects in
// arrears. Self-service builds its Money from it too.
func (s *server) billingService() (*billing.Service, error) {
	var disc billing.Disconnector
	if s.disc != nil {
		disc = s.disc
	}
	stale := access.StaleAfter(s.cfg.Radius.InterimInterval.Duration)
	var enf billing.Enforcer
	if s.enf != nil {
		enf = s.enf
	}
	return billing.New(s.st, billing.Config{
		Enforcer:     enf,
		Areas:        s.cfg.AccessAreas(),
		Log:          s.log.With("service", "billing"),
		Registerer:   s.reg,
		Disconnector: disc,
		StaleAfter:   stale,
		PaymentURL:   s.cfg.SelfService.PaymentURL,
		Location:     s.cfg.Server.Location,

		// The low_balance event's lead time (internal/notify sends it).
		LowBalanceNotice: s.cfg.Billing.LowBalanceNotice.Duration,
	})
}

// startBilling runs the settlement job every [billing] settle_interval.
func (s *server) startBilling(ctx context.Context) error {
	svc, err := s.billingService()
	if err != nil {
		return fmt.Errorf("billing: %w", err)
	}
	if s.disc == nil {
		s.log.Warn("billing: RADIUS disconnects are not wired on this node; students found in arrears at settlement cannot be disconnected here")
	}
	every := s.cfg.Billing.SettleInterval.Duration
	s.goRun("billing", func(ctx context.Context) error { return svc.Run(ctx, every) })
	if s.enf != nil {
		// The enforcer runs beside billing, every meter_interval: the meter
		// changes cycles' profiles at that pace.
		s.goRun("enforcer", func(ctx context.Context) error {
			defer s.enf.Close()
			return s.enf.Run(ctx, s.cfg.Billing.MeterInterval.Duration)
		})
	}
	// The meter, every [billing] meter_interval, where a plan has an allowance.
	if svc.Metering() {
		meter := s.cfg.Billing.MeterInterval.Duration
		s.goRun("meter", func(ctx context.Context) error { return svc.RunMeter(ctx, meter) })
	}
	return nil
}
