package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
)

// DefaultLowBalanceNotice is how long before settlement the low_balance
// event is written when Config.LowBalanceNotice is 0 ([billing]
// low_balance_notice).
const DefaultLowBalanceNotice = 72 * time.Hour

// NotifyStore is what the notification events need of the store beyond
// Store (*store.Store has it). Without it, billing records no events.
type NotifyStore interface {
	AddNotificationTx(ctx context.Context, tx *sqlx.Tx, event, key string, acc access.Account, data map[string]any) (bool, error)
	LowBalanceCycles(ctx context.Context, area string, now, until time.Time, fee access.Fen, afterID int64, limit int) ([]access.Cycle, error)
}

// nextFee is what the cycle after c will cost the account: the fee of
// the plan it chose for the next cycle, or of the area's default plan.
func (s *Service) nextFee(ctx context.Context, tx *sqlx.Tx, c access.Cycle) (access.Fen, bool, error) {
	a, billed := s.billedArea(c.Area)
	if !billed {
		return 0, false, nil
	}
	if len(a.Plans) == 0 {
		return a.Fee, true, nil
	}
	p, err := s.st.NextPlanTx(ctx, tx, c.AccountID, a)
	return p.Fee, true, err
}

// highestFee is the dearest plan's fee of a billed area: the bound the
// low-balance query filters by before each cycle is checked exactly.
func highestFee(a access.Area) access.Fen {
	fee := a.Fee
	for _, p := range a.Plans {
		fee = max(fee, p.Fee)
	}
	return fee
}

// arrearsTx records the arrears event of a cycle whose student was online
// without the balance for the next one, in the settlement's transaction.
func (s *Service) arrearsTx(ctx context.Context, tx *sqlx.Tx, acc access.Account, c access.Cycle, fee access.Fen) error {
	ns, ok := s.st.(NotifyStore)
	if !ok {
		return nil
	}
	_, err := ns.AddNotificationTx(ctx, tx, access.EventArrears, fmt.Sprintf("arrears:%d", c.ID), acc, map[string]any{
		"area": c.Area, "cycle_id": c.ID, "balance": acc.Balance.String(), "fee": fee.String(), "payment_url": s.cfg.PaymentURL})
	return err
}

// NotifyArrears records the arrears event of a login that the area let in
// restricted, or refused, because the balance does not cover the fee (the
// walled garden's login calls it). It is written once per lapse: under the
// key of the account's last cycle in the area ("arrears:<cycle id>", the
// same key settlement uses, so a student disconnected at settlement and
// then sent to the garden hears it once), or "arrears:<account>:<area>:0"
// when the account never had a cycle there. added reports a new event.
func (s *Service) NotifyArrears(ctx context.Context, username, area string) (added bool, err error) {
	ns, ok := s.st.(NotifyStore)
	if !ok {
		return false, nil
	}
	a, billed := s.billedArea(area)
	if !billed {
		return false, fmt.Errorf("%w: %q is not a billed area", ErrUnknownArea, area)
	}
	acc, err := s.st.AccountByUsername(ctx, username)
	if err != nil {
		return false, err
	}
	err = s.st.InTx(ctx, func(tx *sqlx.Tx) error {
		added = false
		locked, err := s.st.LockAccount(ctx, tx, acc.ID)
		if err != nil {
			return err
		}
		cycles, err := s.st.CyclesByAccount(ctx, acc.ID, 50)
		if err != nil {
			return err
		}
		key := fmt.Sprintf("arrears:%d:%s:0", acc.ID, area)
		data := map[string]any{"area": area, "balance": locked.Balance.String(), "fee": a.Fee.String(), "payment_url": s.cfg.PaymentURL}
		for _, c := range cycles {
			if c.Area != area {
				continue
			}
			if c.Status == access.CycleActive {
				return nil // a cycle runs: not in arrears
			}
			key = fmt.Sprintf("arrears:%d", c.ID)
			data["cycle_id"] = c.ID
			break
		}
		added, err = ns.AddNotificationTx(ctx, tx, access.EventArrears, key, locked, data)
		return err
	})
	return added, err
}

// noticeLowBalance writes the low_balance event of each active cycle that
// ends within LowBalanceNotice while what its account's balance keeps
// after the active cycles' fees is below the next cycle's fee: one transaction per cycle, under the account's lock,
// rechecking the balance, once per cycle (key "low_balance:<cycle id>").
func (s *Service) noticeLowBalance(ctx context.Context, now time.Time, rep *SettleReport) error {
	ns, ok := s.st.(NotifyStore)
	if !ok {
		return nil
	}
	within := s.cfg.LowBalanceNotice
	if within == 0 {
		within = DefaultLowBalanceNotice
	}
	if within < 0 {
		return nil
	}
	for _, a := range s.cfg.Areas {
		if !a.Billed() {
			continue
		}
		var after int64
		for {
			found, err := ns.LowBalanceCycles(ctx, a.Name, now, now.Add(within), highestFee(a), after, s.cfg.Batch)
			if err != nil {
				return err
			}
			for _, c := range found {
				after = c.ID
				var added bool
				err := s.st.InTx(ctx, func(tx *sqlx.Tx) error {
					added = false
					acc, err := s.st.LockAccount(ctx, tx, c.AccountID)
					if err != nil {
						return err
					}
					fee, billed, err := s.nextFee(ctx, tx, c)
					if err != nil {
						return err
					}
					committed, err := s.st.CommittedTx(ctx, tx, acc.ID)
					if err != nil {
						return err
					}
					left := acc.Balance - committed // after this cycle's settlement
					if !billed || left >= fee {
						return nil // recharged meanwhile
					}
					added, err = ns.AddNotificationTx(ctx, tx, access.EventLowBalance, fmt.Sprintf("low_balance:%d", c.ID), acc, map[string]any{
						"area": c.Area, "cycle_id": c.ID, "balance": acc.Balance.String(), "after_settlement": left.String(), "fee": fee.String(),
						"settles_at": access.FromMillis(c.EndsAt).In(s.cfg.Location).Format(time.RFC3339), "payment_url": s.cfg.PaymentURL})
					return err
				})
				if err != nil {
					if ctx.Err() != nil || errors.Is(err, context.Canceled) {
						return err
					}
					s.log.Error("low-balance notice failed; the next run retries", "cycle", c.ID, "account", c.AccountID, "err", err)
					continue
				}
				if added {
					rep.LowBalance++
				}
			}
			if len(found) < s.cfg.Batch {
				break
			}
		}
	}
	return nil
}
