package impl

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/octostore/octostore/impl/auth"
	"github.com/octostore/octostore/impl/auth/githubtest"
)

// The redirect URI the OAuth app is registered with. The tests never dial it: they take
// GitHub's redirect and replay its path and query on the test server.
const testRedirectURI = "http://127.0.0.1:3000/auth/github/callback"

// newSignInServer starts a stand-in GitHub and a server configured to sign in with it.
func newSignInServer(t *testing.T) (*testServer, *githubtest.Server) {
	t.Helper()
	return newSignInServerWith(t, Config{})
}

// newSignInServerWith is newSignInServer with more settings.
func newSignInServerWith(t *testing.T, cfg Config) (*testServer, *githubtest.Server) {
	t.Helper()
	gh := githubtest.NewServer(testRedirectURI)
	t.Cleanup(gh.Close)
	cfg.GitHub = auth.GitHubConfig{
		ClientID:     gh.ClientID,
		ClientSecret: gh.ClientSecret,
		RedirectURL:  testRedirectURI,
		BaseURL:      gh.URL,
		APIURL:       gh.APIURL(),
		AvatarURL:    gh.AvatarURL(),
	}
	ts := newTestServer(t, cfg)
	return ts, gh
}

// browser is one browser: its own cookies, no automatic redirects.
type browser struct {
	ts      *testServer
	cookies map[string]*http.Cookie
	// set is every cookie the server set, as received, for checking attributes.
	set map[string]*http.Cookie
}

func newBrowser(ts *testServer) *browser {
	return &browser{ts: ts, cookies: map[string]*http.Cookie{}, set: map[string]*http.Cookie{}}
}

var noRedirects = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

// do sends a request to rawURL (or to the test server when it starts with "/") with the
// browser's cookies and extra headers, and keeps the cookies the answer sets.
func (b *browser) do(method, rawURL string, headers ...string) response {
	b.ts.t.Helper()
	return b.doBody(method, rawURL, "", headers...)
}

// doBody is do with a request body (none when body is "").
func (b *browser) doBody(method, rawURL, body string, headers ...string) response {
	b.ts.t.Helper()
	if strings.HasPrefix(rawURL, "/") {
		rawURL = b.ts.http.URL + rawURL
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		b.ts.t.Fatal(err)
	}
	if strings.HasPrefix(rawURL, b.ts.http.URL) {
		for _, c := range b.cookies {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := noRedirects.Do(req)
	if err != nil {
		b.ts.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, raw: raw}
	if strings.Contains(res.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			b.ts.t.Fatalf("%s %s: bad JSON %q: %v", method, rawURL, raw, err)
		}
	}
	for _, c := range res.Cookies() {
		b.set[c.Name] = c
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return out
}

// start begins a sign-in and returns GitHub's authorize URL.
func (b *browser) start() *url.URL {
	b.ts.t.Helper()
	r := b.do("GET", "/auth/github")
	if r.status != http.StatusFound {
		b.ts.t.Fatalf("start: %d %s", r.status, r.raw)
	}
	u, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		b.ts.t.Fatal(err)
	}
	return u
}

// authorize visits GitHub's authorize page and returns the callback path and query
// GitHub sends the browser back to.
func (b *browser) authorize(authorizeURL *url.URL) string {
	b.ts.t.Helper()
	r := b.do("GET", authorizeURL.String())
	if r.status != http.StatusFound {
		b.ts.t.Fatalf("authorize: %d %s", r.status, r.raw)
	}
	back, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		b.ts.t.Fatal(err)
	}
	if got := back.Scheme + "://" + back.Host + back.Path; got != testRedirectURI {
		b.ts.t.Fatalf("GitHub sent the browser to %s", got)
	}
	return back.RequestURI()
}

// signIn runs the whole flow and returns the callback's answer.
func (b *browser) signIn() response {
	b.ts.t.Helper()
	return b.do("GET", b.authorize(b.start()))
}

// session returns GET /dashboard/session.
func (b *browser) session() response {
	b.ts.t.Helper()
	return b.do("GET", "/dashboard/session")
}

