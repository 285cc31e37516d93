package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Sign-in errors. Each tells the user something different, so each is its own sentinel.
var (
	// ErrStateInvalid means the callback's state is missing, unknown, expired, used
	// already, or not the one this browser's cookie holds.
	ErrStateInvalid = errors.New("sign-in state is missing, unknown, expired, used or not this browser's")
	// ErrSignInDenied means GitHub sent the user back with an error, usually because they
	// declined.
	ErrSignInDenied = errors.New("github sign-in was declined")
	// ErrCodeRejected means GitHub refused to exchange the code (wrong, used or expired
	// code, or a PKCE verifier that does not match).
	ErrCodeRejected = errors.New("github refused the authorization code")
	// ErrGitHubUnavailable means GitHub could not be reached or answered with something
	// other than what its API documents.
	ErrGitHubUnavailable = errors.New("github is unavailable")
	// ErrNameTaken means another account (one an admin named, say) has the name a new
	// GitHub account would have had. Sign-in then picks a name nobody can predict.
	ErrNameTaken = errors.New("account name taken")
)

const (
	// StateLifetime is how long a sign-in started at /auth/github may take to come back.
	StateLifetime = 10 * time.Minute
	// stateClockSkew is how far in the future a state's issue time may lie (a wall clock
	// stepped back, or another node's clock a little ahead).
	stateClockSkew = time.Minute
	// maxGitHubResponse bounds what is read from GitHub's API.
	maxGitHubResponse = 1 << 20
	// MaxAvatarBytes bounds an avatar image; a larger one is refused.
	MaxAvatarBytes = 1 << 20
	// DefaultAvatarTimeout bounds fetching an avatar, body included.
	DefaultAvatarTimeout = 5 * time.Second
	// CallbackPath is the only path GitHub may send the browser back to.
	CallbackPath = "/auth/github/callback"
)

// GitHubConfig configures sign-in with GitHub (or GitHub Enterprise Server).
type GitHubConfig struct {
	ClientID     string
	ClientSecret string
	// RedirectURL is the OAuth app's exact callback URL, ending in /auth/github/callback.
	// It must be https, or http on a loopback host (browsers keep Secure cookies there).
	RedirectURL string
	// BaseURL holds the OAuth pages under /login/oauth/ (default https://github.com).
	BaseURL string
	// APIURL is the REST API root that serves /user (default https://api.github.com).
	APIURL string
	// AvatarURL is where avatar images may be fetched from: an https URL (http only on a
	// loopback host) whose scheme, host and path prefix every avatar URL must share
	// (default https://avatars.githubusercontent.com/).
	AvatarURL string
	// AvatarTimeout bounds fetching one avatar (default DefaultAvatarTimeout).
	AvatarTimeout time.Duration
	// HTTPClient talks to GitHub (default: a client with a 10 s timeout). Avatars are
	// fetched with its transport but never follow redirects.
	HTTPClient *http.Client
	// StateKey seals sign-ins in flight into the browser's state cookie (StateKeySize
	// random bytes; the server keeps it in its database).
	StateKey []byte
}

// GitHubUser is what OctoStore reads of a GitHub user. ID is the key: logins can be
// renamed and then taken by someone else.
type GitHubUser struct {
	ID        int64
	Login     string
	AvatarURL string
}

// GitHub runs GitHub's OAuth web flow with PKCE. The state and verifier of a sign-in in
// flight travel sealed in the browser's cookie (state.go), so the server keeps nothing
// per sign-in: starting any number of them denies none, and a restart cancels none. A
// state is single-use: the callback clears the cookie whatever the outcome, and this
// process remembers the states it has seen until they expire.
type GitHub struct {
	oauth  oauth2.Config
	apiURL string
	client *http.Client
	sealer stateSealer
	spent  spentStates

	avatarRoot   *url.URL
	avatarClient *http.Client
}

// NewGitHub checks cfg and returns the sign-in flow.
func NewGitHub(cfg GitHubConfig) (*GitHub, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("github sign-in needs both a client id and a client secret")
	}
	if err := CheckRedirectURL(cfg.RedirectURL); err != nil {
		return nil, err
	}
	base, err := rootURL(cfg.BaseURL, "https://github.com", "github base url")
	if err != nil {
		return nil, err
	}
	api, err := rootURL(cfg.APIURL, "https://api.github.com", "github api url")
	if err != nil {
		return nil, err
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	sealer, err := newStateSealer(cfg.StateKey, cfg.ClientID, cfg.RedirectURL)
	if err != nil {
		return nil, err
	}
	avatarRoot, err := avatarRootURL(cfg.AvatarURL)
	if err != nil {
		return nil, err
	}
	avatarTimeout := cfg.AvatarTimeout
	if avatarTimeout <= 0 {
		avatarTimeout = DefaultAvatarTimeout
	}
	avatarClient := &http.Client{
		Transport: client.Transport,
		Timeout:   avatarTimeout,
		// A redirect could lead anywhere: it is refused, not followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &GitHub{
		oauth: oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			RedirectURL:  cfg.RedirectURL,
			Endpoint: oauth2.Endpoint{
				AuthURL:   base + "/login/oauth/authorize",
				TokenURL:  base + "/login/oauth/access_token",
				AuthStyle: oauth2.AuthStyleInParams,
			},
		},
		apiURL:       api,
		client:       client,
		sealer:       sealer,
		avatarRoot:   avatarRoot,
		avatarClient: avatarClient,
	}, nil
}

