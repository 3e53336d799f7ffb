package billing

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	settlements *prometheus.CounterVec
	disconnects *prometheus.CounterVec
	meterBytes  *prometheus.CounterVec
	meterRuns   *prometheus.CounterVec
	trafficFees prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		settlements: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusnet_settlements_total",
			Help: "Billing cycles handled by the settlement job, by result (settled, renewed, arrears, skipped, error, started).",
		}, []string{"result"}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "campusnet_billing_disconnects_total",
			Help: "Disconnect-Requests for arrears, by outcome (ack, nak, error, unavailable).",
		}, []string{"result"}),
	}
	m.meterBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "campusnet_meter_bytes_total",
		Help: "Traffic the meter read from sessions' counters in areas with a traffic plan, by family (ipv4, ipv6), counted or not.",
	}, []string{"family"})
	m.meterRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "campusnet_meter_runs_total",
		Help: "Meter runs, by result (ok, error).",
	}, []string{"result"})
	fees := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "campusnet_traffic_fees_total",
		Help: "GB charged past a per-GB plan's allowance (traffic_fee ledger rows).",
	}, nil)
	var err error
	if m.meterBytes, err = register(reg, m.meterBytes); err != nil {
		return nil, err
	}
	if m.meterRuns, err = register(reg, m.meterRuns); err != nil {
		return nil, err
	}
	if fees, err = register(reg, fees); err != nil {
		return nil, err
	}
	m.trafficFees = fees.WithLabelValues()
	if m.settlements, err = register(reg, m.settlements); err != nil {
		return nil, err
	}
	if m.disconnects, err = register(reg, m.disconnects); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// its name (two Services or webhooks on one registry share the counters).
func register(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing, nil
			}
		}
		return nil, err
	}
	return c, nil
}
