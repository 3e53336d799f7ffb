package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/config"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/store"
)

// loadConfig reads --config (or the embedded default).
func (env *cli) loadConfig() (*config.Config, error) {
	cfg, err := config.Load(env.configPath)
	if err != nil {
		return nil, err
	}
	env.loc = cfg.Server.Location
	return cfg, nil
}

// openStore loads the configuration and opens its database; with migrate it
// applies pending migrations first.
func (env *cli) openStore(ctx context.Context, cfg *config.Config, log *slog.Logger, migrate bool) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.Server.Database, store.WithLogger(log))
	if err != nil {
		return nil, err
	}
	if migrate {
		if _, err := st.Migrate(ctx); err != nil {
			st.Close()
			return nil, err
		}
		return st, nil
	}
	cur, target, err := st.SchemaVersion(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	if cur < target {
		st.Close()
		return nil, fmt.Errorf("the database schema is at version %d, this binary needs %d: run `campusnet migrate` (or serve --migrate)", cur, target)
	}
	return st, nil
}

// newLogger returns the process logger: text on a terminal, JSON otherwise.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
		}
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// identityFor builds the configured identity backend. The local backend is
// also returned as itself so that password changes can reach it.
func identityFor(cfg *config.Config, st *store.Store, log *slog.Logger) (identity.Authenticator, *identity.Local, func(), error) {
	switch cfg.Identity.Backend {
	case "ldap":
		l := cfg.Identity.LDAP
		d, err := identity.NewLDAP(identity.LDAPConfig{
			URL: l.URL, StartTLS: l.StartTLS, InsecureSkipVerify: l.InsecureSkipVerify, CAFile: l.CAFile,
			BindDN: l.BindDN, BindPassword: l.BindPassword, BaseDN: l.BaseDN, UserFilter: l.UserFilter,
			IDAttribute: l.IDAttribute, NameAttribute: l.NameAttribute, RoleAttribute: l.RoleAttribute,
			DefaultRole: l.DefaultRole, Timeout: l.Timeout.Duration,
		}, log)
		if err != nil {
			return nil, nil, nil, err
		}
		return d, nil, func() { d.Close() }, nil
	default:
		loc := identity.NewLocal(identity.FromAccounts(st), identity.DefaultParams, log)
		return loc, loc, func() {}, nil
	}
}

// demoAccounts are the accounts that `serve --demo` seeds (the README's demo
// table lists them).
var demoAccounts = []struct {
	user, pass, name string
	role             access.Role
	balance          access.Fen
}{
	{"student1", "student1-pass", "演示学生一 Demo Student 1", access.RoleStudent, 5000},
	{"student2", "student2-pass", "演示学生二 Demo Student 2", access.RoleStudent, 1000},
	{"staff1", "staff1-pass", "演示教工 Demo Staff", access.RoleStaff, 0},
	{"admin", "admin-pass", "网络中心值班员 NOC Operator", access.RoleOperator, 0},
}

// seedDemo creates the demo accounts once; their opening balance is a ledger
// recharge with a fixed reference, so seeding twice adds nothing.
func seedDemo(ctx context.Context, st *store.Store, log *slog.Logger) error {
	for _, d := range demoAccounts {
		hash, err := identity.HashPassword(d.pass, identity.InitialParams)
		if err != nil {
			return err
		}
		_, created, err := st.OpenAccount(ctx, access.Account{Username: d.user, Name: d.name, Role: d.role, PasswordHash: hash},
			d.balance, "demo", "demo-seed:"+d.user, "demo opening balance")
		if err != nil {
			return err
		}
		if created {
			log.Info("demo account created", "user", d.user)
		}
	}
	return nil
}

// shutdownTimeout bounds graceful shutdown (SIGINT/SIGTERM).
const shutdownTimeout = 10 * time.Second

// open loads the configuration and opens its (already migrated) database,
// for the operator's commands; errors of the store go to stderr at warn level.
func (env *cli) open(ctx context.Context) (*config.Config, *store.Store, error) {
	cfg, err := env.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	st, err := env.openStore(ctx, cfg, newLogger(env.stderr, slog.LevelWarn), false)
	if err != nil {
		return nil, nil, err
	}
	return cfg, st, nil
}
