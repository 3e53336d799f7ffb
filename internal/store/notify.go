package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
)

// AddNotificationTx records an event for the outbound webhook in the
// transaction of what caused it: written once per key (a second call with
// the same key, from a retried transaction or another node, adds nothing
// and reports added = false). data is the event's "data" object. The
// payload is built here, so every event has the same shape:
//
//	{"id": 42, "event": "allowance_80", "account": "2026001", "at": "2026-12-04T10:00:00+08:00", "data": {…}}
func (s *Store) AddNotificationTx(ctx context.Context, tx *sqlx.Tx, event, key string, acc access.Account, data map[string]any) (added bool, err error) {
	if event == "" || key == "" || acc.ID == 0 {
		return false, fmt.Errorf("store: notification %q %q of account #%d: %w", event, key, acc.ID, access.ErrInvalid)
	}
	now := s.now()
	var ids []int64
	err = tx.SelectContext(ctx, &ids, tx.Rebind(`INSERT INTO notifications (event, dedup_key, account_id, payload, created_at, next_at)
		VALUES (?, ?, ?, '', ?, ?) ON CONFLICT (dedup_key) DO NOTHING RETURNING id`), event, key, acc.ID, access.Millis(now), access.Millis(now))
	if err != nil {
		return false, fmt.Errorf("store: notification %s: %w", event, err)
	}
	if len(ids) == 0 {
		return false, nil
	}
	if data == nil {
		data = map[string]any{}
	}
	body, err := json.Marshal(struct {
		ID      int64          `json:"id"`
		Event   string         `json:"event"`
		Account string         `json:"account"`
		At      string         `json:"at"`
		Data    map[string]any `json:"data"`
	}{ids[0], event, acc.Username, now.In(s.loc).Format(time.RFC3339), data})
	if err != nil {
		return false, fmt.Errorf("store: notification %s: %w", event, err)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE notifications SET payload = ? WHERE id = ?`), string(body), ids[0]); err != nil {
		return false, fmt.Errorf("store: notification %s: %w", event, err)
	}
	return true, nil
}

// notificationCols are the columns of access.Notification.
const notificationCols = `id, event, dedup_key, account_id, payload, created_at, next_at, attempts, status, delivered_at, last_error`

// ClaimNotifications takes up to limit pending events that are due at now
// for one sender: in one transaction it selects them (PostgreSQL: FOR
// UPDATE SKIP LOCKED, so senders on other nodes pass over them; SQLite:
// BEGIN IMMEDIATE has one writer) and moves their next_at to now + lease,
// so no other sender takes them while this one delivers. The returned rows
// carry the leased next_at: FinishNotification takes it back as the claim.
// A sender that dies leaves them to be claimed again when the lease ends.
func (s *Store) ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]access.Notification, error) {
	if limit <= 0 {
		limit = 50
	}
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var out []access.Notification
	err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		out = nil
		if err := tx.SelectContext(ctx, &out, tx.Rebind(`SELECT `+notificationCols+` FROM notifications
			WHERE status = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT ?`+lock), access.Millis(now), limit); err != nil {
			return fmt.Errorf("store: claim notifications: %w", err)
		}
		until := access.Millis(now.Add(lease))
		for i := range out {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE notifications SET next_at = ? WHERE id = ?`), until, out[i].ID); err != nil {
				return fmt.Errorf("store: claim notification #%d: %w", out[i].ID, err)
			}
			out[i].NextAt = until
		}
		return nil
	})
	return out, err
}

// NotificationOutcome is what one delivery attempt of a claimed event came to.
type NotificationOutcome struct {
	Delivered bool
	// When not delivered: Failed leaves the event for good (max_attempts
	// reached), otherwise it is tried again at NextAt. Error is kept as
	// last_error.
	Failed bool
	NextAt time.Time
	Error  string
}