// CheckRedirectURL reports whether u can be the OAuth callback URL: absolute, https or
// loopback http, with the path /auth/github/callback and no query or fragment.
func CheckRedirectURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || p.User != nil || p.RawQuery != "" || p.Fragment != "" {
		return fmt.Errorf("github redirect uri %q: want an absolute URL like https://locks.example.com%s", u, CallbackPath)
	}
	if p.Path != CallbackPath {
		return fmt.Errorf("github redirect uri %q: its path must be %s", u, CallbackPath)
	}
	switch {
	case p.Scheme == "https":
	case p.Scheme == "http" && isLoopback(p.Hostname()):
	default:
		return fmt.Errorf("github redirect uri %q: want https (plain http only on localhost, 127.0.0.1 or [::1]): the sign-in cookies are Secure", u)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func rootURL(u, def, what string) (string, error) {
	if u == "" {
		u = def
	}
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.RawQuery != "" || p.Fragment != "" {
		return "", fmt.Errorf("%s %q: want an http(s) URL", what, u)
	}
	return strings.TrimSuffix(u, "/"), nil
}

// Begin starts a sign-in at time now. It returns GitHub's authorize URL to send the
// browser to, and the sealed state for the browser's state cookie. It keeps nothing.
func (g *GitHub) Begin(now time.Time) (authorizeURL, cookie string) {
	state := randomString(32)
	verifier := oauth2.GenerateVerifier()
	cookie = g.sealer.seal(sealedState{state: state, verifier: verifier, issued: now})
	return g.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), cookie
}

// take opens the browser's state cookie and returns its verifier when it was sealed by
// this server for state, less than StateLifetime before now, and not used before.
func (g *GitHub) take(state, cookie string, now time.Time) (string, bool) {
	if state == "" {
		return "", false
	}
	st, ok := g.sealer.open(cookie)
	if !ok || subtle.ConstantTimeCompare([]byte(state), []byte(st.state)) != 1 {
		return "", false
	}
	expires := st.issued.Add(StateLifetime)
	if !now.Before(expires) || st.issued.After(now.Add(stateClockSkew)) {
		return "", false
	}
	if !g.spent.spend(st.state, expires, now) {
		return "", false
	}
	return st.verifier, true
}

// Finish completes a sign-in. state and code come from GitHub's redirect, cookie from
// the browser. It exchanges the code with the PKCE verifier, reads the user and drops
// GitHub's access token.
func (g *GitHub) Finish(ctx context.Context, now time.Time, state, cookie, code string) (GitHubUser, error) {
	verifier, ok := g.take(state, cookie, now)
	if !ok {
		return GitHubUser{}, ErrStateInvalid
	}
	if code == "" {
		return GitHubUser{}, fmt.Errorf("callback without a code: %w", ErrCodeRejected)
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, g.client)
	tok, err := g.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && (re.ErrorCode != "" || re.Response.StatusCode/100 == 4) {
			return GitHubUser{}, fmt.Errorf("exchange code (%s): %w", re.ErrorCode, ErrCodeRejected)
		}
		return GitHubUser{}, fmt.Errorf("exchange code: %w: %w", ErrGitHubUnavailable, err)
	}
	return g.user(ctx, tok.AccessToken)
}

// Deny consumes state after GitHub reported an error instead of a code, so the state
// cannot be used again, and returns ErrSignInDenied (or ErrStateInvalid when the state
// was not this browser's).
func (g *GitHub) Deny(now time.Time, state, cookie string) error {
	if _, ok := g.take(state, cookie, now); !ok {
		return ErrStateInvalid
	}
	return ErrSignInDenied
}

