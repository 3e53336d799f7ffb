package radius

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// errBatcherClosed is returned for work handed to a closed batcher.
var errBatcherClosed = errors.New("radius: shutting down")

// batchTimeout bounds one batch's transaction.
const batchTimeout = 10 * time.Second

// batcher is group commit: workers take the requests waiting (up to size)
// and hand them to run together — one transaction, one commit — then answer
// each. When a batch fails, its requests are run one by one, so one bad
// request cannot fail the others. With size 1 every request has its own
// transaction.
type batcher[T, R any] struct {
	in   chan *batchJob[T, R]
	size int
	run  func(ctx context.Context, items []T) ([]R, error)
	obs  prometheus.Observer
	quit chan struct{}
	wg   sync.WaitGroup
	// answers carries committed batches' results to answerLoop, so that a
	// worker begins its next batch while the last one's replies go out.
	answers  chan committed[T, R]
	answered chan struct{}
	once     sync.Once
}

type batchJob[T, R any] struct {
	ctx  context.Context
	item T
	// The result goes to done (do), or to cb on the batch's goroutine
	// (submit), after which the job is dropped when its deadline passed
	// before its batch began.
	done     chan batchResult[R]
	cb       func(R, error)
	deadline time.Time
}

// answer hands the job its result.
func (j *batchJob[T, R]) answer(v R, err error) {
	if j.cb != nil {
		j.cb(v, err)
		return
	}
	j.done <- batchResult[R]{v: v, err: err}
}

// expired reports why the job is no longer worth running, if it is not.
func (j *batchJob[T, R]) expired(now time.Time) error {
	if err := j.ctx.Err(); err != nil {
		return err
	}
	if !j.deadline.IsZero() && now.After(j.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// committed is a batch's jobs and their results, in order.
type committed[T, R any] struct {
	jobs []*batchJob[T, R]
	res  []R
}

type batchResult[R any] struct {
	v   R
	err error
}

func newBatcher[T, R any](size, workers int, run func(context.Context, []T) ([]R, error), obs prometheus.Observer) *batcher[T, R] {
	b := &batcher[T, R]{in: make(chan *batchJob[T, R], size*workers), size: size, run: run, obs: obs, quit: make(chan struct{}),
		answers: make(chan committed[T, R], workers), answered: make(chan struct{})}
	go b.answerLoop()
	b.wg.Add(workers)
	for range workers {
		go b.loop()
	}
	return b
}

// do hands item to the next batch and waits for its result.
func (b *batcher[T, R]) do(ctx context.Context, item T) (R, error) {
	var zero R
	j := &batchJob[T, R]{ctx: ctx, item: item, done: make(chan batchResult[R], 1)}
	select {
	case b.in <- j:
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-b.quit:
		return zero, errBatcherClosed
	}
	select {
	case r := <-j.done:
		return r.v, r.err
	case <-ctx.Done():
		// The batch may still commit it; the NAS will retransmit and get a
		// fresh decision.
		return zero, ctx.Err()
	}
}

// submit hands item to the next batch without waiting: cb gets the result
// (or the error) on the batch's goroutine, and must be quick and must not
// block. It blocks only while the queue is full (back-pressure on the
// read loop, as the socket buffer absorbs bursts). The item is dropped,
// with context.DeadlineExceeded, when deadline passes before its batch
// begins.
func (b *batcher[T, R]) submit(ctx context.Context, deadline time.Time, item T, cb func(R, error)) {
	var zero R
	j := &batchJob[T, R]{ctx: ctx, item: item, cb: cb, deadline: deadline}
	select {
	case b.in <- j:
	case <-ctx.Done():
		cb(zero, ctx.Err())
	case <-b.quit:
		cb(zero, errBatcherClosed)
	}
}

func (b *batcher[T, R]) loop() {
	defer b.wg.Done()
	batch := make([]*batchJob[T, R], 0, b.size)
	for {
		batch = batch[:0]
		select {
		case j := <-b.in:
			batch = append(batch, j)
		case <-b.quit:
			return
		}
	fill:
		for len(batch) < b.size {
			select {
			case j := <-b.in:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		b.process(batch)
	}
}

func (b *batcher[T, R]) process(batch []*batchJob[T, R]) {
	live := batch[:0:0] // an array of its own: the answer loop keeps it
	now := time.Now()
	var zero R
	for _, j := range batch {
		if err := j.expired(now); err != nil {
			j.answer(zero, err)
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
	if b.obs != nil {
		b.obs.Observe(float64(len(live)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	items := make([]T, len(live))
	for i, j := range live {
		items[i] = j.item
	}
	res, err := b.run(ctx, items)
	if err == nil && len(res) == len(live) {
		b.answers <- committed[T, R]{live, res}
		return
	}
	if err == nil {
		err = fmt.Errorf("radius: batch of %d gave %d results", len(live), len(res))
	}
	if len(live) == 1 {
		live[0].answer(zero, err)
		return
	}
	for _, j := range live {
		r, err := b.run(ctx, []T{j.item})
		switch {
		case err != nil:
			j.answer(zero, err)
		case len(r) != 1:
			j.answer(zero, fmt.Errorf("radius: batch of 1 gave %d results", len(r)))
		default:
			j.answer(r[0], nil)
		}
	}
}

// answerLoop answers committed batches, in order.
func (b *batcher[T, R]) answerLoop() {
	defer close(b.answered)
	for c := range b.answers {
		for i, j := range c.jobs {
			j.answer(c.res[i], nil)
		}
	}
}

// close stops the workers after their current batch; work still queued is
// refused.
func (b *batcher[T, R]) close() {
	b.once.Do(func() {
		close(b.quit)
		b.wg.Wait()
		close(b.answers)
		<-b.answered
		for {
			select {
			case j := <-b.in:
				var zero R
				j.answer(zero, errBatcherClosed)
			default:
				return
			}
		}
	})
}
