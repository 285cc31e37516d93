package impl

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octostore/octostore/impl/auth"
	"github.com/octostore/octostore/impl/auth/githubtest"
)

// Hostile tests of sign-in and the browser-facing routes (issue 12, findings 6 and 7).
// Part of the hostile suite: go test -run TestHostile -v ./impl.

// Finding 6: 66,000 GET /auth/github used to evict real users' pending sign-ins from a
// 65,536-entry map. The state now travels sealed in the browser's cookie, so 70,000
// sign-ins started by an attacker (from as many addresses, past the per-address limit)
// leave a real user's sign-in in flight intact and the server's memory unchanged.
func TestHostileSignInFlood(t *testing.T) {
	ts, gh := newSignInServer(t)
	victim := newBrowser(ts)
	callback := victim.authorize(victim.start())

	h := ts.http.Config.Handler
	const flood = 70_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	logged := ts.logs.Len() // the test keeps every debug log line in memory; not counted
	t0 := time.Now()
	for i := range flood {
		req := httptest.NewRequest("GET", "/auth/github", nil)
		req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:40000", i>>16&255, i>>8&255, i&255)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusFound {
			t.Fatalf("sign-in %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	took := time.Since(t0)
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc) - int64(ts.logs.Cap()-logged)

	r := victim.do("GET", callback)
	t.Logf("FIGURE sign-in flood: %d GET /auth/github in %s in process; heap %+d KiB after GC (bound 4 MiB); the victim's sign-in started before it: %d",
		flood, took.Round(time.Millisecond), grew>>10, r.status)
	if r.status != http.StatusFound || r.header.Get("Location") != "/dashboard" {
		t.Fatalf("the victim's sign-in was lost: %d %s", r.status, r.raw)
	}
	if grew > 4<<20 {
		t.Fatalf("the server kept %d bytes for %d sign-ins nobody finished", grew, flood)
	}
	if gh.Requests("token") != 1 {
		t.Fatalf("%d code exchanges", gh.Requests("token"))
	}
}

// Unauthenticated GET /auth/github stays limited per client address.
func TestHostileSignInFloodFromOneAddressIsLimited(t *testing.T) {
	ts, _ := newSignInServerWith(t, Config{ClientRateLimitRPS: 10})
	h := ts.http.Config.Handler
	limited := 0
	const n = 200
	for range n {
		req := httptest.NewRequest("GET", "/auth/github", nil)
		req.RemoteAddr = "192.0.2.7:40000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusTooManyRequests {
			limited++
		}
	}
	t.Logf("FIGURE sign-in from one address: %d of %d GET /auth/github refused with 429 (limit 10/s, burst 20)", limited, n)
	if limited < n-40 {
		t.Fatalf("only %d of %d refused", limited, n)
	}
}

// A state cookie that was changed, sealed by another server, or is older than the
// lifetime is refused with 400 signin_failed before GitHub is asked anything.
func TestHostileForgedStateCookies(t *testing.T) {
	ts, gh := newSignInServer(t)
	other, _ := newSignInServer(t) // another deployment: its own database, its own key

	b := newBrowser(ts)
	callback := b.authorize(b.start())
	sealed := b.cookies[stateCookie].Value
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)/2] ^= 0x20
	foreign := newBrowser(other)
	foreign.start()

	for name, value := range map[string]string{
		"tampered":               base64.RawURLEncoding.EncodeToString(flipped),
		"truncated":              sealed[:len(sealed)/2],
		"another server's":       foreign.cookies[stateCookie].Value,
		"the state in the clear": callbackState(t, callback),
		"garbage":                "x",
	} {
		forged := newBrowser(ts)
		forged.cookies[stateCookie] = &http.Cookie{Name: stateCookie, Value: value}
		r := forged.do("GET", callback)
		wantProblem(t, r, http.StatusBadRequest, "signin_failed")
		if r.str("detail") == "" {
			t.Fatalf("%s: no detail", name)
		}
	}
	// Expired: the real cookie, ten minutes on.
	ts.clock.Advance(auth.StateLifetime)
	wantProblem(t, b.do("GET", callback), http.StatusBadRequest, "signin_failed")
	if n := gh.Requests("token"); n != 0 {
		t.Fatalf("%d code exchanges for forged or expired states", n)
	}
	if _, ok := b.cookies[sessionCookie]; ok {
		t.Fatal("a refused callback set a session")
	}
	t.Logf("FIGURE forged state cookies: 5 forgeries and 1 expired cookie refused with 400 signin_failed, 0 code exchanges")
}