// FinishNotification records the outcome of an attempt on an event claimed
// with ClaimNotifications (claim is the next_at it returned): delivered, or
// one more attempt with its error and the next try (or failed). It reports
// false, changing nothing, when the claim is no longer held (the lease ran
// out and another sender took the event, or the NOC retried it).
func (s *Store) FinishNotification(ctx context.Context, id, claim int64, o NotificationOutcome) (bool, error) {
	now := access.Millis(s.now())
	var q string
	var args []any
	switch {
	case o.Delivered:
		q, args = `UPDATE notifications SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, last_error = ''
			WHERE id = ? AND status = 'pending' AND next_at = ?`, []any{now, id, claim}
	case o.Failed:
		q, args = `UPDATE notifications SET status = 'failed', attempts = attempts + 1, last_error = ?
			WHERE id = ? AND status = 'pending' AND next_at = ?`, []any{o.Error, id, claim}
	default:
		q, args = `UPDATE notifications SET attempts = attempts + 1, next_at = ?, last_error = ?
			WHERE id = ? AND status = 'pending' AND next_at = ?`, []any{access.Millis(o.NextAt), o.Error, id, claim}
	}
	res, err := s.db.ExecContext(ctx, s.db.Rebind(q), args...)
	if err != nil {
		return false, fmt.Errorf("store: finish notification #%d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// PendingNotifications counts the events not yet delivered nor failed.
func (s *Store) PendingNotifications(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM notifications WHERE status = 'pending'`); err != nil {
		return 0, fmt.Errorf("store: count notifications: %w", err)
	}
	return n, nil
}

// NotificationFilter selects events for Notifications: all of them when
// zero, newest first.
type NotificationFilter struct {
	AccountID int64
	Status    string // "pending", "delivered", "failed" or "" for any
	Limit     int    // default 100, at most 1000
}

// Notifications lists recorded events, newest first.
func (s *Store) Notifications(ctx context.Context, f NotificationFilter) ([]access.Notification, error) {
	switch f.Status {
	case "", "pending", "delivered", "failed":
	default:
		return nil, fmt.Errorf("store: notification status %q (want pending, delivered or failed): %w", f.Status, access.ErrInvalid)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q := `SELECT ` + notificationCols + ` FROM notifications WHERE 1 = 1`
	var args []any
	if f.AccountID != 0 {
		q += ` AND account_id = ?`
		args = append(args, f.AccountID)
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, f.Status)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, f.Limit)
	out := []access.Notification{}
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("store: list notifications: %w", err)
	}
	return out, nil
}

// NotificationByID returns one event.
func (s *Store) NotificationByID(ctx context.Context, id int64) (access.Notification, error) {
	var n access.Notification
	err := s.db.GetContext(ctx, &n, s.db.Rebind(`SELECT `+notificationCols+` FROM notifications WHERE id = ?`), id)
	if err != nil {
		return n, notFound(err, fmt.Sprintf("notification #%d", id))
	}
	return n, nil
}

// RetryNotification sends a failed or delivered event again: it becomes
// pending, due now, with its attempts counted from zero (so it has
// max_attempts again). A pending event is left alone (access.ErrConflict:
// it is being tried). The retry is audited with the actor and reason.
func (s *Store) RetryNotification(ctx context.Context, actor string, id int64, reason string) (access.Notification, error) {
	var n access.Notification
	err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT `+notificationCols+` FROM notifications WHERE id = ?`+s.forUpdate()), id)
		if err != nil {
			return notFound(err, fmt.Sprintf("notification #%d", id))
		}
		if n.Status == "pending" {
			return fmt.Errorf("store: notification #%d is pending (next attempt %s): %w", id,
				access.FromMillis(n.NextAt).In(s.loc).Format(time.RFC3339), access.ErrConflict)
		}
		now := access.Millis(s.now())
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE notifications SET status = 'pending', attempts = 0, next_at = ? WHERE id = ?`), now, id); err != nil {
			return fmt.Errorf("store: retry notification #%d: %w", id, err)
		}
		var user string
		if err := tx.GetContext(ctx, &user, tx.Rebind(`SELECT username FROM accounts WHERE id = ?`), n.AccountID); err != nil {
			return notFound(err, fmt.Sprintf("account #%d", n.AccountID))
		}
		detail := fmt.Sprintf("notification=%d event=%s was=%s attempts=%d", n.ID, n.Event, n.Status, n.Attempts)
		n.Status, n.Attempts, n.NextAt = "pending", 0, now
		return s.AuditTx(ctx, tx, actor, "notification.retry", user, reason, detail)
	})
	return n, err
}

// by names who acted in an event's data: the student themself or an operator.
func by(actor, username string) string {
	if actor == username {
		return "student"
	}
	return "operator"
}

// notifyUnbindTx records device_unbound for d, unbound by actor, in the
// unbinding transaction.
func (s *Store) notifyUnbindTx(ctx context.Context, tx *sqlx.Tx, d access.Device, username, actor string) error {
	key := fmt.Sprintf("unbind:%d:%d", d.ID, access.Millis(s.now()))
	_, err := s.AddNotificationTx(ctx, tx, access.EventDeviceUnbound, key, access.Account{ID: d.AccountID, Username: username},
		map[string]any{"mac": d.MAC, "by": by(actor, username)})
	return err
}

// notifyPasswordTx records password_changed for username in the
// transaction that changed the hash; who is "student" or "operator".
func (s *Store) notifyPasswordTx(ctx context.Context, tx *sqlx.Tx, username, who string) error {
	var id int64
	if err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT id FROM accounts WHERE username = ?`), username); err != nil {
		return notFound(err, "account "+username)
	}
	key := fmt.Sprintf("password:%d:%d", id, access.Millis(s.now()))
	_, err := s.AddNotificationTx(ctx, tx, access.EventPasswordChanged, key, access.Account{ID: id, Username: username},
		map[string]any{"by": who})
	return err
}

