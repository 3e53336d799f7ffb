package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
)

const cycleCols = `id, account_id, area, fee_fen, started_at, ends_at, status, settled_at, plan, allowance_bytes, used_bytes, charged_gb, profile`

// ActiveCycleTx returns the account's active cycle in area, or an error
// wrapping access.ErrNotFound when there is none.
func (s *Store) ActiveCycleTx(ctx context.Context, tx *sqlx.Tx, accountID int64, area string) (access.Cycle, error) {
	var c access.Cycle
	err := tx.GetContext(ctx, &c, tx.Rebind(`SELECT `+cycleCols+` FROM cycles WHERE account_id = ? AND area = ? AND status = 'active'`), accountID, area)
	if err != nil {
		return c, notFound(err, fmt.Sprintf("active cycle of account #%d in %s", accountID, area))
	}
	return c, nil
}

// StartCycleTx starts a cycle of acc in area at s.Now(), ending length later,
// when the account has no active cycle there and its balance covers fee
// (started = true). When a cycle is already active it is returned with
// started = false. When there is none and the balance is below the fee, it
// returns the zero Cycle (ID 0), started = false and no error: the caller
// decides what to do (RADIUS refuses such logins before they get here).
//
// It locks the account row itself and refreshes *acc from it, so the
// balance it checks is the committed one.
func (s *Store) StartCycleTx(ctx context.Context, tx *sqlx.Tx, acc *access.Account, area string, fee access.Fen, length time.Duration) (access.Cycle, bool, error) {
	if fee <= 0 || length <= 0 {
		return access.Cycle{}, false, fmt.Errorf("store: start cycle in %s: fee %s, length %s: %w", area, fee, length, access.ErrInvalid)
	}
	locked, err := s.LockAccount(ctx, tx, acc.ID)
	if err != nil {
		return access.Cycle{}, false, err
	}
	*acc = locked
	c, err := s.ActiveCycleTx(ctx, tx, acc.ID, area)
	if err == nil {
		return c, false, nil
	}
	if !errors.Is(err, access.ErrNotFound) {
		return c, false, err
	}
	if acc.Balance < fee {
		return access.Cycle{}, false, nil
	}
	c, err = s.InsertCycleTx(ctx, tx, acc.ID, area, fee, s.now(), length)
	if err != nil {
		return c, false, err
	}
	return c, true, nil
}

// InsertCycleTx inserts an active cycle from start to start+length. The
// caller holds the account lock and has checked there is no active cycle
// (the partial unique index refuses a second one: access.ErrDuplicate).
func (s *Store) InsertCycleTx(ctx context.Context, tx *sqlx.Tx, accountID int64, area string, fee access.Fen, start time.Time, length time.Duration) (access.Cycle, error) {
	c := access.Cycle{AccountID: accountID, Area: area, Fee: fee, StartedAt: access.Millis(start),
		EndsAt: access.Millis(start.Add(length)), Status: access.CycleActive}
	err := tx.QueryRowxContext(ctx, tx.Rebind(`INSERT INTO cycles (account_id, area, fee_fen, started_at, ends_at, status)
		VALUES (?, ?, ?, ?, ?, 'active') RETURNING id`), c.AccountID, c.Area, c.Fee, c.StartedAt, c.EndsAt).Scan(&c.ID)
	if err != nil {
		if IsUniqueViolation(err) {
			return c, fmt.Errorf("store: start cycle of account #%d in %s: %w", accountID, area, access.ErrDuplicate)
		}
		return c, fmt.Errorf("store: start cycle: %w", err)
	}
	return c, nil
}

// CycleByIDTx reads one cycle inside tx.
func (s *Store) CycleByIDTx(ctx context.Context, tx *sqlx.Tx, id int64) (access.Cycle, error) {
	var c access.Cycle
	err := tx.GetContext(ctx, &c, tx.Rebind(`SELECT `+cycleCols+` FROM cycles WHERE id = ?`), id)
	if err != nil {
		return c, notFound(err, fmt.Sprintf("cycle #%d", id))
	}
	return c, nil
}

