package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/campusnet/campusnet/internal/access"
)

// The portal's store: one-time login tokens, the refusal reason of a token,
// the device class remembered at login, the read-only view of a dorm cycle
// and the portal nodes' heartbeats.

// CreateLoginToken stores a one-time login token row and returns its id.
// The nonce must be fresh (logintoken.NewNonce); a repeated nonce is a
// unique-key violation.
func (s *Store) CreateLoginToken(ctx context.Context, t access.LoginToken) (int64, error) {
	if t.Nonce == "" || t.AccountID == 0 || t.Username == "" || t.ExpiresAt == 0 {
		return 0, fmt.Errorf("store: login token: nonce, account, user name and expiry are required: %w", access.ErrInvalid)
	}
	if t.CreatedAt == 0 {
		t.CreatedAt = access.Millis(s.now())
	}
	if t.Class == "" {
		t.Class = access.ClassUnknown
	}
	var id int64
	err := s.db.QueryRowxContext(ctx, s.db.Rebind(`INSERT INTO login_tokens
		(nonce, account_id, username, ip, mac, user_agent, class, signals, nas, created_at, expires_at, used_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0) RETURNING id`),
		t.Nonce, t.AccountID, t.Username, t.IP, t.MAC, t.UserAgent, t.Class, t.Signals, t.NAS, t.CreatedAt, t.ExpiresAt).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: login token: %w", err)
	}
	return id, nil
}

// LoginTokenByID returns a token row (tests and the portal's diagnostics).
func (s *Store) LoginTokenByID(ctx context.Context, id int64) (access.LoginToken, error) {
	var t access.LoginToken
	err := s.db.GetContext(ctx, &t, s.db.Rebind(`SELECT id, nonce, account_id, username, ip, mac, user_agent, class, signals, nas,
		created_at, expires_at, used_at FROM login_tokens WHERE id = ?`), id)
	if err != nil {
		return t, notFound(err, fmt.Sprintf("login token #%d", id))
	}
	return t, nil
}

// PurgeLoginTokens deletes tokens that expired before the given time and
// returns how many went. The auth_log keeps its token_id (there is no
// foreign key), so the reason of an old refusal stays readable.
func (s *Store) PurgeLoginTokens(ctx context.Context, expiredBefore time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM login_tokens WHERE expires_at < ?`), access.Millis(expiredBefore))
	if err != nil {
		return 0, fmt.Errorf("store: purge login tokens: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// AuthLogByToken returns the newest authentication decision made with a
// token: the portal reads the refusal's reason code from it. An error wraps
// access.ErrNotFound when RADIUS recorded none.
func (s *Store) AuthLogByToken(ctx context.Context, tokenID int64) (access.AuthLogEntry, error) {
	var e access.AuthLogEntry
	err := s.db.GetContext(ctx, &e, s.db.Rebind(`SELECT id, at, username, account_id, nas, mac, ip, method, result, reason, message, node, token_id
		FROM auth_log WHERE token_id = ? ORDER BY id DESC LIMIT 1`), tokenID)
	if err != nil {
		return e, notFound(err, fmt.Sprintf("auth log of token #%d", tokenID))
	}
	return e, nil
}

// RememberDevice records the class of (account, MAC) and the signals that
// decided it, as the portal saw them at login, creating the device row if
// needed. It never binds or unbinds: binding is RADIUS's, on accept.
func (s *Store) RememberDevice(ctx context.Context, accountID int64, mac string, class access.Class, signals string) error {
	if mac == "" || accountID == 0 {
		return fmt.Errorf("store: remember device: account and MAC are required: %w", access.ErrInvalid)
	}
	now := access.Millis(s.now())
	// A class a person gave when binding the device is kept: it is the
	// override the portal's classification starts from.
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO devices (account_id, mac, class, signals, last_seen_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (account_id, mac) DO UPDATE SET
		class = CASE WHEN `+classByPerson+` THEN devices.class ELSE excluded.class END,
		signals = excluded.signals, last_seen_at = excluded.last_seen_at`),
		accountID, mac, class, signals, now, now)
	if err != nil {
		return fmt.Errorf("store: remember device: %w", err)
	}
	return nil
}

// classByPerson holds for a device whose class a person gave when binding
// it: an operator, or the student registering a console.
const classByPerson = `devices.bound AND devices.bound_by <> '` + access.BoundByPortal + `' AND devices.class IN ('pc', 'mobile')`

