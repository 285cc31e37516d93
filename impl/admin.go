package impl

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/oapi-codegen/nullable"

	"github.com/octostore/octostore/gen"
	"github.com/octostore/octostore/impl/auth"
	"github.com/octostore/octostore/impl/lease"
)

// CreateAccount creates an account and its first token.
func (s *Server) CreateAccount(ctx context.Context, req gen.CreateAccountRequestObject) (gen.CreateAccountResponseObject, error) {
	acc, issued, err := s.auth.CreateAccount(ctx, req.Body.Name, deref(req.Body.TokenName))
	if err != nil {
		return nil, err
	}
	s.log.Info("account created", "account_id", acc.ID, "name", acc.Name)
	return gen.CreateAccount201JSONResponse{AccountId: acc.ID, Name: acc.Name, TokenId: issued.TokenID, Token: issued.Token}, nil
}

// ListAccounts lists a page of accounts, oldest first, with their numbers of active
// locks.
func (s *Server) ListAccounts(ctx context.Context, req gen.ListAccountsRequestObject) (gen.ListAccountsResponseObject, error) {
	pg, err := openPage(req.Params.Cursor, req.Params.Limit, listAccounts, "")
	if err != nil {
		return nil, err
	}
	accounts, more, err := s.store.AccountsPage(ctx, pg.after.Ms, pg.after.ID, pg.limit)
	if err != nil {
		return nil, err
	}
	logins, err := s.githubLogins(ctx, accounts)
	if err != nil {
		return nil, err
	}
	out := gen.ListAccounts200JSONResponse{Accounts: make([]gen.Account, len(accounts))}
	err = s.read(ctx, func(e *lease.Engine) uint64 {
		for i, a := range accounts {
			out.Accounts[i] = gen.Account{
				AccountId:   a.ID,
				Name:        a.Name,
				CreatedAt:   timestamp(a.CreatedAt),
				ActiveLocks: int32(e.Count(a.ID)),
				GithubLogin: orNull(logins[a.ID]),
			}
		}
		return e.Rev()
	})
	if err != nil {
		return nil, err
	}
	if more {
		last := accounts[len(accounts)-1]
		out.NextCursor = encodeCursor(cursor{List: listAccounts, Ms: last.CreatedAt.UnixMilli(), ID: last.ID})
	}
	return out, nil
}

// CreateToken issues another token for an account, labelled when the body names it.
func (s *Server) CreateToken(ctx context.Context, req gen.CreateTokenRequestObject) (gen.CreateTokenResponseObject, error) {
	var name string
	if req.Body != nil {
		name = deref(req.Body.Name)
	}
	issued, err := s.auth.IssueToken(ctx, req.AccountId, name)
	if err != nil {
		return nil, err
	}
	s.log.Info("token issued", "account_id", issued.AccountID, "token_id", issued.TokenID)
	return gen.CreateToken201JSONResponse{AccountId: issued.AccountID, TokenId: issued.TokenID, Token: issued.Token}, nil
}

// ListTokens lists an account's live tokens, never their secrets.
func (s *Server) ListTokens(ctx context.Context, req gen.ListTokensRequestObject) (gen.ListTokensResponseObject, error) {
	tokens, err := s.auth.Tokens(ctx, req.AccountId)
	if err != nil {
		return nil, err
	}
	out := gen.ListTokens200JSONResponse{Tokens: make([]gen.TokenInfo, len(tokens))}
	for i, t := range tokens {
		out.Tokens[i] = gen.TokenInfo{TokenId: t.ID, CreatedAt: timestamp(t.CreatedAt), Name: nullable.NewNullNullable[string](), LastUsedAt: nullable.NewNullNullable[time.Time]()}
		if t.Name != "" {
			out.Tokens[i].Name.Set(t.Name)
		}
		if !t.LastUsed.IsZero() {
			out.Tokens[i].LastUsedAt.Set(timestamp(t.LastUsed))
		}
	}
	return out, nil
}

// DeleteToken revokes one token of an account at once.
func (s *Server) DeleteToken(ctx context.Context, req gen.DeleteTokenRequestObject) (gen.DeleteTokenResponseObject, error) {
	if err := s.revoke(ctx, req.AccountId, req.TokenId); err != nil {
		return nil, err
	}
	s.log.Info("token revoked", "account_id", req.AccountId, "token_id", req.TokenId, "by", "admin")
	return gen.DeleteToken204Response{}, nil
}

