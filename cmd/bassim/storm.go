package main

import (
	"context"
	"flag"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"layeh.com/radius/rfc2866"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
)

// stormCommand is `bassim storm`: a login storm as a campus sees it when a
// dorm's power comes back — N password logins (RADIUS PAP from the BAS,
// and portal logins through the browser and the BAS's Portal protocol),
// all at once or spread over a while, with the BAS's retransmissions —
// beside the steady traffic of everyone else: MAC authentication at a rate
// and accounting sessions (Start, then Stop) at a rate. It is an open
// loop: requests go out on time whether or not earlier ones were answered.
// It prints, for the password logins, how many were accepted, refused,
// answered with the portal's busy page or not answered, and how many were
// answered before each retransmission; for MAC authentication and
// accounting sent during the storm, the counts and latency percentiles.
func stormCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bassim storm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.flags(fs)
	var o stormOptions
	fs.IntVar(&o.pap, "pap", 250, "password logins by RADIUS PAP")
	fs.IntVar(&o.portal, "portal", 250, "password logins through the portal (needs --portal-url and --portal-listen)")
	fs.DurationVar(&o.spread, "spread", 0, "spread the password logins evenly over this long (0: all at once)")
	fs.Float64Var(&o.macRate, "mac-rate", 50, "MAC authentications per second, beside the storm")
	fs.Float64Var(&o.acctRate, "acct-rate", 25, "accounting sessions per second (a Start, and a Stop --session later)")
	fs.DurationVar(&o.session, "session", 5*time.Second, "how long an accounting session lasts")
	fs.DurationVar(&o.lead, "lead", 3*time.Second, "steady traffic before the storm (not counted)")
	fs.IntVar(&o.users, "users", 2000, "load-test users (campusnet users seed-load): the password logins take the first ones, the steady traffic the rest")
	fs.StringVar(&o.prefix, "user-prefix", "loaduser", "user names are PREFIX00001…")
	fs.StringVar(&o.password, "password", "load-pass", "the users' password")
	fs.StringVar(&o.portalURL, "portal-url", "", "the portal's address (http://host:port)")
	fs.StringVar(&o.portalListen, "portal-listen", "127.0.0.1:22000", "where this BAS answers the portal's Portal protocol (the NAS's portal_addr)")
	fs.StringVar(&o.portalSecret, "portal-secret", "testing123", "Portal protocol shared secret")
	fs.StringVar(&o.nasName, "nas-name", "bench-bras", "this BAS's name in the portal's configuration (wlanacname)")
	// A BAS's retransmissions: 3 s × 3 tries unless told otherwise.
	c.retry, c.tries = 3*time.Second, 3
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if o.pap < 0 || o.portal < 0 || o.users < o.pap+o.portal+1 || o.macRate < 0 || o.acctRate < 0 {
		return fmt.Errorf("%w: --users must exceed --pap + --portal, and counts and rates must not be negative", errUsage)
	}
	if o.portal > 0 && o.portalURL == "" {
		return fmt.Errorf("%w: --portal logins need --portal-url", errUsage)
	}
	nasIP, err := netip.ParseAddr(c.nasIP)
	if err != nil {
		return fmt.Errorf("%w: --nas-ip %q", errUsage, c.nasIP)
	}
	auth, acct := c.addrs()
	mk := func() *bas.BAS {
		return bas.New(bas.Config{NASIP: nasIP, Secret: c.secret, AuthAddr: auth, AcctAddr: acct, Log: slog.New(slog.DiscardHandler),
			Retry: c.retry, MaxTries: c.tries, AcceptRepliesWithoutMA: c.noMA})
	}
	o.c = c
	o.storm, o.steady = mk(), mk()
	defer o.storm.Close()
	defer o.steady.Close()
	if o.portal > 0 {
		o.side = bas.NewPortalSide(o.storm, bas.PortalSideConfig{Secret: o.portalSecret, BASIP: nasIP})
		go func() {
			if err := o.side.ListenAndServe(o.portalListen); err != nil {
				fmt.Fprintln(stderr, "bassim storm: portal side:", err)
			}
		}()
		defer o.side.Shutdown(context.Background())
	}
	r := o.run(ctx)
	r.print(stdout, &o)
	return ctx.Err()
}

