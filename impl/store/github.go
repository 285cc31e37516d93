package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/octostore/octostore/impl/auth"
)

var _ auth.SessionStore = (*Store)(nil)

type githubUserRow struct {
	bun.BaseModel `bun:"table:github_users"`

	GitHubID  int64  `bun:"github_id,pk"`
	AccountID string `bun:"account_id"`
	TokenID   string `bun:"token_id"`
	Login     string `bun:"login"`
	AvatarURL string `bun:"avatar_url"`
	CreatedMs int64  `bun:"created_ms"`
}

type sessionRow struct {
	bun.BaseModel `bun:"table:sessions"`

	IDHash     []byte `bun:"id_hash,pk"`
	GitHubID   int64  `bun:"github_id"`
	CreatedMs  int64  `bun:"created_ms"`
	ExpiresMs  int64  `bun:"expires_ms"`
	LastSeenMs int64  `bun:"last_seen_ms"`
}

func (r githubUserRow) link() auth.GitHubLink {
	return auth.GitHubLink{GitHubID: r.GitHubID, AccountID: r.AccountID, TokenID: r.TokenID, Login: r.Login, AvatarURL: r.AvatarURL}
}

// GitHubLink returns the account linked to a GitHub user.
func (s *Store) GitHubLink(ctx context.Context, githubID int64) (auth.GitHubLink, error) {
	var row githubUserRow
	err := translate(s.db.NewSelect().Model(&row).Where("github_id = ?", githubID).Scan(ctx))
	if errors.Is(err, ErrNotFound) {
		return auth.GitHubLink{}, auth.ErrNotLinked
	}
	if err != nil {
		return auth.GitHubLink{}, err
	}
	return row.link(), nil
}

// CreateGitHubAccount stores an account, its first token and its GitHub link in one
// transaction.
func (s *Store) CreateGitHubAccount(ctx context.Context, a auth.Account, t auth.TokenRecord, l auth.GitHubLink) error {
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		linked, err := tx.NewSelect().Model((*githubUserRow)(nil)).Where("github_id = ?", l.GitHubID).Exists(ctx)
		if err != nil {
			return err
		}
		if linked {
			return fmt.Errorf("github user %d: %w", l.GitHubID, auth.ErrAccountExists)
		}
		acc := accountRow{ID: a.ID, Name: a.Name, CreatedMs: a.CreatedAt.UnixMilli()}
		if _, err := tx.NewInsert().Model(&acc).Exec(ctx); err != nil {
			// The id is fresh and random, so a conflict is the name's.
			if errors.Is(translate(err), ErrConflict) {
				return fmt.Errorf("account name %q: %w", a.Name, auth.ErrNameTaken)
			}
			return err
		}
		tok := toTokenRow(t)
		if _, err := tx.NewInsert().Model(&tok).Exec(ctx); err != nil {
			return err
		}
		gh := githubUserRow{GitHubID: l.GitHubID, AccountID: l.AccountID, TokenID: l.TokenID, Login: l.Login, AvatarURL: l.AvatarURL, CreatedMs: a.CreatedAt.UnixMilli()}
		_, err = tx.NewInsert().Model(&gh).Exec(ctx)
		return err
	})
	if errors.Is(err, auth.ErrAccountExists) || errors.Is(err, auth.ErrNameTaken) {
		return err
	}
	if err = translate(err); errors.Is(err, ErrConflict) {
		return fmt.Errorf("create account for github user %d: %w", l.GitHubID, auth.ErrAccountExists)
	}
	return err
}

// UpdateGitHubProfile records a GitHub user's current login and avatar.
func (s *Store) UpdateGitHubProfile(ctx context.Context, githubID int64, login, avatarURL string) error {
	_, err := s.db.NewUpdate().Model((*githubUserRow)(nil)).
		Set("login = ?", login).Set("avatar_url = ?", avatarURL).
		Where("github_id = ?", githubID).Exec(ctx)
	return translate(err)
}

// CreateSession stores a dashboard session, deletes those expired at now or idle since
// idleSince, and then the oldest sessions of the same GitHub user beyond maxSessions.
func (s *Store) CreateSession(ctx context.Context, sess auth.Session, now, idleSince time.Time, maxSessions int) error {
	return translate(s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*sessionRow)(nil)).
			Where("expires_ms <= ? OR last_seen_ms <= ?", now.UnixMilli(), idleSince.UnixMilli()).Exec(ctx); err != nil {
			return err
		}
		row := sessionRow{IDHash: sess.Hash, GitHubID: sess.GitHubID, CreatedMs: sess.CreatedAt.UnixMilli(),
			ExpiresMs: sess.ExpiresAt.UnixMilli(), LastSeenMs: sess.LastSeen.UnixMilli()}
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			return err
		}
		keep := tx.NewSelect().Model((*sessionRow)(nil)).Column("id_hash").Where("github_id = ?", sess.GitHubID).
			OrderExpr("created_ms DESC, id_hash DESC").Limit(int64(maxSessions))
		_, err := tx.NewDelete().Model((*sessionRow)(nil)).Where("github_id = ?", sess.GitHubID).
			Where("id_hash NOT IN (?)", keep).Exec(ctx)
		return err
	}))
}