// DeleteAccount deletes an account: its tokens die, its locks are released through the
// engine and its waiting requests are answered 401.
func (s *Server) DeleteAccount(ctx context.Context, req gen.DeleteAccountRequestObject) (gen.DeleteAccountResponseObject, error) {
	if err := s.auth.DeleteAccount(ctx, req.AccountId); err != nil {
		return nil, err
	}
	// The account's lease rows went with it; the engine now ends its live leases and
	// waiters as releases, so watchers and the commit path see them.
	s.mu.Lock()
	res, err := s.applyLocked(lease.DropAccount{Account: req.AccountId})
	s.announceRevocationLocked()
	s.mu.Unlock()
	if err == nil {
		err = s.commits.WaitDurable(ctx, res.Rev)
	}
	if err != nil {
		// The rows are gone from the database already, so a rebuild after the storage
		// recovers restores none of these leases; the answer stays 204.
		s.log.Warn("release of a deleted account's locks not committed", "account_id", req.AccountId, "err", err)
	}
	s.log.Info("account deleted", "account_id", req.AccountId, "locks_released", countKind(res.Changes, lease.DeleteLease))
	return gen.DeleteAccount204Response{}, nil
}

func countKind(changes []lease.Change, kind lease.ChangeKind) int {
	n := 0
	for _, c := range changes {
		if c.Kind == kind {
			n++
		}
	}
	return n
}

// revoke revokes a token and wakes the waiting requests so that its own answer 401.
func (s *Server) revoke(ctx context.Context, accountID, tokenID string) error {
	if err := s.auth.Revoke(ctx, accountID, tokenID); err != nil {
		return err
	}
	s.mu.Lock()
	s.refuseWaitersLocked(tokenID)
	s.announceRevocationLocked()
	s.mu.Unlock()
	return nil
}

// GetBackup streams a consistent copy of the database, taken while the server runs. The
// copy is a temporary file, unlinked as soon as it is open: it is gone when the response
// ends, whatever happens to the connection.
func (s *Server) GetBackup(ctx context.Context, _ gen.GetBackupRequestObject) (gen.GetBackupResponseObject, error) {
	path, err := s.store.Backup(ctx, os.TempDir())
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	os.Remove(path)
	if err != nil {
		return nil, fmt.Errorf("open backup: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open backup: %w", err)
	}
	name := "octostore-" + s.cfg.Clock.Now().Wall.UTC().Format("20060102T150405Z") + ".db"
	s.log.Info("backup taken", "bytes", fi.Size())
	return gen.GetBackup200ApplicationoctetStreamResponse{
		Body:          f,
		ContentLength: fi.Size(),
		Headers:       gen.GetBackup200ResponseHeaders{ContentDisposition: `attachment; filename="` + name + `"`},
	}, nil
}

// githubLogins returns the GitHub login of each account GitHub sign-in created, by
// account id, so an operator can tell accounts apart.
func (s *Server) githubLogins(ctx context.Context, accounts []auth.Account) (map[string]*string, error) {
	ids := make([]string, len(accounts))
	for i, a := range accounts {
		ids[i] = a.ID
	}
	logins, err := s.store.GitHubLogins(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*string, len(logins))
	for id, login := range logins {
		out[id] = &login
	}
	return out, nil
}

// ForceRelease is the operator's release of every current lease of one lock of an
// account, and of its lock-delay: holders' renewals get lease_not_current and the next
// waiters are granted the lock. Every call leaves an audit line (no lease id in it).
func (s *Server) ForceRelease(ctx context.Context, req gen.ForceReleaseRequestObject) (gen.ForceReleaseResponseObject, error) {
	if _, err := s.store.Account(ctx, req.AccountId); err != nil {
		return nil, err
	}
	res, err := s.apply(ctx, lease.ForceRelease{Key: lease.Key{Account: req.AccountId, Name: req.Name}})
	if err != nil {
		return nil, err
	}
	tokens := make([]int64, len(res.Leases))
	for i, l := range res.Leases {
		tokens[i] = l.Token
	}
	s.log.Warn("lock force-released", "who", "admin key", "request_id", requestID(ctx),
		"account_id", req.AccountId, "lock", req.Name, "fencing_tokens", tokens, "at", timestamp(s.cfg.Clock.Now().Wall))
	return gen.ForceRelease200JSONResponse{Name: req.Name, FencingTokens: tokens}, nil
}

// ListAccountLocks lists a page of one account's active locks, by name.
func (s *Server) ListAccountLocks(ctx context.Context, req gen.ListAccountLocksRequestObject) (gen.ListAccountLocksResponseObject, error) {
	if _, err := s.auth.Tokens(ctx, req.AccountId); err != nil {
		return nil, err // account_not_found
	}
	pg, err := openPage(req.Params.Cursor, req.Params.Limit, listLocks, req.AccountId)
	if err != nil {
		return nil, err
	}
	var leases []lease.Lease
	var more bool
	err = s.read(ctx, func(e *lease.Engine) uint64 {
		var rev uint64
		leases, more, rev = e.ListPage(req.AccountId, pg.after.Name, pg.limit)
		return rev
	})
	if err != nil {
		return nil, err
	}
	out := gen.ListAccountLocks200JSONResponse{Locks: make([]gen.LockStatus, len(leases))}
	for i, l := range leases {
		out.Locks[i] = lockStatus(l)
	}
	if more {
		out.NextCursor = encodeCursor(cursor{List: listLocks, Scope: scopeOf(req.AccountId), Name: leases[len(leases)-1].Name})
	}
	return out, nil
}
