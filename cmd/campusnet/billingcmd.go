package main

import (
	"context"
	"flag"
	"fmt"
)

func billingSettleCommand() command {
	var noDisconnect bool
	return command{
		name:  "billing settle",
		short: "charge every cycle whose settlement date has come (safe beside running servers; serve does it every minute)",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&noDisconnect, "no-disconnect", false, "do not send Disconnect-Requests for arrears (a running serve sends them)")
		},
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: unexpected argument %q", errUsage, args[0])
			}
			svc, _, done, err := env.openBilling(ctx, !noDisconnect)
			if err != nil {
				return err
			}
			defer done()
			rep, err := svc.Settle(ctx)
			fmt.Fprintf(env.stdout, "settlement: %s\n", rep)
			if n := rep.Disconnects["unavailable"]; n > 0 {
				fmt.Fprintf(env.stdout, "%d session(s) in arrears must be disconnected: a running `campusnet serve` does it within its settle interval\n", n)
			}
			return err
		},
	}
}

func billingVerifyCommand() command {
	return command{
		name:  "billing verify",
		short: "check balance == sum(ledger), one fee per settled cycle, no balance below its committed fee; exit 1 on problems",
		run: func(ctx context.Context, env *cli, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("%w: unexpected argument %q", errUsage, args[0])
			}
			svc, _, done, err := env.openBilling(ctx, false)
			if err != nil {
				return err
			}
			defer done()
			probs, err := svc.Verify(ctx)
			if err != nil {
				return err
			}
			if len(probs) == 0 {
				fmt.Fprintln(env.stdout, "billing verify: ok, the books are consistent")
				return nil
			}
			for _, p := range probs {
				fmt.Fprintf(env.stdout, "%s\t%s\t%s\n", p.Username, p.Kind, p.Detail)
			}
			fmt.Fprintf(env.stderr, "billing verify: %d problem(s)\n", len(probs))
			return exitError{1}
		},
	}
}