// user reads the signed-in user from GET {api}/user.
func (g *GitHub) user(ctx context.Context, accessToken string) (GitHubUser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.apiURL+"/user", nil)
	if err != nil {
		return GitHubUser{}, fmt.Errorf("read github user: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	res, err := g.client.Do(req)
	if err != nil {
		return GitHubUser{}, fmt.Errorf("read github user: %w: %w", ErrGitHubUnavailable, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxGitHubResponse))
	if err != nil {
		return GitHubUser{}, fmt.Errorf("read github user: %w: %w", ErrGitHubUnavailable, err)
	}
	if res.StatusCode != http.StatusOK {
		return GitHubUser{}, fmt.Errorf("read github user: status %d: %w", res.StatusCode, ErrGitHubUnavailable)
	}
	var u struct {
		ID        int64  `json:"id"`
		Login     string `json:"login"`
		AvatarURL string `json:"avatar_url"`
	}
	if err := json.Unmarshal(body, &u); err != nil {
		return GitHubUser{}, fmt.Errorf("read github user: %w: %w", ErrGitHubUnavailable, err)
	}
	if u.ID <= 0 || !validLogin(u.Login) {
		return GitHubUser{}, fmt.Errorf("read github user: no id or login: %w", ErrGitHubUnavailable)
	}
	if a, err := url.Parse(u.AvatarURL); err != nil || (a.Scheme != "https" && a.Scheme != "http") || a.Host == "" {
		u.AvatarURL = "" // the dashboard shows initials instead
	}
	return GitHubUser{ID: u.ID, Login: u.Login, AvatarURL: u.AvatarURL}, nil
}

// validLogin accepts GitHub logins, including Enterprise managed users' underscores.
func validLogin(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// randomString returns n random bytes in unpadded base64url.
func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DefaultAvatarURL is GitHub's avatar host.
const DefaultAvatarURL = "https://avatars.githubusercontent.com/"

// avatarRootURL checks the configured avatar root: https, or http on a loopback host,
// with no query or fragment. Its path ends in "/", so it is a prefix of whole segments.
func avatarRootURL(u string) (*url.URL, error) {
	if u == "" {
		u = DefaultAvatarURL
	}
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || p.User != nil || p.RawQuery != "" || p.Fragment != "" || !secureOrLoopback(p) {
		return nil, fmt.Errorf("github avatar url %q: want an https URL (plain http only on localhost, 127.0.0.1 or [::1])", u)
	}
	if !strings.HasSuffix(p.Path, "/") {
		p.Path += "/"
	}
	p.RawPath = ""
	return p, nil
}

func secureOrLoopback(p *url.URL) bool {
	return p.Scheme == "https" || p.Scheme == "http" && isLoopback(p.Hostname())
}

// avatarAllowed reports whether avatarURL lies under the configured avatar root: the
// same scheme and host (port included) and a path below the root's.
func (g *GitHub) avatarAllowed(avatarURL string) bool {
	p, err := url.Parse(avatarURL)
	if err != nil || p.User != nil || p.Fragment != "" || !secureOrLoopback(p) {
		return false
	}
	root := g.avatarRoot
	return p.Scheme == root.Scheme && strings.EqualFold(p.Host, root.Host) &&
		strings.HasPrefix(p.EscapedPath(), root.EscapedPath()) && !strings.Contains(p.Path, "..")
}

var rasterTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// Avatar fetches a user's avatar image and returns its content type and bytes. It asks
// only the configured avatar host, follows no redirect, takes at most MaxAvatarBytes
// within the avatar timeout, and only raster images (an SVG served from this origin
// could carry script).
func (g *GitHub) Avatar(ctx context.Context, avatarURL string) (string, []byte, error) {
	if avatarURL == "" {
		return "", nil, fmt.Errorf("no avatar: %w", ErrGitHubUnavailable)
	}
	if !g.avatarAllowed(avatarURL) {
		return "", nil, fmt.Errorf("avatar not on the avatar host %s: %w", g.avatarRoot, ErrGitHubUnavailable)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, avatarURL, nil)
	if err != nil {
		return "", nil, fmt.Errorf("fetch avatar: %w: %w", ErrGitHubUnavailable, err)
	}
	req.Header.Set("Accept", "image/png, image/jpeg, image/gif, image/webp")
	res, err := g.avatarClient.Do(req)
	if err != nil {
		return "", nil, fmt.Errorf("fetch avatar: %w: %w", ErrGitHubUnavailable, err)
	}
	defer res.Body.Close()
	ct, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if res.StatusCode != http.StatusOK || !rasterTypes[ct] || res.ContentLength > MaxAvatarBytes {
		return "", nil, fmt.Errorf("fetch avatar: status %d, %q, %d bytes: %w", res.StatusCode, ct, res.ContentLength, ErrGitHubUnavailable)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, MaxAvatarBytes+1))
	if err != nil {
		return "", nil, fmt.Errorf("fetch avatar: %w: %w", ErrGitHubUnavailable, err)
	}
	if len(body) > MaxAvatarBytes {
		return "", nil, fmt.Errorf("fetch avatar: over %d bytes: %w", MaxAvatarBytes, ErrGitHubUnavailable)
	}
	return ct, body, nil
}
