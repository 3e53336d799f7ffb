package portal

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/device"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/logintoken"
	"github.com/campusnet/campusnet/internal/ratelimit"
	"github.com/campusnet/campusnet/portal/portalproto"
)

// Bounds on a login form.
const (
	maxFormBytes   = 16 << 10
	maxUsernameLen = 64
	maxPasswordLen = identity.MaxPasswordLen * 4 // bytes; ChangePassword counts runes
	maxUALen       = 512
	maxSignalsLen  = 1000
)

// parsePost bounds and parses a form POST and checks its CSRF token; on
// failure it has written the answer.
func (p *Portal) parsePost(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			p.renderMessage(w, r, http.StatusRequestEntityTooLarge, "portal.message.too_large", "portal.message.too_large_text", "/")
			return false
		}
		p.renderMessage(w, r, http.StatusBadRequest, "portal.message.bad_request", "portal.message.bad_request_text", "/")
		return false
	}
	if !p.checkCSRF(r) {
		e, _ := p.resolveEntry(r.PostForm, sourceAddr(r))
		p.renderMessage(w, r, http.StatusForbidden, "portal.message.expired", "portal.message.expired_text", retryURL(e))
		return false
	}
	return true
}

// handleLogin is POST /login.
func (p *Portal) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !p.parsePost(w, r) {
		return
	}
	e, prob := p.resolveEntry(r.PostForm, sourceAddr(r))
	if prob != nil {
		p.render(w, r, http.StatusBadRequest, pageUnknown, &pageData{Title: "portal.unknown.cannot_login", Problem: prob})
		return
	}
	if p.cfg.NoPasswordLogin {
		// The site logs in by single sign-on only: the form is not shown,
		// and a password posted anyway is not checked.
		p.countLogin("reject", access.ReasonUseSSO)
		p.renderLogin(w, r, http.StatusForbidden, e, "", p.useSSOView())
		return
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	p.login(w, r, e, username, password)
}

// validUsername rejects names no directory holds, before they cost a hash.
func validUsername(u string) bool {
	return u != "" && len(u) <= maxUsernameLen && access.PlainText(u)
}

// limited checks the failed-login buckets of the account and the source.
func (p *Portal) limited(w http.ResponseWriter, r *http.Request, e entry, username string) bool {
	for _, l := range []struct {
		scope string
		lim   *ratelimit.Limiter
		key   string
	}{{"account", p.accountLimit, strings.ToLower(username)}, {"source", p.sourceLimit, sourceAddr(r).String()}} {
		if wait := l.lim.Wait(r.Context(), l.key); wait > 0 {
			p.m.rateLimited.WithLabelValues(l.scope).Inc()
			p.countLogin("reject", access.ReasonRateLimited)
			p.counts.add(0, 1, 0)
			p.log.Warn("login rate limited", "scope", l.scope, "user", username, "ip", sourceAddr(r))
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			zh, en := waitText(wait)
			v := &refusalView{Code: access.ReasonRateLimited, ResetURL: p.cfg.PasswordResetURL,
				MessageZH: zhP().T("portal.refused.rate_limited", zh), MessageEN: enP().T("portal.refused.rate_limited", en)}
			v.FixZH, v.FixEN = both("portal.refused.rate_limited_fix")
			p.refused(w, r, http.StatusTooManyRequests, e, v)
			return true
		}
	}
	return false
}

// waitText is the one wait of a rate-limited page, in Chinese and in
// English: seconds under a minute, else minutes, rounded up.
func waitText(d time.Duration) (zh, en string) {
	if d < time.Minute {
		return both("portal.wait.seconds", int(d.Seconds())+1)
	}
	return both("portal.wait.minutes", int(d.Minutes())+1)
}

func (p *Portal) chargeFailure(r *http.Request, username string) {
	p.accountLimit.Charge(r.Context(), strings.ToLower(username))
	p.sourceLimit.Charge(r.Context(), sourceAddr(r).String())
}

// DefaultLoginWait bounds how long a portal login waits for its password
// check (the hashing stage's queue, or the directory's connections): a
// person waits this long at most before the busy page, which asks them to
// try again in a few seconds. A check that the stage can tell will not be
// done in time gets the busy page at once. A browser waits far longer
// than a BAS: 15 s lets the logins of a 500-at-once storm on two cores
// (about 8 s of hashing) all through instead of sending most of them back
// to try again, which only adds to the storm.
const DefaultLoginWait = 15 * time.Second