type stormOptions struct {
	c                                     common
	pap, portal, users                    int
	spread, session, lead                 time.Duration
	macRate, acctRate                     float64
	prefix, password                      string
	portalURL, portalListen, portalSecret string
	nasName                               string
	storm, steady                         *bas.BAS
	side                                  *bas.PortalSide
}

// stormLogin is one password login's outcome.
type stormLogin struct {
	portal  bool
	lat     time.Duration
	outcome string // accepted, rejected, busy, unanswered, error
	detail  string
}

// steadyReq is one MAC authentication or accounting request.
type steadyReq struct {
	kind     string // mac, acct
	sent     time.Time
	lat      time.Duration
	answered bool
	accepted bool
}

type stormResult struct {
	logins       []stormLogin
	steady       []steadyReq
	began, ended time.Time
}

func (o *stormOptions) run(ctx context.Context) *stormResult {
	res := &stormResult{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	steadyCtx, stopSteady := context.WithCancel(ctx)
	defer stopSteady()
	first := o.pap + o.portal + 1 // the steady traffic's users
	steadyUser := func(k int) int { return first + k%(o.users-first+1) }
	var steadyWG sync.WaitGroup
	record := func(r steadyReq) {
		mu.Lock()
		res.steady = append(res.steady, r)
		mu.Unlock()
	}
	ticker := func(rate float64, f func(k int)) {
		if rate <= 0 {
			return
		}
		steadyWG.Go(func() {
			start := time.Now()
			for k := 0; ; k++ {
				at := start.Add(time.Duration(float64(k) / rate * float64(time.Second)))
				select {
				case <-time.After(time.Until(at)):
				case <-steadyCtx.Done():
					return
				}
				steadyWG.Go(func() { f(k) })
			}
		})
	}
	ticker(o.macRate, func(k int) {
		i := steadyUser(k)
		sent := time.Now()
		r, err := o.steady.Authenticate(context.Background(), bas.AuthRequest{MAC: bas.LoadMAC(i), UserIP: loadIP(i)})
		record(steadyReq{kind: "mac", sent: sent, lat: time.Since(sent), answered: err == nil, accepted: err == nil && r.Accepted})
	})
	ticker(o.acctRate, func(k int) {
		i := steadyUser(k * 7919) // another order than the MAC authentications
		mac, _ := access.NormalizeMAC(bas.LoadMAC(i))
		s := bas.Session{AcctSessionID: fmt.Sprintf("storm-%d-%d", time.Now().UnixNano(), k), UserName: bas.LoadUser(o.prefix, i),
			MAC: mac, UserIP: loadIP(i), StartedAt: time.Now()}
		for _, status := range []rfc2866.AcctStatusType{rfc2866.AcctStatusType_Value_Start, rfc2866.AcctStatusType_Value_Stop} {
			if status == rfc2866.AcctStatusType_Value_Stop {
				select {
				case <-time.After(o.session):
				case <-steadyCtx.Done():
					return
				}
			}
			sent := time.Now()
			err := o.steady.Account(context.Background(), status, s)
			record(steadyReq{kind: "acct", sent: sent, lat: time.Since(sent), answered: err == nil, accepted: err == nil})
		}
	})

	select {
	case <-time.After(o.lead):
	case <-ctx.Done():
		return res
	}
	res.began = time.Now()
	n := o.pap + o.portal
	// PAP and portal logins alternate while both last.
	kinds := make([]bool, 0, n)
	for p, q := o.pap, o.portal; p+q > 0; {
		if q > 0 && (p == 0 || len(kinds)%2 == 1) {
			kinds, q = append(kinds, true), q-1
		} else {
			kinds, p = append(kinds, false), p-1
		}
	}
	for k := range n {
		at := res.began
		if o.spread > 0 && n > 1 {
			at = res.began.Add(time.Duration(int64(o.spread) * int64(k) / int64(n-1)))
		}
		portal := kinds[k]
		i := k + 1
		wg.Go(func() {
			select {
			case <-time.After(time.Until(at)):
			case <-ctx.Done():
				return
			}
			var l stormLogin
			if portal {
				l = o.portalLogin(ctx, i)
			} else {
				l = o.papLogin(ctx, i)
			}
			mu.Lock()
			res.logins = append(res.logins, l)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.ended = time.Now()
	stopSteady()
	steadyWG.Wait()
	return res
}

func (o *stormOptions) papLogin(ctx context.Context, i int) stormLogin {
	sent := time.Now()
	r, err := o.storm.Authenticate(ctx, bas.AuthRequest{UserName: bas.LoadUser(o.prefix, i), Password: o.password, MAC: bas.LoadMAC(i), UserIP: loadIP(i)})
	l := stormLogin{lat: time.Since(sent)}
	switch {
	case err != nil:
		l.outcome, l.detail = "unanswered", err.Error()
	case r.Accepted:
		l.outcome = "accepted"
	default:
		l.outcome, l.detail = "rejected", r.ReplyMessage
	}
	return l
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// portalLogin is a student's browser: the BAS's redirect to the portal,
// the form, the POST; the portal then runs the login through this BAS's
// Portal protocol side and RADIUS.
func (o *stormOptions) portalLogin(ctx context.Context, i int) stormLogin {
	l := stormLogin{portal: true}
	jar, _ := cookiejar.New(nil) // the form's cookie (against cross-site posts)
	cl := &http.Client{Timeout: 60 * time.Second, Jar: jar}
	ip := loadIP(i).String()
	sent := time.Now()
	q := url.Values{"wlanuserip": {ip}, "wlanacname": {o.nasName}, "wlanusermac": {bas.LoadMAC(i)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(o.portalURL, "/")+"/?"+q.Encode(), nil)
	if err != nil {
		l.outcome, l.detail = "error", err.Error()
		return l
	}
	resp, err := cl.Do(req)
	if err != nil {
		l.outcome, l.detail, l.lat = "unanswered", err.Error(), time.Since(sent)
		return l
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	f := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(page), -1) {
		f.Set(m[1], html.UnescapeString(m[2]))
	}
	f.Set("username", bas.LoadUser(o.prefix, i))
	f.Set("password", o.password)
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(o.portalURL, "/")+"/login", strings.NewReader(f.Encode()))
	if err != nil {
		l.outcome, l.detail = "error", err.Error()
		return l
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = cl.Do(req)
	l.lat = time.Since(sent)
	if err != nil {
		l.outcome, l.detail = "unanswered", err.Error()
		return l
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	b := string(body)
	switch {
	case resp.StatusCode == http.StatusOK && strings.Contains(b, "已上线"):
		l.outcome = "accepted"
	case strings.Contains(b, string(access.ReasonBusy)):
		l.outcome = "busy"
	case resp.StatusCode == http.StatusUnauthorized || strings.Contains(b, string(access.ReasonBadCredentials)):
		l.outcome, l.detail = "rejected", "wrong password"
	default:
		l.outcome, l.detail = "error", fmt.Sprintf("HTTP %d %s", resp.StatusCode, headline(b))
	}
	return l
}

var h1 = regexp.MustCompile(`(?s)<h1[^>]*>(.*?)</h1>.*?<p[^>]*>(.*?)</p>`)

// headline is a page's heading and first paragraph, for an error line.
func headline(page string) string {
	m := h1.FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return strings.Join(strings.Fields(html.UnescapeString(m[1]+" | "+m[2])), " ")
}

func (r *stormResult) print(w io.Writer, o *stormOptions) {
	how := "all at once"
	if o.spread > 0 {
		how = "spread over " + o.spread.String()
	}
	fmt.Fprintf(w, "bassim storm: %d password logins (%d PAP, %d portal) %s; MAC authentication %.0f/s, accounting %.0f sessions/s; BAS retries %s × %d\n",
		o.pap+o.portal, o.pap, o.portal, how, o.macRate, o.acctRate, o.c.retry, o.c.tries)
	if r.began.IsZero() {
		return
	}
	fmt.Fprintf(w, "storm lasted %s\n", r.ended.Sub(r.began).Round(time.Millisecond))
	for _, kind := range []struct {
		name   string
		portal bool
	}{{"PAP", false}, {"portal", true}} {
		var ls []stormLogin
		for _, l := range r.logins {
			if l.portal == kind.portal {
				ls = append(ls, l)
			}
		}
		if len(ls) == 0 {
			continue
		}
		counts := map[string]int{}
		var lat []time.Duration
		within := make([]int, o.c.tries)
		details := map[string]int{}
		for _, l := range ls {
			counts[l.outcome]++
			if l.outcome == "accepted" || l.outcome == "rejected" || l.outcome == "busy" {
				lat = append(lat, l.lat)
				for t := range within {
					if l.lat < time.Duration(t+1)*o.c.retry {
						within[t]++
					}
				}
			}
			if l.detail != "" && l.outcome != "unanswered" {
				details[l.outcome+": "+l.detail]++
			}
		}
		slices.Sort(lat)
		fmt.Fprintf(w, "%s logins %d: accepted %d, rejected %d, busy page %d, unanswered %d, errors %d\n", kind.name, len(ls),
			counts["accepted"], counts["rejected"], counts["busy"], counts["unanswered"], counts["error"])
		var parts []string
		for t, n := range within {
			what := fmt.Sprintf("before try %d", t+2)
			if t == len(within)-1 {
				what = "before the BAS gives up"
			}
			parts = append(parts, fmt.Sprintf("%s (%s) %.1f%%", what, time.Duration(t+1)*o.c.retry, 100*float64(n)/float64(len(ls))))
		}
		fmt.Fprintf(w, "  answered %s\n", strings.Join(parts, ", "))
		if len(lat) > 0 {
			fmt.Fprintf(w, "  latency of the answered p50 %s  p99 %s  max %s\n", pct(lat, .5), pct(lat, .99), lat[len(lat)-1].Round(time.Millisecond))
		}
		for d, n := range details {
			fmt.Fprintf(w, "  %d × %s\n", n, d)
		}
	}
	for _, kind := range []string{"mac", "acct"} {
		var lat []time.Duration
		sent, answered, accepted := 0, 0, 0
		for _, s := range r.steady {
			if s.kind != kind || s.sent.Before(r.began) || s.sent.After(r.ended) {
				continue
			}
			sent++
			if s.answered {
				answered++
				lat = append(lat, s.lat)
			}
			if s.accepted {
				accepted++
			}
		}
		name := map[string]string{"mac": "MAC authentication", "acct": "accounting"}[kind]
		if sent == 0 {
			continue
		}
		slices.Sort(lat)
		fmt.Fprintf(w, "%s during the storm: sent %d, answered %d (accepted %d), unanswered %d", name, sent, answered, accepted, sent-answered)
		if len(lat) > 0 {
			fmt.Fprintf(w, "; p50 %s  p99 %s  max %s", pct(lat, .5), pct(lat, .99), lat[len(lat)-1].Round(time.Microsecond))
		}
		fmt.Fprintln(w)
		if o.c.verbose {
			// Second by second: when in the storm the slow ones were sent.
			secs := map[int][]time.Duration{}
			for _, s := range r.steady {
				if s.kind == kind && s.answered && !s.sent.Before(r.began) && !s.sent.After(r.ended) {
					k := int(s.sent.Sub(r.began) / time.Second)
					secs[k] = append(secs[k], s.lat)
				}
			}
			for k := 0; k <= int(r.ended.Sub(r.began)/time.Second); k++ {
				l := secs[k]
				if len(l) == 0 {
					continue
				}
				slices.Sort(l)
				fmt.Fprintf(w, "  second %d: %d answered, p50 %s, max %s\n", k, len(l), pct(l, .5), l[len(l)-1].Round(time.Microsecond))
			}
		}
	}
}
