// Package store keeps OctoStore's state in one SQLite file through bun: accounts, token
// hashes, unreleased leases and the fencing reservation. Lease changes are written by a
// group committer, so many concurrent requests share one fsync'd transaction.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/migrate"
	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"

	"github.com/octostore/octostore/impl/lease"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrLocked means another process has the database open.
var ErrLocked = errors.New("database is in use by another octostore-lock process")

// Options tune a Store. Zero values mean defaults.
type Options struct {
	// MaxBatch is the most engine revisions one group commit writes (default 256).
	MaxBatch int
	// Hooks observe commits (metrics); nil means none.
	Hooks *Hooks
}

// Store is an open database. Only one process may hold it at a time.
type Store struct {
	db   *bun.DB
	lock *os.File
	path string
	opts Options

	commit committer
	stmts  statements
}

// Open opens (creating if needed) the database at path, takes its process lock and
// applies pending migrations.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	path = strings.TrimPrefix(path, "file:")
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("database path %q: want a plain file path", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("database directory: %w", err)
		}
	}
	lock, err := lockFile(path)
	if err != nil {
		return nil, err
	}
	dsn := path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	// One connection: SQLite has one writer anyway, and the group committer is it.
	sqldb.SetMaxOpenConns(1)
	db := bun.NewDB(sqldb, sqlitedialect.New())
	s := &Store{db: db, lock: lock, path: path, opts: opts}
	s.commit.init()
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	migrations := migrate.NewMigrations()
	if err := migrations.Discover(migrationFiles); err != nil {
		return fmt.Errorf("discover migrations: %w", err)
	}
	m := migrate.NewMigrator(s.db, migrations)
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("init migrations: %w", translate(err))
	}
	if _, err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", translate(err))
	}
	return nil
}

// Close closes the database and releases the process lock. Call it after Run returned.
func (s *Store) Close() error {
	s.stmts.close()
	err := s.db.Close()
	if s.lock != nil {
		s.lock.Close()
	}
	return err
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Leases returns every unreleased lease and the fencing reservation, for lease.Restore.
func (s *Store) Leases(ctx context.Context) ([]lease.Lease, int64, error) {
	var rows []leaseRow
	if err := s.db.NewSelect().Model(&rows).Scan(ctx); err != nil {
		return nil, 0, fmt.Errorf("load leases: %w", translate(err))
	}
	var meta metaRow
	if err := s.db.NewSelect().Model(&meta).Where("key = ?", metaFencingReserved).Scan(ctx); err != nil {
		return nil, 0, fmt.Errorf("load fencing reservation: %w", translate(err))
	}
	out := make([]lease.Lease, len(rows))
	for i, r := range rows {
		out[i] = r.lease()
	}
	return out, meta.Value, nil
}

// IntegrityCheck runs SQLite's integrity_check and returns its verdict ("ok" when sound).
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	var verdict string
	if err := s.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&verdict); err != nil {
		return "", translate(err)
	}
	return verdict, nil
}
