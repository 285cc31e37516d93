package impl

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/octostore/octostore/impl/auth"
	"github.com/octostore/octostore/impl/auth/githubtest"
	"github.com/octostore/octostore/impl/lease"
)

// Revocation (issue 12, finding 5): token lists and labels, account deletion, dashboard
// session bounds. The "revoked at once on every route" promise is in hostile_test.go.

func (ts *testServer) admin(method, path string, body any) response {
	ts.t.Helper()
	return ts.do(method, path, "", body, "X-Admin-Key", testAdminKey)
}

// newRevocationServer is a server with the admin API and GitHub sign-in.
func newRevocationServer(t *testing.T, cfg Config) (*testServer, *githubtest.Server) {
	t.Helper()
	gh := githubtest.NewServer(testRedirectURI)
	t.Cleanup(gh.Close)
	cfg.AdminKey = testAdminKey
	cfg.GitHub = auth.GitHubConfig{
		ClientID:     gh.ClientID,
		ClientSecret: gh.ClientSecret,
		RedirectURL:  testRedirectURI,
		BaseURL:      gh.URL,
		APIURL:       gh.APIURL(),
	}
	return newTestServer(t, cfg), gh
}

// Deleting an account releases its locks through the engine: its waiting requests are
// answered 401 at once, the locks' revisions move (what a watcher waits on), the release
// is durable, another account is untouched, fencing tokens keep increasing, and the name
// can be used again.
func TestDeleteAccountReleasesItsLocksThroughTheEngine(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	doomed, acc := ts.newAccountWithID("doomed")
	second := ts.admin("POST", "/admin/accounts/"+acc+"/tokens", nil).str("token")
	other := ts.newAccount("other")

	job := ts.acquire(doomed, "job", 3600, "a")
	ts.acquire(doomed, "cron", 3600, "a")
	theirs := ts.acquire(other, "job", 3600, "b")
	k := ts.key(doomed, "job")
	rev := ts.do("GET", "/locks/job", second, nil).num("revision")
	watch := ts.send(ctx, "GET", fmt.Sprintf("/locks/job?index=%d&wait_seconds=60", rev), second, nil)
	eventually(t, "the watch waits", func() bool { return ts.watchersOf(k) == 1 })
	waiter := ts.queue(ctx, second, "job", "waiter", 60)
	// Another account's waiter on its own lock of the same name must stay in line.
	theirWaiter := ts.queue(ctx, other, "job", "b-waiter", 60)

	t0 := time.Now()
	if r := ts.admin("DELETE", "/admin/accounts/"+acc, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	wantProblem(t, receive(t, watch), 401, "unauthorized")
	wantProblem(t, receive(t, waiter), 401, "unauthorized")
	answered := time.Since(t0)
	pending(theirWaiter)

	ts.srv.mu.Lock()
	count, revNow := ts.srv.engine.Count(acc), ts.srv.engine.Revision(k)
	ts.srv.mu.Unlock()
	if count != 0 || revNow <= rev {
		t.Fatalf("after the delete: %d locks, revision %d (was %d)", count, revNow, rev)
	}
	wantProblem(t, ts.do("GET", "/locks", doomed, nil), 401, "unauthorized")
	wantProblem(t, ts.admin("GET", "/admin/accounts/"+acc+"/tokens", nil), 404, "account_not_found")
	wantProblem(t, ts.admin("DELETE", "/admin/accounts/"+acc, nil), 404, "account_not_found")

	// The other account's lock of the same name is its own, still held and renewable.
	if r := ts.do("GET", "/locks/job", other, nil); r.str("status") != "held" || r.num("fencing_token") != theirs.num("fencing_token") {
		t.Fatalf("other account's lock: %s", r.raw)
	}
	if r := ts.do("POST", "/locks/job/renew", other, map[string]any{"lease_id": theirs.str("lease_id"), "ttl_seconds": 60}); r.status != 200 {
		t.Fatalf("other account's renew: %d %s", r.status, r.raw)
	}

	// The name is free again; fencing tokens go on above every token issued before.
	again, _ := ts.newAccountWithID("doomed")
	fresh := ts.acquire(again, "job", 60, "a")
	if fresh.str("status") != "acquired" || fresh.num("fencing_token") <= max(job.num("fencing_token"), theirs.num("fencing_token")) {
		t.Fatalf("new account's acquire: %s (deleted lease had %d)", fresh.raw, job.num("fencing_token"))
	}

	// The release is durable: a restart restores no lease of the deleted account.
	ts.restart()
	ts.srv.mu.Lock()
	count = ts.srv.engine.Count(acc)
	ts.srv.mu.Unlock()
	if count != 0 {
		t.Fatalf("a restart restored %d leases of the deleted account", count)
	}
	t.Logf("FIGURE account deletion: 2 locks released, a watch and a blocking acquire answered 401 %s after DELETE (their wait was 60 s on a clock that never moved); another account's waiter still waiting",
		answered.Round(time.Millisecond))
}

// Token creation takes an optional label; the list shows labels and last use, never a
// secret; the number of tokens is bounded; bad ids and labels are 400, unknown ones 404.
func TestTokenLabelsListAndBounds(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey, MaxTokensPerAccount: 4})
	r := ts.admin("POST", "/admin/accounts", map[string]any{"name": "ci", "token_name": "first"})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	first, acc := r.str("token"), r.str("account_id")
	otherToken, otherAcc := ts.newAccountWithID("other")
	_ = otherToken
	// An empty body, {} and a label all work; curl -d sends a form content type. (The
	// clock moves between creations, so the list's order is fixed.)
	ts.clock.Advance(time.Millisecond)
	if r := ts.rawPOST("/admin/accounts/"+acc+"/tokens", "application/json", "", "X-Admin-Key", testAdminKey); r.status != 201 {
		t.Fatalf("empty body: %d %s", r.status, r.raw)
	}
	ts.clock.Advance(time.Millisecond)
	if r := ts.rawPOST("/admin/accounts/"+acc+"/tokens", "application/x-www-form-urlencoded", "{}", "X-Admin-Key", testAdminKey); r.status != 201 {
		t.Fatalf("{}: %d %s", r.status, r.raw)
	}
	ts.clock.Advance(time.Millisecond)
	labelled := ts.admin("POST", "/admin/accounts/"+acc+"/tokens", map[string]any{"name": "billing-worker"})
	if labelled.status != 201 {
		t.Fatalf("labelled: %d %s", labelled.status, labelled.raw)
	}
	wantProblem(t, ts.admin("POST", "/admin/accounts/"+acc+"/tokens", map[string]any{"name": "billing-worker"}), 409, "token_limit_exceeded")
	for _, bad := range []any{
		map[string]any{"name": "has space"}, map[string]any{"name": strings.Repeat("x", 65)}, map[string]any{"name": ""},
		map[string]any{"name": 7}, map[string]any{"label": "x"}, map[string]any{"name": "é"},
	} {
		wantProblem(t, ts.admin("POST", "/admin/accounts/"+otherAcc+"/tokens", bad), 400, "invalid_request")
	}
	wantProblem(t, ts.admin("POST", "/admin/accounts", map[string]any{"name": "x", "token_name": "no/slash"}), 400, "invalid_request")

	ts.clock.Advance(90 * time.Second)
	used := ts.clock.Now().Wall
	ts.do("GET", "/locks", first, nil)
	list := ts.admin("GET", "/admin/accounts/"+acc+"/tokens", nil)
	tokens, _ := list.body["tokens"].([]any)
	if list.status != 200 || len(tokens) != 4 || strings.Contains(string(list.raw), "oct_") || strings.Contains(string(list.raw), "hash") {
		t.Fatalf("list: %d %s", list.status, list.raw)
	}
	t0, _ := tokens[0].(map[string]any)
	t1, _ := tokens[1].(map[string]any)
	t3, _ := tokens[3].(map[string]any)
	if t0["name"] != "first" || !sameTime(t0["last_used_at"], used) || t1["name"] != nil || t1["last_used_at"] != nil || t3["name"] != "billing-worker" {
		t.Fatalf("list: %s", list.raw)
	}
	// Last use survives a clean restart (written at shutdown).
	ts.restart()
	list = ts.admin("GET", "/admin/accounts/"+acc+"/tokens", nil)
	tokens, _ = list.body["tokens"].([]any)
	if t0, _ := tokens[0].(map[string]any); !sameTime(t0["last_used_at"], used) {
		t.Fatalf("after restart: %s", list.raw)
	}

	// Bad and unknown ids.
	wantProblem(t, ts.admin("DELETE", "/admin/accounts/nope", nil), 400, "invalid_request")
	wantProblem(t, ts.admin("GET", "/admin/accounts/nope/tokens", nil), 400, "invalid_request")
	wantProblem(t, ts.admin("DELETE", "/admin/accounts/"+acc+"/tokens/tok_BAD", nil), 400, "invalid_request")
	wantProblem(t, ts.admin("DELETE", "/admin/accounts/acc_aaaaaaaaaaaa", nil), 404, "account_not_found")
	wantProblem(t, ts.admin("GET", "/admin/accounts/acc_aaaaaaaaaaaa/tokens", nil), 404, "account_not_found")
	wantProblem(t, ts.admin("DELETE", "/admin/accounts/acc_aaaaaaaaaaaa/tokens/tok_aaaaaaaaaaaa", nil), 404, "account_not_found")
	wantProblem(t, ts.admin("DELETE", "/admin/accounts/"+acc+"/tokens/tok_aaaaaaaaaaaa", nil), 404, "token_not_found")
	// Another account's token is not this account's to revoke.
	p, _ := ts.srv.auth.Authenticate(first)
	wantProblem(t, ts.admin("DELETE", "/admin/accounts/"+otherAcc+"/tokens/"+p.TokenID, nil), 404, "token_not_found")
	if ts.do("GET", "/locks", first, nil).status != 200 {
		t.Fatal("a refused revocation revoked the token")
	}
	// Revoking frees a slot; the revoked id is gone from the list and 404 the next time.
	if r := ts.admin("DELETE", "/admin/accounts/"+acc+"/tokens/"+p.TokenID, nil); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	wantProblem(t, ts.admin("DELETE", "/admin/accounts/"+acc+"/tokens/"+p.TokenID, nil), 404, "token_not_found")
	if r := ts.admin("POST", "/admin/accounts/"+acc+"/tokens", nil); r.status != 201 {
		t.Fatalf("after a revocation: %d %s", r.status, r.raw)
	}
	wantProblem(t, ts.do("GET", "/admin/accounts/"+acc+"/tokens", "", nil, "X-Admin-Key", "wrong-admin-key-0123"), 401, "unauthorized")
}

