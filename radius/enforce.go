package radius

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/radius/radiusproto"
)

// EnforcerStore is what the Enforcer needs of the database (*store.Store).
type EnforcerStore interface {
	SessionsToEnforce(ctx context.Context, f access.EnforceFilter) ([]access.EnforceTarget, error)
	RecordSessionProfile(ctx context.Context, id int64, from, to access.Profile, actor, target, detail string) (bool, error)
}

// EnforcerConfig configures NewEnforcer.
type EnforcerConfig struct {
	Store EnforcerStore
	Areas []access.Area
	NAS   []access.BAS
	// Disconnector ends a session whose BAS NAKs the CoA-Request, or that
	// should be restricted on a BAS without garden_filter_id.
	Disconnector *Disconnector
	// Timeout and Tries are the CoA-Request's wait before resending and
	// number of sends ([radius] coa_timeout, coa_tries: 1 s, 3).
	Timeout time.Duration
	Tries   int
	// StaleAfter: sessions not heard of for this long are left alone (the
	// reaper closes them); default access.StaleAfter of the default interim.
	StaleAfter time.Duration
	LocalAddr  string
	Now        func() time.Time
	Log        *slog.Logger
	Registerer prometheus.Registerer
}

// Enforcer keeps the profile each online session has at its BAS equal to
// the one it should have (docs/plans.md, Enforcement): its account's
// cycle's profile, or restricted in a garden area for an account without a
// cycle (in arrears). A session that differs gets a CoA-Request (RFC 5176)
// with the profile's attributes (profileAttributes); an ACK is recorded on
// the session and audited (session.coa, actor billing); a NAK is followed
// by a Disconnect-Request (the next Access-Accept carries the profile); no
// answer is retried at the next run. It implements billing.Enforcer and is
// safe for concurrent use; several nodes may run it at once (a CoA's
// record is conditional on the profile it replaced).
type Enforcer struct {
	st         EnforcerStore
	areas      map[string]access.Area
	bases      map[string]access.BAS
	nas        map[string]*radiusproto.NAS
	garden     []string
	disc       *Disconnector
	client     *radiusproto.CoAClient
	tries      int
	staleAfter time.Duration
	now        func() time.Time
	log        *slog.Logger
	results    *prometheus.CounterVec

	// mu keeps one enforcement at a time on this node, so that two CoAs
	// for one session never race each other to its BAS.
	mu sync.Mutex
}

// NewEnforcer returns an Enforcer for the configured areas and BASes.
func NewEnforcer(cfg EnforcerConfig) *Enforcer {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	if cfg.Tries <= 0 {
		cfg.Tries = radiusproto.DefaultMaxTries
	}
	if cfg.StaleAfter <= 0 {
		cfg.StaleAfter = access.StaleAfter(access.DefaultInterimInterval)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &Enforcer{st: cfg.Store, areas: map[string]access.Area{}, bases: map[string]access.BAS{}, nas: map[string]*radiusproto.NAS{},
		disc: cfg.Disconnector, tries: cfg.Tries, staleAfter: cfg.StaleAfter, now: cfg.Now, log: cfg.Log,
		client: &radiusproto.CoAClient{Retry: cfg.Timeout, MaxTries: cfg.Tries, LocalAddr: cfg.LocalAddr}}
	for _, a := range cfg.Areas {
		e.areas[a.Name] = a
		if a.Billed() && a.Garden() {
			e.garden = append(e.garden, a.Name)
		}
	}
	for _, n := range cfg.NAS {
		e.bases[n.Name] = n
		e.nas[n.Name] = protocolNAS(n)
	}
	e.results = register(cfg.Registerer, prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campusnet_coa_total",
		Help: "CoA-Requests sent to apply a session's profile (full, slow, restricted), by result (ack, nak, timeout, error, no_filter)."},
		[]string{"profile", "result"}))
	return e
}

// Close releases the client's sockets.
func (e *Enforcer) Close() error { return e.client.Close() }

// EnforceReport counts what one run did.
type EnforceReport struct {
	Checked int // sessions found with another profile than they should have
	ACK     int // CoAs acknowledged (and recorded)
	NAK     int // CoAs refused: the session was sent a Disconnect-Request
	Retry   int // no answer, or not sent: tried again at the next run
}

// EnforceAccount applies the profile the account should have to its online
// sessions now (billing calls it after a recharge, a pack, a new cycle).
func (e *Enforcer) EnforceAccount(ctx context.Context, accountID int64) {
	if accountID == 0 {
		return
	}
	if _, err := e.enforce(ctx, accountID); err != nil {
		e.log.Warn("enforce profiles of an account; the next run retries", "account", accountID, "err", err)
	}
}

// Enforce applies the profiles of every online session once.
func (e *Enforcer) Enforce(ctx context.Context) (EnforceReport, error) { return e.enforce(ctx, 0) }

func (e *Enforcer) enforce(ctx context.Context, accountID int64) (EnforceReport, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var rep EnforceReport
	f := access.EnforceFilter{AccountID: accountID, FreshSince: e.now().Add(-e.staleAfter), Garden: e.garden, Limit: 200}
	for {
		found, err := e.st.SessionsToEnforce(ctx, f)
		if err != nil {
			return rep, err
		}
		for _, t := range found {
			f.AfterID = t.ID
			rep.Checked++
			switch e.apply(ctx, t) {
			case "ack":
				rep.ACK++
			case "nak", "no_filter":
				rep.NAK++
			default:
				rep.Retry++
			}
		}
		if len(found) < f.Limit || ctx.Err() != nil {
			return rep, ctx.Err()
		}
	}
}

