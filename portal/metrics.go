package portal

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	logins      *prometheus.CounterVec // result, reason
	loginTime   prometheus.Histogram
	basErrors   *prometheus.CounterVec // nas, kind
	ntfLogout   *prometheus.CounterVec // nas
	probes      *prometheus.CounterVec // answer
	rateLimited *prometheus.CounterVec // scope
	pages       *prometheus.CounterVec // page
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campusnet_portal_logins_total",
			Help: "Portal logins by result (accept, reject, error) and reason code."}, []string{"result", "reason"}),
		loginTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "campusnet_portal_login_duration_seconds",
			Help:    "Time from the login form's POST to the result page, password check and BAS included.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}),
		basErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campusnet_portal_bas_errors_total",
			Help: "Portal protocol exchanges that failed, by NAS and kind (timeout, error)."}, []string{"nas", "kind"}),
		ntfLogout: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campusnet_portal_ntf_logout_total",
			Help: "Forced logouts (NTF_LOGOUT) received from BASes."}, []string{"nas"}),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campusnet_portal_probes_total",
			Help: "OS captive-portal probes answered: redirect (not online) or success (online)."}, []string{"answer"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campusnet_portal_rate_limited_total",
			Help: "Logins refused by the failed-login rate limit, by scope (account, source)."}, []string{"scope"}),
		pages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campusnet_portal_pages_total",
			Help: "Pages served, by page."}, []string{"page"}),
	}
	if reg != nil {
		reg.MustRegister(m.logins, m.loginTime, m.basErrors, m.ntfLogout, m.probes, m.rateLimited, m.pages)
	}
	return m
}
