package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/campusnet/campusnet/billing"
	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/config"
)

// The desk's plan commands (docs/plans.md): account plan shows an area's
// plans and records a choice for the next cycle; account pack buys a
// traffic pack for the running cycle from the balance.

// planArea is the --area of a plan command: the one given, or the only
// billed area with plans.
func planArea(cfg *config.Config, area string) (access.Area, error) {
	var withPlans []access.Area
	for _, a := range cfg.AccessAreas() {
		if a.Name == area {
			if len(a.Plans) == 0 {
				return a, fmt.Errorf("area %s has no plans (no `plans` in its [[area]])", area)
			}
			return a, nil
		}
		if a.Billed() && len(a.Plans) > 0 {
			withPlans = append(withPlans, a)
		}
	}
	switch {
	case area != "":
		return access.Area{}, fmt.Errorf("%w: no area %q in the configuration", billing.ErrUnknownArea, area)
	case len(withPlans) == 1:
		return withPlans[0], nil
	case len(withPlans) == 0:
		return access.Area{}, errors.New("no area has plans to choose from (`plans` in [[area]])")
	}
	names := make([]string, len(withPlans))
	for i, a := range withPlans {
		names[i] = a.Name
	}
	return access.Area{}, fmt.Errorf("%w: --area is required: %s have plans", errUsage, strings.Join(names, ", "))
}

// planTerms is a plan's terms in one line: fee per cycle, allowance and
// what happens past it.
func planTerms(p access.Plan) string {
	s := fmt.Sprintf("%s yuan / %s", p.Fee, days(p.Cycle))
	if !p.Limited() {
		return s + ", no traffic limit"
	}
	s += fmt.Sprintf(", %s", access.FormatBytes(p.Allowance))
	switch p.Over {
	case access.OverSlow:
		s += fmt.Sprintf(", then %d/%d kbit/s up/down", p.SlowUpKbps, p.SlowDownKbps)
	case access.OverBlock:
		s += ", then payment and self-service only"
	case access.OverPerGB:
		s += fmt.Sprintf(", then %s yuan per GB begun", p.PerGB)
	}
	return s
}

func packTerms(k access.Pack) string {
	lasts := "until the cycle ends"
	if k.Lasts > 0 {
		lasts = "for " + days(k.Lasts)
	}
	return fmt.Sprintf("%s for %s yuan, %s", access.FormatBytes(k.Bytes), k.Price, lasts)
}

func accountPlanCommand() command {
	var area, reason, actor string
	return command{
		name:  "account plan",
		args:  "USER [PLAN] [--area A] [--reason …]",
		short: "show an area's plans and the account's choice; with PLAN, choose it for the next cycle (audited)",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&area, "area", "", "the area (default: the only billed area with plans)")
			fs.StringVar(&reason, "reason", "", "why (required to choose; goes to the ledger and the audit log)")
			fs.StringVar(&actor, "actor", defaultActor(), "who does it (default $SUDO_USER, $USER, else the login name)")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) != 1 && len(args) != 2 {
				return fmt.Errorf("%w: want USER [PLAN]", errUsage)
			}
			if len(args) == 2 && strings.TrimSpace(reason) == "" {
				return fmt.Errorf("%w: --reason is required", errUsage)
			}
			cfg, err := env.loadConfig()
			if err != nil {
				return err
			}
			a, err := planArea(cfg, area)
			if err != nil {
				return err
			}
			svc, _, done, err := env.openBilling(ctx, false)
			if err != nil {
				return err
			}
			defer done()
			user := args[0]
			if len(args) == 2 {
				before, err := svc.PlanStatus(ctx, user, a.Name)
				if err != nil {
					return noSuchUser(user, err)
				}
				changed, err := svc.ChoosePlan(ctx, user, a.Name, args[1], actor, reason)
				if errors.Is(err, billing.ErrUnknownPlan) {
					names := make([]string, len(a.Plans))
					for i, p := range a.Plans {
						names[i] = p.Name
					}
					return fmt.Errorf("%w (the plans of %s: %s)", err, a.Name, strings.Join(names, ", "))
				}
				if err != nil {
					return err
				}
				if !changed {
					fmt.Fprintf(env.stdout, "%s already has plan %s for the next cycle in %s; nothing changed\n", user, args[1], a.Name)
					return nil
				}
				running := "no cycle is running"
				if before.Cycle != nil {
					running = fmt.Sprintf("the running cycle #%d keeps %s until %s", before.Cycle.ID, before.Plan.Name, when(env.zone(), before.Cycle.EndsAt))
				}
				fmt.Fprintf(env.stdout, "plan %s for %s in %s from the next cycle (%s; by %s)\n", args[1], user, a.Name, running, actor)
				return nil
			}
			st, err := svc.PlanStatus(ctx, user, a.Name)
			if err != nil {
				return noSuchUser(user, err)
			}
			fmt.Fprintf(env.stdout, "plans of %s:\n", a.Name)
			for i, p := range a.Plans {
				mark := "  "
				if st.Cycle != nil && st.Plan.Name == p.Name {
					mark = "* "
				}
				_, en := p.Names()
				fmt.Fprintf(env.stdout, "%s%-12s %s: %s", mark, p.Name, en, planTerms(p))
				if i == 0 {
					fmt.Fprint(env.stdout, " (default)")
				}
				fmt.Fprintln(env.stdout)
				for _, k := range p.Packs {
					fmt.Fprintf(env.stdout, "      pack %-8s %s\n", k.Name, packTerms(k))
				}
			}
			printPlanStatus(env.stdout, env, st)
			return nil
		},
	}
}

