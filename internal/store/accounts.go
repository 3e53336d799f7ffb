package store

import (
	"context"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
)

const accountCols = `id, username, name, role, password_hash, must_change, disabled, disabled_reason, balance_fen, created_at, updated_at, sso_provider`

// AccountByUsername returns the account, with its DocFacts (which the
// other account reads leave empty), or an error wrapping access.ErrNotFound.
func (s *Store) AccountByUsername(ctx context.Context, username string) (access.Account, error) {
	var a access.Account
	err := s.db.GetContext(ctx, &a, s.db.Rebind(`SELECT `+accountCols+`, doc_facts FROM accounts WHERE username = ?`), username)
	if err != nil {
		return a, notFound(err, "account "+username)
	}
	return a, nil
}

// AccountByID returns the account, or an error wrapping access.ErrNotFound.
func (s *Store) AccountByID(ctx context.Context, id int64) (access.Account, error) {
	var a access.Account
	err := s.db.GetContext(ctx, &a, s.db.Rebind(`SELECT `+accountCols+` FROM accounts WHERE id = ?`), id)
	if err != nil {
		return a, notFound(err, fmt.Sprintf("account #%d", id))
	}
	return a, nil
}

// LockAccount reads the account inside tx with its row locked (the row every
// per-account decision serialises on).
func (s *Store) LockAccount(ctx context.Context, tx *sqlx.Tx, id int64) (access.Account, error) {
	var a access.Account
	err := tx.GetContext(ctx, &a, tx.Rebind(`SELECT `+accountCols+` FROM accounts WHERE id = ?`+s.forUpdate()), id)
	if err != nil {
		return a, notFound(err, fmt.Sprintf("account #%d", id))
	}
	return a, nil
}

// SetPasswordHash replaces an account's password hash and must-change flag.
func (s *Store) SetPasswordHash(ctx context.Context, username, hash string, mustChange bool) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE accounts SET password_hash = ?, must_change = ?, updated_at = ? WHERE username = ?`),
		hash, mustChange, access.Millis(s.now()), username)
	if err != nil {
		return fmt.Errorf("store: set password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: set password of %s: %w", username, access.ErrNotFound)
	}
	return nil
}

// ResetPassword gives an account a new password hash that must be changed
// at the next login (an operator's reset for a student who forgot the
// password), audited with the operator's reason.
func (s *Store) ResetPassword(ctx context.Context, actor, username, hash, reason string) error {
	return s.InTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE accounts SET password_hash = ?, must_change = ?, updated_at = ? WHERE username = ?`),
			hash, true, access.Millis(s.now()), username)
		if err != nil {
			return fmt.Errorf("store: reset password: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: reset password of %s: %w", username, access.ErrNotFound)
		}
		if err := s.AuditTx(ctx, tx, actor, "account.reset_password", username, reason, ""); err != nil {
			return err
		}
		return s.notifyPasswordTx(ctx, tx, username, "operator")
	})
}

// SetDisabled disables or re-enables an account, audited.
func (s *Store) SetDisabled(ctx context.Context, actor, username string, disabled bool, reason string) error {
	return s.InTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE accounts SET disabled = ?, disabled_reason = ?, updated_at = ? WHERE username = ?`),
			disabled, reason, access.Millis(s.now()), username)
		if err != nil {
			return fmt.Errorf("store: disable: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: disable %s: %w", username, access.ErrNotFound)
		}
		action := "account.enable"
		if disabled {
			action = "account.disable"
		}
		return s.AuditTx(ctx, tx, actor, action, username, reason, "")
	})
}

// ImportResult counts what an import batch did.
type ImportResult struct{ Created, Updated, Unchanged int }

// ExistingAccounts returns username → name, role, phone and disabled flag
// of every account, in one query: the import uses it to hash initial
// passwords only for new people and to leave unchanged rows untouched, and
// --disable-missing to find who is no longer listed.
func (s *Store) ExistingAccounts(ctx context.Context) (map[string]access.ExistingAccount, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT username, name, role, phone, disabled FROM accounts`)
	if err != nil {
		return nil, fmt.Errorf("store: list accounts: %w", err)
	}
	defer rows.Close()
	out := map[string]access.ExistingAccount{}
	for rows.Next() {
		var u string
		var e access.ExistingAccount
		if err := rows.Scan(&u, &e.Name, &e.Role, &e.Phone, &e.Disabled); err != nil {
			return nil, fmt.Errorf("store: list accounts: %w", err)
		}
		out[u] = e
	}
	return out, rows.Err()
}

