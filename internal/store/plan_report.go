package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
)

// Traffic by plan, and the cycle usage the meter adds (docs/plans.md).

// AddCycleUsageTx adds bytes of counted traffic to the cycle's used_bytes
// and returns the new total. The caller (the meter) holds the account's
// row lock and moves the session's watermark in the same transaction, so
// that a delta is added once.
func (s *Store) AddCycleUsageTx(ctx context.Context, tx *sqlx.Tx, cycleID, bytes int64) (int64, error) {
	if bytes < 0 {
		return 0, fmt.Errorf("store: add %d bytes to cycle #%d: %w", bytes, cycleID, access.ErrInvalid)
	}
	var used int64
	err := tx.QueryRowxContext(ctx, tx.Rebind(`UPDATE cycles SET used_bytes = used_bytes + ? WHERE id = ? RETURNING used_bytes`),
		bytes, cycleID).Scan(&used)
	if err != nil {
		return 0, notFound(err, fmt.Sprintf("usage of cycle #%d", cycleID))
	}
	return used, nil
}

// MaxReportDays bounds TrafficByPlan's window.
const MaxReportDays = 62

// trafficByPlanSQL is TrafficByPlan's statement for n days: the window's
// days as a VALUES list (day, first ms, end ms), their usage_days rows by
// usage_days_day, and for each row the account's cycle that was active
// that day — the one that started last before the day's end and ended
// after its start, by cycles_account_start (migration 00117), for its
// area and its plan (two lookups of the same index entry: a join back to
// cycles by id made PostgreSQL hash the whole table). A day on which a
// cycle ended and the next began counts for the new one.
func trafficByPlanSQL(n int) string {
	vals := make([]string, n)
	for i := range vals {
		vals[i] = "(CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT))"
	}
	cycle := func(col string) string {
		return `COALESCE((SELECT k.` + col + ` FROM cycles k WHERE k.account_id = u.account_id AND k.started_at < d.e AND k.ends_at > d.s
					ORDER BY k.started_at DESC, k.id DESC LIMIT 1), '')`
	}
	return `WITH d (day, s, e) AS (VALUES ` + strings.Join(vals, ", ") + `)
		SELECT day, area, plan, CAST(SUM(b) AS BIGINT) AS bytes, COUNT(*) AS accounts
		FROM (
			SELECT d.day, u.input_octets + u.output_octets AS b, ` + cycle("area") + ` AS area, ` + cycle("plan") + ` AS plan
			FROM d JOIN usage_days u ON u.day = d.day
		) x
		GROUP BY day, area, plan
		ORDER BY day, area, plan`
}

// TrafficByPlan returns the campus's traffic of each campus-local day from
// from to to ("YYYY-MM-DD", inclusive, at most MaxReportDays) by the plan
// of the cycle each account had that day, in one statement. Days and plans
// without traffic have no row.
func (s *Store) TrafficByPlan(ctx context.Context, from, to string) ([]access.PlanDay, error) {
	first, err := time.ParseInLocation(time.DateOnly, from, s.loc)
	if err != nil {
		return nil, fmt.Errorf("store: traffic by plan from %q: %w", from, access.ErrInvalid)
	}
	last, err := time.ParseInLocation(time.DateOnly, to, s.loc)
	if err != nil || last.Before(first) {
		return nil, fmt.Errorf("store: traffic by plan to %q: %w", to, access.ErrInvalid)
	}
	var args []any
	n := 0
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		if n++; n > MaxReportDays {
			return nil, fmt.Errorf("store: traffic by plan %s to %s: over %d days: %w", from, to, MaxReportDays, access.ErrInvalid)
		}
		// AddDate, not 24 h: a zone with summer time has 23- and 25-hour days.
		args = append(args, d.Format(time.DateOnly), access.Millis(d), access.Millis(d.AddDate(0, 0, 1)))
	}
	var out []access.PlanDay
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(trafficByPlanSQL(n)), args...); err != nil {
		return nil, fmt.Errorf("store: traffic by plan: %w", err)
	}
	return out, nil
}
