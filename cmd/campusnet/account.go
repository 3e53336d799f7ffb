package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	osuser "os/user"
	"strconv"
	"strings"
	"time"

	"github.com/campusnet/campusnet/billing"
	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/store"
	"github.com/campusnet/campusnet/radius"
)

// defaultActor is who an operator command acts as when --actor is not
// given: the person behind sudo ($SUDO_USER), else $USER, else the login
// name of the process's user (os/user), else its uid. Every audited command
// uses it, so the audit log names a person, never a bare "cli".
func defaultActor() string {
	for _, v := range []string{"SUDO_USER", "USER"} {
		if s := strings.TrimSpace(os.Getenv(v)); s != "" {
			return s
		}
	}
	if u, err := osuser.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return strconv.Itoa(os.Getuid())
}

// openBilling loads the configuration, opens the store and builds billing's
// Service; with disconnect it can send Disconnect-Requests to the configured
// BASes itself (billing settle), otherwise it has no disconnector.
func (env *cli) openBilling(ctx context.Context, disconnect bool) (*billing.Service, *store.Store, func(), error) {
	cfg, err := env.loadConfig()
	if err != nil {
		return nil, nil, nil, err
	}
	log := newLogger(os.Stderr, slog.LevelWarn)
	st, err := env.openStore(ctx, cfg, log, false)
	if err != nil {
		return nil, nil, nil, err
	}
	closeAll := func() { st.Close() }
	bc := billing.Config{Areas: cfg.AccessAreas(), Log: log, PaymentURL: cfg.SelfService.PaymentURL,
		StaleAfter: access.StaleAfter(cfg.Radius.InterimInterval.Duration), Location: cfg.Server.Location}
	if disconnect {
		d := radius.NewDisconnector(radius.DisconnectorConfig{Store: st, NAS: cfg.AccessBASes(),
			Timeout: cfg.Radius.CoATimeout.Duration, Tries: cfg.Radius.CoATries, Log: log.With("service", "radius")})
		bc.Disconnector = d
		closeAll = func() { d.Close(); st.Close() }
	}
	svc, err := billing.New(st, bc)
	if err != nil {
		closeAll()
		return nil, nil, nil, err
	}
	return svc, st, closeAll, nil
}

func accountShowCommand() command {
	var rows int
	var asJSON bool
	return command{
		name:  "account show",
		args:  "USER",
		short: "balance, committed cycle fee, cycles with their settlement dates and the last ledger rows",
		flags: func(fs *flag.FlagSet) {
			fs.IntVar(&rows, "rows", 10, "how many ledger rows to show")
			fs.BoolVar(&asJSON, "json", false, "print JSON (money in fen)")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("%w: want one user name", errUsage)
			}
			svc, _, done, err := env.openBilling(ctx, false)
			if err != nil {
				return err
			}
			defer done()
			sum, err := svc.Show(ctx, args[0], rows)
			if err != nil {
				return err
			}
			if asJSON {
				sum.Account.PasswordHash = ""
				enc := json.NewEncoder(env.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(sum)
			}
			printSummary(env.stdout, env.zone(), sum)
			plans, err := svc.PlanStatuses(ctx, args[0])
			if err != nil {
				return err
			}
			if len(plans) > 0 {
				fmt.Fprintln(env.stdout, "\nplans:")
				for _, st := range plans {
					printPlanStatus(env.stdout, env, st)
				}
			}
			return nil
		},
	}
}

// when writes a unix-millisecond time to the minute, with its offset, in
// the campus zone ("-" for none).
func when(loc *time.Location, ms int64) string {
	if ms == 0 {
		return "-"
	}
	return access.FromMillis(ms).In(loc).Format("2006-01-02 15:04 -07:00")
}

