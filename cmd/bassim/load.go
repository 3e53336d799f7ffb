package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"layeh.com/radius/rfc2866"

	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/radius"
)

// The load-test population, shared with `bassim seed`: user i (from 1) is
// loaduserNNNNN with a bound PC whose MAC is 02:4c:00 followed by i.
func loadUser(prefix string, i int) string { return fmt.Sprintf("%s%05d", prefix, i) }

func loadMAC(i int) string {
	return fmt.Sprintf("02:4c:00:%02x:%02x:%02x", (i>>16)&0xff, (i>>8)&0xff, i&0xff)
}

func loadIP(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}

// loadModes are the request mixes of `bassim load`: each runs one
// operation for user i and reports every RADIUS exchange it made.
var loadModes = map[string]func(ctx context.Context, l *loader, i int, rec func(time.Duration, outcome)){
	"auth-mac": func(ctx context.Context, l *loader, i int, rec func(time.Duration, outcome)) {
		t0 := time.Now()
		res, err := l.b.Authenticate(ctx, bas.AuthRequest{MAC: loadMAC(i), UserIP: loadIP(i)})
		rec(time.Since(t0), authOutcome(res, err))
		if err == nil && res.Accepted {
			l.b.Forget(res.AcctSessionID)
		}
	},
	"auth-pap": func(ctx context.Context, l *loader, i int, rec func(time.Duration, outcome)) {
		t0 := time.Now()
		res, err := l.b.Authenticate(ctx, bas.AuthRequest{UserName: loadUser(l.prefix, i), Password: l.password, MAC: loadMAC(i), UserIP: loadIP(i)})
		rec(time.Since(t0), authOutcome(res, err))
		if err == nil && res.Accepted {
			l.b.Forget(res.AcctSessionID)
		}
	},
	"acct": func(ctx context.Context, l *loader, i int, rec func(time.Duration, outcome)) {
		s := bas.Session{AcctSessionID: l.sessionID(), UserName: loadUser(l.prefix, i), MAC: loadMAC(i), UserIP: loadIP(i)}
		for _, st := range []rfc2866.AcctStatusType{rfc2866.AcctStatusType_Value_Start, rfc2866.AcctStatusType_Value_Stop} {
			t0 := time.Now()
			err := l.b.Account(ctx, st, s)
			rec(time.Since(t0), acctOutcome(err))
			if err != nil {
				return
			}
			s.InputOctets, s.OutputOctets = 1<<20, 8<<20
		}
	},
	"mixed": func(ctx context.Context, l *loader, i int, rec func(time.Duration, outcome)) {
		t0 := time.Now()
		res, err := l.b.Authenticate(ctx, bas.AuthRequest{MAC: loadMAC(i), UserIP: loadIP(i)})
		rec(time.Since(t0), authOutcome(res, err))
		if err != nil || !res.Accepted {
			return
		}
		for _, step := range []func(context.Context, string) error{l.b.Start, l.b.Interim, l.b.Stop} {
			t0 := time.Now()
			err := step(ctx, res.AcctSessionID)
			rec(time.Since(t0), acctOutcome(err))
			if err != nil {
				l.b.Forget(res.AcctSessionID)
				return
			}
		}
	},
}

type outcome int

const (
	outAccepted outcome = iota
	outRejected
	outTimeout
	outError
)

func authOutcome(res bas.AuthResult, err error) outcome {
	switch {
	case errors.Is(err, radius.ErrNoResponse):
		return outTimeout
	case err != nil:
		return outError
	case res.Accepted:
		return outAccepted
	}
	return outRejected
}

func acctOutcome(err error) outcome {
	switch {
	case errors.Is(err, radius.ErrNoResponse):
		return outTimeout
	case err != nil:
		return outError
	}
	return outAccepted
}

type loader struct {
	b        *bas.BAS
	prefix   string
	password string
	seq      atomic.Uint64
	run      string
}

func (l *loader) sessionID() string { return fmt.Sprintf("L%s-%d", l.run, l.seq.Add(1)) }

// stats are one worker's counts and latencies.
type stats struct {
	counts [4]int
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
	fs.IntVar(&users, "users", 1000, "simulated users (see bassim seed)")
	fs.StringVar(&prefix, "user-prefix", "loaduser", "user names are PREFIX00001…")
	fs.StringVar(&password, "password", "load-pass", "the users' password (auth-pap)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	op, ok := loadModes[mode]
	if !ok {
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
	b := bas.New(bas.Config{NASIP: nasIP, Secret: c.secret, AuthAddr: auth, AcctAddr: acct,
		Log: slog.New(slog.DiscardHandler), Retry: c.retry, MaxTries: c.tries, AcceptRepliesWithoutMA: c.noMA})
	defer b.Close()
	l := &loader{b: b, prefix: prefix, password: password, run: fmt.Sprintf("%x", time.Now().UnixNano()&0xffffffff)}

	var measuring atomic.Bool
	all := make([]*stats, conc)
	var wg sync.WaitGroup
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	for w := range conc {
		st := &stats{lat: make([]time.Duration, 0, 1<<16)}
		all[w] = st
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := func(d time.Duration, o outcome) {
				if measuring.Load() {
					st.counts[o]++
					st.lat = append(st.lat, d)
				}
			}
			for k := 0; runCtx.Err() == nil; k++ {
				i := 1 + (w+k*conc)%users
				op(runCtx, l, i, rec)
			}
		}()
	}
	fmt.Fprintf(stdout, "bassim load: mode %s, concurrency %d, %d users, auth %s, acct %s; warming up %s, measuring %s\n",
		mode, conc, users, auth, acct, warmup, dur)
	select {
	case <-time.After(warmup):
	case <-ctx.Done():
		return ctx.Err()
	}
	measuring.Store(true)
	began := time.Now()
	select {
	case <-time.After(dur):
	case <-ctx.Done():
	}
	measuring.Store(false)
	elapsed := time.Since(began)
	cancel()
	wg.Wait()

	var total [4]int
	var lat []time.Duration
	for _, st := range all {
		for i := range total {
			total[i] += st.counts[i]
		}
		lat = append(lat, st.lat...)
	}
	slices.Sort(lat)
	sent := len(lat)
	fmt.Fprintf(stdout, "sent %d  accepted %d  rejected %d  timed out %d  errors %d\n",
		sent, total[outAccepted], total[outRejected], total[outTimeout], total[outError])
	fmt.Fprintf(stdout, "requests/s %.0f\n", float64(sent)/elapsed.Seconds())
	if sent > 0 {
		fmt.Fprintf(stdout, "latency p50 %s  p99 %s  p999 %s  max %s\n",
			pct(lat, 0.50), pct(lat, 0.99), pct(lat, 0.999), lat[len(lat)-1].Round(time.Microsecond))
	}
	return nil
}

func pct(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i].Round(time.Microsecond)
}
