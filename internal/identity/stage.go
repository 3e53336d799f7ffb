package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// ErrBusy means a password could not be checked in time because too many
// are being checked at once. It says nothing about the password: the
// caller must not answer "wrong password" (RADIUS sends no answer, so that
// the BAS retries or fails over; the portal says "busy, try again in a few
// seconds").
var ErrBusy = errors.New("identity: too many password checks at once")

// Hasher computes argon2id keys. The stage calls it from at most
// StageConfig.Workers goroutines at once.
type Hasher interface {
	Key(ctx context.Context, password, salt []byte, p Params) ([]byte, error)
}

// InProcess is the Hasher that computes keys in this process.
type InProcess struct{}

// Key implements Hasher.
func (InProcess) Key(_ context.Context, password, salt []byte, p Params) ([]byte, error) {
	return argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

// DefaultStageQueue is how many password checks may wait for a hashing
// worker when StageConfig.Queue is 0.
const DefaultStageQueue = 2048

// StageConfig configures a [Stage].
type StageConfig struct {
	// Hasher computes the keys; nil is [InProcess].
	Hasher Hasher
	// Workers is how many hashes run at once; 0 is GOMAXPROCS.
	Workers int
	// Queue is how many checks may wait for a worker; a check that finds
	// it full fails at once with ErrBusy. 0 is DefaultStageQueue.
	Queue int
	// Log receives the overload summary, at most once a minute.
	Log *slog.Logger
}

// Stage is the bounded password-hashing stage every login by password
// goes through (RADIUS PAP and the portal alike): at most Workers hashes
// at once, at most Queue waiting, first come first served. A check is
// refused with ErrBusy, before any hash is computed, when the queue is
// full, when its context ends before a worker takes it, or when it would
// have to queue and what is left of its deadline is shorter than the
// hashes ahead of it take (by the recent average) — so a hash is only
// spent on an answer that can still be used. Checks refused this way are counted
// ([Stage.Stats]) and summed up in one log line a minute.
type Stage struct {
	hasher  Hasher
	workers chan struct{}
	queue   int64
	log     *slog.Logger

	waiting atomic.Int64
	estNs   atomic.Int64 // moving average of one hash's duration
	hashed  atomic.Int64
	full    atomic.Int64
	late    atomic.Int64

	logMu     sync.Mutex
	lastLog   time.Time
	lastFull  int64
	lastLate  int64
	firstDrop bool
}

// StageStats are a stage's counters since it started.
type StageStats struct {
	Workers   int   // hashes at once
	Hashing   int   // hashes being computed now
	Waiting   int64 // checks waiting for a worker now
	Hashed    int64 // hashes computed
	QueueFull int64 // checks refused because the queue was full
	Late      int64 // checks refused because they could not be hashed before their deadline
	// AverageHash is the recent average duration of one hash.
	AverageHash time.Duration
}

// NewStage returns a hashing stage.
func NewStage(cfg StageConfig) *Stage {
	if cfg.Hasher == nil {
		cfg.Hasher = InProcess{}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultStageQueue
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Stage{hasher: cfg.Hasher, workers: make(chan struct{}, cfg.Workers), queue: int64(cfg.Queue), log: cfg.Log, firstDrop: true}
}

// Stats returns the stage's counters.
func (s *Stage) Stats() StageStats {
	return StageStats{Workers: cap(s.workers), Hashing: len(s.workers), Waiting: s.waiting.Load(), Hashed: s.hashed.Load(),
		QueueFull: s.full.Load(), Late: s.late.Load(), AverageHash: time.Duration(s.estNs.Load())}
}

// Key computes password's argon2id key with salt and p, or fails with
// ErrBusy (see Stage).
func (s *Stage) Key(ctx context.Context, password, salt []byte, p Params) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, s.refuse(&s.late, "its request is too old", err)
	}
	w := s.waiting.Add(1)
	if w > s.queue {
		s.waiting.Add(-1)
		return nil, s.refuse(&s.full, "the queue is full", nil)
	}
	est := time.Duration(s.estNs.Load())
	if d, ok := ctx.Deadline(); ok && est > 0 && w > int64(cap(s.workers)) {
		// Expected wait: the checks ahead of this one, spread over the
		// workers, and its own hash. Only a check that has to queue is
		// refused on this guess: one that finds a worker free is hashed
		// (a guess made from one slow hash must not refuse them all).
		ahead := time.Duration((w-1)/int64(cap(s.workers))+1) * est
		if time.Until(d) < ahead {
			s.waiting.Add(-1)
			return nil, s.refuse(&s.late, "it could not be hashed before its deadline", nil)
		}
	}
	select {
	case s.workers <- struct{}{}:
		s.waiting.Add(-1)
	case <-ctx.Done():
		s.waiting.Add(-1)
		return nil, s.refuse(&s.late, "its deadline passed while it waited", ctx.Err())
	}
	defer func() { <-s.workers }()
	if err := ctx.Err(); err != nil {
		return nil, s.refuse(&s.late, "its deadline passed while it waited", err)
	}
	start := time.Now()
	key, err := s.hasher.Key(ctx, password, salt, p)
	if err != nil {
		return nil, err
	}
	s.hashed.Add(1)
	s.observe(time.Since(start))
	return key, nil
}

// observe folds one hash's duration into the moving average (weight 1/8).
func (s *Stage) observe(d time.Duration) {
	for {
		old := s.estNs.Load()
		next := int64(d)
		if old > 0 {
			next = old + (int64(d)-old)/8
		}
		if s.estNs.CompareAndSwap(old, next) {
			return
		}
	}
}

// refuse counts a refused check and logs the overload at most once a
// minute (the first time at once).
func (s *Stage) refuse(counter *atomic.Int64, why string, cause error) error {
	counter.Add(1)
	now := time.Now()
	s.logMu.Lock()
	if s.firstDrop || now.Sub(s.lastLog) >= time.Minute {
		full, late := s.full.Load(), s.late.Load()
		attrs := []any{"reason", why, "queue_full", full - s.lastFull, "late", late - s.lastLate,
			"workers", cap(s.workers), "waiting", s.waiting.Load(), "hash_ms", time.Duration(s.estNs.Load()).Milliseconds()}
		if !s.firstDrop {
			attrs = append(attrs, "since", s.lastLog.Format(time.RFC3339))
		}
		s.log.Warn("identity: too many password checks at once; some get no answer and are retried by the BAS or the person", attrs...)
		s.lastLog, s.lastFull, s.lastLate, s.firstDrop = now, full, late, false
	}
	s.logMu.Unlock()
	if cause != nil {
		return fmt.Errorf("%w: %s: %w", ErrBusy, why, cause)
	}
	return fmt.Errorf("%w: %s", ErrBusy, why)
}