func printSummary(w io.Writer, loc *time.Location, sum billing.AccountSummary) {
	a := sum.Account
	state := ""
	if a.Disabled {
		state = ", DISABLED: " + a.DisabledReason
	}
	fmt.Fprintf(w, "account    %s (%s, %s%s)\n", a.Username, a.Name, a.Role, state)
	fmt.Fprintf(w, "balance    %s yuan\n", a.Balance)
	fmt.Fprintf(w, "committed  %s yuan (fee of the active cycle, charged at its settlement date)\n", sum.Committed)
	fmt.Fprintf(w, "available  %s yuan (what a refund may return)\n", sum.Available)
	for _, st := range sum.Areas {
		var cyc *access.Cycle
		for i := range sum.Active {
			if sum.Active[i].Area == st.Area {
				cyc = &sum.Active[i]
			}
		}
		switch {
		case cyc != nil:
			fmt.Fprintf(w, "%-10s open: cycle #%d from %s, settles %s (%s yuan)\n", st.Area, cyc.ID, when(loc, cyc.StartedAt), when(loc, cyc.EndsAt), cyc.Fee)
		case st.Open:
			fmt.Fprintf(w, "%-10s open: no cycle yet; the next login starts one (%s yuan for %s)\n", st.Area, st.Fee, days(st.Cycle))
		default:
			fmt.Fprintf(w, "%-10s CLOSED: %s\n", st.Area, st.Refusal.Message)
		}
	}
	if len(sum.Cycles) > 0 {
		fmt.Fprintln(w, "\ncycles:")
		for _, c := range sum.Cycles {
			fmt.Fprintf(w, "  #%-6d %-8s %s – %s  %s yuan  %s", c.ID, c.Area, when(loc, c.StartedAt), when(loc, c.EndsAt), c.Fee, c.Status)
			if c.SettledAt != 0 {
				fmt.Fprintf(w, " %s", when(loc, c.SettledAt))
			}
			fmt.Fprintln(w)
		}
	}
	if len(sum.Ledger) > 0 {
		fmt.Fprintln(w, "\nledger (newest first):")
		for _, e := range sum.Ledger {
			fmt.Fprintf(w, "  #%-6d %s  %-10s %10s  → %10s  %-10s %s", e.ID, when(loc, e.CreatedAt), e.Kind, signed(e.Amount), e.BalanceAfter, e.Actor, e.Reference)
			if e.Reason != "" {
				fmt.Fprintf(w, "  (%s)", e.Reason)
			}
			fmt.Fprintln(w)
		}
	}
}

func signed(f access.Fen) string {
	if f > 0 {
		return "+" + f.String()
	}
	return f.String()
}

func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// moneyCommand is account recharge / refund / adjust.
func moneyCommand(name, args, short string, kind access.LedgerKind) command {
	var reason, ref, actor string
	var force bool
	return command{
		name:  name,
		args:  args,
		short: short,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&reason, "reason", "", "why (required; goes to the ledger and the audit log)")
			fs.StringVar(&ref, "ref", "", "a reference for this change (receipt number); the same one twice is recorded once (default: a new random one)")
			fs.StringVar(&actor, "actor", defaultActor(), "who does it (default $SUDO_USER, $USER, else the login name)")
			if kind == access.LedgerAdjustment {
				fs.BoolVar(&force, "force", false, "allow a deduction into the committed cycle fee or below zero")
			}
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) != 2 {
				return fmt.Errorf("%w: want USER AMOUNT", errUsage)
			}
			if strings.TrimSpace(reason) == "" {
				return fmt.Errorf("%w: --reason is required", errUsage)
			}
			if actor == "" {
				return fmt.Errorf("%w: --actor must not be empty", errUsage)
			}
			user := args[0]
			amount, err := billing.ParseYuan(args[1])
			if err != nil {
				return err
			}
			if kind != access.LedgerAdjustment && amount <= 0 {
				return fmt.Errorf("%w: the amount must be more than 0.00 yuan", billing.ErrAmount)
			}
			if ref == "" {
				var b [8]byte
				_, _ = rand.Read(b[:])
				ref = time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
			}
			reference := "cli:" + ref
			svc, st, done, err := env.openBilling(ctx, false)
			if err != nil {
				return err
			}
			defer done()
			var e access.LedgerEntry
			switch kind {
			case access.LedgerRecharge:
				e, err = svc.Recharge(ctx, user, amount, actor, reference, reason)
			case access.LedgerRefund:
				e, err = svc.Refund(ctx, user, amount, actor, reference, reason)
			default:
				e, err = svc.Adjust(ctx, user, amount, actor, reference, reason, force)
			}
			if errors.Is(err, access.ErrDuplicate) {
				prev, perr := st.LedgerByReference(ctx, kind, reference)
				if perr != nil {
					return err
				}
				acc, _ := st.AccountByID(ctx, prev.AccountID)
				want := amount
				if kind == access.LedgerRefund {
					want = -amount
				}
				if acc.Username != user || prev.Amount != want {
					return fmt.Errorf("reference %s was already used for %s yuan on %s (ledger #%d)", ref, signed(prev.Amount), acc.Username, prev.ID)
				}
				fmt.Fprintf(env.stdout, "already recorded: %s %s yuan for %s (ledger #%d, %s); nothing changed\n", prev.Kind, signed(prev.Amount), user, prev.ID, when(env.zone(), prev.CreatedAt))
				return nil
			}
			if errors.Is(err, billing.ErrCommitted) {
				return fmt.Errorf("%w\n(the fee of the active cycle is charged at its settlement date; see `campusnet account show %s`)", err, user)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(env.stdout, "%s %s yuan for %s: balance %s yuan (ledger #%d, reference %s, by %s)\n", kind, signed(e.Amount), user, e.BalanceAfter, e.ID, ref, actor)
			return nil
		},
	}
}

