package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/config"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/radius"
)

func sessionsCommand() command {
	var user, nas string
	var online bool
	var limit int
	return command{
		name:  "sessions",
		args:  "[--user USER] [--online]",
		short: "list sessions (newest first): who, where, MAC, IP, class, status, traffic",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&user, "user", "", "only this account")
			fs.StringVar(&nas, "nas", "", "only this BAS")
			fs.BoolVar(&online, "online", false, "only reserved and online sessions")
			fs.IntVar(&limit, "limit", 100, "at most this many")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: unexpected argument %q", errUsage, args[0])
			}
			st, err := env.storeOnly(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			f := store.SessionFilter{NAS: nas, LiveOnly: online, Limit: limit}
			if user != "" {
				acc, err := st.AccountByUsername(ctx, user)
				if err != nil {
					return noSuchUser(user, err)
				}
				f.AccountID = acc.ID
			}
			list, err := st.ListSessions(ctx, f)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(env.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUSER\tSTATUS\tNAS\tMAC\tIP\tCLASS\tSINCE\tLAST UPDATE\tIN\tOUT\tCLOSED")
			for _, s := range list {
				since := s.StartedAt
				if since == 0 {
					since = s.ReservedAt
				}
				closed := ""
				if s.Status == "closed" {
					closed = s.CloseReason
					if s.TerminateCause != "" {
						closed += " (" + s.TerminateCause + ")"
					}
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Username, s.Status, s.NAS, dash(s.MAC), dash(s.IP), s.Class,
					fmtMillis(env.zone(), since), fmtMillis(env.zone(), s.LastUpdateAt), bytesIEC(s.InputOctets), bytesIEC(s.OutputOctets), closed)
			}
			tw.Flush()
			if len(list) == 0 {
				fmt.Fprintln(env.stdout, "(no sessions)")
			}
			return nil
		},
	}
}

func kickCommand() command {
	var reason, actor string
	return command{
		name:  "kick",
		args:  "SESSION [--reason R]",
		short: "end a session: Disconnect-Request to its BAS; prints the ACK, NAK (with Error-Cause) or silence",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&reason, "reason", "operator kick", "why (audited)")
			fs.StringVar(&actor, "actor", defaultActor(), "who does it (default $SUDO_USER, $USER, else the login name)")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("%w: want one session id (see campusnet sessions)", errUsage)
			}
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return fmt.Errorf("%w: %q is not a session id", errUsage, args[0])
			}
			cfg, st, err := env.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			// A session that is already closed has nothing to end at the
			// BAS: say when and why it closed, send nothing, succeed.
			sess, err := st.SessionByID(ctx, id)
			if errors.Is(err, access.ErrNotFound) {
				return fmt.Errorf("no session #%d (see campusnet sessions)", id)
			}
			if err != nil {
				return err
			}
			if sess.Status == access.SessionClosed {
				fmt.Fprintf(env.stdout, "session #%d of %s is already closed: %s\n", id, sess.Username, closedWhenWhy(env.zone(), sess))
				return nil
			}
			disc := newCLIDisconnector(cfg, st)
			defer disc.Close()
			out, err := disc.DisconnectSession(ctx, id, actor, reason)
			if err != nil {
				return err
			}
			if !out.ACK {
				fmt.Fprintf(env.stdout, "session #%d NOT disconnected: %s\n", id, out.Detail)
				return exitError{1}
			}
			fmt.Fprintf(env.stdout, "session #%d disconnected: %s\n", id, out.Detail)
			return nil
		},
	}
}

func nasListCommand() command {
	return command{
		name:  "nas list",
		short: "the configured BASes: address, area, CoA port, Message-Authenticator, last request heard",
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: unexpected argument %q", errUsage, args[0])
			}
			cfg, st, err := env.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			seen, err := st.NASList(ctx)
			if err != nil {
				return err
			}
			last := map[string]int64{}
			for _, n := range seen {
				last[n.Name] = n.LastRequestAt
			}
			tw := tabwriter.NewWriter(env.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tIP\tAREA\tCOA PORT\tREQUIRE M-A\tPORTAL\tLAST REQUEST")
			for _, n := range cfg.NAS {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%v\t%s\t%s\n", n.Name, n.IP, n.Area, n.CoAPort, n.MessageAuthenticatorRequired, dash(n.PortalAddr), fmtMillis(env.zone(), last[n.Name]))
			}
			tw.Flush()
			return nil
		},
	}
}

// newCLIDisconnector is a Disconnector for one command.
func newCLIDisconnector(cfg *config.Config, st *store.Store) *radius.Disconnector {
	return radius.NewDisconnector(radius.DisconnectorConfig{Store: st, NAS: cfg.AccessBASes(),
		Timeout: cfg.Radius.CoATimeout.Duration, Tries: cfg.Radius.CoATries, Log: newLogger(os.Stderr, slog.LevelWarn).With("service", "radius")})
}

// disconnectAll sends a Disconnect-Request for each session, prints each
// outcome, and returns exit status 1 when any was not acknowledged: a NAK
// or silence is never reported as success.
func disconnectAll(ctx context.Context, out io.Writer, cfg *config.Config, st *store.Store, sessions []access.Session, actor, reason string) error {
	if len(sessions) == 0 {
		return nil
	}
	disc := newCLIDisconnector(cfg, st)
	defer disc.Close()
	failed := false
	for _, se := range sessions {
		res, err := disc.DisconnectSession(ctx, se.ID, actor, reason)
		switch {
		case err != nil:
			failed = true
			fmt.Fprintf(out, "session #%d at %s: %v\n", se.ID, se.NAS, err)
		case !res.ACK:
			failed = true
			fmt.Fprintf(out, "session #%d at %s: NOT disconnected: %s\n", se.ID, se.NAS, res.Detail)
		default:
			fmt.Fprintf(out, "session #%d at %s: disconnected (%s)\n", se.ID, se.NAS, res.Detail)
		}
	}
	if failed {
		return exitError{1}
	}
	return nil
}

// closedWhenWhy says when a closed session ended and why.
func closedWhenWhy(loc *time.Location, s access.Session) string {
	when := s.StoppedAt
	if when == 0 {
		when = s.LastUpdateAt
	}
	why := orDefault(s.CloseReason, "no reason recorded")
	if s.TerminateCause != "" {
		why += " (" + s.TerminateCause + ")"
	}
	return "at " + fmtMillis(loc, when) + ", " + why
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// bytesIEC writes an octet count for people.
func bytesIEC(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
