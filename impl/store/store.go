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
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

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
	// CheckInterval is how often the running store checks that its files are still the
	// database's (default 1 s). Every commit checks too, before it is reported durable.
	CheckInterval time.Duration
	// AllowNew starts a new, empty database even though the marker next to path says a
	// database existed there (see ErrMissing).
	AllowNew bool
}

// Store is an open database. Only one process may hold it at a time.
type Store struct {
	db   *bun.DB
	lock *os.File
	path string
	opts Options

	commit committer
	stmts  statements

	// The database file and its WAL as opened: a commit into files that are no longer
	// there is not durable.
	dbFile, walFile os.FileInfo
}

// MarkerSuffix names the marker file written next to the database once it exists. When
// the marker is there and the database is missing or empty, Open refuses (ErrMissing):
// a lost database is not silently replaced by a new one.
const MarkerSuffix = ".created"

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
	if opts.CheckInterval <= 0 {
		opts.CheckInterval = time.Second
	}
	if err := checkNotLost(path, opts.AllowNew); err != nil {
		return nil, err
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
	if err := s.recordIdentity(); err != nil {
		s.Close()
		return nil, err
	}
	if err := writeMarker(path); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// checkNotLost refuses a missing or empty database file when the marker says one
// existed, unless allowNew.
func checkNotLost(path string, allowNew bool) error {
	fi, err := os.Stat(path)
	if err == nil && fi.Size() > 0 {
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("database: %w", err)
	}
	if _, merr := os.Stat(path + MarkerSuffix); merr != nil || allowNew {
		return nil // a first run, or the operator asked for a new database
	}
	return fmt.Errorf("%s: %w (marker %s): restore a backup, or start with --allow-new-database to begin again (fencing tokens still continue above the wall clock)",
		path, ErrMissing, path+MarkerSuffix)
}

func writeMarker(path string) error {
	marker := path + MarkerSuffix
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	text := "This file marks that an OctoStore database exists next to it. If the database goes\n" +
		"missing while this file is here, octostore-lock refuses to start a new one silently.\n"
	if err := os.WriteFile(marker, []byte(text), 0o600); err != nil {
		return fmt.Errorf("write database marker: %w", err)
	}
	return nil
}

// recordIdentity remembers which files are the database and its WAL.
func (s *Store) recordIdentity() error {
	var err error
	if s.dbFile, err = os.Stat(s.path); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if s.walFile, err = os.Stat(s.path + "-wal"); err != nil {
		return fmt.Errorf("database WAL: %w", err)
	}
	return nil
}

// errReplaced means the database file or its WAL was removed or replaced under the
// running process: commits go to files nobody will read.
var errReplaced = errors.New("the database file or its WAL was removed or replaced under the running server; restart it (see README, What happens when the disk fails)")

// checkIdentity verifies that the database and WAL files at their paths are still the
// ones this store opened (same device and inode).
func (s *Store) checkIdentity() error {
	for _, f := range []struct {
		path string
		fi   os.FileInfo
	}{{s.path, s.dbFile}, {s.path + "-wal", s.walFile}} {
		if f.fi == nil {
			continue
		}
		now, err := os.Stat(f.path)
		if err != nil || !os.SameFile(now, f.fi) {
			return fmt.Errorf("%s: %w", f.path, errReplaced)
		}
	}
	return nil
}

// Probe checks whether the database accepts writes again: its files are the ones opened,
// the directory takes a small fsync'd file, and a transaction commits. It changes no
// state anyone reads.
func (s *Store) Probe(ctx context.Context) error {
	if err := s.checkIdentity(); err != nil {
		return err
	}
	// Move the WAL into the database first (best effort): a WAL grown to fill the disk
	// otherwise keeps it full.
	s.db.DB.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	probe := filepath.Join(filepath.Dir(s.path), ".octostore-probe")
	f, err := os.OpenFile(probe, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	defer os.Remove(probe)
	_, err = f.Write(make([]byte, 256<<10))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	_, err = s.db.DB.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('probe_ms', ?)
	ON CONFLICT (key) DO UPDATE SET value = excluded.value`, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("probe: %w", translate(err))
	}
	return s.checkIdentity()
}

// Backup writes a consistent copy of the database to a new file in dir (VACUUM INTO, on
// a connection of its own so commits go on meanwhile) and returns its path. The caller
// removes it.
func (s *Store) Backup(ctx context.Context, dir string) (string, error) {
	if err := s.checkIdentity(); err != nil {
		return "", fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	f, err := os.CreateTemp(dir, "octostore-backup-*.db")
	if err != nil {
		return "", fmt.Errorf("%w: backup file: %w", ErrUnavailable, err)
	}
	out := f.Name()
	f.Close()
	os.Remove(out) // VACUUM INTO wants to create it
	src, err := sql.Open("sqlite", s.path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return "", fmt.Errorf("backup: %w", err)
	}
	defer src.Close()
	if _, err := src.ExecContext(ctx, "VACUUM INTO ?", out); err != nil {
		os.Remove(out)
		return "", fmt.Errorf("backup: %w", translate(err))
	}
	return out, nil
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

// State returns the whole durable lock state for lease.RestoreState: every unreleased
// lease, every session and lock-delay in force, and the fencing reservation.
func (s *Store) State(ctx context.Context) (lease.State, error) {
	leases, reserved, err := s.Leases(ctx)
	if err != nil {
		return lease.State{}, err
	}
	var sessions []lockSessionRow
	if err := s.db.NewSelect().Model(&sessions).Scan(ctx); err != nil {
		return lease.State{}, fmt.Errorf("load sessions: %w", translate(err))
	}
	var delays []lockDelayRow
	if err := s.db.NewSelect().Model(&delays).Scan(ctx); err != nil {
		return lease.State{}, fmt.Errorf("load lock-delays: %w", translate(err))
	}
	st := lease.State{Leases: leases, Reserved: reserved}
	for _, r := range sessions {
		st.Sessions = append(st.Sessions, r.session())
	}
	for _, r := range delays {
		st.Delays = append(st.Delays, r.delay())
	}
	return st, nil
}

// IntegrityCheck runs SQLite's integrity_check and returns its verdict ("ok" when sound).
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	var verdict string
	if err := s.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&verdict); err != nil {
		return "", translate(err)
	}
	return verdict, nil
}
