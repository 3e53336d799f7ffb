package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHotPoolConfig(t *testing.T) {
	cfg, err := hotPoolConfig("postgres://cn:s3cret@db.example:5433/campus?sslmode=disable&search_path=cn&binary_parameters=yes", 6)
	if err != nil {
		t.Fatal(err)
	}
	rp := cfg.ConnConfig.RuntimeParams
	if cfg.MaxConns != 6 || cfg.ConnConfig.Host != "db.example" || cfg.ConnConfig.Port != 5433 || cfg.ConnConfig.Database != "campus" ||
		cfg.ConnConfig.Password != "s3cret" || rp["search_path"] != "cn" || rp["plan_cache_mode"] != "force_generic_plan" {
		t.Fatalf("config: max %d, %s:%d/%s, params %v", cfg.MaxConns, cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, rp)
	}
	if cfg.MaxConnLifetime != 10*time.Minute || cfg.MaxConnLifetimeJitter <= 0 {
		t.Fatalf("connections (and their generic plans) live %v ± %v, want 10 minutes and some jitter", cfg.MaxConnLifetime, cfg.MaxConnLifetimeJitter)
	}
	if _, ok := rp["binary_parameters"]; ok {
		t.Fatal("lib/pq's binary_parameters sent to the server as a setting")
	}
	// A DSN that cannot be used: the error never quotes the password.
	for _, dsn := range []string{"postgres://cn:s3cret@db.example:5433/campus%zz", "postgres://cn:s3cret@db.example:notaport/campus"} {
		_, err := hotPoolConfig(dsn, 6)
		if err == nil {
			t.Fatalf("%s: no error", dsn)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Fatalf("error quotes the password: %v", err)
		}
	}
}

// TestOpenHotPoolSQLite: on SQLite there is no pgx pool to open. (An empty
// DSN would make pgx connect to whatever PostgreSQL the environment names:
// the demo would fail on a machine without one.)
func TestOpenHotPoolSQLite(t *testing.T) {
	t.Setenv("PGHOST", "127.0.0.1")
	t.Setenv("PGPORT", "1") // nothing listens there
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "cn.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a := NewAAA(s)
	defer a.Close()
	if err := a.OpenHotPool(ctx, 4); err != nil {
		t.Fatalf("OpenHotPool on SQLite: %v", err)
	}
	if a.pg != nil {
		t.Fatal("a pgx pool was opened for a SQLite store")
	}
}
