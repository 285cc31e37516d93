package impl

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// The HTTP surface of sessions, ephemeral locks, lock-delay, semaphores, prefix lists and
// watches, and operator force-release (issue 16). The engine's own tests are in
// impl/lease/primitives_test.go; these check the translation and the wiring.

var sessionIDPattern = regexp.MustCompile(`^ses_[0-9a-f]{32}$`)

// session creates a session of ttl seconds and returns its id.
func (ts *testServer) session(token string, ttl int) string {
	ts.t.Helper()
	r := ts.do("POST", "/sessions", token, map[string]any{"ttl_seconds": ttl})
	if r.status != http.StatusCreated || !sessionIDPattern.MatchString(r.str("session_id")) {
		ts.t.Fatalf("create session: %d %s", r.status, r.raw)
	}
	return r.str("session_id")
}

func (ts *testServer) acquireWith(token, name string, body map[string]any) response {
	ts.t.Helper()
	if _, ok := body["ttl_seconds"]; !ok {
		body["ttl_seconds"] = 30
	}
	return ts.do("POST", "/locks/"+name+"/acquire", token, body)
}

// nullField says whether the answer has field, as JSON null (not merely absent).
func nullField(r response, field string) bool {
	v, ok := r.body[field]
	return ok && v == nil
}

func holders(r response) []map[string]any {
	list, _ := r.body["holders"].([]any)
	out := make([]map[string]any, len(list))
	for i, h := range list {
		out[i], _ = h.(map[string]any)
	}
	return out
}

func TestSessionEndpoints(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	token := ts.newAccount("sessions")
	other := ts.newAccount("others")

	for _, ttl := range []any{0, 3601, -1, "15", 1.5} {
		wantProblem(t, ts.do("POST", "/sessions", token, map[string]any{"ttl_seconds": ttl}), 400, "invalid_ttl")
	}
	wantProblem(t, ts.do("POST", "/sessions", token, map[string]any{}), 400, "invalid_ttl")
	wantProblem(t, ts.do("POST", "/sessions", token, map[string]any{"ttl_seconds": 15, "extra": 1}), 400, "invalid_request")
	wantProblem(t, ts.do("POST", "/sessions", "", map[string]any{"ttl_seconds": 15}), 401, "unauthorized")

	r := ts.do("POST", "/sessions", token, map[string]any{"ttl_seconds": 15})
	if r.status != 201 || r.num("ttl_seconds") != 15 || r.str("expires_at") != "2026-02-12T00:00:15Z" || r.num("renew_after_ms") != 5000 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	id := r.str("session_id")
	if !sessionIDPattern.MatchString(id) || id == ts.session(token, 15) {
		t.Fatalf("session ids: %q", id)
	}

	ts.clock.Advance(6 * time.Second)
	r = ts.do("POST", "/sessions/"+id+"/renew", token, nil)
	if r.status != 200 || r.str("expires_at") != "2026-02-12T00:00:21Z" || r.str("session_id") != id {
		t.Fatalf("renew: %d %s", r.status, r.raw)
	}
	if r := ts.do("POST", "/sessions/"+id+"/renew", token, "{}"); r.status != 200 {
		t.Fatalf("renew with {}: %d %s", r.status, r.raw)
	}
	ts.acquireWith(token, "leader", map[string]any{"session_id": id, "owner": "me"})
	r = ts.do("GET", "/sessions/"+id, token, nil)
	locks, _ := r.body["locks"].([]any)
	if r.status != 200 || len(locks) != 1 || locks[0].(map[string]any)["name"] != "leader" {
		t.Fatalf("get: %d %s", r.status, r.raw)
	}

	// Another account's session does not exist for this one; malformed ids are 400.
	wantProblem(t, ts.do("GET", "/sessions/"+id, other, nil), 404, "session_not_found")
	wantProblem(t, ts.do("POST", "/sessions/"+id+"/renew", other, nil), 404, "session_not_found")
	wantProblem(t, ts.do("DELETE", "/sessions/"+id, other, nil), 404, "session_not_found")
	wantProblem(t, ts.do("GET", "/sessions/ses_nope", token, nil), 400, "invalid_request")
	unknown := "ses_" + strings.Repeat("0", 32)
	wantProblem(t, ts.do("GET", "/sessions/"+unknown, token, nil), 404, "session_not_found")

	if r := ts.do("DELETE", "/sessions/"+id, token, nil); r.status != 204 || len(r.raw) != 0 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	wantProblem(t, ts.do("DELETE", "/sessions/"+id, token, nil), 404, "session_not_found")
	wantProblem(t, ts.do("GET", "/sessions/"+id, token, nil), 404, "session_not_found")
	wantProblem(t, ts.do("POST", "/sessions/"+id+"/renew", token, nil), 404, "session_not_found")
	if r := ts.do("GET", "/locks/leader", token, nil); r.str("status") != "free" {
		t.Fatalf("the session's lock outlived it: %s", r.raw)
	}
}

