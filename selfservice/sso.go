package selfservice

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/mux"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/i18n"
	"github.com/campusnet/campusnet/internal/sso"
)

// Single sign-on in self-service (internal/sso): the login page's button
// goes to /sso/<provider>/start, which records the state (with the page to
// open after login, a local path) and sends the browser to the provider;
// the provider sends it back to <public_url>sso/<provider>/callback, built
// from the configured address only. The callback consumes the state once,
// in this browser only, and opens a session for the account (made by the
// shared first-login rule with the provider's role on a first login; an
// account the NOC disabled stays disabled). The session remembers the
// provider, and logging out also ends the provider's session where the
// provider offers it (CAS /logout, OIDC end_session_endpoint).

// ssoButton is a provider's button on the login page.
type ssoButton struct {
	Name, Label, Href string
}

func (s *Service) ssoButtons(p *i18n.Printer, next string) []ssoButton {
	var out []ssoButton
	for _, info := range s.deps.SSO.Providers() {
		href := "/sso/" + info.Name + "/start"
		if next != "" && next != "/" {
			href += "?" + url.Values{"next": {next}}.Encode()
		}
		out = append(out, ssoButton{Name: info.Name, Label: p.T("selfservice.sso.button", p.Pick(info.DisplayZH, info.DisplayEN)), Href: href})
	}
	return out
}

func (s *Service) callbackURL(provider string) string {
	u, _ := url.Parse(s.cfg.PublicURL)
	u.Path = strings.TrimSuffix(u.Path, "/") + sso.CallbackPath(provider)
	u.RawQuery = ""
	return u.String()
}

func (s *Service) ssoStart(w http.ResponseWriter, r *http.Request, q *request) error {
	name := mux.Vars(r)["provider"]
	info, ok := s.deps.SSO.Info(name)
	if !ok {
		return &httpError{status: http.StatusNotFound, code: CodeNotFound, message: "没有这个统一身份认证 / No such single sign-on provider"}
	}
	next := localPath(r.URL.Query().Get("next"))
	redirect, browser, err := s.deps.SSO.Begin(r.Context(), sso.Start{Provider: name, Purpose: sso.PurposeSelfService,
		Callback: s.callbackURL(name), Payload: next})
	if err != nil {
		return s.ssoError(w, r, q, info, err)
	}
	s.setCookie(w, r, sso.BrowserCookie, browser, s.deps.SSO.StateTTL())
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, redirect, http.StatusSeeOther)
	return nil
}

