package impl

import (
	"bytes"
	"context"
	"errors"
	"net/http"

	"github.com/octostore/octostore/gen"
	"github.com/octostore/octostore/impl/auth"
	"github.com/octostore/octostore/impl/dashboard"
	"github.com/octostore/octostore/impl/lease"
)

// authenticateSession checks the dashboard session cookie and, for requests that change
// something, that the browser sent it same-origin with the session's CSRF token.
func (s *Server) authenticateSession(r *http.Request) (auth.Session, error) {
	if !s.signin.configured() {
		return auth.Session{}, errSignInOff
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return auth.Session{}, errNoSession
	}
	sess, err := s.signin.sessions.Lookup(r.Context(), c.Value)
	if errors.Is(err, auth.ErrUnauthorized) {
		return auth.Session{}, errNoSession
	}
	if err != nil {
		return auth.Session{}, err
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if err := s.signin.crossOrigin.Check(r); err != nil {
			return auth.Session{}, errCrossSite
		}
		if !auth.CSRFMatches(sess, r.Header.Get("X-CSRF-Token")) {
			return auth.Session{}, errCrossSite
		}
	}
	return sess, nil
}

// session returns the dashboard session a request was authenticated with.
func session(ctx context.Context) auth.Session {
	if info := infoFrom(ctx); info != nil {
		return info.session
	}
	return auth.Session{}
}

// GetDashboard serves the dashboard page from the binary.
func (s *Server) GetDashboard(context.Context, gen.GetDashboardRequestObject) (gen.GetDashboardResponseObject, error) {
	if !s.signin.configured() {
		return nil, errSignInOff
	}
	page := dashboard.Page()
	return gen.GetDashboard200TexthtmlResponse{
		Body:          bytes.NewReader(page),
		ContentLength: int64(len(page)),
		Headers:       gen.GetDashboard200ResponseHeaders{ContentSecurityPolicy: dashboard.ContentSecurityPolicy()},
	}, nil
}

// GetDashboardSession tells the page who is signed in, and shows a new account's token
// once.
func (s *Server) GetDashboardSession(ctx context.Context, _ gen.GetDashboardSessionRequestObject) (gen.GetDashboardSessionResponseObject, error) {
	sess := session(ctx)
	out := gen.DashboardSession{
		Login:        sess.Link.Login,
		GithubUserId: sess.Link.GitHubID,
		AccountId:    sess.Link.AccountID,
		TokenId:      sess.Link.TokenID,
		AvatarUrl:    "/dashboard/avatar",
		CsrfToken:    sess.CSRF,
		ExpiresAt:    timestamp(sess.ExpiresAt),
	}
	if issued, ok := s.signin.sessions.TakeNewToken(sess); ok {
		out.NewToken = &gen.IssuedToken{AccountId: issued.AccountID, TokenId: issued.TokenID, Token: issued.Token}
	}
	return gen.GetDashboardSession200JSONResponse{Body: out, Headers: gen.GetDashboardSession200ResponseHeaders{CacheControl: "no-store"}}, nil
}

// GetDashboardAvatar relays the signed-in user's avatar from GitHub.
func (s *Server) GetDashboardAvatar(ctx context.Context, _ gen.GetDashboardAvatarRequestObject) (gen.GetDashboardAvatarResponseObject, error) {
	contentType, img, err := s.signin.github.Avatar(ctx, session(ctx).Link.AvatarURL)
	if err != nil {
		return nil, err
	}
	return gen.GetDashboardAvatar200ImageResponse{
		Body:          bytes.NewReader(img),
		ContentType:   contentType,
		ContentLength: int64(len(img)),
		Headers:       gen.GetDashboardAvatar200ResponseHeaders{CacheControl: "private, max-age=3600"},
	}, nil
}

// ListDashboardLocks reports the signed-in account's active locks.
func (s *Server) ListDashboardLocks(ctx context.Context, _ gen.ListDashboardLocksRequestObject) (gen.ListDashboardLocksResponseObject, error) {
	account := session(ctx).Link.AccountID
	var leases []lease.Lease
	err := s.read(ctx, func(e *lease.Engine) uint64 {
		var rev uint64
		leases, rev = e.List(account)
		return rev
	})
	if err != nil {
		return nil, err
	}
	out := gen.ListDashboardLocks200JSONResponse{Locks: make([]gen.LockStatus, len(leases))}
	for i, l := range leases {
		out.Locks[i] = lockStatus(l)
	}
	return out, nil
}

// RotateDashboardToken replaces the secret of the account's sign-in token; the old one
// stops working at once.
func (s *Server) RotateDashboardToken(ctx context.Context, _ gen.RotateDashboardTokenRequestObject) (gen.RotateDashboardTokenResponseObject, error) {
	issued, err := s.signin.sessions.Rotate(ctx, session(ctx))
	if err != nil {
		return nil, err
	}
	return gen.RotateDashboardToken200JSONResponse{
		Body:    gen.IssuedToken{AccountId: issued.AccountID, TokenId: issued.TokenID, Token: issued.Token},
		Headers: gen.RotateDashboardToken200ResponseHeaders{CacheControl: "no-store"},
	}, nil
}

// SignOut ends the dashboard session and clears its cookie.
func (s *Server) SignOut(ctx context.Context, _ gen.SignOutRequestObject) (gen.SignOutResponseObject, error) {
	if err := s.signin.sessions.SignOut(ctx, session(ctx)); err != nil {
		return nil, err
	}
	return gen.SignOut204Response{Headers: gen.SignOut204ResponseHeaders{SetCookie: cookie(sessionCookie, "", -1).String()}}, nil
}

// SignOutEverywhere ends every dashboard session of the signed-in account and clears this
// browser's cookie.
func (s *Server) SignOutEverywhere(ctx context.Context, _ gen.SignOutEverywhereRequestObject) (gen.SignOutEverywhereResponseObject, error) {
	if err := s.signin.sessions.SignOutEverywhere(ctx, session(ctx)); err != nil {
		return nil, err
	}
	return gen.SignOutEverywhere204Response{Headers: gen.SignOutEverywhere204ResponseHeaders{SetCookie: cookie(sessionCookie, "", -1).String()}}, nil
}