// DocumentOwners returns doc_hash → username of every account with a
// document on record: the import refuses a document that belongs to
// someone else.
func (s *Store) DocumentOwners(ctx context.Context) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT doc_hash, username FROM accounts WHERE doc_hash IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("store: list documents: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var h, u string
		if err := rows.Scan(&h, &u); err != nil {
			return nil, fmt.Errorf("store: list documents: %w", err)
		}
		out[h] = u
	}
	return out, rows.Err()
}

// AddAccount creates one person (the service desk's `users add`) with the
// initial hash, must_change set, and an "account.add" audit row, in one
// transaction. An existing user name is an error wrapping
// access.ErrConflict; so is a document already on record, and the error
// names the account that holds it.
func (s *Store) AddAccount(ctx context.Context, actor, reason string, r access.ImportRow) error {
	if r.Username == "" || r.Hash == "" || r.DocHash == "" {
		return fmt.Errorf("store: add account: user name, hash and document required: %w", access.ErrInvalid)
	}
	return s.InTx(ctx, func(tx *sqlx.Tx) error {
		var owners []string
		err := tx.SelectContext(ctx, &owners, tx.Rebind(`SELECT username FROM accounts WHERE username = ? OR (doc_type = ? AND doc_hash = ?)`),
			r.Username, r.DocType, r.DocHash)
		if err != nil {
			return fmt.Errorf("store: add account %s: %w", r.Username, err)
		}
		switch {
		case slices.Contains(owners, r.Username):
			return fmt.Errorf("account %s already exists: %w", r.Username, access.ErrConflict)
		case len(owners) > 0:
			return fmt.Errorf("the document number already belongs to account %s: %w", owners[0], access.ErrConflict)
		}
		now := access.Millis(s.now())
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO accounts (username, name, role, phone, password_hash, must_change, doc_type, doc_hash, doc_facts, doc_tail, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, TRUE, ?, ?, ?, ?, ?, ?)`),
			r.Username, r.Name, r.Role, r.Phone, r.Hash, r.DocType, r.DocHash, r.DocFacts, nullable(r.DocTail), now, now)
		if err != nil {
			return fmt.Errorf("store: add account %s: %w", r.Username, err)
		}
		return s.AuditTx(ctx, tx, actor, "account.add", r.Username, reason, "document type "+r.DocType)
	})
}

// ImportAccounts upserts a batch in one transaction: new accounts get their
// initial hash with must_change set; existing ones get name, role and phone
// updated and keep their password.
func (s *Store) ImportAccounts(ctx context.Context, batch []access.ImportRow) (ImportResult, error) {
	var res ImportResult
	err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		res = ImportResult{}
		now := access.Millis(s.now())
		q := tx.Rebind(`INSERT INTO accounts (username, name, role, phone, password_hash, must_change, doc_type, doc_hash, doc_facts, doc_tail, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, TRUE, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (username) DO UPDATE SET name = excluded.name, role = excluded.role, phone = excluded.phone, updated_at = excluded.updated_at
			WHERE accounts.name <> excluded.name OR accounts.role <> excluded.role OR accounts.phone <> excluded.phone`)
		stmt, err := tx.PreparexContext(ctx, q)
		if err != nil {
			return fmt.Errorf("store: import: %w", err)
		}
		defer stmt.Close()
		for _, r := range batch {
			if r.Username == "" {
				return fmt.Errorf("store: import: empty user name: %w", access.ErrInvalid)
			}
			var docHash any // NULL: no document on record, unique otherwise
			if r.DocHash != "" {
				docHash = r.DocHash
			}
			out, err := stmt.ExecContext(ctx, r.Username, r.Name, r.Role, r.Phone, r.Hash, r.DocType, docHash, r.DocFacts, nullable(r.DocTail), now, now)
			if err != nil {
				return fmt.Errorf("store: import %s: %w", r.Username, err)
			}
			n, _ := out.RowsAffected()
			switch {
			case n == 0:
				res.Unchanged++
			case r.Hash != "":
				res.Created++
			default:
				res.Updated++
			}
		}
		return nil
	})
	return res, err
}

// EnsureAccount creates the account if it does not exist (the demo seed) and
// returns it; an existing account is returned as it is.
func (s *Store) EnsureAccount(ctx context.Context, a access.Account) (access.Account, bool, error) {
	now := access.Millis(s.now())
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO accounts (username, name, role, password_hash, must_change, sso_provider, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING`),
		a.Username, a.Name, a.Role, a.PasswordHash, a.MustChange, a.SSOProvider, now, now)
	if err != nil {
		return a, false, fmt.Errorf("store: ensure account %s: %w", a.Username, err)
	}
	n, _ := res.RowsAffected()
	got, err := s.AccountByUsername(ctx, a.Username)
	return got, n > 0, err
}

// OpenAccount creates the account if it does not exist and, when it is new
// and opening is not zero, records its opening balance as a recharge with
// the given reference — in one transaction, so a crash never leaves a new
// account without the balance it was opened with. An existing account is
// returned as it is, with created false.
func (s *Store) OpenAccount(ctx context.Context, a access.Account, opening access.Fen, actor, reference, reason string) (access.Account, bool, error) {
	var got access.Account
	var created bool
	err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		now := access.Millis(s.now())
		var ids []int64
		err := tx.SelectContext(ctx, &ids, tx.Rebind(`INSERT INTO accounts (username, name, role, password_hash, must_change, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING RETURNING id`),
			a.Username, a.Name, a.Role, a.PasswordHash, a.MustChange, now, now)
		if err != nil {
			return fmt.Errorf("store: open account %s: %w", a.Username, err)
		}
		created = len(ids) == 1
		if created && opening != 0 {
			acc, err := s.LockAccount(ctx, tx, ids[0])
			if err != nil {
				return err
			}
			if _, err := s.AddLedgerTx(ctx, tx, &acc, access.LedgerRecharge, opening, actor, reference, reason); err != nil {
				return err
			}
		}
		got, err = s.accountByUsernameTx(ctx, tx, a.Username)
		return err
	})
	return got, created, err
}