// TouchSession records a dashboard session's last use.
func (s *Store) TouchSession(ctx context.Context, hash []byte, at time.Time) error {
	return translate(s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewUpdate().Model((*sessionRow)(nil)).Set("last_seen_ms = ?", at.UnixMilli()).Where("id_hash = ?", hash).Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewUpdate().Model((*tokenSessionRow)(nil)).Set("last_seen_ms = ?", at.UnixMilli()).Where("id_hash = ?", hash).Exec(ctx)
		return err
	}))
}

// DeleteSessions removes every dashboard session of a GitHub user.
func (s *Store) DeleteSessions(ctx context.Context, githubID int64) error {
	_, err := s.db.NewDelete().Model((*sessionRow)(nil)).Where("github_id = ?", githubID).Exec(ctx)
	return translate(err)
}

// RelinkGitHub stores token t for a GitHub user's account and makes the link name it;
// the revoked token the link named before is deleted.
func (s *Store) RelinkGitHub(ctx context.Context, githubID int64, t auth.TokenRecord) error {
	if err := s.Writable(); err != nil {
		return err
	}
	return translate(s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var gh githubUserRow
		if err := tx.NewSelect().Model(&gh).Where("github_id = ?", githubID).Scan(ctx); err != nil {
			return err
		}
		tok := toTokenRow(t)
		if _, err := tx.NewInsert().Model(&tok).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model((*githubUserRow)(nil)).Set("token_id = ?", t.ID).Where("github_id = ?", githubID).Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewDelete().Model((*tokenRow)(nil)).Where("id = ?", gh.TokenID).Where("revoked_ms IS NOT NULL").Exec(ctx)
		return err
	}))
}

// Session returns a dashboard session by the hash of its id, with its GitHub link; a
// session of a pasted token (CreateTokenSession) has a link without a GitHub user.
func (s *Store) Session(ctx context.Context, hash []byte) (auth.Session, error) {
	var row sessionRow
	err := translate(s.db.NewSelect().Model(&row).Where("id_hash = ?", hash).Scan(ctx))
	if errors.Is(err, ErrNotFound) {
		return s.tokenSession(ctx, hash)
	}
	if err != nil {
		return auth.Session{}, err
	}
	var gh githubUserRow
	if err := translate(s.db.NewSelect().Model(&gh).Where("github_id = ?", row.GitHubID).Scan(ctx)); err != nil {
		return auth.Session{}, fmt.Errorf("session's github user: %w", err)
	}
	return auth.Session{
		Hash:      row.IDHash,
		GitHubID:  row.GitHubID,
		CreatedAt: time.UnixMilli(row.CreatedMs).UTC(),
		ExpiresAt: time.UnixMilli(row.ExpiresMs).UTC(),
		LastSeen:  time.UnixMilli(row.LastSeenMs).UTC(),
		Link:      gh.link(),
	}, nil
}

// DeleteSession removes a dashboard session.
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	return translate(s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*sessionRow)(nil)).Where("id_hash = ?", hash).Exec(ctx); err != nil {
			return err
		}
		_, err := tx.NewDelete().Model((*tokenSessionRow)(nil)).Where("id_hash = ?", hash).Exec(ctx)
		return err
	}))
}

// GitHubLogins returns the GitHub login of each of the accounts that GitHub sign-in
// created, by account id; the others are absent.
func (s *Store) GitHubLogins(ctx context.Context, accountIDs []string) (map[string]string, error) {
	out := make(map[string]string)
	const chunk = 500 // below SQLite's limit on bound parameters
	for len(accountIDs) > 0 {
		n := min(chunk, len(accountIDs))
		var rows []githubUserRow
		err := s.db.NewSelect().Model(&rows).Column("account_id", "login").Where("account_id IN (?)", bun.In(accountIDs[:n])).Scan(ctx)
		if err != nil {
			return nil, translate(err)
		}
		for _, r := range rows {
			out[r.AccountID] = r.Login
		}
		accountIDs = accountIDs[n:]
	}
	return out, nil
}