// login checks the password at unified identity and, if it is right, runs
// the one-time token through the BAS.
func (p *Portal) login(w http.ResponseWriter, r *http.Request, e entry, username, password string) {
	start := time.Now()
	defer func() { p.m.loginTime.Observe(time.Since(start).Seconds()) }()
	if p.limited(w, r, e, username) {
		return
	}
	if !validUsername(username) || password == "" || len(password) > maxPasswordLen {
		p.chargeFailure(r, username)
		p.badCredentials(w, r, e, cleanText(cut(username, maxUsernameLen)), endsInX(password))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), p.cfg.LoginWait)
	person, err := p.auth.Authenticate(ctx, username, password)
	cancel()
	if err != nil {
		p.identityFailed(w, r, e, username, err, endsInX(password))
		return
	}
	if person.MustChange {
		if p.local == nil {
			p.refusedCode(w, r, http.StatusForbidden, e, access.RefuseMustChange(), nil)
			return
		}
		p.log.Info("initial password must be changed", "user", person.ID, "ip", e.UserIP)
		p.render(w, r, http.StatusOK, pagePassword, &pageData{Title: "portal.password.title",
			Username: person.ID, Hidden: carried(r, e)})
		return
	}
	p.goOnline(w, r, e, person)
}

// carried are the hidden fields the password page passes on to the login:
// the entry and the device hints.
func carried(r *http.Request, e entry) []field {
	q := e.query()
	for _, k := range []string{"platform", "touch", "sw", "sh", "uadm"} {
		q.Set(k, cut(r.PostFormValue(k), 64))
	}
	return hiddenFields(q)
}

// identityFailed answers a failed check; xRule adds the X rule to a
// wrong-password answer (endsInX).
func (p *Portal) identityFailed(w http.ResponseWriter, r *http.Request, e entry, username string, err error, xRule bool) {
	switch {
	case errors.Is(err, identity.ErrSSOOnly):
		// No failure charged: the account has no password to guess.
		p.log.Info("password login to a single sign-on account", "user", username, "ip", e.UserIP)
		p.countLogin("reject", access.ReasonUseSSO)
		p.renderLogin(w, r, http.StatusUnauthorized, e, username, p.useSSOView())
	case errors.Is(err, identity.ErrBadCredentials):
		p.chargeFailure(r, username)
		p.log.Info("wrong password", "user", username, "ip", e.UserIP, "nas", e.NAS.Name)
		p.badCredentials(w, r, e, username, xRule)
	case errors.Is(err, identity.ErrDisabled):
		// Unified identity only says "disabled"; the operator's reason,
		// which the README promises the student sees, is on the account.
		p.countLogin("reject", access.ReasonAccountDisabled)
		reason := ""
		if a, err := p.st.AccountByUsername(r.Context(), username); err == nil && a.Disabled {
			reason = a.DisabledReason
		}
		p.refusedCode(w, r, http.StatusForbidden, e, access.RefuseDisabled(reason), nil)
	case errors.Is(err, identity.ErrPasswordExpired):
		// The password was right: no failure charged. The refusal links
		// to the password reset page.
		p.countLogin("reject", access.ReasonPasswordExpired)
		p.refusedCode(w, r, http.StatusForbidden, e, access.RefusePasswordExpired(), nil)
	case errors.Is(err, identity.ErrBusy):
		// Not a wrong password: too many to check in time. Counted and
		// logged once a minute by the hashing stage.
		p.countLogin("error", access.ReasonBusy)
		rf := access.Refusal{Code: access.ReasonBusy}
		rf.MessageZH, rf.MessageEN = both("portal.refused.busy")
		rf.FixZH, rf.FixEN = access.ExplainText(access.ReasonBusy)
		w.Header().Set("Retry-After", "5")
		p.refusedCode(w, r, http.StatusServiceUnavailable, e, rf, nil)
	default:
		p.log.Error("unified identity unavailable", "user", username, "err", err)
		p.countLogin("error", access.ReasonIdentityDown)
		rf := access.Refusal{Code: access.ReasonIdentityDown}
		rf.MessageZH, rf.MessageEN = both("portal.refused.identity_down")
		rf.FixZH, rf.FixEN = access.ExplainText(access.ReasonIdentityDown)
		p.refusedCode(w, r, http.StatusServiceUnavailable, e, rf, nil)
	}
}