func callbackState(t *testing.T, callback string) string {
	t.Helper()
	req := httptest.NewRequest("GET", callback, nil)
	return req.URL.Query().Get("state")
}

// Finding 7: an account an admin names "github-3003" used to block GitHub user 3003 from
// ever signing in (its account would have had that name). GitHub accounts are keyed by
// GitHub id; a name someone else took first changes the new account's name, never
// whether the user gets in.
func TestHostileAccountNameSquatting(t *testing.T) {
	ts, gh := newSignInServerWith(t, Config{AdminKey: testAdminKey})
	squatter, squatterID := ts.newAccountWithID("github-3003")
	gh.SetUser(githubtest.User{ID: 3003, Login: "mona"})

	b := newBrowser(ts)
	if r := b.signIn(); r.status != http.StatusFound {
		t.Fatalf("GitHub user 3003 cannot sign in: %d %s", r.status, r.raw)
	}
	s := b.session()
	mine := s.str("account_id")
	if s.status != 200 || mine == "" || mine == squatterID || s.num("github_user_id") != 3003 {
		t.Fatalf("session: %s", s.raw)
	}
	// The new account's token is its own; the squatter's account is untouched.
	tok, _ := s.body["new_token"].(map[string]any)
	token, _ := tok["token"].(string)
	if r := ts.acquire(token, "job", 60, "w"); r.status != 200 || r.str("status") != "acquired" {
		t.Fatalf("the new account's token: %d %s", r.status, r.raw)
	}
	if r := ts.acquire(squatter, "job", 60, "w"); r.str("status") != "acquired" {
		t.Fatalf("the accounts share locks: %s", r.raw)
	}
	// Signing in again finds the same account by id.
	if again := newBrowser(ts); again.signIn().status != http.StatusFound || again.session().str("account_id") != mine {
		t.Fatal("the second sign-in found another account")
	}
	// The operator tells them apart by github_login.
	list := ts.do("GET", "/admin/accounts", "", nil, "X-Admin-Key", testAdminKey)
	logins := map[string]any{}
	for _, a := range list.body["accounts"].([]any) {
		a := a.(map[string]any)
		logins[a["account_id"].(string)+" "+a["name"].(string)] = a["github_login"]
	}
	t.Logf("FIGURE account name squatting: accounts after GitHub user 3003 signed in: %v", logins)
	if len(logins) != 2 {
		t.Fatalf("accounts: %s", list.raw)
	}
	for k, login := range logins {
		switch {
		case strings.HasPrefix(k, squatterID) && login != nil:
			t.Fatalf("the admin-made account shows github_login %v", login)
		case strings.HasPrefix(k, mine) && login != "mona":
			t.Fatalf("the GitHub account shows github_login %v: %s", login, list.raw)
		}
	}
}

// hostileAvatars is an avatar host that misbehaves in every way the relay must survive.
type hostileAvatars struct {
	*httptest.Server
	release chan struct{}
	mu      sync.Mutex
	hits    map[string]int
}

