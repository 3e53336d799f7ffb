package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/config"
	"github.com/campusnet/campusnet/internal/identity"
	"github.com/campusnet/campusnet/internal/storetest"
	"github.com/campusnet/campusnet/portal"
)

// BenchmarkPortalLogin measures logins end to end: POST /login → password
// check (argon2id) → one-time token in the store → Portal v2 CHAP with the
// in-process BAS simulator → RADIUS Access-Request (the real policy, one
// transaction) → ACK_AUTH → result page (with the account and cycle read
// back), plus the Accounting-Start that follows. The area is free and has
// no device limit, so every login is accepted; each login uses a new user
// address. Two password-hash costs: the production default (argon2id 64 MiB,
// t=3, p=4), which dominates, and a cheap one (1 MiB, t=1, p=1) that shows
// what the rest of the path costs.
//
//	go test -run XXX -bench PortalLogin -benchtime 10s ./cmd/campusnet/
func BenchmarkPortalLogin(b *testing.B) {
	kinds := []string{"sqlite"}
	if storetest.InCI() || hasPostgres() {
		kinds = append(kinds, "postgres")
	}
	for _, kind := range kinds {
		b.Run(kind, func(b *testing.B) { benchPortalLogin(b, kind) })
	}
}

func hasPostgres() bool { return strings.TrimSpace(os.Getenv(storetest.EnvPostgres)) != "" }

func benchPortalLogin(b *testing.B, kind string) {
	port := freeUDPPort(b, "127.0.0.1")
	cfg := testConfig(b, storetest.DSN(b, kind), fmt.Sprintf(`
[[area]]
name = "office"
fee = 0
[[nas]]
name = "bench-bras"
ip = "127.0.0.1"
secret = "testing123"
area = "office"
coa_port = %d
portal_addr = "127.0.0.1:%d"
portal_secret = "testing123"
user_subnets = ["10.0.0.0/8"]
`, freeUDPPort(b, "127.0.0.1"), port))
	s := startBenchServer(b, cfg)
	ctx := context.Background()

	var seq atomic.Uint64 // every login, across runs, gets a new address
	cheap := identity.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	for _, c := range []struct {
		name   string
		params identity.Params
		target func() string
	}{
		{"argon2id-" + identity.DefaultParams.String(), identity.DefaultParams, func() string { return "http://" + s.Addr("portal") }},
		{"argon2id-" + cheap.String(), cheap, nil},
	} {
		b.Run(c.name, func(b *testing.B) {
			hash, err := identity.HashPassword("bench-pass", c.params)
			if err != nil {
				b.Fatal(err)
			}
			const accounts = 64
			prefix := fmt.Sprintf("bench-%d-", c.params.Memory)
			for i := range accounts {
				if _, _, err := s.st.EnsureAccount(ctx, access.Account{Username: fmt.Sprintf("%s%d", prefix, i), Role: access.RoleStaff, PasswordHash: hash}); err != nil {
					b.Fatal(err)
				}
			}
			base := ""
			if c.target != nil {
				base = c.target()
			} else {
				// A second portal node on the same store, RADIUS and BAS,
				// whose local identity hashes cheaply.
				local := identity.NewLocal(identity.FromAccounts(s.st), c.params, nil)
				pcfg := portalConfig(s.cfg, false)
				pcfg.NodeID = "bench-cheap"
				p, err := portal.New(pcfg, portal.Deps{Store: s.st, Auth: local, Local: local, TokenKey: s.tokenKey})
				if err != nil {
					b.Fatal(err)
				}
				srv := httptest.NewServer(p)
				defer srv.Close()
				defer p.Close()
				base = srv.URL
			}
			b.SetParallelism(8)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				jar, err := cookiejar.New(nil)
				if err != nil {
					b.Fatal(err)
				}
				cl := &http.Client{Jar: jar, Timeout: 30 * time.Second}
				resp, err := cl.Get(base + "/?wlanuserip=10.255.255.1&wlanacname=bench-bras")
				if err != nil {
					b.Error(err)
					return
				}
				page, err := io.ReadAll(resp.Body)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				f := hiddenForm(string(page))
				for pb.Next() {
					n := seq.Add(1)
					f.Set("userip", fmt.Sprintf("10.%d.%d.%d", n/62500%250, n/250%250, n%250+1))
					f.Set("username", fmt.Sprintf("%s%d", prefix, n%accounts))
					f.Set("password", "bench-pass")
					resp, err := cl.PostForm(base+"/login", url.Values(f))
					if err != nil {
						b.Error(err)
						return
					}
					body, err := io.ReadAll(resp.Body)
					if err != nil {
						b.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "已上线") {
						b.Errorf("login %d: %d %s", n, resp.StatusCode, pageGist(string(body)))
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "logins/s")
		})
	}
}

// startBenchServer is startServer for a benchmark: --demo, logs discarded.
func startBenchServer(b *testing.B, cfg *config.Config) *server {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	env := &cli{stdout: io.Discard, stderr: io.Discard}
	s, err := newServer(ctx, env, cfg, newLogger(io.Discard, 8), true, true)
	if err != nil {
		cancel()
		b.Fatalf("newServer: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-done
	})
	<-s.ready
	return s
}

// pageGist is a page's headline and first message, for an error line.
func pageGist(body string) string {
	var out []string
	for _, tag := range []string{"h1", "strong", "p"} {
		if i := strings.Index(body, "<"+tag+">"); i >= 0 {
			rest := body[i+len(tag)+2:]
			if j := strings.Index(rest, "</"+tag+">"); j >= 0 {
				out = append(out, rest[:j])
			}
		}
	}
	return strings.Join(out, " | ")
}
