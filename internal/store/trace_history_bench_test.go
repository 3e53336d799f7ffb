package store_test

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
)

// BenchmarkTraceHistory times Store.TraceSessions on a database filled by
// `campusnet history fill` (CAMPUSNET_BENCH_HISTORY, its DSN; skipped
// without it): an address of the fill's DHCP pool at a random moment of the
// history ("at"), and the same for the whole day from that moment
// ("day"). It reports the p50, p99 and slowest call in milliseconds and
// the rows found per call. deploy/bench/history.sh runs it.
func BenchmarkTraceHistory(b *testing.B) {
	dsn := os.Getenv("CAMPUSNET_BENCH_HISTORY")
	if dsn == "" {
		b.Skip("set CAMPUSNET_BENCH_HISTORY to a database filled by `campusnet history fill` (deploy/bench/history.sh)")
	}
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var lo, hi int64
	var pool int
	// The fill's addresses are 10.128.0.1 onwards, 254 to a /24; its
	// sessions are numbered in time order.
	if err := st.DB().QueryRowx(`SELECT MIN(started_at), MAX(stopped_at) FROM sessions WHERE acct_session_id LIKE 'hist-%'`).Scan(&lo, &hi); err != nil {
		b.Fatal(err)
	}
	if err := st.DB().Get(&pool, `SELECT COUNT(DISTINCT ip) FROM sessions WHERE acct_session_id LIKE 'hist-%'`); err != nil || pool == 0 {
		b.Fatalf("no history pool (%v): fill the database with `campusnet history fill`", err)
	}
	for _, kind := range []string{"at", "day"} {
		b.Run(kind, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			var took []time.Duration
			rows := 0
			for b.Loop() {
				a := rng.IntN(pool)
				ip := netip.AddrFrom4([4]byte{10, byte(128 + a/65024), byte(a % 65024 / 254), byte(a%254 + 1)})
				at := access.FromMillis(lo + rng.Int64N(hi-lo))
				q := access.TraceQuery{IP: ip, From: at, To: at}
				if kind == "day" {
					q.To = at.Add(24 * time.Hour)
				}
				t0 := time.Now()
				out, err := st.TraceSessions(ctx, q)
				took = append(took, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				rows += len(out)
			}
			slices.Sort(took)
			ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
			b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
			b.ReportMetric(ms(took[len(took)*99/100]), "p99-ms")
			b.ReportMetric(ms(took[len(took)-1]), "max-ms")
			b.ReportMetric(float64(rows)/float64(len(took)), "rows/op")
		})
	}
}
