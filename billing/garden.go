package billing

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
)

// LiftGarden is what follows a recharge (the desk's Recharge and the
// payment webhook, docs/plans.md): in each area with arrears = "garden"
// where the account is online without an active cycle, the cycle starts
// when the balance now covers it (as the settlement's sweep does), and the
// enforcer is asked to apply the account's profile at once, so that its
// sessions leave the walled garden by CoA without a new login. Failures
// are logged: the next settlement sweep and enforcement run retry them.
func (s *Service) LiftGarden(ctx context.Context, accountID int64) {
	now := s.cfg.Now()
	started, inGarden := false, false
	for _, a := range s.cfg.Areas {
		if !a.Billed() || !a.Garden() {
			continue
		}
		var c access.Cycle
		var ok bool
		err := s.st.InTx(ctx, func(tx *sqlx.Tx) error {
			acc, err := s.st.LockAccount(ctx, tx, accountID)
			if err != nil {
				return err
			}
			live, err := s.st.LiveSessionsInAreaTx(ctx, tx, acc.ID, a.Name, now.Add(-s.cfg.StaleAfter))
			if err != nil || len(live) == 0 {
				return err
			}
			inGarden = true
			c, ok, err = s.st.StartPlanCycleTx(ctx, tx, &acc, a)
			return err
		})
		if err != nil {
			s.log.Warn("recharge: starting the cycle of a student in the garden failed; the settlement sweep retries", "account", accountID, "area", a.Name, "err", err)
			continue
		}
		if ok {
			started = true
			s.m.settlements.WithLabelValues("started").Inc()
			s.log.Info("recharge: cycle started for a student in the garden", "account", accountID, "area", a.Name, "cycle", c.ID,
				"next_settlement", access.FromMillis(c.EndsAt).Format(time.RFC3339))
		}
	}
	if !inGarden {
		return // no session of the account is in a garden area
	}
	if s.cfg.Enforcer != nil {
		s.cfg.Enforcer.EnforceAccount(ctx, accountID)
	} else if started {
		s.log.Warn("recharge: no enforcer on this node; the sessions leave the garden at the next enforcement run or login", "account", accountID)
	}
}
