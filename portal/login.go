package portal

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/device"
	"github.com/campusnet/campusnet/internal/i18n"
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
			p.renderMessage(w, r, http.StatusRequestEntityTooLarge, "请求过大 / Request too large",
				"提交的内容过长。", "The form was too large.", "/")
			return false
		}
		p.renderMessage(w, r, http.StatusBadRequest, "请求无效 / Bad request", "无法读取提交的表单。", "The form could not be read.", "/")
		return false
	}
	if !p.checkCSRF(r) {
		e, _ := p.resolveEntry(r.PostForm, sourceAddr(r))
		p.renderMessage(w, r, http.StatusForbidden, "页面已过期 / Page expired",
			"登录页面已过期或浏览器未保存 Cookie，请返回登录页重新提交。",
			"The login page expired or the browser did not keep its cookie: go back and submit again.", retryURL(e))
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
		p.render(w, r, http.StatusBadRequest, pageUnknown, &pageData{Title: "无法认证 / Cannot log in", Problem: prob})
		return
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	p.login(w, r, e, username, password)
}

// validUsername rejects names no directory holds, before they cost a hash.
func validUsername(u string) bool {
	if u == "" || len(u) > maxUsernameLen || !utf8.ValidString(u) {
		return false
	}
	for _, c := range u {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
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
			p.refused(w, r, http.StatusTooManyRequests, e, &refusalView{Code: access.ReasonRateLimited,
				Message: "尝试次数过多，请 " + waitText(wait) + " 后再试 / Too many attempts: try again in " + waitTextEN(wait),
				Fix:     access.Explain(access.ReasonRateLimited), ResetURL: p.cfg.PasswordResetURL})
			return true
		}
	}
	return false
}

func waitText(d time.Duration) string {
	if d < time.Minute {
		return strconv.Itoa(int(d.Seconds())+1) + " 秒"
	}
	return strconv.Itoa(int(d.Minutes())+1) + " 分钟"
}

func waitTextEN(d time.Duration) string {
	if d < time.Minute {
		return strconv.Itoa(int(d.Seconds())+1) + " s"
	}
	return strconv.Itoa(int(d.Minutes())+1) + " min"
}

func (p *Portal) chargeFailure(r *http.Request, username string) {
	p.accountLimit.Charge(r.Context(), strings.ToLower(username))
	p.sourceLimit.Charge(r.Context(), sourceAddr(r).String())
}

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
	person, err := p.auth.Authenticate(r.Context(), username, password)
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
		p.render(w, r, http.StatusOK, pagePassword, &pageData{Title: "修改初始密码 / Change your password",
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
	default:
		p.log.Error("unified identity unavailable", "user", username, "err", err)
		p.countLogin("error", access.ReasonIdentityDown)
		p.refusedCode(w, r, http.StatusServiceUnavailable, e, access.Refusal{Code: access.ReasonIdentityDown,
			Message: "统一身份认证暂时不可用 / Unified identity is unavailable", Fix: access.Explain(access.ReasonIdentityDown)}, nil)
	}
}

func (p *Portal) badCredentials(w http.ResponseWriter, r *http.Request, e entry, username string, xRule bool) {
	p.countLogin("reject", access.ReasonBadCredentials)
	rf := access.RefuseBadCredentials()
	p.renderLogin(w, r, http.StatusUnauthorized, e, username, &refusalView{Code: rf.Code, Message: rf.Message,
		Fix: access.ForgotPasswordFix(p.cfg.PasswordResetURL != "", p.cfg.Helpdesk), ResetURL: p.cfg.PasswordResetURL, XRule: xRule})
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
		a, _, err = p.st.EnsureAccount(ctx, access.DirectoryAccount(person.ID, person.Name, person.Role))
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
	res, err := e.NAS.client.Login(ctx, e.UserIP, e.MAC, a.Username, []byte(token))
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
		URL: e.URL, Desktop: d.DesktopMode, Already: res.AlreadyOnline})
}

