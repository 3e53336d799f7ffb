package radiusproto

import (
	"net/netip"
	"sync"
	"time"
)

// Duplicate detection (RFC 5080 §2.2.2). A NAS that got no answer in time
// retransmits the same packet: same source address and port, Identifier and
// Request Authenticator. Such a retransmission must not run the handler again
// (a second accounting write, a second session reservation); it gets the
// reply already sent, byte for byte, or nothing while the first copy is still
// being handled.

// dedupeKey identifies a request. The Request Authenticator is part of it so
// that a NAS reusing an Identifier for a new request within the window is not
// mistaken for a retransmission.
type dedupeKey struct {
	port portKind
	src  netip.AddrPort
	id   byte
	auth [16]byte
}

// dedupeEntry is a request seen within the window: in flight while reply is
// nil, answered once it is set.
type dedupeEntry struct {
	reply   []byte
	expires time.Time
	seq     uint64
}

type dedupeState int

const (
	dedupeNew      dedupeState = iota // first copy: handle it
	dedupeInFlight                    // retransmission while the first copy is handled: drop
	dedupeAnswered                    // retransmission of an answered request: resend the reply
)

// queued is an entry in insertion order; seq tells whether the map still
// holds that same entry.
type queued struct {
	key dedupeKey
	seq uint64
}

// dedupe is the reply cache. Memory is bounded by max entries; entries leave
// after window or, under a higher request rate than max/window, when they are
// the oldest.
type dedupe struct {
	window time.Duration
	max    int

	mu    sync.Mutex
	m     map[dedupeKey]*dedupeEntry
	queue []queued // oldest first, from head
	head  int
	seq   uint64
}

func newDedupe(window time.Duration, max int) *dedupe {
	return &dedupe{window: window, max: max, m: make(map[dedupeKey]*dedupeEntry)}
}

// begin records the arrival of a request. For a new request it returns the
// entry that finish or abort must be given.
func (d *dedupe) begin(k dedupeKey, now time.Time) (*dedupeEntry, []byte, dedupeState) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.evictLocked(now)
	if e, ok := d.m[k]; ok {
		if now.Before(e.expires) {
			if e.reply != nil {
				return nil, e.reply, dedupeAnswered
			}
			return nil, nil, dedupeInFlight
		}
		delete(d.m, k)
	}
	d.seq++
	e := &dedupeEntry{expires: now.Add(d.window), seq: d.seq}
	d.m[k] = e
	d.queue = append(d.queue, queued{key: k, seq: e.seq})
	return e, nil, dedupeNew
}

// finish stores the reply sent for the request of e; retransmissions within
// the window from now get it.
func (d *dedupe) finish(e *dedupeEntry, reply []byte, now time.Time) {
	d.mu.Lock()
	e.reply = reply
	e.expires = now.Add(d.window)
	d.mu.Unlock()
}

// abort forgets the request of e (the handler chose not to answer), so that
// a retransmission is handled afresh.
func (d *dedupe) abort(k dedupeKey, e *dedupeEntry) {
	d.mu.Lock()
	if d.m[k] == e {
		delete(d.m, k)
	}
	d.mu.Unlock()
}

// len returns the number of cached requests.
func (d *dedupe) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.m)
}

// evictLocked drops expired entries and, above max, the oldest ones, making
// room for one more.
func (d *dedupe) evictLocked(now time.Time) {
	for d.head < len(d.queue) {
		q := d.queue[d.head]
		e, ok := d.m[q.key]
		switch {
		case !ok || e.seq != q.seq:
			// aborted or replaced: nothing to evict
		case !now.Before(e.expires) || len(d.m) >= d.max:
			delete(d.m, q.key)
		default:
			d.compactLocked()
			return
		}
		d.queue[d.head] = queued{}
		d.head++
	}
	d.compactLocked()
}

// compactLocked reclaims the consumed front of the queue, and stale queue
// items when aborts have left many behind, so the queue stays O(max).
func (d *dedupe) compactLocked() {
	if d.head > 0 && d.head >= len(d.queue)/2 {
		n := copy(d.queue, d.queue[d.head:])
		clear(d.queue[n:])
		d.queue = d.queue[:n]
		d.head = 0
	}
	if len(d.queue)-d.head > 2*d.max+64 {
		live := d.queue[:0]
		for _, q := range d.queue[d.head:] {
			if e, ok := d.m[q.key]; ok && e.seq == q.seq {
				live = append(live, q)
			}
		}
		clear(d.queue[len(live):])
		d.queue = live
		d.head = 0
	}
}