func TestSessionLimitIsASetting(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey, MaxLockSessionsPerAccount: 2})
	token := ts.newAccount("limited")
	ts.session(token, 10)
	ts.session(token, 10)
	r := ts.do("POST", "/sessions", token, map[string]any{"ttl_seconds": 10})
	wantProblem(t, r, 409, "session_limit_exceeded")
	if !strings.Contains(r.str("detail"), "2 sessions") {
		t.Fatalf("detail: %s", r.raw)
	}
	// Another account is not affected; an expired session frees a place.
	ts.session(ts.newAccount("neighbour"), 10)
	ts.clock.Advance(11 * time.Second)
	ts.session(token, 10)
}

func TestEphemeralLockLivesExactlyAsLongAsItsSession(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	token := ts.newAccount("ephemeral")
	id := ts.session(token, 10)
	// No ttl_seconds: the session's TTL rules (one sent is ignored).
	r := ts.do("POST", "/locks/leader/acquire", token, map[string]any{"session_id": id, "owner": "a"})
	if r.str("status") != "acquired" || r.str("expires_at") != "2026-02-12T00:00:10Z" {
		t.Fatalf("acquire through the session: %s", r.raw)
	}
	if r := ts.acquireWith(token, "leader", map[string]any{"session_id": id, "owner": "a", "ttl_seconds": 3600}); r.str("status") != "acquired" || r.str("expires_at") != "2026-02-12T00:00:10Z" {
		t.Fatalf("re-acquire through the session with a ttl_seconds: %s", r.raw)
	}
	// Without a session, ttl_seconds is required.
	wantProblem(t, ts.do("POST", "/locks/other/acquire", token, map[string]any{"owner": "a"}), 400, "invalid_ttl")
	if r := ts.do("GET", "/locks/other", token, nil); r.str("status") != "free" {
		t.Fatalf("an acquire without ttl_seconds changed the lock: %s", r.raw)
	}
	// Renewing the session renews the lock; the lock's own renew renews the session.
	for range 3 {
		ts.clock.Advance(8 * time.Second)
		if r := ts.do("POST", "/sessions/"+id+"/renew", token, nil); r.status != 200 {
			t.Fatalf("renew: %s", r.raw)
		}
	}
	if r := ts.do("GET", "/locks/leader", token, nil); r.str("status") != "held" || r.str("expires_at") != "2026-02-12T00:00:34Z" {
		t.Fatalf("after renewals: %s", r.raw)
	}
	// The session expires: the lock ends with it.
	ts.clock.Advance(11 * time.Second)
	if r := ts.do("GET", "/locks/leader", token, nil); r.str("status") != "free" {
		t.Fatalf("the lock outlived its session: %s", r.raw)
	}
	wantProblem(t, ts.do("GET", "/sessions/"+id, token, nil), 404, "session_not_found")
	wantProblem(t, ts.acquireWith(token, "leader", map[string]any{"session_id": id}), 404, "session_not_found")
	if r := ts.do("GET", "/locks/leader", token, nil); r.str("status") != "free" {
		t.Fatalf("an acquire through a dead session changed the lock: %s", r.raw)
	}
}

