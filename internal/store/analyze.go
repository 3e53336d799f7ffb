package store

import (
	"context"
	"fmt"
	"strings"
)

// hotTables are the tables the RADIUS and portal paths read on every
// request, whose statistics their plans depend on.
var hotTables = []string{"sessions", "accounts", "devices", "cycles", "login_tokens", "auth_log", "nas"}

// Analyze thresholds of AnalyzeGrown, as PostgreSQL's autovacuum has them
// by default (autovacuum_analyze_threshold, autovacuum_analyze_scale_factor).
const (
	analyzeThreshold = 50
	analyzeScale     = 0.1
)

// AnalyzeGrown runs ANALYZE on each hot table that has changed by more
// than 50 rows plus a tenth of its size since it was last analyzed, or
// was never analyzed and has rows, and returns the tables it analyzed. It
// does on its own what autovacuum does where it runs, so that a new
// install, whose tables were analyzed empty or never, does not keep plans
// made for empty tables (sequential scans) while its tables fill up:
// PostgreSQL plans a prepared statement again after an ANALYZE of its
// tables. Several nodes may call it at once: the second finds nothing to
// do. On SQLite it does nothing.
func (s *Store) AnalyzeGrown(ctx context.Context) ([]string, error) {
	if s.dialect != Postgres {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT t.relname
		FROM pg_stat_user_tables t JOIN pg_class c ON c.oid = t.relid
		WHERE t.schemaname = current_schema() AND t.relname = ANY($1)
		  AND (t.n_mod_since_analyze > $2 + $3 * greatest(c.reltuples, 0)
		       OR (c.reltuples < 0 AND t.n_live_tup > 0))
		ORDER BY t.relname`, "{"+strings.Join(hotTables, ",")+"}", analyzeThreshold, analyzeScale)
	if err != nil {
		return nil, fmt.Errorf("store: table statistics: %w", err)
	}
	var grown []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, err
		}
		grown = append(grown, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var done []string
	for _, name := range grown {
		// The names come from hotTables, never from outside.
		if _, err := s.db.ExecContext(ctx, "ANALYZE "+name); err != nil {
			return done, fmt.Errorf("store: analyze %s: %w", name, err)
		}
		done = append(done, name)
	}
	return done, nil
}
