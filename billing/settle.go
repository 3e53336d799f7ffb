package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
)

// SettleReport counts what one Settle did.
type SettleReport struct {
	Due     int // due cycles found
	Settled int // cycles charged by this run
	Renewed int // of those, followed at once by a new cycle (student online, balance enough)
	Arrears int // of those, whose student was online without the balance for the next cycle
	Skipped int // already settled by another node (or an earlier run) meanwhile
	Failed  int // cycles whose transaction failed (left for the next run)
	// Started counts cycles started for sessions found online without one
	// (their Accounting-Start raced a settlement).
	Started int
	// LowBalance counts low_balance events written (cycles ending within
	// low_balance_notice whose balance will not cover the next one).
	LowBalance int
	// Disconnects counts Disconnect-Requests by outcome: "ack", "nak",
	// "error", "unavailable" (no disconnector).
	Disconnects map[string]int
	// Charged is the sum of the fees charged.
	Charged access.Fen
}

func (r SettleReport) String() string {
	return fmt.Sprintf("due %d, settled %d (%s yuan), renewed %d, arrears %d, skipped %d, failed %d, started %d, disconnects ack %d nak %d error %d unavailable %d",
		r.Due, r.Settled, r.Charged, r.Renewed, r.Arrears, r.Skipped, r.Failed, r.Started,
		r.Disconnects["ack"], r.Disconnects["nak"], r.Disconnects["error"], r.Disconnects["unavailable"])
}

// errAlreadySettled rolls back a settlement transaction that lost the race.
var errAlreadySettled = errors.New("billing: cycle already settled")

type settleOutcome struct {
	skipped    bool
	fee        access.Fen
	renewed    *access.Cycle
	disconnect []access.BillingSession
	// restrict: the sessions stay online in the walled garden (an area
	// with arrears = "garden"); the enforcer restricts them.
	restrict  bool
	accountID int64
	username  string
	// profileReset: the settled cycle had a profile past its allowance;
	// the next one starts at the full rate.
	profileReset bool
}

