package impl

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

const testAdminKey = "test-admin-key-0123456789"

func TestAcquireReturnsTheDocumentedShape(t *testing.T) {
	ts := newTestServer(t, Config{})
	r := ts.acquire(ts.token, "my-service", 60, "")
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	keys := make([]string, 0, len(r.body))
	for k := range r.body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if fmt.Sprint(keys) != "[expires_at fencing_token lease_id renew_after_ms status]" || r.str("status") != "acquired" || r.num("fencing_token") != ts.floor+1 {
		t.Fatalf("body %s", r.raw)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(r.str("lease_id")) {
		t.Fatalf("lease id %q", r.str("lease_id"))
	}
	// Keys in the documented order: {"status","lease_id","fencing_token","expires_at"},
	// then the renewal hint (a third of the TTL).
	if !regexp.MustCompile(`^\{"status":"acquired","lease_id":"[^"]+","fencing_token":\d+,"expires_at":"[^"]+","renew_after_ms":20000\}$`).Match(bytes.TrimSpace(r.raw)) {
		t.Fatalf("body %s", r.raw)
	}
	want := ts.clock.Now().Wall.Add(time.Minute).Format(time.RFC3339Nano)
	if r.str("expires_at") != want {
		t.Fatalf("expires_at %q, want %q", r.str("expires_at"), want)
	}
}

func TestTimestampsAreUTCWithMillisecondPrecision(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.clock.Advance(1234567891 * time.Nanosecond)
	r := ts.acquire(ts.token, "a", 1, "")
	if got := r.str("expires_at"); got != "2026-02-12T00:00:02.234Z" {
		t.Fatalf("expires_at %q", got)
	}
}

func TestSecondHolderSeesHeldWith200(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	a, b := ts.newAccount("a"), ts.newAccount("b")
	// b is another account: same name, no contention.
	if r := ts.acquire(b, "job", 60, ""); r.str("status") != "acquired" {
		t.Fatalf("%s", r.raw)
	}
	first := ts.acquire(a, "job", 60, "w1")
	second := ts.acquire(a, "job", 60, "w2")
	if second.status != http.StatusOK || second.str("status") != "held" {
		t.Fatalf("%d %s", second.status, second.raw)
	}
	if _, ok := second.body["lease_id"]; ok {
		t.Fatal("held response leaks the holder's lease id")
	}
	if !strings.HasSuffix(second.str("holder_id"), "/w1") || !strings.HasPrefix(second.str("holder_id"), "tok_") {
		t.Fatalf("holder_id %q", second.str("holder_id"))
	}
	if second.str("expires_at") != first.str("expires_at") {
		t.Fatalf("held expires_at %q, holder's %q", second.str("expires_at"), first.str("expires_at"))
	}
}

func TestReacquireBySameHolderReturnsSameLease(t *testing.T) {
	ts := newTestServer(t, Config{})
	first := ts.acquire(ts.token, "job", 30, "")
	ts.clock.Advance(10 * time.Second)
	again := ts.acquire(ts.token, "job", 30, "")
	if again.str("status") != "acquired" || again.str("lease_id") != first.str("lease_id") || again.num("fencing_token") != first.num("fencing_token") {
		t.Fatalf("first %s again %s", first.raw, again.raw)
	}
	if again.str("expires_at") <= first.str("expires_at") {
		t.Fatalf("re-acquire did not extend: %s -> %s", first.str("expires_at"), again.str("expires_at"))
	}
}

func TestRenewAndRelease(t *testing.T) {
	ts := newTestServer(t, Config{})
	got := ts.acquire(ts.token, "job", 10, "")
	id := got.str("lease_id")
	ts.clock.Advance(9 * time.Second)
	r := ts.do("POST", "/locks/job/renew", ts.token, map[string]any{"lease_id": id, "ttl_seconds": 10})
	if r.status != 200 || r.str("status") != "renewed" || r.str("lease_id") != id || r.num("fencing_token") != got.num("fencing_token") {
		t.Fatalf("renew %d %s", r.status, r.raw)
	}
	ts.clock.Advance(9 * time.Second) // past the original TTL, within the renewed one
	if s := ts.do("GET", "/locks/job", ts.token, nil); s.str("status") != "held" {
		t.Fatalf("renewed lock %s", s.raw)
	}
	r = ts.do("POST", "/locks/job/release", ts.token, map[string]any{"lease_id": id})
	if r.status != 200 || r.str("status") != "released" || r.num("fencing_token") != got.num("fencing_token") {
		t.Fatalf("release %d %s", r.status, r.raw)
	}
	if s := ts.do("GET", "/locks/job", ts.token, nil); s.str("status") != "free" || len(s.body) != 3 || s.num("revision") <= 0 {
		t.Fatalf("released lock %s", s.raw)
	}
	next := ts.acquire(ts.token, "job", 10, "")
	if next.num("fencing_token") <= got.num("fencing_token") {
		t.Fatalf("token %d after %d", next.num("fencing_token"), got.num("fencing_token"))
	}
}

func TestLeaseNotCurrentChangesNothing(t *testing.T) {
	ts := newTestServer(t, Config{})
	held := ts.acquire(ts.token, "job", 60, "")
	other := ts.acquire(ts.token, "other", 60, "")
	before := ts.do("GET", "/locks", ts.token, nil).raw
	cases := []struct{ name, path, lease string }{
		{"unknown lease", "/locks/job", "00000000-0000-4000-8000-000000000000"},
		{"other lock's lease", "/locks/job", other.str("lease_id")},
		{"lock never taken", "/locks/nobody", held.str("lease_id")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantProblem(t, ts.do("POST", c.path+"/release", ts.token, map[string]any{"lease_id": c.lease}), 409, "lease_not_current")
			wantProblem(t, ts.do("POST", c.path+"/renew", ts.token, map[string]any{"lease_id": c.lease, "ttl_seconds": 60}), 409, "lease_not_current")
		})
	}
	if after := ts.do("GET", "/locks", ts.token, nil).raw; string(after) != string(before) {
		t.Fatalf("state changed:\n%s\n%s", before, after)
	}
	// Released twice: the second is not current.
	ts.do("POST", "/locks/job/release", ts.token, map[string]any{"lease_id": held.str("lease_id")})
	wantProblem(t, ts.do("POST", "/locks/job/release", ts.token, map[string]any{"lease_id": held.str("lease_id")}), 409, "lease_not_current")
}