// MarkCycleSettledTx marks an active cycle settled by ledger row ledgerID. It
// returns an error wrapping access.ErrDuplicate when the cycle is no longer active.
func (s *Store) MarkCycleSettledTx(ctx context.Context, tx *sqlx.Tx, id, ledgerID int64) error {
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE cycles SET status = 'settled', settled_at = ?, ledger_id = ? WHERE id = ? AND status = 'active'`),
		access.Millis(s.now()), ledgerID, id)
	if err != nil {
		return fmt.Errorf("store: settle cycle #%d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: settle cycle #%d: not active: %w", id, access.ErrDuplicate)
	}
	return nil
}

// CommittedTx is the sum of the fees of the account's active cycles: the
// part of the balance a refund or withdrawal may not touch.
func (s *Store) CommittedTx(ctx context.Context, tx *sqlx.Tx, accountID int64) (access.Fen, error) {
	var f access.Fen
	err := tx.GetContext(ctx, &f, tx.Rebind(`SELECT CAST(COALESCE(SUM(fee_fen), 0) AS BIGINT) FROM cycles WHERE account_id = ? AND status = 'active'`), accountID)
	if err != nil {
		return 0, fmt.Errorf("store: committed fee: %w", err)
	}
	return f, nil
}

// Committed is CommittedTx outside a transaction.
func (s *Store) Committed(ctx context.Context, accountID int64) (access.Fen, error) {
	var f access.Fen
	err := s.db.GetContext(ctx, &f, s.db.Rebind(`SELECT CAST(COALESCE(SUM(fee_fen), 0) AS BIGINT) FROM cycles WHERE account_id = ? AND status = 'active'`), accountID)
	if err != nil {
		return 0, fmt.Errorf("store: committed fee: %w", err)
	}
	return f, nil
}

// DueCycles returns up to limit active cycles whose settlement date is at or
// before now, with id > afterID, oldest id first (for batching).
func (s *Store) DueCycles(ctx context.Context, now time.Time, afterID int64, limit int) ([]access.Cycle, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []access.Cycle
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT `+cycleCols+` FROM cycles
		WHERE status = 'active' AND ends_at <= ? AND id > ? ORDER BY id LIMIT ?`), access.Millis(now), afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: due cycles: %w", err)
	}
	return out, nil
}

// CyclesByAccount returns the account's cycles, newest first.
func (s *Store) CyclesByAccount(ctx context.Context, accountID int64, limit int) ([]access.Cycle, error) {
	if limit <= 0 || limit > 1000 {
		limit = 20
	}
	var out []access.Cycle
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT `+cycleCols+` FROM cycles WHERE account_id = ? ORDER BY id DESC LIMIT ?`), accountID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: cycles: %w", err)
	}
	return out, nil
}

const ledgerCols = `id, account_id, kind, amount_fen, balance_after_fen, actor, reference, reason, created_at`

// LedgerByAccount returns the account's newest ledger rows, newest first.
func (s *Store) LedgerByAccount(ctx context.Context, accountID int64, limit int) ([]access.LedgerEntry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 20
	}
	var out []access.LedgerEntry
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT `+ledgerCols+` FROM ledger WHERE account_id = ? ORDER BY id DESC LIMIT ?`), accountID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: ledger: %w", err)
	}
	return out, nil
}

// LedgerByReference returns the ledger row of (kind, reference).
func (s *Store) LedgerByReference(ctx context.Context, kind access.LedgerKind, reference string) (access.LedgerEntry, error) {
	var e access.LedgerEntry
	err := s.db.GetContext(ctx, &e, s.db.Rebind(`SELECT `+ledgerCols+` FROM ledger WHERE kind = ? AND reference = ?`), kind, reference)
	if err != nil {
		return e, notFound(err, "ledger "+string(kind)+" "+reference)
	}
	return e, nil
}

// LiveSessionsInAreaTx returns the account's sessions in area that are
// reserved or online and were heard of at or after freshSince (older ones are
// stale and left to the reaper).
func (s *Store) LiveSessionsInAreaTx(ctx context.Context, tx *sqlx.Tx, accountID int64, area string, freshSince time.Time) ([]access.BillingSession, error) {
	f := access.Millis(freshSince)
	var out []access.BillingSession
	err := tx.SelectContext(ctx, &out, tx.Rebind(`SELECT id, nas, mac, ip, status FROM sessions
		WHERE account_id = ? AND area = ? AND status IN ('reserved', 'online')
		  AND (last_update_at >= ? OR started_at >= ? OR reserved_at >= ?) ORDER BY id`), accountID, area, f, f, f)
	if err != nil {
		return nil, fmt.Errorf("store: live sessions: %w", err)
	}
	return out, nil
}