// Settle charges every due cycle (active, settlement date reached) once, in
// one transaction per cycle: lock the account, write the fee's ledger row
// (reference "cycle:<id>", unique), mark the cycle settled, and, when the
// student is online in that area, start the next cycle at the settlement
// date if the balance allows or else disconnect the sessions (reason
// ARREARS) after the commit. Several nodes may run it at once; a crash at
// any point leaves each cycle charged or not, never half. It then sweeps
// online sessions in billed areas without an active cycle: a cycle starts
// when the balance allows, else they are disconnected (a disconnect lost to
// a crash or sent from a node without RADIUS is retried this way).
func (s *Service) Settle(ctx context.Context) (SettleReport, error) {
	s.settleMu.Lock()
	defer s.settleMu.Unlock()
	rep := SettleReport{Disconnects: map[string]int{}}
	now := s.cfg.Now()
	var after int64
	var firstErr error
	tried := map[int64]bool{} // sessions sent a Disconnect-Request in this run
	for {
		due, err := s.st.DueCycles(ctx, now, after, s.cfg.Batch)
		if err != nil {
			return rep, err
		}
		if len(due) == 0 {
			break
		}
		for _, c := range due {
			after = c.ID
			rep.Due++
			out, err := s.settleOne(ctx, c, now)
			switch {
			case errors.Is(err, errAlreadySettled) || (err == nil && out.skipped):
				rep.Skipped++
				s.m.settlements.WithLabelValues("skipped").Inc()
				continue
			case err != nil:
				if ctx.Err() != nil {
					return rep, ctx.Err()
				}
				rep.Failed++
				s.m.settlements.WithLabelValues("error").Inc()
				s.log.Error("settlement failed; the next run retries", "cycle", c.ID, "account", c.AccountID, "err", err)
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			rep.Settled++
			rep.Charged += out.fee
			result := "settled"
			switch {
			case out.renewed != nil:
				rep.Renewed++
				if out.profileReset && s.cfg.Enforcer != nil {
					s.cfg.Enforcer.EnforceAccount(ctx, c.AccountID)
				}
				result = "renewed"
				s.log.Info("cycle settled and renewed while online", "cycle", c.ID, "next", out.renewed.ID, "user", out.username,
					"area", c.Area, "fee", out.fee.String(), "next_settlement", access.FromMillis(out.renewed.EndsAt).Format(time.RFC3339))
			case out.restrict:
				rep.Arrears++
				result = "arrears"
				s.log.Info("cycle settled; online without the balance for the next cycle: restricting to the walled garden", "cycle", c.ID,
					"user", out.username, "area", c.Area, "fee", out.fee.String())
				s.cfg.Enforcer.EnforceAccount(ctx, out.accountID)
			case len(out.disconnect) > 0:
				rep.Arrears++
				result = "arrears"
				s.log.Info("cycle settled; online without the balance for the next cycle: disconnecting", "cycle", c.ID,
					"user", out.username, "area", c.Area, "fee", out.fee.String(), "sessions", len(out.disconnect))
			default:
				s.log.Info("cycle settled", "cycle", c.ID, "user", out.username, "area", c.Area, "fee", out.fee.String())
			}
			s.m.settlements.WithLabelValues(result).Inc()
			for _, sess := range out.disconnect {
				tried[sess.ID] = true
				rep.Disconnects[s.disconnect(ctx, sess.ID, out.username)]++
			}
		}
		if len(due) < s.cfg.Batch {
			break
		}
	}
	if err := s.sweepUncovered(ctx, now, tried, &rep); err != nil && firstErr == nil {
		firstErr = err
	}
	if err := s.noticeLowBalance(ctx, now, &rep); err != nil && firstErr == nil {
		firstErr = err
	}
	return rep, firstErr
}

// settleOne settles one cycle in one transaction (re-runnable: InTx may retry it).
func (s *Service) settleOne(ctx context.Context, due access.Cycle, now time.Time) (settleOutcome, error) {
	var out settleOutcome
	err := s.st.InTx(ctx, func(tx *sqlx.Tx) error {
		out = settleOutcome{}
		acc, err := s.st.LockAccount(ctx, tx, due.AccountID)
		if err != nil {
			return err
		}
		out.username = acc.Username
		c, err := s.st.CycleByIDTx(ctx, tx, due.ID)
		if err != nil {
			return err
		}
		if c.Status != access.CycleActive {
			out.skipped = true
			return nil
		}
		reason := fmt.Sprintf("周期费用 / cycle fee %s: %s – %s", c.Area,
			access.FromMillis(c.StartedAt).In(s.cfg.Location).Format("2006-01-02"), access.FromMillis(c.EndsAt).In(s.cfg.Location).Format("2006-01-02"))
		e, err := s.st.AddLedgerTx(ctx, tx, &acc, access.LedgerCycleFee, -c.Fee, Actor, access.CycleFeeReference(c.ID), reason)
		if errors.Is(err, access.ErrDuplicate) {
			return errAlreadySettled
		}
		if err != nil {
			return err
		}
		if s.afterFee != nil {
			if err := s.afterFee(c.ID); err != nil {
				return err
			}
		}
		if err := s.st.MarkCycleSettledTx(ctx, tx, c.ID, e.ID); err != nil {
			if errors.Is(err, access.ErrDuplicate) {
				return errAlreadySettled
			}
			return err
		}
		out.fee = c.Fee
		area, billed := s.billedArea(c.Area)
		if !billed {
			return nil // the area is free now (or gone): nothing follows
		}
		live, err := s.st.LiveSessionsInAreaTx(ctx, tx, acc.ID, c.Area, now.Add(-s.cfg.StaleAfter))
		if err != nil {
			return err
		}
		if len(live) == 0 {
			return nil // the next cycle starts at the next login
		}
		plan, err := s.st.NextPlanTx(ctx, tx, acc.ID, area)
		if err != nil {
			return err
		}
		if acc.Balance >= plan.Fee {
			var next access.Cycle
			if len(area.Plans) > 0 {
				next, err = s.st.InsertPlanCycleTx(ctx, tx, acc.ID, c.Area, plan, access.FromMillis(c.EndsAt))
			} else {
				next, err = s.st.InsertCycleTx(ctx, tx, acc.ID, c.Area, area.Fee, access.FromMillis(c.EndsAt), area.Cycle)
			}
			if err != nil {
				return err
			}
			out.renewed = &next
			out.profileReset = c.Profile != access.ProfileFull
			return nil
		}
		if s.gardenEnforced(area) {
			out.restrict, out.accountID = true, acc.ID
			return s.arrearsTx(ctx, tx, acc, c, plan.Fee)
		}
		out.disconnect = live
		return s.arrearsTx(ctx, tx, acc, c, plan.Fee)
	})
	return out, err
}

// gardenEnforced reports whether students in arrears in area stay online
// in the walled garden rather than being disconnected: the area says so
// and an enforcer can restrict their sessions.
func (s *Service) gardenEnforced(area access.Area) bool {
	return area.Garden() && s.cfg.Enforcer != nil
}

// sweepUncovered handles online sessions in billed areas whose account has
// no active cycle (a lost disconnect, a race with the settlement): a cycle
// starts now when the balance covers the fee, as at Accounting-Start;
// otherwise the sessions are disconnected for arrears, or, in an area with
// arrears = "garden", restricted by the enforcer.
func (s *Service) sweepUncovered(ctx context.Context, now time.Time, tried map[int64]bool, rep *SettleReport) error {
	for _, a := range s.cfg.Areas {
		if !a.Billed() {
			continue
		}
		found, err := s.st.UncoveredSessions(ctx, a.Name, now.Add(-s.cfg.StaleAfter), 500)
		if err != nil {
			return err
		}
		for len(found) > 0 {
			n := 1
			for n < len(found) && found[n].AccountID == found[0].AccountID {
				n++
			}
			sessions := found[:n]
			found = found[n:]
			acc := access.Account{ID: sessions[0].AccountID}
			var c access.Cycle
			var started bool
			err := s.st.InTx(ctx, func(tx *sqlx.Tx) error {
				var err error
				c, started, err = s.st.StartPlanCycleTx(ctx, tx, &acc, a)
				return err
			})
			if err != nil {
				return err
			}
			switch {
			case started:
				rep.Started++
				s.m.settlements.WithLabelValues("started").Inc()
				s.log.Info("online without a cycle: cycle started", "user", sessions[0].Username, "area", a.Name, "cycle", c.ID,
					"next_settlement", access.FromMillis(c.EndsAt).Format(time.RFC3339))
			case c.ID == 0 && s.gardenEnforced(a):
				// In the garden: restricted, not disconnected; the student
				// hears of the arrears once per lapse.
				s.cfg.Enforcer.EnforceAccount(ctx, acc.ID)
				if _, err := s.NotifyArrears(ctx, sessions[0].Username, a.Name); err != nil {
					s.log.Warn("arrears notice of a student in the garden failed; the next run retries", "user", sessions[0].Username, "area", a.Name, "err", err)
				}
			case c.ID == 0:
				for _, sess := range sessions {
					if tried[sess.ID] {
						continue
					}
					s.log.Info("online in a billed area without a cycle or the balance for one: disconnecting",
						"session", sess.ID, "user", sess.Username, "area", a.Name, "balance", acc.Balance.String())
					rep.Disconnects[s.disconnect(ctx, sess.ID, sess.Username)]++
				}
			}
		}
	}
	return nil
}

// disconnect sends one Disconnect-Request with reason ARREARS and returns the
// outcome's label.
func (s *Service) disconnect(ctx context.Context, sessionID int64, username string) string {
	result := "ack"
	if s.cfg.Disconnector == nil {
		result = "unavailable"
		s.log.Warn("cannot disconnect a session in arrears: no disconnector (RADIUS not running here)", "session", sessionID, "user", username)
	} else {
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		o, err := s.cfg.Disconnector.DisconnectSession(dctx, sessionID, Actor, string(access.ReasonArrears))
		cancel()
		switch {
		case err != nil:
			result = "error"
			s.log.Warn("disconnect for arrears failed", "session", sessionID, "user", username, "err", err)
		case !o.ACK:
			result = "nak"
			s.log.Warn("disconnect for arrears refused by the BAS", "session", sessionID, "user", username, "detail", o.Detail, "error_cause", o.ErrorCause)
		}
	}
	s.m.disconnects.WithLabelValues(result).Inc()
	return result
}

// Run settles at once and then every interval until ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = access.DefaultSettleInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		rep, err := s.Settle(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			s.log.Error("settlement run", "err", err, "report", rep.String())
		} else if rep.Due > 0 || len(rep.Disconnects) > 0 {
			s.log.Info("settlement run", "report", rep.String())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
