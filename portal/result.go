package portal

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/campusnet/campusnet/internal/access"
)

// Post/Redirect/Get: a form POST (login, password change, logout) never
// answers with a page. A successful login answers 303 See Other to
// /online?r=… and any other outcome to /result?r=…, so reloading the page
// the person sees is a GET and never submits the password again. The
// reference is signed with the form key (so any node reads it) and carries
// what the page shows: the login's address, BAS, device and flags for the
// online page (valid as long as a logout ticket), the refusal or message
// and its status code for the others (valid resultLife).

const (
	resultLife   = 10 * time.Minute
	maxRefLen    = 8192
	deviceCookie = "cn_dev"
	// onlineFresh: how long after the login its online page is shown
	// although no live session names the address yet.
	onlineFresh = 2 * time.Minute
)

// onlineRef is the signed reference of an online page.
type onlineRef struct {
	IP      string       `json:"i"`
	NAS     string       `json:"n"`
	User    string       `json:"u"`
	MAC     string       `json:"m,omitempty"`
	Class   access.Class `json:"c"`
	URL     string       `json:"l,omitempty"`
	Desktop bool         `json:"d,omitempty"`
	Already bool         `json:"a,omitempty"`
	Saved   bool         `json:"s,omitempty"`
	SSO     string       `json:"o,omitempty"`
	At      int64        `json:"t"`
	Expires int64        `json:"e"`
}

// resultRef is the signed reference of a refusal, message or login-form
// page that answered a POST.
type resultRef struct {
	Status     int          `json:"s"`
	Page       string       `json:"p"`
	Title      string       `json:"t,omitempty"`
	Refusal    *refusalView `json:"r,omitempty"`
	Message    string       `json:"m,omitempty"`
	Class      string       `json:"mc,omitempty"`
	Retry      string       `json:"rt,omitempty"`
	Username   string       `json:"u,omitempty"`
	Query      string       `json:"q,omitempty"`
	RetryAfter string       `json:"ra,omitempty"`
	Saved      bool         `json:"sv,omitempty"`
	SSOLogout  string       `json:"lo,omitempty"`
	Expires    int64        `json:"e"`
}

func (p *Portal) signRef(label string, v any) string {
	b, _ := json.Marshal(v)
	body := base64.RawURLEncoding.EncodeToString(b)
	return body + "." + p.mac(label, body)
}

func (p *Portal) openRef(label, s string, v any) bool {
	if len(s) > maxRefLen {
		return false
	}
	body, sum, ok := strings.Cut(s, ".")
	if !ok || subtle.ConstantTimeCompare([]byte(sum), []byte(p.mac(label, body))) != 1 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	return err == nil && json.Unmarshal(b, v) == nil
}

// passwordSavedKey marks a request whose initial password was changed, so
// that whatever page follows (online, arrears, a BAS timeout) says so.
type passwordSavedKey struct{}

func withPasswordSaved(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), passwordSavedKey{}, true))
}

func passwordSaved(r *http.Request) bool {
	v, _ := r.Context().Value(passwordSavedKey{}).(bool)
	return v
}

// redirectResult answers a POST with 303 to the GET page showing d.
func (p *Portal) redirectResult(w http.ResponseWriter, r *http.Request, status int, name string, d *pageData) {
	ref := resultRef{Status: status, Page: name, Title: d.Title, Refusal: d.Refusal, Message: d.Message,
		Class: d.MessageClass, Retry: d.RetryURL, Username: d.Username, RetryAfter: w.Header().Get("Retry-After"),
		Saved: d.PasswordSaved || passwordSaved(r), SSOLogout: d.SSOLogoutURL, Expires: p.now().Add(resultLife).Unix()}
	if name == pageLogin {
		q := url.Values{}
		for _, f := range d.Hidden {
			q.Set(f.Name, f.Value)
		}
		ref.Query = q.Encode()
	}
	p.seeOther(w, r, "/result?r="+p.signRef("result", ref))
}