// basRefused turns a failed Portal protocol login into the page that
// explains it: RADIUS's reason from the auth log when it refused, "portal
// not response" with this node's id when the BAS was silent.
func (p *Portal) basRefused(w http.ResponseWriter, r *http.Request, e entry, a access.Account, d device.Decision, tokID int64, err error) {
	var be *portalproto.BASError
	switch {
	case errors.As(err, &be) && errors.Is(err, portalproto.ErrInProgress):
		p.countLogin("reject", "IN_PROGRESS")
		p.renderMessage(w, r, http.StatusConflict, "正在认证 / Login in progress",
			"该地址的另一次认证正在进行，请稍等几秒后重试。", "Another login of this address is in progress: wait a few seconds and try again.", retryURL(e))
		return
	case errors.As(err, &be):
		// RADIUS (through the BAS) refused: its reason is in the auth log.
		entryLog, lerr := p.decisionOf(r.Context(), tokID)
		if lerr != nil {
			p.log.Warn("BAS refused and RADIUS recorded no reason", "user", a.Username, "ip", e.UserIP, "nas", e.NAS.Name,
				"code", int(be.Code), "text", be.Text, "err", lerr)
			p.countLogin("reject", "BAS_REFUSED")
			msg := "接入设备拒绝了认证 / The access device refused the login"
			if be.Text != "" {
				msg += ": " + cleanText(cut(be.Text, 256))
			}
			p.refused(w, r, http.StatusForbidden, e, &refusalView{Code: "BAS_REFUSED", Message: msg,
				Fix:  "请稍后重试；仍不行请联系网络信息中心并告知页面底部的编号。 / Try again shortly; if it persists, tell the network centre the number at the bottom of this page.",
				Node: p.cfg.NodeID})
			return
		}
		p.countLogin("reject", entryLog.Reason)
		p.log.Info("refused", "user", a.Username, "ip", e.UserIP, "nas", e.NAS.Name, "reason", entryLog.Reason)
		rf := access.Refusal{Code: entryLog.Reason, Message: entryLog.Message, Fix: access.Explain(entryLog.Reason)}
		if rf.Message == "" {
			rf.Message = string(entryLog.Reason)
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
		p.refused(w, r, http.StatusServiceUnavailable, e, &refusalView{Code: access.ReasonBASTimeout,
			Message: "portal not response：接入设备 " + e.NAS.Name + " 无响应 / The access device " + e.NAS.Name + " did not answer",
			Fix:     access.Explain(access.ReasonBASTimeout), Node: p.cfg.NodeID})
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
	v := &refusalView{Code: rf.Code, Message: rf.Message, Fix: rf.Fix}
	if v.Fix == "" {
		v.Fix = access.Explain(rf.Code)
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
		}
	case access.ReasonAlreadyOnline:
		v.StatusLink = true
	case access.ReasonDeviceLimitPC, access.ReasonDeviceLimitMobile:
		v.DeviceLimit = true
		v.SelfServiceURL = p.cfg.SelfServiceURL
		if rf.Code == access.ReasonDeviceLimitPC && !strings.Contains(v.Fix, access.DesktopModeHint) {
			v.DesktopHint = access.DesktopModeHint
		}
		if rf.Code == access.ReasonDeviceLimitPC && d != nil {
			v.CountedPC = countedPCFor(*d, signalsFrom(r, e.MAC), e.MAC)
		}
	case access.ReasonBASTimeout:
		v.Node = p.cfg.NodeID
	}
	p.refused(w, r, status, e, v)
}

func (p *Portal) refused(w http.ResponseWriter, r *http.Request, status int, e entry, v *refusalView) {
	p.render(w, r, status, pageRefused, &pageData{Title: "未能上线 / Not online", Refusal: v, RetryURL: retryURL(e)})
}

func (p *Portal) internalError(w http.ResponseWriter, r *http.Request, e entry, what string, err error) {
	p.log.Error(""+what, "err", err)
	p.countLogin("error", "INTERNAL")
	p.renderMessage(w, r, http.StatusServiceUnavailable, "系统繁忙 / System busy",
		"认证系统暂时无法处理，请稍后重试；仍不行请联系网络信息中心并告知页面底部的编号。",
		"The portal cannot handle the login right now: try again shortly; if it persists, tell the network centre the number at the bottom of this page.", retryURL(e))
}

// handlePassword is POST /password: the initial password is changed, and
// the person goes online with the new one.
func (p *Portal) handlePassword(w http.ResponseWriter, r *http.Request) {
	if !p.parsePost(w, r) {
		return
	}
	e, prob := p.resolveEntry(r.PostForm, sourceAddr(r))
	if prob != nil {
		p.render(w, r, http.StatusBadRequest, pageUnknown, &pageData{Title: "无法认证 / Cannot log in", Problem: prob})
		return
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	old, nw, nw2 := r.PostFormValue("password"), r.PostFormValue("new"), r.PostFormValue("new2")
	if p.limited(w, r, e, username) {
		return
	}
	again := func(status int, msg, fix string) {
		p.render(w, r, status, pagePassword, &pageData{Title: "修改初始密码 / Change your password", Username: cleanText(cut(username, maxUsernameLen)),
			Hidden: carried(r, e), Refusal: &refusalView{Message: msg, Fix: fix}})
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
		again(http.StatusBadRequest, "两次输入的新密码不一致 / The two new passwords differ", "请重新输入。 / Type them again.")
		return
	}
	err := p.local.ChangePassword(r.Context(), username, old, nw)
	switch {
	case err == nil:
		p.log.Info("initial password changed", "user", username)
		r = withPasswordSaved(r)
	case errors.Is(err, identity.ErrWeakPassword):
		fix := "新密码须为 8 至 128 个字符，且不能与当前密码或账号相同。 / Use 8 to 128 characters, different from the current password and the user name."
		if re := (*identity.RuleError)(nil); errors.As(err, &re) {
			fix = i18n.For(i18n.Negotiate(r)).T(re.MessageID())
		}
		again(http.StatusBadRequest, "新密码不符合要求 / The new password is not allowed", fix)
		return
	case errors.Is(err, identity.ErrBadCredentials):
		p.chargeFailure(r, username)
		p.countLogin("reject", access.ReasonBadCredentials)
		rf := access.RefuseBadCredentials()
		again(http.StatusUnauthorized, "当前密码错误 / The current password is wrong", rf.Fix)
		return
	default:
		p.identityFailed(w, r, e, username, err, false)
		return
	}
	person, err := p.auth.Authenticate(r.Context(), username, nw)
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
		p.renderMessage(w, r, http.StatusForbidden, "无法注销 / Cannot log out",
			"注销凭据无效或已过期：请在已上线的设备上打开 http://1.1.1.1 注销，或在自服务系统下线。",
			"The logout ticket is invalid or expired: open http://1.1.1.1 on the device that is online, or take it offline in self-service.", "/")
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
		p.renderMessage(w, r, http.StatusForbidden, "无法注销 / Cannot log out",
			"该地址现在不是你的账号在使用，无需注销。", "This address is no longer in use by your account: there is nothing to log out.", "/")
		return
	}
	e := entry{UserIP: ip, NAS: n, ByHand: true}
	if n == nil || n.client == nil {
		p.render(w, r, http.StatusBadRequest, pageUnknown, &pageData{Title: "无法注销 / Cannot log out", Problem: &entryProblem{Kind: "unknown-nas", Detail: cleanText(t.NAS)}})
		return
	}
	if err := n.client.Logout(r.Context(), ip); err != nil {
		var be *portalproto.BASError
		if errors.As(err, &be) {
			p.log.Warn("BAS refused logout", "nas", n.Name, "ip", ip, "user", t.User, "err", err)
			p.renderMessage(w, r, http.StatusBadGateway, "注销失败 / Logout failed",
				"接入设备拒绝了注销请求，请稍后重试或在自服务系统下线。", "The access device refused the logout: try again, or go offline in self-service.", "/status?ticket="+r.PostFormValue("ticket"))
			return
		}
		p.m.basErrors.WithLabelValues(n.Name, "timeout").Inc()
		p.counts.add(0, 0, 1)
		p.log.Error("BAS did not answer the logout", "nas", n.Name, "ip", ip, "err", err)
		p.refused(w, r, http.StatusServiceUnavailable, e, &refusalView{Code: access.ReasonBASTimeout,
			Message: "portal not response：接入设备 " + n.Name + " 无响应，注销未完成 / The access device did not answer: not logged out",
			Fix:     access.Explain(access.ReasonBASTimeout), Node: p.cfg.NodeID})
		return
	}
	p.log.Info("logged out", "user", t.User, "ip", ip, "nas", n.Name)
	p.render(w, r, http.StatusOK, pageMessage, &pageData{Title: "已注销 / Logged out",
		Message: "已注销，本设备已断开校园网。", MessageEN: "You are logged out; this device is off the campus network.", MessageClass: "ok", RetryURL: "/"})
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
