package radius

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/logintoken"
	"github.com/campusnet/campusnet/radius/radiusproto"
)

// Authentication methods, as written to the authentication log.
const (
	MethodTokenCHAP = "token-chap" // the portal's one-time token, by CHAP
	MethodTokenPAP  = "token-pap"  // the portal's one-time token, by PAP
	MethodPAP       = "pap"        // the password, against unified identity
	MethodCHAP      = "chap"       // CHAP that matched no token (refused)
	MethodMAC       = "mac"        // MAC authentication of a bound device
)

// attempt is one Access-Request on its way through the policy.
type attempt struct {
	nas     *radiusproto.NAS
	area    access.Area
	user    string // User-Name as sent
	method  string
	mac     string // canonical, from Calling-Station-Id (or User-Name for MAC authentication)
	ip      string
	ipv6    access.IPv6Record
	tokenID int64
	class   access.Class
	// disabled: unified identity says the account is disabled (the
	// password was right); the policy refuses it with the store's reason.
	disabled bool
	login    access.LoginRequest
	received time.Time
}

// errNoAnswer means the request gets no reply (the NAS retransmits);
// errBusy is one for a password that could not be checked in time.
var (
	errNoAnswer = errors.New("radius: no answer")
	errBusy     = fmt.Errorf("%w: too many password checks at once", errNoAnswer)
)

// passwordMargin is the part of the retry window kept for the policy
// transaction and the reply after a password is checked.
const passwordMargin = 500 * time.Millisecond

// ServeAccess implements Handler: credentials, then the access policy
// (account state, device limits, bindings) under the account's lock, then
// the reply.
func (s *Service) ServeAccess(ctx context.Context, r *radiusproto.Request) *radius.Packet {
	s.nasSeen(r.NAS, r.Received)
	a, pre := s.credentials(ctx, r)
	ctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	if pre != nil {
		switch {
		case errors.Is(pre.err, errBusy):
			s.metrics.request("access", "dropped", "busy")
			return nil
		case errors.Is(pre.err, errNoAnswer):
			s.metrics.request("access", "error", "")
			return nil
		}
		s.logDecision(ctx, a, pre.entry)
		s.metrics.request("access", pre.entry.Result, string(pre.entry.Reason))
		return s.reject(r, pre.refusal)
	}
	dec, err := s.logins.do(ctx, a)
	return s.accessDone(ctx, r, a, dec, err)
}

// ServeAccessAsync implements AsyncHandler for MAC authentication, which
// needs nothing before its batch (a login by token or password may wait for
// the database or the directory, and takes ServeAccess's path).
func (s *Service) ServeAccessAsync(ctx context.Context, r *radiusproto.Request, done func(*radius.Packet)) bool {
	a, macAuth := s.newAttempt(r)
	if !macAuth {
		return false
	}
	s.nasSeen(r.NAS, r.Received)
	s.logins.submit(ctx, r.Received.Add(s.cfg.RequestTimeout), a, func(dec access.LoginDecision, err error) {
		defer s.recoverAnswer(r, func() { done(nil) })
		done(s.accessDone(ctx, r, a, dec, err))
	})
	return true
}

// recoverAnswer, deferred in a batch's answer to r, turns a panic into a
// logged failure answered by fail, so that the batch's other requests are
// answered and the server lets go of r.
func (s *Service) recoverAnswer(r *radiusproto.Request, fail func()) {
	if v := recover(); v != nil {
		s.log.Error("handler panic", "nas", r.NAS.Name, "code", r.Packet.Code.String(), "panic", fmt.Sprint(v))
		fail()
	}
}

// accessDone logs and counts a policy decision, disconnects the sessions it
// replaced, and builds the reply.
func (s *Service) accessDone(ctx context.Context, r *radiusproto.Request, a *attempt, dec access.LoginDecision, err error) *radius.Packet {
	if err != nil {
		s.log.Warn("policy decision failed; no answer, the BAS will retry", "user", a.user, "nas", r.NAS.Name, "err", err)
		s.metrics.request("access", "error", "")
		return nil
	}
	if !dec.LogNow {
		s.logDecision(ctx, a, dec.Log)
	}
	s.metrics.request("access", dec.Log.Result, string(dec.Log.Reason))
	if len(dec.Close) > 0 {
		s.replaced(dec.Close)
	}
	if !dec.Accept {
		return s.rejectMessage(r, dec.Log.Message, access.Explain(dec.Log.Reason))
	}
	return s.accept(r, dec)
}

