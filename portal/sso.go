package portal

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/mux"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/sso"
)

// Single sign-on at the portal (internal/sso). The login page's button is
// a link to /sso/<provider>/start with the entry's parameters (the BAS
// redirect's address, MAC, BAS and original URL), to which the page's
// script adds the device hints. The start stores them in the state's row
// and sends the browser to the provider with the return address
// <public_url>sso/<provider>/callback — always built from the configured
// public URL, never from the request. The callback consumes the state
// (once, in the database, in this browser only), has the provider confirm
// the person, and then runs the same login as a password login: the
// account (made by the shared first-login rule with the provider's role),
// the device class from the hints that travelled in the state, the
// one-time token and the Portal protocol exchange, with the same refusals
// and pages.

// ssoCallbackKey marks the callback's request, whose answers are
// redirects (as a POST's): reloading the page never replays the state.
type ssoCallbackKey struct{}

func isSSOCallback(r *http.Request) bool {
	v, _ := r.Context().Value(ssoCallbackKey{}).(bool)
	return v
}

// hintKeys are the login page script's device hints.
var hintKeys = []string{"platform", "touch", "sw", "sh", "uadm"}

// ssoButton is a provider's button on the login page.
type ssoButton struct {
	Name, DisplayZH, DisplayEN, Href string
}

func (p *Portal) ssoButtons(e entry) []ssoButton {
	var out []ssoButton
	for _, info := range p.sso.Providers() {
		href := "/sso/" + info.Name + "/start"
		if q := e.query(); len(q) > 0 {
			href += "?" + q.Encode()
		}
		out = append(out, ssoButton{Name: info.Name, DisplayZH: info.DisplayZH, DisplayEN: info.DisplayEN, Href: href})
	}
	return out
}

func (p *Portal) callbackURL(provider string) string {
	u := *p.public
	u.Path = strings.TrimSuffix(u.Path, "/") + sso.CallbackPath(provider)
	u.RawQuery = ""
	return u.String()
}

// handleSSOStart is GET /sso/{provider}/start.
func (p *Portal) handleSSOStart(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["provider"]
	info, ok := p.sso.Info(name)
	if !ok {
		http.Redirect(w, r, "/", http.StatusFound)
		return
	}
	if len(r.URL.RawQuery) > 4096 {
		p.renderMessage(w, r, http.StatusRequestURITooLong, "portal.message.too_long", "portal.message.too_long_text", "/")
		return
	}
	q := r.URL.Query()
	e, prob := p.resolveEntry(q, sourceAddr(r))
	if prob != nil {
		p.render(w, r, http.StatusBadRequest, pageUnknown, &pageData{Title: "portal.unknown.cannot_login", Problem: prob})
		return
	}
	carry := e.query()
	for _, k := range hintKeys {
		if v := cut(q.Get(k), 64); v != "" {
			carry.Set(k, v)
		}
	}
	redirect, browser, err := p.sso.Begin(r.Context(), sso.Start{Provider: name, Purpose: sso.PurposePortal,
		Callback: p.callbackURL(name), Payload: carry.Encode()})
	if err != nil {
		p.ssoFailed(w, r, e, info, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sso.BrowserCookie, Value: browser, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: p.public.Scheme == "https" || r.TLS != nil, MaxAge: 3600})
	p.log.Info("single sign-on started", "provider", name, "ip", e.UserIP, "mac", e.MAC, "nas", e.NAS.Name)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, redirect, http.StatusSeeOther)
}

