package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/campusnet/campusnet/internal/store"
)

// historyFillCommand is `campusnet history fill`: a semester of closed
// sessions and authentication-log rows in a test database, with COPY, for
// the history benchmark (deploy/bench/history.sh). Like `users seed-load`
// it writes to --database, not to the database of --config.
func historyFillCommand() command {
	var dsn, prefix, nas, area string
	var accounts, days, pool int
	var sessions, authLog int64
	var seed uint64
	return command{
		name:  "history fill",
		args:  "--database postgres://… [--sessions N] [--auth-log N] [--days N] [--accounts N]",
		short: "fill a TEST database with months of closed sessions and authentication log (PostgreSQL, COPY; drops and rebuilds the two tables' indexes)",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&dsn, "database", "", "the test database (postgres://…); required")
			fs.IntVar(&accounts, "accounts", 60000, "accounts the sessions belong to: the database's first ones, then PREFIXNNNNN")
			fs.Int64Var(&sessions, "sessions", 20_000_000, "closed sessions (about; at least this many)")
			fs.Int64Var(&authLog, "auth-log", 50_000_000, "authentication-log rows (about)")
			fs.IntVar(&days, "days", 200, "days of history, ending now")
			fs.IntVar(&pool, "pool", 0, "DHCP addresses the sessions share (default sessions/500)")
			fs.StringVar(&prefix, "prefix", "hist", "user names of the accounts it adds")
			fs.StringVar(&nas, "nas", "bench-bras", "the BAS of every session")
			fs.StringVar(&area, "area", "dorm", "the area of every session")
			fs.Uint64Var(&seed, "seed", 1, "random seed (the same seed, the same history)")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) != 0 {
				return fmt.Errorf("%w: no arguments", errUsage)
			}
			if dsn == "" {
				return fmt.Errorf("%w: --database is required (a test database: the fill drops and rebuilds indexes)", errUsage)
			}
			st, err := store.Open(ctx, dsn)
			if err != nil {
				return err
			}
			defer st.Close()
			began := time.Now()
			res, err := st.FillHistory(ctx, store.FillOptions{Accounts: accounts, Sessions: sessions, AuthLog: authLog, Days: days,
				Pool: pool, Prefix: prefix, NAS: nas, Area: area, Seed: seed,
				Progress: func(day int, s, a int64) {
					if day%10 == 0 || day == days {
						el := time.Since(began).Seconds()
						fmt.Fprintf(env.stdout, "day %d/%d: %d sessions, %d log rows (%.0f rows/s)\n", day, days, s, a, float64(s+a)/el)
					}
				}})
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "filled %d closed sessions and %d authentication-log rows from %s to %s for %d accounts (%d added) in %s (indexes rebuilt, tables vacuumed)\n",
				res.Sessions, res.AuthLog, res.From.Format(time.RFC3339), res.To.Format(time.RFC3339), accounts, res.AccountsAdded, time.Since(began).Round(time.Second))
			return nil
		},
	}
}

// historyPurgeCommand is `campusnet history purge`: the retention purge of
// `serve` ([retention]), once, now. With several nodes it waits for no one:
// when another node is purging it says so and exits 0.
func historyPurgeCommand() command {
	var batch int
	var pause time.Duration
	return command{
		name:  "history purge",
		short: "delete closed sessions and authentication log older than [retention] period_days, now (what serve does every purge_interval)",
		flags: func(fs *flag.FlagSet) {
			fs.IntVar(&batch, "batch", 0, "rows per delete statement (default [retention] purge_batch)")
			fs.DurationVar(&pause, "pause", -1, "pause between two statements (default [retention] purge_pause)")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) != 0 {
				return fmt.Errorf("%w: no arguments", errUsage)
			}
			cfg, err := env.loadConfig()
			if err != nil {
				return err
			}
			if cfg.Retention.PeriodDays == 0 {
				fmt.Fprintln(env.stdout, "[retention] period_days = 0: history is kept for ever; nothing to purge")
				return nil
			}
			if batch > 0 {
				cfg.Retention.PurgeBatch = batch
			}
			if pause >= 0 {
				cfg.Retention.PurgePause.Duration = pause
			}
			log := newLogger(env.stderr, slog.LevelWarn)
			st, err := env.openStore(ctx, cfg, log, false)
			if err != nil {
				return err
			}
			defer st.Close()
			res, err := newPurger(st, cfg.Retention, log, nil).purge(ctx)
			if err != nil {
				return err
			}
			if res.Skipped {
				fmt.Fprintln(env.stdout, "another node is purging now; nothing done here")
				return nil
			}
			fmt.Fprintf(env.stdout, "purged %d closed sessions and %d authentication-log rows older than %s (%d days) in %d batches, %s\n",
				res.Sessions, res.AuthLog, res.Cutoff.Format(time.RFC3339), cfg.Retention.PeriodDays, res.Batches, res.Took.Round(time.Millisecond))
			return nil
		},
	}
}
