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
