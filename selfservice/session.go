package selfservice

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/campusnet/campusnet/internal/access"
)

// Sessions are stateless: the cookie carries the account, the login time,
// the time of last use, a random nonce and a tag of the password hash at
// login, signed with HMAC-SHA256. Any node holding the key accepts it, so
// nodes behind a load balancer need no shared session table. A session ends
// when it is idle for SessionIdle, SessionMax after login, when the password
// changes (the tag no longer matches), or when the person logs out (the
// cookie is cleared; a copy of it stays valid until it would expire — the
// price of not keeping state, bounded by the idle timeout).
//
// The CSRF token of a session is an HMAC of its nonce under a separate key:
// forms carry it in the "csrf" field, API calls in the X-CSRF-Token header.
// Before login, the login form's token is bound to a random pre-session
// cookie the same way (double submit).

const (
	sessionCookie = "cn_session"
	preCookie     = "cn_login"
	flashCookie   = "cn_flash"
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
	// refreshAfter is how stale the last-use time may get before the
	// cookie is reissued (every request would be needless churn).
	refreshAfter = time.Minute
)

// sessionKeys are derived from the configured key, one per purpose.
type sessionKeys struct {
	sign, csrf, pw []byte
}

func deriveKeys(master []byte) sessionKeys {
	d := func(label string) []byte {
		m := hmac.New(sha256.New, master)
		m.Write([]byte("campusnet selfservice " + label + " v1"))
		return m.Sum(nil)
	}
	return sessionKeys{sign: d("session"), csrf: d("csrf"), pw: d("password tag")}
}

func mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

var b64 = base64.RawURLEncoding

// session is the signed cookie's content.
type session struct {
	Account int64  `json:"a"`
	User    string `json:"u"`
	Login   int64  `json:"l"` // unix seconds
	Seen    int64  `json:"s"` // unix seconds
	Nonce   string `json:"n"`
	PW      string `json:"p"`
	// SSO is the single sign-on provider that opened the session, if
	// any: logging out ends its session too.
	SSO string `json:"o,omitempty"`
}

var errBadSession = errors.New("selfservice: no valid session")

func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return b64.EncodeToString(b[:])
}

// pwTag ties a session to the password hash it was opened with.
func (k sessionKeys) pwTag(a access.Account) string {
	return b64.EncodeToString(mac(k.pw, a.Username, a.PasswordHash)[:9])
}

func (k sessionKeys) encode(s session) string {
	body, _ := json.Marshal(s)
	p := b64.EncodeToString(body)
	return p + "." + b64.EncodeToString(mac(k.sign, "session", p))
}

func (k sessionKeys) decode(v string, now time.Time, idle, max time.Duration) (session, error) {
	var s session
	p, sig, ok := strings.Cut(v, ".")
	if !ok || len(v) > 1024 {
		return s, errBadSession
	}
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(k.sign, "session", p)) {
		return s, errBadSession
	}
	body, err := b64.DecodeString(p)
	if err != nil || json.Unmarshal(body, &s) != nil || s.Account == 0 || s.Nonce == "" {
		return s, errBadSession
	}
	n := now.Unix()
	switch {
	case n >= s.Login+int64(max/time.Second):
		return s, errBadSession
	case n >= s.Seen+int64(idle/time.Second):
		return s, errBadSession
	case s.Seen > n+60 || s.Login > n+60: // from the future: another node's clock, or forged
		return s, errBadSession
	}
	return s, nil
}

// csrfToken is the token a session's forms and API calls must carry.
func (k sessionKeys) csrfToken(nonce string) string {
	return b64.EncodeToString(mac(k.csrf, "session", nonce)[:24])
}

// preToken is the login form's token for a pre-session nonce.
func (k sessionKeys) preToken(nonce string) string {
	return b64.EncodeToString(mac(k.csrf, "login", nonce)[:24])
}

func tokenEqual(a, b string) bool {
	return a != "" && hmac.Equal([]byte(a), []byte(b))
}

// secure reports whether cookies set in answer to r must be Secure.
func (s *Service) secure(r *http.Request) bool { return s.cfg.SecureCookies || r.TLS != nil }

func (s *Service) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: s.secure(r),
		SameSite: http.SameSiteLaxMode}
	if maxAge > 0 {
		c.MaxAge = int(maxAge / time.Second)
	} else {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// startSession issues a new session cookie for a.
func (s *Service) startSession(w http.ResponseWriter, r *http.Request, a access.Account) session {
	return s.startSessionSSO(w, r, a, "")
}

// startSessionSSO issues a new session cookie for a, opened by the single
// sign-on provider named ("" for a password login).
func (s *Service) startSessionSSO(w http.ResponseWriter, r *http.Request, a access.Account, provider string) session {
	now := s.now().Unix()
	sess := session{Account: a.ID, User: a.Username, Login: now, Seen: now, Nonce: newNonce(), PW: s.keys.pwTag(a), SSO: provider}
	s.setCookie(w, r, sessionCookie, s.keys.encode(sess), s.cfg.SessionMax)
	s.setCookie(w, r, preCookie, "", 0)
	return sess
}

// readSession returns the request's valid session, if any.
func (s *Service) readSession(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	sess, err := s.keys.decode(c.Value, s.now(), s.cfg.SessionIdle, s.cfg.SessionMax)
	return sess, err == nil
}

// touch reissues the cookie with a new last-use time when it is due.
func (s *Service) touch(w http.ResponseWriter, r *http.Request, sess session) {
	now := s.now().Unix()
	if now-sess.Seen < int64(refreshAfter/time.Second) {
		return
	}
	sess.Seen = now
	s.setCookie(w, r, sessionCookie, s.keys.encode(sess), s.cfg.SessionMax)
}

func (s *Service) endSession(w http.ResponseWriter, r *http.Request) {
	s.setCookie(w, r, sessionCookie, "", 0)
}

// preSession returns the login form's CSRF token, setting the pre-session
// cookie when the browser has none.
func (s *Service) preSession(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(preCookie); err == nil && len(c.Value) >= 16 && len(c.Value) <= 64 {
		return s.keys.preToken(c.Value)
	}
	n := newNonce()
	s.setCookie(w, r, preCookie, n, time.Hour)
	return s.keys.preToken(n)
}

// checkPreToken verifies a login form's CSRF token.
func (s *Service) checkPreToken(r *http.Request, token string) bool {
	c, err := r.Cookie(preCookie)
	if err != nil || c.Value == "" {
		return false
	}
	return tokenEqual(token, s.keys.preToken(c.Value))
}

// flash is a one-time message shown on the page a form redirects to. It
// travels in a short-lived signed cookie, so nobody can make the site say
// "the BAS acknowledged" with a crafted link.
type flash struct {
	Kind string `json:"k"` // "ok", "warn", "error"
	Text string `json:"t"`
}

func (s *Service) setFlash(w http.ResponseWriter, r *http.Request, f flash) {
	body, _ := json.Marshal(f)
	p := b64.EncodeToString(body)
	s.setCookie(w, r, flashCookie, p+"."+b64.EncodeToString(mac(s.keys.sign, "flash", p)), time.Minute)
}

func (s *Service) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	s.setCookie(w, r, flashCookie, "", 0)
	p, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return nil
	}
	got, err := b64.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(s.keys.sign, "flash", p)) {
		return nil
	}
	body, err := b64.DecodeString(p)
	var f flash
	if err != nil || json.Unmarshal(body, &f) != nil {
		return nil
	}
	return &f
}
