package radius

import (
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius"

	"github.com/campusnet/campusnet/radius/radiusproto"
)

// metrics are the service's Prometheus collectors. It also implements the
// Server's Observer.
type metrics struct {
	requests       *prometheus.CounterVec   // campusnet_radius_requests_total{code,result,reason}
	packets        *prometheus.HistogramVec // campusnet_radius_request_duration_seconds{code,result}
	dropped        *prometheus.CounterVec
	duplicates     *prometheus.CounterVec
	batch          *prometheus.HistogramVec
	reaped         *prometheus.CounterVec
	authlogWritten prometheus.Counter
	authlogWaits   prometheus.Counter
	authlogLost    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campusnet_radius_requests_total",
			Help: "RADIUS requests decided, by code (access, accounting), result and reason code (or accounting outcome)."},
			[]string{"code", "result", "reason"}),
		packets: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "campusnet_radius_request_duration_seconds",
			Help:    "Time from receiving a RADIUS request to its reply, by packet code and result.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5}},
			[]string{"code", "result"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campusnet_radius_dropped_total",
			Help: "RADIUS packets dropped without an answer (unknown BAS, bad secret, missing Message-Authenticator, malformed)."},
			[]string{"reason"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campusnet_radius_duplicates_total",
			Help: "Retransmitted RADIUS requests: answered from the reply cache (resent) or dropped while the first copy is handled."},
			[]string{"action"}),
		batch: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "campusnet_radius_batch_size",
			Help:    "Requests decided or recorded in one database transaction (group commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128}},
			[]string{"kind"}),
		reaped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campusnet_radius_sessions_reaped_total",
			Help: "Sessions closed by the reaper: stale (no Interim-Update) or reserve_timeout (no Accounting-Start)."},
			[]string{"reason"}),
		authlogWritten: prometheus.NewCounter(prometheus.CounterOpts{Name: "campusnet_radius_authlog_written_total",
			Help: "Authentication log entries written to the database (counted once the insert succeeded)."}),
		authlogWaits: prometheus.NewCounter(prometheus.CounterOpts{Name: "campusnet_radius_authlog_full_total",
			Help: "Times a request waited for room in the authentication log queue."}),
		authlogLost: prometheus.NewCounter(prometheus.CounterOpts{Name: "campusnet_radius_authlog_lost_total",
			Help: "Authentication log entries that could not be written."}),
	}
	m.requests = register(reg, m.requests)
	m.packets = register(reg, m.packets)
	m.dropped = register(reg, m.dropped)
	m.duplicates = register(reg, m.duplicates)
	m.batch = register(reg, m.batch)
	m.reaped = register(reg, m.reaped)
	m.authlogWritten = register(reg, m.authlogWritten)
	m.authlogWaits = register(reg, m.authlogWaits)
	m.authlogLost = register(reg, m.authlogLost)
	return m, nil
}

// register registers c on reg (if any), or returns the collector of the same
// name registered before (two services in one process share it).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if have, ok := are.ExistingCollector.(C); ok {
				return have
			}
		}
	}
	return c
}

func (m *metrics) request(code, result, reason string) {
	m.requests.WithLabelValues(code, result, reason).Inc()
}

// Dropped implements Observer.
func (m *metrics) Dropped(reason radiusproto.DropReason) {
	m.dropped.WithLabelValues(string(reason)).Inc()
}

// Duplicate implements Observer.
func (m *metrics) Duplicate(resent bool) {
	a := "dropped"
	if resent {
		a = "resent"
	}
	m.duplicates.WithLabelValues(a).Inc()
}

// Handled implements Observer.
func (m *metrics) Handled(code radius.Code, result radiusproto.Result, elapsed time.Duration) {
	m.packets.WithLabelValues(codeName(code), string(result)).Observe(elapsed.Seconds())
}

func codeName(c radius.Code) string {
	switch c {
	case radius.CodeAccessRequest:
		return "access"
	case radius.CodeAccountingRequest:
		return "accounting"
	case radius.CodeStatusServer:
		return "status"
	}
	return strconv.Itoa(int(c))
}