func TestSessionMismatchAndMaxHoldersMismatch(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	token := ts.newAccount("mismatch")
	id := ts.session(token, 30)
	first := ts.acquireWith(token, "job", map[string]any{"owner": "w"})
	wantProblem(t, ts.acquireWith(token, "job", map[string]any{"owner": "w", "session_id": id}), 409, "session_mismatch")
	wantProblem(t, ts.acquireWith(token, "job", map[string]any{"owner": "x", "max_holders": 2}), 409, "max_holders_mismatch")
	for _, n := range []any{0, 65, "3"} {
		wantProblem(t, ts.acquireWith(token, "job", map[string]any{"max_holders": n}), 400, "invalid_request")
	}
	for _, d := range []any{-1, 61} {
		wantProblem(t, ts.acquireWith(token, "job", map[string]any{"lock_delay_seconds": d}), 400, "invalid_request")
	}
	wantProblem(t, ts.acquireWith(token, "job", map[string]any{"session_id": "ses_x"}), 400, "invalid_request")
	if r := ts.acquireWith(token, "job", map[string]any{"owner": "w"}); r.str("lease_id") != first.str("lease_id") {
		t.Fatalf("the refusals changed the lease: %s", r.raw)
	}
}

func TestSemaphoreOverHTTP(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	token := ts.newAccount("pool")
	var tokens []int64
	for i := range 3 {
		r := ts.acquireWith(token, "pool", map[string]any{"owner": fmt.Sprint("w", i), "max_holders": 3})
		if r.str("status") != "acquired" {
			t.Fatalf("holder %d: %s", i, r.raw)
		}
		if len(tokens) > 0 && r.num("fencing_token") <= tokens[len(tokens)-1] {
			t.Fatalf("tokens do not increase: %v then %s", tokens, r.raw)
		}
		tokens = append(tokens, r.num("fencing_token"))
	}
	r := ts.acquireWith(token, "pool", map[string]any{"owner": "w3", "max_holders": 3})
	if r.str("status") != "held" || !strings.HasSuffix(r.str("holder_id"), "/w0") {
		t.Fatalf("the fourth: %s", r.raw)
	}
	r = ts.do("GET", "/locks/pool", token, nil)
	hs := holders(r)
	if r.str("status") != "held" || r.num("max_holders") != 3 || len(hs) != 3 || r.num("fencing_token") != tokens[0] {
		t.Fatalf("status: %s", r.raw)
	}
	for i, h := range hs {
		if int64(h["fencing_token"].(float64)) != tokens[i] {
			t.Fatalf("holder %d: %v", i, h)
		}
	}
	// A waiter gets the first place freed.
	ch := ts.send(context.Background(), "POST", "/locks/pool/acquire", token, map[string]any{"ttl_seconds": 30, "owner": "w3", "max_holders": 3, "wait_seconds": 30})
	eventually(t, "w3 waits", func() bool { return ts.waitersOf(ts.key(token, "pool")) == 1 })
	ts.clock.Advance(31 * time.Second) // every lease expires; the wait's end too
	got := receive(t, ch)
	if got.str("status") != "acquired" || got.num("fencing_token") <= tokens[2] {
		t.Fatalf("waiter: %s", got.raw)
	}
}

func TestLockDelayOverHTTP(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	token := ts.newAccount("delay")
	if r := ts.acquireWith(token, "printer", map[string]any{"owner": "a", "ttl_seconds": 5, "lock_delay_seconds": 10}); r.str("status") != "acquired" {
		t.Fatalf("acquire: %s", r.raw)
	}
	ts.clock.Advance(6 * time.Second) // expired at 5 s; the delay runs until 15 s
	r := ts.acquireWith(token, "printer", map[string]any{"owner": "b"})
	if r.status != 200 || r.str("status") != "held" || !nullField(r, "holder_id") || r.str("available_at") != "2026-02-12T00:00:15Z" ||
		r.str("expires_at") != "2026-02-12T00:00:15Z" || r.num("retry_after_ms") != 9000 {
		t.Fatalf("acquire during the delay: %d %s", r.status, r.raw)
	}
	r = ts.do("GET", "/locks/printer", token, nil)
	if r.str("status") != "held" || !nullField(r, "holder_id") || r.str("available_at") != "2026-02-12T00:00:15Z" || len(holders(r)) != 0 {
		t.Fatalf("status during the delay: %s", r.raw)
	}
	// A blocking acquirer waits for the delay's end.
	ch := ts.send(context.Background(), "POST", "/locks/printer/acquire", token, map[string]any{"ttl_seconds": 30, "owner": "c", "wait_seconds": 60})
	eventually(t, "c waits", func() bool { return ts.waitersOf(ts.key(token, "printer")) == 1 })
	ts.clock.Advance(9 * time.Second)
	if got := receive(t, ch); got.str("status") != "acquired" {
		t.Fatalf("waiter after the delay: %s", got.raw)
	}

	// A clean release starts no delay.
	ts.acquireWith(token, "clean", map[string]any{"owner": "a", "lock_delay_seconds": 60})
	r = ts.acquireWith(token, "clean", map[string]any{"owner": "a", "lock_delay_seconds": 60})
	ts.do("POST", "/locks/clean/release", token, map[string]any{"lease_id": r.str("lease_id")})
	if r := ts.acquireWith(token, "clean", map[string]any{"owner": "b"}); r.str("status") != "acquired" {
		t.Fatalf("a release started a lock-delay: %s", r.raw)
	}
}