// DeviceClassOverride returns the class a person gave the account's device
// mac when binding it — an operator (`campusnet devices bind --class`, a
// phone stuck in desktop mode) or the student registering a console — which
// outranks every signal of a login. found is false for a device
// the portal bound or classified itself, or one bound without a class.
func (s *Store) DeviceClassOverride(ctx context.Context, accountID int64, mac string) (class access.Class, found bool, err error) {
	err = s.db.GetContext(ctx, &class, s.db.Rebind(`SELECT class FROM devices
		WHERE account_id = ? AND mac = ? AND `+classByPerson), accountID, mac)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: device class override: %w", err)
	}
	return class, true, nil
}

// ActiveCycle returns the account's active billing cycle in an area, without
// a transaction (the portal's online page); the error wraps
// access.ErrNotFound when there is none.
func (s *Store) ActiveCycle(ctx context.Context, accountID int64, area string) (access.Cycle, error) {
	var c access.Cycle
	err := s.db.GetContext(ctx, &c, s.db.Rebind(`SELECT `+cycleCols+`
		FROM cycles WHERE account_id = ? AND area = ? AND status = 'active'`), accountID, area)
	if err != nil {
		return c, notFound(err, fmt.Sprintf("active cycle of account #%d in %s", accountID, area))
	}
	return c, nil
}

// HeartbeatNode records a portal node's heartbeat. StartedAt,
// Address and Version are replaced too: a restarted node shows its new start,
// and is no longer stopped.
func (s *Store) HeartbeatNode(ctx context.Context, n access.PortalNode) error {
	if n.NodeID == "" {
		return fmt.Errorf("store: heartbeat: empty node id: %w", access.ErrInvalid)
	}
	if n.HeartbeatAt == 0 {
		n.HeartbeatAt = access.Millis(s.now())
	}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO portal_nodes
		(node_id, address, version, started_at, heartbeat_at, logins_ok, logins_failed, bas_errors)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (node_id) DO UPDATE SET address = excluded.address, version = excluded.version,
			started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, logins_ok = excluded.logins_ok,
			logins_failed = excluded.logins_failed, bas_errors = excluded.bas_errors, stopped_at = 0`),
		n.NodeID, n.Address, n.Version, n.StartedAt, n.HeartbeatAt, n.LoginsOK, n.LoginsFailed, n.BASErrors)
	if err != nil {
		return fmt.Errorf("store: heartbeat of node %s: %w", n.NodeID, err)
	}
	return nil
}

// PortalNodes lists every portal node that ever sent a heartbeat, by node id.
func (s *Store) PortalNodes(ctx context.Context) ([]access.PortalNode, error) {
	var out []access.PortalNode
	err := s.db.SelectContext(ctx, &out, `SELECT node_id, address, version, started_at, heartbeat_at, stopped_at, logins_ok, logins_failed, bas_errors
		FROM portal_nodes ORDER BY node_id`)
	if err != nil {
		return nil, fmt.Errorf("store: portal nodes: %w", err)
	}
	return out, nil
}

// StopNode records that a portal node stopped cleanly, now; its next
// heartbeat (a restart) clears it. It reports whether the node had a row.
func (s *Store) StopNode(ctx context.Context, nodeID string) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE portal_nodes SET stopped_at = ? WHERE node_id = ?`),
		access.Millis(s.now()), nodeID)
	if err != nil {
		return false, fmt.Errorf("store: stop node %s: %w", nodeID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// DeletePortalNode removes a retired node's row; it reports whether one was there.
func (s *Store) DeletePortalNode(ctx context.Context, nodeID string) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM portal_nodes WHERE node_id = ?`), nodeID)
	if err != nil {
		return false, fmt.Errorf("store: delete node %s: %w", nodeID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// The shared failed-login buckets (internal/ratelimit's Shared; table
// login_limits): every node and both web services read and charge the
// same rows, so a patient attacker gets one budget, not one per node.

// LoginLimit reads key's bucket: the tokens it held at the time it was
// last charged.
func (s *Store) LoginLimit(ctx context.Context, key string) (tokens float64, at time.Time, found bool, err error) {
	var row struct {
		Tokens float64 `db:"tokens"`
		At     int64   `db:"at"`
	}
	err = s.db.GetContext(ctx, &row, s.db.Rebind(`SELECT tokens, at FROM login_limits WHERE key = ?`), key)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, false, nil
	}
	if err != nil {
		return 0, time.Time{}, false, fmt.Errorf("store: login limit: %w", err)
	}
	return row.Tokens, access.FromMillis(row.At), true, nil
}

// ChargeLoginLimit refills key's bucket to now (one token per every, up to
// burst) and takes a token, in one statement: concurrent charges from
// several nodes each count (the row is locked by the upsert). A bucket is
// created full, so its first charge leaves burst−1. A node whose clock is
// behind the row's time refills nothing and leaves the time where it was.
func (s *Store) ChargeLoginLimit(ctx context.Context, key string, burst float64, every time.Duration, now time.Time) error {
	if key == "" || burst <= 0 || every <= 0 {
		return fmt.Errorf("store: login limit: key, burst and interval are required: %w", access.ErrInvalid)
	}
	greatest, least := "GREATEST", "LEAST"
	if s.dialect == SQLite {
		greatest, least = "max", "min" // SQLite's scalar max and min take several arguments
	}
	ms := access.Millis(now)
	q := `INSERT INTO login_limits (key, tokens, at) VALUES (?, CAST(? AS DOUBLE PRECISION), CAST(? AS BIGINT))
		ON CONFLICT (key) DO UPDATE SET
		tokens = ` + greatest + `(0, ` + least + `(CAST(? AS DOUBLE PRECISION),
			login_limits.tokens + ` + greatest + `(0, CAST(? AS BIGINT) - login_limits.at) / CAST(? AS DOUBLE PRECISION)) - 1),
		at = ` + greatest + `(login_limits.at, CAST(? AS BIGINT))`
	_, err := s.db.ExecContext(ctx, s.db.Rebind(q), key, burst-1, ms, burst, ms, float64(every.Milliseconds()), ms)
	if err != nil {
		return fmt.Errorf("store: charge login limit: %w", err)
	}
	return nil
}

// PurgeLoginLimits deletes the buckets whose key starts with prefix and
// which were last charged before before, and reports how many.
func (s *Store) PurgeLoginLimits(ctx context.Context, prefix string, before time.Time) (int64, error) {
	like := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(prefix) + "%"
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM login_limits WHERE key LIKE ? ESCAPE '\' AND at < ?`), like, access.Millis(before))
	if err != nil {
		return 0, fmt.Errorf("store: purge login limits: %w", err)
	}
	return res.RowsAffected()
}

