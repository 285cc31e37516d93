package impl

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// On a single node a stale read is the linearizable one: the same answer, byte for byte
// but the request id; a value outside the enum is 400 invalid_request.
func TestStaleReadOnASingleNodeIsTheLinearizableOne(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.acquire(ts.token, "alpha", 60, "w1")
	ts.acquire(ts.token, "beta", 60, "w2")
	ts.do("POST", "/locks/beta/release", ts.token, map[string]any{"lease_id": ts.acquire(ts.token, "beta", 60, "w2").str("lease_id")})
	for _, path := range []string{"/locks/alpha", "/locks/beta", "/locks/never", "/locks"} {
		lin, stale := ts.do("GET", path, ts.token, nil), ts.do("GET", path+"?consistency=stale", ts.token, nil)
		if lin.status != http.StatusOK || stale.status != lin.status || !bytes.Equal(stale.raw, lin.raw) {
			t.Errorf("GET %s: linearizable %d %s, stale %d %s", path, lin.status, lin.raw, stale.status, stale.raw)
		}
	}
	for _, path := range []string{"/locks/alpha?consistency=eventual", "/locks?consistency=", "/locks?consistency=STALE"} {
		wantProblem(t, ts.do("GET", path, ts.token, nil), 400, "invalid_request")
	}
}

func TestStaleReadIsOnlyALockReadWithoutAWatch(t *testing.T) {
	for path, want := range map[string]bool{
		"/locks?consistency=stale":                          true,
		"/locks/a?consistency=stale":                        true,
		"/locks/a?consistency=bogus":                        true, // the node's own validator refuses it
		"/locks/a?consistency=linearizable":                 false,
		"/locks/a":                                          false,
		"/locks/a?consistency=stale&index=3&wait_seconds=5": false,
		"/locks?consistency=stale&prefix=a":                 false,
		"/locks/a/acquire?consistency=stale":                false,
		"/locksmith?consistency=stale":                      false,
		"/admin/accounts?consistency=stale":                 false,
	} {
		if got := staleRead(httptest.NewRequest("GET", path, nil)); got != want {
			t.Errorf("staleRead(GET %s) = %v, want %v", path, got, want)
		}
	}
	if staleRead(httptest.NewRequest("POST", "/locks?consistency=stale", nil)) {
		t.Error("a POST is never a stale read")
	}
}