func TestForceReleaseEndsTheLeaseAndGrantsTheNextWaiter(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	token, account := ts.newAccountWithID("forced")
	admin := []string{"X-Admin-Key", testAdminKey}
	held := ts.acquireWith(token, "stuck", map[string]any{"owner": "a", "ttl_seconds": 3600, "lock_delay_seconds": 60})
	ch := ts.send(context.Background(), "POST", "/locks/stuck/acquire", token, map[string]any{"ttl_seconds": 30, "owner": "b", "wait_seconds": 60})
	eventually(t, "b waits", func() bool { return ts.waitersOf(ts.key(token, "stuck")) == 1 })

	path := "/admin/accounts/" + account + "/locks/stuck/release"
	wantProblem(t, ts.do("POST", path, "", nil), 401, "unauthorized")
	wantProblem(t, ts.do("POST", path, "", nil, "X-Admin-Key", "wrong-key-wrong-key-wrong"), 401, "unauthorized")
	wantProblem(t, ts.do("POST", path, token, nil), 401, "unauthorized")
	wantProblem(t, ts.do("POST", "/admin/accounts/acc_000000000000/locks/stuck/release", "", nil, admin...), 404, "account_not_found")
	wantProblem(t, ts.do("POST", "/admin/accounts/"+account+"/locks/bad~name/release", "", nil, admin...), 400, "invalid_lock_name")
	if !pending(ch) {
		t.Fatal("refused force-releases ended the lease")
	}

	r := ts.do("POST", path, "", "{}", admin...)
	tokens, _ := r.body["fencing_tokens"].([]any)
	if r.status != 200 || r.str("name") != "stuck" || len(tokens) != 1 || int64(tokens[0].(float64)) != held.num("fencing_token") {
		t.Fatalf("force-release: %d %s", r.status, r.raw)
	}
	got := receive(t, ch)
	if got.str("status") != "acquired" || got.num("fencing_token") <= held.num("fencing_token") {
		t.Fatalf("the next waiter: %s", got.raw)
	}
	wantProblem(t, ts.do("POST", "/locks/stuck/renew", token, map[string]any{"lease_id": held.str("lease_id"), "ttl_seconds": 30}), 409, "lease_not_current")
	wantProblem(t, ts.do("POST", "/locks/stuck/release", token, map[string]any{"lease_id": held.str("lease_id")}), 409, "lease_not_current")

	logs := ts.logs.String()
	line := ""
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "lock force-released") {
			line = l
		}
	}
	if !strings.Contains(line, `who="admin key"`) || !strings.Contains(line, "account_id="+account) || !strings.Contains(line, "lock=stuck") ||
		!strings.Contains(line, fmt.Sprint(held.num("fencing_token"))) || strings.Contains(logs, held.str("lease_id")) {
		t.Fatalf("audit line %q", line)
	}

	// A free lock: nothing to end, not an error.
	r = ts.do("POST", "/admin/accounts/"+account+"/locks/never/release", "", nil, admin...)
	if tokens, _ := r.body["fencing_tokens"].([]any); r.status != 200 || len(tokens) != 0 {
		t.Fatalf("free lock: %d %s", r.status, r.raw)
	}
}