func newHostileAvatars(t *testing.T) *hostileAvatars {
	h := &hostileAvatars{release: make(chan struct{}), hits: map[string]int{}}
	png := []byte("\x89PNG\r\n\x1a\n" + strings.Repeat("\x00", 64))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /avatars/{kind}", func(w http.ResponseWriter, r *http.Request) {
		kind := r.PathValue("kind")
		h.mu.Lock()
		h.hits[kind]++
		h.mu.Unlock()
		switch kind {
		case "ok", "target":
			w.Header().Set("Content-Type", "image/png")
			w.Write(png)
		case "redirect": // to an address that would be fine on its own
			http.Redirect(w, r, "/avatars/target", http.StatusFound)
		case "huge": // declared
			w.Header().Set("Content-Type", "image/png")
			w.Header().Set("Content-Length", strconv.Itoa(64<<20))
			w.Write(png)
		case "endless": // not declared: streams until the reader stops
			w.Header().Set("Content-Type", "image/png")
			chunk := make([]byte, 64<<10)
			for i := 0; i < 1024 && r.Context().Err() == nil; i++ { // at most 64 MiB
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		case "stall": // headers, then nothing
			w.Header().Set("Content-Type", "image/png")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-h.release:
			}
		case "html":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<script>alert(1)</script>"))
		case "svg":
			w.Header().Set("Content-Type", "image/svg+xml")
			w.Write([]byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`))
		}
	})
	h.Server = httptest.NewServer(mux)
	t.Cleanup(func() { close(h.release); h.Close() })
	return h
}

func (h *hostileAvatars) count(kind string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hits[kind]
}

// Finding 7: /dashboard/avatar fetched any URL GitHub's API returned and followed
// redirects. It now asks only the configured avatar host, follows no redirect, and
// refuses bodies over 1 MiB, answers slower than its time bound and anything but a
// raster image, each with 502 github_unavailable.
func TestHostileAvatars(t *testing.T) {
	evil := newHostileAvatars(t)
	gh := githubtest.NewServer(testRedirectURI)
	t.Cleanup(gh.Close)
	ts := newTestServer(t, Config{GitHub: auth.GitHubConfig{
		ClientID:      gh.ClientID,
		ClientSecret:  gh.ClientSecret,
		RedirectURL:   testRedirectURI,
		BaseURL:       gh.URL,
		APIURL:        gh.APIURL(),
		AvatarURL:     evil.URL + "/avatars/",
		AvatarTimeout: 500 * time.Millisecond,
	}})
	var id int64 = 1
	avatar := func(avatarURL string) (response, time.Duration) {
		t.Helper()
		id++
		gh.SetUser(githubtest.User{ID: id, Login: "user" + strconv.FormatInt(id, 10), AvatarURL: avatarURL})
		b := newBrowser(ts)
		if r := b.signIn(); r.status != http.StatusFound {
			t.Fatalf("sign-in: %d %s", r.status, r.raw)
		}
		t0 := time.Now()
		r := b.do("GET", "/dashboard/avatar")
		return r, time.Since(t0)
	}

	if r, _ := avatar(evil.URL + "/avatars/ok?v=4"); r.status != 200 || r.header.Get("Content-Type") != "image/png" {
		t.Fatalf("a good avatar: %d %s", r.status, r.raw)
	}
	var slowest time.Duration
	for _, c := range []struct{ name, url string }{
		{"redirect", evil.URL + "/avatars/redirect"},
		{"declared 64 MiB", evil.URL + "/avatars/huge"},
		{"endless body", evil.URL + "/avatars/endless"},
		{"stalled body", evil.URL + "/avatars/stall"},
		{"text/html", evil.URL + "/avatars/html"},
		{"svg", evil.URL + "/avatars/svg"},
		{"another host", gh.AvatarURL() + "1"},
		{"outside the avatar path", evil.URL + "/elsewhere/ok"},
		{"dot segments", evil.URL + "/avatars/../elsewhere/ok"},
		{"the same server under another name", strings.Replace(evil.URL, "127.0.0.1", "localhost", 1) + "/avatars/ok"},
	} {
		r, took := avatar(c.url)
		slowest = max(slowest, took)
		if r.status != http.StatusBadGateway || r.str("code") != "github_unavailable" {
			t.Errorf("%s: %d %q, want 502 github_unavailable", c.name, r.status, r.header.Get("Content-Type"))
		}
		if took > 5*time.Second {
			t.Errorf("%s: answered after %s", c.name, took)
		}
	}
	if n := evil.count("target"); n != 0 {
		t.Fatalf("the redirect was followed %d times", n)
	}
	if n := gh.Requests("avatar"); n != 0 {
		t.Fatalf("%d avatar requests to a host that is not the avatar host", n)
	}
	t.Logf("FIGURE hostile avatars: redirect, 64 MiB declared, endless body, stalled body, text/html, svg, other host and path refused with 502; slowest answer %s (avatar time bound 500 ms, test bound 5 s)",
		slowest.Round(time.Millisecond))
}
