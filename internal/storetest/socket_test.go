package storetest

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/campusnet/campusnet/internal/access"
	"github.com/campusnet/campusnet/internal/store"
)

// socketDir is where Debian's PostgreSQL puts its Unix socket.
const socketDir = "/var/run/postgresql"

// TestPostgresUnixSocket: a database DSN naming PostgreSQL's Unix socket
// (deploy/README recommends it when PostgreSQL is on the same machine)
// works for both of the store's drivers: lib/pq (migrations, the portal,
// self-service) and pgx (the RADIUS hot path).
func TestPostgresUnixSocket(t *testing.T) {
	tcp, err := url.Parse(PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	port := tcp.Port()
	if port == "" {
		port = "5432"
	}
	if _, err := os.Stat(filepath.Join(socketDir, ".s.PGSQL."+port)); err != nil {
		t.Skipf("no PostgreSQL socket in %s for port %s (the server of %s is not on this machine, or not Debian's)", socketDir, port, EnvPostgres)
	}
	// postgres://user@/db?host=/var/run/postgresql&port=…&search_path=…
	sock := *tcp
	sock.Host = ""
	q := sock.Query()
	q.Set("host", socketDir)
	q.Set("port", port)
	sock.RawQuery = q.Encode()
	s := Open(t, sock.String())
	ctx := context.Background()
	newAccount(t, s, "sock-a")
	aaa := store.NewAAA(s)
	defer aaa.Close()
	if err := aaa.OpenHotPool(ctx, 2); err != nil {
		t.Fatalf("the RADIUS pool over the socket: %v", err)
	}
	res, err := aaa.RecordAccounting(ctx, []access.AcctRecord{
		{Kind: access.AcctStart, NAS: "n1", Area: "office", AcctSessionID: "S1", Username: "sock-a", MAC: "02:00:00:00:02:01"},
	})
	if err != nil || res[0].Outcome != access.AcctStarted {
		t.Fatalf("accounting over the socket: %+v, %v", res, err)
	}
	live, err := s.ListSessions(ctx, store.SessionFilter{LiveOnly: true})
	if err != nil || len(live) != 1 || live[0].AcctSessionID != "S1" {
		t.Fatalf("sessions read back over the socket: %+v, %v", live, err)
	}
}
