// Package ssotest runs the single sign-on providers the tests log in at:
// a CAS server written here from the CAS protocol specification, and a
// real OpenID Provider (the npm package oidc-provider under Node.js).
package ssotest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// CASUser is a person the test CAS server knows: a password and the
// attributes it releases (name, role, the account attribute…).
type CASUser struct {
	Password   string
	Attributes map[string]string
}

// CAS is a CAS server for tests, written from the Apereo CAS Protocol
// Specification (CAS 3.0, which also specifies 2.0's /serviceValidate):
//
//   - GET /login?service=S shows a login form; with a single sign-on
//     session (the CASTGC cookie) it redirects to S with ticket=ST-… at once
//     (section 2.1). POST /login checks the credentials (section 2.2) and
//     redirects the same way; wrong ones show the form again.
//   - /serviceValidate (CAS 2.0) and /p3/serviceValidate (CAS 3.0) validate
//     a ticket for its service, once (section 2.5 and 2.6; a service ticket
//     is single use and short lived, section 3.1). Success is
//     <cas:authenticationSuccess> with <cas:user>, and with <cas:attributes>
//     from /p3/ only (CAS 2.0 released none); failure is
//     <cas:authenticationFailure code="INVALID_REQUEST|INVALID_TICKET|INVALID_SERVICE">
//     (appendix A).
//   - GET /logout?service=S ends the single sign-on session and redirects
//     to S (section 2.3).
//
// No CAS server is packaged for these machines; the tests' client side is
// internal/sso, which this server checks as a CAS server would.
type CAS struct {
	srv   *httptest.Server
	mu    sync.Mutex
	users map[string]CASUser
	// tickets: service ticket → (user, service, issued)
	tickets  map[string]casTicket
	sessions map[string]string // CASTGC → user
	// Validations counts /serviceValidate and /p3/serviceValidate calls.
	Validations atomic.Int64
	// Logouts counts /logout calls.
	Logouts atomic.Int64
}

type casTicket struct {
	user, service string
	at            time.Time
}

// NewCAS starts a CAS server on loopback for the test.
func NewCAS(t testing.TB, users map[string]CASUser) *CAS {
	c := &CAS{users: users, tickets: map[string]casTicket{}, sessions: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/cas/login", c.login)
	mux.HandleFunc("/cas/logout", c.logout)
	mux.HandleFunc("/cas/serviceValidate", func(w http.ResponseWriter, r *http.Request) { c.validate(w, r, false) })
	mux.HandleFunc("/cas/p3/serviceValidate", func(w http.ResponseWriter, r *http.Request) { c.validate(w, r, true) })
	c.srv = httptest.NewServer(mux)
	t.Cleanup(c.srv.Close)
	return c
}

// URL is the server's base URL (the server_url campusnet is given).
func (c *CAS) URL() string { return c.srv.URL + "/cas" }

// Close stops the server (a provider that cannot be reached).
func (c *CAS) Close() { c.srv.Close() }

// LoggedIn reports how many single sign-on sessions are open.
func (c *CAS) LoggedIn() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sessions)
}

func randomID(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func (c *CAS) issue(w http.ResponseWriter, r *http.Request, user, service string) {
	st := randomID("ST-")
	c.mu.Lock()
	c.tickets[st] = casTicket{user: user, service: service, at: time.Now()}
	c.mu.Unlock()
	sep := "?"
	if strings.Contains(service, "?") {
		sep = "&"
	}
	http.Redirect(w, r, service+sep+"ticket="+url.QueryEscape(st), http.StatusFound)
}

func (c *CAS) login(w http.ResponseWriter, r *http.Request) {
	service := r.FormValue("service")
	if r.Method == http.MethodGet {
		if ck, err := r.Cookie("CASTGC"); err == nil && service != "" {
			c.mu.Lock()
			user, ok := c.sessions[ck.Value]
			c.mu.Unlock()
			if ok {
				c.issue(w, r, user, service)
				return
			}
		}
		c.form(w, service, "")
		return
	}
	user, pass := r.PostFormValue("username"), r.PostFormValue("password")
	c.mu.Lock()
	u, ok := c.users[user]
	c.mu.Unlock()
	if !ok || u.Password != pass {
		c.form(w, service, "Invalid credentials.")
		return
	}
	tgc := randomID("TGT-")
	c.mu.Lock()
	c.sessions[tgc] = user
	c.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "CASTGC", Value: tgc, Path: "/cas", HttpOnly: true})
	if service == "" {
		fmt.Fprint(w, "<p id=done>Log In Successful</p>")
		return
	}
	c.issue(w, r, user, service)
}

func (c *CAS) form(w http.ResponseWriter, service, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><title>CAS</title><p id=msg>%s</p><form method=post action="/cas/login">
<input type=hidden name=service value="%s"><input id=username name=username><input id=password name=password type=password>
<button id=submit type=submit>LOGIN</button></form>`, html.EscapeString(msg), html.EscapeString(service))
}

func (c *CAS) logout(w http.ResponseWriter, r *http.Request) {
	c.Logouts.Add(1)
	if ck, err := r.Cookie("CASTGC"); err == nil {
		c.mu.Lock()
		delete(c.sessions, ck.Value)
		c.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: "CASTGC", Value: "", Path: "/cas", MaxAge: -1})
	if s := r.URL.Query().Get("service"); s != "" {
		http.Redirect(w, r, s, http.StatusFound)
		return
	}
	fmt.Fprint(w, "<p id=done>Logout successful</p>")
}

const casNS = "http://www.yale.edu/tp/cas"

func (c *CAS) validate(w http.ResponseWriter, r *http.Request, v3 bool) {
	c.Validations.Add(1)
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	q := r.URL.Query()
	service, ticket := q.Get("service"), q.Get("ticket")
	fail := func(code, text string) {
		fmt.Fprintf(w, `<cas:serviceResponse xmlns:cas=%q>
  <cas:authenticationFailure code=%q>%s</cas:authenticationFailure>
</cas:serviceResponse>`, casNS, code, xmlText(text))
	}
	if service == "" || ticket == "" {
		fail("INVALID_REQUEST", "'service' and 'ticket' parameters are both required")
		return
	}
	c.mu.Lock()
	tk, ok := c.tickets[ticket]
	delete(c.tickets, ticket) // single use, whatever the outcome (section 3.1.1)
	u := c.users[tk.user]
	c.mu.Unlock()
	switch {
	case !ok || !strings.HasPrefix(ticket, "ST-"):
		fail("INVALID_TICKET", "Ticket "+ticket+" not recognized")
		return
	case time.Since(tk.at) > 5*time.Minute:
		fail("INVALID_TICKET", "Ticket "+ticket+" expired")
		return
	case tk.service != service:
		fail("INVALID_SERVICE", "Ticket "+ticket+" does not match supplied service. The original service was '"+tk.service+"' and the supplied service was '"+service+"'.")
		return
	}
	var attrs strings.Builder
	if v3 && len(u.Attributes) > 0 {
		attrs.WriteString("\n    <cas:attributes>")
		for k, v := range u.Attributes {
			fmt.Fprintf(&attrs, "\n      <cas:%s>%s</cas:%s>", k, xmlText(v), k)
		}
		attrs.WriteString("\n    </cas:attributes>")
	}
	fmt.Fprintf(w, `<cas:serviceResponse xmlns:cas=%q>
  <cas:authenticationSuccess>
    <cas:user>%s</cas:user>%s
  </cas:authenticationSuccess>
</cas:serviceResponse>`, casNS, xmlText(tk.user), attrs.String())
}

func xmlText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
