package selfservice

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/i18n"
	"github.com/campusnet/campusnet/internal/identity"
)

// login checks a user name and password against unified identity, under
// the rate limits, and returns the account (creating the row for a
// directory user seen for the first time).
func (s *Service) login(ctx context.Context, r *http.Request, username, password string) (access.Account, error) {
	username, err := outsideText(username, maxUsernameLen)
	if err != nil {
		return access.Account{}, badField("selfservice.input.field.username")
	}
	if username == "" || password == "" || len(password) > 1024 {
		s.metrics.logins.WithLabelValues(string(access.ReasonBadCredentials)).Inc()
		return access.Account{}, errRefusal(http.StatusUnauthorized, access.RefuseBadCredentials())
	}
	if wait := s.limits.wait(ctx, s.clientIP(r), username); wait > 0 {
		s.metrics.logins.WithLabelValues(string(access.ReasonRateLimited)).Inc()
		mins := int((wait + time.Minute - 1) / time.Minute)
		return access.Account{}, &httpError{status: http.StatusTooManyRequests, code: string(access.ReasonRateLimited),
			message: fmt.Sprintf("尝试次数过多，请 %d 分钟后再试 / Too many attempts: try again in %d minutes", mins, mins)}
	}
	p, err := s.deps.Identity.Authenticate(ctx, username, password)
	switch {
	case errors.Is(err, identity.ErrSSOOnly):
		// No failure charged: the account has no password to guess.
		s.metrics.logins.WithLabelValues(string(access.ReasonUseSSO)).Inc()
		return access.Account{}, errRefusal(http.StatusUnauthorized, access.RefuseUseSSO())
	case errors.Is(err, identity.ErrBadCredentials):
		s.limits.failed(ctx, s.clientIP(r), username)
		s.metrics.logins.WithLabelValues(string(access.ReasonBadCredentials)).Inc()
		return access.Account{}, errRefusal(http.StatusUnauthorized, access.RefuseBadCredentials())
	case errors.Is(err, identity.ErrDisabled):
		// With local passwords the password was right (identity.Local
		// checks it first), so the person may read the operator's reason,
		// as at the portal. A directory's lock may not have checked it.
		s.metrics.logins.WithLabelValues(string(access.ReasonAccountDisabled)).Inc()
		reason := ""
		if a, err := s.st.AccountByUsername(ctx, username); err == nil && s.deps.Passwords != nil {
			reason = a.DisabledReason
		}
		return access.Account{}, errRefusal(http.StatusForbidden, access.RefuseDisabled(reason))
	case errors.Is(err, identity.ErrPasswordExpired):
		s.metrics.logins.WithLabelValues(string(access.ReasonPasswordExpired)).Inc()
		return access.Account{}, errRefusal(http.StatusForbidden, access.RefusePasswordExpired())
	case err != nil:
		s.metrics.logins.WithLabelValues(string(access.ReasonIdentityDown)).Inc()
		return access.Account{}, &httpError{status: http.StatusServiceUnavailable, code: string(access.ReasonIdentityDown),
			message: access.Explain(access.ReasonIdentityDown), err: err}
	}
	acc, err := s.st.AccountByUsername(ctx, p.ID)
	if errors.Is(err, access.ErrNotFound) {
		// A directory person logging in for the first time.
		acc, _, err = s.st.EnsureAccount(ctx, access.DirectoryAccount(p.ID, p.Name, p.Role))
	}
	if err != nil {
		return access.Account{}, err
	}
	if acc.Disabled {
		s.metrics.logins.WithLabelValues(string(access.ReasonAccountDisabled)).Inc()
		return access.Account{}, errRefusal(http.StatusForbidden, access.RefuseDisabled(acc.DisabledReason))
	}
	s.metrics.logins.WithLabelValues("ok").Inc()
	s.log.InfoContext(ctx, "login", "user", acc.Username, "ip", s.clientIP(r))
	return acc, nil
}

