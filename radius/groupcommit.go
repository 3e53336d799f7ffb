package radius

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// errGroupCommitClosed is returned for work handed to a closed group commit.
var errGroupCommitClosed = errors.New("radius: shutting down")

// commitTimeout bounds one batch's transaction.
const commitTimeout = 10 * time.Second

// groupCommit is the group-commit engine: workers take the requests waiting (up to size)
// and hand them to run together — one transaction, one commit — then answer
// each. When a batch fails, its requests are run one by one, so one bad
// request cannot fail the others. With size 1 every request has its own
// transaction.
//
// Gathering. Where a fixed number of requesters each wait for an answer
// before they ask again (a BAS's outstanding requests, `bassim load`'s
// workers), taking only the requests already waiting splits them into
// groups that take turns: while one batch is in the database the next group
// waits, and the requesters just answered come back only after their
// replies. At 16 in flight two batches of 8 alternate, and each pays a
// commit (a WAL flush) however slow the disk is. So when a batch ends, its
// worker expects its requesters back, behind those already waiting, and
// the next batch, once it has its first request, waits for that many — but
// no longer than the last batch took to run (waiting longer than a batch
// costs cannot save one) and no longer than gather. The groups then merge
// into one batch per commit. A batch of one that left nobody waiting
// expects one, so a lone request never waits; when requesters stop coming
// back, a worker waits once, for at most one batch's time, and then
// expects fewer. Requests that arrive independently of the answers (many
// BASes, each with few requests in flight) can wait up to that bound
// whenever fewer came than last time. gather 0 turns it off.
type groupCommit[T, R any] struct {
	in     chan *commitJob[T, R]
	size   int
	gather time.Duration
	run    func(ctx context.Context, items []T) ([]R, error)
	obs    prometheus.Observer
	quit   chan struct{}
	wg     sync.WaitGroup
	// answers carries committed batches' results to answerLoop, so that a
	// worker begins its next batch while the last one's replies go out.
	answers  chan committed[T, R]
	answered chan struct{}
	once     sync.Once
	// gatherMissed counts the waits that ended with fewer requests than
	// expected.
	gatherMissed atomic.Int64
}

type commitJob[T, R any] struct {
	ctx  context.Context
	item T
	// The result goes to done (do), or to cb on the batch's goroutine
	// (submit), after which the job is dropped when its deadline passed
	// before its batch began.
	done     chan commitResult[R]
	cb       func(R, error)
	deadline time.Time
}

// answer hands the job its result.
func (j *commitJob[T, R]) answer(v R, err error) {
	if j.cb != nil {
		j.cb(v, err)
		return
	}
	j.done <- commitResult[R]{v: v, err: err}
}

// expired reports why the job is no longer worth running, if it is not.
func (j *commitJob[T, R]) expired(now time.Time) error {
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
	jobs []*commitJob[T, R]
	res  []R
}

type commitResult[R any] struct {
	v   R
	err error
}

func newGroupCommit[T, R any](size, workers int, gather time.Duration, run func(context.Context, []T) ([]R, error), obs prometheus.Observer) *groupCommit[T, R] {
	b := &groupCommit[T, R]{in: make(chan *commitJob[T, R], size*workers), size: size, gather: gather, run: run, obs: obs, quit: make(chan struct{}),
		answers: make(chan committed[T, R], workers), answered: make(chan struct{})}
	go b.answerLoop()
	b.wg.Add(workers)
	for range workers {
		go b.loop()
	}
	return b
}

// do hands item to the next batch and waits for its result.
func (b *groupCommit[T, R]) do(ctx context.Context, item T) (R, error) {
	var zero R
	j := &commitJob[T, R]{ctx: ctx, item: item, done: make(chan commitResult[R], 1)}
	select {
	case b.in <- j:
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-b.quit:
		return zero, errGroupCommitClosed
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
func (b *groupCommit[T, R]) submit(ctx context.Context, deadline time.Time, item T, cb func(R, error)) {
	var zero R
	j := &commitJob[T, R]{ctx: ctx, item: item, cb: cb, deadline: deadline}
	select {
	case b.in <- j:
	case <-ctx.Done():
		cb(zero, ctx.Err())
	case <-b.quit:
		cb(zero, errGroupCommitClosed)
	}
}

func (b *groupCommit[T, R]) loop() {
	defer b.wg.Done()
	batch := make([]*commitJob[T, R], 0, b.size)
	var timer *time.Timer
	// The requesters expected (the last batch's and those waiting when it
	// ended) and how long the last batch ran: gathering.
	lastN, lastRun := 0, time.Duration(0)
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
		if want := min(lastN, b.size); len(batch) < want && b.gather > 0 && lastRun > 0 {
			if timer == nil {
				timer = time.NewTimer(min(lastRun, b.gather))
			} else {
				timer.Reset(min(lastRun, b.gather))
			}
		gather:
			for len(batch) < want {
				select {
				case j := <-b.in:
					batch = append(batch, j)
				case <-timer.C:
					b.gatherMissed.Add(1)
					break gather
				case <-b.quit:
					break gather
				}
			}
			timer.Stop()
		}
		lastN, lastRun = b.process(batch)
	}
}

// process runs batch and answers its requests. It returns how many
// requesters to expect next — those it ran, who will be back, and those
// already waiting before it answered (counted before, so that a requester
// quick to come back is not counted twice) — and how long the run took
// (0, 0 when none was left to run).
func (b *groupCommit[T, R]) process(batch []*commitJob[T, R]) (expect int, took time.Duration) {
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
		return 0, 0
	}
	if b.obs != nil {
		b.obs.Observe(float64(len(live)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	items := make([]T, len(live))
	for i, j := range live {
		items[i] = j.item
	}
	start := time.Now()
	res, err := b.run(ctx, items)
	took = time.Since(start)
	expect = len(live) + len(b.in)
	if err == nil && len(res) == len(live) {
		b.answers <- committed[T, R]{live, res}
		return expect, took
	}
	if err == nil {
		err = fmt.Errorf("radius: batch of %d gave %d results", len(live), len(res))
	}
	if len(live) == 1 {
		live[0].answer(zero, err)
		return expect, took
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
	return expect, time.Since(start)
}

// answerLoop answers committed batches, in order.
func (b *groupCommit[T, R]) answerLoop() {
	defer close(b.answered)
	for c := range b.answers {
		for i, j := range c.jobs {
			j.answer(c.res[i], nil)
		}
	}
}

// close stops the workers after their current batch; work still queued is
// refused.
func (b *groupCommit[T, R]) close() {
	b.once.Do(func() {
		close(b.quit)
		b.wg.Wait()
		close(b.answers)
		<-b.answered
		for {
			select {
			case j := <-b.in:
				var zero R
				j.answer(zero, errGroupCommitClosed)
			default:
				return
			}
		}
	})
}
