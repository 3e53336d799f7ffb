package store

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
)

// Devices: what campusnet knows of one (account, MAC), and whether the MAC
// may authenticate by itself (bound). A MAC is bound to at most one account
// (the devices_bound_mac partial unique index).

const deviceCols = `id, account_id, mac, class, signals, bound, bound_by, last_seen_at, created_at`

// DevicesByAccount returns the account's devices, bound ones first, then the
// most recently seen.
func (s *Store) DevicesByAccount(ctx context.Context, accountID int64) ([]access.Device, error) {
	var out []access.Device
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT `+deviceCols+` FROM devices WHERE account_id = ?
		ORDER BY bound DESC, last_seen_at DESC, id`), accountID)
	if err != nil {
		return nil, fmt.Errorf("store: devices of account #%d: %w", accountID, err)
	}
	return out, nil
}

// BoundDeviceByMAC returns the device row that binds mac (canonical form),
// or an error wrapping access.ErrNotFound.
func (s *Store) BoundDeviceByMAC(ctx context.Context, mac string) (access.Device, error) {
	var d access.Device
	err := s.db.GetContext(ctx, &d, s.db.Rebind(`SELECT `+deviceCols+` FROM devices WHERE mac = ? AND bound`), mac)
	if err != nil {
		return d, notFound(err, "bound device "+mac)
	}
	return d, nil
}

// BindDevice binds mac (already canonical) to the account so it may log in
// by MAC authentication, with class (pc, mobile or unknown; "" keeps what is
// known) and the actor's name as bound_by; audited with reason. The error wraps
// access.ErrConflict when the MAC is bound to another account or the account
// already has maxBound bound devices (0 = no limit), access.ErrInvalid for a
// bad class, access.ErrNotFound for an unknown account. Binding a MAC that is
// already the account's is not an error (the class is updated).
func (s *Store) BindDevice(ctx context.Context, accountID int64, mac string, class access.Class, actor, reason string, maxBound int) (access.Device, error) {
	switch class {
	case "", access.ClassPC, access.ClassMobile, access.ClassUnknown:
	default:
		return access.Device{}, fmt.Errorf("store: bind %s: class %q (want pc, mobile or unknown): %w", mac, class, access.ErrInvalid)
	}
	if canon, err := access.NormalizeMAC(mac); err != nil || canon != mac {
		return access.Device{}, fmt.Errorf("store: bind %q: not a canonical MAC: %w", mac, access.ErrInvalid)
	}
	var d access.Device
	err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		acc, err := s.LockAccount(ctx, tx, accountID)
		if err != nil {
			return err
		}
		var bound []access.Device
		if err := tx.SelectContext(ctx, &bound, tx.Rebind(`SELECT `+deviceCols+` FROM devices
			WHERE bound AND (account_id = ? OR mac = ?)`), accountID, mac); err != nil {
			return fmt.Errorf("store: bind %s: %w", mac, err)
		}
		n := 0
		for _, b := range bound {
			if b.MAC == mac && b.AccountID != accountID {
				return fmt.Errorf("store: bind %s: bound to another account (#%d): %w", mac, b.AccountID, access.ErrConflict)
			}
			if b.AccountID == accountID && b.MAC != mac {
				n++
			}
		}
		if maxBound > 0 && n >= maxBound {
			return fmt.Errorf("store: bind %s: %s already has %d bound devices (the most allowed): %w", mac, acc.Username, n, access.ErrConflict)
		}
		now := access.Millis(s.now())
		newClass := class
		if newClass == "" {
			newClass = access.ClassUnknown
		}
		err = tx.GetContext(ctx, &d, tx.Rebind(`INSERT INTO devices (account_id, mac, class, bound, bound_by, created_at)
			VALUES (?, ?, ?, TRUE, ?, ?)
			ON CONFLICT (account_id, mac) DO UPDATE SET bound = TRUE, bound_by = excluded.bound_by,
				class = CASE WHEN ? = '' THEN devices.class ELSE excluded.class END
			RETURNING `+deviceCols), accountID, mac, newClass, actor, now, class)
		if err != nil {
			if IsUniqueViolation(err) {
				return fmt.Errorf("store: bind %s: bound to another account: %w", mac, access.ErrConflict)
			}
			return fmt.Errorf("store: bind %s: %w", mac, err)
		}
		return s.AuditTx(ctx, tx, actor, "device.bind", acc.Username, reason, fmt.Sprintf("mac=%s class=%s", mac, d.Class))
	})
	return d, err
}

// UnbindDevice stops mac (canonical) from logging in by MAC authentication.
// accountID 0 means whichever account it is bound to. It is audited with the
// actor and reason, and returns the device as it was. The error wraps
// access.ErrNotFound when the MAC is not bound (to that account).
func (s *Store) UnbindDevice(ctx context.Context, accountID int64, mac, actor, reason string) (access.Device, error) {
	var d access.Device
	err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		q := `UPDATE devices SET bound = FALSE WHERE mac = ? AND bound`
		args := []any{mac}
		if accountID != 0 {
			q += ` AND account_id = ?`
			args = append(args, accountID)
		}
		if err := tx.GetContext(ctx, &d, tx.Rebind(q+` RETURNING `+deviceCols), args...); err != nil {
			return notFound(err, "bound device "+mac)
		}
		var user string
		if err := tx.GetContext(ctx, &user, tx.Rebind(`SELECT username FROM accounts WHERE id = ?`), d.AccountID); err != nil {
			return notFound(err, fmt.Sprintf("account #%d", d.AccountID))
		}
		d.Bound = true // as it was
		if err := s.AuditTx(ctx, tx, actor, "device.unbind", user, reason, "mac="+mac); err != nil {
			return err
		}
		return s.notifyUnbindTx(ctx, tx, d, user, actor)
	})
	return d, err
}
