package radius

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/campusnet/campusnet/internal/access"
)

// Authentication log batching.
const (
	authLogBatch = 512
	authLogEvery = 100 * time.Millisecond
)

// authLogWriter writes authentication log entries in batches, off the
// requests' path. Its queue is bounded: when the database falls behind,
// add waits (back-pressure) rather than forgetting decisions. close writes
// what is queued.
type authLogWriter struct {
	st    Store
	log   *slog.Logger
	m     *metrics
	queue chan access.AuthLogEntry
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once
	mu    sync.RWMutex // held for reading by add, for writing by close
	shut  bool
}

func newAuthLogWriter(st Store, size int, log *slog.Logger, m *metrics) *authLogWriter {
	w := &authLogWriter{st: st, log: log, m: m, queue: make(chan access.AuthLogEntry, size),
		quit: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

// add queues e; it reports false when the writer is closed or ctx ended
// while the queue was full.
func (w *authLogWriter) add(ctx context.Context, e access.AuthLogEntry) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.shut {
		return false
	}
	select {
	case w.queue <- e:
		return true
	default:
	}
	w.m.authlogWaits.Inc()
	select {
	case w.queue <- e:
		return true
	case <-ctx.Done():
		w.m.authlogLost.Inc()
		return false
	}
}

func (w *authLogWriter) loop() {
	defer close(w.done)
	buf := make([]access.AuthLogEntry, 0, authLogBatch)
	t := time.NewTicker(authLogEvery)
	defer t.Stop()
	for {
		select {
		case e := <-w.queue:
			buf = append(buf, e)
			if len(buf) < authLogBatch {
				continue
			}
		case <-t.C:
		case <-w.quit:
			for {
				select {
				case e := <-w.queue:
					buf = append(buf, e)
					if len(buf) >= authLogBatch {
						w.flush(buf)
						buf = buf[:0]
					}
					continue
				default:
				}
				break
			}
			w.flush(buf)
			return
		}
		if len(buf) > 0 {
			w.flush(buf)
			buf = buf[:0]
		}
	}
}

// flush writes a batch, retrying a few times before giving up on it.
func (w *authLogWriter) flush(buf []access.AuthLogEntry) {
	if len(buf) == 0 {
		return
	}
	var err error
	for try := range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = w.st.InsertAuthLog(ctx, buf)
		cancel()
		if err == nil {
			w.m.authlogWritten.Add(float64(len(buf)))
			return
		}
		time.Sleep(time.Duration(100<<try) * time.Millisecond)
	}
	w.m.authlogLost.Add(float64(len(buf)))
	w.log.Error("authentication log entries lost", "entries", len(buf), "err", err)
}

// close writes everything queued and stops the writer.
func (w *authLogWriter) close() {
	w.once.Do(func() {
		w.mu.Lock()
		w.shut = true
		w.mu.Unlock()
		close(w.quit)
		<-w.done
	})
}

// logDecision queues an authentication log entry for the background writer.
func (s *Service) logDecision(ctx context.Context, a *attempt, e access.AuthLogEntry) {
	if e.At == 0 {
		e.At = access.Millis(s.now())
	}
	if !s.authlog.add(ctx, e) {
		s.log.Warn("authentication log entry lost (shutting down)", "user", e.Username, "reason", e.Reason)
	}
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.Debug("access", "user", e.Username, "nas", e.NAS, "mac", e.MAC, "ip", e.IP, "method", e.Method,
			"result", e.Result, "reason", e.Reason)
	}
}
