package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/store"
)

// usersSeedLoadCommand is `campusnet users seed-load`: the accounts `bassim
// load` logs in (bas.LoadUser, bas.LoadMAC) — a known password (hashed once
// with identity.DefaultParams, the same hash for all), a balance that covers
// the dorm fee, and one bound PC each. It writes to --database, not to the
// database of --config.
func usersSeedLoadCommand() command {
	var dsn, prefix, password string
	var users int
	var balance float64
	var migrate bool
	return command{
		name:  "users seed-load",
		args:  "--database DSN [--users N]",
		short: "create load-test accounts (loaduserNNNNN) for bassim load, with a balance and a bound MAC each",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&dsn, "database", "sqlite:campusnet.db", "campusnet's database (sqlite:PATH or postgres://…)")
			fs.StringVar(&prefix, "user-prefix", "loaduser", "user names are PREFIX00001…")
			fs.StringVar(&password, "password", "load-pass", "the users' password")
			fs.IntVar(&users, "users", 1000, "how many")
			fs.Float64Var(&balance, "balance", 100, "each account's balance in yuan (topped up to it)")
			fs.BoolVar(&migrate, "migrate", false, "apply migrations first")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) != 0 {
				return fmt.Errorf("%w: no arguments", errUsage)
			}
			return seedLoad(ctx, env, dsn, prefix, password, users, balance, migrate)
		},
	}
}

func seedLoad(ctx context.Context, env *cli, dsn, prefix, password string, users int, balance float64, migrate bool) error {
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	if migrate {
		if _, err := st.Migrate(ctx); err != nil {
			return err
		}
	}
	hash, err := identity.HashPassword(password, identity.DefaultParams)
	if err != nil {
		return err
	}
	want := access.Fen(balance*100 + 0.5)
	began := time.Now()
	for i := 1; i <= users; i++ {
		user := bas.LoadUser(prefix, i)
		a, _, err := st.EnsureAccount(ctx, access.Account{Username: user, Name: "load test " + user, Role: access.RoleStudent, PasswordHash: hash})
		if err != nil {
			return err
		}
		if a.Balance < want {
			err := st.InTx(ctx, func(tx *sqlx.Tx) error {
				acc, err := st.LockAccount(ctx, tx, a.ID)
				if err != nil || acc.Balance >= want {
					return err
				}
				_, err = st.AddLedgerTx(ctx, tx, &acc, access.LedgerRecharge, want-acc.Balance, "bassim", fmt.Sprintf("bassim-seed:%s:%d", user, time.Now().UnixNano()), "load-test balance")
				return err
			})
			if err != nil {
				return err
			}
		}
		if _, err := st.BindDevice(ctx, a.ID, bas.LoadMAC(i), access.ClassPC, "bassim", "", 0); err != nil && !errors.Is(err, access.ErrConflict) {
			return err
		}
		if i%1000 == 0 {
			fmt.Fprintf(env.stdout, "%d accounts\n", i)
		}
	}
	fmt.Fprintf(env.stdout, "seeded %d accounts %s00001… (password %q, balance %.2f yuan, one bound PC each) in %s\n",
		users, prefix, password, balance, time.Since(began).Round(time.Millisecond))
	return nil
}