// handleSSOCallback is GET /sso/{provider}/callback: the provider sends the
// person back here with a ticket (CAS) or a code (OIDC).
func (p *Portal) handleSSOCallback(w http.ResponseWriter, r *http.Request) {
	r = r.WithContext(context.WithValue(r.Context(), ssoCallbackKey{}, true))
	name := mux.Vars(r)["provider"]
	info, ok := p.sso.Info(name)
	if !ok || len(r.URL.RawQuery) > 8192 {
		p.renderMessage(w, r, http.StatusBadRequest, "portal.sso.bad_state.title", "portal.sso.bad_state", "/")
		return
	}
	browser := ""
	if c, err := r.Cookie(sso.BrowserCookie); err == nil {
		browser = c.Value
	}
	res, err := p.sso.Finish(r.Context(), sso.PurposePortal, name, r.URL.Query(), p.callbackURL(name), browser)
	if err != nil {
		// The entry is in the state's row, which a failure did not return:
		// the way back is the login page of the address asking.
		e, _ := p.resolveEntry(url.Values{}, sourceAddr(r))
		p.ssoFailed(w, r, e, info, err)
		return
	}
	q, _ := url.ParseQuery(res.Payload)
	e, prob := p.resolveEntry(q, sourceAddr(r))
	if prob != nil {
		p.render(w, r, http.StatusBadRequest, pageUnknown, &pageData{Title: "portal.unknown.cannot_login", Problem: prob})
		return
	}
	// The device hints the login page's script reported travelled in the
	// state: the device is classified from them as from a login form.
	r.PostForm = url.Values{}
	for _, k := range hintKeys {
		r.PostForm.Set(k, q.Get(k))
	}
	p.log.Info("single sign-on confirmed", "provider", name, "user", res.Person.ID, "ip", e.UserIP, "mac", e.MAC, "nas", e.NAS.Name)
	p.goOnline(w, r, e, res.Person)
}

// ssoFailed answers a single sign-on that could not go on: a used or
// changed state, a refusal by the provider, or a provider that cannot be
// reached — the last with the node's id and, when the site allows it, the
// password form.
func (p *Portal) ssoFailed(w http.ResponseWriter, r *http.Request, e entry, info sso.Info, err error) {
	switch {
	case errors.Is(err, sso.ErrBadState):
		p.log.Info("single sign-on state refused", "provider", info.Name, "ip", sourceAddr(r), "reason", err.Error())
		p.countLogin("reject", access.ReasonSSOFailed)
		p.renderMessage(w, r, http.StatusBadRequest, "portal.sso.bad_state.title", "portal.sso.bad_state", retryURL(e))
	case errors.Is(err, sso.ErrDenied):
		p.log.Warn("single sign-on not confirmed", "provider", info.Name, "ip", sourceAddr(r), "reason", err.Error())
		p.countLogin("reject", access.ReasonSSOFailed)
		v := &refusalView{Code: access.ReasonSSOFailed}
		v.MessageZH, v.MessageEN = zhP().T("portal.sso.denied", info.DisplayZH), enP().T("portal.sso.denied", info.DisplayEN)
		v.FixZH, v.FixEN = access.ExplainText(access.ReasonSSOFailed)
		p.refused(w, r, http.StatusForbidden, e, v)
	case errors.Is(err, sso.ErrUnavailable):
		p.log.Error("single sign-on provider unreachable", "provider", info.Name, "err", err)
		p.countLogin("error", access.ReasonSSOFailed)
		v := &refusalView{Code: access.ReasonSSOFailed, Node: p.cfg.NodeID}
		v.MessageZH = zhP().T("portal.sso.unreachable", info.DisplayZH, p.cfg.NodeID)
		v.MessageEN = enP().T("portal.sso.unreachable", info.DisplayEN, p.cfg.NodeID)
		if !p.cfg.NoPasswordLogin {
			v.FixZH, v.FixEN = both("portal.sso.unreachable_fix_password")
		} else {
			v.FixZH, v.FixEN = both("portal.sso.unreachable_fix")
		}
		if e.NAS != nil {
			// The login page itself, with the notice above the forms.
			p.renderLogin(w, r, http.StatusServiceUnavailable, e, "", v)
			return
		}
		p.render(w, r, http.StatusServiceUnavailable, pageRefused, &pageData{Title: "portal.refused.title", Refusal: v, RetryURL: "/"})
	default:
		p.internalError(w, r, e, "single sign-on", err)
	}
}

// ssoLogoutURL is where the logged-out page sends a person who logged in
// by single sign-on to end the provider's session too.
func (p *Portal) ssoLogoutURL(ctx context.Context, provider string) string {
	if provider == "" || p.sso == nil {
		return ""
	}
	return p.sso.LogoutURL(ctx, provider, p.public.String())
}
