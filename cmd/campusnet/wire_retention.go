package main

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/campusnet/campusnet/internal/config"
	"github.com/campusnet/campusnet/internal/store"
)

// purger runs the retention purge ([retention]): every purge_interval, on
// every node, with the database lock deciding which node purges.
type purger struct {
	st  *store.Store
	cfg config.Retention
	log *slog.Logger

	rows      *prometheus.CounterVec // campusnet_retention_purged_rows_total{table}
	purges    *prometheus.CounterVec // campusnet_retention_purges_total{result}
	lastPurge prometheus.Gauge       // campusnet_retention_last_purge_timestamp_seconds
	duration  prometheus.Gauge       // campusnet_retention_last_purge_duration_seconds
}

func newPurger(st *store.Store, cfg config.Retention, log *slog.Logger, reg prometheus.Registerer) *purger {
	p := &purger{st: st, cfg: cfg, log: log,
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campusnet_retention_purged_rows_total",
			Help: "Rows the retention purge deleted on this node, by table (sessions, auth_log)."}, []string{"table"}),
		purges: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "campusnet_retention_purges_total",
			Help: "Retention purges on this node, by result: done, skipped (another node was purging), failed."}, []string{"result"}),
		lastPurge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "campusnet_retention_last_purge_timestamp_seconds",
			Help: "When this node last finished a retention purge (unix seconds)."}),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{Name: "campusnet_retention_last_purge_duration_seconds",
			Help: "How long this node's last finished retention purge took."}),
	}
	for _, t := range []string{"sessions", "auth_log"} {
		p.rows.WithLabelValues(t)
	}
	for _, r := range []string{"done", "skipped", "failed"} {
		p.purges.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(p.rows, p.purges, p.lastPurge, p.duration)
	}
	return p
}

// purge deletes what is older than the period (by the store's clock),
// counts and logs it.
func (p *purger) purge(ctx context.Context) (store.PurgeResult, error) {
	res, err := p.st.PurgeHistory(ctx, p.cfg.Period(), store.PurgeOptions{Batch: p.cfg.PurgeBatch, Pause: p.cfg.PurgePause.Duration})
	p.rows.WithLabelValues("sessions").Add(float64(res.Sessions))
	p.rows.WithLabelValues("auth_log").Add(float64(res.AuthLog))
	args := []any{"cutoff", res.Cutoff.UTC().Format(time.RFC3339), "sessions", res.Sessions, "auth_log", res.AuthLog,
		"batches", res.Batches, "took", res.Took.Round(time.Millisecond)}
	switch {
	case err != nil:
		p.purges.WithLabelValues("failed").Inc()
		p.log.Error("retention purge failed", append(args, "reason", err.Error())...)
	case res.Skipped:
		p.purges.WithLabelValues("skipped").Inc()
		p.log.Info("retention purge skipped: another node is purging", "cutoff", args[1])
	default:
		p.purges.WithLabelValues("done").Inc()
		p.lastPurge.Set(float64(time.Now().Unix()))
		p.duration.Set(res.Took.Seconds())
		p.log.Info("retention purge", args...)
	}
	return res, err
}

// run purges a minute or so after start, then every purge_interval.
func (p *purger) run(ctx context.Context) error {
	wait := time.Minute + time.Duration(rand.Int64N(int64(time.Minute)))
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		_, _ = p.purge(ctx)
		wait = p.cfg.PurgeInterval.Duration
	}
}

// startRetention runs the purge unless [retention] period_days is 0.
func (s *server) startRetention(context.Context) error {
	if s.cfg.Retention.PeriodDays == 0 {
		s.log.Info("retention: period_days = 0, sessions and the authentication log are kept for ever")
		return nil
	}
	p := newPurger(s.st, s.cfg.Retention, s.log.With("service", "retention"), s.reg)
	s.goRun("retention", p.run)
	return nil
}
