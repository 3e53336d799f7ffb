package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/campusnet/campusnet/internal/config"
)

func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile("compose/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]struct {
			Image     string         `yaml:"image"`
			Command   []string       `yaml:"command"`
			DependsOn map[string]any `yaml:"depends_on"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, want := range []string{"postgres", "migrate", "portal1", "portal2", "radius"} {
		if _, ok := f.Services[want]; !ok {
			t.Errorf("compose.yaml has no service %q", want)
		}
	}
	for name, s := range f.Services {
		if s.Image != "campusnet" {
			continue
		}
		// Every campusnet service runs a command whose config file exists and is valid.
		var cfg string
		for i, a := range s.Command {
			if a == "--config" && i+1 < len(s.Command) {
				cfg = strings.TrimPrefix(s.Command[i+1], "/etc/campusnet/")
			}
		}
		if cfg == "" {
			t.Errorf("service %s: no --config", name)
			continue
		}
		if _, err := config.Load(filepath.Join("compose", cfg)); err != nil {
			t.Errorf("service %s: %v", name, err)
		}
		if name != "migrate" && s.DependsOn["migrate"] == nil {
			t.Errorf("service %s does not wait for the migration", name)
		}
	}
}

func TestSystemdUnits(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze not found: apt-get install systemd")
		}
		t.Skip("systemd-analyze not found: apt-get install systemd")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "campusnet")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/campusnet").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var units []string
	for _, u := range []string{"campusnet.service", "campusnet-portal-ip.service"} {
		b, err := os.ReadFile(filepath.Join("systemd", u))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(b), "/usr/local/bin/campusnet", bin)
		p := filepath.Join(dir, u)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		units = append(units, p)
		if u == "campusnet.service" {
			for _, want := range []string{"User=campusnet", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "NoNewPrivileges=yes", "ProtectSystem=strict"} {
				if !strings.Contains(text, want) {
					t.Errorf("campusnet.service lacks %s", want)
				}
			}
		}
	}
	out, err := exec.Command(sa, append([]string{"verify", "--man=no"}, units...)...).CombinedOutput()
	var problems []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		// Outside a booted systemd (containers, CI) verify may warn about the
		// host itself; only lines naming our units count.
		if strings.Contains(l, "campusnet") {
			problems = append(problems, l)
		}
	}
	if err != nil || len(problems) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, strings.Join(problems, "\n"))
	}
}