func accountRechargeCommand() command {
	return moneyCommand("account recharge", "USER AMOUNT --reason …",
		"record a recharge (cash at the counter); AMOUNT in yuan, e.g. 50 or 12.50", access.LedgerRecharge)
}

func accountRefundCommand() command {
	return moneyCommand("account refund", "USER AMOUNT --reason …",
		"pay money back; never below the committed fee of an active cycle", access.LedgerRefund)
}

func accountAdjustCommand() command {
	return moneyCommand("account adjust", "USER ±AMOUNT --reason …",
		"correct the balance by a signed amount in yuan (-5, +3.50); audited", access.LedgerAdjustment)
}

// oneUserWithReason checks an account command's arguments: one user name,
// and a --reason for the audit log.
func oneUserWithReason(args []string, reason string) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: want one user name", errUsage)
	}
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("%w: --reason is required", errUsage)
	}
	return nil
}

// accountResetPasswordCommand gives a student who forgot the password (and
// showed their card at the service desk) a temporary one, which the portal
// and self-service make them change at the first login.
func accountResetPasswordCommand() command {
	var reason, actor string
	return command{
		name:  "account reset-password",
		args:  "USER --reason …",
		short: "give a local account a temporary password that must be changed at the next login (audited)",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&reason, "reason", "", "why (required; audited), e.g. \"forgot, student card checked\"")
			fs.StringVar(&actor, "actor", defaultActor(), "who does it (default $SUDO_USER, $USER, else the login name)")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if err := oneUserWithReason(args, reason); err != nil {
				return err
			}
			cfg, st, err := env.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			if cfg.Identity.Backend != "local" {
				return fmt.Errorf("passwords are the directory's (identity.backend = %q): reset it there", cfg.Identity.Backend)
			}
			pw, hash, err := identity.TemporaryCredential()
			if err != nil {
				return err
			}
			if err := st.ResetPassword(ctx, actor, args[0], hash, reason); err != nil {
				return noSuchUser(args[0], err)
			}
			fmt.Fprintf(env.stdout, "temporary password for %s: %s\n"+
				"It must be changed at the next login (portal or self-service). Give it to the student in person; it is not stored anywhere readable.\n", args[0], pw)
			return nil
		},
	}
}

// accountDisableCommand disables (or enables) an account: a graduate, a
// shared or misused account. A disabled account is refused by the portal,
// RADIUS and self-service with its reason; --kick also ends its sessions.
func accountDisableCommand(disable bool) command {
	var reason, actor string
	var kick bool
	name, short := "account enable", "let a disabled account log in again (audited)"
	if disable {
		name, short = "account disable", "refuse every login of an account, with a reason shown to the student (audited; --kick ends its sessions)"
	}
	return command{
		name:  name,
		args:  "USER --reason …",
		short: short,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&reason, "reason", "", "why (required; audited, and shown to the student when disabling)")
			fs.StringVar(&actor, "actor", defaultActor(), "who does it (default $SUDO_USER, $USER, else the login name)")
			if disable {
				fs.BoolVar(&kick, "kick", false, "also disconnect the account's live sessions (Disconnect-Request to the BAS)")
			}
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if err := oneUserWithReason(args, reason); err != nil {
				return err
			}
			cfg, st, err := env.open(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			acc, err := st.AccountByUsername(ctx, args[0])
			if err != nil {
				return noSuchUser(args[0], err)
			}
			if err := st.SetDisabled(ctx, actor, acc.Username, disable, reason); err != nil {
				return err
			}
			state := "enabled"
			if disable {
				state = "disabled"
			}
			fmt.Fprintf(env.stdout, "%s %s (by %s)\n", state, acc.Username, actor)
			if !kick {
				return nil
			}
			live, err := st.SessionsByAccount(ctx, acc.ID, true)
			if err != nil {
				return err
			}
			return disconnectAll(ctx, env.stdout, cfg, st, live, actor, "account disabled: "+reason)
		},
	}
}
