package billing

import (
	"context"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
)

// Choosing a plan and buying packs (docs/plans.md, "Choosing a plan" and
// "Past the allowance").

// Errors of the plan operations.
var (
	// ErrUnknownPlan: the area has no plan of that name (or no plans to
	// choose from).
	ErrUnknownPlan = errors.New("billing: the area has no such plan")
	// ErrUnknownPack: the running cycle's plan offers no pack of that name.
	ErrUnknownPack = errors.New("billing: the plan of the running cycle offers no such pack")
	// ErrNoCycle: a pack belongs to a cycle, and the account has none
	// running in the area.
	ErrNoCycle = errors.New("billing: no cycle is running in the area: a pack is bought for the running cycle")
	// ErrFunds: the balance does not cover the pack's price on top of the
	// fees committed to the running cycles.
	ErrFunds = errors.New("billing: the balance does not cover the price and the committed cycle fee")
	// ErrText: an actor, reason or reference that is empty where needed,
	// too long, or holds control characters.
	ErrText = errors.New("billing: bad text")
)

// Bounds on the texts the plan operations record.
const (
	maxReasonLen    = 500
	maxReferenceLen = 100
)

// PlanStore is what the plan operations need of the store beyond the
// money's (internal/store/plans.go and packs.go).
type PlanStore interface {
	ActiveCycleTx(ctx context.Context, tx *sqlx.Tx, accountID int64, area string) (access.Cycle, error)
	ChoosePlanTx(ctx context.Context, tx *sqlx.Tx, accountID int64, area, plan, actor string) error
	PlanChoiceTx(ctx context.Context, tx *sqlx.Tx, accountID int64, area string) (string, error)
	InsertPackTx(ctx context.Context, tx *sqlx.Tx, p access.PackHeld) (int64, error)
	SetPackReferenceTx(ctx context.Context, tx *sqlx.Tx, packID int64, reference string) error
	PackByReferenceTx(ctx context.Context, tx *sqlx.Tx, accountID int64, reference string) (access.PackHeld, error)
	SetPackLedgerTx(ctx context.Context, tx *sqlx.Tx, packID, ledgerID int64) error
	PacksTx(ctx context.Context, tx *sqlx.Tx, accountID int64, area string, nowMs int64) ([]access.PackHeld, error)
	SetCycleProfileTx(ctx context.Context, tx *sqlx.Tx, cycleID int64, p access.Profile) error
	PlanStatus(ctx context.Context, accountID int64, area access.Area) (access.PlanStatus, error)
}

func checkText(what, s string, max int, required bool) error {
	switch {
	case required && s == "":
		return fmt.Errorf("%w: %s is required", ErrText, what)
	case len(s) > max:
		return fmt.Errorf("%w: %s is longer than %d bytes", ErrText, what, max)
	case !access.PlainText(s):
		return fmt.Errorf("%w: %s holds control characters or invalid UTF-8", ErrText, what)
	}
	return nil
}