// want is the profile a session should have.
func (e *Enforcer) want(t access.EnforceTarget) access.Profile {
	switch {
	case t.HasCycle:
		return t.CycleProfile
	case e.isGarden(t.Area):
		return access.ProfileRestricted
	}
	return access.ProfileFull
}

func (e *Enforcer) isGarden(area string) bool {
	for _, g := range e.garden {
		if g == area {
			return true
		}
	}
	return false
}

// apply sends one session its profile and returns the result's label.
func (e *Enforcer) apply(ctx context.Context, t access.EnforceTarget) string {
	to := e.want(t)
	name := to.Name()
	nas, ok := e.nas[t.NAS]
	if !ok {
		e.results.WithLabelValues(name, "error").Inc()
		e.log.Warn("session on a BAS that is not configured: its profile cannot be changed", "session", t.ID, "nas", t.NAS)
		return "error"
	}
	attrs, ok := profileAttributes(e.bases[t.NAS], e.areas[t.Area], t.CyclePlan, to)
	if !ok {
		// Only a restricted profile: the BAS has no walled garden.
		e.results.WithLabelValues(name, "no_filter").Inc()
		e.disconnect(ctx, t.Session, "coa: "+t.NAS+" has no garden_filter_id")
		return "no_filter"
	}
	reply, _, err := e.client.CoA(ctx, nas, sessionIdent(nas, t.Session), attrs)
	switch {
	case errors.Is(err, radiusproto.ErrNoResponse):
		e.results.WithLabelValues(name, "timeout").Inc()
		e.log.Warn("no answer to CoA-Request; the next run retries", "session", t.ID, "user", t.Username, "nas", t.NAS, "profile", name)
		return "timeout"
	case err != nil:
		e.results.WithLabelValues(name, "error").Inc()
		e.log.Warn("CoA-Request not sent; the next run retries", "session", t.ID, "user", t.Username, "nas", t.NAS, "err", err)
		return "error"
	}
	ack, cause := radiusproto.CoAAnswer(reply)
	if !ack {
		e.results.WithLabelValues(name, "nak").Inc()
		detail := fmt.Sprintf("CoA-NAK from %s", t.NAS)
		if cause != 0 {
			detail = fmt.Sprintf("CoA-NAK %d %s from %s", cause, errorCauseName(cause), t.NAS)
		}
		e.log.Info("CoA refused: disconnecting so that the next login carries the profile", "session", t.ID, "user", t.Username,
			"nas", t.NAS, "profile", name, "detail", detail)
		e.disconnect(ctx, t.Session, "coa: "+detail)
		return "nak"
	}
	e.results.WithLabelValues(name, "ack").Inc()
	detail := fmt.Sprintf("session=%d nas=%s mac=%s ip=%s acct_session_id=%s from=%s to=%s outcome=acknowledged by %s",
		t.ID, t.NAS, t.MAC, t.IP, t.AcctSessionID, t.Profile.Name(), name, t.NAS)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := e.st.RecordSessionProfile(rctx, t.ID, t.Profile, to, billingActor, t.Username, detail); err != nil {
		e.log.Warn("record a session's profile; the next run sends the CoA again", "session", t.ID, "err", err)
	}
	e.log.Info("profile applied by CoA", "session", t.ID, "user", t.Username, "nas", t.NAS, "from", t.Profile.Name(), "to", name)
	return "ack"
}

// billingActor is who changes profiles, in the audit log: billing decides
// them (docs/plans.md).
const billingActor = "billing"

func (e *Enforcer) disconnect(ctx context.Context, sess access.Session, reason string) {
	if e.disc == nil {
		e.log.Warn("cannot disconnect: no disconnector", "session", sess.ID, "user", sess.Username)
		return
	}
	if _, err := e.disc.disconnect(ctx, sess, billingActor, reason); err != nil {
		e.log.Warn("disconnect after a refused CoA", "session", sess.ID, "user", sess.Username, "err", err)
	}
}

// Run enforces at once and then every interval until ctx ends.
func (e *Enforcer) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = 30 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		rep, err := e.Enforce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			e.log.Error("enforcement run", "err", err)
		} else if rep.Checked > 0 {
			e.log.Info("enforcement run", "changed", rep.Checked, "ack", rep.ACK, "nak", rep.NAK, "retry", rep.Retry)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// sessionIdent names a session in a Disconnect- or CoA-Request.
func sessionIdent(nas *radiusproto.NAS, sess access.Session) radiusproto.SessionIdent {
	id := radiusproto.SessionIdent{UserName: sess.Username, AcctSessionID: sess.AcctSessionID, NASIP: nas.IP}
	if ip, err := netip.ParseAddr(sess.IP); err == nil {
		id.FramedIP = ip
	}
	if ip, err := netip.ParseAddr(sess.IP6); err == nil {
		id.FramedIPv6 = ip
	}
	if pf, err := netip.ParsePrefix(sess.IP6Prefix); err == nil {
		id.FramedIPv6Prefix = pf
	}
	if sess.MAC != "" {
		id.CallingStationID = strings.ToUpper(strings.ReplaceAll(sess.MAC, ":", "-"))
	}
	return id
}
