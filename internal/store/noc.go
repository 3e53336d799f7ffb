package store

import (
	"context"
	"fmt"

	"github.com/campusnet/campusnet/internal/access"
)

// The NOC home's figures. Each query is bounded by an index: live sessions
// by sessions_online_seen, the authentication log by auth_log_at, closed
// sessions by sessions_closed_seen (migration 00113), so they stay fast
// however long the history is.

// OnlineNow counts the online sessions by area and BAS.
func (s *Store) OnlineNow(ctx context.Context) ([]access.OnlineCount, error) {
	var out []access.OnlineCount
	err := s.db.SelectContext(ctx, &out, `SELECT area, nas, COUNT(*) AS n FROM sessions
		WHERE status = 'online' AND last_update_at >= 0 GROUP BY area, nas ORDER BY area, nas`)
	if err != nil {
		return nil, fmt.Errorf("store: online now: %w", err)
	}
	return out, nil
}

// AuthSince counts the authentication log from since (unix ms) on, by
// result and reason.
func (s *Store) AuthSince(ctx context.Context, since int64) ([]access.AuthCount, error) {
	var out []access.AuthCount
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT result, reason, COUNT(*) AS n FROM auth_log
		WHERE at >= ? GROUP BY result, reason ORDER BY result, n DESC, reason`), since)
	if err != nil {
		return nil, fmt.Errorf("store: authentications since %d: %w", since, err)
	}
	return out, nil
}

const hourMs = 3600 * 1000

// RefusalsPerHour counts the refusals of each hour of hours from from
// (unix ms) on, by reason.
func (s *Store) RefusalsPerHour(ctx context.Context, from int64, hours int) ([]access.HourCount, error) {
	var out []access.HourCount
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT k, h, COUNT(*) AS n FROM (
			SELECT reason AS k, CAST((at - ?) / 3600000 AS INTEGER) AS h FROM auth_log
			WHERE at >= ? AND at < ? AND result = 'reject') x GROUP BY k, h`),
		from, from, from+int64(hours)*hourMs)
	if err != nil {
		return nil, fmt.Errorf("store: refusals per hour: %w", err)
	}
	return out, nil
}

// OnlinePerHour counts, for each hour of hours from from (unix ms) on and
// each area, the sessions that were online at some time in that hour: begun
// before its end and not ended before its start. An online session lasts
// until now; a closed one until its Stop, else its last Interim-Update
// (last_update_at, as in TraceSessions). The database returns a
// session's first and last hour in the window, grouped; the hours between
// are filled in here, so what is read is at most areas × hours² / 2 rows.
func (s *Store) OnlinePerHour(ctx context.Context, from, now int64, hours int) ([]access.HourCount, error) {
	last := hours - 1
	var rows []struct {
		Area  string `db:"area"`
		First int    `db:"sb"`
		Last  int    `db:"eb"`
		N     int64  `db:"n"`
	}
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT area, sb, eb, COUNT(*) AS n FROM (
			SELECT area,
				CASE WHEN started_at <= ? THEN 0 ELSE CAST((started_at - ?) / 3600000 AS INTEGER) END AS sb,
				CASE WHEN e >= ? THEN ? ELSE CAST((e - ?) / 3600000 AS INTEGER) END AS eb
			FROM (
				SELECT area, started_at, CAST(? AS BIGINT) AS e FROM sessions
					WHERE status = 'online' AND last_update_at >= 0 AND started_at > 0 AND started_at <= ?
				UNION ALL
				SELECT area, started_at, last_update_at AS e FROM sessions
					WHERE status = 'closed' AND started_at > 0 AND last_update_at >= ? AND started_at <= ?
			) x
		) y GROUP BY area, sb, eb`),
		from, from, from+int64(last)*hourMs, last, from, now, now, from, now)
	if err != nil {
		return nil, fmt.Errorf("store: online per hour: %w", err)
	}
	sum := map[access.HourCount]int64{}
	var out []access.HourCount
	for _, r := range rows {
		for h := max(0, r.First); h <= min(last, r.Last); h++ {
			k := access.HourCount{Key: r.Area, Hour: h}
			if _, ok := sum[k]; !ok {
				out = append(out, k)
			}
			sum[k] += r.N
		}
	}
	for i := range out {
		out[i].N = sum[access.HourCount{Key: out[i].Key, Hour: out[i].Hour}]
	}
	return out, nil
}