// preDecision is a refusal made before the policy transaction.
type preDecision struct {
	refusal access.Refusal
	entry   access.AuthLogEntry
	err     error
}

// credentials checks the request's credentials: the portal's token (CHAP or
// PAP), the password against unified identity (PAP), or the binding of a
// MAC (which the policy transaction checks). It returns the attempt, or a
// refusal.
func (s *Service) credentials(ctx context.Context, r *radiusproto.Request) (*attempt, *preDecision) {
	a, macAuth := s.newAttempt(r)
	if macAuth {
		return a, nil
	}
	p, area := r.Packet, a.area
	chap, hasCHAP := p.Lookup(rfc2865.CHAPPassword_Type)
	pap, papErr := rfc2865.UserPassword_LookupString(p)
	hasPAP := papErr == nil
	a.method = MethodPAP
	if hasCHAP {
		a.method = MethodCHAP
	}
	if a.user == "" || len(a.user) > 253 || !utf8.ValidString(a.user) || (!hasCHAP && !hasPAP) {
		return a, s.refuse(a, nil, access.RefuseBadCredentials())
	}
	// The portal's one-time token.
	dbCtx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	toks, err := s.cfg.Store.LiveTokens(dbCtx, a.user, s.now())
	if err != nil {
		s.log.Warn("login tokens", "user", a.user, "err", err)
		return a, &preDecision{err: errNoAnswer}
	}
	for _, t := range toks {
		tok := logintoken.Derive(s.cfg.TokenKey, t.Nonce)
		var ok bool
		if hasCHAP {
			ok = radiusproto.VerifyCHAP(chap, radiusproto.CHAPChallenge(p), tok)
		} else {
			ok = subtle.ConstantTimeCompare([]byte(pap), []byte(tok)) == 1
		}
		if !ok {
			continue
		}
		a.tokenID = t.ID
		a.method = MethodTokenPAP
		if hasCHAP {
			a.method = MethodTokenCHAP
		}
		if a.mac == "" {
			a.mac, _ = access.NormalizeMAC(t.MAC)
		}
		// The token holds the address the portal knew: IPv4, or an
		// IPv6-only user's IPv6 address.
		if tip, err := netip.ParseAddr(t.IP); err == nil && tip.Is6() && !tip.Is4In6() {
			if a.ipv6.Addr == "" {
				a.ipv6.Addr = tip.String()
			}
		} else if a.ip == "" {
			a.ip = t.IP
		}
		a.class = t.Class
		a.login = access.LoginRequest{Username: t.Username, MAC: a.mac, TokenID: t.ID, NAS: r.NAS.Name, Area: area.Name,
			Billed: area.Billed(), Plans: area.Plans, IP: a.ip, Class: t.Class}
		return a, nil
	}
	if hasCHAP || s.cfg.Identity == nil {
		// CHAP can only be checked against a token: unified identity keeps hashes.
		return a, s.refuse(a, nil, access.RefuseBadCredentials())
	}
	// A direct login without the portal: the password against unified
	// identity, by the time the BAS stops waiting.
	idCtx, cancelID := context.WithDeadline(ctx, r.Received.Add(s.cfg.RetryWindow-passwordMargin))
	person, err := s.cfg.Identity.Authenticate(idCtx, a.user, pap)
	cancelID()
	switch {
	case errors.Is(err, identity.ErrBusy):
		// Never a Reject: the password may well be right.
		return a, &preDecision{err: errBusy}
	case errors.Is(err, identity.ErrSSOOnly):
		// An account single sign-on made has no password: the portal's
		// single sign-on is its only way in.
		return a, s.refuse(a, nil, access.RefuseUseSSO())
	case errors.Is(err, identity.ErrBadCredentials):
		return a, s.refuse(a, nil, access.RefuseBadCredentials())
	case errors.Is(err, identity.ErrDisabled):
		// The password was right: the policy refuses it, with the
		// operator's reason when the store has one.
		a.disabled = true
		a.class = access.ClassUnknown
		a.login = access.LoginRequest{Username: a.user, MAC: a.mac, NAS: r.NAS.Name, Area: area.Name, Billed: area.Billed(), Plans: area.Plans, IP: a.ip, Class: access.ClassUnknown}
		return a, nil
	case errors.Is(err, identity.ErrPasswordExpired):
		return a, s.refuse(a, nil, access.RefusePasswordExpired())
	case errors.Is(err, identity.ErrUnavailable):
		s.log.Warn("unified identity unavailable", "user", a.user, "err", err)
		return a, s.refuse(a, nil, access.Refusal{Code: access.ReasonIdentityDown,
			Message: "统一身份认证暂时不可用，请稍后再试 / Unified identity is unavailable; try again in a minute"})
	case err != nil:
		s.log.Error("identity", "user", a.user, "err", err)
		return a, &preDecision{err: errNoAnswer}
	}
	if person.MustChange {
		return a, s.refuse(a, nil, access.RefuseMustChange())
	}
	a.user = person.ID
	a.class = access.ClassUnknown
	a.login = access.LoginRequest{Username: person.ID, MAC: a.mac, NAS: r.NAS.Name, Area: area.Name, Billed: area.Billed(), Plans: area.Plans, IP: a.ip, Class: access.ClassUnknown}
	if s.cfg.EnsureAccount != nil {
		// A directory user logging in for the first time has no account row yet.
		ensureCtx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
		defer cancel()
		if err := s.cfg.EnsureAccount(ensureCtx, person); err != nil {
			s.log.Warn("account of directory user", "user", person.ID, "err", err)
			return a, &preDecision{err: errNoAnswer}
		}
	}
	return a, nil
}

