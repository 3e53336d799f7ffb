package main

import (
	"context"
	"database/sql"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/store"
)

// storeCollector reports, at scrape time, what lives in the database and the
// connection pool: sessions online by area and class, portal nodes'
// heartbeat age, pool usage. Every name starts with campusnet_.
type storeCollector struct {
	st  *store.Store
	now func() time.Time

	online, heartbeat                             *prometheus.Desc
	open, inUse, idle, waitCount, waitSeconds, mx *prometheus.Desc
}

func newStoreCollector(st *store.Store, now func() time.Time) *storeCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("campusnet_"+name, help, labels, nil)
	}
	return &storeCollector{st: st, now: now,
		online:      d("sessions_online", "Sessions online now, by area and device class.", "area", "class"),
		heartbeat:   d("node_heartbeat_age_seconds", "Seconds since each portal node's last heartbeat.", "node"),
		open:        d("store_open_connections", "Open database connections."),
		inUse:       d("store_in_use_connections", "Database connections in use."),
		idle:        d("store_idle_connections", "Idle database connections."),
		mx:          d("store_max_open_connections", "Connection pool size."),
		waitCount:   d("store_wait_count_total", "Times a request waited for a database connection."),
		waitSeconds: d("store_wait_duration_seconds_total", "Time spent waiting for a database connection."),
	}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.online, c.heartbeat, c.open, c.inUse, c.idle, c.mx, c.waitCount, c.waitSeconds} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.st.DB().Stats()
	ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(s.OpenConnections))
	ch <- prometheus.MustNewConstMetric(c.inUse, prometheus.GaugeValue, float64(s.InUse))
	ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(s.Idle))
	ch <- prometheus.MustNewConstMetric(c.mx, prometheus.GaugeValue, float64(s.MaxOpenConnections))
	ch <- prometheus.MustNewConstMetric(c.waitCount, prometheus.CounterValue, float64(s.WaitCount))
	ch <- prometheus.MustNewConstMetric(c.waitSeconds, prometheus.CounterValue, s.WaitDuration.Seconds())

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	db := c.st.DB()
	// "last_update_at >= 0" (always true) lets it use the reaper's index of
	// online sessions (migration 00101).
	rows, err := db.QueryContext(ctx, `SELECT area, class, COUNT(*) FROM sessions WHERE status = 'online' AND last_update_at >= 0 GROUP BY area, class`)
	if err == nil {
		for rows.Next() {
			var area, class string
			var n int64
			if rows.Scan(&area, &class, &n) == nil {
				ch <- prometheus.MustNewConstMetric(c.online, prometheus.GaugeValue, float64(n), area, class)
			}
		}
		rows.Close()
	}
	rows, err = db.QueryContext(ctx, `SELECT node_id, heartbeat_at FROM portal_nodes`)
	if err == nil {
		now := c.now()
		for rows.Next() {
			var node string
			var at sql.NullInt64
			if rows.Scan(&node, &at) == nil && at.Valid && at.Int64 > 0 {
				ch <- prometheus.MustNewConstMetric(c.heartbeat, prometheus.GaugeValue, now.Sub(access.FromMillis(at.Int64)).Seconds(), node)
			}
		}
		rows.Close()
	}
}

// registerStageMetrics exports the password-hashing stage's counters.
func registerStageMetrics(reg prometheus.Registerer, st *identity.Stage) {
	counter := func(name, help string, f func(identity.StageStats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f(st.Stats())) })
	}
	gauge := func(name, help string, f func(identity.StageStats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return f(st.Stats()) })
	}
	reg.MustRegister(
		counter("campusnet_identity_hashes_total", "Password hashes computed by the hashing stage.",
			func(s identity.StageStats) int64 { return s.Hashed }),
		counter("campusnet_identity_hash_queue_full_total", "Password checks refused unhashed (no answer, or the portal's busy page) because the hashing queue was full.",
			func(s identity.StageStats) int64 { return s.QueueFull }),
		counter("campusnet_identity_hash_late_total", "Password checks refused unhashed because they could not be hashed before their deadline (the BAS's retry window).",
			func(s identity.StageStats) int64 { return s.Late }),
		gauge("campusnet_identity_hash_waiting", "Password checks waiting for a hashing worker.",
			func(s identity.StageStats) float64 { return float64(s.Waiting) }),
		gauge("campusnet_identity_hash_workers", "Password hashes computed at once.",
			func(s identity.StageStats) float64 { return float64(s.Workers) }),
		gauge("campusnet_identity_hash_seconds", "Recent average time of one password hash.",
			func(s identity.StageStats) float64 { return s.AverageHash.Seconds() }),
	)
}