// ChangePasswordHash is the student's own password change (self-service,
// the portal's forced change): the new hash, the must-change flag cleared,
// and the password_changed event, in one transaction. SetPasswordHash
// stays for rehashing the same password, which is no change.
func (s *Store) ChangePasswordHash(ctx context.Context, username, hash string) error {
	return s.InTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE accounts SET password_hash = ?, must_change = ?, updated_at = ? WHERE username = ?`),
			hash, false, access.Millis(s.now()), username)
		if err != nil {
			return fmt.Errorf("store: change password: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("store: change password of %s: %w", username, access.ErrNotFound)
		}
		return s.notifyPasswordTx(ctx, tx, username, "student")
	})
}

// CloseKickedSession closes a session its BAS acknowledged ending
// (Disconnect-ACK) at someone's request and records device_kicked (key
// "kick:<session id>", once however often it is asked) in the same
// transaction. by is "operator", "student" or "device_limit". closed is
// false when the session was already closed (its Accounting-Stop came
// first); the event is recorded all the same.
func (s *Store) CloseKickedSession(ctx context.Context, sess access.Session, reason, by string) (closed bool, err error) {
	err = s.InTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE sessions SET status = 'closed', stopped_at = ?, close_reason = ?
			WHERE id = ? AND status <> 'closed'`), access.Millis(s.now()), reason, sess.ID)
		if err != nil {
			return fmt.Errorf("store: close session #%d: %w", sess.ID, err)
		}
		n, _ := res.RowsAffected()
		closed = n > 0
		_, err = s.AddNotificationTx(ctx, tx, access.EventDeviceKicked, fmt.Sprintf("kick:%d", sess.ID),
			access.Account{ID: sess.AccountID, Username: sess.Username},
			map[string]any{"session_id": sess.ID, "mac": sess.MAC, "ip": sess.IP, "nas": sess.NAS, "by": by})
		return err
	})
	return closed, err
}

// LowBalanceCycles returns active cycles in area that end after now and by
// until, whose account's balance will be below fee (what the next cycle
// will cost) once they are settled, and that have no low_balance event yet (key
// "low_balance:<cycle id>"), in id order after afterID: billing's
// low-balance notice (docs/plans.md, Notifications). What the balance
// keeps for the next cycle is what is left after the fees of the active
// cycles, which settlement will charge (CommittedTx).
func (s *Store) LowBalanceCycles(ctx context.Context, area string, now, until time.Time, fee access.Fen, afterID int64, limit int) ([]access.Cycle, error) {
	if limit <= 0 {
		limit = 100
	}
	var out []access.Cycle
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT c.`+strings.ReplaceAll(cycleCols, ", ", ", c.")+` FROM cycles c
		JOIN accounts a ON a.id = c.account_id
		WHERE c.status = 'active' AND c.ends_at > ? AND c.ends_at <= ? AND c.area = ? AND c.id > ?
		AND a.balance_fen - (SELECT CAST(COALESCE(SUM(x.fee_fen), 0) AS BIGINT) FROM cycles x WHERE x.account_id = c.account_id AND x.status = 'active') < ?
		AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.dedup_key = 'low_balance:' || c.id)
		ORDER BY c.id LIMIT ?`), access.Millis(now), access.Millis(until), area, afterID, int64(fee), limit)
	if err != nil {
		return nil, fmt.Errorf("store: low-balance cycles: %w", err)
	}
	return out, nil
}
