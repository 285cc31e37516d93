package impl

import (
	"crypto/sha256"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/octostore/octostore/impl/auth"
)

// pasteToken signs browser b in with a token, as the dashboard page does.
func (b *browser) pasteToken(token string, headers ...string) response {
	b.ts.t.Helper()
	h := append([]string{"Content-Type", "application/json", "Sec-Fetch-Site", "same-origin"}, headers...)
	return b.doBody("POST", "/dashboard/sign-in", fmt.Sprintf(`{"token":%q}`, token), h...)
}

// pasteAdminKey opens the operator view in browser b.
func (b *browser) pasteAdminKey(key string) response {
	b.ts.t.Helper()
	return b.doBody("POST", "/dashboard/admin/sign-in", fmt.Sprintf(`{"admin_key":%q}`, key),
		"Content-Type", "application/json", "Sec-Fetch-Site", "same-origin")
}

// countRows counts a table's rows in the test server's database file.
func (ts *testServer) countRows(table string) int {
	ts.t.Helper()
	db, err := sql.Open("sqlite", ts.dbPath+"?mode=ro")
	if err != nil {
		ts.t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		ts.t.Fatal(err)
	}
	return n
}

func wantSecureCookie(t *testing.T, c *http.Cookie, sameSite http.SameSite) {
	t.Helper()
	if c == nil || !c.HttpOnly || !c.Secure || c.Path != "/" || c.Domain != "" || c.SameSite != sameSite {
		t.Fatalf("cookie %+v: want HttpOnly, Secure, Path=/, no Domain, SameSite %v", c, sameSite)
	}
}

func TestDashboardWithoutGitHubSignsInWithAPastedToken(t *testing.T) {
	ts := newTestServer(t, Config{})
	b := newBrowser(ts)
	page := b.do("GET", "/dashboard")
	if page.status != 200 || !strings.Contains(page.header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("page: %d %v", page.status, page.header)
	}
	m := b.do("GET", "/dashboard/methods")
	if m.status != 200 || m.body["github"] != false || m.body["token"] != true || m.body["admin"] != false {
		t.Fatalf("methods: %d %s", m.status, m.raw)
	}

	in := b.pasteToken(ts.token)
	if in.status != 204 || in.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("sign-in: %d %v %s", in.status, in.header, in.raw)
	}
	c := b.set[sessionCookie]
	wantSecureCookie(t, c, http.SameSiteLaxMode)
	if strings.Contains(c.Value, ts.token) || strings.Contains(ts.token, c.Value) {
		t.Fatal("the session cookie carries the token")
	}
	// The database keeps the cookie's SHA-256 only.
	sum := sha256.Sum256([]byte(c.Value))
	db, err := sql.Open("sqlite", ts.dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM token_sessions WHERE id_hash = ?", sum[:]).Scan(&n); err != nil || n != 1 {
		t.Fatalf("stored session by hash: %d %v", n, err)
	}
	db.Close()

	s := b.session()
	if s.status != 200 || s.str("method") != "token" || s.str("account_id") == "" || s.str("csrf_token") == "" || s.str("avatar_url") != "" {
		t.Fatalf("session: %d %s", s.status, s.raw)
	}
	if s.header.Get("Cache-Control") != "no-store" {
		t.Fatal("session answer may be cached")
	}
	csrf := s.str("csrf_token")

	// The account's locks, live; one is released from the dashboard.
	if r := ts.acquire(ts.token, "build", 60, "ci"); r.str("status") != "acquired" {
		t.Fatalf("acquire: %s", r.raw)
	}
	locks := b.do("GET", "/dashboard/locks")
	if list, _ := locks.body["locks"].([]any); len(list) != 1 {
		t.Fatalf("locks: %s", locks.raw)
	}
	rel := b.post("/dashboard/locks/build/release", csrf)
	if rel.status != 200 || rel.str("status") != "released" {
		t.Fatalf("release: %d %s", rel.status, rel.raw)
	}
	if st := ts.do("GET", "/locks/build", ts.token, nil); st.str("status") != "free" {
		t.Fatalf("after release: %s", st.raw)
	}
	wantProblem(t, b.post("/dashboard/locks/build/release", csrf), 409, "lease_not_current")

	// Rotation keeps the session (the token id stays) and kills the old secret.
	rot := b.post("/dashboard/token/rotate", csrf)
	if rot.status != 200 || rot.str("token") == "" {
		t.Fatalf("rotate: %d %s", rot.status, rot.raw)
	}
	wantProblem(t, ts.do("GET", "/locks", ts.token, nil), 401, "unauthorized")
	if r := ts.do("GET", "/locks", rot.str("token"), nil); r.status != 200 {
		t.Fatalf("new token: %d", r.status)
	}
	if b.session().status != 200 {
		t.Fatal("rotation ended the session")
	}

	if out := b.post("/dashboard/sign-out", csrf); out.status != 204 {
		t.Fatalf("sign-out: %d %s", out.status, out.raw)
	}
	wantProblem(t, b.session(), 401, "unauthorized")
	if n := ts.countRows("token_sessions"); n != 0 {
		t.Fatalf("%d sessions left after sign-out", n)
	}
}

