package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2866"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/radius/radiusproto"
)

// flightWorkers is how many workers one flight drives; each has its own
// RADIUS Identifier on the flight's socket.
const flightWorkers = 256

// flight is the closed loop of `bassim load`: up to flightWorkers workers
// share one UDP socket (one Identifier each) and one goroutine, which reads
// a reply, checks and records it and sends that worker's next request at
// once.
// Going through the radius.Client instead costs two goroutine wake-ups per
// reply; on a small machine the generator then takes a third of the CPU
// time of a request, which it takes from the server it measures. The
// packets are the BAS simulator's own (bas.AccessRequest,
// bas.AccountingRequest), and the replies are checked as the client checks
// them.
type flight struct {
	l          *loader
	mode       string
	users      int
	conc       int // workers in all, for the user sequence
	conn       *net.UDPConn
	auth, acct netip.AddrPort
	retry      time.Duration
	tries      int
	requireMA  bool
	secret     []byte
	measuring  *atomic.Bool
	warn       io.Writer // send errors
	st         *stats
	slots      []*slot
}

// slot is one worker: its current operation and the request in flight.
type slot struct {
	w, k   int // worker number and operations begun: user 1 + (w + k·conc) mod users
	user   int
	step   int
	name   string // User-Name of the Access-Request, for reading its reply
	sess   bas.Session
	req    []byte
	dst    netip.AddrPort
	sent   time.Time // first send of req: latency includes retransmissions
	resend time.Time
	tries  int
}

// flightTick is how often retransmissions are due at the latest.
const flightTick = 20 * time.Millisecond

// newFlight opens the socket for workers first … first+n-1.
func newFlight(l *loader, mode string, first, n, conc, users int, auth, acct netip.AddrPort, c *common, measuring *atomic.Bool, warn io.Writer) (*flight, error) {
	var laddr *net.UDPAddr
	if la := l.b.LocalAddr(); la != "" {
		a, err := net.ResolveUDPAddr("udp", la)
		if err != nil {
			return nil, fmt.Errorf("local address: %w", err)
		}
		laddr = a
	}
	conn, err := net.ListenUDP("udp", laddr)
	if err != nil {
		return nil, err
	}
	f := &flight{l: l, mode: mode, users: users, conc: conc, conn: conn, auth: auth, acct: acct,
		retry: c.retry, tries: c.tries, requireMA: !c.noMA, secret: []byte(c.secret), measuring: measuring, warn: warn,
		st: &stats{lat: make([]time.Duration, 0, 1<<16)}}
	if f.retry <= 0 {
		f.retry = radiusproto.DefaultRetry
	}
	if f.tries <= 0 {
		f.tries = radiusproto.DefaultMaxTries
	}
	for w := first; w < first+n; w++ {
		f.slots = append(f.slots, &slot{w: w})
	}
	return f, nil
}

// run drives the workers until ctx ends.
func (f *flight) run(ctx context.Context) error {
	defer f.conn.Close()
	stop := context.AfterFunc(ctx, func() { f.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	for id, s := range f.slots {
		if err := f.begin(byte(id), s); err != nil {
			return err
		}
	}
	buf := make([]byte, radius.MaxPacketLength)
	var check time.Time
	for ctx.Err() == nil {
		if now := time.Now(); !now.Before(check) {
			if err := f.expire(now); err != nil {
				return err
			}
			check = now.Add(flightTick)
			f.conn.SetReadDeadline(check)
		}
		n, from, err := f.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				break
			}
			time.Sleep(time.Millisecond) // e.g. ICMP port unreachable: the retransmission timer goes on
			continue
		}
		if n < 20 || int(buf[1]) >= len(f.slots) {
			continue
		}
		id := buf[1]
		s := f.slots[id]
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if s.req == nil || from != s.dst {
			continue
		}
		reply, err := radiusproto.ReadReply(buf[:n], s.req, f.secret, f.requireMA && radius.Code(s.req[0]) == radius.CodeAccessRequest)
		if err != nil {
			continue // not the answer: wait on, as the client does
		}
		if err := f.answered(id, s, reply); err != nil {
			return err
		}
	}
	return nil
}

func (f *flight) record(d time.Duration, o outcome) {
	if f.measuring.Load() {
		f.st.counts[o]++
		f.st.lat = append(f.st.lat, d)
	}
}

