package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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
		tok := toTokenRow(t)
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
	tok := toTokenRow(t)
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
	res, err := s.db.NewUpdate().Model((*tokenRow)(nil)).Set("hash = ?", hash).Where("id = ?", tokenID).Where("revoked_ms IS NULL").Exec(ctx)
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

// Account returns the account with that id.
func (s *Store) Account(ctx context.Context, id string) (auth.Account, error) {
	var row accountRow
	err := translate(s.db.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx))
	if errors.Is(err, ErrNotFound) {
		return auth.Account{}, fmt.Errorf("account: %w", auth.ErrAccountNotFound)
	}
	if err != nil {
		return auth.Account{}, err
	}
	return row.account(), nil
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

// Tokens lists every live (unrevoked) token.
func (s *Store) Tokens(ctx context.Context) ([]auth.TokenRecord, error) {
	var rows []tokenRow
	if err := s.db.NewSelect().Model(&rows).Where("revoked_ms IS NULL").Scan(ctx); err != nil {
		return nil, translate(err)
	}
	out := make([]auth.TokenRecord, len(rows))
	for i, r := range rows {
		out[i] = r.record()
	}
	return out, nil
}

// RevokeToken deletes a live token, and the dashboard sessions of a GitHub link that names
// it. A token a link names stays as a row marked revoked (the link refers to it) until
// the next sign-in replaces it (RelinkGitHub).
func (s *Store) RevokeToken(ctx context.Context, tokenID string, now time.Time) error {
	if err := s.Writable(); err != nil {
		return err
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		linked := tx.NewSelect().Model((*githubUserRow)(nil)).Column("github_id").Where("token_id = ?", tokenID)
		if _, err := tx.NewDelete().Model((*sessionRow)(nil)).Where("github_id IN (?)", linked).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*tokenSessionRow)(nil)).Where("token_id = ?", tokenID).Exec(ctx); err != nil {
			return err
		}
		n, err := tx.NewSelect().Model((*githubUserRow)(nil)).Where("token_id = ?", tokenID).Count(ctx)
		if err != nil {
			return err
		}
		var res sql.Result
		if n > 0 {
			res, err = tx.NewUpdate().Model((*tokenRow)(nil)).Set("revoked_ms = ?", now.UnixMilli()).
				Where("id = ?", tokenID).Where("revoked_ms IS NULL").Exec(ctx)
		} else {
			res, err = tx.NewDelete().Model((*tokenRow)(nil)).Where("id = ?", tokenID).Where("revoked_ms IS NULL").Exec(ctx)
		}
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return auth.ErrTokenNotFound
		}
		return nil
	})
	if errors.Is(err, auth.ErrTokenNotFound) {
		return fmt.Errorf("revoke token: %w", err)
	}
	return translate(err)
}

// DeleteAccount deletes an account, its dashboard sessions, GitHub link, tokens, lease
// rows, lock sessions and lock-delays in one transaction.
func (s *Store) DeleteAccount(ctx context.Context, accountID string) error {
	if err := s.Writable(); err != nil {
		return err
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		linked := tx.NewSelect().Model((*githubUserRow)(nil)).Column("github_id").Where("account_id = ?", accountID)
		if _, err := tx.NewDelete().Model((*sessionRow)(nil)).Where("github_id IN (?)", linked).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*tokenSessionRow)(nil)).Where("account_id = ?", accountID).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*githubUserRow)(nil)).Where("account_id = ?", accountID).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*tokenRow)(nil)).Where("account_id = ?", accountID).Exec(ctx); err != nil {
			return err
		}
		// Its leases, lock sessions and lock-delays: a rebuild from the database (a restart,
		// recovery after a storage fault) restores none of them.
		for _, table := range []string{"leases", "lock_sessions", "lock_delays"} {
			if _, err := tx.NewDelete().TableExpr(table).Where("account_id = ?", accountID).Exec(ctx); err != nil {
				return err
			}
		}
		res, err := tx.NewDelete().Model((*accountRow)(nil)).Where("id = ?", accountID).Exec(ctx)
		if err != nil {
			return err
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return auth.ErrAccountNotFound
		}
		return nil
	})
	if errors.Is(err, auth.ErrAccountNotFound) {
		return fmt.Errorf("delete account: %w", err)
	}
	return translate(err)
}

// SetTokensLastUsed records tokens' last-use times in one transaction; a token revoked
// meanwhile is skipped.
func (s *Store) SetTokensLastUsed(ctx context.Context, lastUsed map[string]int64) error {
	return translate(s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for id, ms := range lastUsed {
			if _, err := tx.NewUpdate().Model((*tokenRow)(nil)).Set("last_used_ms = ?", ms).Where("id = ?", id).Exec(ctx); err != nil {
				return err
			}
		}
		return nil
	}))
}
