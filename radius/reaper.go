package radius

// The reaper closes sessions whose BAS stopped sending interim updates and
// Access-Accept reservations that no Accounting-Start took up in time.

import (
	"context"
	"time"

	"github.com/campusnet/campusnet/internal/access"
)

// Reap closes stale sessions and expired reservations once.
func (s *Service) Reap(ctx context.Context) (stale, reserved int64, err error) {
	now := s.now()
	stale, reserved, err = s.cfg.Store.ReapSessions(ctx, now.Add(-s.staleAfter()), now.Add(-s.cfg.ReserveTimeout))
	if err != nil {
		return stale, reserved, err
	}
	s.metrics.reaped.WithLabelValues(access.CloseStale).Add(float64(stale))
	s.metrics.reaped.WithLabelValues(access.CloseReserveTimeout).Add(float64(reserved))
	if stale+reserved > 0 {
		s.log.Info("reaped sessions", "stale", stale, "reservations", reserved)
	}
	return stale, reserved, nil
}

// RunReaper reaps every interval (default 10 s) until ctx ends, and records
// when each BAS was last heard from.
func (s *Service) RunReaper(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, _, err := s.Reap(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("reaper", "err", err)
		}
		s.flushNASSeen(ctx)
	}
}