func TestPrefixListIsPagedAndCarriesTheIndex(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	token := ts.newAccount("prefix")
	for _, n := range []string{"jobs.a", "jobs.b", "jobs.c", "other"} {
		ts.acquireWith(token, n, map[string]any{"owner": "o"})
	}
	r := ts.do("GET", "/locks?prefix=jobs.", token, nil)
	locks, _ := r.body["locks"].([]any)
	if r.status != 200 || len(locks) != 3 || r.num("index") == 0 {
		t.Fatalf("prefix list: %s", r.raw)
	}
	var names []string
	for cursor, page := "", 0; page < 10; page++ {
		q := url.Values{"prefix": {"jobs."}, "limit": {"1"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r := ts.do("GET", "/locks?"+q.Encode(), token, nil)
		locks, _ := r.body["locks"].([]any)
		if r.status != 200 || len(locks) != 1 {
			t.Fatalf("page %d: %s", page, r.raw)
		}
		names = append(names, locks[0].(map[string]any)["name"].(string))
		if cursor = r.str("next_cursor"); cursor == "" {
			break
		}
	}
	if strings.Join(names, ",") != "jobs.a,jobs.b,jobs.c" {
		t.Fatalf("pages: %v", names)
	}
	// A cursor of the plain list is not one of this prefix's.
	plain := ts.do("GET", "/locks?limit=1", token, nil)
	wantProblem(t, ts.do("GET", "/locks?prefix=jobs.&cursor="+plain.str("next_cursor"), token, nil), 400, "invalid_cursor")
	wantProblem(t, ts.do("GET", "/locks?index=1", token, nil), 400, "invalid_request")
	wantProblem(t, ts.do("GET", "/locks?prefix=a~b", token, nil), 400, "invalid_request")
	wantProblem(t, ts.do("GET", "/locks?prefix=jobs.&index=-1", token, nil), 400, "invalid_request")
	wantProblem(t, ts.do("GET", "/locks?prefix=jobs.&index=1&wait_seconds=61", token, nil), 400, "invalid_request")
}

// watchAnswer is one prefix watch's answer.
type watchAnswer struct {
	index   int64
	changes []map[string]any
}

func (ts *testServer) watch(token, prefix string, index int64, wait int) <-chan call {
	return ts.send(context.Background(), "GET", fmt.Sprintf("/locks?prefix=%s&index=%d&wait_seconds=%d", prefix, index, wait), token, nil)
}

func answerOf(t *testing.T, r response) watchAnswer {
	t.Helper()
	if r.status != 200 || r.body["complete"] != true {
		t.Fatalf("watch: %d %s", r.status, r.raw)
	}
	a := watchAnswer{index: r.num("index")}
	list, _ := r.body["changes"].([]any)
	for _, c := range list {
		a.changes = append(a.changes, c.(map[string]any))
	}
	return a
}

func TestPrefixWatchReturnsOnAChangeUnderThePrefixOnly(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	token := ts.newAccount("watcher")
	held := ts.acquireWith(token, "jobs.a", map[string]any{"owner": "o"})
	start := ts.do("GET", "/locks?prefix=jobs.", token, nil).num("index")

	ch := ts.watch(token, "jobs.", start, 60)
	eventually(t, "the watch waits", func() bool {
		ts.srv.mu.Lock()
		defer ts.srv.mu.Unlock()
		return len(ts.srv.prefix.byAccount) == 1
	})
	ts.acquireWith(token, "other", map[string]any{"owner": "o"})           // not under the prefix
	ts.acquireWith(ts.newAccount("neighbour"), "jobs.a", map[string]any{}) // another account's
	if !pending(ch) {
		t.Fatal("woken by a change outside the prefix")
	}
	ts.do("POST", "/locks/jobs.a/release", token, map[string]any{"lease_id": held.str("lease_id")})
	a := answerOf(t, receive(t, ch))
	if len(a.changes) != 1 || a.changes[0]["name"] != "jobs.a" || a.changes[0]["status"] != "free" || a.index <= start {
		t.Fatalf("changes: %+v", a)
	}
	// The wait ends with nothing new: an empty change list and an index to come back with.
	ch = ts.watch(token, "jobs.", a.index, 5)
	eventually(t, "the watch waits", func() bool {
		ts.srv.mu.Lock()
		defer ts.srv.mu.Unlock()
		return len(ts.srv.prefix.byAccount) == 1
	})
	ts.clock.Advance(5 * time.Second)
	if b := answerOf(t, receive(t, ch)); len(b.changes) != 0 || b.index < a.index {
		t.Fatalf("timeout answer: %+v", b)
	}
}

// TestPrefixWatchMissesNoChangeAcrossConcurrentUpdates runs writers that acquire and
// release locks under a prefix while a watcher follows the index: the watcher's indexes
// and each lock's revisions only grow, every change is above the index sent, and once the
// writers are done the watcher has seen every lock's last change (a free lock), without
// any wait running out.
func TestPrefixWatchMissesNoChangeAcrossConcurrentUpdates(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	token := ts.newAccount("stream")
	const writers, rounds = 4, 15
	index := ts.do("GET", "/locks?prefix=jobs.", token, nil).num("index")

	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("jobs.%d", w)
			for range rounds {
				r := ts.acquireWith(token, name, map[string]any{"owner": "writer"})
				ts.do("POST", "/locks/"+name+"/release", token, map[string]any{"lease_id": r.str("lease_id")})
			}
		}()
	}
	writersDone, finished := make(chan struct{}), make(chan struct{})
	defer close(finished)
	go func() { wg.Wait(); close(writersDone) }()
	go func() {
		// Once the writers are done, a watch that started after their last change waits
		// for nothing: end its wait (the loop below then polls without waiting).
		<-writersDone
		for range 1000 {
			select {
			case <-finished:
				return
			case <-time.After(10 * time.Millisecond):
				ts.clock.Advance(61 * time.Second)
			}
		}
	}()

	last := map[string]int64{}   // each lock's last revision seen
	state := map[string]string{} // and its status then
	for answers := 0; ; answers++ {
		if answers > writers*rounds*2+10 {
			t.Fatal("more answers than changes")
		}
		done, wait := false, 60
		select {
		case <-writersDone:
			done, wait = true, 0
		default:
		}
		a := answerOf(t, receive(t, ts.watch(token, "jobs.", index, wait)))
		if a.index < index {
			t.Fatalf("index went back: %d then %d", index, a.index)
		}
		for _, c := range a.changes {
			name, rev := c["name"].(string), int64(c["revision"].(float64))
			if rev <= index || rev > a.index || rev <= last[name] {
				t.Fatalf("change %v: index sent %d, answered %d, last seen %d", c, index, a.index, last[name])
			}
			last[name], state[name] = rev, c["status"].(string)
		}
		index = a.index
		if done && len(a.changes) == 0 {
			// Nothing is left to see: the watcher must have seen every lock's last change.
			if len(state) != writers {
				t.Fatalf("locks seen: %v", state)
			}
			for name, s := range state {
				if s != "free" {
					t.Fatalf("%s last seen %s, but every writer released it: a change was missed", name, s)
				}
			}
			t.Logf("%d answers followed %d changes", answers+1, writers*rounds*2)
			return
		}
	}
}