// post sends a dashboard change with the session's CSRF token and a same-origin mark.
func (b *browser) post(path, csrf string) response {
	b.ts.t.Helper()
	return b.do("POST", path, "X-CSRF-Token", csrf, "Sec-Fetch-Site", "same-origin")
}

func TestGitHubSignInCreatesTheAccountAndShowsItsTokenOnce(t *testing.T) {
	ts, gh := newSignInServer(t)
	b := newBrowser(ts)

	to := b.start()
	q := to.Query()
	if to.Scheme+"://"+to.Host+to.Path != gh.URL+"/login/oauth/authorize" {
		t.Fatalf("authorize URL %s", to)
	}
	if q.Get("client_id") != gh.ClientID || q.Get("redirect_uri") != testRedirectURI || q.Get("response_type") != "code" ||
		q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Has("scope") {
		t.Fatalf("authorize query %v", q)
	}
	if len(q.Get("state")) < 22 { // 22 base64url characters carry 128 bits
		t.Fatalf("state %q is short", q.Get("state"))
	}
	sc := b.set[stateCookie]
	if sc == nil || len(sc.Value) < 43 || strings.Contains(sc.Value, q.Get("state")) || !sc.HttpOnly || !sc.Secure || sc.SameSite != http.SameSiteLaxMode ||
		sc.Path != "/" || sc.Domain != "" || sc.MaxAge != int(auth.StateLifetime.Seconds()) {
		t.Fatalf("state cookie %+v", sc)
	}

	r := b.do("GET", b.authorize(to))
	if r.status != http.StatusFound || r.header.Get("Location") != "/dashboard" {
		t.Fatalf("callback: %d %s %v", r.status, r.raw, r.header)
	}
	sess := b.set[sessionCookie]
	if sess == nil || len(sess.Value) < 43 || !sess.HttpOnly || !sess.Secure || sess.SameSite != http.SameSiteLaxMode ||
		sess.Path != "/" || sess.MaxAge != int(auth.SessionLifetime.Seconds()) {
		t.Fatalf("session cookie %+v", sess)
	}
	if _, still := b.cookies[stateCookie]; still {
		t.Fatal("state cookie not cleared")
	}

	s := b.session()
	if s.status != 200 || s.str("login") != "octocat" || s.num("github_user_id") != 583231 || s.str("csrf_token") == "" ||
		s.str("avatar_url") != "/dashboard/avatar" || s.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("session: %d %s", s.status, s.raw)
	}
	fresh, _ := s.body["new_token"].(map[string]any)
	token, _ := fresh["token"].(string)
	if !strings.HasPrefix(token, "oct_tok_") || fresh["token_id"] != s.str("token_id") || fresh["account_id"] != s.str("account_id") {
		t.Fatalf("new token: %s", s.raw)
	}
	if again := b.session(); again.body["new_token"] != nil {
		t.Fatal("the token was shown twice")
	}

	// The token works against the lock API, and the dashboard lists the account's locks.
	if r := ts.acquire(token, "nightly", 60, ""); r.str("status") != "acquired" {
		t.Fatalf("acquire with the new token: %s", r.raw)
	}
	locks := b.do("GET", "/dashboard/locks")
	if list, _ := locks.body["locks"].([]any); locks.status != 200 || len(list) != 1 || list[0].(map[string]any)["name"] != "nightly" {
		t.Fatalf("dashboard locks: %d %s", locks.status, locks.raw)
	}
	if accounts, _ := ts.srv.auth.Accounts(context.Background()); len(accounts) != 1 || accounts[0].Name != "github-583231" {
		t.Fatalf("accounts %+v", accounts)
	}

	// Neither GitHub's access token nor the session id is kept; nothing secret is logged.
	ts.stop()
	access := gh.AccessTokens()
	if len(access) != 1 {
		t.Fatalf("%d access tokens issued", len(access))
	}
	db := readAll(t, ts.dbPath, ts.dbPath+"-wal")
	for what, secret := range map[string]string{"github access token": access[0], "session id": sess.Value, "bearer token": token} {
		if bytes.Contains(db, []byte(secret)) {
			t.Errorf("the database holds the %s", what)
		}
		if strings.Contains(ts.logs.String(), secret) {
			t.Errorf("the log holds the %s", what)
		}
	}
	for _, secret := range []string{q.Get("state"), q.Get("code_challenge")} {
		if strings.Contains(ts.logs.String(), secret) {
			t.Error("the log holds the state or the PKCE challenge")
		}
	}
}