type loginData struct {
	ResetURL string
	Token    string
	Next     string
	Username string
	Error    string
	Fix      string
	// InitialX is the catalogue id of the X rule (Config.TrailingX);
	// XRule shows it in a wrong-password answer (endsInX).
	InitialX string
	XRule    bool
	Code     string // the reason code, small, for the desk
	// SSO are the single sign-on buttons; NoPassword hides the form.
	SSO        []ssoButton
	NoPassword bool
}

// newLoginData is the login page's data before any answer.
func (s *Service) newLoginData(w http.ResponseWriter, r *http.Request, next string) loginData {
	return loginData{ResetURL: s.cfg.PasswordResetURL, Token: s.preSession(w, r), Next: next,
		InitialX: initialXMessage(s.cfg.TrailingX), SSO: s.ssoButtons(i18n.For(i18n.Negotiate(r)), next), NoPassword: s.cfg.NoPasswordLogin}
}

func (s *Service) loginForm(w http.ResponseWriter, r *http.Request, q *request) error {
	if q.sess.Account != 0 {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	d := s.newLoginData(w, r, localPath(r.URL.Query().Get("next")))
	s.render(w, r, http.StatusOK, "login", q, "selfservice.login.title", d)
	return nil
}

func (s *Service) loginSubmit(w http.ResponseWriter, r *http.Request, q *request) error {
	if !s.checkPreToken(r, r.PostFormValue(csrfField)) {
		return errCSRF()
	}
	next := localPath(r.PostFormValue("next"))
	user := r.PostFormValue("username")
	var acc access.Account
	err := errRefusal(http.StatusForbidden, access.RefuseUseSSO())
	if !s.cfg.NoPasswordLogin {
		acc, err = s.login(r.Context(), r, user, r.PostFormValue("password"))
	}
	if err != nil {
		he := asHTTPError(err)
		if he.status >= 500 && he.code == CodeInternal {
			return err
		}
		s.logError(r, q, he)
		d := s.newLoginData(w, r, next)
		d.Username, d.Error = strings.TrimSpace(user), he.message
		if he.code != CodeBadRequest && he.code != CodeInternal {
			d.Code = he.code
		}
		switch access.Reason(he.code) {
		case access.ReasonUseSSO:
			d.Fix = access.RefuseUseSSO().Fix
		case access.ReasonBadCredentials, access.ReasonAccountDisabled, access.ReasonPasswordExpired:
			d.Fix = pageFix(access.Reason(he.code))
			if access.Reason(he.code) == access.ReasonBadCredentials {
				// The footer names the help desk: the fix does not repeat it.
				d.Fix = access.ForgotPasswordFix(s.cfg.PasswordResetURL != "", "")
				d.XRule = endsInX(r.PostFormValue("password"))
			}
			// A rate-limited page names its one wait in the message: no fix
			// with a second one.
		}
		s.render(w, r, he.status, "login", q, "selfservice.login.title", d)
		return nil
	}
	s.startSession(w, r, acc)
	if next == "/" && s.isAdmin(acc.Username) {
		// An operator lands on the NOC home, not on their own overview
		// (the nav still has it).
		next = "/admin"
	}
	if s.mustChange(acc) {
		next = "/password"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (s *Service) logout(w http.ResponseWriter, r *http.Request, q *request) error {
	s.endSession(w, r)
	if to := s.ssoLogout(r, q.sess); to != "" {
		// The provider's session ends too; it sends the browser back to
		// the login page.
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

type passwordData struct {
	Local      bool
	MustChange bool
	Error      string
}

func (s *Service) passwordForm(w http.ResponseWriter, r *http.Request, q *request) error {
	s.render(w, r, http.StatusOK, "password", q, "selfservice.password.title",
		passwordData{Local: s.deps.Passwords != nil, MustChange: s.mustChange(q.acc)})
	return nil
}

// changePassword changes q's password and reissues the session (the old
// cookie's password tag no longer matches).
func (s *Service) changePassword(w http.ResponseWriter, r *http.Request, q *request, oldPW, newPW string) error {
	if s.deps.Passwords == nil {
		return &httpError{status: http.StatusNotFound, code: CodeNotFound,
			message: "密码在统一身份认证平台修改 / Passwords are changed on the unified identity site"}
	}
	if wait := s.limits.wait(r.Context(), s.clientIP(r), q.acc.Username); wait > 0 {
		return &httpError{status: http.StatusTooManyRequests, code: string(access.ReasonRateLimited), message: access.Explain(access.ReasonRateLimited)}
	}
	err := s.deps.Passwords.ChangePassword(r.Context(), q.acc.Username, oldPW, newPW)
	var re *identity.RuleError
	switch {
	case errors.Is(err, identity.ErrPasswordTooShort):
		return errBadRequest(fmt.Sprintf("新密码至少 %d 个字符 / The new password needs at least %d characters", identity.MinPasswordLen, identity.MinPasswordLen))
	case errors.Is(err, identity.ErrPasswordTooLong):
		return errBadRequest(fmt.Sprintf("新密码最多 %d 个字符 / The new password may have at most %d characters", identity.MaxPasswordLen, identity.MaxPasswordLen))
	case errors.As(err, &re):
		return errBadRequest(i18n.For(i18n.Negotiate(r)).T(re.MessageID()))
	case errors.Is(err, identity.ErrWeakPassword):
		return errBadRequest("新密码不能与当前密码或用户名相同 / The new password must differ from the current one and from the user name")
	case errors.Is(err, identity.ErrBadCredentials):
		s.limits.failed(r.Context(), s.clientIP(r), q.acc.Username)
		return &httpError{status: http.StatusForbidden, code: string(access.ReasonBadCredentials), message: "当前密码不对 / The current password is wrong"}
	case err != nil:
		return err
	}
	acc, err := s.st.AccountByID(r.Context(), q.acc.ID)
	if err != nil {
		return err
	}
	q.acc = acc
	q.sess = s.startSession(w, r, acc)
	q.csrf = s.keys.csrfToken(q.sess.Nonce)
	s.log.InfoContext(r.Context(), "password changed", "user", acc.Username)
	return nil
}

func (s *Service) passwordSubmit(w http.ResponseWriter, r *http.Request, q *request) error {
	oldPW, newPW := r.PostFormValue("old_password"), r.PostFormValue("new_password")
	d := passwordData{Local: s.deps.Passwords != nil, MustChange: s.mustChange(q.acc)}
	if newPW != r.PostFormValue("new_password2") {
		d.Error = "两次输入的新密码不一致 / The two new passwords differ"
		s.render(w, r, http.StatusBadRequest, "password", q, "selfservice.password.title", d)
		return nil
	}
	if err := s.changePassword(w, r, q, oldPW, newPW); err != nil {
		he := asHTTPError(err)
		if he.status >= 500 {
			return err
		}
		d.Error = he.message
		s.render(w, r, he.status, "password", q, "selfservice.password.title", d)
		return nil
	}
	s.setFlash(w, r, flash{Kind: "ok", Text: pair("selfservice.flash.password_changed")})
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

func (s *Service) overviewPage(w http.ResponseWriter, r *http.Request, q *request) error {
	ov, err := s.overview(r.Context(), q.acc)
	if err != nil {
		return err
	}
	tr, err := s.traffic(r.Context(), i18n.For(i18n.Negotiate(r)), q.acc, ov)
	if err != nil {
		return err
	}
	plans, err := s.planViews(r.Context(), q.acc, ov)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "overview", q, "selfservice.overview.title", struct {
		overview
		Traffic traffic
		Plans   []planView
	}{ov, tr, limitedViews(plans)})
	return nil
}

func (s *Service) ledgerPage(w http.ResponseWriter, r *http.Request, q *request) error {
	entries, err := s.st.LedgerByAccount(r.Context(), q.acc.ID, 200)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "ledger", q, "selfservice.ledger.title", struct {
		Balance access.Fen
		Entries []access.LedgerEntry
	}{q.acc.Balance, entries})
	return nil
}

func (s *Service) devicesPage(w http.ResponseWriter, r *http.Request, q *request) error {
	p, err := s.devices(r.Context(), q.acc)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "devices", q, "selfservice.devices.title", p)
	return nil
}

// formResult turns an action's outcome into a flash message and a redirect
// (post/redirect/get); errors a person can act on become the message too.
func (s *Service) formResult(w http.ResponseWriter, r *http.Request, q *request, to string, f flash, err error) error {
	if err != nil {
		he := asHTTPError(err)
		if he.status >= 500 && he.code == CodeInternal {
			return err
		}
		s.logError(r, q, he)
		f = flash{Kind: "error", Text: he.message}
	}
	s.setFlash(w, r, f)
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// unbindFlash summarises an unbind for a person.
func unbindFlash(res unbindResult) flash {
	var b strings.Builder
	kind := "ok"
	if res.WasBound {
		b.WriteString(pair("selfservice.flash.unbound", res.MAC) + "\n")
	} else {
		b.WriteString(pair("selfservice.flash.was_not_bound", res.MAC) + "\n")
	}
	// One "中文 / English" pair a line: the page shows one language.
	for _, d := range res.Disconnects {
		b.WriteString(d.text())
		b.WriteString("\n")
		if !d.ACK {
			kind = "warn"
		}
	}
	for _, e := range res.Errors {
		b.WriteString(e)
		b.WriteString("\n")
		kind = "warn"
	}
	if len(res.Disconnects) == 0 && len(res.Errors) == 0 {
		b.WriteString(pair("selfservice.flash.not_online"))
	}
	return flash{Kind: kind, Text: strings.TrimSpace(b.String())}
}

func kickFlash(d disconnectResult) flash {
	if d.ACK {
		return flash{Kind: "ok", Text: d.text()}
	}
	return flash{Kind: "warn", Text: d.text()}
}

func (s *Service) unbindSubmit(w http.ResponseWriter, r *http.Request, q *request) error {
	res, err := s.unbind(r.Context(), q.acc, r.PostFormValue("mac"), q.acc.Username, "self-service unbind", "student")
	return s.formResult(w, r, q, "/devices", unbindFlash(res), err)
}

func (s *Service) registerSubmit(w http.ResponseWriter, r *http.Request, q *request) error {
	d, err := s.register(r.Context(), q.acc, r.PostFormValue("mac"), access.Class(r.PostFormValue("class")), q.acc.Username)
	zh, en := i18n.For(i18n.Chinese), i18n.For(i18n.English)
	f := flash{Kind: "ok", Text: zh.T("selfservice.flash.registered", d.MAC, zh.T(access.ClassMessage(d.Class))) + " / " +
		en.T("selfservice.flash.registered", d.MAC, en.T(access.ClassMessage(d.Class)))}
	return s.formResult(w, r, q, "/devices", f, err)
}

func (s *Service) kickSubmit(w http.ResponseWriter, r *http.Request, q *request) error {
	id, err := parseID(r.PostFormValue("session"))
	var res disconnectResult
	if err == nil {
		res, err = s.kick(r.Context(), q.acc, id, q.acc.Username, closeKick, "student")
	}
	return s.formResult(w, r, q, "/devices", kickFlash(res), err)
}

func (s *Service) whyPage(w http.ResponseWriter, r *http.Request, q *request) error {
	p, err := s.why(r.Context(), q.acc)
	if err != nil {
		return err
	}
	plans, err := s.planViews(r.Context(), q.acc, p.Overview)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "why", q, "selfservice.why.title", struct {
		whyPage
		Plans []planView
	}{p, limitedViews(plans)})
	return nil
}

func (s *Service) notFoundPage(w http.ResponseWriter, r *http.Request, q *request) error {
	return errNotFound()
}
