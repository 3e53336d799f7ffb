package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/config"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/internal/storetest"
)

// addHistory writes one closed session and one log row of account acc at
// (stopping a minute later), and a recharge in the ledger.
func addHistory(t *testing.T, st *store.Store, acc access.Account, at time.Time, tag string) {
	t.Helper()
	ms := access.Millis(at)
	if _, err := st.DB().Exec(st.Rebind(`INSERT INTO sessions (account_id, username, nas, area, mac, ip, class, status,
		acct_session_id, correlation, reserved_at, started_at, last_update_at, stopped_at, close_reason)
		VALUES (?, ?, 'bras-1', 'dorm', '02:00:00:00:00:01', '10.12.9.9', 'pc', 'closed', ?, ?, ?, ?, ?, ?, 'stop')`),
		acc.ID, acc.Username, tag, "c-"+tag, ms, ms, ms+60000, ms+60000); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().Exec(st.Rebind(`INSERT INTO auth_log (at, username, account_id, nas, method, result, reason, message)
		VALUES (?, ?, ?, 'bras-1', 'mac', 'accept', 'OK', ?)`), ms, acc.Username, acc.ID, tag); err != nil {
		t.Fatal(err)
	}
	if err := st.InTx(context.Background(), func(tx *sqlx.Tx) error {
		a, err := st.LockAccount(context.Background(), tx, acc.ID)
		if err != nil {
			return err
		}
		_, err = st.AddLedgerTx(context.Background(), tx, &a, access.LedgerRecharge, 100, "op", "r-"+tag, "cash")
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func countOf(t *testing.T, st *store.Store, table string) int {
	t.Helper()
	var n int
	if err := st.DB().Get(&n, `SELECT COUNT(*) FROM `+table); err != nil {
		t.Fatal(err)
	}
	return n
}

// `campusnet history purge`: the configured period decides; a short period
// is refused with the reason unless accepted; 0 keeps everything.
func TestHistoryPurgeCommand(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSN(t, kind)
			st := storetest.Open(t, dsn)
			acc, _, err := st.EnsureAccount(ctx, access.Account{Username: "2026003", Name: "王五", Role: access.RoleStudent})
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			addHistory(t, st, acc, now.Add(-300*24*time.Hour), "old")
			addHistory(t, st, acc, now.Add(-150*24*time.Hour), "middle")
			addHistory(t, st, acc, now.Add(-10*24*time.Hour), "new")
			cli := func(retention string, args ...string) (int, string, string) {
				p := filepath.Join(t.TempDir(), "c.toml")
				if err := os.WriteFile(p, fmt.Appendf(nil, "[server]\ndatabase = %q\n[retention]\n%s\n", dsn, retention), 0o600); err != nil {
					t.Fatal(err)
				}
				var out, errb bytes.Buffer
				code := run(ctx, append(append([]string{"history", "purge"}, args...), "--config", p), &out, &errb)
				return code, out.String(), errb.String()
			}
			code, out, errb := cli("period_days = 200")
			if code != 0 || !strings.Contains(out, "purged 1 closed sessions and 1 authentication-log rows") {
				t.Fatalf("purge with 200 days: exit %d, %q %q", code, out, errb)
			}
			code, _, errb = cli("period_days = 100")
			if code != 1 || !strings.Contains(errb, "retention.period_days: 100 days is under 180") || !strings.Contains(errb, "accept_short_period = true") {
				t.Fatalf("purge with 100 days: exit %d, stderr %q; want a refusal with the reason", code, errb)
			}
			if n := countOf(t, st, "sessions"); n != 2 {
				t.Fatalf("after the refused purge: %d sessions, want 2", n)
			}
			code, out, errb = cli("period_days = 0")
			if code != 0 || !strings.Contains(out, "kept for ever") || countOf(t, st, "sessions") != 2 {
				t.Fatalf("purge with 0 days: exit %d, %q %q", code, out, errb)
			}
			code, out, errb = cli("period_days = 100\naccept_short_period = true", "--batch", "1")
			if code != 0 || !strings.Contains(out, "purged 1 closed sessions and 1 authentication-log rows") {
				t.Fatalf("accepted 100 days: exit %d, %q %q", code, out, errb)
			}
			var left []string
			if err := st.DB().Select(&left, `SELECT acct_session_id FROM sessions UNION ALL SELECT message FROM auth_log ORDER BY 1`); err != nil {
				t.Fatal(err)
			}
			if strings.Join(left, ",") != "new,new" {
				t.Errorf("left %v, want the new session and log row", left)
			}
			if n := storetest.CountLedger(t, st, access.LedgerRecharge); n != 3 {
				t.Errorf("ledger: %d recharges, want all 3 kept", n)
			}
		})
	}
}