func readAll(t *testing.T, paths ...string) []byte {
	t.Helper()
	var all []byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

func TestReturningUserGetsTheSameAccountKeyedByGitHubID(t *testing.T) {
	ts, gh := newSignInServer(t)
	first := newBrowser(ts)
	first.signIn()
	s1 := first.session()
	if s1.body["new_token"] == nil {
		t.Fatal("first sign-in showed no token")
	}

	// The same GitHub user, renamed, on another device.
	gh.SetUser(githubtest.User{ID: 583231, Login: "octocat-renamed"})
	second := newBrowser(ts)
	if r := second.signIn(); r.status != http.StatusFound {
		t.Fatalf("second sign-in: %d %s", r.status, r.raw)
	}
	s2 := second.session()
	if s2.str("account_id") != s1.str("account_id") || s2.str("token_id") != s1.str("token_id") || s2.str("login") != "octocat-renamed" {
		t.Fatalf("returning user: %s vs %s", s2.raw, s1.raw)
	}
	if s2.body["new_token"] != nil {
		t.Fatal("a returning sign-in minted another token")
	}
	if s1again := first.session(); s1again.status != 200 || s1again.str("login") != "octocat-renamed" {
		t.Fatalf("first device after rename: %s", s1again.raw)
	}

	// Someone else who now has the old login is a different account.
	gh.SetUser(githubtest.User{ID: 9919, Login: "octocat"})
	third := newBrowser(ts)
	third.signIn()
	if s3 := third.session(); s3.str("account_id") == s1.str("account_id") || s3.body["new_token"] == nil {
		t.Fatalf("new user: %s", s3.raw)
	}
	accounts, _ := ts.srv.auth.Accounts(context.Background())
	if len(accounts) != 2 {
		t.Fatalf("accounts %+v", accounts)
	}

	// Accounts, links and sessions survive a restart.
	ts.restart()
	if s := second.session(); s.status != 200 || s.str("account_id") != s1.str("account_id") {
		t.Fatalf("after restart: %d %s", s.status, s.raw)
	}
	fourth := newBrowser(ts)
	gh.SetUser(githubtest.User{ID: 583231, Login: "octocat-renamed"})
	fourth.signIn()
	if s := fourth.session(); s.str("account_id") != s1.str("account_id") {
		t.Fatalf("returning after restart: %s", s.raw)
	}
}

func TestCallbackRefusesAStateThatIsNotThisBrowsers(t *testing.T) {
	ts, gh := newSignInServer(t)
	victim, attacker := newBrowser(ts), newBrowser(ts)
	attacker.start()
	callback := victim.authorize(victim.start())

	// The victim's callback URL in the attacker's browser, whose cookie holds another state.
	wantProblem(t, attacker.do("GET", callback), 400, "signin_failed")
	// No cookie at all.
	wantProblem(t, newBrowser(ts).do("GET", callback), 400, "signin_failed")
	// A state changed in transit.
	u, _ := url.Parse(callback)
	q := u.Query()
	q.Set("state", q.Get("state")+"x")
	u.RawQuery = q.Encode()
	wantProblem(t, victim.do("GET", u.RequestURI()), 400, "signin_failed")
	// No state.
	q.Del("state")
	u.RawQuery = q.Encode()
	wantProblem(t, victim.do("GET", u.RequestURI()), 400, "signin_failed")
	if n := gh.Requests("token"); n != 0 {
		t.Fatalf("%d code exchanges for refused callbacks", n)
	}
	if _, ok := victim.cookies[sessionCookie]; ok {
		t.Fatal("a refused callback set a session")
	}
	// The rightful browser can still finish.
	if r := victim.do("GET", callback); r.status != http.StatusFound {
		t.Fatalf("rightful callback: %d %s", r.status, r.raw)
	}
}

func TestAStateWorksOnce(t *testing.T) {
	ts, gh := newSignInServer(t)
	b := newBrowser(ts)
	to := b.start()
	state := b.cookies[stateCookie]
	callback := b.authorize(to)
	if r := b.do("GET", callback); r.status != http.StatusFound {
		t.Fatalf("first: %d %s", r.status, r.raw)
	}
	// Replay: the same callback, the state cookie put back.
	b.cookies[stateCookie] = state
	wantProblem(t, b.do("GET", callback), 400, "signin_failed")
	if n := gh.Requests("token"); n != 1 {
		t.Fatalf("%d code exchanges, want 1", n)
	}
}

func TestAStateExpiresAfterTenMinutes(t *testing.T) {
	ts, gh := newSignInServer(t)
	b := newBrowser(ts)
	callback := b.authorize(b.start())
	ts.clock.Advance(auth.StateLifetime)
	wantProblem(t, b.do("GET", callback), 400, "signin_failed")
	if gh.Requests("token") != 0 {
		t.Fatal("an expired state reached GitHub")
	}

	// Just inside the lifetime is fine.
	b2 := newBrowser(ts)
	callback = b2.authorize(b2.start())
	ts.clock.Advance(auth.StateLifetime - time.Millisecond)
	if r := b2.do("GET", callback); r.status != http.StatusFound {
		t.Fatalf("within lifetime: %d %s", r.status, r.raw)
	}
}

func TestCodeExchangeNeedsThisFlowsPKCEVerifier(t *testing.T) {
	ts, gh := newSignInServer(t)

	// The stand-in enforces PKCE: an exchange without the verifier is refused.
	b := newBrowser(ts)
	back, _ := url.Parse(b.authorize(b.start()))
	res, err := http.PostForm(gh.URL+"/login/oauth/access_token", url.Values{
		"client_id": {gh.ClientID}, "client_secret": {gh.ClientSecret}, "code": {back.Query().Get("code")}, "redirect_uri": {testRedirectURI},
	})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "error=bad_verification_code") {
		t.Fatalf("stand-in took a code without its verifier: %s", body)
	}

	// A code from another flow (intercepted, or injected by an attacker) does not match
	// this flow's verifier, so GitHub refuses it.
	victim, other := newBrowser(ts), newBrowser(ts)
	victimBack, _ := url.Parse(victim.authorize(victim.start()))
	otherBack, _ := url.Parse(other.authorize(other.start()))
	q := victimBack.Query()
	q.Set("code", otherBack.Query().Get("code"))
	victimBack.RawQuery = q.Encode()
	wantProblem(t, victim.do("GET", victimBack.RequestURI()), 400, "signin_failed")

	if accounts, _ := ts.srv.auth.Accounts(context.Background()); len(accounts) != 0 {
		t.Fatalf("accounts created: %+v", accounts)
	}

	// The verifier travels sealed in the browser's cookie under a key kept in the
	// database, so a restart does not cancel a sign-in in flight.
	b3 := newBrowser(ts)
	callback := b3.authorize(b3.start())
	ts.restart()
	if r := b3.do("GET", callback); r.status != http.StatusFound {
		t.Fatalf("sign-in across a restart: %d %s", r.status, r.raw)
	}
}

