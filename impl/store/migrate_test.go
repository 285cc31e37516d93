package store

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"github.com/uptrace/bun/migrate"
)

// A database written by the first release (only the init migration) opens with its
// leases intact, and the leases get empty metadata and revision 0.
func TestLeasesFromBeforeMetadataSurviveTheMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old := fstest.MapFS{}
	err := fs.WalkDir(migrationFiles, "migrations", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(p, "_init.") {
			return err
		}
		b, err := migrationFiles.ReadFile(p)
		old[strings.TrimPrefix(p, "migrations/")] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil || len(old) != 2 {
		t.Fatalf("init migration files %v: %v", old, err)
	}
	sqldb, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	db := bun.NewDB(sqldb, sqlitedialect.New())
	ms := migrate.NewMigrations()
	if err := ms.Discover(old); err != nil {
		t.Fatal(err)
	}
	m := migrate.NewMigrator(db, ms)
	if err := m.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO leases (account_id, name, lease_id, token_id, owner, fencing_token, ttl_ms, acquired_ms, expires_ms)
		VALUES ('acc_a', 'old', 'lease-old', 'tok_a', '', 7, 30000, 1700000000000, 1700000030000)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("open old database: %v", err)
	}
	defer s.Close()
	leases, _, err := s.Leases(ctx)
	if err != nil || len(leases) != 1 {
		t.Fatalf("leases %+v %v", leases, err)
	}
	if l := leases[0]; l.ID != "lease-old" || l.Token != 7 || l.Metadata != "" || l.Revision != 0 {
		t.Fatalf("old lease %+v", l)
	}
}

// A database from before the revocation migration opens with its tokens live and
// unlabelled, and its sessions idle since their creation; rolling the migration back
// keeps a revoked sign-in token dead.
func TestTheRevocationMigrationUpAndDown(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	before := fstest.MapFS{}
	err := fs.WalkDir(migrationFiles, "migrations", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(p, "_revocation.") {
			return err
		}
		b, err := migrationFiles.ReadFile(p)
		before[strings.TrimPrefix(p, "migrations/")] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil || len(before) < 6 || len(before)%2 != 0 {
		t.Fatalf("migrations before revocation %d: %v", len(before), err)
	}
	sqldb, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	db := bun.NewDB(sqldb, sqlitedialect.New())
	ms := migrate.NewMigrations()
	if err := ms.Discover(before); err != nil {
		t.Fatal(err)
	}
	m := migrate.NewMigrator(db, ms)
	if err := m.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO accounts (id, name, created_ms) VALUES ('acc_a', 'github-1', 1000)`,
		`INSERT INTO tokens (id, account_id, hash, created_ms) VALUES ('tok_a', 'acc_a', X'01', 1000)`,
		`INSERT INTO github_users (github_id, account_id, token_id, login, avatar_url, created_ms) VALUES (1, 'acc_a', 'tok_a', 'o', '', 1000)`,
		`INSERT INTO sessions (id_hash, github_id, created_ms, expires_ms) VALUES (X'02', 1, 5000, 9000000000000)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("open old database: %v", err)
	}
	toks, err := s.Tokens(ctx)
	if err != nil || len(toks) != 1 || toks[0].Name != "" || !toks[0].LastUsed.IsZero() {
		t.Fatalf("tokens %+v %v", toks, err)
	}
	sess, err := s.Session(ctx, []byte{2})
	if err != nil || sess.LastSeen.UnixMilli() != 5000 {
		t.Fatalf("session %+v %v", sess, err)
	}
	// Revoking the sign-in token ends its session and keeps the row, marked.
	if err := s.RevokeToken(ctx, "tok_a", sess.CreatedAt); err != nil {
		t.Fatal(err)
	}
	if toks, _ := s.Tokens(ctx); len(toks) != 0 {
		t.Fatalf("a revoked token loads: %+v", toks)
	}
	if _, err := s.Session(ctx, []byte{2}); err == nil {
		t.Fatal("the session of a revoked sign-in token survived")
	}
	s.Close()

	// Down: the revoked token's hash matches nothing any more.
	sqldb, err = sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	db = bun.NewDB(sqldb, sqlitedialect.New())
	defer db.Close()
	all := migrate.NewMigrations()
	if err := all.Discover(migrationFiles); err != nil {
		t.Fatal(err)
	}
	m = migrate.NewMigrator(db, all)
	if _, err := m.Rollback(ctx); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	var hash []byte
	if err := db.QueryRowContext(ctx, `SELECT hash FROM tokens WHERE id = 'tok_a'`).Scan(&hash); err != nil || len(hash) != 1 || hash[0] != 0 {
		t.Fatalf("after rollback the revoked token's hash is %x (%v)", hash, err)
	}
}