// newAttempt reads the request's User-Name, MAC and address. A MAC
// authentication (macAuth) is complete with that: its binding is checked in
// the policy transaction.
func (s *Service) newAttempt(r *radiusproto.Request) (a *attempt, macAuth bool) {
	p := r.Packet
	area, _ := s.area(r.NAS.Area)
	a = &attempt{nas: r.NAS, area: area, received: r.Received}
	a.user, _ = rfc2865.UserName_LookupString(p)
	a.user = strings.TrimSpace(a.user)
	if csid, err := rfc2865.CallingStationID_LookupString(p); err == nil {
		a.mac, _ = access.NormalizeMAC(csid)
	}
	if ip, err := rfc2865.FramedIPAddress_Lookup(p); err == nil {
		if addr, ok := netip.AddrFromSlice(ip); ok {
			a.ip = addr.Unmap().String()
		}
	}
	a.ipv6 = ipv6Of(p)
	mac, ok := macLogin(p, a.user, a.mac)
	if !ok {
		return a, false
	}
	a.method, a.mac = MethodMAC, mac
	if a.user == "" {
		a.user = mac
	}
	a.login = access.LoginRequest{MACAuth: true, MAC: mac, NAS: r.NAS.Name, Area: area.Name, Billed: area.Billed(), Plans: area.Plans, IP: a.ip}
	return a, true
}

// macLogin tells MAC authentication from a login: Service-Type Call-Check,
// or a User-Name that is a MAC address — written with separators or hex
// letters, or equal to Calling-Station-Id (twelve decimal digits alone could
// be a student number).
func macLogin(p *radius.Packet, user, callingMAC string) (string, bool) {
	if st, err := rfc2865.ServiceType_Lookup(p); err == nil && st == rfc2865.ServiceType_Value_CallCheck {
		if m, err := access.NormalizeMAC(user); err == nil {
			return m, true
		}
		if callingMAC != "" {
			return callingMAC, true
		}
	}
	if user == "" {
		if callingMAC != "" {
			return callingMAC, true
		}
		return "", false
	}
	m, err := access.NormalizeMAC(user)
	if err != nil {
		return "", false
	}
	if m == callingMAC || len(strings.TrimSpace(user)) != 12 || strings.ContainsAny(user, "abcdefABCDEF") {
		return m, true
	}
	return "", false
}

// refuse builds a refusal decided before the policy transaction.
func (s *Service) refuse(a *attempt, acc *access.Account, ref access.Refusal) *preDecision {
	e := s.entry(a, acc)
	e.Result, e.Reason, e.Message = "reject", ref.Code, ref.Message
	return &preDecision{refusal: ref, entry: e}
}

// entry is the authentication log entry of an attempt, without the result.
func (s *Service) entry(a *attempt, acc *access.Account) access.AuthLogEntry {
	e := access.AuthLogEntry{At: access.Millis(s.now()), Username: a.user, NAS: a.nas.Name, MAC: a.mac, IP: a.ip,
		Method: a.method, Node: s.cfg.Node}
	if acc != nil {
		id := acc.ID
		e.AccountID, e.Username = &id, acc.Username
	}
	if a.tokenID != 0 {
		id := a.tokenID
		e.TokenID = &id
	}
	if len(e.Username) > 253 {
		e.Username = e.Username[:253]
	}
	return e
}