func TestGitHubErrorsEndTheSignInWithAClearProblem(t *testing.T) {
	cases := []struct {
		name   string
		faults githubtest.Faults
		status int
		code   string
	}{
		{"user declined", githubtest.Faults{Deny: true}, 400, "signin_failed"},
		{"code refused with 200", githubtest.Faults{TokenError: "bad_verification_code"}, 400, "signin_failed"},
		{"token endpoint 500", githubtest.Faults{TokenStatus: 500}, 502, "github_unavailable"},
		{"token endpoint 401", githubtest.Faults{TokenStatus: 401}, 400, "signin_failed"},
		{"user endpoint 401", githubtest.Faults{UserStatus: 401}, 502, "github_unavailable"},
		{"user endpoint 503", githubtest.Faults{UserStatus: 503}, 502, "github_unavailable"},
		{"user without id", githubtest.Faults{UserBody: `{"login":"octocat"}`}, 502, "github_unavailable"},
		{"user not JSON", githubtest.Faults{UserBody: `<html>`}, 502, "github_unavailable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts, gh := newSignInServer(t)
			gh.SetFaults(c.faults)
			b := newBrowser(ts)
			callback := b.authorize(b.start())
			wantProblem(t, b.do("GET", callback), c.status, c.code)
			if _, ok := b.cookies[sessionCookie]; ok {
				t.Fatal("session set after a failed sign-in")
			}
			if accounts, _ := ts.srv.auth.Accounts(context.Background()); len(accounts) != 0 {
				t.Fatalf("accounts created: %+v", accounts)
			}
			// The state is spent either way; after GitHub recovers, a new sign-in works.
			wantProblem(t, b.do("GET", callback), 400, "signin_failed")
			gh.SetFaults(githubtest.Faults{})
			if r := newBrowser(ts).signIn(); r.status != http.StatusFound {
				t.Fatalf("after recovery: %d %s", r.status, r.raw)
			}
		})
	}
}

