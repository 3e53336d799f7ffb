package main

import (
	"net"
	"net/url"
	"os"
	"runtime"
	"strings"

	"github.com/campusnet/campusnet/internal/config"
)

// Cores. Go runs goroutines on GOMAXPROCS threads at once, by default one
// per core. When PostgreSQL runs on the same machine, that default has
// campusnet's threads and PostgreSQL's backends take turns on every core:
// a RADIUS batch's transaction waits for a core while campusnet's idle
// threads spin looking for work, and every hand-off between goroutines
// wakes another thread. With one core left to PostgreSQL, both campusnet's
// and PostgreSQL's CPU time per request fall and RADIUS throughput rises
// (deploy/bench/README.md). So by default serve leaves one core to a
// PostgreSQL on this machine. A database elsewhere, or SQLite (in the
// process), gets every core. [server] procs sets the number outright;
// GOMAXPROCS in the environment wins over both. The price: password hashing
// gets one core fewer too, so a campus whose students log in by password
// on every connection, rather than by a bound MAC, should set procs to the
// number of cores.

// chooseProcs is how many cores serve runs on and why; n == 0 leaves the
// runtime's choice alone. current is the runtime's choice (the cores the
// process may use), envSet whether GOMAXPROCS is in the environment.
func chooseProcs(cfg config.Server, current int, envSet bool) (n int, why string) {
	switch {
	case envSet:
		return 0, "GOMAXPROCS is set"
	case cfg.Procs > 0:
		return cfg.Procs, "server.procs"
	case current >= 2 && localPostgres(cfg.Database):
		return current - 1, "one core left to PostgreSQL on this machine"
	}
	return 0, "every core"
}

// localPostgres reports whether dsn names a PostgreSQL on this machine: a
// loopback address, localhost, a Unix socket, or no host at all (which
// means the local socket).
func localPostgres(dsn string) bool {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return false
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "" {
		host = u.Query().Get("host")
	}
	if host == "" {
		host = os.Getenv("PGHOST")
	}
	switch {
	case host == "", strings.HasPrefix(host, "/"), strings.EqualFold(host, "localhost"):
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// setProcs applies chooseProcs and returns the cores serve runs on and why.
func setProcs(cfg config.Server) (int, string) {
	_, envSet := os.LookupEnv("GOMAXPROCS")
	n, why := chooseProcs(cfg, runtime.GOMAXPROCS(0), envSet)
	if n > 0 {
		runtime.GOMAXPROCS(n)
	}
	return runtime.GOMAXPROCS(0), why
}
