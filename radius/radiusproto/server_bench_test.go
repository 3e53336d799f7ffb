package radiusproto

import (
	"context"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
)

// nopHandler accepts everything at once: the benchmarks measure the
// protocol layer only.
type nopHandler struct{}

func (nopHandler) ServeAccess(_ context.Context, r *Request) *radius.Packet {
	return r.Packet.Response(radius.CodeAccessAccept)
}
func (nopHandler) ServeAccounting(context.Context, *Request) error { return nil }

// benchPackets returns 256 distinct signed requests, one per Identifier,
// shaped like a BAS's (PAP Access-Request with M-A, or Accounting Interim).
func benchPackets(b *testing.B, acct bool) [][]byte {
	out := make([][]byte, 256)
	for i := range out {
		var p *radius.Packet
		if acct {
			p = accountingRequest(b, testSecret, rfc2866.AcctStatusType_Value_InterimUpdate)
			mustSet(b, rfc2866.AcctInputOctets_Set(p, rfc2866.AcctInputOctets(i*1000)))
		} else {
			p = accessRequest(b, testSecret, fmt.Sprintf("user%d", i), testPassword)
			mustSet(b, rfc2865.NASIPAddress_Set(p, netip.MustParseAddr("127.0.0.1").AsSlice()))
			mustSet(b, rfc2865.CallingStationID_SetString(p, "00-10-A4-23-19-C0"))
			mustSet(b, rfc2865.FramedIPAddress_Set(p, netip.MustParseAddr("10.0.0.1").AsSlice()))
		}
		p.Identifier = byte(i)
		out[i] = encodeReq(b, p)
	}
	return out
}

// BenchmarkServerHandlePacket is the server's per-packet work with a no-op
// handler: parse, verify authenticators and M-A, duplicate cache, sign and
// encode the reply. Source ports vary so that every packet is new to the
// duplicate cache (which stays at its size limit, evicting).
func BenchmarkServerHandlePacket(b *testing.B) {
	for _, tc := range []struct {
		name string
		kind portKind
	}{{"access", portAuth}, {"accounting", portAcct}} {
		b.Run(tc.name, func(b *testing.B) {
			s := &Server{NAS: NewStaticNAS(localNAS(true)), Handler: nopHandler{}}
			s.init()
			pkts := benchPackets(b, tc.kind == portAcct)
			ip := netip.MustParseAddr("127.0.0.1")
			var n atomic.Uint64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					src := netip.AddrPortFrom(ip, uint16(i>>8))
					if s.handlePacket(context.Background(), tc.kind, pkts[i&0xff], src, time.Now()) == nil {
						b.Fatal("no reply")
					}
				}
			})
		})
	}
}

// BenchmarkServerDuplicate is a retransmission answered from the cache.
func BenchmarkServerDuplicate(b *testing.B) {
	s := &Server{NAS: NewStaticNAS(localNAS(true)), Handler: nopHandler{}}
	s.init()
	pkt := benchPackets(b, false)[0]
	src := netip.MustParseAddrPort("127.0.0.1:40000")
	s.handlePacket(context.Background(), portAuth, pkt, src, time.Now())
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if s.handlePacket(context.Background(), portAuth, pkt, src, time.Now()) == nil {
			b.Fatal("no reply")
		}
	}
}

// BenchmarkClientExchange is a full round trip on loopback through a real
// Server with a no-op handler, with many requests in flight.
func BenchmarkClientExchange(b *testing.B) {
	ts := startServer(b, nil, localNAS(true))
	cl := &Client{Retry: 2 * time.Second, RequireMessageAuthenticator: true}
	defer cl.Close()
	b.ReportAllocs()
	b.SetParallelism(64) // 64 × GOMAXPROCS requests in flight
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p := accessRequest(b, testSecret, testUser, testPassword)
			reply, err := cl.Exchange(context.Background(), p, ts.auth)
			if err != nil {
				b.Error(err)
				return
			}
			if reply.Code != radius.CodeAccessAccept {
				b.Errorf("code %v", reply.Code)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
