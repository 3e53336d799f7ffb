package selfservice

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"
)

// routes is the site map. Pages work without JavaScript; every POST form
// carries the CSRF token; the API answers JSON only.
func (s *Service) routes() http.Handler {
	r := mux.NewRouter()
	handle := func(path, route string, h http.Handler, methods ...string) {
		r.Handle(path, s.common(route, h)).Methods(methods...)
	}

	handle("/static/style.css", "static", http.HandlerFunc(s.serveCSS), http.MethodGet, http.MethodHead)
	handle("/healthz", "healthz", http.HandlerFunc(s.healthz), http.MethodGet, http.MethodHead)

	// Student pages.
	handle("/login", "login", s.page(public, s.loginForm), http.MethodGet)
	handle("/login", "login", s.page(public, s.loginSubmit), http.MethodPost)
	if s.deps.SSO != nil {
		handle("/sso/{provider}/start", "sso_start", s.page(public, s.ssoStart), http.MethodGet)
		handle("/sso/{provider}/callback", "sso_callback", s.page(public, s.ssoCallback), http.MethodGet)
	}
	handle("/logout", "logout", s.page(mustChangeOK, s.logout), http.MethodPost)
	handle("/password", "password", s.page(mustChangeOK, s.passwordForm), http.MethodGet)
	handle("/password", "password", s.page(mustChangeOK, s.passwordSubmit), http.MethodPost)
	handle("/", "overview", s.page(0, s.overviewPage), http.MethodGet)
	handle("/ledger", "ledger", s.page(0, s.ledgerPage), http.MethodGet)
	handle("/devices", "devices", s.page(0, s.devicesPage), http.MethodGet)
	handle("/devices/unbind", "unbind", s.page(0, s.unbindSubmit), http.MethodPost)
	handle("/devices/register", "register", s.page(0, s.registerSubmit), http.MethodPost)
	handle("/sessions/kick", "kick", s.page(0, s.kickSubmit), http.MethodPost)
	handle("/why", "why", s.page(0, s.whyPage), http.MethodGet)
	handle("/plans", "plans", s.page(0, s.plansPage), http.MethodGet)
	handle("/plans/choose", "plan_choose", s.page(0, s.choosePlanSubmit), http.MethodPost)
	handle("/plans/buy", "plan_buy", s.page(0, s.buyPackSubmit), http.MethodPost)

	// NOC pages.
	handle("/admin", "admin_search", s.page(adminOnly, s.adminSearch), http.MethodGet)
	handle("/admin/users/{username}", "admin_user", s.page(adminOnly, s.adminUser), http.MethodGet)
	handle("/admin/users/{username}/kick", "admin_kick", s.page(adminOnly, s.adminKick), http.MethodPost)
	handle("/admin/users/{username}/unbind", "admin_unbind", s.page(adminOnly, s.adminUnbind), http.MethodPost)
	handle("/admin/users/{username}/money", "admin_money", s.page(adminOnly, s.adminMoney), http.MethodPost)
	handle("/admin/users/{username}/password-reset", "admin_password_reset", s.page(adminOnly, s.adminPasswordReset), http.MethodPost)
	handle("/admin/users/{username}/disable", "admin_disable", s.page(adminOnly, s.adminDisable(true)), http.MethodPost)
	handle("/admin/users/{username}/enable", "admin_enable", s.page(adminOnly, s.adminDisable(false)), http.MethodPost)
	handle("/admin/nodes", "admin_nodes", s.page(adminOnly, s.adminNodes), http.MethodGet)
	handle("/admin/nas", "admin_nas", s.page(adminOnly, s.adminNAS), http.MethodGet)
	handle("/admin/trace", "admin_trace", s.page(adminOnly, s.adminTraceForm), http.MethodGet)
	handle("/admin/trace", "admin_trace", s.page(adminOnly, s.adminTrace), http.MethodPost)
	handle("/admin/import", "admin_import", s.page(adminOnly, s.adminImportForm), http.MethodGet)
	handle("/admin/import/users", "admin_import_users", s.page(adminOnly, s.adminImport(importUsers)), http.MethodPost)
	handle("/admin/import/devices", "admin_import_devices", s.page(adminOnly, s.adminImport(importDevices)), http.MethodPost)

	// JSON API.
	handle("/api/v1/login", "api_login", s.api(public, s.apiLogin), http.MethodPost)
	handle("/api/v1/logout", "api_logout", s.api(mustChangeOK, s.apiLogout), http.MethodPost)
	handle("/api/v1/me", "api_me", s.api(mustChangeOK, s.apiMe), http.MethodGet)
	handle("/api/v1/password", "api_password", s.api(mustChangeOK, s.apiPassword), http.MethodPost)
	handle("/api/v1/devices", "api_devices", s.api(0, s.apiDevices), http.MethodGet)
	handle("/api/v1/devices", "api_register", s.api(0, s.apiRegister), http.MethodPost)
	handle("/api/v1/devices/{mac}", "api_unbind", s.api(0, s.apiUnbind), http.MethodDelete)
	handle("/api/v1/sessions", "api_sessions", s.api(0, s.apiSessions), http.MethodGet)
	handle("/api/v1/sessions/{id}", "api_kick", s.api(0, s.apiKick), http.MethodDelete)
	handle("/api/v1/ledger", "api_ledger", s.api(0, s.apiLedger), http.MethodGet)
	handle("/api/v1/refusals", "api_refusals", s.api(0, s.apiRefusals), http.MethodGet)
	handle("/api/v1/admin/trace", "api_trace", s.api(adminOnly, s.apiTrace), http.MethodPost)
	handle("/api/v1/usage", "api_usage", s.api(0, s.apiUsage), http.MethodGet)

	// The payment platform's webhook: signed by the platform (billing
	// checks the HMAC), so no session and no CSRF token.
	if s.deps.Webhook != nil {
		handle("/api/v1/payments/notify", "payment_webhook", s.deps.Webhook, http.MethodPost)
	}

	notFound := func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			s.api(public, s.apiNotFound).ServeHTTP(w, r)
			return
		}
		s.page(public, s.notFoundPage).ServeHTTP(w, r)
	}
	r.NotFoundHandler = s.common("not_found", http.HandlerFunc(notFound))
	r.MethodNotAllowedHandler = s.common("method_not_allowed", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		he := &httpError{status: http.StatusMethodNotAllowed, code: CodeMethod, message: "不支持该请求方法 / Method not allowed"}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			s.apiError(w, r, nil, he)
			return
		}
		s.pageError(w, r, nil, he)
	}))
	return r
}

// healthz answers the load balancer's probe: 503 when the database does
// not answer.
func (s *Service) healthz(w http.ResponseWriter, r *http.Request) {
	if err := s.st.Health(r.Context()); err != nil {
		s.log.WarnContext(r.Context(), "healthz: database", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"node": s.cfg.NodeID, "service": "selfservice", "store": "down"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"node": s.cfg.NodeID, "service": "selfservice", "store": "ok"})
}
