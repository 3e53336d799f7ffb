// Command bassim is a BAS simulator for tests, demos and benchmarks: it logs
// simulated subscribers in over RADIUS (PAP, MAC authentication), accounts
// for them, answers Disconnect-Requests (ACK, or NAK when told to), and
// `bassim load` drives a RADIUS server as hard as it will go.
//
//	bassim run   --login USER:PASS[:MAC[:IP]] --mac-login MAC … [--nak CAUSE]
//	bassim load  --mode auth-mac|auth-pap|acct|mixed --concurrency 16 --duration 30s --users 1000
//	bassim storm --pap 250 --portal 250 [--spread 2m] --mac-rate 50 --acct-rate 25 --portal-url URL
//
// The accounts `bassim load` logs in are made by `campusnet users seed-load`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// common are the flags every subcommand that talks RADIUS takes.
type common struct {
	server  string
	auth    string
	acct    string
	secret  string
	nasIP   string
	retry   time.Duration
	tries   int
	noMA    bool
	verbose bool
	ipv6    string
}

func (c *common) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.server, "server", "127.0.0.1", "RADIUS server host")
	fs.StringVar(&c.auth, "auth", "", "authentication address (default SERVER:1812)")
	fs.StringVar(&c.acct, "acct", "", "accounting address (default SERVER:1813)")
	fs.StringVar(&c.secret, "secret", "testing123", "RADIUS shared secret")
	fs.StringVar(&c.nasIP, "nas-ip", "127.0.0.1", "this BAS's address (NAS-IP-Address; requests are sent from it when it is a loopback address)")
	fs.DurationVar(&c.retry, "retry", time.Second, "wait for an answer before resending")
	fs.StringVar(&c.ipv6, "ipv6-prefix", "", "dual stack: each user also gets the SLAAC (EUI-64) address of its MAC in this /64, sent as Framed-IPv6-Address with the /64 as Framed-IPv6-Prefix (\"\" = IPv4 only)")
	fs.IntVar(&c.tries, "tries", 3, "sends per request")
	fs.BoolVar(&c.noMA, "accept-no-message-authenticator", false, "accept Access replies without Message-Authenticator (a server older than the BlastRADIUS fixes, e.g. FreeRADIUS < 3.2.5)")
	fs.BoolVar(&c.verbose, "v", false, "log more")
}

func (c *common) addrs() (string, string) {
	auth, acct := c.auth, c.acct
	if auth == "" {
		auth = c.server + ":1812"
	}
	if acct == "" {
		acct = c.server + ":1813"
	}
	return auth, acct
}

var errUsage = errors.New("usage")

type subcommand struct {
	name, usage string
	run         func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func subcommands() []subcommand {
	return []subcommand{
		{"run", "run the BAS: log subscribers in, account for them, answer Disconnect-Requests", runCommand},
		{"storm", "a login storm: password logins at once (PAP and portal) with retries, beside MAC authentication and accounting at a rate", stormCommand},
		{"load", "closed-loop load against a RADIUS server; prints counts, requests/s and latency percentiles", loadCommand},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stdout, "bassim — a BAS simulator (RADIUS client, accounting, Disconnect listener) and load generator\n\ncommands:")
		for _, c := range subcommands() {
			fmt.Fprintf(stdout, "  %-6s %s\n", c.name, c.usage)
		}
		fmt.Fprintln(stdout, "\nbassim COMMAND --help for its flags.")
		return 0
	}
	for _, c := range subcommands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				fmt.Fprintf(stderr, "bassim %s: %v\n", c.name, err)
				return 2
			default:
				fmt.Fprintf(stderr, "bassim %s: %v\n", c.name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "bassim: unknown command %q (try bassim help)\n", args[0])
	return 2
}

// parse parses flags that may come before or after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// ipv6Prefix reads --ipv6-prefix: "" is none, else an IPv6 prefix of at
// most /64.
func (c *common) ipv6Prefix() (netip.Prefix, error) {
	if c.ipv6 == "" {
		return netip.Prefix{}, nil
	}
	p, err := netip.ParsePrefix(c.ipv6)
	if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() || p.Bits() > 64 {
		return netip.Prefix{}, fmt.Errorf("%w: --ipv6-prefix %q: want an IPv6 prefix of /64 or shorter", errUsage, c.ipv6)
	}
	q, _ := p.Addr().Prefix(64)
	return q, nil
}