func TestExpiryFreesTheLockAndRejectsTheLateHolder(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	a, accountID := ts.newAccountWithID("a")
	// A second token of the same account: another holder in the same namespace.
	a2 := ts.do("POST", "/admin/accounts/"+accountID+"/tokens", "", nil, "X-Admin-Key", testAdminKey).str("token")
	old := ts.acquire(a, "job", 5, "")
	ts.clock.Advance(5*time.Second - time.Millisecond)
	if r := ts.acquire(a2, "job", 5, ""); r.str("status") != "held" {
		t.Fatalf("granted before expiry: %s", r.raw)
	}
	ts.clock.Advance(time.Millisecond)
	if r := ts.do("GET", "/locks/job", a, nil); r.str("status") != "free" {
		t.Fatalf("expired lock: %s", r.raw)
	}
	wantProblem(t, ts.do("POST", "/locks/job/renew", a, map[string]any{"lease_id": old.str("lease_id"), "ttl_seconds": 5}), 409, "lease_not_current")
	next := ts.acquire(a2, "job", 5, "")
	if next.str("status") != "acquired" || next.num("fencing_token") <= old.num("fencing_token") {
		t.Fatalf("successor %s after %s", next.raw, old.raw)
	}
	wantProblem(t, ts.do("POST", "/locks/job/release", a, map[string]any{"lease_id": old.str("lease_id")}), 409, "lease_not_current")
}

func TestListShowsOnlyTheCallersAccount(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	a, b := ts.newAccount("a"), ts.newAccount("b")
	for _, n := range []string{"zeta", "alpha", "mid"} {
		ts.acquire(a, n, 60, "")
	}
	ts.acquire(b, "bravo", 60, "")
	r := ts.do("GET", "/locks", a, nil)
	var names []string
	for _, l := range r.body["locks"].([]any) {
		m := l.(map[string]any)
		names = append(names, m["name"].(string))
		if _, leak := m["lease_id"]; leak {
			t.Fatal("list leaks lease ids")
		}
	}
	if fmt.Sprint(names) != "[alpha mid zeta]" {
		t.Fatalf("list %s", r.raw)
	}
	if s := ts.do("GET", "/locks/alpha", b, nil); s.str("status") != "free" {
		t.Fatalf("b sees a's lock: %s", s.raw)
	}
	// b cannot release a's lease even knowing its id.
	lease := ts.acquire(a, "alpha", 60, "").str("lease_id")
	wantProblem(t, ts.do("POST", "/locks/alpha/release", b, map[string]any{"lease_id": lease}), 409, "lease_not_current")
	if s := ts.do("GET", "/locks/alpha", a, nil); s.str("status") != "held" {
		t.Fatal("b's release changed a's lock")
	}
}

