package impl

import (
	"context"

	"github.com/octostore/octostore/gen"
)

// RotateToken replaces the caller's token; the old one stops working at once.
func (s *Server) RotateToken(ctx context.Context, _ gen.RotateTokenRequestObject) (gen.RotateTokenResponseObject, error) {
	issued, err := s.auth.Rotate(ctx, principal(ctx))
	if err != nil {
		return nil, err
	}
	return gen.RotateToken200JSONResponse{AccountId: issued.AccountID, TokenId: issued.TokenID, Token: issued.Token}, nil
}