// TestPrefixWatchesOverTheWaiterBoundGet429 fills the account's bound of waiting
// requests with prefix watches: the next one is refused at once, other accounts and
// non-waiting reads are still served, and a place freed is usable again.
func TestPrefixWatchesOverTheWaiterBoundGet429(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey, MaxWaitersPerAccount: 4})
	token := ts.newAccount("greedy")
	index := ts.do("GET", "/locks?prefix=", token, nil).num("index")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var held []<-chan call
	for range 4 {
		held = append(held, ts.send(ctx, "GET", fmt.Sprintf("/locks?prefix=&index=%d&wait_seconds=60", index), token, nil))
	}
	eventually(t, "four watches wait", func() bool { return countWatches(ts) == 4 })
	r := ts.do("GET", fmt.Sprintf("/locks?prefix=&index=%d&wait_seconds=60", index), token, nil)
	wantProblem(t, r, 429, "too_many_waiters")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	if r := ts.do("GET", "/locks?prefix=", token, nil); r.status != 200 {
		t.Fatalf("a plain prefix list: %d %s", r.status, r.raw)
	}
	neighbour := ts.newAccount("neighbour")
	ch := ts.watch(neighbour, "", 0, 0)
	if r := receive(t, ch); r.status != 200 {
		t.Fatalf("another account: %d %s", r.status, r.raw)
	}
	for _, ch := range held {
		if !pending(ch) {
			t.Fatal("a watch ended early")
		}
	}
	cancel()
	for _, ch := range held {
		<-ch
	}
	eventually(t, "the places are freed", func() bool { return countWatches(ts) == 0 })
	ch = ts.watch(token, "", index, 0)
	if r := receive(t, ch); r.status != 200 {
		t.Fatalf("after the watches ended: %d %s", r.status, r.raw)
	}
}

