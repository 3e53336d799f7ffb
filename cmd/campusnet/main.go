// Command campusnet is the campus network access server: captive portal,
// RADIUS AAA, billing and self-service in one binary, plus the operator's
// commands. Run `campusnet help` for the list.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// command is one subcommand. Usage lines name the arguments, then the flags
// ("account recharge USER AMOUNT --reason …"): flags may come before or after
// the positional arguments.
type command struct {
	name  string // "users import"
	args  string // "FILE.csv"
	short string
	flags func(fs *flag.FlagSet) // declares the command's flags
	run   func(ctx context.Context, env *cli, args []string) error
}

// cli is what a command runs with.
type cli struct {
	fs     *flag.FlagSet
	stdout io.Writer
	stderr io.Writer
	// configPath is --config, shared by every command that opens the store.
	configPath string
	// loc is [server] timezone once the configuration is loaded: every
	// time a command prints or reads is in it.
	loc *time.Location
}

// zone is the campus time zone (the default one before the configuration is read).
func (env *cli) zone() *time.Location {
	if env.loc == nil {
		return access.DefaultLocation()
	}
	return env.loc
}

// errUsage marks an error that should be followed by the command's usage.
var errUsage = errors.New("usage")

// exitError carries an exit status without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func commands() []command {
	return []command{
		serveCommand(),
		migrateCommand(),
		usersImportCommand(),
		usersAddCommand(),
		usersSeedLoadCommand(),
		historyFillCommand(),
		historyPurgeCommand(),
		versionCommand(),
		accountShowCommand(),
		accountRechargeCommand(),
		accountRefundCommand(),
		accountAdjustCommand(),
		accountPlanCommand(),
		accountPackCommand(),
		accountResetPasswordCommand(),
		accountDisableCommand(true),
		accountDisableCommand(false),
		billingSettleCommand(),
		billingVerifyCommand(),
		nodesCommand(),
		devicesExplainCommand(),
		devicesBindCommand(),
		devicesUnbindCommand(),
		devicesListCommand(),
		devicesImportCommand(),
		sessionsCommand(),
		traceCommand(),
		kickCommand(),
		nasListCommand(),
		notifyListCommand(),
		notifyRetryCommand(),
	}
}

func main() {
	identity.MaybeServeHashWorker() // the password-hashing worker is this program too
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches args to a command and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printHelp(stdout, cmds)
		return 0
	}
	// The longest command name that prefixes the arguments wins
	// ("users import" before "users").
	var best *command
	bestLen := 0
	for i := range cmds {
		words := strings.Fields(cmds[i].name)
		if len(words) <= len(args) && len(words) > bestLen {
			match := true
			for j, w := range words {
				if args[j] != w {
					match = false
					break
				}
			}
			if match {
				best, bestLen = &cmds[i], len(words)
			}
		}
	}
	if best == nil {
		fmt.Fprintf(stderr, "campusnet: unknown command %q (try campusnet help)\n", strings.Join(args, " "))
		return 2
	}
	c := best
	fs := flag.NewFlagSet("campusnet "+c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := &cli{fs: fs, stdout: stdout, stderr: stderr}
	fs.StringVar(&env.configPath, "config", os.Getenv("CAMPUSNET_CONFIG"), "configuration `FILE` (default: the embedded default; env CAMPUSNET_CONFIG)")
	if c.flags != nil {
		c.flags(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: campusnet %s [flags] %s\n\n%s\n\nflags:\n", c.name, c.args, c.short)
		fs.PrintDefaults()
	}
	// Every argument and flag value is text from outside: one with a
	// control character or invalid UTF-8 (a user name typed in a Latin-1
	// terminal, an escape sequence pasted) is refused here, before any of
	// it reaches SQL (PostgreSQL refuses such bytes) or the terminal.
	for _, a := range args[bestLen:] {
		if !cleanArg(a) {
			fmt.Fprintf(stderr, "campusnet %s: argument %q has control characters or is not UTF-8; nothing was done\n", c.name, a)
			return 2
		}
	}
	pos, err := parseInterspersed(fs, args[bestLen:])
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	err = c.run(ctx, env, pos)
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "campusnet %s: %v\n", c.name, err)
		fs.Usage()
		return 2
	default:
		fmt.Fprintf(stderr, "campusnet %s: %v\n", c.name, err)
		return 1
	}
}

// cleanArg reports whether a command-line argument is UTF-8 without
// control characters.
func cleanArg(s string) bool { return access.PlainText(s) }

// parseInterspersed parses flags that may stand before, between or after the
// positional arguments; "--" ends the flags. A negative number ("adjust u1
// -5") is a positional, not a flag.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case len(a) > 1 && a[0] == '-' && !isNegativeNumber(a):
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if strings.Contains(name, "=") {
				continue
			}
			f := fs.Lookup(name)
			if f == nil {
				continue // Parse reports it
			}
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		default:
			pos = append(pos, a)
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, err
	}
	return pos, nil
}

func isNegativeNumber(s string) bool {
	if len(s) < 2 || s[0] != '-' {
		return false
	}
	for _, r := range s[1:] {
		if (r < '0' || r > '9') && r != '.' {
			return false
		}
	}
	return true
}

func printHelp(w io.Writer, cmds []command) {
	fmt.Fprintf(w, "campusnet %s — campus network access server (portal, RADIUS, billing, self-service)\n\nusage: campusnet COMMAND [flags] [args]\n\ncommands:\n", version)
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-44s %s\n", strings.TrimSpace(c.name+" "+c.args), c.short)
	}
	fmt.Fprintf(w, "\nEvery command takes --config FILE and --help.\n")
}

func versionCommand() command {
	return command{name: "version", short: "print the version", run: func(_ context.Context, env *cli, _ []string) error {
		fmt.Fprintf(env.stdout, "campusnet %s\n", version)
		return nil
	}}
}

func newFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("campusnet", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}