// InsertPaymentOrderTx records a payment order; a repeated order id returns
// an error wrapping access.ErrDuplicate.
func (s *Store) InsertPaymentOrderTx(ctx context.Context, tx *sqlx.Tx, o access.PaymentOrder) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO payment_orders (order_id, account_id, amount_fen, paid_at, ledger_id, received_at)
		VALUES (?, ?, ?, ?, ?, ?)`), o.OrderID, o.AccountID, o.Amount, o.PaidAt, o.LedgerID, o.ReceivedAt)
	if err != nil {
		if IsUniqueViolation(err) {
			return fmt.Errorf("store: payment order %q: %w", o.OrderID, access.ErrDuplicate)
		}
		return fmt.Errorf("store: payment order: %w", err)
	}
	return nil
}

// PaymentOrderByID returns a recorded payment order.
func (s *Store) PaymentOrderByID(ctx context.Context, orderID string) (access.PaymentOrder, error) {
	var o access.PaymentOrder
	err := s.db.GetContext(ctx, &o, s.db.Rebind(`SELECT order_id, account_id, amount_fen, paid_at, ledger_id, received_at FROM payment_orders WHERE order_id = ?`), orderID)
	if err != nil {
		return o, notFound(err, "payment order "+orderID)
	}
	return o, nil
}

// LedgerByID returns one ledger row.
func (s *Store) LedgerByID(ctx context.Context, id int64) (access.LedgerEntry, error) {
	var e access.LedgerEntry
	err := s.db.GetContext(ctx, &e, s.db.Rebind(`SELECT `+ledgerCols+` FROM ledger WHERE id = ?`), id)
	if err != nil {
		return e, notFound(err, fmt.Sprintf("ledger #%d", id))
	}
	return e, nil
}

// UncoveredSessions finds the online sessions (heard of at or after
// freshSince) in area whose account has no active cycle there. RADIUS starts
// the cycle in the Accounting-Start's own transaction, so there should be
// none: they are left by a disconnect that never happened (a crash after the
// settlement's commit, no RADIUS on the settling node) or by a race with
// the settlement. Ordered by account.
func (s *Store) UncoveredSessions(ctx context.Context, area string, freshSince time.Time, limit int) ([]access.UncoveredSession, error) {
	if limit <= 0 {
		limit = 500
	}
	f := access.Millis(freshSince)
	var out []access.UncoveredSession
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT s.id, s.nas, s.mac, s.ip, s.status, s.account_id, a.username, a.balance_fen
		FROM sessions s JOIN accounts a ON a.id = s.account_id
		WHERE s.area = ? AND s.status = 'online' AND s.last_update_at >= 0
		  AND (s.last_update_at >= ? OR s.started_at >= ?)
		  AND NOT EXISTS (SELECT 1 FROM cycles c WHERE c.account_id = s.account_id AND c.area = s.area AND c.status = 'active')
		ORDER BY s.account_id, s.id LIMIT ?`), area, f, f, limit)
	if err != nil {
		return nil, fmt.Errorf("store: sessions without a cycle: %w", err)
	}
	return out, nil
}

