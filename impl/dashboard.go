package impl

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/octostore/octostore/gen"
	"github.com/octostore/octostore/impl/auth"
	"github.com/octostore/octostore/impl/dashboard"
	"github.com/octostore/octostore/impl/lease"
)

// authenticateSession checks the dashboard session cookie and, for requests that change
// something, that the browser sent it same-origin with the session's CSRF token.
func (s *Server) authenticateSession(r *http.Request) (auth.Session, error) {
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
	method, avatar := gen.Github, "/dashboard/avatar"
	if sess.Link.GitHubID == 0 {
		method, avatar = gen.Token, ""
	}
	out := gen.DashboardSession{
		Login:        sess.Link.Login,
		GithubUserId: sess.Link.GitHubID,
		AccountId:    sess.Link.AccountID,
		TokenId:      sess.Link.TokenID,
		AvatarUrl:    avatar,
		CsrfToken:    sess.CSRF,
		ExpiresAt:    timestamp(sess.ExpiresAt),
		Method:       &method,
	}
	if issued, ok := s.signin.sessions.TakeNewToken(sess); ok {
		out.NewToken = &gen.IssuedToken{AccountId: issued.AccountID, TokenId: issued.TokenID, Token: issued.Token}
	}
	return gen.GetDashboardSession200JSONResponse{Body: out, Headers: gen.GetDashboardSession200ResponseHeaders{CacheControl: "no-store"}}, nil
}

// GetDashboardAvatar relays the signed-in user's avatar from GitHub.
func (s *Server) GetDashboardAvatar(ctx context.Context, _ gen.GetDashboardAvatarRequestObject) (gen.GetDashboardAvatarResponseObject, error) {
	if !s.signin.configured() || session(ctx).Link.GitHubID == 0 {
		return nil, errNoAvatar
	}
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

// GetDashboardMethods tells the page which ways of signing in this server offers.
func (s *Server) GetDashboardMethods(context.Context, gen.GetDashboardMethodsRequestObject) (gen.GetDashboardMethodsResponseObject, error) {
	return gen.GetDashboardMethods200JSONResponse{Github: s.signin.configured(), Token: true, Admin: s.signin.operators != nil}, nil
}

// SignInWithToken exchanges a pasted account token for a dashboard session cookie. The
// same-origin check ran before (sameOriginSignIn).
func (s *Server) SignInWithToken(ctx context.Context, req gen.SignInWithTokenRequestObject) (gen.SignInWithTokenResponseObject, error) {
	sid, sess, err := s.signin.sessions.SignInWithToken(ctx, req.Body.Token)
	if errors.Is(err, auth.ErrUnauthorized) {
		return nil, errWrongToken
	}
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "signed in with a token", "request_id", requestID(ctx), "account_id", sess.Link.AccountID, "token_id", sess.Link.TokenID)
	return gen.SignInWithToken204Response{Headers: gen.SignInWithToken204ResponseHeaders{
		SetCookie:    cookie(sessionCookie, sid, int(auth.SessionLifetime.Seconds())).String(),
		CacheControl: "no-store",
	}}, nil
}

// ReleaseDashboardLock releases a lock whose current holder is the session's token.
func (s *Server) ReleaseDashboardLock(ctx context.Context, req gen.ReleaseDashboardLockRequestObject) (gen.ReleaseDashboardLockResponseObject, error) {
	p := principal(ctx)
	var leaseID string
	err := s.read(ctx, func(e *lease.Engine) uint64 {
		leases, rev := e.List(p.AccountID)
		for _, l := range leases {
			if l.Name == req.Name && l.Holder.TokenID == p.TokenID {
				leaseID = l.ID
				break
			}
		}
		return rev
	})
	if err != nil {
		return nil, err
	}
	if leaseID == "" {
		return nil, lease.ErrNotCurrent
	}
	id, err := uuid.Parse(leaseID)
	if err != nil {
		return nil, lease.ErrNotCurrent
	}
	res, err := s.apply(ctx, lease.Release{Key: lease.Key{Account: p.AccountID, Name: req.Name}, LeaseID: leaseID})
	if err != nil {
		return nil, err
	}
	return gen.ReleaseDashboardLock200JSONResponse{Status: gen.Released, LeaseId: id, FencingToken: res.Lease.Token}, nil
}