func (s *Store) accountByUsernameTx(ctx context.Context, tx *sqlx.Tx, username string) (access.Account, error) {
	var a access.Account
	err := tx.GetContext(ctx, &a, tx.Rebind(`SELECT `+accountCols+` FROM accounts WHERE username = ?`), username)
	if err != nil {
		return a, notFound(err, "account "+username)
	}
	return a, nil
}

// AddLedgerTx changes an account's balance by amount inside tx, with the
// ledger row that records it. The caller holds the account row lock (it read
// it with LockAccount) and has checked its rules; AddLedgerTx only keeps
// balance == sum(ledger). A repeated (kind, reference) returns access.ErrDuplicate
// and the transaction must be rolled back.
func (s *Store) AddLedgerTx(ctx context.Context, tx *sqlx.Tx, a *access.Account, kind access.LedgerKind, amount access.Fen, actor, reference, reason string) (access.LedgerEntry, error) {
	now := access.Millis(s.now())
	after := a.Balance + amount
	e := access.LedgerEntry{AccountID: a.ID, Kind: kind, Amount: amount, BalanceAfter: after, Actor: actor, Reference: reference, Reason: reason, CreatedAt: now}
	var id int64
	err := tx.QueryRowxContext(ctx, tx.Rebind(`INSERT INTO ledger (account_id, kind, amount_fen, balance_after_fen, actor, reference, reason, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`), a.ID, kind, amount, after, actor, reference, reason, now).Scan(&id)
	if err != nil {
		if IsUniqueViolation(err) {
			return e, fmt.Errorf("store: ledger %s %s: %w", kind, reference, access.ErrDuplicate)
		}
		return e, fmt.Errorf("store: ledger: %w", err)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE accounts SET balance_fen = ?, updated_at = ? WHERE id = ?`), after, now, a.ID); err != nil {
		return e, fmt.Errorf("store: balance: %w", err)
	}
	a.Balance = after
	e.ID = id
	return e, nil
}

// AuditTx records an operator action inside tx.
func (s *Store) AuditTx(ctx context.Context, tx *sqlx.Tx, actor, action, target, reason, detail string) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO audit_log (at, actor, action, target, reason, detail) VALUES (?, ?, ?, ?, ?, ?)`),
		access.Millis(s.now()), actor, action, target, reason, detail)
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// Audit records an operator action.
func (s *Store) Audit(ctx context.Context, actor, action, target, reason, detail string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO audit_log (at, actor, action, target, reason, detail) VALUES (?, ?, ?, ?, ?, ?)`),
		access.Millis(s.now()), actor, action, target, reason, detail)
	if err != nil {
		return fmt.Errorf("store: audit: %w", err)
	}
	return nil
}

// AuditLog returns the newest audit entries, optionally for one target.
func (s *Store) AuditLog(ctx context.Context, target string, limit int) ([]access.AuditEntry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var out []access.AuditEntry
	var err error
	if target == "" {
		err = s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT id, at, actor, action, target, reason, detail FROM audit_log ORDER BY id DESC LIMIT ?`), limit)
	} else {
		err = s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT id, at, actor, action, target, reason, detail FROM audit_log WHERE target = ? ORDER BY id DESC LIMIT ?`), target, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("store: audit log: %w", err)
	}
	return out, nil
}