// useSSOView is the login page's notice for an account that logs in by
// single sign-on only, or a site without the password form.
func (p *Portal) useSSOView() *refusalView {
	rf := access.RefuseUseSSO()
	return &refusalView{Code: rf.Code, MessageZH: rf.MessageZH, MessageEN: rf.MessageEN, FixZH: rf.FixZH, FixEN: rf.FixEN}
}

func (p *Portal) badCredentials(w http.ResponseWriter, r *http.Request, e entry, username string, xRule bool) {
	p.countLogin("reject", access.ReasonBadCredentials)
	rf := access.RefuseBadCredentials()
	v := &refusalView{Code: rf.Code, MessageZH: rf.MessageZH, MessageEN: rf.MessageEN, ResetURL: p.cfg.PasswordResetURL, XRule: xRule}
	// The footer names the help desk: the fix does not name it again.
	v.FixZH, v.FixEN = access.ForgotPasswordFixText(p.cfg.PasswordResetURL != "", "")
	p.renderLogin(w, r, http.StatusUnauthorized, e, username, v)
}

// endsInX reports whether a typed password is six characters whose last
// is X or x: most likely an id card's last six typed with the X, when the
// initial password drops it. The answer depends on the password alone,
// never on the account, so it tells nobody whether an account exists or
// still has its initial password.
func endsInX(password string) bool {
	return len(password) == 6 && (password[5] == 'X' || password[5] == 'x')
}

func (p *Portal) countLogin(result string, reason access.Reason) {
	p.m.logins.WithLabelValues(result, string(reason)).Inc()
	if result == "accept" {
		p.counts.add(1, 0, 0)
	} else {
		p.counts.add(0, 1, 0)
	}
}

// signalsFrom collects what the login request says about the device.
func signalsFrom(r *http.Request, mac string) device.Signals {
	s := device.Signals{
		UserAgent:      r.UserAgent(),
		CHUAMobile:     cut(r.Header.Get("Sec-CH-UA-Mobile"), 8),
		CHUAPlatform:   cut(r.Header.Get("Sec-CH-UA-Platform"), 32),
		Platform:       cleanText(cut(r.PostFormValue("platform"), 64)),
		MaxTouchPoints: boundedInt(r.PostFormValue("touch"), -1, 256, -1),
		ScreenW:        boundedInt(r.PostFormValue("sw"), 0, 100000, 0),
		ScreenH:        boundedInt(r.PostFormValue("sh"), 0, 100000, 0),
		MAC:            mac,
	}
	switch v := r.PostFormValue("uadm"); v {
	case "true", "false":
		s.UADataMobile = v
	}
	return s
}

// countedPCView says why a device refused for the PC limit counted as a
// PC: the catalogue ids of the signals that decided and of those that
// ranked lower. What to change (desktop mode off, let the script run,
// register the MAC as mobile) is shown only when a sign of a phone lost or
// the script did not run: a computer that looks like one is not told how
// to pass as a phone.
type countedPCView struct {
	Because, Lost []string
	// PhoneEvidence: something pointed to a phone and lost.
	PhoneEvidence bool
	// NoScript: the page's script did not report (no platform, touch or
	// screen), so only the User-Agent and the hints spoke.
	NoScript bool
	MAC      string
}

func countedPCFor(d device.Decision, s device.Signals, mac string) *countedPCView {
	if d.Class != device.PC {
		return nil
	}
	v := &countedPCView{PhoneEvidence: d.PhoneEvidence(), MAC: mac,
		NoScript: s.Platform == "" && s.MaxTouchPoints < 0 && s.ScreenW == 0}
	for _, k := range d.Decided {
		v.Because = append(v.Because, device.SignalMessage(k))
	}
	for _, k := range d.Against {
		v.Lost = append(v.Lost, device.SignalMessage(k))
	}
	return v
}

func boundedInt(s string, lo, hi, def int) int {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || v < lo || v > hi {
		return def
	}
	return v
}

