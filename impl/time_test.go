package impl

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// jumpWall moves the fake clock's wall time alone, as NTP or an operator's date command
// would; the monotonic reading does not move.
func (c *fakeClock) jumpWall(d time.Duration) {
	c.mu.Lock()
	c.now.Wall = c.now.Wall.Add(d)
	c.mu.Unlock()
}

// secondHolder returns a second token of the test server's local account: another
// holder in the same namespace.
func secondHolder(ts *testServer) (first, second string) {
	ts.t.Helper()
	tok, id := ts.newAccountWithID("timing")
	other := ts.do("POST", "/admin/accounts/"+id+"/tokens", "", nil, "X-Admin-Key", testAdminKey).str("token")
	if other == "" {
		ts.t.Fatal("no second token")
	}
	return tok, other
}

// TestLeaseIsNeverRegrantedBeforeItsTTL probes a held lock just before and at its
// expiry, for several TTLs, on the server's own (injected) clock.
func TestLeaseIsNeverRegrantedBeforeItsTTL(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	a, b := secondHolder(ts)
	probes := 0
	for _, ttl := range []int{1, 2, 7, 60, 3600} {
		name := fmt.Sprintf("ttl-%d", ttl)
		first := ts.acquire(a, name, ttl, "")
		d := time.Duration(ttl) * time.Second
		elapsed := time.Duration(0)
		for _, at := range []time.Duration{0, time.Millisecond, d / 2, d - time.Millisecond} {
			ts.clock.Advance(at - elapsed)
			elapsed = at
			probes++
			if r := ts.acquire(b, name, 60, ""); r.str("status") != "held" {
				t.Fatalf("ttl %ds: granted to another holder %s after the grant: %s", ttl, at, r.raw)
			}
			if r := ts.do("GET", "/locks/"+name, b, nil); r.str("status") != "held" || r.num("fencing_token") != first.num("fencing_token") {
				t.Fatalf("ttl %ds: status %s after the grant: %s", ttl, at, r.raw)
			}
		}
		ts.clock.Advance(d - elapsed)
		next := ts.acquire(b, name, 60, "")
		if next.str("status") != "acquired" || next.num("fencing_token") <= first.num("fencing_token") {
			t.Fatalf("ttl %ds: at expiry: %s (first %s)", ttl, next.raw, first.raw)
		}
	}
	t.Logf("%d probes before expiry on 5 TTLs: 0 early grants", probes)
}

// TestWallClockJumpsChangeNoExpiry steps the wall clock an hour forward and an hour back
// while a lease is held: the lease ends exactly when the monotonic clock says.
func TestWallClockJumpsChangeNoExpiry(t *testing.T) {
	for _, jump := range []time.Duration{time.Hour, -time.Hour} {
		t.Run(fmt.Sprintf("jump %s", jump), func(t *testing.T) {
			ts := newTestServer(t, Config{AdminKey: testAdminKey})
			a, b := secondHolder(ts)
			first := ts.acquire(a, "job", 60, "")
			ts.clock.Advance(10 * time.Second)
			ts.clock.jumpWall(jump)
			if r := ts.acquire(b, "job", 60, ""); r.str("status") != "held" || r.str("expires_at") != first.str("expires_at") {
				t.Fatalf("after the jump: %s (grant %s)", r.raw, first.raw)
			}
			ts.clock.Advance(50*time.Second - time.Millisecond)
			if r := ts.do("GET", "/locks/job", b, nil); r.str("status") != "held" {
				t.Fatalf("1 ms before expiry: %s", r.raw)
			}
			ts.clock.Advance(time.Millisecond)
			next := ts.acquire(b, "job", 60, "")
			if next.str("status") != "acquired" || next.num("fencing_token") <= first.num("fencing_token") {
				t.Fatalf("at expiry: %s", next.raw)
			}
			// Expiries reported after the jump are on the new wall clock.
			want := ts.clock.Now().Wall.Add(time.Minute).Format(time.RFC3339Nano)
			if next.str("expires_at") != want {
				t.Fatalf("expires_at %q, want %q", next.str("expires_at"), want)
			}
		})
	}
}

// TestSilentHolderLosesTheLeaseAfterTTL: a holder that stops renewing loses the lease
// at its TTL; its late renew and release are refused and change nothing, and the
// successor's token is larger. Also across a restart.
func TestSilentHolderLosesTheLeaseAfterTTL(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			ts := newTestServer(t, Config{AdminKey: testAdminKey})
			a, b := secondHolder(ts)
			old := ts.acquire(a, "job", 5, "")
			ts.clock.Advance(3 * time.Second)
			if r := ts.do("POST", "/locks/job/renew", a, map[string]any{"lease_id": old.str("lease_id"), "ttl_seconds": 5}); r.status != http.StatusOK {
				t.Fatalf("renew in time: %s", r.raw)
			}
			if restart {
				ts.restart() // a fresh full TTL from the restart
			}
			ts.clock.Advance(5 * time.Second)
			late := map[string]any{"lease_id": old.str("lease_id"), "ttl_seconds": 5}
			wantProblem(t, ts.do("POST", "/locks/job/renew", a, late), http.StatusConflict, "lease_not_current")
			next := ts.acquire(b, "job", 5, "")
			if next.str("status") != "acquired" || next.num("fencing_token") <= old.num("fencing_token") {
				t.Fatalf("successor %s after %s", next.raw, old.raw)
			}
			wantProblem(t, ts.do("POST", "/locks/job/release", a, map[string]any{"lease_id": old.str("lease_id")}), http.StatusConflict, "lease_not_current")
			wantProblem(t, ts.do("POST", "/locks/job/renew", a, late), http.StatusConflict, "lease_not_current")
			if r := ts.do("GET", "/locks/job", a, nil); r.num("fencing_token") != next.num("fencing_token") {
				t.Fatalf("the late holder's requests changed the lock: %s", r.raw)
			}
			// The late holder can only come back through a new grant, with a new token.
			ts.clock.Advance(5 * time.Second)
			again := ts.acquire(a, "job", 5, "")
			if again.str("lease_id") == old.str("lease_id") || again.num("fencing_token") <= next.num("fencing_token") {
				t.Fatalf("re-acquire by the late holder: %s", again.raw)
			}
		})
	}
}
