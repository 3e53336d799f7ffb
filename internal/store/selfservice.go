package store

import (
	"context"
	"fmt"

	"github.com/campusnet/campusnet/internal/access"
)

// Read-only queries of the self-service and NOC pages. The writes those
// pages cause go through the owning services' store methods (BindDevice,
// UnbindDevice, billing's ledger operations, the radius Disconnector).

const authLogCols = `id, at, username, account_id, nas, mac, ip, method, result, reason, message, node, token_id`

// AccountRefusals returns the newest refused authentications of an account,
// newest first: rows recorded with its id, and rows recorded only under its
// user name (a wrong password for a name RADIUS could not resolve).
func (s *Store) AccountRefusals(ctx context.Context, accountID int64, username string, limit int) ([]access.AuthLogEntry, error) {
	if limit <= 0 || limit > 500 {
		limit = 20
	}
	var out []access.AuthLogEntry
	// Two indexed halves rather than one OR, so both databases use
	// auth_log_account and auth_log_user.
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT `+authLogCols+` FROM (
		SELECT `+authLogCols+` FROM auth_log WHERE account_id = ? AND result = 'reject'
		UNION
		SELECT `+authLogCols+` FROM auth_log WHERE username = ? AND account_id IS NULL AND result = 'reject'
	) r ORDER BY at DESC, id DESC LIMIT ?`), accountID, username, limit)
	if err != nil {
		return nil, fmt.Errorf("store: refusals of account #%d: %w", accountID, err)
	}
	return out, nil
}

// NASActivities returns the activity of every BAS that has a nas row or a
// live session, by name. The configuration stays the list of record; a BAS
// never heard of has no entry.
func (s *Store) NASActivities(ctx context.Context) ([]access.NASActivity, error) {
	var out []access.NASActivity
	err := s.db.SelectContext(ctx, &out, `SELECT n.name, COALESCE(nas.ip, '') AS ip, COALESCE(nas.area, '') AS area,
			COALESCE(nas.last_request_at, 0) AS last_request_at,
			CAST(COALESCE(c.online, 0) AS BIGINT) AS online, CAST(COALESCE(c.reserved, 0) AS BIGINT) AS reserved
		FROM (SELECT name FROM nas UNION SELECT DISTINCT nas FROM sessions WHERE status IN ('reserved', 'online')) n
		LEFT JOIN nas ON nas.name = n.name
		LEFT JOIN (SELECT nas,
				SUM(CASE WHEN status = 'online' THEN 1 ELSE 0 END) AS online,
				SUM(CASE WHEN status = 'reserved' THEN 1 ELSE 0 END) AS reserved
			FROM sessions WHERE status IN ('reserved', 'online') GROUP BY nas) c ON c.nas = n.name
		ORDER BY n.name`)
	if err != nil {
		return nil, fmt.Errorf("store: nas activity: %w", err)
	}
	return out, nil
}
