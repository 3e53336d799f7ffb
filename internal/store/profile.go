package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
)

// The profile of a session (docs/plans.md, Enforcement): what its
// Access-Accept carried, then what the BAS acknowledged by CoA.

// reservedProfileSQL records the profile an Access-Accept carried on its
// reservation. Only reservations of another profile than the full rate are
// written (profileWrites), so logins in areas without plans or a garden
// cost no statement more.
const reservedProfileSQL = `UPDATE sessions SET profile = ? WHERE correlation = ? AND status = 'reserved'`

var reservedProfilePG = sqlx.Rebind(sqlx.DOLLAR, reservedProfileSQL)

type profileWrite struct {
	correlation string
	profile     access.Profile
}

// profileWrites are the reservations of a batch, new or refreshed, whose
// Access-Accept carries a profile other than the full rate. A refreshed
// reservation that goes back to the full rate keeps its old value: the
// enforcer finds the difference and sends the CoA that makes it true.
func profileWrites(pending []*pendingSession) []profileWrite {
	var out []profileWrite
	seen := map[*pendingSession]bool{}
	for _, p := range pending {
		if seen[p] || p.closed || p.s.Profile == access.ProfileFull {
			continue
		}
		seen[p] = true
		out = append(out, profileWrite{correlation: p.s.Correlation, profile: p.s.Profile})
	}
	return out
}

// SessionsToEnforce returns the fresh online sessions whose profile is not
// the one they should have: their active cycle's, else restricted in a
// garden area, else the full rate. The enforcer sends each a CoA-Request.
func (s *Store) SessionsToEnforce(ctx context.Context, f access.EnforceFilter) ([]access.EnforceTarget, error) {
	if f.Limit <= 0 {
		f.Limit = 500
	}
	fresh := access.Millis(f.FreshSince)
	args := []any{f.AfterID, fresh, fresh}
	account := ``
	if f.AccountID != 0 {
		account = ` AND account_id = ?`
		args = append(args, f.AccountID)
	}
	garden := `FALSE`
	if len(f.Garden) > 0 {
		garden = `s.area IN (?` + strings.Repeat(", ?", len(f.Garden)-1) + `)`
		for _, g := range f.Garden {
			args = append(args, g)
		}
	}
	args = append(args, f.Limit)
	q := `SELECT s.*, c.id IS NOT NULL AS has_cycle, COALESCE(c.plan, '') AS cycle_plan, COALESCE(c.profile, '') AS cycle_profile
		FROM (SELECT ` + sessionCols + ` FROM sessions
			WHERE status = 'online' AND id > ? AND (last_update_at >= ? OR started_at >= ?)` + account + `) s
		LEFT JOIN cycles c ON c.account_id = s.account_id AND c.area = s.area AND c.status = 'active'
		WHERE s.profile <> CASE WHEN c.id IS NOT NULL THEN c.profile WHEN ` + garden + ` THEN 'restricted' ELSE '' END
		ORDER BY s.id LIMIT ?`
	var out []access.EnforceTarget
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(q), args...); err != nil {
		return nil, fmt.Errorf("store: sessions to enforce: %w", err)
	}
	return out, nil
}

// RecordSessionProfile records that the BAS acknowledged profile for an
// online session, with the audit entry (action session.coa), in one
// transaction. It reports whether the session was still online with the
// profile from (a session closed meanwhile, or another node's CoA
// recorded first, changes nothing).
func (s *Store) RecordSessionProfile(ctx context.Context, id int64, from, to access.Profile, actor, target, detail string) (bool, error) {
	var changed bool
	err := s.InTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE sessions SET profile = ? WHERE id = ? AND status = 'online' AND profile = ?`), to, id, from)
		if err != nil {
			return fmt.Errorf("store: session #%d profile: %w", id, err)
		}
		n, _ := res.RowsAffected()
		changed = n > 0
		if !changed {
			return nil
		}
		return s.AuditTx(ctx, tx, actor, "session.coa", target, to.Name(), detail)
	})
	return changed, err
}

// SetCycleProfileTx sets the profile an active cycle's traffic calls for;
// the caller holds the account's lock (LockAccount). The enforcer applies
// it to the account's sessions.
func (s *Store) SetCycleProfileTx(ctx context.Context, tx *sqlx.Tx, cycleID int64, p access.Profile) error {
	res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE cycles SET profile = ? WHERE id = ? AND status = 'active'`), p, cycleID)
	if err != nil {
		return fmt.Errorf("store: cycle #%d profile: %w", cycleID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: cycle #%d is not active: %w", cycleID, access.ErrNotFound)
	}
	return nil
}
