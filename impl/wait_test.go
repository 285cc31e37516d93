package impl

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/octostore/octostore/impl/lease"
)

// call is a request that may run in another goroutine: it reports failures instead of
// ending the test.
type call struct {
	res response
	err error
}

// send starts a request in a goroutine; cancel ctx to disconnect it.
func (ts *testServer) send(ctx context.Context, method, path, token string, body any) <-chan call {
	out := make(chan call, 1)
	go func() {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, ts.http.URL+path, rd)
		if err != nil {
			out <- call{err: err}
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := ts.http.Client().Do(req)
		if err != nil {
			out <- call{err: err}
			return
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		r := response{status: res.StatusCode, header: res.Header, raw: raw}
		err = json.Unmarshal(raw, &r.body)
		out <- call{res: r, err: err}
	}()
	return out
}

// key names a lock of the account token belongs to.
func (ts *testServer) key(token, name string) lease.Key {
	ts.t.Helper()
	p, err := ts.srv.auth.Authenticate(token)
	if err != nil {
		ts.t.Fatal(err)
	}
	return lease.Key{Account: p.AccountID, Name: name}
}

// eventually polls cond until it holds, for at most 10 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitersOf counts the requests in k's line.
func (ts *testServer) waitersOf(k lease.Key) int {
	ts.srv.mu.Lock()
	defer ts.srv.mu.Unlock()
	return ts.srv.engine.Waiters(k)
}

func (ts *testServer) watchersOf(k lease.Key) int {
	ts.srv.mu.Lock()
	defer ts.srv.mu.Unlock()
	if ws := ts.srv.co.watchers[k]; ws != nil {
		return ws.refs
	}
	return 0
}

// queue sends a waiting acquire for owner and returns once it is in line.
func (ts *testServer) queue(ctx context.Context, token, name, owner string, wait int) <-chan call {
	ts.t.Helper()
	k := ts.key(token, name)
	before := ts.waitersOf(k)
	ch := ts.send(ctx, "POST", "/locks/"+name+"/acquire", token, map[string]any{"ttl_seconds": 30, "owner": owner, "wait_seconds": wait})
	eventually(ts.t, owner+" is in line", func() bool { return ts.waitersOf(k) > before })
	return ch
}

func receive(t *testing.T, ch <-chan call) response {
	t.Helper()
	select {
	case c := <-ch:
		if c.err != nil {
			t.Fatalf("request: %v", c.err)
		}
		return c.res
	case <-time.After(30 * time.Second):
		t.Fatal("no answer")
	}
	return response{}
}

func pending(ch <-chan call) bool {
	select {
	case c := <-ch:
		panic(fmt.Sprintf("answered early: %+v", c))
	default:
		return true
	}
}

func TestReleaseHandsTheLockToWaitersFirstComeFirstServed(t *testing.T) {
	ts := newTestServer(t, Config{})
	ctx := context.Background()
	first := ts.acquire(ts.token, "job", 30, "holder")
	var lines []<-chan call
	for _, owner := range []string{"w1", "w2", "w3"} {
		lines = append(lines, ts.queue(ctx, ts.token, "job", owner, 60))
	}
	// A plain acquire does not jump the line.
	if r := ts.acquire(ts.token, "job", 30, "latecomer"); r.str("status") != "held" || r.num("retry_after_ms") != 1000 {
		t.Fatalf("latecomer: %s", r.raw)
	}
	prev := first
	for i, ch := range lines {
		for _, later := range lines[i:] {
			pending(later)
		}
		rel := ts.do("POST", "/locks/job/release", ts.token, map[string]any{"lease_id": prev.str("lease_id")})
		if rel.status != http.StatusOK {
			t.Fatalf("release: %s", rel.raw)
		}
		got := receive(t, ch)
		if got.status != http.StatusOK || got.str("status") != "acquired" || got.num("fencing_token") <= prev.num("fencing_token") || got.num("renew_after_ms") != 10000 {
			t.Fatalf("waiter %d: %d %s", i+1, got.status, got.raw)
		}
		s := ts.do("GET", "/locks/job", ts.token, nil)
		if want := fmt.Sprintf("/w%d", i+1); !strings.HasSuffix(s.str("holder_id"), want) || s.num("fencing_token") != got.num("fencing_token") {
			t.Fatalf("after hand-off %d: %s", i+1, s.raw)
		}
		prev = got
	}
	// The grant was durable before the waiter heard of it.
	var token int64
	if err := queryRow(ts, "SELECT fencing_token FROM leases WHERE name = 'job'", &token); err != nil || token != prev.num("fencing_token") {
		t.Fatalf("row %d %v, last grant %s", token, err, prev.raw)
	}
}

func TestExpiryHandsTheLockOverWithoutAnyRequest(t *testing.T) {
	ts := newTestServer(t, Config{})
	first := ts.acquire(ts.token, "job", 5, "holder")
	ch := ts.queue(context.Background(), ts.token, "job", "next", 60)
	ts.clock.Advance(5*time.Second - time.Millisecond)
	pending(ch)
	// The sweeper sleeps until the lease's deadline, on the server's clock.
	ts.clock.Advance(time.Millisecond)
	got := receive(t, ch)
	if got.str("status") != "acquired" || got.num("fencing_token") <= first.num("fencing_token") {
		t.Fatalf("after expiry: %s", got.raw)
	}
}

func TestAWaitThatEndsAnswersHeld(t *testing.T) {
	ts := newTestServer(t, Config{})
	held := ts.acquire(ts.token, "job", 3600, "holder")
	k := ts.key(ts.token, "job")
	ch := ts.queue(context.Background(), ts.token, "job", "patient", 2)
	ts.clock.Advance(time.Second)
	pending(ch)
	ts.clock.Advance(time.Second)
	got := receive(t, ch)
	if got.str("status") != "held" || got.str("expires_at") != held.str("expires_at") || got.num("retry_after_ms") != 1000 || !strings.HasSuffix(got.str("holder_id"), "/holder") {
		t.Fatalf("wait ended: %s", got.raw)
	}
	if n := ts.waitersOf(k); n != 0 {
		t.Fatalf("%d still in line", n)
	}
	// The line is empty: a release frees the lock.
	ts.do("POST", "/locks/job/release", ts.token, map[string]any{"lease_id": held.str("lease_id")})
	if s := ts.do("GET", "/locks/job", ts.token, nil); s.str("status") != "free" {
		t.Fatalf("%s", s.raw)
	}
}

func TestADisconnectedWaiterLeavesTheLineAndIsNeverGranted(t *testing.T) {
	ts := newTestServer(t, Config{})
	held := ts.acquire(ts.token, "job", 60, "holder")
	k := ts.key(ts.token, "job")
	ctx, cancel := context.WithCancel(context.Background())
	gone := ts.queue(ctx, ts.token, "job", "gone", 60)
	stays := ts.queue(context.Background(), ts.token, "job", "stays", 60)
	cancel()
	if c := <-gone; c.err == nil {
		t.Fatalf("cancelled request answered: %s", c.res.raw)
	}
	eventually(t, "the disconnected waiter left", func() bool { return ts.waitersOf(k) == 1 })
	ts.do("POST", "/locks/job/release", ts.token, map[string]any{"lease_id": held.str("lease_id")})
	if got := receive(t, stays); got.str("status") != "acquired" {
		t.Fatalf("%s", got.raw)
	}
	if s := ts.do("GET", "/locks/job", ts.token, nil); !strings.HasSuffix(s.str("holder_id"), "/stays") {
		t.Fatalf("%s", s.raw)
	}
}

// The grant and the end of a wait can meet: the lock is handed to a waiter whose client
// has just gone. Nobody saw that lease, so it is released at once rather than blocking
// the lock for its TTL; a waiter whose wait merely ended takes the grant.
func TestAGrantNobodyCanReceiveIsReleased(t *testing.T) {
	ts := newTestServer(t, Config{})
	s := ts.srv
	k := ts.key(ts.token, "job")
	held := ts.acquire(ts.token, "job", 60, "holder")
	p, _ := s.auth.Authenticate(ts.token)
	holder := lease.Holder{TokenID: p.TokenID}

	enqueue := func(owner string) *waitEntry {
		h := holder
		h.Owner = owner
		w, res, err := s.enqueue(context.Background(), lease.Acquire{Key: k, Holder: h, TTL: time.Minute, LeaseID: "00000000-0000-4000-8000-00000000000" + owner[len(owner)-1:]})
		if err != nil || w == nil {
			t.Fatalf("enqueue %s: %+v %v", owner, res, err)
		}
		return w
	}
	gone, ended := enqueue("gone1"), enqueue("ended2")

	ts.do("POST", "/locks/job/release", ts.token, map[string]any{"lease_id": held.str("lease_id")})
	<-gone.granted // the release handed the lock to "gone1"
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.leave(cancelled, gone); err == nil {
		t.Fatal("leave of a gone client succeeded")
	}
	// The undelivered lease was released, and "ended2" was next in line.
	<-ended.granted
	if ended.res.Err != nil || ended.res.Lease.Token <= gone.res.Lease.Token {
		t.Fatalf("next grant %+v", ended.res)
	}
	res, err := s.endWait(context.Background(), lease.Acquire{Key: k, Holder: lease.Holder{TokenID: p.TokenID, Owner: "ended2"}, TTL: time.Minute, LeaseID: "x"}, ended)
	if err != nil || res.Outcome != lease.Acquired || res.Lease.ID != ended.res.Lease.ID {
		t.Fatalf("a wait that ended as the grant came: %+v %v", res, err)
	}
	st := ts.do("GET", "/locks/job", ts.token, nil)
	if !strings.HasSuffix(st.str("holder_id"), "/ended2") || st.num("fencing_token") != ended.res.Lease.Token {
		t.Fatalf("%s", st.raw)
	}
}

func TestTheSameHolderWaitingTwiceIsOneWaiter(t *testing.T) {
	ts := newTestServer(t, Config{})
	held := ts.acquire(ts.token, "job", 60, "holder")
	k := ts.key(ts.token, "job")
	a := ts.queue(context.Background(), ts.token, "job", "retry", 60)
	b := ts.send(context.Background(), "POST", "/locks/job/acquire", ts.token, map[string]any{"ttl_seconds": 30, "owner": "retry", "wait_seconds": 60})
	eventually(t, "the retry joined", func() bool {
		ts.srv.mu.Lock()
		defer ts.srv.mu.Unlock()
		for _, w := range ts.srv.co.waiters {
			if w.refs == 2 {
				return true
			}
		}
		return false
	})
	if n := ts.waitersOf(k); n != 1 {
		t.Fatalf("%d waiters", n)
	}
	ts.do("POST", "/locks/job/release", ts.token, map[string]any{"lease_id": held.str("lease_id")})
	ra, rb := receive(t, a), receive(t, b)
	if ra.str("status") != "acquired" || ra.str("lease_id") != rb.str("lease_id") || ra.num("fencing_token") != rb.num("fencing_token") {
		t.Fatalf("%s\n%s", ra.raw, rb.raw)
	}
}

func TestTheHolderWaitingForItsOwnLockGetsItAtOnce(t *testing.T) {
	ts := newTestServer(t, Config{})
	held := ts.acquire(ts.token, "job", 60, "w1")
	got := ts.do("POST", "/locks/job/acquire", ts.token, map[string]any{"ttl_seconds": 60, "owner": "w1", "wait_seconds": 60})
	if got.str("status") != "acquired" || got.str("lease_id") != held.str("lease_id") {
		t.Fatalf("%s", got.raw)
	}
}

func TestDrainEndsWaitsAndWatchesAtOnce(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.acquire(ts.token, "job", 60, "holder")
	k := ts.key(ts.token, "job")
	waiting := ts.queue(context.Background(), ts.token, "job", "w", 60)
	rev := ts.do("GET", "/locks/job", ts.token, nil).num("revision")
	watching := ts.send(context.Background(), "GET", fmt.Sprintf("/locks/job?index=%d&wait_seconds=60", rev), ts.token, nil)
	eventually(t, "the watch waits", func() bool { return ts.watchersOf(k) == 1 })
	ts.srv.Drain()
	if got := receive(t, waiting); got.str("status") != "held" {
		t.Fatalf("waiter: %s", got.raw)
	}
	if got := receive(t, watching); got.str("status") != "held" || got.num("revision") != rev {
		t.Fatalf("watcher: %s", got.raw)
	}
	// After Drain nothing waits.
	if got := ts.do("POST", "/locks/job/acquire", ts.token, map[string]any{"ttl_seconds": 5, "owner": "x", "wait_seconds": 60}); got.str("status") != "held" {
		t.Fatalf("%s", got.raw)
	}
}

func TestWatchReturnsOnceTheRevisionPassesTheIndex(t *testing.T) {
	ts := newTestServer(t, Config{})
	k := ts.key(ts.token, "svc")
	free := ts.do("GET", "/locks/svc", ts.token, nil)
	if free.str("status") != "free" || free.status != 200 {
		t.Fatalf("%s", free.raw)
	}
	// index without a wait, and a wait without an index, are plain reads.
	for _, q := range []string{"?index=0", "?wait_seconds=30", fmt.Sprintf("?index=%d&wait_seconds=0", free.num("revision"))} {
		if r := ts.do("GET", "/locks/svc"+q, ts.token, nil); string(r.raw) != string(free.raw) {
			t.Fatalf("%s: %s", q, r.raw)
		}
	}
	watch := func(index int64) <-chan call {
		return ts.send(context.Background(), "GET", fmt.Sprintf("/locks/svc?index=%d&wait_seconds=60", index), ts.token, nil)
	}
	ch := watch(free.num("revision"))
	eventually(t, "the watch waits", func() bool { return ts.watchersOf(k) == 1 })
	meta := "10.0.0.7:8080"
	got := ts.do("POST", "/locks/svc/acquire", ts.token, map[string]any{"ttl_seconds": 30, "owner": "w1", "metadata": meta})
	held := receive(t, ch)
	if held.str("status") != "held" || held.num("revision") <= free.num("revision") || held.str("metadata") != meta || held.num("fencing_token") != got.num("fencing_token") {
		t.Fatalf("watch: %s", held.raw)
	}
	// Renewals do not change the revision: a watch at it keeps waiting through them.
	ch = watch(held.num("revision"))
	eventually(t, "the watch waits", func() bool { return ts.watchersOf(k) == 1 })
	ts.do("POST", "/locks/svc/renew", ts.token, map[string]any{"lease_id": got.str("lease_id"), "ttl_seconds": 60})
	ts.acquire(ts.token, "svc", 60, "w1")
	eventually(t, "the watch waits again after a renewal woke it", func() bool { return ts.watchersOf(k) == 1 })
	pending(ch)
	// A metadata change is a change.
	ts.do("POST", "/locks/svc/acquire", ts.token, map[string]any{"ttl_seconds": 30, "owner": "w1", "metadata": "10.0.0.8:8080"})
	changed := receive(t, ch)
	if changed.num("revision") <= held.num("revision") || changed.str("metadata") != "10.0.0.8:8080" {
		t.Fatalf("metadata change: %s", changed.raw)
	}
	// A watcher that comes back with an old revision sees the current state at once.
	ts.do("POST", "/locks/svc/release", ts.token, map[string]any{"lease_id": got.str("lease_id")})
	again := receive(t, watch(held.num("revision")))
	if again.str("status") != "free" || again.num("revision") <= changed.num("revision") {
		t.Fatalf("late watcher: %s", again.raw)
	}
	// Expiry is a change too, seen without any other request.
	ts.acquire(ts.token, "svc", 2, "")
	cur := ts.do("GET", "/locks/svc", ts.token, nil)
	ch = watch(cur.num("revision"))
	eventually(t, "the watch waits", func() bool { return ts.watchersOf(k) == 1 })
	ts.clock.Advance(2 * time.Second)
	if exp := receive(t, ch); exp.str("status") != "free" || exp.num("revision") <= cur.num("revision") {
		t.Fatalf("expiry: %s", exp.raw)
	}
}

func TestAWatchWhoseWaitEndsReturnsTheUnchangedState(t *testing.T) {
	ts := newTestServer(t, Config{})
	k := ts.key(ts.token, "quiet")
	cur := ts.do("GET", "/locks/quiet", ts.token, nil)
	ch := ts.send(context.Background(), "GET", fmt.Sprintf("/locks/quiet?index=%d&wait_seconds=5", cur.num("revision")), ts.token, nil)
	eventually(t, "the watch waits", func() bool { return ts.watchersOf(k) == 1 })
	ts.clock.Advance(4 * time.Second)
	pending(ch)
	ts.clock.Advance(time.Second)
	if got := receive(t, ch); string(got.raw) != string(cur.raw) {
		t.Fatalf("%s, want %s", got.raw, cur.raw)
	}
	eventually(t, "the watch is forgotten", func() bool { return ts.watchersOf(k) == 0 })
	// A disconnected watcher is forgotten too.
	ctx, cancel := context.WithCancel(context.Background())
	ch = ts.send(ctx, "GET", fmt.Sprintf("/locks/quiet?index=%d&wait_seconds=60", cur.num("revision")), ts.token, nil)
	eventually(t, "the watch waits", func() bool { return ts.watchersOf(k) == 1 })
	cancel()
	<-ch
	eventually(t, "the watch is forgotten", func() bool { return ts.watchersOf(k) == 0 })
}

func TestMetadataIsShownInStatusAndList(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.do("POST", "/locks/leader/acquire", ts.token, map[string]any{"ttl_seconds": 30, "metadata": "http://10.0.0.7:8080"})
	list := ts.do("GET", "/locks", ts.token, nil)
	locks, _ := list.body["locks"].([]any)
	if len(locks) != 1 || locks[0].(map[string]any)["metadata"] != "http://10.0.0.7:8080" || locks[0].(map[string]any)["revision"] == nil {
		t.Fatalf("%s", list.raw)
	}
	// Keys in the documented order.
	s := ts.do("GET", "/locks/leader", ts.token, nil)
	want := `^\{"name":"leader","status":"held","revision":\d+,"holder_id":"[^"]+","fencing_token":` + fmt.Sprint(ts.floor+1) + `,"expires_at":"[^"]+","metadata":"http://10.0.0.7:8080","max_holders":1,"holders":\[\{"holder_id":"[^"]+","fencing_token":\d+,"expires_at":"[^"]+","metadata":"http://10.0.0.7:8080"\}\]\}$`
	if !regexpMatch(want, s.raw) {
		t.Fatalf("%s", s.raw)
	}
}

func TestBadWaitAndWatchInputIsRefusedAndChangesNothing(t *testing.T) {
	ts := newTestServer(t, Config{})
	before := ts.do("GET", "/locks", ts.token, nil).raw
	for _, body := range []string{
		`{"ttl_seconds":5,"wait_seconds":61}`,
		`{"ttl_seconds":5,"wait_seconds":-1}`,
		`{"ttl_seconds":5,"wait_seconds":1.5}`,
		`{"ttl_seconds":5,"metadata":1}`,
		`{"ttl_seconds":5,"metadata":"` + strings.Repeat("x", 1025) + `"}`,
		`{"ttl_seconds":5,"metadata":"` + strings.Repeat("é", 1025) + `"}`, // 1025 characters, 2050 bytes
	} {
		wantProblem(t, ts.do("POST", "/locks/job/acquire", ts.token, body), 400, "invalid_request")
	}
	for _, q := range []string{"index=-1", "index=x", "index=9007199254740992", "index=1&wait_seconds=61", "index=1&wait_seconds=x"} {
		wantProblem(t, ts.do("GET", "/locks/job?"+q, ts.token, nil), 400, "invalid_request")
	}
	if after := ts.do("GET", "/locks", ts.token, nil).raw; string(after) != string(before) {
		t.Fatalf("%s\n%s", before, after)
	}
	if ok := ts.do("POST", "/locks/job/acquire", ts.token, `{"ttl_seconds":5,"metadata":"`+strings.Repeat("é", 512)+`"}`); ok.str("status") != "acquired" {
		t.Fatalf("1024 bytes of metadata: %s", ok.raw)
	}
}

func TestRetryHints(t *testing.T) {
	ts := newTestServer(t, Config{})
	got := ts.acquire(ts.token, "job", 30, "a")
	if got.num("renew_after_ms") != 10000 {
		t.Fatalf("%s", got.raw)
	}
	ts.clock.Advance(29500 * time.Millisecond)
	if h := ts.acquire(ts.token, "job", 30, "b"); h.num("retry_after_ms") != 500 {
		t.Fatalf("held near expiry: %s", h.raw)
	}
	r := ts.do("POST", "/locks/job/renew", ts.token, map[string]any{"lease_id": got.str("lease_id"), "ttl_seconds": 9})
	if r.num("renew_after_ms") != 3000 {
		t.Fatalf("renew: %s", r.raw)
	}
}

func regexpMatch(pattern string, b []byte) bool {
	return regexp.MustCompile(pattern).Match(bytes.TrimSpace(b))
}

func queryRow(ts *testServer, q string, dest ...any) error {
	db, err := sql.Open("sqlite", ts.dbPath+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	return db.QueryRow(q).Scan(dest...)
}

func TestMetadataAndRevisionsSurviveARestart(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.do("POST", "/locks/leader/acquire", ts.token, map[string]any{"ttl_seconds": 60, "metadata": "10.0.0.7:8080"})
	gone := ts.acquire(ts.token, "gone", 60, "")
	ts.do("POST", "/locks/gone/release", ts.token, map[string]any{"lease_id": gone.str("lease_id")})
	leader := ts.do("GET", "/locks/leader", ts.token, nil)
	free := ts.do("GET", "/locks/gone", ts.token, nil)

	ts.restart()
	after := ts.do("GET", "/locks/leader", ts.token, nil)
	if after.str("metadata") != "10.0.0.7:8080" || after.num("revision") != leader.num("revision") {
		t.Fatalf("before %s\nafter %s", leader.raw, after.raw)
	}
	// A free lock's revision may move forward across a restart (a watcher wakes once for
	// nothing), never back; and the next change is above everything seen before.
	freeAfter := ts.do("GET", "/locks/gone", ts.token, nil)
	if freeAfter.num("revision") < free.num("revision") {
		t.Fatalf("free lock went back: %s -> %s", free.raw, freeAfter.raw)
	}
	next := ts.acquire(ts.token, "gone", 60, "")
	if s := ts.do("GET", "/locks/gone", ts.token, nil); s.num("revision") <= freeAfter.num("revision") || next.str("status") != "acquired" {
		t.Fatalf("after restart: %s", s.raw)
	}
}

func TestMaxWaitShortensWatchesAndBlockingAcquires(t *testing.T) {
	ts := newTestServer(t, Config{MaxWait: 2 * time.Second})
	k := ts.key(ts.token, "capped")
	cur := ts.do("GET", "/locks/capped", ts.token, nil)
	ch := ts.send(context.Background(), "GET", fmt.Sprintf("/locks/capped?index=%d&wait_seconds=60", cur.num("revision")), ts.token, nil)
	eventually(t, "the watch waits", func() bool { return ts.watchersOf(k) == 1 })
	ts.clock.Advance(time.Second)
	pending(ch)
	ts.clock.Advance(time.Second)
	if got := receive(t, ch); string(got.raw) != string(cur.raw) {
		t.Fatalf("%s, want %s", got.raw, cur.raw)
	}
	ts.acquire(ts.token, "capped", 60, "holder")
	ch = ts.send(context.Background(), "POST", "/locks/capped/acquire", ts.token, map[string]any{"ttl_seconds": 60, "owner": "waiter", "wait_seconds": 60})
	eventually(t, "the acquire waits", func() bool { return ts.waitersOf(k) == 1 })
	ts.clock.Advance(2 * time.Second)
	if got := receive(t, ch); got.str("status") != "held" {
		t.Fatalf("capped blocking acquire: %s", got.raw)
	}
}

// skip moves the clock on without firing its timers: the sweeper is late, as on a loaded
// machine, and has not noticed an expiry that is due.
func (c *fakeClock) skip(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// A waiting acquire whose wait ends at the instant the holder's lease expires, before
// the sweeper has noticed the expiry: leaving the line must not hand the lock to the
// waiter that is leaving (a phantom grant nobody receives, which burned a fencing token
// and logged an ERROR). The request that ended its wait acquires the now free lock
// itself, with the next token; a request whose client went away gets nothing.
func TestAWaitEndingAsTheHolderExpiresIsNeverAPhantomGrant(t *testing.T) {
	for _, gone := range []bool{false, true} {
		t.Run(map[bool]string{false: "wait ended", true: "client gone"}[gone], func(t *testing.T) {
			ts := newTestServer(t, Config{})
			s := ts.srv
			k := ts.key(ts.token, "job")
			held := ts.acquire(ts.token, "job", 5, "holder")
			p, _ := s.auth.Authenticate(ts.token)
			cmd := lease.Acquire{Key: k, Holder: lease.Holder{TokenID: p.TokenID, Owner: "waiter"}, TTL: time.Minute, LeaseID: "00000000-0000-4000-8000-000000000001"}
			w, res, err := s.enqueue(context.Background(), cmd)
			if err != nil || w == nil {
				t.Fatalf("enqueue: %+v %v", res, err)
			}
			ts.clock.skip(5 * time.Second) // the holder's lease is due; no sweep has run
			if gone {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				_, err = s.leave(ctx, w)
				if err == nil {
					t.Fatal("leave of a gone client succeeded")
				}
			} else {
				cmd.LeaseID = "00000000-0000-4000-8000-000000000002"
				res, err = s.endWait(context.Background(), cmd, w)
				if err != nil || res.Outcome != lease.Acquired || res.Lease.Token != held.num("fencing_token")+1 {
					t.Fatalf("the ended wait: %+v %v (holder had token %v)", res, err, held.num("fencing_token"))
				}
			}
			if strings.Contains(ts.logs.String(), "nobody waits for") {
				t.Fatalf("phantom grant:\n%s", ts.logs.String())
			}
			s.mu.Lock()
			last := s.engine.LastToken()
			s.mu.Unlock()
			want := held.num("fencing_token")
			if !gone {
				want++
			}
			if last != want {
				t.Fatalf("last fencing token %d, want %d: a token was burned", last, want)
			}
			st := ts.do("GET", "/locks/job", ts.token, nil)
			if gone && st.str("status") != "free" || !gone && !strings.HasSuffix(st.str("holder_id"), "/waiter") {
				t.Fatalf("%s", st.raw)
			}
			if n := ts.waitersOf(k); n != 0 {
				t.Fatalf("%d still in line", n)
			}
		})
	}
}

// metadata is at most 1024 characters (Unicode code points, as JSON Schema's maxLength
// counts them), not bytes: 1024 two- or four-byte characters are accepted and kept
// exactly, in raw UTF-8 and as JSON escapes; one more is refused with 400 and the lock
// keeps what it had.
func TestMetadataCountsCharactersNotBytes(t *testing.T) {
	ts := newTestServer(t, Config{})
	body := func(meta string) string {
		return `{"ttl_seconds":60,"owner":"w","metadata":"` + meta + `"}`
	}
	for _, c := range []struct{ char, escaped string }{{"é", `\u00e9`}, {"😀", `\ud83d\ude00`}} {
		name := fmt.Sprintf("job-%d", len(c.char))
		path := "/locks/" + name + "/acquire"
		max := strings.Repeat(c.char, 1024) // 2048 or 4096 bytes
		if got := ts.do("POST", path, ts.token, body(max)); got.status != 200 || got.str("status") != "acquired" {
			t.Fatalf("1024 × %q: %d %s", c.char, got.status, got.raw)
		}
		st := ts.do("GET", "/locks/"+name, ts.token, nil)
		if st.str("metadata") != max {
			t.Fatalf("stored %d bytes, want %d", len(st.str("metadata")), len(max))
		}
		// The same holder re-acquiring with one character more changes nothing.
		for _, over := range []string{max + c.char, strings.Repeat(c.escaped, 1025)} {
			wantProblem(t, ts.do("POST", path, ts.token, body(over)), 400, "invalid_request")
		}
		if again := ts.do("GET", "/locks/"+name, ts.token, nil); string(again.raw) != string(st.raw) {
			t.Fatalf("refused metadata changed the lock:\n%s\n%s", st.raw, again.raw)
		}
		if got := ts.do("POST", path, ts.token, body(strings.Repeat(c.escaped, 1024))); got.status != 200 || got.str("status") != "acquired" {
			t.Fatalf("1024 escaped %q: %d %s", c.char, got.status, got.raw)
		}
	}
}
