package radiusproto

import (
	"net/netip"
	"testing"
	"time"
)

func TestDedupe(t *testing.T) {
	src := netip.MustParseAddrPort("127.0.0.1:40000")
	key := func(id byte) dedupeKey { return dedupeKey{port: portAuth, src: src, id: id} }
	t0 := time.Unix(1_700_000_000, 0)

	t.Run("window", func(t *testing.T) {
		d := newDedupe(30*time.Second, 100)
		e, _, st := d.begin(key(1), t0)
		if st != dedupeNew {
			t.Fatalf("first copy: state %v", st)
		}
		if _, _, st := d.begin(key(1), t0.Add(time.Second)); st != dedupeInFlight {
			t.Fatalf("copy while in flight: state %v", st)
		}
		d.finish(e, []byte("reply"), t0.Add(2*time.Second))
		if _, r, st := d.begin(key(1), t0.Add(31*time.Second)); st != dedupeAnswered || string(r) != "reply" {
			t.Fatalf("copy 29 s after the reply: %v %q", st, r)
		}
		if _, _, st := d.begin(key(1), t0.Add(33*time.Second)); st != dedupeNew {
			t.Fatalf("copy after the window: state %v, want new", st)
		}
	})

	t.Run("abort", func(t *testing.T) {
		d := newDedupe(30*time.Second, 100)
		e, _, _ := d.begin(key(1), t0)
		d.abort(key(1), e)
		if _, _, st := d.begin(key(1), t0.Add(time.Second)); st != dedupeNew {
			t.Fatalf("after abort: state %v, want new", st)
		}
	})

	t.Run("stuck handler expires", func(t *testing.T) {
		d := newDedupe(30*time.Second, 100)
		d.begin(key(1), t0)
		if _, _, st := d.begin(key(1), t0.Add(31*time.Second)); st != dedupeNew {
			t.Fatalf("in flight past the window: state %v, want new", st)
		}
	})

	t.Run("bounded", func(t *testing.T) {
		const max = 64
		d := newDedupe(30*time.Second, max)
		now := t0
		for i := range 10_000 {
			k := dedupeKey{port: portAcct, src: netip.AddrPortFrom(src.Addr(), uint16(i)), id: byte(i)}
			e, _, st := d.begin(k, now)
			if st != dedupeNew {
				t.Fatalf("request %d: state %v", i, st)
			}
			if i%3 == 0 {
				d.abort(k, e)
			} else {
				d.finish(e, []byte{1}, now)
			}
			now = now.Add(time.Millisecond)
		}
		if n := d.len(); n > max {
			t.Fatalf("%d entries, limit %d", n, max)
		}
		if q := len(d.queue) - d.head; q > 2*max+64 {
			t.Fatalf("queue holds %d items for at most %d entries", q, max)
		}
		// The newest are still remembered.
		k := dedupeKey{port: portAcct, src: netip.AddrPortFrom(src.Addr(), uint16(9_998)), id: byte(9_998 % 256)}
		if _, _, st := d.begin(k, now); st != dedupeAnswered {
			t.Fatalf("latest request forgotten: state %v", st)
		}
	})
}
