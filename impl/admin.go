package impl

import (
	"context"
	"fmt"
	"os"

	"github.com/octostore/octostore/gen"
	"github.com/octostore/octostore/impl/auth"
	"github.com/octostore/octostore/impl/lease"
)

// CreateAccount creates an account and its first token.
func (s *Server) CreateAccount(ctx context.Context, req gen.CreateAccountRequestObject) (gen.CreateAccountResponseObject, error) {
	acc, issued, err := s.auth.CreateAccount(ctx, req.Body.Name)
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
				GithubLogin: logins[a.ID],
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

// CreateToken issues another token for an account.
func (s *Server) CreateToken(ctx context.Context, req gen.CreateTokenRequestObject) (gen.CreateTokenResponseObject, error) {
	issued, err := s.auth.IssueToken(ctx, req.AccountId)
	if err != nil {
		return nil, err
	}
	s.log.Info("token issued", "account_id", issued.AccountID, "token_id", issued.TokenID)
	return gen.CreateToken201JSONResponse{AccountId: issued.AccountID, TokenId: issued.TokenID, Token: issued.Token}, nil
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
	if !s.auth.HasAccount(req.AccountId) {
		return nil, auth.ErrAccountNotFound
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
