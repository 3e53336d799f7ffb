package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/roster"
	"github.com/campusnet/campusnet/internal/store"
)

// The operator's device commands: bind a MAC for MAC authentication (a game
// console, a TV, a printer: devices with no browser to log in with),
// unbind, list, and bind in bulk from a CSV file.

func devicesBindCommand() command {
	var class, actor, reason string
	return command{
		name:  "devices bind",
		args:  "USER MAC --class pc|mobile [--reason R]",
		short: "bind a MAC to an account so it logs in by MAC authentication (consoles, TVs, printers)",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&class, "class", "", "device class: pc or mobile (required)")
			fs.StringVar(&reason, "reason", "", "why (audited), e.g. \"PS5 in room 3-204\"")
			fs.StringVar(&actor, "actor", defaultActor(), "who does it (default $SUDO_USER, $USER, else the login name)")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) != 2 {
				return fmt.Errorf("%w: want USER and MAC", errUsage)
			}
			if c := access.Class(class); c != access.ClassPC && c != access.ClassMobile {
				return fmt.Errorf("%w: --class must be pc or mobile", errUsage)
			}
			mac, err := access.NormalizeMAC(args[1])
			if err != nil {
				return fmt.Errorf("%q is not a MAC address (write it like 00-10-A4-23-19-C0, 0010-a423-19c0 or 00:10:a4:23:19:c0)", args[1])
			}
			st, err := env.storeOnly(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			acc, err := st.AccountByUsername(ctx, args[0])
			if err != nil {
				return noSuchUser(args[0], err)
			}
			d, err := st.BindDevice(ctx, acc.ID, mac, access.Class(class), actor, reason, 0)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "bound %s to %s as %s (by %s)\n", d.MAC, acc.Username, d.Class, actor)
			return nil
		},
	}
}

func devicesUnbindCommand() command {
	var user, reason, actor string
	var kick bool
	return command{
		name:  "devices unbind",
		args:  "MAC [--user USER] [--reason R] [--kick]",
		short: "stop a MAC from logging in by MAC authentication (--kick also ends its sessions)",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&user, "user", "", "only if bound to this account")
			fs.StringVar(&reason, "reason", "", "why (audited)")
			fs.StringVar(&actor, "actor", defaultActor(), "who does it (default $SUDO_USER, $USER, else the login name)")
			fs.BoolVar(&kick, "kick", false, "also disconnect the MAC's live sessions (Disconnect-Request to the BAS)")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("%w: want one MAC", errUsage)
			}
			mac, err := access.NormalizeMAC(args[0])
			if err != nil {
				return fmt.Errorf("%q is not a MAC address", args[0])
			}
			cfg, st, err := env.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			var accountID int64
			if user != "" {
				acc, err := st.AccountByUsername(ctx, user)
				if err != nil {
					return noSuchUser(user, err)
				}
				accountID = acc.ID
			}
			d, err := st.UnbindDevice(ctx, accountID, mac, actor, reason)
			if errors.Is(err, access.ErrNotFound) {
				return fmt.Errorf("%s is not bound%s", mac, map[bool]string{true: " to " + user}[user != ""])
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "unbound %s from account #%d (by %s)\n", d.MAC, d.AccountID, actor)
			if !kick {
				return nil
			}
			live, err := st.LiveSessionsByMAC(ctx, mac)
			if err != nil {
				return err
			}
			return disconnectAll(ctx, env.stdout, cfg, st, live, actor, orDefault(reason, "mac unbound"))
		},
	}
}

func devicesListCommand() command {
	var user string
	return command{
		name:  "devices list",
		args:  "--user USER",
		short: "an account's devices: MAC, class, bound or not and by whom, last seen",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&user, "user", "", "the account (required)")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if user == "" && len(args) == 1 {
				user = args[0]
			}
			if user == "" {
				return fmt.Errorf("%w: --user is required", errUsage)
			}
			st, err := env.storeOnly(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			acc, err := st.AccountByUsername(ctx, user)
			if err != nil {
				return noSuchUser(user, err)
			}
			devs, err := st.DevicesByAccount(ctx, acc.ID)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(env.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "MAC\tCLASS\tBOUND\tBOUND BY\tLAST SEEN")
			for _, d := range devs {
				bound, by := "no", ""
				if d.Bound {
					bound, by = "yes", d.BoundBy
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.MAC, d.Class, bound, by, fmtMillis(env.zone(), d.LastSeenAt))
			}
			tw.Flush()
			if len(devs) == 0 {
				fmt.Fprintf(env.stdout, "(%s has no devices)\n", user)
			}
			return nil
		},
	}
}

func devicesImportCommand() command {
	var actor, reason string
	return command{
		name:  "devices import",
		args:  "FILE.csv",
		short: "bind MACs in bulk from a CSV of account, mac, class (a lab's PCs, a printer fleet)",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&reason, "reason", "", "why (audited for every row), e.g. \"lab 2 PCs, ticket 1234\"")
			fs.StringVar(&actor, "actor", defaultActor(), "who does it (default $SUDO_USER, $USER, else the login name)")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("%w: want one CSV file", errUsage)
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			st, err := env.storeOnly(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			rep, err := importDevices(ctx, st, f, actor, reason, env.stdout)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "imported %s: %d bound, %d bad rows\n", args[0], rep.bound, rep.bad)
			if rep.bad > 0 {
				return exitError{1}
			}
			return nil
		},
	}
}

type deviceImportReport struct{ bound, bad int }

// importDevices runs roster.ImportDevices and prints each bad row with its
// line and reason, also when the import stops at an error.
func importDevices(ctx context.Context, st *store.Store, r io.Reader, actor, reason string, out io.Writer) (deviceImportReport, error) {
	rep, err := roster.ImportDevices(ctx, st, r, actor, reason, false)
	for _, b := range rep.Bad {
		fmt.Fprintln(out, b)
	}
	return deviceImportReport{bound: rep.Bound, bad: len(rep.Bad)}, err
}

// storeOnly loads the configuration and opens the store.
func (env *cli) storeOnly(ctx context.Context) (*store.Store, error) {
	cfg, err := env.loadConfig()
	if err != nil {
		return nil, err
	}
	return env.openStore(ctx, cfg, newLogger(os.Stderr, slog.LevelWarn), false)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func noSuchUser(user string, err error) error {
	if errors.Is(err, access.ErrNotFound) {
		return fmt.Errorf("no account %q", user)
	}
	return err
}

// fmtMillis writes a unix-millisecond time for a table, to the second,
// with its offset, in the campus zone ("-" for none).
func fmtMillis(loc *time.Location, ms int64) string {
	if ms == 0 {
		return "-"
	}
	return access.FromMillis(ms).In(loc).Format(time.DateTime + " -07:00")
}