func (s *Service) ssoCallback(w http.ResponseWriter, r *http.Request, q *request) error {
	name := mux.Vars(r)["provider"]
	info, ok := s.deps.SSO.Info(name)
	if !ok || len(r.URL.RawQuery) > 8192 {
		return s.ssoError(w, r, q, info, sso.ErrBadState)
	}
	browser := ""
	if c, err := r.Cookie(sso.BrowserCookie); err == nil {
		browser = c.Value
	}
	res, err := s.deps.SSO.Finish(r.Context(), sso.PurposeSelfService, name, r.URL.Query(), s.callbackURL(name), browser)
	if err != nil {
		return s.ssoError(w, r, q, info, err)
	}
	s.setCookie(w, r, sso.BrowserCookie, "", 0)
	p := res.Person
	ctx := r.Context()
	acc, err := s.st.AccountByUsername(ctx, p.ID)
	if errors.Is(err, access.ErrNotFound) {
		acc, _, err = s.st.EnsureAccount(ctx, access.SSOAccount(res.Provider, p.ID, p.Name, p.Role))
	}
	if err != nil {
		return err
	}
	if acc.Disabled {
		s.metrics.logins.WithLabelValues(string(access.ReasonAccountDisabled)).Inc()
		rf := access.RefuseDisabled(acc.DisabledReason)
		return s.ssoLoginPage(w, r, q, http.StatusForbidden, rf.Message, rf.Fix, string(rf.Code))
	}
	s.metrics.logins.WithLabelValues("ok").Inc()
	s.log.InfoContext(ctx, "login", "user", acc.Username, "ip", s.clientIP(r), "provider", res.Provider)
	s.startSessionSSO(w, r, acc, res.Provider)
	next := localPath(res.Payload)
	if s.mustChange(acc) {
		next = "/password"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// ssoError answers a single sign-on that could not go on, on the login
// page: a used or changed state, a refusal by the provider, or a provider
// that cannot be reached (naming the node; the password form, where the
// site has one, still works).
func (s *Service) ssoError(w http.ResponseWriter, r *http.Request, q *request, info sso.Info, err error) error {
	bi := func(id string, zh, en string) string {
		if zh == "" && en == "" {
			return i18n.For(i18n.Chinese).T(id) + " / " + i18n.For(i18n.English).T(id)
		}
		return i18n.For(i18n.Chinese).T(id, zh) + " / " + i18n.For(i18n.English).T(id, en)
	}
	switch {
	case errors.Is(err, sso.ErrBadState):
		s.log.InfoContext(r.Context(), "single sign-on state refused", "provider", info.Name, "ip", s.clientIP(r), "reason", err.Error())
		s.metrics.logins.WithLabelValues(string(access.ReasonSSOFailed)).Inc()
		return s.ssoLoginPage(w, r, q, http.StatusBadRequest, bi("selfservice.sso.bad_state", "", ""), "", string(access.ReasonSSOFailed))
	case errors.Is(err, sso.ErrDenied):
		s.log.WarnContext(r.Context(), "single sign-on not confirmed", "provider", info.Name, "ip", s.clientIP(r), "reason", err.Error())
		s.metrics.logins.WithLabelValues(string(access.ReasonSSOFailed)).Inc()
		zh, en := access.ExplainText(access.ReasonSSOFailed)
		return s.ssoLoginPage(w, r, q, http.StatusForbidden, bi("selfservice.sso.denied", info.DisplayZH, info.DisplayEN), zh+" / "+en, string(access.ReasonSSOFailed))
	case errors.Is(err, sso.ErrUnavailable):
		s.log.ErrorContext(r.Context(), "single sign-on provider unreachable", "provider", info.Name, "err", err)
		s.metrics.logins.WithLabelValues(string(access.ReasonSSOFailed)).Inc()
		msg := i18n.For(i18n.Chinese).T("selfservice.sso.unreachable", info.DisplayZH, s.cfg.NodeID) + " / " +
			i18n.For(i18n.English).T("selfservice.sso.unreachable", info.DisplayEN, s.cfg.NodeID)
		fix := "selfservice.sso.unreachable_fix_password"
		if s.cfg.NoPasswordLogin {
			fix = "selfservice.sso.unreachable_fix"
		}
		return s.ssoLoginPage(w, r, q, http.StatusServiceUnavailable, msg, i18n.For(i18n.Chinese).T(fix)+" / "+i18n.For(i18n.English).T(fix), string(access.ReasonSSOFailed))
	}
	return err
}

// ssoLoginPage is the login page with a notice (both languages, "中文 /
// English"; the page shows one).
func (s *Service) ssoLoginPage(w http.ResponseWriter, r *http.Request, q *request, status int, msg, fix, code string) error {
	d := s.newLoginData(w, r, "")
	d.Error, d.Fix, d.Code = msg, fix, code
	s.render(w, r, status, "login", q, "selfservice.login.title", d)
	return nil
}

// ssoLogout is where logging out sends a browser whose session single
// sign-on opened: the provider's logout, coming back to the login page;
// "" for other sessions and providers without a logout.
func (s *Service) ssoLogout(r *http.Request, sess session) string {
	if sess.SSO == "" || s.deps.SSO == nil {
		return ""
	}
	u, _ := url.Parse(s.cfg.PublicURL)
	u.Path = strings.TrimSuffix(u.Path, "/") + "/login"
	return s.deps.SSO.LogoutURL(r.Context(), sess.SSO, u.String())
}
