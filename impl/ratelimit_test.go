package impl

import (
	"net/http/httptest"
	"strings"
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

// Rejected requests spend the budget too, and a limited request is answered before its
// body is read: an over-limit bomb costs no parsing.
func TestRateLimitCountsRejectedRequestsBeforeParsing(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey, RateLimitRPS: 1}) // bursts of 2
	a := ts.newAccount("a")
	wantProblem(t, ts.do("POST", "/locks/job/acquire", a, `{"ttl_seconds":0}`), 400, "invalid_ttl")
	wantProblem(t, ts.do("POST", "/locks/bad_name/acquire", a, `{"ttl_seconds":60}`), 400, "invalid_lock_name")
	bomb := `{"ttl_seconds":60,"metadata":` + nested(8000) + `}`
	r := ts.do("POST", "/locks/job/acquire", a, bomb)
	wantProblem(t, r, 429, "rate_limited")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
}

// Requests without valid credentials spend their client address's budget: guessing
// tokens or admin keys is throttled, other addresses and valid tokens are not.
func TestClientRateLimitThrottlesFailedAuthentication(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey, ClientRateLimitRPS: 1}) // bursts of 2
	good := ts.newAccount("a")
	h := ts.http.Config.Handler
	send := func(addr, authz, adminKey string) int {
		req := httptest.NewRequest("GET", "/locks", nil)
		req.RemoteAddr = addr
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		if adminKey != "" {
			req.URL.Path = "/admin/accounts"
			req.Header.Set("X-Admin-Key", adminKey)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	const attacker, other = "198.51.100.7:4000", "203.0.113.9:4000"
	for i, want := range []int{401, 401, 429, 429} {
		if got := send(attacker, "Bearer wrong", ""); got != want {
			t.Fatalf("wrong token %d: %d, want %d", i, got, want)
		}
	}
	if got := send(attacker, "Bearer "+good, ""); got != 200 {
		t.Fatalf("a valid token from the same address: %d", got)
	}
	for i, want := range []int{401, 401, 429} {
		if got := send(other, "", "wrong-admin-key"); got != want {
			t.Fatalf("wrong admin key %d: %d, want %d", i, got, want)
		}
	}
	if got := send(other, "", testAdminKey); got != 200 {
		t.Fatalf("the right admin key: %d", got)
	}
	if got := send("[2001:db8::1]:1", "", ""); got != 401 {
		t.Fatalf("a fresh IPv6 address: %d", got)
	}
	send("[2001:db8::2]:1", "", "")
	if got := send("[2001:db8::3]:1", "", ""); got != 429 {
		t.Fatalf("the same /64: %d, want 429", got)
	}
	if n := strings.Count(ts.logs.String(), "wrong admin key"); n < 1 || n > 2 {
		t.Fatalf("%d warnings for 3 wrong admin keys, want 1 (paced to one a second)", n)
	}
}
