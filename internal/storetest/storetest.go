package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/lib/pq" // the PostgreSQL driver, for creating test schemas

	"github.com/campusnet/campusnet/internal/store"
)

// EnvPostgres names the environment variable holding a PostgreSQL DSN.
const EnvPostgres = "CAMPUSNET_TEST_POSTGRES"

// InCI reports whether missing components must fail rather than skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// Option configures the stores made here.
type Option = store.Option

// SQLiteDSN returns a DSN for a new SQLite file in the test's temp dir.
func SQLiteDSN(t testing.TB) string {
	t.Helper()
	return "sqlite:" + filepath.Join(t.TempDir(), "campusnet.db")
}

// PostgresDSN creates a fresh schema in the database named by
// CAMPUSNET_TEST_POSTGRES, drops it when the test ends, and returns a DSN
// whose search_path is that schema (so other processes can share it). It
// skips the test when the variable is unset, and fails it when CI=true.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		if InCI() {
			t.Fatalf("%s is not set: CI must run the PostgreSQL tests", EnvPostgres)
		}
		t.Skipf("PostgreSQL tests skipped: set %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable (apt-get install postgresql)", EnvPostgres)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		if InCI() {
			t.Fatalf("postgres at %s: %v", EnvPostgres, err)
		}
		t.Skipf("postgres at %s not usable: %v", EnvPostgres, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("bad %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens dsn, migrates it and closes it at the end of the test.
func Open(t testing.TB, dsn string, opts ...Option) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := store.Open(ctx, dsn, opts...)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

// NewSQLite returns a migrated store on a new SQLite file.
func NewSQLite(t testing.TB, opts ...Option) *store.Store {
	t.Helper()
	return Open(t, SQLiteDSN(t), opts...)
}

// NewPostgres returns a migrated store on a new PostgreSQL schema (see PostgresDSN).
func NewPostgres(t testing.TB, opts ...Option) *store.Store {
	t.Helper()
	return Open(t, PostgresDSN(t), opts...)
}

// Kinds are the store kinds ForEach runs on.
var Kinds = []string{"sqlite", "postgres"}

// New returns a migrated store of the given kind ("sqlite" or "postgres").
func New(t testing.TB, kind string, opts ...Option) *store.Store {
	t.Helper()
	if kind == "postgres" {
		return NewPostgres(t, opts...)
	}
	return NewSQLite(t, opts...)
}

// DSN returns a fresh database DSN of the given kind.
func DSN(t testing.TB, kind string) string {
	t.Helper()
	if kind == "postgres" {
		return PostgresDSN(t)
	}
	return SQLiteDSN(t)
}

// ForEach runs fn as a subtest on a fresh SQLite store and, when configured,
// a fresh PostgreSQL store.
func ForEach(t *testing.T, fn func(t *testing.T, s *store.Store), opts ...Option) {
	t.Helper()
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) {
			fn(t, New(t, kind, opts...))
		})
	}
}

// Clock is a fake clock for tests: it only moves when told.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a fake clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the fake time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}