func TestTokenSignInRefusesBadInputAndStartsNoSession(t *testing.T) {
	ts := newTestServer(t, Config{})
	b := newBrowser(ts)
	for _, tc := range []struct {
		name, body, contentType string
		status                  int
		code                    string
	}{
		{"wrong token", `{"token":"oct_tok_000000000000_nope"}`, "application/json", 401, "unauthorized"},
		{"garbage token", `{"token":"hello"}`, "application/json", 401, "unauthorized"},
		{"empty token", `{"token":""}`, "application/json", 400, "invalid_request"},
		{"no token", `{}`, "application/json", 400, "invalid_request"},
		{"extra field", fmt.Sprintf(`{"token":%q,"x":1}`, ts.token), "application/json", 400, "invalid_request"},
		{"not JSON", `token=` + ts.token, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"malformed", `{"token":`, "application/json", 400, "invalid_request"},
		{"oversized token", `{"token":"` + strings.Repeat("a", 300) + `"}`, "application/json", 400, "invalid_request"},
	} {
		r := b.doBody("POST", "/dashboard/sign-in", tc.body, "Content-Type", tc.contentType, "Sec-Fetch-Site", "same-origin")
		if r.status != tc.status || r.str("code") != tc.code {
			t.Fatalf("%s: got %d %s, want %d %s", tc.name, r.status, r.raw, tc.status, tc.code)
		}
		if r.header.Get("Set-Cookie") != "" {
			t.Fatalf("%s: a cookie was set: %s", tc.name, r.header.Get("Set-Cookie"))
		}
	}
	// A right token from another site (login CSRF) is refused too.
	wantProblem(t, b.pasteToken(ts.token, "Sec-Fetch-Site", "cross-site"), 403, "forbidden")
	if len(b.cookies) != 0 || ts.countRows("token_sessions") != 0 {
		t.Fatalf("a session was started: %v", b.cookies)
	}
}

func TestDashboardChangesNeedTheSessionsCSRFToken(t *testing.T) {
	ts := newTestServer(t, Config{})
	b := newBrowser(ts)
	if r := b.pasteToken(ts.token); r.status != 204 {
		t.Fatalf("sign-in: %d %s", r.status, r.raw)
	}
	csrf := b.session().str("csrf_token")
	ts.acquire(ts.token, "build", 60, "ci")
	for _, path := range []string{"/dashboard/locks/build/release", "/dashboard/token/rotate", "/dashboard/sign-out", "/dashboard/sign-out-everywhere"} {
		for _, h := range [][]string{
			{"Sec-Fetch-Site", "same-origin"},                                     // no CSRF token
			{"X-CSRF-Token", csrf + "x", "Sec-Fetch-Site", "same-origin"},         // a wrong one
			{"X-CSRF-Token", csrf, "Sec-Fetch-Site", "cross-site"},                // the right one, from another site
			{"X-CSRF-Token", csrf, "Origin", "https://evil.example", "Host", "x"}, // no fetch metadata, another origin
		} {
			r := b.do("POST", path, h...)
			if r.status != 403 && r.status != 400 || r.status == 400 && r.str("code") != "invalid_request" {
				t.Fatalf("POST %s %v: %d %s", path, h, r.status, r.raw)
			}
		}
	}
	// Nothing changed: the lock is held, the token works, the session lives.
	if st := ts.do("GET", "/locks/build", ts.token, nil); st.str("status") != "held" {
		t.Fatalf("lock: %s", st.raw)
	}
	if b.session().status != 200 {
		t.Fatal("session ended")
	}
}