// RecordKick notes that nas logged out the user at ip (NTF_LOGOUT) at at.
func (s *Store) RecordKick(ctx context.Context, ip, nas string, at time.Time) error {
	if ip == "" {
		return fmt.Errorf("store: kick: an address is required: %w", access.ErrInvalid)
	}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO portal_kicks (ip, nas, at) VALUES (?, ?, ?)
		ON CONFLICT (ip) DO UPDATE SET nas = excluded.nas, at = excluded.at`), ip, nas, access.Millis(at))
	if err != nil {
		return fmt.Errorf("store: kick: %w", err)
	}
	return nil
}

// KickByIP returns the BAS that last logged out ip, and when, if that was
// at or after since.
func (s *Store) KickByIP(ctx context.Context, ip string, since time.Time) (nas string, at time.Time, found bool, err error) {
	var row struct {
		NAS string `db:"nas"`
		At  int64  `db:"at"`
	}
	err = s.db.GetContext(ctx, &row, s.db.Rebind(`SELECT nas, at FROM portal_kicks WHERE ip = ? AND at >= ?`), ip, access.Millis(since))
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, false, nil
	}
	if err != nil {
		return "", time.Time{}, false, fmt.Errorf("store: kick: %w", err)
	}
	return row.NAS, access.FromMillis(row.At), true, nil
}

// ForgetKick drops ip's note after a new login there.
func (s *Store) ForgetKick(ctx context.Context, ip string) error {
	if _, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM portal_kicks WHERE ip = ?`), ip); err != nil {
		return fmt.Errorf("store: forget kick: %w", err)
	}
	return nil
}

// PurgeKicks deletes the notes older than before and reports how many.
func (s *Store) PurgeKicks(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM portal_kicks WHERE at < ?`), access.Millis(before))
	if err != nil {
		return 0, fmt.Errorf("store: purge kicks: %w", err)
	}
	return res.RowsAffected()
}
