package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
)

// The NOC's notification commands: what the outbound webhook was told
// (and whether it took it), and sending an event again.

func notifyListCommand() command {
	var user, status string
	var limit int
	return command{
		name:  "notify list",
		args:  "[--account USER] [--status pending|delivered|failed]",
		short: "the students' events for the webhook, newest first: delivered, pending (next attempt) or failed (last error)",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&user, "account", "", "only this account's events")
			fs.StringVar(&status, "status", "", "only events in this state: pending, delivered or failed")
			fs.IntVar(&limit, "limit", 50, "at most this many (1 to 1000)")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: unexpected argument %q", errUsage, args[0])
			}
			switch status {
			case "", "pending", "delivered", "failed":
			default:
				return fmt.Errorf("%w: --status must be pending, delivered or failed, got %q", errUsage, status)
			}
			if limit < 1 || limit > 1000 {
				return fmt.Errorf("%w: --limit must be 1 to 1000", errUsage)
			}
			st, err := env.storeOnly(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			f := store.NotificationFilter{Status: status, Limit: limit}
			names := map[int64]string{}
			if user != "" {
				acc, err := st.AccountByUsername(ctx, user)
				if err != nil {
					return noSuchUser(user, err)
				}
				f.AccountID = acc.ID
				names[acc.ID] = acc.Username
			}
			list, err := st.Notifications(ctx, f)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(env.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tEVENT\tACCOUNT\tCREATED\tSTATUS\tATTEMPTS\tNEXT/DELIVERED\tLAST ERROR")
			for _, n := range list {
				name, ok := names[n.AccountID]
				if !ok {
					if a, err := st.AccountByID(ctx, n.AccountID); err == nil {
						name = a.Username
					} else {
						name = "#" + strconv.FormatInt(n.AccountID, 10)
					}
					names[n.AccountID] = name
				}
				when := "-"
				switch n.Status {
				case "pending":
					when = fmtMillis(env.zone(), n.NextAt)
				case "delivered":
					when = fmtMillis(env.zone(), n.DeliveredAt)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", n.ID, n.Event, name, fmtMillis(env.zone(), n.CreatedAt),
					n.Status, n.Attempts, when, dash(n.LastError))
			}
			return tw.Flush()
		},
	}
}

func notifyRetryCommand() command {
	var reason, actor string
	return command{
		name:  "notify retry",
		args:  "ID --reason …",
		short: "send a failed (or delivered) event to the webhook again, with max_attempts afresh (audited)",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&reason, "reason", "", "why (required; audited), e.g. \"receiver was down for maintenance\"")
			fs.StringVar(&actor, "actor", defaultActor(), "who does it (default $SUDO_USER, $USER, else the login name)")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("%w: want one notification id", errUsage)
			}
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return fmt.Errorf("%w: %q is not a notification id (see campusnet notify list)", errUsage, args[0])
			}
			if strings.TrimSpace(reason) == "" {
				return fmt.Errorf("%w: --reason is required", errUsage)
			}
			st, err := env.storeOnly(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			n, err := st.RetryNotification(ctx, actor, id, reason)
			switch {
			case errors.Is(err, access.ErrNotFound):
				return fmt.Errorf("no notification #%d (see campusnet notify list)", id)
			case errors.Is(err, access.ErrConflict):
				return fmt.Errorf("notification #%d is still pending: the sender tries it again by itself", id)
			case err != nil:
				return err
			}
			fmt.Fprintf(env.stdout, "notification #%d (%s) is pending again: the webhook sender of any node sends it shortly\n", n.ID, n.Event)
			return nil
		},
	}
}
