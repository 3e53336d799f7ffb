package portal

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/campusnet/campusnet/internal/logintoken"
)

// CSRF protection without server-side sessions and without JavaScript: a
// double-submit cookie bound to the form by an HMAC. The cookie holds a
// random value; each form carries "issued-at.HMAC(key, cookie ‖ issued-at)".
// A cross-site page can neither read the cookie nor compute the HMAC, and
// the key is derived from the token key, so a form served by one portal
// node is accepted by another.

const (
	csrfCookie = "cn_csrf"
	csrfField  = "csrf"
	csrfMaxAge = 12 * time.Hour
)

func deriveKey(k logintoken.Key, label string) []byte {
	m := hmac.New(sha256.New, k[:])
	m.Write([]byte(label))
	return m.Sum(nil)
}

func (p *Portal) mac(parts ...string) string {
	m := hmac.New(sha256.New, p.formKey)
	for _, s := range parts {
		m.Write([]byte(s))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// csrfToken returns the form token for the request, setting the cookie
// when the browser has none (or a malformed one).
func (p *Portal) csrfToken(w http.ResponseWriter, r *http.Request) string {
	v := ""
	if c, err := r.Cookie(csrfCookie); err == nil && validCookieValue(c.Value) {
		v = c.Value
	} else {
		var b [18]byte
		_, _ = rand.Read(b[:])
		v = base64.RawURLEncoding.EncodeToString(b[:])
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: v, Path: "/", HttpOnly: true,
			SameSite: http.SameSiteLaxMode, Secure: p.public.Scheme == "https" || r.TLS != nil})
		// The cookie is for the page being rendered too.
		r.AddCookie(&http.Cookie{Name: csrfCookie, Value: v})
	}
	ts := strconv.FormatInt(p.now().Unix(), 10)
	return ts + "." + p.mac("csrf", v, ts)
}

func validCookieValue(v string) bool {
	if len(v) != 24 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil
}

// checkCSRF verifies the form's token against the cookie.
func (p *Portal) checkCSRF(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || !validCookieValue(c.Value) {
		return false
	}
	tok := r.PostFormValue(csrfField)
	ts, sum, ok := strings.Cut(tok, ".")
	if !ok || len(tok) > 64 {
		return false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	age := p.now().Sub(time.Unix(sec, 0))
	if age < -time.Minute || age > csrfMaxAge {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(sum), []byte(p.mac("csrf", c.Value, ts))) == 1
}

// ticket is what the online page hands the browser to log out or see the
// status of its own address later, signed so that nobody logs out someone
// else's address by typing it.
type ticket struct {
	IP      string `json:"i"`
	NAS     string `json:"n"`
	User    string `json:"u"`
	Expires int64  `json:"e"`
	// SSO is the single sign-on provider of the login, if any: logging
	// out then also offers to end the provider's session.
	SSO string `json:"p,omitempty"`
}

const ticketLife = 7 * 24 * time.Hour

func (p *Portal) signTicket(t ticket) string {
	if t.Expires == 0 {
		t.Expires = p.now().Add(ticketLife).Unix()
	}
	b, _ := json.Marshal(t)
	body := base64.RawURLEncoding.EncodeToString(b)
	return body + "." + p.mac("ticket", body)
}

func (p *Portal) readTicket(s string) (ticket, bool) {
	var t ticket
	if len(s) > 1024 {
		return t, false
	}
	body, sum, ok := strings.Cut(s, ".")
	if !ok || subtle.ConstantTimeCompare([]byte(sum), []byte(p.mac("ticket", body))) != 1 {
		return t, false
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || json.Unmarshal(b, &t) != nil {
		return t, false
	}
	if p.now().Unix() > t.Expires {
		return t, false
	}
	return t, true
}
