package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
)

func migrateCommand() command {
	return command{
		name:  "migrate",
		short: "apply pending database migrations (harmless to run twice)",
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: unexpected argument %q", errUsage, args[0])
			}
			cfg, err := env.loadConfig()
			if err != nil {
				return err
			}
			log := newLogger(os.Stderr, slog.LevelInfo)
			st, err := env.openStore(ctx, cfg, log, true)
			if err != nil {
				return err
			}
			defer st.Close()
			cur, _, err := st.SchemaVersion(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "schema version %d (%s)\n", cur, st.Dialect())
			return nil
		},
	}
}
