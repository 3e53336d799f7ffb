package radius_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"layeh.com/radius/rfc2866"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/bas"
	"github.com/campusnet/campusnet/internal/storetest"
)

// benchKind is PostgreSQL when configured, else SQLite.
func benchKind() string {
	if os.Getenv(storetest.EnvPostgres) != "" {
		return "postgres"
	}
	return "sqlite"
}

// BenchmarkAccessMAC is MAC authentication of bound devices with the full
// policy (binding, arrears, device limit, reservation), many in flight.
// bassim load against `campusnet serve` is the benchmark that counts; this
// one is for profiles.
func BenchmarkAccessMAC(b *testing.B) {
	e := startEnv(b, benchKind())
	const users = 512
	for i := range users {
		a := benchAccount(e, fmt.Sprintf("b%05d", i))
		e.bind(a, fmt.Sprintf("02:4d:00:00:%02x:%02x", i/256, i%256), access.ClassPC)
	}
	client := e.basRetry("dorm-bras-1", 2e9)
	var next atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) % users
			res, err := client.Authenticate(context.Background(), bas.AuthRequest{MAC: fmt.Sprintf("02:4d:00:00:%02x:%02x", i/256, i%256)})
			if err != nil || !res.Accepted {
				b.Errorf("%v %+v", err, res)
				return
			}
			client.Forget(res.AcctSessionID)
		}
	})
}

// BenchmarkAccountingStartStop is an accounting Start and Stop of a session
// with no reservation.
func BenchmarkAccountingStartStop(b *testing.B) {
	e := startEnv(b, benchKind())
	const users = 512
	for i := range users {
		benchAccount(e, fmt.Sprintf("b%05d", i))
	}
	client := e.basRetry("dorm-bras-1", 2e9)
	var next atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			s := bas.Session{AcctSessionID: fmt.Sprintf("B-%d", i), UserName: fmt.Sprintf("b%05d", i%users)}
			for _, st := range []rfc2866.AcctStatusType{rfc2866.AcctStatusType_Value_Start, rfc2866.AcctStatusType_Value_Stop} {
				if err := client.Account(context.Background(), st, s); err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
}

// benchAccount creates an account with 50 yuan, without hashing a password.
func benchAccount(e *env, user string) access.Account {
	a, _, err := e.st.EnsureAccount(context.Background(), access.Account{Username: user, Role: access.RoleStudent})
	if err != nil {
		e.t.Fatal(err)
	}
	e.recharge(a, 5000)
	return a
}
