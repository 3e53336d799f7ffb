package main

import (
	"testing"

	"github.com/campusnet/campusnet/internal/config"
)

func TestChooseProcs(t *testing.T) {
	t.Setenv("PGHOST", "")
	local := "postgres://cn@127.0.0.1:5432/cn?sslmode=disable"
	remote := "postgres://cn@db.campus.example:5432/cn?sslmode=require"
	for _, c := range []struct {
		name    string
		cfg     config.Server
		current int
		env     bool
		want    int
	}{
		{"local postgres, 2 cores: one left to it", config.Server{Database: local}, 2, false, 1},
		{"local postgres, 8 cores", config.Server{Database: local}, 8, false, 7},
		{"local postgres, 1 core: nothing to leave", config.Server{Database: local}, 1, false, 0},
		{"remote postgres", config.Server{Database: remote}, 4, false, 0},
		{"sqlite (in the process)", config.Server{Database: "sqlite:campusnet.db"}, 4, false, 0},
		{"procs set", config.Server{Database: remote, Procs: 3}, 8, false, 3},
		{"procs set, local postgres", config.Server{Database: local, Procs: 2}, 2, false, 2},
		{"GOMAXPROCS in the environment wins", config.Server{Database: local, Procs: 3}, 2, true, 0},
	} {
		if got, why := chooseProcs(c.cfg, c.current, c.env); got != c.want || why == "" {
			t.Errorf("%s: %d (%q), want %d", c.name, got, why, c.want)
		}
	}
}

func TestLocalPostgres(t *testing.T) {
	t.Setenv("PGHOST", "")
	for dsn, want := range map[string]bool{
		"postgres://cn@127.0.0.1:5432/cn":            true,
		"postgres://cn@localhost/cn":                 true,
		"postgresql://cn@[::1]:5432/cn":              true,
		"postgres://cn@/cn?host=/var/run/postgresql": true,
		"postgres:///cn":                             true,
		"postgres://cn@10.0.0.5:5432/cn":             false,
		"postgres://cn@db.campus.example/cn":         false,
		"sqlite:/var/lib/campusnet/campusnet.db":     false,
	} {
		if got := localPostgres(dsn); got != want {
			t.Errorf("%s: %v, want %v", dsn, got, want)
		}
	}
	t.Setenv("PGHOST", "db.campus.example")
	if localPostgres("postgres:///cn") {
		t.Error("no host in the DSN and PGHOST names another machine: counted as local")
	}
}