// goOnline classifies the device, stores the one-time token and asks the
// BAS to let the person through.
func (p *Portal) goOnline(w http.ResponseWriter, r *http.Request, e entry, person identity.Person) {
	ctx := r.Context()
	a, err := p.st.AccountByUsername(ctx, person.ID)
	if errors.Is(err, access.ErrNotFound) {
		// A directory (LDAP) person's first login: the network account is
		// created here, as RADIUS and self-service do, and the policy then
		// decides as for anyone (a fee area with no balance: arrears, with
		// the recharge link). With local identity the row always exists.
		// A single sign-on login records its provider: the account has no
		// password of its own.
		acc := access.DirectoryAccount(person.ID, person.Name, person.Role)
		if person.Provider != "" {
			acc = access.SSOAccount(person.Provider, person.ID, person.Name, person.Role)
		}
		a, _, err = p.st.EnsureAccount(ctx, acc)
	}
	if err != nil {
		p.internalError(w, r, e, "read account", err)
		return
	}
	if a.Disabled {
		p.countLogin("reject", access.ReasonAccountDisabled)
		p.refusedCode(w, r, http.StatusForbidden, e, access.RefuseDisabled(a.DisabledReason), &a)
		return
	}
	sig := signalsFrom(r, e.MAC)
	if e.MAC != "" {
		if c, ok, err := p.st.DeviceClassOverride(ctx, a.ID, e.MAC); err != nil {
			p.log.Warn("device class override", "user", a.Username, "mac", e.MAC, "err", err)
		} else if ok {
			sig.Override = c
		}
	}
	d := device.Classify(sig)
	class := d.Class
	signals := cut(strings.Join(d.Reasons, "; "), maxSignalsLen)
	if e.MAC != "" {
		if err := p.st.RememberDevice(ctx, a.ID, e.MAC, class, signals); err != nil {
			p.log.Warn("remember device class", "user", a.Username, "mac", e.MAC, "err", err)
		}
	}
	now := p.now()
	nonce := logintoken.NewNonce()
	tokID, err := p.st.CreateLoginToken(ctx, access.LoginToken{
		Nonce: nonce, AccountID: a.ID, Username: a.Username, IP: e.UserIP.String(), MAC: e.MAC,
		UserAgent: cut(cleanText(r.UserAgent()), maxUALen), Class: class, Signals: signals, NAS: e.NAS.Name,
		CreatedAt: access.Millis(now), ExpiresAt: access.Millis(now.Add(p.cfg.TokenTTL)),
	})
	if err != nil {
		p.internalError(w, r, e, "store login token", err)
		return
	}
	token := logintoken.Derive(p.tokenKey, nonce)
	res, err := e.NAS.client.LoginUser(ctx, e.user(), a.Username, []byte(token))
	if err != nil {
		p.basRefused(w, r, e, a, d, tokID, err)
		return
	}
	if res.AlreadyOnline {
		// The BAS has the address online already: fine if it is this
		// account (a second tap, another tab), but under another account
		// the traffic is that account's, and saying "online" would hide it.
		// The page does not say whose it is. Unless the live session shows
		// it is this account's, nothing is granted: no "online" page and no
		// logout ticket for an address the browser named.
		sess, err := p.st.LiveSessionByIP(ctx, e.UserIP.String())
		if err != nil && !errors.Is(err, access.ErrNotFound) {
			p.internalError(w, r, e, "read the session of an address already online", err)
			return
		}
		if err != nil || !strings.EqualFold(sess.Username, a.Username) {
			p.countLogin("reject", access.ReasonAlreadyOnline)
			p.log.Info("address online, not under this account", "user", a.Username, "ip", e.UserIP, "nas", e.NAS.Name)
			p.refusedCode(w, r, http.StatusConflict, e, access.RefuseOnlineAsAnother(), nil)
			return
		}
	}
	if err := p.st.ForgetKick(r.Context(), e.UserIP.String()); err != nil {
		p.log.Warn("forget NTF_LOGOUT note", "ip", e.UserIP, "err", err)
	}
	p.countLogin("accept", access.ReasonOK)
	p.log.Info("online", "user", a.Username, "ip", e.UserIP, "mac", e.MAC, "nas", e.NAS.Name,
		"class", class, "already_online", res.AlreadyOnline)
	p.loggedIn(w, r, onlineRef{IP: e.UserIP.String(), NAS: e.NAS.Name, User: a.Username, MAC: e.MAC, Class: class,
		URL: e.URL, Desktop: d.DesktopMode, Already: res.AlreadyOnline, SSO: person.Provider})
}

