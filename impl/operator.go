package impl

import (
	"context"

	"github.com/octostore/octostore/gen"
)

// The operator view's routes are the admin API's, authenticated by the operator session
// (and, for changes, its CSRF token) instead of X-Admin-Key. Each delegates to the admin
// handler, so the two cannot drift apart.

// ListOperatorAccounts is ListAccounts for the operator view.
func (s *Server) ListOperatorAccounts(ctx context.Context, req gen.ListOperatorAccountsRequestObject) (gen.ListOperatorAccountsResponseObject, error) {
	out, err := s.ListAccounts(ctx, gen.ListAccountsRequestObject{Params: gen.ListAccountsParams{Cursor: req.Params.Cursor, Limit: req.Params.Limit}})
	if err != nil {
		return nil, err
	}
	return gen.ListOperatorAccounts200JSONResponse(out.(gen.ListAccounts200JSONResponse)), nil
}

// DeleteOperatorAccount is DeleteAccount for the operator view.
func (s *Server) DeleteOperatorAccount(ctx context.Context, req gen.DeleteOperatorAccountRequestObject) (gen.DeleteOperatorAccountResponseObject, error) {
	if _, err := s.DeleteAccount(ctx, gen.DeleteAccountRequestObject{AccountId: req.AccountId}); err != nil {
		return nil, err
	}
	return gen.DeleteOperatorAccount204Response{}, nil
}

// ListOperatorTokens is ListTokens for the operator view.
func (s *Server) ListOperatorTokens(ctx context.Context, req gen.ListOperatorTokensRequestObject) (gen.ListOperatorTokensResponseObject, error) {
	out, err := s.ListTokens(ctx, gen.ListTokensRequestObject{AccountId: req.AccountId})
	if err != nil {
		return nil, err
	}
	return gen.ListOperatorTokens200JSONResponse(out.(gen.ListTokens200JSONResponse)), nil
}

// RevokeOperatorToken is DeleteToken for the operator view.
func (s *Server) RevokeOperatorToken(ctx context.Context, req gen.RevokeOperatorTokenRequestObject) (gen.RevokeOperatorTokenResponseObject, error) {
	if _, err := s.DeleteToken(ctx, gen.DeleteTokenRequestObject{AccountId: req.AccountId, TokenId: req.TokenId}); err != nil {
		return nil, err
	}
	return gen.RevokeOperatorToken204Response{}, nil
}

// ListOperatorAccountLocks is ListAccountLocks for the operator view.
func (s *Server) ListOperatorAccountLocks(ctx context.Context, req gen.ListOperatorAccountLocksRequestObject) (gen.ListOperatorAccountLocksResponseObject, error) {
	out, err := s.ListAccountLocks(ctx, gen.ListAccountLocksRequestObject{AccountId: req.AccountId,
		Params: gen.ListAccountLocksParams{Cursor: req.Params.Cursor, Limit: req.Params.Limit}})
	if err != nil {
		return nil, err
	}
	return gen.ListOperatorAccountLocks200JSONResponse(out.(gen.ListAccountLocks200JSONResponse)), nil
}

// GetOperatorCluster is GetCluster for the operator view.
func (s *Server) GetOperatorCluster(ctx context.Context, _ gen.GetOperatorClusterRequestObject) (gen.GetOperatorClusterResponseObject, error) {
	info, err := s.clusterInfo(ctx)
	if err != nil {
		return nil, err
	}
	return gen.GetOperatorCluster200JSONResponse(info), nil
}
