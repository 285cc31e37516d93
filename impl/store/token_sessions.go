package store

import (
	"context"
	"errors"
	"time"

	"github.com/uptrace/bun"

	"github.com/octostore/octostore/impl/auth"
)

// tokenSessionRow is a dashboard session started by pasting an account token.
type tokenSessionRow struct {
	bun.BaseModel `bun:"table:token_sessions"`

	IDHash     []byte `bun:"id_hash,pk"`
	AccountID  string `bun:"account_id"`
	TokenID    string `bun:"token_id"`
	CreatedMs  int64  `bun:"created_ms"`
	ExpiresMs  int64  `bun:"expires_ms"`
	LastSeenMs int64  `bun:"last_seen_ms"`
}

// CreateTokenSession stores a dashboard session of a pasted token, deletes the token
// sessions expired at now or idle since idleSince, and then the oldest of the same
// account beyond maxSessions.
func (s *Store) CreateTokenSession(ctx context.Context, sess auth.Session, now, idleSince time.Time, maxSessions int) error {
	if err := s.Writable(); err != nil {
		return err
	}
	return translate(s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*tokenSessionRow)(nil)).
			Where("expires_ms <= ? OR last_seen_ms <= ?", now.UnixMilli(), idleSince.UnixMilli()).Exec(ctx); err != nil {
			return err
		}
		row := tokenSessionRow{IDHash: sess.Hash, AccountID: sess.Link.AccountID, TokenID: sess.Link.TokenID,
			CreatedMs: sess.CreatedAt.UnixMilli(), ExpiresMs: sess.ExpiresAt.UnixMilli(), LastSeenMs: sess.LastSeen.UnixMilli()}
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			return err
		}
		keep := tx.NewSelect().Model((*tokenSessionRow)(nil)).Column("id_hash").Where("account_id = ?", row.AccountID).
			OrderExpr("created_ms DESC, id_hash DESC").Limit(int64(maxSessions))
		_, err := tx.NewDelete().Model((*tokenSessionRow)(nil)).Where("account_id = ?", row.AccountID).
			Where("id_hash NOT IN (?)", keep).Exec(ctx)
		return err
	}))
}

// tokenSession returns the token session with that hash, or auth.ErrUnauthorized.
func (s *Store) tokenSession(ctx context.Context, hash []byte) (auth.Session, error) {
	var row tokenSessionRow
	err := translate(s.db.NewSelect().Model(&row).Where("id_hash = ?", hash).Scan(ctx))
	if errors.Is(err, ErrNotFound) {
		return auth.Session{}, auth.ErrUnauthorized
	}
	if err != nil {
		return auth.Session{}, err
	}
	return auth.Session{
		Hash:      row.IDHash,
		CreatedAt: time.UnixMilli(row.CreatedMs).UTC(),
		ExpiresAt: time.UnixMilli(row.ExpiresMs).UTC(),
		LastSeen:  time.UnixMilli(row.LastSeenMs).UTC(),
		Link:      auth.GitHubLink{AccountID: row.AccountID, TokenID: row.TokenID},
	}, nil
}

// DeleteAccountSessions removes every dashboard session of an account: its GitHub
// user's and its pasted tokens'.
func (s *Store) DeleteAccountSessions(ctx context.Context, accountID string) error {
	return translate(s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		linked := tx.NewSelect().Model((*githubUserRow)(nil)).Column("github_id").Where("account_id = ?", accountID)
		if _, err := tx.NewDelete().Model((*sessionRow)(nil)).Where("github_id IN (?)", linked).Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewDelete().Model((*tokenSessionRow)(nil)).Where("account_id = ?", accountID).Exec(ctx)
		return err
	}))
}