// expire resends the requests whose answer is late and gives up on those
// sent MaxTries times.
func (f *flight) expire(now time.Time) error {
	for id, s := range f.slots {
		if s.req == nil || now.Before(s.resend) {
			continue
		}
		if s.tries >= f.tries {
			f.record(now.Sub(s.sent), outTimeout)
			if err := f.begin(byte(id), s); err != nil {
				return err
			}
			continue
		}
		s.tries++
		s.resend = now.Add(f.retry)
		f.conn.WriteToUDPAddrPort(s.req, s.dst)
	}
	return nil
}

// send puts p in flight for worker id.
func (f *flight) send(id byte, s *slot, p *radius.Packet, dst netip.AddrPort) error {
	p.Identifier = id
	b, err := radiusproto.EncodeRequest(p)
	if err != nil {
		return err
	}
	now := time.Now()
	s.req, s.dst, s.sent, s.resend, s.tries = b, dst, now, now.Add(f.retry), 1
	if _, err := f.conn.WriteToUDPAddrPort(b, dst); err != nil {
		fmt.Fprintln(f.warn, "bassim load: send:", err) // the retransmission timer goes on
	}
	return nil
}

// begin starts worker id's next operation.
func (f *flight) begin(id byte, s *slot) error {
	i := 1 + (s.w+s.k*f.conc)%f.users
	s.k++
	s.user, s.step = i, 0
	l := f.l
	switch f.mode {
	case "auth-mac", "mixed":
		return f.authenticate(id, s, bas.AuthRequest{MAC: bas.LoadMAC(i), UserIP: loadIP(i)})
	case "auth-pap":
		return f.authenticate(id, s, bas.AuthRequest{UserName: bas.LoadUser(l.prefix, i), Password: l.password, MAC: bas.LoadMAC(i), UserIP: loadIP(i)})
	case "acct":
		mac, _ := access.NormalizeMAC(bas.LoadMAC(i))
		s.sess = bas.Session{AcctSessionID: l.sessionID(), UserName: bas.LoadUser(l.prefix, i), MAC: mac, UserIP: loadIP(i), StartedAt: time.Now()}
		if l.ipv6.IsValid() {
			s.sess.UserIPv6 = bas.EUI64(l.ipv6, mac)
		}
		return f.send(id, s, l.b.AccountingRequest(rfc2866.AcctStatusType_Value_Start, s.sess, 0), f.acct)
	}
	return fmt.Errorf("%w: unknown --mode %q", errUsage, f.mode)
}

func (f *flight) authenticate(id byte, s *slot, r bas.AuthRequest) error {
	p, asid, err := f.l.b.AccessRequest(r)
	if err != nil {
		return err
	}
	mac, _ := access.NormalizeMAC(r.MAC)
	s.sess = bas.Session{AcctSessionID: asid, UserIP: r.UserIP, MAC: mac}
	if f.l.ipv6.IsValid() {
		s.sess.UserIPv6 = bas.EUI64(f.l.ipv6, mac)
	}
	s.name = r.UserName
	if s.name == "" {
		s.name = bas.FormatMAC(r.MAC)
	}
	return f.send(id, s, p, f.auth)
}

// answered records worker id's reply and sends what follows it.
func (f *flight) answered(id byte, s *slot, reply *radius.Packet) error {
	lat := time.Since(s.sent)
	s.req = nil
	b := f.l.b
	switch reply.Code {
	case radius.CodeAccessAccept, radius.CodeAccessReject, radius.CodeAccessChallenge:
		res := bas.ReadAuthReply(reply, s.name)
		if !res.Accepted {
			f.record(lat, outRejected)
			return f.begin(id, s)
		}
		f.record(lat, outAccepted)
		if f.mode != "mixed" {
			return f.begin(id, s)
		}
		s.sess.UserName, s.sess.Class, s.sess.StartedAt = res.UserName, res.Class, time.Now()
		s.step = 1
		return f.send(id, s, b.AccountingRequest(rfc2866.AcctStatusType_Value_Start, s.sess, 0), f.acct)
	}
	f.record(lat, outAccepted)
	s.step++
	switch {
	case f.mode == "acct" && s.step == 1, f.mode == "mixed" && s.step == 3:
		s.sess.InputOctets, s.sess.OutputOctets = 1<<20, 8<<20
		return f.send(id, s, b.AccountingRequest(rfc2866.AcctStatusType_Value_Stop, s.sess, rfc2866.AcctTerminateCause_Value_UserRequest), f.acct)
	case f.mode == "mixed" && s.step == 2:
		s.sess.InputOctets, s.sess.OutputOctets = 1<<19, 4<<20
		return f.send(id, s, b.AccountingRequest(rfc2866.AcctStatusType_Value_InterimUpdate, s.sess, 0), f.acct)
	}
	return f.begin(id, s)
}