// basRefused turns a failed Portal protocol login into the page that
// explains it: RADIUS's reason from the auth log when it refused, "portal
// not response" with this node's id when the BAS was silent.
func (p *Portal) basRefused(w http.ResponseWriter, r *http.Request, e entry, a access.Account, d device.Decision, tokID int64, err error) {
	var be *portalproto.BASError
	switch {
	case errors.As(err, &be) && errors.Is(err, portalproto.ErrInProgress):
		p.countLogin("reject", "IN_PROGRESS")
		p.renderMessage(w, r, http.StatusConflict, "portal.message.in_progress", "portal.message.in_progress_text", retryURL(e))
		return
	case errors.As(err, &be):
		// RADIUS (through the BAS) refused: its reason is in the auth log.
		entryLog, lerr := p.decisionOf(r.Context(), tokID)
		if lerr != nil {
			p.log.Warn("BAS refused and RADIUS recorded no reason", "user", a.Username, "ip", e.UserIP, "nas", e.NAS.Name,
				"code", int(be.Code), "text", be.Text, "err", lerr)
			p.countLogin("reject", "BAS_REFUSED")
			v := &refusalView{Code: "BAS_REFUSED", Node: p.cfg.NodeID}
			v.MessageZH, v.MessageEN = both("portal.refused.bas_refused")
			if be.Text != "" {
				// The BAS's own words, in whatever language it speaks.
				v.Detail = cleanText(cut(be.Text, 256))
			}
			v.FixZH, v.FixEN = both("portal.refused.bas_refused_fix")
			p.refused(w, r, http.StatusForbidden, e, v)
			return
		}
		p.countLogin("reject", entryLog.Reason)
		p.log.Info("refused", "user", a.Username, "ip", e.UserIP, "nas", e.NAS.Name, "reason", entryLog.Reason)
		rf := access.Refusal{Code: entryLog.Reason, Message: entryLog.Message}
		rf.MessageZH, rf.MessageEN = access.SplitBilingual(entryLog.Message)
		rf.FixZH, rf.FixEN = access.ExplainText(entryLog.Reason)
		if rf.Message == "" {
			rf.MessageZH, rf.MessageEN = string(entryLog.Reason), string(entryLog.Reason)
		}
		p.refusedCodeDevice(w, r, http.StatusForbidden, e, rf, &a, &d)
		return
	default:
		kind := "error"
		if errors.Is(err, portalproto.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			kind = "timeout"
		}
		p.m.basErrors.WithLabelValues(e.NAS.Name, kind).Inc()
		p.counts.add(0, 1, 1)
		p.countLogin("error", access.ReasonBASTimeout)
		p.log.Error("BAS did not answer (portal not response)", "nas", e.NAS.Name, "ip", e.UserIP, "user", a.Username, "err", err)
		v := &refusalView{Code: access.ReasonBASTimeout, Node: p.cfg.NodeID}
		v.MessageZH, v.MessageEN = both("portal.refused.bas_timeout", e.NAS.Name)
		v.FixZH, v.FixEN = access.ExplainText(access.ReasonBASTimeout)
		p.refused(w, r, http.StatusServiceUnavailable, e, v)
	}
}

// refusedCode shows a refusal with the links its reason calls for.
func (p *Portal) refusedCode(w http.ResponseWriter, r *http.Request, status int, e entry, rf access.Refusal, a *access.Account) {
	p.refusedCodeDevice(w, r, status, e, rf, a, nil)
}