// printPlanStatus writes an account's plan in one area: the running
// cycle's plan and traffic, the packs and the next cycle's plan.
func printPlanStatus(w io.Writer, env *cli, st access.PlanStatus) {
	loc := env.zone()
	if st.Cycle == nil {
		fmt.Fprintf(w, "%-10s plan %s: no cycle running\n", st.Area.Name, st.Plan.Name)
	} else {
		fmt.Fprintf(w, "%-10s plan %s (cycle #%d until %s): used %s", st.Area.Name, st.Plan.Name, st.Cycle.ID, when(loc, st.Cycle.EndsAt), access.FormatBytes(st.Used()))
		if st.Limit() > 0 {
			fmt.Fprintf(w, " of %s (%d %%), %s left", access.FormatBytes(st.Limit()), st.Percent(), access.FormatBytes(st.Remaining()))
		}
		if st.Cycle.Profile != access.ProfileFull {
			fmt.Fprintf(w, ", profile %s", st.Cycle.Profile)
		}
		fmt.Fprintln(w)
	}
	for _, p := range st.Packs {
		fmt.Fprintf(w, "%-10s pack #%d %s: %s of %s left, until %s (%s yuan)\n", "", p.ID, p.Name, access.FormatBytes(p.Left()), access.FormatBytes(p.Bytes), when(loc, p.ExpiresAt), p.Price)
	}
	how := "the default"
	if st.Chosen {
		how = "chosen"
	}
	fmt.Fprintf(w, "%-10s next cycle: %s (%s): %s\n", "", st.Next.Name, how, planTerms(st.Next))
}

func accountPackCommand() command {
	var area, ref, actor string
	return command{
		name:  "account pack",
		args:  "USER PACK [--area A] [--ref R]",
		short: "buy a traffic pack for the running cycle from the balance (never into the committed cycle fee)",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&area, "area", "", "the area (default: the only billed area with plans)")
			fs.StringVar(&ref, "ref", "", "a reference for this purchase (receipt number); the same one twice buys once (default: a new random one)")
			fs.StringVar(&actor, "actor", defaultActor(), "who does it (default $SUDO_USER, $USER, else the login name)")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) != 2 {
				return fmt.Errorf("%w: want USER PACK", errUsage)
			}
			cfg, err := env.loadConfig()
			if err != nil {
				return err
			}
			a, err := planArea(cfg, area)
			if err != nil {
				return err
			}
			if ref == "" {
				var b [8]byte
				_, _ = rand.Read(b[:])
				ref = time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
			}
			svc, _, done, err := env.openBilling(ctx, false)
			if err != nil {
				return err
			}
			defer done()
			user := args[0]
			p, e, err := svc.BuyPack(ctx, user, a.Name, args[1], actor, "cli:"+ref)
			switch {
			case errors.Is(err, access.ErrDuplicate):
				fmt.Fprintf(env.stdout, "already bought with reference %s: pack #%d %s for %s (%s); nothing charged\n", ref, p.ID, p.Name, user, when(env.zone(), p.BoughtAt))
				return nil
			case errors.Is(err, billing.ErrFunds):
				return fmt.Errorf("%w\n(recharge first; see `campusnet account show %s`)", err, user)
			case err != nil:
				return noSuchUser(user, err)
			}
			fmt.Fprintf(env.stdout, "pack %s (%s) for %s in %s: %s yuan, balance %s yuan, until %s (pack #%d, ledger #%d, reference %s, by %s)\n",
				p.Name, access.FormatBytes(p.Bytes), user, a.Name, p.Price, e.BalanceAfter, when(env.zone(), p.ExpiresAt), p.ID, e.ID, ref, actor)
			return nil
		},
	}
}
