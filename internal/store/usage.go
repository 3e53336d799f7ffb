package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
)

// Traffic per account and day (usage_days). The rule, which billing's
// traffic plans build on too:
//
//   - An Interim-Update or Stop that names a known session adds, per
//     direction, its counters (octets with the gigawords, as
//     access.AcctRecord carries them) minus the session row's previous
//     counters, never less than zero; the row keeps the larger of the two.
//     A retransmitted or out-of-order Interim therefore adds nothing, and a
//     later one adds only what is new. A request that creates its session
//     (a Stop or Interim whose Start was lost) adds its whole counters.
//   - The delta is counted on the campus-local day (Store.Location) of the
//     time the request is recorded (the session's last_update_at): traffic
//     that spans midnight goes to the day it was reported.
//   - It is written in the same transaction as the session update, so a
//     request is counted exactly once, or not at all and resent by the BAS.

// usageDay is the campus-local day of a unix-ms time, as usage_days keeps it.
func (s *Store) usageDay(ms int64) string {
	return access.FromMillis(ms).In(s.loc).Format(time.DateOnly)
}

// counters are a session row's octets before an update.
type counters struct {
	ID  int64 `db:"id"`
	In  int64 `db:"input_octets"`
	Out int64 `db:"output_octets"`
}

// delta is what the new counters add to the previous ones, never negative.
func delta(newIn, newOut int64, prev counters) (int64, int64) {
	return max(0, newIn-prev.In), max(0, newOut-prev.Out)
}

// addUsage adds in and out octets to the account's day.
func (a *AAA) addUsage(ctx context.Context, tx *sqlx.Tx, accountID int64, ms, in, out int64) error {
	if accountID == 0 || (in == 0 && out == 0) {
		return nil
	}
	_, err := a.exec(ctx, tx, `INSERT INTO usage_days (account_id, day, input_octets, output_octets) VALUES (?, ?, ?, ?)
		ON CONFLICT (account_id, day) DO UPDATE SET input_octets = usage_days.input_octets + excluded.input_octets,
			output_octets = usage_days.output_octets + excluded.output_octets`, accountID, a.usageDay(ms), in, out)
	if err != nil {
		return fmt.Errorf("store: usage of account #%d: %w", accountID, err)
	}
	return nil
}

// UsageDays returns the account's traffic for each day from..to (campus
// days 'YYYY-MM-DD', inclusive) that has any, oldest first.
func (s *Store) UsageDays(ctx context.Context, accountID int64, from, to string) ([]access.UsageDay, error) {
	var out []access.UsageDay
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT day, input_octets, output_octets FROM usage_days
		WHERE account_id = ? AND day >= ? AND day <= ? ORDER BY day`), accountID, from, to)
	if err != nil {
		return nil, fmt.Errorf("store: usage of account #%d: %w", accountID, err)
	}
	return out, nil
}
