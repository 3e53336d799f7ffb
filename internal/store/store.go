package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"path"
	"strings"
	"testing/fstest"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/campusnet/campusnet/internal/access"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Dialect names the database behind a Store.
type Dialect string

// The two supported databases.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Store is the database. It is safe for concurrent use.
type Store struct {
	db      *sqlx.DB
	dialect Dialect
	dsn     string // PostgreSQL's, for the RADIUS hot path's own pool
	log     *slog.Logger
	now     func() time.Time
	loc     *time.Location // the campus time zone: the days of usage_days
}

// Option configures Open.
type Option func(*Store)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// WithClock injects the clock (tests use a fake one; billing and expiry read it).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithLocation sets the campus time zone ([server] timezone): the days
// traffic is counted on (usage_days). The default is
// access.DefaultLocation (Asia/Shanghai).
func WithLocation(loc *time.Location) Option { return func(s *Store) { s.loc = loc } }

// Location is the campus time zone the store counts days in.
func (s *Store) Location() *time.Location { return s.loc }

// Open connects to the database named by dsn ("sqlite:PATH" or "postgres://…").
// It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	s := &Store{log: slog.New(slog.DiscardHandler), now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if s.loc == nil {
		s.loc = access.DefaultLocation()
	}
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		p := strings.TrimPrefix(dsn, "sqlite:")
		if p == "" {
			return nil, errors.New("store: sqlite DSN needs a path")
		}
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
		sep := "?"
		if strings.Contains(p, "?") {
			sep = "&"
		}
		db, err := sqlx.Open("sqlite", "file:"+p+sep+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		// SQLite has one writer at a time; a few connections let readers go
		// on while BEGIN IMMEDIATE queues the writers.
		db.SetMaxOpenConns(4)
		db.SetMaxIdleConns(4)
		s.db, s.dialect = db, SQLite
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db, err := sqlx.Open("postgres", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		db.SetMaxOpenConns(64)
		db.SetMaxIdleConns(64)
		db.SetConnMaxIdleTime(5 * time.Minute)
		s.db, s.dialect, s.dsn = db, Postgres, dsn
	default:
		return nil, fmt.Errorf("store: unsupported DSN (want sqlite:PATH or postgres://…)")
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.db.PingContext(pctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Dialect reports which database this is.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB exposes the handle for tests and for pool statistics.
func (s *Store) DB() *sqlx.DB { return s.db }

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

// Health checks the database answers.
func (s *Store) Health(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var one int
	if err := s.db.GetContext(ctx, &one, "SELECT 1"); err != nil {
		return fmt.Errorf("store: health: %w", err)
	}
	return nil
}

func (s *Store) migrations() (fs.FS, error) {
	id := "BIGSERIAL PRIMARY KEY"
	if s.dialect == SQLite {
		id = "INTEGER PRIMARY KEY AUTOINCREMENT"
	}
	out := fstest.MapFS{}
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		b, err := migrationFS.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		text := strings.ReplaceAll(string(b), "{{ID}}", id)
		// A line "-- postgres: SQL" is SQL on PostgreSQL, a comment on
		// SQLite; "-- sqlite: SQL" the other way round.
		if s.dialect == Postgres {
			text = strings.ReplaceAll(text, "\n-- postgres: ", "\n")
		} else {
			text = strings.ReplaceAll(text, "\n-- sqlite: ", "\n")
		}
		out[e.Name()] = &fstest.MapFile{Data: []byte(text)}
	}
	return out, nil
}

func (s *Store) provider() (*goose.Provider, error) {
	fsys, err := s.migrations()
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	d := goose.DialectSQLite3
	if s.dialect == Postgres {
		d = goose.DialectPostgres
		// Several nodes may start with --migrate at once: one migrates, the
		// others wait for the advisory lock and find nothing to do.
		// The lock is per schema, so databases that hold several campusnet
		// schemas (the tests' one-schema-per-test) do not queue on one another.
		var schema string
		if err := s.db.Get(&schema, `SELECT current_schema()`); err != nil {
			return nil, err
		}
		h := fnv.New64a()
		h.Write([]byte("campusnet migrations " + schema))
		l, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64()>>1)), lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(l))
	}
	return goose.NewProvider(d, s.db.DB, fsys, opts...)
}

// Migrate applies every pending migration and returns the schema version.
// Running it again is harmless.
func (s *Store) Migrate(ctx context.Context) (int64, error) {
	p, err := s.provider()
	if err != nil {
		return 0, fmt.Errorf("store: migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: migrate: %w", err)
	}
	for _, r := range res {
		s.log.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	return p.GetDBVersion(ctx)
}

// SchemaVersion reports the database's schema version and the binary's.
func (s *Store) SchemaVersion(ctx context.Context) (current, target int64, err error) {
	p, err := s.provider()
	if err != nil {
		return 0, 0, err
	}
	return p.GetVersions(ctx)
}

// Rebind turns ? placeholders into the dialect's.
func (s *Store) Rebind(q string) string { return s.db.Rebind(q) }

// forUpdate is the row-lock clause: PostgreSQL locks the row; SQLite's
// BEGIN IMMEDIATE already serialises writers, and it has no FOR UPDATE.
func (s *Store) forUpdate() string {
	if s.dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// ForUpdate exposes the row-lock clause for service stores in other files.
func (s *Store) ForUpdate() string { return s.forUpdate() }

// InTx runs fn in one transaction, retrying it when the database reports a
// serialisation failure, a deadlock or a busy SQLite; fn must be safe to run
// again.
func (s *Store) InTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	return retryOn(ctx, retryable, func() error { return s.inTxOnce(ctx, fn) })
}

// retryOn runs fn, and again (up to 8 times, after a growing random pause)
// while it fails with an error again accepts — a transaction that failed
// and was rolled back, so running it again is safe.
func retryOn(ctx context.Context, again func(error) bool, fn func() error) error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		err = fn()
		if err == nil || !again(err) || ctx.Err() != nil {
			return err
		}
		d := time.Duration(1+rand.IntN(5<<attempt)) * time.Millisecond
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	return err
}

func (s *Store) inTxOnce(ctx context.Context, fn func(tx *sqlx.Tx) error) (err error) {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

func retryable(err error) bool {
	switch pgCode(err) {
	case "40001", "40P01": // serialization_failure, deadlock_detected (pgx)
		return true
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return true
		}
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
}

// IsUniqueViolation reports whether err is a unique-key violation.
func IsUniqueViolation(err error) bool {
	var pe *pq.Error
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// notFound maps sql.ErrNoRows to access.ErrNotFound.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: %s: %w", what, access.ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// NotFound is notFound for service stores in other files.
func NotFound(err error, what string) error { return notFound(err, what) }
