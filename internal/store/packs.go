package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
)

// The purchase side of packs (billing.BuyPack) and their checks in
// CheckBilling; the reads are in plans.go.

// SetPackReferenceTx records the purchase's idempotency key on a pack just
// inserted. A key the account used before returns an error wrapping
// access.ErrDuplicate (the unique index packs_reference, migration 00116):
// the caller rolls back and the purchase happens once.
func (s *Store) SetPackReferenceTx(ctx context.Context, tx *sqlx.Tx, packID int64, reference string) error {
	if reference == "" {
		return fmt.Errorf("store: pack #%d: empty reference: %w", packID, access.ErrInvalid)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE packs SET reference = ? WHERE id = ?`), reference, packID); err != nil {
		if IsUniqueViolation(err) {
			return fmt.Errorf("store: pack reference %s: %w", reference, access.ErrDuplicate)
		}
		return fmt.Errorf("store: pack #%d: %w", packID, err)
	}
	return nil
}

// PackByReferenceTx returns the account's pack bought with reference, or an
// error wrapping access.ErrNotFound.
func (s *Store) PackByReferenceTx(ctx context.Context, tx *sqlx.Tx, accountID int64, reference string) (access.PackHeld, error) {
	var p access.PackHeld
	err := tx.GetContext(ctx, &p, tx.Rebind(`SELECT `+packCols+` FROM packs WHERE account_id = ? AND reference = ?`), accountID, reference)
	if err != nil {
		return p, notFound(err, fmt.Sprintf("pack %s of account #%d", reference, accountID))
	}
	return p, nil
}

// checkPacks is CheckBilling's part for packs: every pack ledger row pays
// for one pack of its account at its price, linked both ways, and every
// pack has that row.
func (s *Store) checkPacks(ctx context.Context, users map[int64]string, add func(id int64, user, kind, format string, args ...any)) error {
	var packs []access.PackHeld
	if err := s.db.SelectContext(ctx, &packs, `SELECT `+packCols+` FROM packs ORDER BY id`); err != nil {
		return fmt.Errorf("store: check packs: %w", err)
	}
	var rows []access.LedgerEntry
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT `+ledgerCols+` FROM ledger WHERE kind = ? ORDER BY id`), access.LedgerPack); err != nil {
		return fmt.Errorf("store: check pack ledger rows: %w", err)
	}
	byRef := map[string][]access.LedgerEntry{}
	for _, e := range rows {
		byRef[e.Reference] = append(byRef[e.Reference], e)
	}
	seen := map[string]bool{}
	for _, p := range packs {
		ref := access.PackReference(p.ID)
		seen[ref] = true
		got := byRef[ref]
		switch {
		case len(got) == 0:
			add(p.AccountID, users[p.AccountID], access.ProblemPackNoLedger, "pack #%d (%s in %s, %s yuan) has no ledger row %s", p.ID, p.Name, p.Area, p.Price, ref)
		case len(got) > 1:
			add(p.AccountID, users[p.AccountID], access.ProblemPackMismatch, "pack #%d charged %d times", p.ID, len(got))
		default:
			e := got[0]
			if e.Amount != -p.Price || e.AccountID != p.AccountID || p.LedgerID != e.ID {
				add(p.AccountID, users[p.AccountID], access.ProblemPackMismatch, "pack #%d (%s yuan, account #%d, ledger_id %d) and its ledger row #%d (%s yuan, account #%d) disagree",
					p.ID, p.Price, p.AccountID, p.LedgerID, e.ID, e.Amount, e.AccountID)
			}
		}
	}
	for _, e := range rows {
		if !seen[e.Reference] {
			add(e.AccountID, users[e.AccountID], access.ProblemOrphanPackFee, "ledger row #%d (%s, %s yuan) names no pack", e.ID, e.Reference, e.Amount)
		}
	}
	return nil
}
