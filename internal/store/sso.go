package store

import (
	"context"
	"fmt"
	"time"

	"github.com/campusnet/campusnet/internal/access"
)

// CreateSSOState records a single sign-on login under way.
func (s *Store) CreateSSOState(ctx context.Context, st access.SSOState) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO sso_states (id, provider, purpose, browser, nonce, verifier, payload, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		st.ID, st.Provider, st.Purpose, st.Browser, st.Nonce, st.Verifier, st.Payload, st.CreatedAt, st.ExpiresAt)
	if err != nil {
		return fmt.Errorf("store: create sso state: %w", err)
	}
	return nil
}

// ConsumeSSOState marks the state used and returns it, once: a state that
// is unknown, already used or expired at now is an error wrapping
// access.ErrNotFound. The update is one statement, so two nodes given the
// same state at once cannot both consume it.
func (s *Store) ConsumeSSOState(ctx context.Context, id string, now time.Time) (access.SSOState, error) {
	var st access.SSOState
	at := access.Millis(now)
	err := s.db.GetContext(ctx, &st, s.db.Rebind(`UPDATE sso_states SET used_at = ?
		WHERE id = ? AND used_at = 0 AND expires_at > ?
		RETURNING id, provider, purpose, browser, nonce, verifier, payload, created_at, expires_at, used_at`), at, id, at)
	if err != nil {
		return st, notFound(err, "sso state")
	}
	return st, nil
}

// PurgeSSOStates deletes the states that expired before the time given.
func (s *Store) PurgeSSOStates(ctx context.Context, expiredBefore time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM sso_states WHERE expires_at < ?`), access.Millis(expiredBefore))
	if err != nil {
		return 0, fmt.Errorf("store: purge sso states: %w", err)
	}
	return res.RowsAffected()
}