// The purger counts what it removed in its metrics and logs it with fixed keys.
func TestPurgerMetricsAndLog(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)
	st := storetest.NewSQLite(t, store.WithClock(func() time.Time { return now }))
	acc, _, err := st.EnsureAccount(context.Background(), access.Account{Username: "2026004", Role: access.RoleStudent})
	if err != nil {
		t.Fatal(err)
	}
	addHistory(t, st, acc, now.Add(-500*24*time.Hour), "a")
	addHistory(t, st, acc, now.Add(-450*24*time.Hour), "b")
	addHistory(t, st, acc, now.Add(-5*24*time.Hour), "c")
	cfg, err := config.Parse("", "t")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Retention.PeriodDays != config.DefaultRetentionDays || cfg.Retention.PurgeInterval.Duration != time.Hour {
		t.Fatalf("defaults: %+v", cfg.Retention)
	}
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	p := newPurger(st, cfg.Retention, slog.New(slog.NewJSONHandler(&logs, nil)), reg)
	if _, err := p.purge(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "{" + l.GetValue() + "}"
			}
			got[key] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	for key, want := range map[string]float64{
		"campusnet_retention_purged_rows_total{sessions}": 2,
		"campusnet_retention_purged_rows_total{auth_log}": 2,
		"campusnet_retention_purges_total{done}":          1,
		"campusnet_retention_purges_total{skipped}":       0,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (exported %v), want %v", key, v, ok, want)
		}
	}
	if got["campusnet_retention_last_purge_timestamp_seconds"] < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last purge timestamp %v, want now", got["campusnet_retention_last_purge_timestamp_seconds"])
	}
	var line struct {
		Msg      string `json:"msg"`
		Sessions int    `json:"sessions"`
		AuthLog  int    `json:"auth_log"`
		Cutoff   string `json:"cutoff"`
	}
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	if line.Msg != "retention purge" || line.Sessions != 2 || line.AuthLog != 2 || line.Cutoff != "2025-10-27T06:00:00Z" {
		t.Errorf("log line %+v", line)
	}
}

// `campusnet history fill` on PostgreSQL: the rows asked for, addresses held
// by many students in turn and never by two at once, the indexes back.
func TestHistoryFill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.PostgresDSN(t)
	st := storetest.Open(t, dsn)
	indexes := func() string {
		var names []string
		if err := st.DB().Select(&names, `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN ('sessions', 'auth_log') ORDER BY 1`); err != nil {
			t.Fatal(err)
		}
		return strings.Join(names, ",")
	}
	before := indexes()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"history", "fill", "--database", dsn, "--accounts", "300", "--sessions", "3000", "--auth-log", "7500", "--days", "10", "--pool", "20"}, &out, &errb)
	if code != 0 {
		t.Fatalf("fill: exit %d: %s %s", code, out.String(), errb.String())
	}
	var s struct {
		N, Accounts, IPs, Open int
	}
	if err := st.DB().Get(&s, `SELECT COUNT(*) AS n, COUNT(DISTINCT account_id) AS accounts, COUNT(DISTINCT ip) AS ips,
		COUNT(*) FILTER (WHERE status <> 'closed') AS open FROM sessions`); err != nil {
		t.Fatal(err)
	}
	if s.N < 3000 || s.Accounts < 250 || s.IPs != 20 || s.Open != 0 {
		t.Errorf("sessions: %+v; want ≥3000 closed over 20 addresses and most of 300 accounts", s)
	}
	if n := countOf(t, st, "auth_log"); n < 7400 {
		t.Errorf("auth_log: %d rows, want about 7500", n)
	}
	var overlaps, shared int
	if err := st.DB().Get(&overlaps, `SELECT COUNT(*) FROM (SELECT started_at, LAG(stopped_at) OVER (PARTITION BY ip ORDER BY started_at) AS prev FROM sessions) x WHERE prev >= started_at`); err != nil {
		t.Fatal(err)
	}
	if err := st.DB().Get(&shared, `SELECT MIN(n) FROM (SELECT COUNT(DISTINCT account_id) AS n FROM sessions GROUP BY ip) x`); err != nil {
		t.Fatal(err)
	}
	if overlaps != 0 || shared < 50 {
		t.Errorf("DHCP: %d overlapping sessions on one address (want 0); fewest students of an address %d (want many)", overlaps, shared)
	}
	var unordered int
	if err := st.DB().Get(&unordered, `SELECT COUNT(*) FROM (SELECT at, LAG(at) OVER (ORDER BY id) AS prev FROM auth_log) x WHERE prev > at`); err != nil {
		t.Fatal(err)
	}
	if unordered != 0 {
		t.Errorf("auth_log: %d rows written out of time order", unordered)
	}
	if after := indexes(); after != before {
		t.Errorf("indexes after the fill %s, before %s", after, before)
	}
	code = run(ctx, []string{"history", "fill", "--database", storetest.SQLiteDSN(t)}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "PostgreSQL") {
		t.Errorf("fill on SQLite: exit %d, %q", code, errb.String())
	}
}