func countWatches(ts *testServer) int {
	ts.srv.mu.Lock()
	defer ts.srv.mu.Unlock()
	n := 0
	for _, m := range ts.srv.prefix.byAccount {
		n += len(m)
	}
	return n
}

func TestRestartKeepsSessionsAndLockDelaysWithAFreshLength(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	token := ts.newAccount("durable")
	id := ts.session(token, 10)
	bound := ts.acquireWith(token, "leader", map[string]any{"owner": "a", "session_id": id})
	ts.acquireWith(token, "printer", map[string]any{"owner": "a", "ttl_seconds": 1, "lock_delay_seconds": 30})
	ts.clock.Advance(8 * time.Second) // the printer's lease expired at 1 s: in lock-delay until 31 s
	if r := ts.do("GET", "/locks/printer", token, nil); r.str("available_at") == "" {
		t.Fatalf("before the restart: %s", r.raw)
	}
	ts.restart()

	ts.clock.Advance(8 * time.Second) // 16 s after the session's start: alive only with a fresh TTL
	r := ts.do("GET", "/sessions/"+id, token, nil)
	if r.status != 200 || r.str("expires_at") != "2026-02-12T00:00:18Z" {
		t.Fatalf("session after the restart: %d %s", r.status, r.raw)
	}
	if r := ts.acquireWith(token, "leader", map[string]any{"owner": "a", "session_id": id}); r.str("lease_id") != bound.str("lease_id") {
		t.Fatalf("the bound lease after the restart: %s", r.raw)
	}
	if r := ts.acquireWith(token, "printer", map[string]any{"owner": "b"}); r.str("status") != "held" || r.str("available_at") != "2026-02-12T00:00:38Z" {
		t.Fatalf("the lock-delay after the restart (a fresh 30 s from 8 s): %s", r.raw)
	}
	ts.clock.Advance(3 * time.Second) // the session's fresh TTL ends
	wantProblem(t, ts.do("GET", "/sessions/"+id, token, nil), 404, "session_not_found")
	if r := ts.do("GET", "/locks/leader", token, nil); r.str("status") != "free" {
		t.Fatalf("the bound lock outlived its session: %s", r.raw)
	}
}

// One account opens 500 prefix watches: all but its bound are refused at once, and
// another account's requests, a prefix watch among them, stay served. Every change
// wakes only the watches whose prefix it falls under, so the cost of a change grows
// with the account's own watches (at most its bound), not with other accounts'.
func TestHostilePrefixWatchFlood(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	attacker, victim := ts.newAccount("attacker"), ts.newAccount("victim")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const flood = 500
	index := ts.do("GET", "/locks?prefix=", attacker, nil).num("index")
	calls := make([]<-chan call, flood)
	for i := range calls {
		calls[i] = ts.send(ctx, "GET", fmt.Sprintf("/locks?prefix=p%d.&index=%d&wait_seconds=60", i, index), attacker, nil)
	}
	refused, answers := 0, firstOf(calls)
	t0 := time.Now()
	for refused < flood-DefaultMaxWaitersPerAccount {
		select {
		case c := <-answers:
			if c.err == nil && c.res.str("code") == "too_many_waiters" {
				refused++
			} else if c.err == nil {
				t.Fatalf("a watch answered: %d %s", c.res.status, c.res.raw)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d of %d watches refused", refused, flood-DefaultMaxWaitersPerAccount)
		}
	}
	took := time.Since(t0)
	eventually(t, "the open watches wait", func() bool { return countWatches(ts) == DefaultMaxWaitersPerAccount })
	var victimSlowest time.Duration
	for _, path := range []string{"/locks?prefix=", "/health", fmt.Sprintf("/locks?prefix=&index=%d", index)} {
		t1 := time.Now()
		if r := ts.do("GET", path, victim, nil); r.status != 200 {
			t.Fatalf("victim %s: %d %s", path, r.status, r.raw)
		}
		victimSlowest = max(victimSlowest, time.Since(t1))
	}
	// A change under one of the open prefixes (which 128 got in is up to the race) wakes
	// that watch only.
	ts.srv.mu.Lock()
	open := ""
	for _, m := range ts.srv.prefix.byAccount {
		for w := range m {
			open = w.prefix
		}
	}
	ts.srv.mu.Unlock()
	t2 := time.Now()
	ts.acquireWith(attacker, open+"job", map[string]any{})
	eventually(t, "one watch woken", func() bool { return countWatches(ts) == DefaultMaxWaitersPerAccount-1 })
	wake := time.Since(t2)
	t.Logf("FIGURE prefix watch flood: %d watches, %d open (bound %d), %d refused within %s; victim's slowest request %s; a change woke 1 of %d in %s",
		flood, countWatches(ts)+1, DefaultMaxWaitersPerAccount, refused, took, victimSlowest, DefaultMaxWaitersPerAccount, wake)
	if victimSlowest > time.Second {
		t.Fatalf("victim %s over the bound of 1 s", victimSlowest)
	}
}

// A prefix list of a large account is paged: its cost is one pass over the account's
// locks plus the page, like the plain list's.
func TestPrefixListOfALargeAccount(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey, MaxLocksPerAccount: 10000})
	token := ts.newAccount("large")
	ts.fill(token, 10000)
	t0 := time.Now()
	r := ts.do("GET", "/locks?prefix=", token, nil)
	took := time.Since(t0)
	locks, _ := r.body["locks"].([]any)
	if r.status != 200 || len(locks) != 100 || r.str("next_cursor") == "" {
		t.Fatalf("%d, %d locks", r.status, len(locks))
	}
	t.Logf("FIGURE prefix list of 10,000 locks: a default page of %d bytes in %s", len(r.raw), took)
	if took > 2*time.Second {
		t.Fatalf("%s over the bound of 2 s", took)
	}
}

