package portal

import (
	"net/http"

	"github.com/gorilla/mux"
)

// routes is the portal's URL space:
//
//	GET  /                 login page (BAS redirect parameters or typed by hand)
//	POST /login            password → one-time token → BAS → 303 to /online or /result
//	POST /password         change the initial password, then log in
//	POST /logout           REQ_LOGOUT to the BAS (signed ticket from the online page)
//	GET  /online           a login's online page (signed reference)
//	GET  /result           a refusal or message that answered a POST (signed, short-lived)
//	GET  /status           the session of the address asking (or of a ticket)
//	GET  /api/v1/captive   RFC 8908 captive-portal API
//	GET  /healthz          for the BAS's or load balancer's probe
//	GET  /sso/{p}/start    single sign-on: to the provider (internal/sso)
//	GET  /sso/{p}/callback back from the provider → the same login as a password's
//
// Before routing, OS connectivity probes get a redirect or their success
// answer, and requests for other hosts (intercepted web pages) are sent to
// the login page.
func (p *Portal) routes() http.Handler {
	r := mux.NewRouter()
	r.HandleFunc("/", p.handleEntry).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/login", p.handleLogin).Methods(http.MethodPost)
	r.HandleFunc("/password", p.handlePassword).Methods(http.MethodPost)
	r.HandleFunc("/logout", p.handleLogout).Methods(http.MethodPost)
	if p.sso != nil {
		r.HandleFunc("/sso/{provider}/start", p.handleSSOStart).Methods(http.MethodGet)
		r.HandleFunc("/sso/{provider}/callback", p.handleSSOCallback).Methods(http.MethodGet)
	}
	r.HandleFunc("/status", p.handleStatus).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/online", p.handleOnline).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/result", p.handleResult).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/api/v1/captive", p.handleCaptiveAPI).Methods(http.MethodGet)
	r.HandleFunc("/healthz", p.handleHealthz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	// A GET of any other path (a bookmark, /login typed in the address bar)
	// shows the login page.
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet || req.Method == http.MethodHead {
			http.Redirect(w, req, "/", http.StatusFound)
			return
		}
		http.Error(w, "not found", http.StatusNotFound)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	})
	return p.common(r)
}

// common sets the headers of every response and diverts probes and
// intercepted requests.
func (p *Portal) common(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Portal-Node", p.cfg.NodeID)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if isProbe(r) {
			p.answerProbe(w, r)
			return
		}
		if !p.ours(r) && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			h.Set("Cache-Control", "no-store")
			http.Redirect(w, r, p.loginURLFor(r), http.StatusFound)
			return
		}
		if r.ContentLength > maxFormBytes {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// handleHealthz answers the BAS's or load balancer's probe: 503 when the
// database does not answer, since no login can then succeed here.
func (p *Portal) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := p.st.Health(r.Context()); err != nil {
		p.log.Warn("healthz: database", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("database down " + p.cfg.NodeID + "\n"))
		return
	}
	_, _ = w.Write([]byte("ok " + p.cfg.NodeID + "\n"))
}
