package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/octostore/octostore/impl/auth"
)

var _ auth.Store = (*Store)(nil)

// CreateAccount stores an account and its first token in one transaction.
func (s *Store) CreateAccount(ctx context.Context, a auth.Account, t auth.TokenRecord) error {
	if err := s.Writable(); err != nil {
		return err
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		acc := accountRow{ID: a.ID, Name: a.Name, CreatedMs: a.CreatedAt.UnixMilli()}
		if _, err := tx.NewInsert().Model(&acc).Exec(ctx); err != nil {
			return err
		}
		tok := tokenRow{ID: t.ID, AccountID: t.AccountID, Hash: t.Hash, CreatedMs: t.CreatedAt.UnixMilli()}
		_, err := tx.NewInsert().Model(&tok).Exec(ctx)
		return err
	})
	if err = translate(err); errors.Is(err, ErrConflict) {
		return fmt.Errorf("create account %q: %w", a.Name, auth.ErrAccountExists)
	}
	return err
}

// AddToken stores another token of an existing account.
func (s *Store) AddToken(ctx context.Context, t auth.TokenRecord) error {
	if err := s.Writable(); err != nil {
		return err
	}
	tok := tokenRow{ID: t.ID, AccountID: t.AccountID, Hash: t.Hash, CreatedMs: t.CreatedAt.UnixMilli()}
	_, err := s.db.NewInsert().Model(&tok).Exec(ctx)
	if err = translate(err); errors.Is(err, ErrNotFound) {
		return fmt.Errorf("add token: %w", auth.ErrAccountNotFound)
	}
	return err
}

// SetTokenHash replaces a token's hash (rotation).
func (s *Store) SetTokenHash(ctx context.Context, tokenID string, hash []byte) error {
	if err := s.Writable(); err != nil {
		return err
	}
	res, err := s.db.NewUpdate().Model((*tokenRow)(nil)).Set("hash = ?", hash).Where("id = ?", tokenID).Exec(ctx)
	if err != nil {
		return translate(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("rotate token: %w", auth.ErrUnauthorized)
	}
	return nil
}

// Accounts lists every account, oldest first.
func (s *Store) Accounts(ctx context.Context) ([]auth.Account, error) {
	var rows []accountRow
	if err := s.db.NewSelect().Model(&rows).Order("created_ms", "id").Scan(ctx); err != nil {
		return nil, translate(err)
	}
	out := make([]auth.Account, len(rows))
	for i, r := range rows {
		out[i] = r.account()
	}
	return out, nil
}

// AccountsPage lists at most limit accounts that sort after (afterMs, afterID) by
// creation time and then id, oldest first, and whether more follow. An index on
// (created_ms, id) serves it without scanning the table.
func (s *Store) AccountsPage(ctx context.Context, afterMs int64, afterID string, limit int) ([]auth.Account, bool, error) {
	var rows []accountRow
	err := s.db.NewSelect().Model(&rows).
		Where("created_ms > ? OR (created_ms = ? AND id > ?)", afterMs, afterMs, afterID).
		Order("created_ms", "id").Limit(int64(limit) + 1).Scan(ctx)
	if err != nil {
		return nil, false, translate(err)
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	out := make([]auth.Account, len(rows))
	for i, r := range rows {
		out[i] = r.account()
	}
	return out, more, nil
}

// Tokens lists every stored token hash.
func (s *Store) Tokens(ctx context.Context) ([]auth.TokenRecord, error) {
	var rows []tokenRow
	if err := s.db.NewSelect().Model(&rows).Scan(ctx); err != nil {
		return nil, translate(err)
	}
	out := make([]auth.TokenRecord, len(rows))
	for i, r := range rows {
		out[i] = r.record()
	}
	return out, nil
}