// ChoosePlan records plan as username's choice for the next cycles in
// area. The running cycle keeps its plan: the choice is read when the next
// cycle starts. One transaction under the account lock writes the choice,
// a plan_change ledger row of 0.00 yuan (reference
// plan:<account>:<area>:<ms>) and the audit row account.plan. Choosing the
// plan already chosen changes nothing (changed = false).
func (s *Service) ChoosePlan(ctx context.Context, username, area, plan, actor, reason string) (changed bool, err error) {
	a, ok := s.areas[area]
	if !ok {
		return false, fmt.Errorf("%w: %q", ErrUnknownArea, area)
	}
	if len(a.Plans) == 0 {
		return false, fmt.Errorf("%w: area %s has no plans to choose from", ErrUnknownPlan, area)
	}
	p, ok := a.PlanByName(plan)
	if !ok || plan == "" {
		return false, fmt.Errorf("%w: area %s has no plan %q", ErrUnknownPlan, area, plan)
	}
	if err := checkText("the actor", actor, maxReferenceLen, true); err != nil {
		return false, err
	}
	if err := checkText("the reason", reason, maxReasonLen, false); err != nil {
		return false, err
	}
	acc, err := s.st.AccountByUsername(ctx, username)
	if err != nil {
		return false, err
	}
	var e access.LedgerEntry
	var was string
	err = s.st.InTx(ctx, func(tx *sqlx.Tx) error {
		locked, err := s.st.LockAccount(ctx, tx, acc.ID)
		if err != nil {
			return err
		}
		if was, err = s.st.PlanChoiceTx(ctx, tx, locked.ID, area); err != nil {
			return err
		}
		if was == p.Name {
			return nil
		}
		if err := s.st.ChoosePlanTx(ctx, tx, locked.ID, area, p.Name, actor); err != nil {
			return err
		}
		ref := fmt.Sprintf("plan:%d:%s:%d", locked.ID, area, access.Millis(s.cfg.Now()))
		note := reason
		if note == "" {
			note = "plan " + p.Name + " for the next cycle"
		}
		if e, err = s.st.AddLedgerTx(ctx, tx, &locked, access.LedgerPlanChange, 0, actor, ref, note); err != nil {
			return err
		}
		if was == "" {
			was = a.DefaultPlan().Name + " (default)"
		}
		detail := fmt.Sprintf("area %s: plan %s from the next cycle (was %s), ledger #%d", area, p.Name, was, e.ID)
		changed = true
		return s.st.AuditTx(ctx, tx, actor, "account.plan", username, reason, detail)
	})
	if err != nil {
		return false, err
	}
	if changed {
		s.log.Info("plan chosen", "user", username, "area", area, "plan", p.Name, "was", was, "actor", actor)
	}
	return changed, nil
}

