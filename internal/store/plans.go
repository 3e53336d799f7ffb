package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
)

// Plans, choices and packs (docs/plans.md). The rules live in billing; these
// are its reads and writes.

// ChoosePlanTx records plan as the account's choice for its next cycles in
// area (replacing an earlier choice). The caller holds the account lock,
// has checked the plan is one of the area's, and writes the ledger and
// audit rows.
func (s *Store) ChoosePlanTx(ctx context.Context, tx *sqlx.Tx, accountID int64, area, plan, actor string) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO plan_choices (account_id, area, plan, chosen_at, actor) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (account_id, area) DO UPDATE SET plan = excluded.plan, chosen_at = excluded.chosen_at, actor = excluded.actor`),
		accountID, area, plan, access.Millis(s.now()), actor)
	if err != nil {
		return fmt.Errorf("store: choose plan %s for account #%d in %s: %w", plan, accountID, area, err)
	}
	return nil
}

// PlanChoice returns the plan the account chose for area ("" when none).
func (s *Store) PlanChoice(ctx context.Context, accountID int64, area string) (string, error) {
	return s.planChoice(ctx, s.db, accountID, area)
}

// PlanChoiceTx is PlanChoice inside tx.
func (s *Store) PlanChoiceTx(ctx context.Context, tx *sqlx.Tx, accountID int64, area string) (string, error) {
	return s.planChoice(ctx, tx, accountID, area)
}

func (s *Store) planChoice(ctx context.Context, q sqlx.QueryerContext, accountID int64, area string) (string, error) {
	var plan string
	err := sqlx.GetContext(ctx, q, &plan, s.db.Rebind(`SELECT plan FROM plan_choices WHERE account_id = ? AND area = ?`), accountID, area)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: plan choice of account #%d in %s: %w", accountID, area, err)
	}
	return plan, nil
}

const packCols = `id, account_id, area, cycle_id, name, bytes, used_bytes, price_fen, bought_at, expires_at, ledger_id`

// InsertPackTx records a bought pack and returns its id. The caller holds
// the account lock and writes its ledger row (kind pack, reference
// access.PackReference(id)), then SetPackLedgerTx.
func (s *Store) InsertPackTx(ctx context.Context, tx *sqlx.Tx, p access.PackHeld) (int64, error) {
	if p.AccountID == 0 || p.Name == "" || p.Bytes <= 0 || p.Price < 0 || p.ExpiresAt <= p.BoughtAt {
		return 0, fmt.Errorf("store: pack %+v: %w", p, access.ErrInvalid)
	}
	var id int64
	err := tx.QueryRowxContext(ctx, tx.Rebind(`INSERT INTO packs (account_id, area, cycle_id, name, bytes, used_bytes, price_fen, bought_at, expires_at, ledger_id)
		VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?) RETURNING id`),
		p.AccountID, p.Area, p.CycleID, p.Name, p.Bytes, p.Price, p.BoughtAt, p.ExpiresAt, p.LedgerID).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: insert pack: %w", err)
	}
	return id, nil
}

// SetPackLedgerTx links a pack to the ledger row that paid for it.
func (s *Store) SetPackLedgerTx(ctx context.Context, tx *sqlx.Tx, packID, ledgerID int64) error {
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE packs SET ledger_id = ? WHERE id = ?`), ledgerID, packID); err != nil {
		return fmt.Errorf("store: pack #%d: %w", packID, err)
	}
	return nil
}

// Packs returns the account's packs in area that have not expired at
// nowMs, earliest expiry first (then oldest).
func (s *Store) Packs(ctx context.Context, accountID int64, area string, nowMs int64) ([]access.PackHeld, error) {
	return s.packs(ctx, s.db, accountID, area, nowMs)
}

// PacksTx is Packs inside tx.
func (s *Store) PacksTx(ctx context.Context, tx *sqlx.Tx, accountID int64, area string, nowMs int64) ([]access.PackHeld, error) {
	return s.packs(ctx, tx, accountID, area, nowMs)
}

func (s *Store) packs(ctx context.Context, q sqlx.QueryerContext, accountID int64, area string, nowMs int64) ([]access.PackHeld, error) {
	var out []access.PackHeld
	err := sqlx.SelectContext(ctx, q, &out, s.db.Rebind(`SELECT `+packCols+` FROM packs
		WHERE account_id = ? AND area = ? AND expires_at > ? ORDER BY expires_at, id`), accountID, area, nowMs)
	if err != nil {
		return nil, fmt.Errorf("store: packs of account #%d: %w", accountID, err)
	}
	return out, nil
}

// PacksByAccount returns the account's packs of every area, newest first
// (the ledger's and the NOC's view), at most limit.
func (s *Store) PacksByAccount(ctx context.Context, accountID int64, limit int) ([]access.PackHeld, error) {
	var out []access.PackHeld
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT `+packCols+` FROM packs WHERE account_id = ? ORDER BY id DESC LIMIT ?`), accountID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: packs of account #%d: %w", accountID, err)
	}
	return out, nil
}

// PlanStatus reads what the account has of its plan in area: the active
// cycle, its unexpired packs and the plan the next cycle will use. A cycle
// whose plan is no longer configured shows under a plan of its name with
// the cycle's fee and allowance.
func (s *Store) PlanStatus(ctx context.Context, accountID int64, area access.Area) (access.PlanStatus, error) {
	st := access.PlanStatus{Area: area}
	choice, err := s.PlanChoice(ctx, accountID, area.Name)
	if err != nil {
		return st, err
	}
	next, ok := area.PlanByName(choice)
	st.Chosen = ok && choice != ""
	if !ok {
		next = area.DefaultPlan()
	}
	st.Next, st.Plan = next, next
	c, err := s.ActiveCycle(ctx, accountID, area.Name)
	switch {
	case errors.Is(err, access.ErrNotFound):
	case err != nil:
		return st, err
	default:
		st.Cycle = &c
		if p, ok := area.PlanByName(c.Plan); ok && c.Plan != "" {
			st.Plan = p
		} else if c.Plan == "" {
			// A cycle from before plans: the area's flat rule.
			st.Plan = access.Plan{Name: area.Name, DisplayName: area.DisplayName, DisplayNameEN: area.DisplayNameEN, Fee: c.Fee, Cycle: area.Cycle}
		} else {
			st.Plan = access.Plan{Name: c.Plan, Fee: c.Fee, Allowance: c.Allowance}
		}
	}
	st.Packs, err = s.Packs(ctx, accountID, area.Name, access.Millis(s.now()))
	return st, err
}