// A dashboard session ends after SESSION_IDLE_TIMEOUT without use, while one in use lasts.
func TestSessionIdleTimeout(t *testing.T) {
	const idle = time.Hour
	ts, _ := newRevocationServer(t, Config{Sessions: auth.SessionConfig{IdleTimeout: idle}})
	busy, idler := newBrowser(ts), newBrowser(ts)
	busy.signIn()
	idler.signIn()
	// busy is used every 50 minutes for 5 hours; idler only at the end.
	for range 6 {
		ts.clock.Advance(50 * time.Minute)
		if r := busy.session(); r.status != 200 {
			t.Fatalf("a session in use ended: %d %s", r.status, r.raw)
		}
	}
	wantProblem(t, idler.session(), 401, "unauthorized")
	// Just under the timeout is still alive; at it, not.
	ts.clock.Advance(idle - time.Second)
	if busy.session().status != 200 {
		t.Fatal("ended before the idle timeout")
	}
	ts.clock.Advance(idle)
	wantProblem(t, busy.session(), 401, "unauthorized")
	t.Logf("FIGURE session idle timeout %s: a session used every 50 min lived 5 h+; one idle for 5 h was refused; one idle for exactly %s was refused", idle, idle)
}

// An account keeps at most MAX_SESSIONS_PER_ACCOUNT sessions: 400 sign-ins leave the
// newest 10 (on main, one user had 403 live sessions after 400 sign-ins).
func TestSessionsPerAccountAreBounded(t *testing.T) {
	ts, _ := newRevocationServer(t, Config{})
	const signIns = 400
	browsers := make([]*browser, signIns)
	for i := range browsers {
		browsers[i] = newBrowser(ts)
		if r := browsers[i].signIn(); r.status != http.StatusFound {
			t.Fatalf("sign-in %d: %d %s", i, r.status, r.raw)
		}
		ts.clock.Advance(time.Millisecond) // distinct creation times
	}
	alive := 0
	for i, b := range browsers {
		if b.session().status == 200 {
			alive++
			if i < signIns-auth.DefaultMaxSessionsPerAccount {
				t.Fatalf("session %d of %d is alive: the oldest should end first", i, signIns)
			}
		}
	}
	t.Logf("FIGURE sessions: %d live sessions after %d sign-ins of one user (bound %d)", alive, signIns, auth.DefaultMaxSessionsPerAccount)
	if alive != auth.DefaultMaxSessionsPerAccount {
		t.Fatalf("%d live sessions after %d sign-ins", alive, signIns)
	}
}