// decide is the access policy for one attempt — account and balance, device
// class and limits, replacement of the oldest session, binding — under its
// account's lock. It must be a pure function of its inputs (it may run
// twice).
func (s *Service) decide(a *attempt, st *access.LoginState) access.LoginDecision {
	var acc *access.Account
	if st.Found {
		acc = &st.Account
	}
	refuse := func(ref access.Refusal) access.LoginDecision {
		e := s.entry(a, acc)
		e.Result, e.Reason, e.Message = "reject", ref.Code, ref.Message
		return access.LoginDecision{Log: e, LogNow: a.tokenID != 0}
	}
	area := a.area
	class := a.class
	switch {
	case a.login.MACAuth:
		if !st.Found {
			return refuse(access.RefuseMACNotBound(a.mac))
		}
		var dev *access.Device
		for i := range st.Devices {
			if st.Devices[i].MAC == a.mac && st.Devices[i].Bound {
				dev = &st.Devices[i]
			}
		}
		// In an area without seamless login only an operator's binding
		// (a console, a printer) lets a MAC in by itself.
		if dev == nil || (!area.Seamless && dev.BoundBy == access.BoundByPortal) {
			return refuse(access.RefuseMACNotBound(a.mac))
		}
		class = dev.Class
	case !st.Found:
		return refuse(access.RefuseBadCredentials())
	case a.tokenID != 0 && !st.TokenFresh:
		// Used a moment ago by another request: tokens are single use.
		return refuse(access.RefuseBadCredentials())
	}
	if class == "" {
		class = access.ClassUnknown
	}
	if acc.Disabled || a.disabled {
		return refuse(access.RefuseDisabled(acc.DisabledReason))
	}
	if !area.OpenTo(acc.Role) {
		return refuse(access.RefuseRole(area.Name, acc.Role))
	}
	profile, plan := access.ProfileFull, ""
	if fee := area.Fee; area.Billed() {
		// The profile the account should have (docs/plans.md): its
		// cycle's; the garden for a balance that cannot start one in an
		// area that takes students in arrears; otherwise ARREARS. The
		// cycle to start is the next plan's (the student's choice), so
		// its fee is what the balance must cover.
		if len(area.Plans) > 0 && st.NextFee > 0 {
			fee = st.NextFee
		}
		switch {
		case st.ActiveCycle:
			profile, plan = st.CycleProfile, st.CyclePlan
		case access.DormOpen(acc.Balance, fee, false):
		case area.Garden() && s.bases[a.nas.Name].GardenFilterID != "":
			profile = access.ProfileRestricted
		default:
			return refuse(access.RefuseArrears(acc.Balance, fee, s.cfg.PaymentURL))
		}
	}
	var closeSessions []access.Session
	if area.Limited() {
		counted := s.countedClass(area, class)
		limit := area.MaxPC
		if counted == access.ClassMobile {
			limit = area.MaxMobile
		}
		if limit > 0 {
			devices := s.liveDevices(area, st, a.mac, counted)
			if len(devices) >= limit {
				if area.OnLimit != "replace_oldest" {
					newest := devices[len(devices)-1]
					return refuse(access.RefuseDeviceLimit(counted, limit, access.OnlineDevice{
						MAC: displayMAC(newest.mac), IP: newest.ip, Since: access.FromMillis(newest.since).In(s.cfg.Location)}))
				}
				for _, d := range devices[:len(devices)-limit+1] {
					closeSessions = append(closeSessions, d.sessions...)
				}
			}
		}
	}
	e := s.entry(a, acc)
	e.Result, e.Reason = "accept", access.ReasonOK
	d := access.LoginDecision{Accept: true, Log: e, LogNow: a.tokenID != 0, Close: closeSessions, Plan: plan,
		Session: access.Session{Class: class, IP: a.ip, Correlation: access.NewCorrelation(), Profile: profile}}
	if a.mac != "" {
		for _, l := range st.Live {
			if l.Status == access.SessionReserved && l.NAS == a.nas.Name && l.MAC == a.mac && s.fresh(l, st.Now) {
				d.Reuse = l.Correlation
			}
		}
	}
	if a.tokenID != 0 && area.Seamless && a.mac != "" {
		d.Bind, d.Unbind = s.bindPlan(area, st, a.mac)
	}
	return d
}

