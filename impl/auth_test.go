package impl

import (
	"net/http"
	"strings"
	"testing"
)

func TestBootstrapCreatesOneLocalAccountOnce(t *testing.T) {
	ts := newTestServer(t, Config{})
	if !strings.HasPrefix(ts.token, "oct_tok_") {
		t.Fatalf("bootstrap token %q", ts.token)
	}
	first := ts.token
	ts.restart()
	if ts.minted {
		t.Fatal("second start minted another local token")
	}
	if r := ts.acquire(first, "a", 60, ""); r.str("status") != "acquired" {
		t.Fatalf("local token after restart: %s", r.raw)
	}
}

func TestNoBootstrapWhenAdminKeyIsSet(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	if ts.minted || ts.token != "" {
		t.Fatal("bootstrap ran with an admin key")
	}
}

func TestRotationInvalidatesTheOldTokenAtOnce(t *testing.T) {
	ts := newTestServer(t, Config{})
	old := ts.token
	held := ts.acquire(old, "job", 60, "w1")
	r := ts.do("POST", "/auth/token/rotate", old, nil)
	if r.status != http.StatusOK || r.str("token") == "" || r.str("token") == old {
		t.Fatalf("rotate: %d %s", r.status, r.raw)
	}
	fresh := r.str("token")
	if !strings.Contains(fresh, r.str("token_id")) {
		t.Fatal("token id not part of the token")
	}
	for _, path := range []string{"/locks", "/locks/job"} {
		res := ts.do("GET", path, old, nil)
		wantProblem(t, res, 401, "unauthorized")
		if res.header.Get("WWW-Authenticate") == "" {
			t.Fatal("401 without WWW-Authenticate")
		}
	}
	wantProblem(t, ts.do("POST", "/auth/token/rotate", old, nil), 401, "unauthorized")
	// The new secret is the same holder: its re-acquire returns the same lease.
	if again := ts.acquire(fresh, "job", 60, "w1"); again.str("lease_id") != held.str("lease_id") {
		t.Fatalf("after rotation: %s", again.raw)
	}
	ts.restart()
	wantProblem(t, ts.do("GET", "/locks", old, nil), 401, "unauthorized")
	if res := ts.do("GET", "/locks", fresh, nil); res.status != 200 {
		t.Fatalf("rotated token after restart: %d", res.status)
	}
}

func TestEveryLockRouteRejectsBadCredentials(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	good := ts.newAccount("a")
	lease := ts.acquire(good, "job", 60, "").str("lease_id")
	before := ts.do("GET", "/locks", good, nil).raw
	creds := map[string]string{
		"none":           "",
		"garbage":        "Bearer nope",
		"wrong scheme":   "Basic " + good,
		"bad secret":     "Bearer " + good[:len(good)-4] + "AAAA",
		"admin as token": "Bearer " + testAdminKey,
		"empty bearer":   "Bearer ",
	}
	routes := []struct {
		method, path string
		body         any
	}{
		{"GET", "/locks", nil},
		{"GET", "/locks/job", nil},
		{"POST", "/locks/job/acquire", map[string]any{"ttl_seconds": 60}},
		{"POST", "/locks/job/renew", map[string]any{"lease_id": lease, "ttl_seconds": 60}},
		{"POST", "/locks/job/release", map[string]any{"lease_id": lease}},
		{"POST", "/auth/token/rotate", nil},
	}
	for name, header := range creds {
		for _, rt := range routes {
			r := ts.do(rt.method, rt.path, "", rt.body, "Authorization", header)
			if r.status != 401 || r.str("code") != "unauthorized" || r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s with %s: %d %s", rt.method, rt.path, name, r.status, r.raw)
			}
		}
	}
	if after := ts.do("GET", "/locks", good, nil).raw; string(after) != string(before) {
		t.Fatal("rejected requests changed state")
	}
}

func TestAdminAPI(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	admin := []string{"X-Admin-Key", testAdminKey}
	r := ts.do("POST", "/admin/accounts", "", map[string]any{"name": "ci"}, admin...)
	if r.status != 201 || r.str("name") != "ci" || !strings.HasPrefix(r.str("account_id"), "acc_") || r.str("token") == "" {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	id, tok1 := r.str("account_id"), r.str("token")
	wantProblem(t, ts.do("POST", "/admin/accounts", "", map[string]any{"name": "ci"}, admin...), 409, "account_exists")
	wantProblem(t, ts.do("POST", "/admin/accounts", "", map[string]any{"name": "bad name"}, admin...), 400, "invalid_request")
	wantProblem(t, ts.do("POST", "/admin/accounts", "", map[string]any{"name": "x", "extra": 1}, admin...), 400, "invalid_request")

	r = ts.do("POST", "/admin/accounts/"+id+"/tokens", "", nil, admin...)
	if r.status != 201 || r.str("account_id") != id || r.str("token") == tok1 {
		t.Fatalf("token: %d %s", r.status, r.raw)
	}
	tok2 := r.str("token")
	// Two tokens of one account are two holders in one namespace.
	ts.acquire(tok1, "job", 60, "")
	if held := ts.acquire(tok2, "job", 60, ""); held.str("status") != "held" {
		t.Fatalf("second token: %s", held.raw)
	}
	wantProblem(t, ts.do("POST", "/admin/accounts/acc_zzzzzzzzzzzz/tokens", "", nil, admin...), 404, "account_not_found")
	wantProblem(t, ts.do("POST", "/admin/accounts/nope/tokens", "", nil, admin...), 400, "invalid_request")

	list := ts.do("GET", "/admin/accounts", "", nil, admin...)
	accounts := list.body["accounts"].([]any)
	if len(accounts) != 1 || accounts[0].(map[string]any)["active_locks"].(float64) != 1 {
		t.Fatalf("list: %s", list.raw)
	}
	if strings.Contains(string(list.raw), "oct_") {
		t.Fatal("account list contains a token")
	}

	for _, bad := range [][]string{nil, {"X-Admin-Key", "wrong-key-wrong-key"}, {"Authorization", "Bearer " + testAdminKey}} {
		wantProblem(t, ts.do("GET", "/admin/accounts", "", nil, bad...), 401, "unauthorized")
	}
	wantProblem(t, ts.do("GET", "/admin/accounts", tok1, nil), 401, "unauthorized")
}

func TestAdminAPIIsOffWithoutAdminKey(t *testing.T) {
	ts := newTestServer(t, Config{})
	for _, key := range []string{"", "anything-at-all-here"} {
		wantProblem(t, ts.do("GET", "/admin/accounts", "", nil, "X-Admin-Key", key), 404, "admin_disabled")
		wantProblem(t, ts.do("POST", "/admin/accounts", "", map[string]any{"name": "x"}, "X-Admin-Key", key), 404, "admin_disabled")
	}
}