func TestTokenSessionEndsWhenItsTokenIsRevokedOrEverywhere(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	token, account := ts.newAccountWithID("alice")
	a, b2 := newBrowser(ts), newBrowser(ts)
	a.pasteToken(token)
	b2.pasteToken(token)
	if a.session().status != 200 || b2.session().status != 200 {
		t.Fatal("sign-in")
	}
	if r := a.post("/dashboard/sign-out-everywhere", a.session().str("csrf_token")); r.status != 204 {
		t.Fatalf("sign out everywhere: %d %s", r.status, r.raw)
	}
	wantProblem(t, b2.session(), 401, "unauthorized")

	a.pasteToken(token)
	tokenID := a.session().str("token_id")
	if r := ts.admin("DELETE", "/admin/accounts/"+account+"/tokens/"+tokenID, nil); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	wantProblem(t, a.session(), 401, "unauthorized")
	wantProblem(t, a.pasteToken(token), 401, "unauthorized")
}

func TestOperatorViewExchangesTheAdminKeyForAShortSession(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	token, account := ts.newAccountWithID("alice")
	other := ts.do("POST", "/admin/accounts/"+account+"/tokens", "", map[string]any{"name": "worker"}, "X-Admin-Key", testAdminKey)
	ts.acquire(token, "build", 60, "ci")
	b := newBrowser(ts)
	if m := b.do("GET", "/dashboard/methods"); m.body["admin"] != true {
		t.Fatalf("methods: %s", m.raw)
	}

	wantProblem(t, b.pasteAdminKey(testAdminKey+"x"), 401, "unauthorized")
	wantProblem(t, b.pasteAdminKey(""), 400, "invalid_request")
	if len(b.cookies) != 0 {
		t.Fatal("a wrong key started a session")
	}
	if !strings.Contains(ts.logs.String(), "wrong admin key") {
		t.Fatal("wrong admin key not logged")
	}
	wantProblem(t, b.do("GET", "/dashboard/admin/accounts"), 401, "unauthorized")

	in := b.pasteAdminKey(testAdminKey)
	if in.status != 204 || in.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("admin sign-in: %d %s", in.status, in.raw)
	}
	c := b.set[operatorCookie]
	wantSecureCookie(t, c, http.SameSiteStrictMode)
	if c.MaxAge != int(auth.OperatorSessionLifetime/time.Second) || strings.Contains(c.Value, testAdminKey) {
		t.Fatalf("operator cookie: %+v", c)
	}
	if b.cookies[sessionCookie] != nil {
		t.Fatal("the operator session is the account session")
	}
	s := b.do("GET", "/dashboard/admin/session")
	csrf := s.str("csrf_token")
	if s.status != 200 || csrf == "" || s.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("operator session: %d %s", s.status, s.raw)
	}
	if exp, err := time.Parse(time.RFC3339, s.str("expires_at")); err != nil || !exp.Equal(ts.clock.Now().Wall.Add(auth.OperatorSessionLifetime).Truncate(time.Millisecond)) {
		t.Fatalf("operator session expires_at %q: %v", s.str("expires_at"), err)
	}
	// The operator session is not an account session, and not the admin API's key.
	wantProblem(t, b.session(), 401, "unauthorized")
	wantProblem(t, b.do("GET", "/admin/accounts"), 401, "unauthorized")

	accs := b.do("GET", "/dashboard/admin/accounts?limit=1")
	if list, _ := accs.body["accounts"].([]any); accs.status != 200 || len(list) != 1 {
		t.Fatalf("accounts: %d %s", accs.status, accs.raw)
	}
	locks := b.do("GET", "/dashboard/admin/accounts/"+account+"/locks")
	if list, _ := locks.body["locks"].([]any); locks.status != 200 || len(list) != 1 {
		t.Fatalf("account locks: %d %s", locks.status, locks.raw)
	}
	wantProblem(t, b.do("GET", "/dashboard/admin/accounts/acc_aaaaaaaaaaaa/locks"), 404, "account_not_found")
	if api := ts.admin("GET", "/admin/accounts/"+account+"/locks", nil); api.status != 200 || len(api.body["locks"].([]any)) != 1 {
		t.Fatalf("admin API account locks: %d %s", api.status, api.raw)
	}
	wantProblem(t, b.do("GET", "/dashboard/admin/cluster"), 404, "not_found") // a single node
	if toks := b.do("GET", "/dashboard/admin/accounts/"+account+"/tokens"); toks.status != 200 {
		t.Fatalf("tokens: %d %s", toks.status, toks.raw)
	}

	// Changes need the CSRF token and a same-origin request; refused ones change nothing.
	revoke := "/dashboard/admin/accounts/" + account + "/tokens/" + other.str("token_id")
	if r := b.do("DELETE", revoke, "Sec-Fetch-Site", "same-origin"); r.status != 403 && r.status != 400 { // no X-CSRF-Token
		t.Fatalf("revoke without a CSRF token: %d %s", r.status, r.raw)
	}
	wantProblem(t, b.do("DELETE", revoke, "X-CSRF-Token", csrf, "Sec-Fetch-Site", "cross-site"), 403, "forbidden")
	wantProblem(t, b.do("DELETE", "/dashboard/admin/accounts/"+account, "X-CSRF-Token", "nope", "Sec-Fetch-Site", "same-origin"), 403, "forbidden")
	if r := ts.do("GET", "/locks", other.str("token"), nil); r.status != 200 {
		t.Fatalf("refused revoke revoked: %d", r.status)
	}
	if r := b.do("DELETE", revoke, "X-CSRF-Token", csrf, "Sec-Fetch-Site", "same-origin"); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	wantProblem(t, ts.do("GET", "/locks", other.str("token"), nil), 401, "unauthorized")
	if r := b.do("DELETE", "/dashboard/admin/accounts/"+account, "X-CSRF-Token", csrf, "Sec-Fetch-Site", "same-origin"); r.status != 204 {
		t.Fatalf("delete account: %d %s", r.status, r.raw)
	}
	wantProblem(t, ts.do("GET", "/locks", token, nil), 401, "unauthorized")

	// Sign-out ends it; so do 15 minutes.
	if r := b.do("POST", "/dashboard/admin/sign-out", "X-CSRF-Token", csrf, "Sec-Fetch-Site", "same-origin"); r.status != 204 {
		t.Fatalf("sign-out: %d %s", r.status, r.raw)
	}
	wantProblem(t, b.do("GET", "/dashboard/admin/accounts"), 401, "unauthorized")
	b.pasteAdminKey(testAdminKey)
	if b.do("GET", "/dashboard/admin/session").status != 200 {
		t.Fatal("second operator session")
	}
	ts.clock.Advance(auth.OperatorSessionLifetime)
	wantProblem(t, b.do("GET", "/dashboard/admin/session"), 401, "unauthorized")
	wantProblem(t, b.do("GET", "/dashboard/admin/accounts"), 401, "unauthorized")
}