// refusedCodeDevice is refusedCode with the device decision of the login,
// when there was one: a device refused for the PC limit is told which
// signals made it a PC.
func (p *Portal) refusedCodeDevice(w http.ResponseWriter, r *http.Request, status int, e entry, rf access.Refusal, a *access.Account, d *device.Decision) {
	v := &refusalView{Code: rf.Code}
	v.MessageZH, v.FixZH = rf.Text(false)
	v.MessageEN, v.FixEN = rf.Text(true)
	if v.FixZH == "" && v.FixEN == "" {
		v.FixZH, v.FixEN = access.ExplainText(rf.Code)
	}
	switch rf.Code {
	case access.ReasonBadCredentials, access.ReasonMustChangePassword, access.ReasonPasswordExpired:
		v.ResetURL = p.cfg.PasswordResetURL
	case access.ReasonArrears:
		v.Arrears = true
		v.PaymentURL = p.cfg.PaymentURL
		if a != nil {
			v.Balance = a.Balance
		}
		if e.NAS != nil {
			v.Fee = p.areas[e.NAS.Area].Fee
			if a != nil {
				v.Fee = p.nextFee(r.Context(), a.ID, p.areas[e.NAS.Area])
			}
		}
	case access.ReasonAlreadyOnline:
		v.StatusLink = true
	case access.ReasonDeviceLimitPC, access.ReasonDeviceLimitMobile:
		v.DeviceLimit = true
		v.SelfServiceURL = p.cfg.SelfServiceURL
		if rf.Code == access.ReasonDeviceLimitPC && !strings.Contains(v.FixEN, access.DesktopModeHintEN) {
			v.DesktopHintZH, v.DesktopHintEN = access.DesktopModeHintZH, access.DesktopModeHintEN
		}
		if rf.Code == access.ReasonDeviceLimitPC && d != nil {
			v.CountedPC = countedPCFor(*d, signalsFrom(r, e.MAC), e.MAC)
		}
		if v.CountedPC != nil {
			// The explanation says what to change, in this device's case
			// (and nothing to a real second PC): not the general hint too.
			v.DesktopHintZH, v.DesktopHintEN = "", ""
			v.FixZH = strings.TrimSpace(strings.Replace(v.FixZH, access.DesktopModeHintZH, "", 1))
			v.FixEN = strings.TrimSpace(strings.Replace(v.FixEN, access.DesktopModeHintEN, "", 1))
		}
	case access.ReasonBASTimeout:
		v.Node = p.cfg.NodeID
	}
	p.refused(w, r, status, e, v)
}

func (p *Portal) refused(w http.ResponseWriter, r *http.Request, status int, e entry, v *refusalView) {
	p.render(w, r, status, pageRefused, &pageData{Title: "portal.refused.title", Refusal: v, RetryURL: retryURL(e)})
}

func (p *Portal) internalError(w http.ResponseWriter, r *http.Request, e entry, what string, err error) {
	p.log.Error(""+what, "err", err)
	p.countLogin("error", "INTERNAL")
	p.renderMessage(w, r, http.StatusServiceUnavailable, "portal.message.busy", "portal.message.busy_text", retryURL(e))
}

