package impl

import (
	"context"
	"errors"

	"github.com/octostore/octostore/gen"
	"github.com/octostore/octostore/impl/auth"
)

// RotateToken replaces the caller's token; the old one stops working at once.
func (s *Server) RotateToken(ctx context.Context, _ gen.RotateTokenRequestObject) (gen.RotateTokenResponseObject, error) {
	issued, err := s.auth.Rotate(ctx, principal(ctx))
	if err != nil {
		return nil, err
	}
	return gen.RotateToken200JSONResponse{AccountId: issued.AccountID, TokenId: issued.TokenID, Token: issued.Token}, nil
}

// RevokeToken revokes the caller's own token for good.
func (s *Server) RevokeToken(ctx context.Context, _ gen.RevokeTokenRequestObject) (gen.RevokeTokenResponseObject, error) {
	p := principal(ctx)
	if err := s.revoke(ctx, p.AccountID, p.TokenID); err != nil {
		if errors.Is(err, auth.ErrTokenNotFound) {
			return nil, auth.ErrUnauthorized // revoked concurrently
		}
		return nil, err
	}
	s.log.InfoContext(ctx, "token revoked", "account_id", p.AccountID, "token_id", p.TokenID, "by", "itself")
	return gen.RevokeToken204Response{}, nil
}