// countedClass is the class a device counts as in an area.
func (s *Service) countedClass(area access.Area, class access.Class) access.Class {
	if class == access.ClassPC || class == access.ClassMobile {
		return class
	}
	if area.UnknownAs == access.ClassMobile {
		return access.ClassMobile
	}
	return access.ClassPC
}

// liveDevice is one device (a MAC, or one session without a MAC) online
// or reserved.
type liveDevice struct {
	mac, ip  string
	since    int64 // when it came online (reserved)
	sessions []access.Session
}

// liveDevices are the account's devices of a class that hold a live (not
// stale) session in area, other than mac, oldest first.
func (s *Service) liveDevices(area access.Area, st *access.LoginState, mac string, class access.Class) []liveDevice {
	var out []liveDevice
	index := map[string]int{}
	for _, l := range st.Live {
		if l.Area != area.Name || !s.fresh(l, st.Now) {
			continue
		}
		if mac != "" && l.MAC == mac {
			continue // the same device authenticating again replaces its own session
		}
		if s.countedClass(area, l.Class) != class {
			continue
		}
		since := l.StartedAt
		if since == 0 {
			since = l.ReservedAt
		}
		if i, ok := index[l.MAC]; ok && l.MAC != "" {
			d := &out[i]
			d.sessions = append(d.sessions, l)
			if since < d.since {
				d.since = since
			}
			if l.IP != "" {
				d.ip = l.IP
			} else if d.ip == "" {
				d.ip = l.IP6
			}
			continue
		}
		if l.MAC != "" {
			index[l.MAC] = len(out)
		}
		out = append(out, liveDevice{mac: l.MAC, ip: cmp.Or(l.IP, l.IP6), since: since, sessions: []access.Session{l}})
	}
	slices.SortStableFunc(out, func(x, y liveDevice) int {
		switch {
		case x.since < y.since:
			return -1
		case x.since > y.since:
			return 1
		}
		return 0
	})
	return out
}

// fresh reports whether a session still counts: a reservation younger than
// reserve_timeout, an online session heard of within 2.5 × the interim
// interval. Stale sessions never block a login, whether or not the reaper
// has closed them yet.
func (s *Service) fresh(l access.Session, now time.Time) bool {
	n := access.Millis(now)
	switch l.Status {
	case access.SessionReserved:
		return l.ReservedAt >= n-s.cfg.ReserveTimeout.Milliseconds()
	case access.SessionOnline:
		last := max(l.LastUpdateAt, l.StartedAt)
		return last >= n-s.staleAfter().Milliseconds()
	}
	return false
}

func (s *Service) staleAfter() time.Duration { return access.StaleAfter(s.cfg.InterimInterval) }

// bindPlan decides a seamless binding: bind the MAC, and when the account
// already has the most bound devices the area allows, unbind the portal
// binding seen longest ago (an operator's bindings are never replaced; with
// only those, the MAC is not bound).
func (s *Service) bindPlan(area access.Area, st *access.LoginState, mac string) (bool, string) {
	n := 0
	var oldest *access.Device
	for i := range st.Devices {
		d := &st.Devices[i]
		if !d.Bound || d.AccountID != st.Account.ID {
			continue
		}
		if d.MAC == mac {
			return true, ""
		}
		n++
		if d.BoundBy == access.BoundByPortal && (oldest == nil || d.LastSeenAt < oldest.LastSeenAt) {
			oldest = d
		}
	}
	if area.MaxBound <= 0 || n < area.MaxBound {
		return true, ""
	}
	if oldest == nil {
		return false, ""
	}
	return true, oldest.MAC
}

// displayMAC writes a MAC the way students see it on their devices.
func displayMAC(mac string) string {
	if mac == "" {
		return ""
	}
	return strings.ToUpper(strings.ReplaceAll(mac, ":", "-"))
}

