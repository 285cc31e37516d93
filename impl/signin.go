package impl

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/octostore/octostore/gen"
	"github.com/octostore/octostore/impl/auth"
	"github.com/octostore/octostore/impl/store"
)

// Cookie names. The __Host- prefix makes the browser insist on Secure, Path=/ and no
// Domain, so no other host or path can plant or read them. Browsers keep Secure cookies
// over plain http only on loopback hosts, which is why auth.CheckRedirectURL wants https
// elsewhere.
const (
	stateCookie    = "__Host-octostore_oauth"
	sessionCookie  = "__Host-octostore_session"
	operatorCookie = "__Host-octostore_admin"
)

// signIn is the dashboard's sign-in: by pasted token always, with GitHub when
// configured, and the operator view's sessions when the admin key is set.
type signIn struct {
	github      *auth.GitHub // nil: GitHub sign-in not configured
	sessions    *auth.Sessions
	operators   *auth.OperatorSessions // nil: no ADMIN_KEY
	crossOrigin *http.CrossOriginProtection
}

// configured reports whether GitHub sign-in is on.
func (si signIn) configured() bool { return si.github != nil }

// newSignIn wires the dashboard's sessions, and GitHub sign-in when cfg names a client id.
func newSignIn(ctx context.Context, cfg auth.GitHubConfig, svc *auth.Service, st *store.Store, sessStore auth.SessionStore, clock Clock, sessions auth.SessionConfig, adminKey string) (signIn, error) {
	now := func() time.Time { return clock.Now().Wall }
	si := signIn{
		sessions:    auth.NewSessions(svc, sessStore, now, sessions),
		crossOrigin: http.NewCrossOriginProtection(),
	}
	if adminKey != "" {
		si.operators = auth.NewOperatorSessions(now)
	}
	if cfg.ClientID == "" {
		return si, nil
	}
	if cfg.StateKey == nil {
		key, err := st.Secret(ctx, "signin_state", auth.StateKeySize)
		if err != nil {
			return signIn{}, fmt.Errorf("github sign-in state key: %w", err)
		}
		cfg.StateKey = key
	}
	gh, err := auth.NewGitHub(cfg)
	if err != nil {
		return signIn{}, err
	}
	// The public origin (behind a proxy, Host may differ) is trusted besides Host itself.
	u, _ := url.Parse(cfg.RedirectURL)
	if err := si.crossOrigin.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
		return signIn{}, fmt.Errorf("github redirect uri: %w", err)
	}
	si.github = gh
	return si, nil
}

func cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode}
}

// StartGitHubSignIn sends the browser to GitHub with a fresh state and PKCE challenge.
func (s *Server) StartGitHubSignIn(context.Context, gen.StartGitHubSignInRequestObject) (gen.StartGitHubSignInResponseObject, error) {
	if !s.signin.configured() {
		return nil, errSignInOff
	}
	to, sealed := s.signin.github.Begin(s.cfg.Clock.Now().Wall)
	return gen.StartGitHubSignIn302Response{Headers: gen.StartGitHubSignIn302ResponseHeaders{
		Location:  to,
		SetCookie: cookie(stateCookie, sealed, int(auth.StateLifetime.Seconds())).String(),
	}}, nil
}

// FinishGitHubSignIn checks the state, exchanges the code, signs the user in to their
// account (created on their first visit) and sends the browser to the dashboard.
func (s *Server) FinishGitHubSignIn(ctx context.Context, req gen.FinishGitHubSignInRequestObject) (gen.FinishGitHubSignInResponseObject, error) {
	if !s.signin.configured() {
		return nil, errSignInOff
	}
	p, now := req.Params, s.cfg.Clock.Now().Wall
	state, browser := deref(p.State), deref(p.StateCookie)
	var (
		user auth.GitHubUser
		err  error
	)
	if p.Error != nil {
		err = s.signin.github.Deny(now, state, browser)
	} else {
		user, err = s.signin.github.Finish(ctx, now, state, browser, deref(p.Code))
	}
	if info := infoFrom(ctx); info != nil && !errors.Is(err, auth.ErrStateInvalid) {
		info.stateUsed = true // clearStateCookie clears the cookie
	}
	if err != nil {
		return nil, err
	}
	sid, sess, err := s.signin.sessions.SignIn(ctx, user)
	if err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "signed in with github", "request_id", requestID(ctx), "github_id", user.ID, "account_id", sess.Link.AccountID)
	return signedIn{session: cookie(sessionCookie, sid, int(auth.SessionLifetime.Seconds()))}, nil
}

// clearStateCookie clears the state cookie in the callback's answer once the callback
// has used the state, whatever the outcome after that (GitHub declined, refused the code,
// was down): a state is used once. A callback refused before that (a state that is not
// this browser's) leaves the cookie alone, so a forged link cannot cancel the browser's
// real sign-in.
func clearStateCookie(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != auth.CallbackPath {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&stateClearingWriter{ResponseWriter: w, info: infoFrom(r.Context())}, r)
	})
}

type stateClearingWriter struct {
	http.ResponseWriter
	info  *requestInfo
	wrote bool
}

func (w *stateClearingWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		if w.info != nil && w.info.stateUsed {
			w.Header().Add("Set-Cookie", cookie(stateCookie, "", -1).String())
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *stateClearingWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *stateClearingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// signedIn is the callback's success: the dashboard's session cookie, the state cookie
// cleared, and off to /dashboard. (The generated response sets one cookie only.)
type signedIn struct{ session *http.Cookie }

func (r signedIn) VisitFinishGitHubSignInResponse(w http.ResponseWriter) error {
	h := w.Header()
	h.Add("Set-Cookie", r.session.String()) // clearStateCookie adds the state's clearing
	h.Set("Cache-Control", "no-store")
	h.Set("Location", "/dashboard")
	w.WriteHeader(http.StatusFound)
	return nil
}
