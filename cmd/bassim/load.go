package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/campusnet/campusnet/internal/bas"
)

// loadIP is load-test user i's address (the population is bas.LoadUser and
// bas.LoadMAC, which `campusnet users seed-load` creates).
func loadIP(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}

// loadModes are the request mixes of `bassim load` (see flight).
var loadModes = map[string]bool{"auth-mac": true, "auth-pap": true, "acct": true, "mixed": true}

type outcome int

const (
	outAccepted outcome = iota
	outRejected
	outTimeout
)

type loader struct {
	b        *bas.BAS
	prefix   string
	password string
	seq      atomic.Uint64
	run      string
	ipv6     netip.Prefix // dual stack when valid
}

func (l *loader) sessionID() string { return fmt.Sprintf("L%s-%d", l.run, l.seq.Add(1)) }

// stats are one flight's counts (by outcome) and latencies.
type stats struct {
	counts [3]int
	lat    []time.Duration
}

// loadCommand is `bassim load`: a closed loop — each of N workers sends its
// next request as soon as the last one is answered — for a duration.
func loadCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bassim load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.flags(fs)
	var mode, prefix, password string
	var conc, users int
	var dur, warmup time.Duration
	fs.StringVar(&mode, "mode", "auth-mac", "auth-mac (MAC authentication of bound devices), auth-pap (password against identity), acct (Start+Stop), mixed (auth-mac, Start, Interim, Stop)")
	fs.IntVar(&conc, "concurrency", 16, "requests in flight (workers)")
	fs.DurationVar(&dur, "duration", 30*time.Second, "how long to measure")
	fs.DurationVar(&warmup, "warmup", 2*time.Second, "run this long first without measuring")
	fs.IntVar(&users, "users", 1000, "simulated users (see campusnet users seed-load)")
	fs.StringVar(&prefix, "user-prefix", "loaduser", "user names are PREFIX00001…")
	fs.StringVar(&password, "password", "load-pass", "the users' password (auth-pap)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if !loadModes[mode] {
		return fmt.Errorf("%w: unknown --mode %q", errUsage, mode)
	}
	if conc < 1 || users < 1 || dur <= 0 {
		return fmt.Errorf("%w: --concurrency, --users and --duration must be positive", errUsage)
	}
	nasIP, err := netip.ParseAddr(c.nasIP)
	if err != nil {
		return fmt.Errorf("%w: --nas-ip %q", errUsage, c.nasIP)
	}
	auth, acct := c.addrs()
	authAP, err := resolveUDP(auth)
	if err != nil {
		return err
	}
	acctAP, err := resolveUDP(acct)
	if err != nil {
		return err
	}
	v6, err := c.ipv6Prefix()
	if err != nil {
		return err
	}
	b := bas.New(bas.Config{NASIP: nasIP, Secret: c.secret, AuthAddr: auth, AcctAddr: acct,
		Log: slog.New(slog.DiscardHandler), Retry: c.retry, MaxTries: c.tries, AcceptRepliesWithoutMA: c.noMA, IPv6Prefix: v6})
	defer b.Close()
	l := &loader{b: b, prefix: prefix, password: password, run: fmt.Sprintf("%x", time.Now().UnixNano()&0xffffffff), ipv6: v6}

	var measuring atomic.Bool
	var flights []*flight
	for first := 0; first < conc; first += flightWorkers {
		f, err := newFlight(l, mode, first, min(flightWorkers, conc-first), conc, users, authAP, acctAP, &c, &measuring, stderr)
		if err != nil {
			for _, f := range flights {
				f.conn.Close()
			}
			return fmt.Errorf("bassim load: %w", err)
		}
		flights = append(flights, f)
	}
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		// One core per flight goroutine: the load generator usually shares
		// the machine with the server it measures, and threads it cannot
		// keep busy only spin and wake one another, on CPU the server
		// needs. (On 2 cores at 16 in flight the effect on campusnet's
		// figures was within the machine's run-to-run spread.)
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(min(len(flights), runtime.NumCPU())))
	}
	var wg sync.WaitGroup
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(flights))
	for k, f := range flights {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[k] = f.run(runCtx); errs[k] != nil {
				cancel()
			}
		}()
	}
	fmt.Fprintf(stdout, "bassim load: mode %s, concurrency %d, %d users, auth %s, acct %s; warming up %s, measuring %s\n",
		mode, conc, users, auth, acct, warmup, dur)
	select {
	case <-time.After(warmup):
	case <-runCtx.Done():
	}
	if ctx.Err() != nil {
		cancel()
		wg.Wait()
		return ctx.Err()
	}
	measuring.Store(true)
	began := time.Now()
	select {
	case <-time.After(dur):
	case <-runCtx.Done():
	}
	measuring.Store(false)
	elapsed := time.Since(began)
	cancel()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bassim load: %w", err)
	}
	all := make([]*stats, len(flights))
	for k, f := range flights {
		all[k] = f.st
	}

	var total [3]int
	var lat []time.Duration
	for _, st := range all {
		for i := range total {
			total[i] += st.counts[i]
		}
		lat = append(lat, st.lat...)
	}
	slices.Sort(lat)
	sent := len(lat)
	fmt.Fprintf(stdout, "sent %d  accepted %d  rejected %d  timed out %d\n",
		sent, total[outAccepted], total[outRejected], total[outTimeout])
	fmt.Fprintf(stdout, "requests/s %.0f\n", float64(sent)/elapsed.Seconds())
	if sent > 0 {
		fmt.Fprintf(stdout, "latency p50 %s  p99 %s  p999 %s  max %s\n",
			pct(lat, 0.50), pct(lat, 0.99), pct(lat, 0.999), lat[len(lat)-1].Round(time.Microsecond))
	}
	return nil
}

// resolveUDP resolves a host:port for sending.
func resolveUDP(addr string) (netip.AddrPort, error) {
	a, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: address %q: %v", errUsage, addr, err)
	}
	ap := a.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

func pct(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i].Round(time.Microsecond)
}