// accept builds the Access-Accept: the real account in User-Name (so that
// accounting records it), Class for session correlation, Acct-Interim-Interval
// and, when configured, Session-Timeout.
func (s *Service) accept(r *radiusproto.Request, d access.LoginDecision) *radius.Packet {
	out := r.Packet.Response(radius.CodeAccessAccept)
	_ = rfc2865.UserName_SetString(out, d.Session.Username)
	_ = rfc2865.Class_Set(out, []byte(d.Session.Correlation))
	if iv := s.cfg.InterimInterval / time.Second; iv > 0 {
		_ = rfc2869.AcctInterimInterval_Set(out, rfc2869.AcctInterimInterval(iv))
	}
	if st := s.cfg.SessionTimeout / time.Second; st > 0 {
		_ = rfc2865.SessionTimeout_Set(out, rfc2865.SessionTimeout(st))
	}
	if a, ok := s.area(d.Session.Area); ok && r.NAS != nil {
		if d.Session.Profile == access.ProfileFull {
			addRateLimit(out, s.vendors[r.NAS.Name], a.RateUpKbps, a.RateDownKbps)
		} else {
			attrs, _ := profileAttributes(s.bases[r.NAS.Name], a, d.Plan, d.Session.Profile)
			out.Attributes = append(out.Attributes, attrs...)
		}
	}
	return out
}

// Vendor-Specific rate-limit attributes (bit/s), as the vendors' RADIUS
// dictionaries define them: Input is what the user sends (upload).
const (
	vendorHuawei = 2011  // Huawei-Input-Average-Rate 2, Huawei-Output-Average-Rate 5
	vendorH3C    = 25506 // H3C-Input-Average-Rate 2, H3C-Output-Average-Rate 5
)

// addRateLimit adds the area's rate limit in the NAS vendor's attributes;
// a NAS with no vendor configured gets none.
func addRateLimit(p *radius.Packet, vendor string, upKbps, downKbps int) {
	var id uint32
	switch vendor {
	case "huawei":
		id = vendorHuawei
	case "h3c":
		id = vendorH3C
	default:
		return
	}
	for _, r := range []struct {
		typ  byte
		kbps int
	}{{2, upKbps}, {5, downKbps}} {
		if r.kbps <= 0 {
			continue
		}
		v := make([]byte, 6)
		v[0], v[1] = r.typ, 6
		binary.BigEndian.PutUint32(v[2:], uint32(r.kbps)*1000)
		if vsa, err := radius.NewVendorSpecific(id, v); err == nil {
			p.Add(rfc2865.VendorSpecific_Type, vsa)
		}
	}
}

// reject builds an Access-Reject for a refusal.
func (s *Service) reject(r *radiusproto.Request, ref access.Refusal) *radius.Packet {
	fix := ref.Fix
	if fix == "" {
		fix = access.Explain(ref.Code)
	}
	return s.rejectMessage(r, ref.Message, fix)
}

// rejectMessage builds an Access-Reject whose Reply-Messages say what
// happened and what to do, Chinese first, each at most 253 octets.
func (s *Service) rejectMessage(r *radiusproto.Request, msg, fix string) *radius.Packet {
	out := r.Packet.Response(radius.CodeAccessReject)
	parts := []string{msg, fix}
	if strings.Contains(fix, access.DesktopModeHint) {
		// The FAQ's desktop-mode hint is a pair of its own.
		parts = []string{msg, strings.TrimSpace(strings.Replace(fix, access.DesktopModeHint, "", 1)), access.DesktopModeHint}
	}
	for _, part := range parts {
		for _, half := range strings.SplitN(part, " / ", 2) {
			for _, chunk := range splitUTF8(strings.TrimSpace(half), 253) {
				_ = rfc2865.ReplyMessage_AddString(out, chunk)
			}
		}
	}
	return out
}

// splitUTF8 cuts s into pieces of at most n octets, on rune boundaries.
func splitUTF8(s string, n int) []string {
	var out []string
	for len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

func (s *Service) area(name string) (access.Area, bool) {
	a, ok := s.areas[name]
	return a, ok
}

// netipFrom writes an address attribute's value as text.
func netipFrom(ip []byte) (string, bool) {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return "", false
	}
	return addr.Unmap().String(), true
}

// decideBatch runs the policy for a batch of attempts in one transaction.
func (s *Service) decideBatch(ctx context.Context, atts []*attempt) ([]access.LoginDecision, error) {
	reqs := make([]access.LoginRequest, len(atts))
	for i, a := range atts {
		reqs[i] = a.login
		reqs[i].IPv6 = a.ipv6
	}
	return s.cfg.Store.AuthorizeLogins(ctx, reqs, func(i int, st *access.LoginState) access.LoginDecision {
		return s.decide(atts[i], st)
	})
}