// BuyPack buys pack for username's running cycle in area, paid from the
// balance. The pack must be one the running cycle's plan offers, and the
// balance must cover its price and still hold the fees committed to the
// running cycles (ErrFunds). One transaction under the account lock
// records the pack (until the cycle's end, or Lasts after now), its ledger
// row (kind pack, −price, reference pack:<id>) and the audit row
// account.pack; when the cycle was slowed or restricted and the new limit
// covers what it used, its profile goes back to full, and after the commit
// the Enforcer restores the sessions' rate. reference is the purchase's
// idempotency key (a form's key, the desk's --ref): the same one again
// returns the pack it bought with an error wrapping access.ErrDuplicate,
// and nothing is charged twice.
func (s *Service) BuyPack(ctx context.Context, username, area, pack, actor, reference string) (access.PackHeld, access.LedgerEntry, error) {
	var held access.PackHeld
	var e access.LedgerEntry
	a, ok := s.areas[area]
	if !ok {
		return held, e, fmt.Errorf("%w: %q", ErrUnknownArea, area)
	}
	if err := checkText("the actor", actor, maxReferenceLen, true); err != nil {
		return held, e, err
	}
	if err := checkText("the reference", reference, maxReferenceLen, true); err != nil {
		return held, e, err
	}
	if err := checkText("the pack", pack, maxReferenceLen, true); err != nil {
		return held, e, fmt.Errorf("%w: %w", ErrUnknownPack, err)
	}
	acc, err := s.st.AccountByUsername(ctx, username)
	if err != nil {
		return held, e, err
	}
	restored := false
	err = s.st.InTx(ctx, func(tx *sqlx.Tx) error {
		locked, err := s.st.LockAccount(ctx, tx, acc.ID)
		if err != nil {
			return err
		}
		prev, err := s.st.PackByReferenceTx(ctx, tx, locked.ID, reference)
		if err == nil {
			held = prev
			return fmt.Errorf("billing: pack %s was bought with reference %s (pack #%d): %w", prev.Name, reference, prev.ID, access.ErrDuplicate)
		}
		if !errors.Is(err, access.ErrNotFound) {
			return err
		}
		c, err := s.st.ActiveCycleTx(ctx, tx, locked.ID, area)
		if errors.Is(err, access.ErrNotFound) {
			return fmt.Errorf("%w: %s has no cycle running in %s; one starts at the next login there", ErrNoCycle, username, area)
		}
		if err != nil {
			return err
		}
		var k access.Pack
		found := false
		if p, ok := a.PlanByName(c.Plan); ok && c.Plan != "" {
			k, found = p.PackByName(pack)
		}
		if !found {
			return fmt.Errorf("%w: the plan %q of the running cycle in %s has no pack %q", ErrUnknownPack, c.Plan, area, pack)
		}
		committed, err := s.st.CommittedTx(ctx, tx, locked.ID)
		if err != nil {
			return err
		}
		if locked.Balance-k.Price < committed {
			return fmt.Errorf("%w: balance %s yuan minus the pack's %s yuan would leave %s yuan, below the %s yuan committed to the running cycle",
				ErrFunds, locked.Balance, k.Price, locked.Balance-k.Price, committed)
		}
		now := access.Millis(s.cfg.Now())
		expires := c.EndsAt
		if k.Lasts > 0 {
			expires = now + k.Lasts.Milliseconds()
		}
		held = access.PackHeld{AccountID: locked.ID, Area: area, CycleID: c.ID, Name: k.Name, Bytes: k.Bytes,
			Price: k.Price, BoughtAt: now, ExpiresAt: expires}
		if held.ID, err = s.st.InsertPackTx(ctx, tx, held); err != nil {
			return err
		}
		if err := s.st.SetPackReferenceTx(ctx, tx, held.ID, reference); err != nil {
			return err
		}
		zh, _ := k.Names()
		if e, err = s.st.AddLedgerTx(ctx, tx, &locked, access.LedgerPack, -k.Price, actor, access.PackReference(held.ID), zh); err != nil {
			return err
		}
		if err := s.st.SetPackLedgerTx(ctx, tx, held.ID, e.ID); err != nil {
			return err
		}
		held.LedgerID = e.ID
		if c.Profile != access.ProfileFull && c.Allowance > 0 {
			packs, err := s.st.PacksTx(ctx, tx, locked.ID, area, now)
			if err != nil {
				return err
			}
			limit := c.Allowance
			for _, p := range packs {
				limit += p.Bytes
			}
			if c.Used < limit {
				if err := s.st.SetCycleProfileTx(ctx, tx, c.ID, access.ProfileFull); err != nil {
					return err
				}
				restored = true
			}
		}
		detail := fmt.Sprintf("area %s: pack %s (%s) for %s yuan, pack #%d, cycle #%d, until %d, balance after %s yuan, ledger #%d, reference %s",
			area, k.Name, access.FormatBytes(k.Bytes), k.Price, held.ID, c.ID, expires, e.BalanceAfter, e.ID, reference)
		if restored {
			detail += ", profile back to full"
		}
		return s.st.AuditTx(ctx, tx, actor, "account.pack", username, "", detail)
	})
	if err != nil {
		return held, e, err
	}
	s.log.Info("pack bought", "user", username, "area", area, "pack", held.Name, "price", held.Price.String(),
		"balance", e.BalanceAfter.String(), "actor", actor, "restored", restored)
	if restored && s.cfg.Enforcer != nil {
		s.cfg.Enforcer.EnforceAccount(ctx, acc.ID)
	}
	return held, e, nil
}

// PlanStatus is what username has of their plan in area: the running
// cycle's plan, usage and limit, the packs, and the next cycle's plan.
func (s *Service) PlanStatus(ctx context.Context, username, area string) (access.PlanStatus, error) {
	a, ok := s.areas[area]
	if !ok {
		return access.PlanStatus{}, fmt.Errorf("%w: %q", ErrUnknownArea, area)
	}
	acc, err := s.st.AccountByUsername(ctx, username)
	if err != nil {
		return access.PlanStatus{}, err
	}
	return s.st.PlanStatus(ctx, acc.ID, a)
}

// PlanStatuses is PlanStatus for every billed area that has plans to
// choose from (the desk's account show).
func (s *Service) PlanStatuses(ctx context.Context, username string) ([]access.PlanStatus, error) {
	acc, err := s.st.AccountByUsername(ctx, username)
	if err != nil {
		return nil, err
	}
	var out []access.PlanStatus
	for _, a := range s.cfg.Areas {
		if !a.Billed() || len(a.Plans) == 0 {
			continue
		}
		st, err := s.st.PlanStatus(ctx, acc.ID, a)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}