// A prefix watch of a token that is revoked while it waits is answered 401 at once (the
// test clock never moves, so nothing else would end it).
func TestPrefixWatchOfARevokedTokenEndsAtOnce(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	token, account := ts.newAccountWithID("revoked")
	index := ts.do("GET", "/locks?prefix=jobs.", token, nil).num("index")
	ch := ts.watch(token, "jobs.", index, 60)
	eventually(t, "the watch waits", func() bool { return countWatches(ts) == 1 })
	if r := ts.do("DELETE", "/admin/accounts/"+account+"/tokens/"+tokenIDOf(token), "", nil, "X-Admin-Key", testAdminKey); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	wantProblem(t, receive(t, ch), 401, "unauthorized")
}

// A session that expires starts the lock-delays of its locks; a deleted one (a clean
// release) starts none.
func TestLockDelayFollowsASessionExpiryNotItsDelete(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	token := ts.newAccount("session-delay")
	dies := ts.session(token, 5)
	closes := ts.session(token, 5)
	ts.acquireWith(token, "died", map[string]any{"owner": "a", "session_id": dies, "lock_delay_seconds": 20})
	ts.acquireWith(token, "closed", map[string]any{"owner": "a", "session_id": closes, "lock_delay_seconds": 20})
	if r := ts.do("DELETE", "/sessions/"+closes, token, nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	if r := ts.acquireWith(token, "closed", map[string]any{"owner": "b"}); r.str("status") != "acquired" {
		t.Fatalf("a deleted session started a lock-delay: %s", r.raw)
	}
	ts.clock.Advance(6 * time.Second) // the other session expired at 5 s: delayed until 25 s
	r := ts.acquireWith(token, "died", map[string]any{"owner": "b"})
	if r.str("status") != "held" || !nullField(r, "holder_id") || r.str("available_at") != "2026-02-12T00:00:25Z" {
		t.Fatalf("after the session's expiry: %s", r.raw)
	}
}

// MAX_WAIT_SECONDS shortens a prefix watch's wait as it does every other.
func TestPrefixWatchIsShortenedToMaxWait(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey, MaxWait: 2 * time.Second})
	token := ts.newAccount("short")
	index := ts.do("GET", "/locks?prefix=jobs.", token, nil).num("index")
	ch := ts.watch(token, "jobs.", index, 60)
	eventually(t, "the watch waits", func() bool { return countWatches(ts) == 1 })
	ts.clock.Advance(2 * time.Second)
	if a := answerOf(t, receive(t, ch)); len(a.changes) != 0 {
		t.Fatalf("%+v", a)
	}
}