// Sign-out-everywhere ends every session of the account (same CSRF rules as sign-out);
// the token keeps working and signing in again works.
func TestSignOutEverywhere(t *testing.T) {
	ts, _ := newRevocationServer(t, Config{})
	a, b := newBrowser(ts), newBrowser(ts)
	a.signIn()
	fresh, _ := a.session().body["new_token"].(map[string]any)
	token, _ := fresh["token"].(string)
	b.signIn()
	csrf := a.session().str("csrf_token")
	wantProblem(t, a.do("POST", "/dashboard/sign-out-everywhere"), 403, "forbidden")
	wantProblem(t, a.do("POST", "/dashboard/sign-out-everywhere", "X-CSRF-Token", csrf, "Sec-Fetch-Site", "cross-site"), 403, "forbidden")
	wantProblem(t, a.post("/dashboard/sign-out-everywhere", b.session().str("csrf_token")), 403, "forbidden")
	if a.session().status != 200 || b.session().status != 200 {
		t.Fatal("a refused sign-out-everywhere ended a session")
	}
	r := a.post("/dashboard/sign-out-everywhere", csrf)
	if r.status != http.StatusNoContent {
		t.Fatalf("sign out everywhere: %d %s", r.status, r.raw)
	}
	if c := a.set[sessionCookie]; c.MaxAge >= 0 || c.Value != "" {
		t.Fatalf("cookie not cleared: %+v", c)
	}
	wantProblem(t, b.session(), 401, "unauthorized")
	wantProblem(t, b.do("GET", "/dashboard/locks"), 401, "unauthorized")
	if ts.do("GET", "/locks", token, nil).status != 200 {
		t.Fatal("sign-out-everywhere revoked the token")
	}
	c := newBrowser(ts)
	c.signIn()
	if s := c.session(); s.status != 200 {
		t.Fatalf("sign in again: %d", s.status)
	}
}