func TestOperatorViewIsOffWithoutAdminKey(t *testing.T) {
	ts := newTestServer(t, Config{})
	b := newBrowser(ts)
	wantProblem(t, b.pasteAdminKey("anything"), 404, "admin_disabled")
	wantProblem(t, b.do("GET", "/dashboard/admin/session"), 404, "admin_disabled")
	if len(b.cookies) != 0 {
		t.Fatal("cookie set")
	}
}

func TestDashboardSignInIsRateLimitedPerClientAddress(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey, ClientRateLimitRPS: 1}) // bursts of 2
	token := ts.newAccount("alice")
	b := newBrowser(ts)
	wantProblem(t, b.pasteToken("oct_tok_000000000000_guess1"), 401, "unauthorized")
	wantProblem(t, b.pasteAdminKey("guess2"), 401, "unauthorized")
	// The bucket is empty: the next guess, and even the right token, wait.
	r := b.pasteToken(token)
	wantProblem(t, r, 429, "rate_limited")
	if r.header.Get("Retry-After") == "" || len(b.cookies) != 0 {
		t.Fatalf("429 without Retry-After, or a session: %v %v", r.header, b.cookies)
	}
	wantProblem(t, b.pasteAdminKey(testAdminKey), 429, "rate_limited")
	ts.clock.Advance(2 * time.Second)
	if r := b.pasteToken(token); r.status != 204 {
		t.Fatalf("after the wait: %d %s", r.status, r.raw)
	}
}