func TestDashboardRotationInvalidatesTheOldTokenAtOnce(t *testing.T) {
	ts, _ := newSignInServer(t)
	b := newBrowser(ts)
	b.signIn()
	s := b.session()
	old := s.body["new_token"].(map[string]any)["token"].(string)
	held := ts.acquire(old, "job", 60, "w1")
	csrf := s.str("csrf_token")

	// Refused without the CSRF token, with a wrong one, or from another site; nothing changes.
	wantProblem(t, b.do("POST", "/dashboard/token/rotate"), 403, "forbidden")
	wantProblem(t, b.post("/dashboard/token/rotate", csrf+"x"), 403, "forbidden")
	wantProblem(t, b.do("POST", "/dashboard/token/rotate", "X-CSRF-Token", csrf, "Sec-Fetch-Site", "cross-site"), 403, "forbidden")
	wantProblem(t, b.do("POST", "/dashboard/token/rotate", "X-CSRF-Token", csrf, "Origin", "https://evil.example"), 403, "forbidden")
	wantProblem(t, newBrowser(ts).post("/dashboard/token/rotate", csrf), 401, "unauthorized")
	if r := ts.do("GET", "/locks", old, nil); r.status != 200 {
		t.Fatalf("refused rotations changed the token: %d", r.status)
	}

	r := b.post("/dashboard/token/rotate", csrf)
	fresh := r.str("token")
	if r.status != 200 || fresh == "" || fresh == old || r.str("token_id") != s.str("token_id") || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("rotate: %d %s", r.status, r.raw)
	}
	wantProblem(t, ts.do("GET", "/locks", old, nil), 401, "unauthorized")
	if again := ts.acquire(fresh, "job", 60, "w1"); again.str("lease_id") != held.str("lease_id") {
		t.Fatalf("the rotated token is not the same holder: %s", again.raw)
	}
	// The public origin from the redirect URI is trusted too (a proxy may rewrite Host).
	if r := b.do("POST", "/dashboard/token/rotate", "X-CSRF-Token", csrf, "Origin", "http://127.0.0.1:3000"); r.status != 200 {
		t.Fatalf("rotate from the public origin: %d %s", r.status, r.raw)
	}
}