// Revoking the token a GitHub sign-in issued ends every dashboard session of the
// account; the next sign-in issues (and shows once) a new token. Deleting the account
// ends them too, and the next sign-in creates a new account.
func TestRevokingTheSignInTokenEndsTheAccountsSessions(t *testing.T) {
	ts, _ := newRevocationServer(t, Config{})
	a, b := newBrowser(ts), newBrowser(ts)
	a.signIn()
	s := a.session()
	fresh, _ := s.body["new_token"].(map[string]any)
	token, _ := fresh["token"].(string)
	acc, tokID := s.str("account_id"), s.str("token_id")
	b.signIn()
	if r := ts.admin("DELETE", "/admin/accounts/"+acc+"/tokens/"+tokID, nil); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	wantProblem(t, a.session(), 401, "unauthorized")
	wantProblem(t, b.session(), 401, "unauthorized")
	wantProblem(t, ts.do("GET", "/locks", token, nil), 401, "unauthorized")

	c := newBrowser(ts)
	c.signIn()
	s = c.session()
	fresh, _ = s.body["new_token"].(map[string]any)
	token2, _ := fresh["token"].(string)
	if s.status != 200 || s.str("account_id") != acc || s.str("token_id") == tokID || !strings.HasPrefix(token2, "oct_tok_") {
		t.Fatalf("sign in after revocation: %s", s.raw)
	}
	if ts.do("GET", "/locks", token2, nil).status != 200 {
		t.Fatal("the reissued token does not work")
	}
	wantProblem(t, ts.do("GET", "/locks", token, nil), 401, "unauthorized")
	// The token rotated from the dashboard is the new one.
	if r := c.post("/dashboard/token/rotate", s.str("csrf_token")); r.status != 200 || r.str("token_id") != s.str("token_id") {
		t.Fatalf("rotate after relink: %d %s", r.status, r.raw)
	}
	ts.restart()
	if c.session().status != 200 {
		t.Fatal("the relinked session did not survive a restart")
	}

	// Deleting the account ends the sessions; the next sign-in makes a new account.
	if r := ts.admin("DELETE", "/admin/accounts/"+acc, nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	wantProblem(t, c.session(), 401, "unauthorized")
	d := newBrowser(ts)
	d.signIn()
	if s := d.session(); s.status != 200 || s.str("account_id") == acc || s.body["new_token"] == nil {
		t.Fatalf("sign in after deletion: %s", s.raw)
	}
}

// A token revoked while a request that authenticated with it is in flight takes no lock:
// the engine refuses acquires of dead tokens.
func TestAcquireOfARevokedTokenIsRefusedByTheEngine(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	token, acc := ts.newAccountWithID("late")
	p, _ := ts.srv.auth.Authenticate(token)
	if r := ts.admin("DELETE", "/admin/accounts/"+acc+"/tokens/"+p.TokenID, nil); r.status != 204 {
		t.Fatal(r.status)
	}
	_, err := ts.srv.apply(context.Background(), lease.Acquire{Key: lease.Key{Account: acc, Name: "job"}, Holder: lease.Holder{TokenID: p.TokenID}, TTL: time.Minute, LeaseID: "x"})
	if err == nil || ts.srv.engine.Count(acc) != 0 {
		t.Fatalf("an acquire with a revoked token was applied: %v", err)
	}
}

// sameTime reports whether v is an RFC 3339 string for the millisecond of want.
func sameTime(v any, want time.Time) bool {
	s, _ := v.(string)
	got, err := time.Parse(time.RFC3339Nano, s)
	return err == nil && got.Equal(timestamp(want))
}

// A revoked token's blocking acquires leave their lines inside the revocation itself:
// a release right after it hands the lock to nobody, rather than to a dead token whose
// holder could then neither renew nor release it.
func TestRevocationTakesTheTokensWaitersOutOfLineAtOnce(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	keeper, acc := ts.newAccountWithID("line")
	victim := ts.admin("POST", "/admin/accounts/"+acc+"/tokens", nil).str("token")
	held := ts.acquire(keeper, "job", 30, "keeper")
	waiter := ts.queue(context.Background(), victim, "job", "victim", 60)
	k := ts.key(keeper, "job")
	p, _ := ts.srv.auth.Authenticate(victim)
	if err := ts.srv.revoke(context.Background(), acc, p.TokenID); err != nil {
		t.Fatal(err)
	}
	// Straight after the revocation, before the waiting request had a chance to run.
	ts.srv.mu.Lock()
	inLine := ts.srv.engine.Waiters(k)
	res, err := ts.srv.applyLocked(lease.Release{Key: k, LeaseID: held.str("lease_id")})
	ts.srv.mu.Unlock()
	if inLine != 0 || err != nil || len(res.Handoffs) != 0 {
		t.Fatalf("after the revocation: %d in line; the release handed the lock on: %+v (%v)", inLine, res.Handoffs, err)
	}
	wantProblem(t, receive(t, waiter), 401, "unauthorized")
	if r := ts.do("GET", "/locks/job", keeper, nil); r.str("status") != "free" {
		t.Fatalf("the lock: %s", r.raw)
	}
}
