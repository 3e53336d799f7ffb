package store

import (
	"context"
	"encoding/json"
	"fmt"
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
