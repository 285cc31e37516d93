package impl

import (
	"testing"
	"time"
)

func TestRateLimitIsPerAccountAndRefills(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey, RateLimitRPS: 1}) // bursts of 2
	a, b := ts.newAccount("a"), ts.newAccount("b")
	for i := 0; i < 2; i++ {
		if r := ts.do("GET", "/locks", a, nil); r.status != 200 {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	r := ts.acquire(a, "job", 60, "")
	wantProblem(t, r, 429, "rate_limited")
	if r.header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	if s := ts.do("GET", "/locks", b, nil); s.status != 200 {
		t.Fatalf("account b limited by a: %d", s.status)
	}
	// Unauthenticated requests are refused before they can spend a's budget.
	wantProblem(t, ts.do("GET", "/locks", "", nil), 401, "unauthorized")

	ts.clock.Advance(time.Second)
	if r := ts.acquire(a, "job", 60, ""); r.str("status") != "acquired" || r.num("fencing_token") != ts.floor+1 {
		t.Fatalf("after refill: %s (the limited acquire must have changed nothing)", r.raw)
	}
}