// operatorCookieFor is the operator session's cookie: SameSite=Strict, since the
// operator view is never reached by a link from another site.
func operatorCookieFor(value string, maxAge int) *http.Cookie {
	c := cookie(operatorCookie, value, maxAge)
	c.SameSite = http.SameSiteStrictMode
	return c
}

// SignInAsOperator exchanges the pasted admin key for an operator session cookie.
func (s *Server) SignInAsOperator(ctx context.Context, req gen.SignInAsOperatorRequestObject) (gen.SignInAsOperatorResponseObject, error) {
	if s.signin.operators == nil {
		return nil, errAdminDisabled
	}
	if !auth.KeyMatches(req.Body.AdminKey, s.cfg.AdminKey) {
		if info := infoFrom(ctx); info != nil && info.request != nil {
			s.noteFailedAdminKey(info.request)
		}
		return nil, errAdminForbidden
	}
	sid, _ := s.signin.operators.Start()
	s.log.InfoContext(ctx, "operator signed in to the dashboard", "request_id", requestID(ctx))
	return gen.SignInAsOperator204Response{Headers: gen.SignInAsOperator204ResponseHeaders{
		SetCookie:    operatorCookieFor(sid, int(auth.OperatorSessionLifetime/time.Second)).String(),
		CacheControl: "no-store",
	}}, nil
}

// GetOperatorSession reports the operator session and its CSRF token.
func (s *Server) GetOperatorSession(ctx context.Context, _ gen.GetOperatorSessionRequestObject) (gen.GetOperatorSessionResponseObject, error) {
	op := operator(ctx)
	return gen.GetOperatorSession200JSONResponse{
		Body:    gen.OperatorSession{CsrfToken: op.CSRF, ExpiresAt: timestamp(op.ExpiresAt)},
		Headers: gen.GetOperatorSession200ResponseHeaders{CacheControl: "no-store"},
	}, nil
}

// SignOutOperator ends the operator session and clears its cookie.
func (s *Server) SignOutOperator(ctx context.Context, _ gen.SignOutOperatorRequestObject) (gen.SignOutOperatorResponseObject, error) {
	if info := infoFrom(ctx); info != nil {
		s.signin.operators.End(info.operatorID)
	}
	return gen.SignOutOperator204Response{Headers: gen.SignOutOperator204ResponseHeaders{SetCookie: operatorCookieFor("", -1).String()}}, nil
}

// authenticateOperator checks the operator session cookie and, for requests that change
// something, that the browser sent it same-origin with the session's CSRF token.
func (s *Server) authenticateOperator(r *http.Request) (string, auth.OperatorSession, error) {
	if s.signin.operators == nil {
		return "", auth.OperatorSession{}, errAdminDisabled
	}
	c, err := r.Cookie(operatorCookie)
	if err != nil {
		return "", auth.OperatorSession{}, errNoOperatorSession
	}
	op, err := s.signin.operators.Lookup(c.Value)
	if err != nil {
		return "", auth.OperatorSession{}, errNoOperatorSession
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if err := s.signin.crossOrigin.Check(r); err != nil {
			return "", auth.OperatorSession{}, errCrossSite
		}
		if !auth.KeyMatches(r.Header.Get("X-CSRF-Token"), op.CSRF) {
			return "", auth.OperatorSession{}, errCrossSite
		}
	}
	return c.Value, op, nil
}

// operator returns the operator session a request was authenticated with.
func operator(ctx context.Context) auth.OperatorSession {
	if info := infoFrom(ctx); info != nil {
		return info.operator
	}
	return auth.OperatorSession{}
}

// sameOriginSignIn refuses a cross-site POST to the sign-in routes before anything is
// read: otherwise another site could sign a visitor in to an account of its choosing.
func (s *Server) sameOriginSignIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/dashboard/sign-in" || r.URL.Path == "/dashboard/admin/sign-in" {
			if err := s.signin.crossOrigin.Check(r); err != nil {
				s.writeError(w, r, errCrossSite)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
