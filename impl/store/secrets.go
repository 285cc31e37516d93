package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

type secretRow struct {
	bun.BaseModel `bun:"table:secrets"`

	Name      string `bun:"name,pk"`
	Value     []byte `bun:"value"`
	CreatedMs int64  `bun:"created_ms"`
}

// Secret returns the server secret called name, creating it with size random bytes the
// first time it is asked for. Every later call, after a restart too, returns the same
// bytes.
func (s *Store) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	var row secretRow
	err := translate(s.db.NewSelect().Model(&row).Where("name = ?", name).Scan(ctx))
	if err == nil {
		if len(row.Value) != size {
			return nil, fmt.Errorf("secret %q: stored with %d bytes, want %d", name, len(row.Value), size)
		}
		return row.Value, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("read secret %q: %w", name, err)
	}
	if err := s.Writable(); err != nil {
		return nil, err
	}
	row = secretRow{Name: name, Value: make([]byte, size), CreatedMs: time.Now().UnixMilli()}
	rand.Read(row.Value)
	// Two processes starting at once: the first insert wins and both read it back.
	if _, err := s.db.NewInsert().Model(&row).On("CONFLICT (name) DO NOTHING").Exec(ctx); err != nil {
		return nil, fmt.Errorf("create secret %q: %w", name, translate(err))
	}
	if err := translate(s.db.NewSelect().Model(&row).Where("name = ?", name).Scan(ctx)); err != nil {
		return nil, fmt.Errorf("read secret %q: %w", name, err)
	}
	return row.Value, nil
}