func (p *Portal) seeOther(w http.ResponseWriter, r *http.Request, to string) {
	if lang := r.URL.Query().Get("lang"); lang != "" {
		to += "&lang=" + url.QueryEscape(cut(lang, 8))
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// handleResult is GET /result: the page a POST redirected to.
func (p *Portal) handleResult(w http.ResponseWriter, r *http.Request) {
	var ref resultRef
	if !p.openRef("result", r.URL.Query().Get("r"), &ref) || p.now().Unix() > ref.Expires ||
		(ref.Page != pageRefused && ref.Page != pageMessage && ref.Page != pageLogin) {
		p.render(w, r, http.StatusOK, pageMessage, &pageData{Title: "portal.result.expired.title",
			Message: "portal.result.expired", MessageClass: "warn", RetryURL: "/"})
		return
	}
	if ref.RetryAfter != "" {
		w.Header().Set("Retry-After", cut(ref.RetryAfter, 8))
	}
	if ref.Page == pageLogin {
		q, _ := url.ParseQuery(ref.Query)
		e, prob := p.resolveEntry(q, sourceAddr(r))
		if prob != nil {
			p.render(w, r, http.StatusBadRequest, pageUnknown, &pageData{Title: "portal.unknown.cannot_login", Problem: prob})
			return
		}
		p.renderLogin(w, r, ref.Status, e, ref.Username, ref.Refusal)
		return
	}
	p.render(w, r, ref.Status, ref.Page, &pageData{Title: ref.Title, Refusal: ref.Refusal, Message: ref.Message,
		MessageClass: ref.Class, RetryURL: ref.Retry, PasswordSaved: ref.Saved, SSOLogoutURL: ref.SSOLogout})
}

// loggedIn ends a successful login: the device cookie that ties the status
// page to this browser, then 303 to the online page.
func (p *Portal) loggedIn(w http.ResponseWriter, r *http.Request, ref onlineRef) {
	ip, _ := netip.ParseAddr(ref.IP)
	tk := ticketFor(ip, ref.NAS, ref.User)
	tk.SSO = ref.SSO
	p.setDeviceCookie(w, r, p.signTicket(tk))
	ref.At = p.now().Unix()
	ref.Expires = p.now().Add(ticketLife).Unix()
	ref.Saved = ref.Saved || passwordSaved(r)
	p.seeOther(w, r, "/online?r="+p.signRef("online", ref))
}

// handleOnline is GET /online: the result of a login, for as long as the
// address is this account's.
func (p *Portal) handleOnline(w http.ResponseWriter, r *http.Request) {
	var ref onlineRef
	ip, err := netip.ParseAddr(ref.IP)
	if p.openRef("online", r.URL.Query().Get("r"), &ref) {
		ip, err = netip.ParseAddr(ref.IP)
	}
	if err != nil || p.now().Unix() > ref.Expires {
		p.renderMessage(w, r, http.StatusForbidden, "portal.online.invalid.title", "portal.online.invalid", "/")
		return
	}
	// Right after the login the reservation may not carry the address yet
	// (Accounting-Start is on its way): a fresh reference is shown unless
	// the address is live under someone else.
	fresh := p.now().Unix()-ref.At < int64(onlineFresh.Seconds())
	sess, err := p.st.LiveSessionByIP(r.Context(), ref.IP)
	if err != nil && !errors.Is(err, access.ErrNotFound) {
		p.log.Warn("online page: session lookup", "ip", ip, "err", err)
	}
	if (err == nil && !strings.EqualFold(sess.Username, ref.User)) || (err != nil && !fresh) {
		// Logged out since, or the address is someone else's now: the
		// page says "not online" and names nobody.
		p.renderStatus(w, r, ip, nil, false)
		return
	}
	a, err := p.st.AccountByUsername(r.Context(), ref.User)
	if err != nil {
		a = access.Account{ID: sess.AccountID, Username: ref.User}
	}
	area := sess.Area
	if n := p.byName[strings.ToLower(ref.NAS)]; n != nil && area == "" {
		area = n.Area
	}
	v := p.onlineFor(r, a, area, ref.Class, ref.IP, ref.MAC, 0, fresh)
	v.AlreadyOnline = ref.Already
	v.DesktopMode = ref.Desktop
	tk := ticketFor(ip, ref.NAS, ref.User)
	tk.SSO = ref.SSO
	v.Ticket = p.signTicket(tk)
	if ref.URL != "" {
		v.ContinueURL = ref.URL
		if u, err := url.Parse(ref.URL); err == nil {
			v.ContinueHost = u.Host
		}
	}
	p.render(w, r, http.StatusOK, pageOnline, &pageData{Title: "portal.online.title", Online: v, PasswordSaved: ref.Saved})
}

// The device cookie holds the logout ticket of the last login made in this
// browser. The status page of the address asking (GET / typed by hand, GET
// /status) shows an account only to the browser whose cookie names it: an
// address can be online under someone else (a DHCP lease given again, a
// stale session, an address typed by hand), and that person's name,
// balance and logout are not for this device.
func (p *Portal) setDeviceCookie(w http.ResponseWriter, r *http.Request, tk string) {
	http.SetCookie(w, &http.Cookie{Name: deviceCookie, Value: tk, Path: "/", MaxAge: int(ticketLife.Seconds()), HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: p.public.Scheme == "https" || r.TLS != nil})
}

// ownsSession reports whether this browser logged in the session.
func (p *Portal) ownsSession(r *http.Request, sess access.Session) bool {
	c, err := r.Cookie(deviceCookie)
	if err != nil {
		return false
	}
	t, ok := p.readTicket(c.Value)
	return ok && t.IP == sess.IP && strings.EqualFold(t.User, sess.Username)
}