// handlePassword is POST /password: the initial password is changed, and
// the person goes online with the new one.
func (p *Portal) handlePassword(w http.ResponseWriter, r *http.Request) {
	if !p.parsePost(w, r) {
		return
	}
	e, prob := p.resolveEntry(r.PostForm, sourceAddr(r))
	if prob != nil {
		p.render(w, r, http.StatusBadRequest, pageUnknown, &pageData{Title: "portal.unknown.cannot_login", Problem: prob})
		return
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	old, nw, nw2 := r.PostFormValue("password"), r.PostFormValue("new"), r.PostFormValue("new2")
	if p.limited(w, r, e, username) {
		return
	}
	again := func(status int, msgID string, fix [2]string) {
		v := &refusalView{FixZH: fix[0], FixEN: fix[1]}
		v.MessageZH, v.MessageEN = both(msgID)
		p.render(w, r, status, pagePassword, &pageData{Title: "portal.password.title", Username: cleanText(cut(username, maxUsernameLen)),
			Hidden: carried(r, e), Refusal: v, RetryURL: retryURL(e)})
	}
	if p.local == nil {
		p.refusedCode(w, r, http.StatusForbidden, e, access.RefuseMustChange(), nil)
		return
	}
	if !validUsername(username) || len(old) > maxPasswordLen || len(nw) > maxPasswordLen {
		p.chargeFailure(r, username)
		p.badCredentials(w, r, e, "", false)
		return
	}
	if nw != nw2 {
		again(http.StatusBadRequest, "portal.password.differ", bothA("portal.password.differ_fix"))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*p.cfg.LoginWait) // two hashes
	err := p.local.ChangePassword(ctx, username, old, nw)
	cancel()
	switch {
	case err == nil:
		p.log.Info("initial password changed", "user", username)
		r = withPasswordSaved(r)
	case errors.Is(err, identity.ErrWeakPassword):
		fix := bothA("portal.password.rejected_fix")
		if re := (*identity.RuleError)(nil); errors.As(err, &re) {
			fix = bothA(re.MessageID())
		}
		again(http.StatusBadRequest, "portal.password.rejected", fix)
		return
	case errors.Is(err, identity.ErrBadCredentials):
		p.chargeFailure(r, username)
		p.countLogin("reject", access.ReasonBadCredentials)
		rf := access.RefuseBadCredentials()
		again(http.StatusUnauthorized, "portal.password.wrong", [2]string{rf.FixZH, rf.FixEN})
		return
	default:
		p.identityFailed(w, r, e, username, err, false)
		return
	}
	ctx, cancel = context.WithTimeout(r.Context(), p.cfg.LoginWait)
	person, err := p.auth.Authenticate(ctx, username, nw)
	cancel()
	if err != nil {
		p.identityFailed(w, r, e, username, err, false)
		return
	}
	p.goOnline(w, r, e, person)
}

// handleLogout is POST /logout with the ticket of the online page.
func (p *Portal) handleLogout(w http.ResponseWriter, r *http.Request) {
	if !p.parsePost(w, r) {
		return
	}
	t, ok := p.readTicket(r.PostFormValue("ticket"))
	ip, err := netip.ParseAddr(t.IP)
	if !ok || err != nil {
		p.renderMessage(w, r, http.StatusForbidden, "portal.message.cannot_logout", "portal.message.bad_ticket", "/")
		return
	}
	n := p.byName[strings.ToLower(t.NAS)]
	if n == nil {
		n = p.nasFor(ip)
	}
	// A ticket logs out its own account only: once the address is someone
	// else's (a reused DHCP lease), it does nothing.
	if sess, err := p.st.LiveSessionByIP(r.Context(), ip.String()); err == nil && !strings.EqualFold(sess.Username, t.User) {
		p.log.Info("logout ticket for an address now under another account", "user", t.User, "ip", ip)
		p.renderMessage(w, r, http.StatusForbidden, "portal.message.cannot_logout", "portal.message.not_yours", "/")
		return
	}
	e := entry{UserIP: ip, NAS: n, ByHand: true}
	if n == nil || n.client == nil {
		p.render(w, r, http.StatusBadRequest, pageUnknown, &pageData{Title: "portal.message.cannot_logout", Problem: &entryProblem{Kind: "unknown-nas", Detail: cleanText(t.NAS)}})
		return
	}
	if err := n.client.Logout(r.Context(), ip); err != nil {
		var be *portalproto.BASError
		if errors.As(err, &be) {
			p.log.Warn("BAS refused logout", "nas", n.Name, "ip", ip, "user", t.User, "err", err)
			p.renderMessage(w, r, http.StatusBadGateway, "portal.message.logout_failed", "portal.message.logout_refused", "/status?ticket="+r.PostFormValue("ticket"))
			return
		}
		p.m.basErrors.WithLabelValues(n.Name, "timeout").Inc()
		p.counts.add(0, 0, 1)
		p.log.Error("BAS did not answer the logout", "nas", n.Name, "ip", ip, "err", err)
		v := &refusalView{Code: access.ReasonBASTimeout, Node: p.cfg.NodeID}
		v.MessageZH, v.MessageEN = both("portal.refused.logout_timeout", n.Name)
		v.FixZH, v.FixEN = access.ExplainText(access.ReasonBASTimeout)
		p.refused(w, r, http.StatusServiceUnavailable, e, v)
		return
	}
	p.log.Info("logged out", "user", t.User, "ip", ip, "nas", n.Name)
	p.render(w, r, http.StatusOK, pageMessage, &pageData{Title: "portal.message.logged_out",
		Message: "portal.message.logged_out_text", MessageClass: "ok", RetryURL: "/", SSOLogoutURL: p.ssoLogoutURL(r.Context(), t.SSO)})
}

// authLogWait bounds how long the portal waits for RADIUS's decision to
// reach the auth log: RADIUS writes it in batches, off the request's path,
// so it may land a little after the BAS's answer.
const authLogWait = 2 * time.Second

// decisionOf reads the auth log row of a token, waiting for it briefly.
func (p *Portal) decisionOf(ctx context.Context, tokID int64) (access.AuthLogEntry, error) {
	deadline := time.Now().Add(authLogWait)
	delay := 20 * time.Millisecond
	for {
		e, err := p.st.AuthLogByToken(ctx, tokID)
		if err == nil || !errors.Is(err, access.ErrNotFound) || time.Now().After(deadline) {
			return e, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return e, ctx.Err()
		case <-t.C:
		}
		if delay < 200*time.Millisecond {
			delay *= 2
		}
	}
}