// CheckBilling checks every account's balance against its ledger, the
// ledger's running balance, that every settled cycle has exactly one fee row
// (and active ones none), and that no balance is below its committed fees.
func (s *Store) CheckBilling(ctx context.Context) ([]access.BillingProblem, error) {
	var out []access.BillingProblem
	add := func(id int64, user, kind, format string, args ...any) {
		out = append(out, access.BillingProblem{AccountID: id, Username: user, Kind: kind, Detail: fmt.Sprintf(format, args...)})
	}

	// 1. balance == sum(ledger).
	var sums []struct {
		ID       int64      `db:"id"`
		Username string     `db:"username"`
		Balance  access.Fen `db:"balance_fen"`
		Sum      access.Fen `db:"ledger_sum"`
	}
	err := s.db.SelectContext(ctx, &sums, `SELECT a.id, a.username, a.balance_fen,
		CAST(COALESCE((SELECT SUM(l.amount_fen) FROM ledger l WHERE l.account_id = a.id), 0) AS BIGINT) AS ledger_sum
		FROM accounts a ORDER BY a.id`)
	if err != nil {
		return nil, fmt.Errorf("store: check balances: %w", err)
	}
	users := make(map[int64]string, len(sums))
	for _, r := range sums {
		users[r.ID] = r.Username
		if r.Balance != r.Sum {
			add(r.ID, r.Username, access.ProblemBalanceMismatch, "balance %s yuan, ledger sums to %s yuan", r.Balance, r.Sum)
		}
	}

	// 2. The running balance of each account's ledger.
	rows, err := s.db.QueryxContext(ctx, `SELECT id, account_id, amount_fen, balance_after_fen FROM ledger ORDER BY account_id, id`)
	if err != nil {
		return nil, fmt.Errorf("store: check ledger: %w", err)
	}
	var (
		curAcc  int64 = -1
		running access.Fen
		broken  bool
	)
	for rows.Next() {
		var id, acc int64
		var amount, after access.Fen
		if err := rows.Scan(&id, &acc, &amount, &after); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: check ledger: %w", err)
		}
		if acc != curAcc {
			curAcc, running, broken = acc, 0, false
		}
		running += amount
		if after != running && !broken {
			add(acc, users[acc], access.ProblemLedgerChain, "ledger row #%d: balance after %s yuan, running sum %s yuan", id, after, running)
			broken = true // one report per account is enough
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: check ledger: %w", err)
	}

	// 3. Cycles and their fee rows.
	var cycles []struct {
		access.Cycle
		LedgerID *int64 `db:"ledger_id"`
	}
	if err := s.db.SelectContext(ctx, &cycles, `SELECT `+cycleCols+`, ledger_id FROM cycles ORDER BY id`); err != nil {
		return nil, fmt.Errorf("store: check cycles: %w", err)
	}
	var fees []access.LedgerEntry
	if err := s.db.SelectContext(ctx, &fees, s.db.Rebind(`SELECT `+ledgerCols+` FROM ledger WHERE kind = ? ORDER BY id`), access.LedgerCycleFee); err != nil {
		return nil, fmt.Errorf("store: check cycle fees: %w", err)
	}
	feeByRef := map[string][]access.LedgerEntry{}
	for _, f := range fees {
		feeByRef[f.Reference] = append(feeByRef[f.Reference], f)
	}
	seen := map[string]bool{}
	for _, c := range cycles {
		ref := access.CycleFeeReference(c.ID)
		seen[ref] = true
		got := feeByRef[ref]
		switch {
		case c.Status == access.CycleSettled && len(got) == 0:
			add(c.AccountID, users[c.AccountID], access.ProblemSettledNoFee, "cycle #%d in %s settled without a fee row", c.ID, c.Area)
		case len(got) > 1:
			add(c.AccountID, users[c.AccountID], access.ProblemFeeMismatch, "cycle #%d charged %d times", c.ID, len(got))
		case c.Status == access.CycleActive && len(got) == 1:
			add(c.AccountID, users[c.AccountID], access.ProblemActiveWithFee, "cycle #%d is active but charged by ledger row #%d", c.ID, got[0].ID)
		case c.Status == access.CycleSettled:
			f := got[0]
			if f.Amount != -c.Fee || f.AccountID != c.AccountID || c.LedgerID == nil || *c.LedgerID != f.ID {
				add(c.AccountID, users[c.AccountID], access.ProblemFeeMismatch, "cycle #%d (fee %s yuan) and its fee row #%d (%s yuan, account #%d) disagree",
					c.ID, c.Fee, f.ID, f.Amount, f.AccountID)
			}
		}
	}
	for _, f := range fees {
		if !seen[f.Reference] {
			add(f.AccountID, users[f.AccountID], access.ProblemOrphanFee, "ledger row #%d (%s) names no cycle", f.ID, f.Reference)
		}
	}

	// 4. No balance below its committed fees.
	var below []struct {
		ID        int64      `db:"id"`
		Username  string     `db:"username"`
		Balance   access.Fen `db:"balance_fen"`
		Committed access.Fen `db:"committed"`
	}
	err = s.db.SelectContext(ctx, &below, `SELECT a.id, a.username, a.balance_fen, CAST(SUM(c.fee_fen) AS BIGINT) AS committed
		FROM accounts a JOIN cycles c ON c.account_id = a.id AND c.status = 'active'
		GROUP BY a.id, a.username, a.balance_fen
		HAVING a.balance_fen < SUM(c.fee_fen) ORDER BY a.id`)
	if err != nil {
		return nil, fmt.Errorf("store: check committed: %w", err)
	}
	for _, r := range below {
		add(r.ID, r.Username, access.ProblemBelowCommitted, "balance %s yuan is below the committed cycle fee %s yuan", r.Balance, r.Committed)
	}

	// 5. Traffic: usage and per-GB charges (checkTraffic).
	if err := s.checkTraffic(ctx, users, add); err != nil {
		return nil, err
	}
	// 6. Packs and their ledger rows (packs.go).
	if err := s.checkPacks(ctx, users, add); err != nil {
		return nil, err
	}
	return out, nil
}