func TestSignOutEndsTheSession(t *testing.T) {
	ts, _ := newSignInServer(t)
	b := newBrowser(ts)
	b.signIn()
	sid := b.cookies[sessionCookie].Value
	csrf := b.session().str("csrf_token")
	wantProblem(t, b.do("POST", "/dashboard/sign-out"), 403, "forbidden")
	if b.session().status != 200 {
		t.Fatal("a refused sign-out ended the session")
	}
	r := b.post("/dashboard/sign-out", csrf)
	if r.status != http.StatusNoContent {
		t.Fatalf("sign out: %d %s", r.status, r.raw)
	}
	if c := b.set[sessionCookie]; c.MaxAge >= 0 || c.Value != "" {
		t.Fatalf("cookie not cleared: %+v", c)
	}
	// The old cookie value is dead on the server too.
	b.cookies[sessionCookie] = &http.Cookie{Name: sessionCookie, Value: sid}
	for _, path := range []string{"/dashboard/session", "/dashboard/locks", "/dashboard/avatar"} {
		wantProblem(t, b.do("GET", path), 401, "unauthorized")
	}
	wantProblem(t, b.post("/dashboard/sign-out", csrf), 401, "unauthorized")
}

func TestSessionsExpireAfterSevenDays(t *testing.T) {
	ts, _ := newSignInServer(t)
	b := newBrowser(ts)
	b.signIn()
	// Used every 6 hours, so the idle timeout never ends it; the lifetime does.
	for left := auth.SessionLifetime - time.Second; left > 0; left -= min(left, 6*time.Hour) {
		ts.clock.Advance(min(left, 6*time.Hour))
		if b.session().status != 200 {
			t.Fatal("session ended early")
		}
	}
	ts.clock.Advance(time.Second)
	wantProblem(t, b.session(), 401, "unauthorized")
	wantProblem(t, newBrowser(ts).do("GET", "/dashboard/session", "Cookie", sessionCookie+"=garbage"), 401, "unauthorized")
}

func TestDashboardPageAndAvatar(t *testing.T) {
	ts, gh := newSignInServer(t)
	b := newBrowser(ts)
	page := b.do("GET", "/dashboard")
	csp := page.header.Get("Content-Security-Policy")
	if page.status != 200 || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe") {
		t.Fatalf("page: %d %v", page.status, page.header)
	}
	// The only URL with a host is the SVG namespace of the inline icon.
	if strings.Count(string(page.raw), "://") != 1 || !strings.Contains(string(page.raw), "'http://www.w3.org/2000/svg'") ||
		strings.Contains(string(page.raw), "/*SCRIPT*/") {
		t.Fatal("the page names an outside host or was not assembled")
	}
	wantProblem(t, b.do("GET", "/dashboard/avatar"), 401, "unauthorized")
	b.signIn()
	img := b.do("GET", "/dashboard/avatar")
	if img.status != 200 || img.header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(img.raw, []byte("\x89PNG")) {
		t.Fatalf("avatar: %d %v", img.status, img.header)
	}
	if gh.Requests("avatar") != 1 {
		t.Fatal("avatar not fetched from GitHub")
	}
}

func TestGitHubSignInIsOffWithoutAClientID(t *testing.T) {
	ts := newTestServer(t, Config{})
	b := newBrowser(ts)
	for _, r := range []response{
		b.do("GET", "/auth/github"),
		b.do("GET", "/auth/github/callback?code=x&state=y"),
	} {
		wantProblem(t, r, 404, "signin_not_configured")
		if !strings.Contains(r.str("detail"), "GITHUB_CLIENT_ID") {
			t.Fatalf("detail: %s", r.raw)
		}
	}
	// The dashboard itself is there, signed out (token sign-in, dashboard_token_test.go).
	if page := b.do("GET", "/dashboard"); page.status != 200 {
		t.Fatalf("dashboard page: %d", page.status)
	}
	for _, r := range []response{
		b.do("GET", "/dashboard/session"),
		b.do("GET", "/dashboard/locks"),
		b.do("POST", "/dashboard/sign-out", "X-CSRF-Token", "x"),
	} {
		wantProblem(t, r, 401, "unauthorized")
	}
}

func TestNoLocalAccountWhenGitHubSignInIsOn(t *testing.T) {
	ts, _ := newSignInServer(t)
	if ts.minted {
		t.Fatal("bootstrap minted a local token although sign-in is configured")
	}
}
