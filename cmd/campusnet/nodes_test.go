package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/storetest"
)

func TestNodesListsAndMarksStale(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "c.db")
	st := storetest.Open(t, dsn)
	now := time.Now()
	for _, n := range []access.PortalNode{
		{NodeID: "1", Address: "10.0.0.1:80", Version: "v1.2", StartedAt: access.Millis(now.Add(-time.Hour)), HeartbeatAt: access.Millis(now.Add(-5 * time.Second)), LoginsOK: 42, LoginsFailed: 3},
		{NodeID: "3", Address: "10.0.0.3:80", Version: "v1.1", StartedAt: access.Millis(now.Add(-48 * time.Hour)), HeartbeatAt: access.Millis(now.Add(-10 * time.Minute)), BASErrors: 17},
		{NodeID: "5", Address: "10.0.0.5:80", Version: "v1.2", StartedAt: access.Millis(now.Add(-time.Hour)), HeartbeatAt: access.Millis(now.Add(-2 * time.Second))},
	} {
		if err := st.HeartbeatNode(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	// Node 5 stopped cleanly just now: stopped at once, never "ok".
	if ok, err := st.StopNode(context.Background(), "5"); !ok || err != nil {
		t.Fatalf("stop: %v %v", ok, err)
	}
	cfgPath := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf("[server]\ndatabase = %q\n", dsn)), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"nodes", "--config", cfgPath}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("output:\n%s", out.String())
	}
	if f := strings.Fields(lines[1]); f[0] != "1" || f[1] != "ok" || !strings.Contains(lines[1], "42") {
		t.Fatalf("node 1: %q", lines[1])
	}
	if f := strings.Fields(lines[2]); f[0] != "3" || f[1] != "STALE" || !strings.Contains(lines[2], "17") {
		t.Fatalf("node 3: %q", lines[2])
	}
	if f := strings.Fields(lines[3]); f[0] != "5" || f[1] != "stopped" {
		t.Fatalf("node 5: %q", lines[3])
	}
}

func TestDevicesExplain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"xiaomi desktop mode", []string{"--ua", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			"--platform", "Linux armv8l", "--touch", "5", "--screen", "393x873"}, 0, []string{"class: mobile", "desktop mode", "电脑模式"}},
		{"windows", []string{"--ua", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"}, 0, []string{"class: pc", "Windows"}},
		{"random mac only", []string{"--mac", "da:a1:19:00:00:01"}, 0, []string{"class: mobile", "locally administered"}},
		{"bad screen", []string{"--ua", "x", "--screen", "big"}, 2, nil},
		{"nothing", nil, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), append([]string{"devices", "explain"}, tt.args...), &out, &errb)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s%s", code, tt.code, out.String(), errb.String())
			}
			for _, w := range tt.wants {
				if !strings.Contains(out.String(), w) {
					t.Fatalf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
}
