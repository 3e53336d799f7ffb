package selfservice

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	logins      *prometheus.CounterVec
	disconnects *prometheus.CounterVec
	devices     *prometheus.CounterVec
	searches    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusnet_selfservice_requests_total",
			Help: "Self-service HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "campusnet_selfservice_request_duration_seconds",
			Help:    "Self-service HTTP request duration by route.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusnet_selfservice_logins_total",
			Help: "Self-service logins by result (ok, BAD_CREDENTIALS, RATE_LIMITED, ACCOUNT_DISABLED, IDENTITY_UNAVAILABLE).",
		}, []string{"result"}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusnet_selfservice_disconnects_total",
			Help: "Disconnect-Requests asked for from self-service by who (student, operator) and result (ack, nak, error).",
		}, []string{"who", "result"}),
		devices: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusnet_selfservice_device_changes_total",
			Help: "MAC bindings changed from self-service by action (bind, unbind).",
		}, []string{"action"}),
		searches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusnet_selfservice_noc_searches_total",
			Help: "NOC searches by what the text was read as (address, mac, phone, document, text) and whether anyone was found (found, none).",
		}, []string{"kind", "result"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.logins, m.disconnects, m.devices, m.searches} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("selfservice: metrics: %w", err)
		}
	}
	return m, nil
}
