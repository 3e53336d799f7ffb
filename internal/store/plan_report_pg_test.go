package store_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
)

// TestTrafficByPlanPlan: the NOC's 30 days of traffic by plan read the
// window's usage_days rows by usage_days_day and each row's cycle by
// cycles_account_start (migration 00117), never the whole of either
// table, which hold a year of every account's days and cycles.
func TestTrafficByPlanPlan(t *testing.T) {
	ctx := context.Background()
	st := storetest.NewPostgres(t)
	db := st.DB()
	day0 := time.Date(2025, 12, 1, 0, 0, 0, 0, st.Location())
	for _, q := range []string{
		`INSERT INTO accounts (username, name, role, balance_fen, created_at, updated_at)
			SELECT 'p' || i, '', 'student', 0, 0, 0 FROM generate_series(1, 400) i`,
		// A year of days for 400 accounts, and a 30-day cycle for each
		// account and month.
		`INSERT INTO usage_days (account_id, day, input_octets, output_octets)
			SELECT a.id, to_char(DATE '2025-12-01' + g, 'YYYY-MM-DD'), g, 2 * g
			FROM accounts a CROSS JOIN generate_series(0, 364) g`,
		`INSERT INTO cycles (account_id, area, fee_fen, started_at, ends_at, status, plan)
			SELECT a.id, 'dorm', 2000, ` + itoa(access.Millis(day0)) + ` + m * 2592000000, ` + itoa(access.Millis(day0)) + ` + (m + 1) * 2592000000,
				CASE WHEN m = 12 THEN 'active' ELSE 'settled' END, CASE WHEN m % 2 = 0 THEN 'dorm-50g' ELSE 'dorm-flat' END
			FROM accounts a CROSS JOIN generate_series(0, 12) m`,
		`ANALYZE usage_days`,
		`ANALYZE cycles`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	var args []any
	first := time.Date(2026, 10, 1, 0, 0, 0, 0, st.Location())
	for i := range 30 {
		d := first.AddDate(0, 0, i)
		args = append(args, d.Format(time.DateOnly), access.Millis(d), access.Millis(d.AddDate(0, 0, 1)))
	}
	rows, err := db.QueryContext(ctx, `EXPLAIN `+st.Rebind(store.TrafficByPlanSQL(30)), args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	p := plan.String()
	for _, table := range []string{"usage_days", "cycles"} {
		if strings.Contains(p, "Seq Scan on "+table) {
			t.Errorf("traffic by plan reads the whole %s table:\n%s", table, p)
		}
	}
	for _, idx := range []string{"usage_days_day", "cycles_account_start"} {
		if !strings.Contains(p, idx) {
			t.Errorf("traffic by plan does not use %s:\n%s", idx, p)
		}
	}
	// And it answers: 30 days × the cycle's plan of each.
	got, err := st.TrafficByPlan(ctx, "2026-10-01", "2026-10-30")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < 30 {
		t.Fatalf("traffic by plan: %d rows for 30 days: %v", len(got), got)
	}
	for _, r := range got {
		if r.Area != "dorm" || (r.Plan != "dorm-50g" && r.Plan != "dorm-flat") || r.Accounts != 400 {
			t.Fatalf("row %+v: want every account's day under a dorm plan", r)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