func TestQuotaIs100ActiveLocksPerAccount(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	a, b := ts.newAccount("a"), ts.newAccount("b")
	for i := 0; i < 100; i++ {
		if r := ts.acquire(a, fmt.Sprintf("l%d", i), 1+i%3, ""); r.str("status") != "acquired" {
			t.Fatalf("lock %d: %s", i, r.raw)
		}
	}
	wantProblem(t, ts.acquire(a, "l100", 60, ""), 409, "lock_limit_exceeded")
	if r := ts.acquire(b, "l100", 60, ""); r.str("status") != "acquired" {
		t.Fatal("quota is not per account")
	}
	// Re-acquiring a held lock at the limit is fine.
	if r := ts.acquire(a, "l5", 60, ""); r.str("status") != "acquired" {
		t.Fatalf("re-acquire at limit: %s", r.raw)
	}
	ts.clock.Advance(time.Second) // the 34 with ttl 1 expire: 66 left, +1 below
	if r := ts.acquire(a, "l100", 60, ""); r.str("status") != "acquired" {
		t.Fatalf("after expiry: %s", r.raw)
	}
	if n := len(ts.do("GET", "/locks", a, nil).body["locks"].([]any)); n != 67 {
		t.Fatalf("%d active locks, want 67", n)
	}
}

func TestQuotaHoldsUnderConcurrentAcquires(t *testing.T) {
	ts := newTestServer(t, Config{MaxLocksPerAccount: 10})
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := ts.acquire(ts.token, fmt.Sprintf("c%d", i), 60, "")
			mu.Lock()
			codes[r.str("status")+r.str("code")]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes["acquired"] != 10 || codes["lock_limit_exceeded"] != 30 {
		t.Fatalf("outcomes %v", codes)
	}
}

func TestOwnerDistinguishesProcessesSharingAToken(t *testing.T) {
	ts := newTestServer(t, Config{})
	w1 := ts.acquire(ts.token, "job", 60, "host-1:42")
	w2 := ts.acquire(ts.token, "job", 60, "host-2:42")
	if w1.str("status") != "acquired" || w2.str("status") != "held" {
		t.Fatalf("%s %s", w1.raw, w2.raw)
	}
	if again := ts.acquire(ts.token, "job", 60, "host-1:42"); again.str("lease_id") != w1.str("lease_id") {
		t.Fatal("same owner did not get its lease back")
	}
	if plain := ts.acquire(ts.token, "job", 60, ""); plain.str("status") != "held" {
		t.Fatal("no owner matched an owner")
	}
}

func TestContendedLockIsNeverGrantedTwice(t *testing.T) {
	ts := newTestServer(t, Config{})
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		holder   string // owner currently holding "shared", as the clients see it
		tokens   []int64
		failures []string
	)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("o%d", i)
			for j := 0; j < 25; j++ {
				r := ts.acquire(ts.token, "shared", 60, owner)
				if r.str("status") != "acquired" {
					continue
				}
				mu.Lock()
				if holder != "" {
					failures = append(failures, owner+" granted while "+holder+" holds")
				}
				holder = owner
				tokens = append(tokens, r.num("fencing_token"))
				mu.Unlock()
				mu.Lock()
				holder = ""
				mu.Unlock()
				if rel := ts.do("POST", "/locks/shared/release", ts.token, map[string]any{"lease_id": r.str("lease_id")}); rel.status != 200 {
					mu.Lock()
					failures = append(failures, "release failed: "+string(rel.raw))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatal(failures)
	}
	for i := 1; i < len(tokens); i++ {
		if tokens[i] <= tokens[i-1] {
			t.Fatalf("fencing tokens not increasing in grant order: %v", tokens)
		}
	}
	if len(tokens) == 0 {
		t.Fatal("nobody acquired")
	}
}
