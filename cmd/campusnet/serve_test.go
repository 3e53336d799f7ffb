package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/config"
)

// testConfig is a configuration with every listener on a free loopback port
// and the database given.
func testConfig(t testing.TB, dsn string, extra string) *config.Config {
	t.Helper()
	text := fmt.Sprintf(`
[server]
node_id = "t1"
database = %q
[portal]
listen = "127.0.0.1:0"
notify_listen = "127.0.0.1:0"
[radius]
auth_listen = "127.0.0.1:0"
acct_listen = "127.0.0.1:0"
[selfservice]
listen = "127.0.0.1:0"
[ops]
listen = "127.0.0.1:0"
%s`, dsn, extra)
	cfg, err := config.Parse(text, "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startServer runs a whole campusnet in-process and stops it at the end of the test.
func startServer(t *testing.T, cfg *config.Config, demo bool) *server {
	t.Helper()
	s, _ := startServerLogs(t, cfg, demo)
	return s
}

// lockedBuffer is a log a test may read while the server writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServerLogs is startServer that also returns the server's log.
func startServerLogs(t *testing.T, cfg *config.Config, demo bool) (*server, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	env := &cli{stdout: io.Discard, stderr: io.Discard}
	logs := &lockedBuffer{}
	s, err := newServer(ctx, env, cfg, newLogger(logs, -4), true, demo)
	if err != nil {
		cancel()
		t.Fatalf("newServer: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- s.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(shutdownTimeout + 2*time.Second):
			t.Error("serve did not shut down in time")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	<-s.ready
	return s, logs
}

func TestServeHealthz(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, testConfig(t, "sqlite:"+filepath.Join(dir, "c.db"), ""), false)
	resp, err := http.Get("http://" + s.Addr("ops") + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || body["store"] != "ok" || resp.Header.Get("X-Portal-Node") != "t1" {
		t.Fatalf("healthz: %d %v", resp.StatusCode, body)
	}
	m, err := http.Get("http://" + s.Addr("ops") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	m.Body.Close()
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.HasPrefix(line, "campusnet_") {
			t.Fatalf("metric without the campusnet_ prefix: %s", line)
		}
	}
	if !strings.Contains(string(b), "campusnet_store_open_connections") {
		t.Fatal("no pool metrics")
	}
}

func TestServeRefusesOldSchema(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, "sqlite:"+filepath.Join(t.TempDir(), "c.db"), "")
	env := &cli{stdout: io.Discard, stderr: io.Discard}
	_, err := newServer(context.Background(), env, cfg, newLogger(io.Discard, 0), false, false)
	if err == nil || !strings.Contains(err.Error(), "campusnet migrate") {
		t.Fatalf("unmigrated database: %v", err)
	}
	_ = os.Remove(cfg.Server.Database)
}
