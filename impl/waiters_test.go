package impl

import (
	"context"
	"testing"
)

// Waiting requests are bounded per account and in total; over a bound one is refused at
// once, and requests that do not wait are still served.
func TestWaitingRequestsAreBoundedPerAccountAndInTotal(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey, MaxWaitersPerAccount: 2, MaxWaiters: 3})
	a, b, c := ts.newAccount("a"), ts.newAccount("b"), ts.newAccount("c")
	leases := map[string]string{}
	for _, tok := range []string{a, b, c} {
		r := ts.acquire(tok, "job", 60, "holder")
		if r.str("status") != "acquired" {
			t.Fatalf("%s", r.raw)
		}
		leases[tok] = r.str("lease_id")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w1 := ts.queue(ctx, a, "job", "w1", 60)
	w2 := ts.queue(ctx, a, "job", "w2", 60)

	over := ts.do("POST", "/locks/job/acquire", a, map[string]any{"ttl_seconds": 30, "owner": "w3", "wait_seconds": 60})
	wantProblem(t, over, 429, "too_many_waiters")
	if over.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	wantProblem(t, ts.do("GET", "/locks/job?index=0&wait_seconds=60", a, nil), 429, "too_many_waiters")
	// Not waiting: served as usual, and the account's line did not change.
	if r := ts.do("POST", "/locks/job/acquire", a, map[string]any{"ttl_seconds": 30, "owner": "w3"}); r.status != 200 || r.str("status") != "held" {
		t.Fatalf("a non-waiting acquire: %d %s", r.status, r.raw)
	}
	if r := ts.do("GET", "/health", "", nil); r.status != 200 {
		t.Fatalf("health: %d", r.status)
	}
	if n := ts.waitersOf(ts.key(a, "job")); n != 2 {
		t.Fatalf("%d waiters in a's line, want 2", n)
	}

	wb := ts.queue(ctx, b, "job", "w1", 60) // the third in all
	wantProblem(t, ts.do("POST", "/locks/job/acquire", c, map[string]any{"ttl_seconds": 30, "owner": "w1", "wait_seconds": 60}), 429, "too_many_waiters")

	// A waiter that ends frees its place.
	cancel()
	for _, ch := range []<-chan call{w1, w2, wb} {
		<-ch
	}
	eventually(t, "the waiters left", func() bool {
		ts.srv.waiters.mu.Lock()
		defer ts.srv.waiters.mu.Unlock()
		return ts.srv.waiters.n == 0
	})
	ch := ts.queue(context.Background(), c, "job", "w1", 60)
	if r := ts.do("POST", "/locks/job/release", c, map[string]any{"lease_id": leases[c]}); r.status != 200 {
		t.Fatalf("release: %d %s", r.status, r.raw)
	}
	if r := receive(t, ch); r.str("status") != "acquired" {
		t.Fatalf("after a place was freed: %s", r.raw)
	}
}
