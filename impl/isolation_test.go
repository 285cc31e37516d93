package impl

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestEveryRouteRejectsForeignCredentials sends every operation of the spec, aimed at
// account A's lock and lease, with each kind of wrong credential: none, malformed,
// another account's token, a rotated-away token, the admin key as a bearer token (and,
// on admin routes, an account token as the admin key). Each is refused, or for another
// account's valid token confined to that account; A's state never changes and no
// response to anyone else carries A's lease id, token or fencing token.
func TestEveryRouteRejectsForeignCredentials(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	a, accountA := ts.newAccountWithID("a")
	b, accountB := ts.newAccountWithID("b")
	rotatedAway := ts.newAccount("c")
	if ts.do("POST", "/auth/token/rotate", rotatedAway, nil).status != 200 {
		t.Fatal("rotate")
	}
	held := ts.acquire(a, "secret-lock", 3600, "")
	lease := held.str("lease_id")
	snapshot := func() string {
		return string(ts.do("GET", "/locks", a, nil).raw) + string(ts.do("GET", "/locks/secret-lock", a, nil).raw)
	}
	before := snapshot()

	spec, ops := specOps(t)
	bodies := map[string]any{
		"POST /locks/{name}/acquire": map[string]any{"ttl_seconds": 60},
		"POST /locks/{name}/renew":   map[string]any{"lease_id": lease, "ttl_seconds": 60},
		"POST /locks/{name}/release": map[string]any{"lease_id": lease},
		"POST /admin/accounts":       map[string]any{"name": "intruder"},
		"POST /sessions":             map[string]any{"ttl_seconds": 60},
	}
	sessionA := ts.do("POST", "/sessions", a, map[string]any{"ttl_seconds": 3600}).str("session_id")
	type cred struct {
		name    string
		headers []string
		foreign bool // a valid credential of another account: confined, not refused
	}
	bearer := []cred{
		{"no token", nil, false},
		{"malformed token", []string{"Authorization", "Bearer oct_tok_aaaaaaaaaaaa_short"}, false},
		{"wrong scheme", []string{"Authorization", "Basic " + a}, false},
		{"another account's token", []string{"Authorization", "Bearer " + b}, true},
		{"rotated-away token", []string{"Authorization", "Bearer " + rotatedAway}, false},
		{"admin key as bearer", []string{"Authorization", "Bearer " + testAdminKey}, false},
	}
	adminCreds := []cred{
		{"no key", nil, false},
		{"malformed key", []string{"X-Admin-Key", "x"}, false},
		{"account token as admin key", []string{"X-Admin-Key", a}, false},
		{"rotated-away token as admin key", []string{"X-Admin-Key", rotatedAway}, false},
		{"admin key as bearer", []string{"Authorization", "Bearer " + testAdminKey}, false},
	}
	requests := 0
	var foreignResponses [][]byte
	for _, o := range ops {
		creds := bearer
		switch o.security(spec) {
		case "":
			continue // public: health, docs, the spec
		case "AdminKey":
			creds = adminCreds
		}
		path := strings.NewReplacer("{name}", "secret-lock", "{account_id}", accountA, "{token_id}", tokenIDOf(a), "{session_id}", sessionA).Replace(o.path)
		for _, c := range creds {
			requests++
			r := ts.do(o.method, path, "", bodies[o.String()], c.headers...)
			switch {
			case c.foreign:
				foreignResponses = append(foreignResponses, r.raw)
				if o.path == "/auth/token/rotate" { // B rotated its own token: B goes on with the new one
					b = r.str("token")
					bearer[3].headers[1] = "Bearer " + b
				}
				if o.String() == "DELETE /auth/token" { // B revoked its own token: B goes on with a new one
					b = ts.do("POST", "/admin/accounts/"+accountB+"/tokens", "", nil, "X-Admin-Key", testAdminKey).str("token")
					bearer[3].headers[1] = "Bearer " + b
				}
				if o.path == "/locks/{name}/renew" || o.path == "/locks/{name}/release" {
					wantProblem(t, r, 409, "lease_not_current")
				} else if strings.HasPrefix(o.path, "/sessions/") { // A's session does not exist for B
					wantProblem(t, r, 404, "session_not_found")
				} else if r.status != 200 && r.status != 201 && r.status != 204 {
					t.Errorf("%s with %s: %d %s", o, c.name, r.status, r.raw)
				}
			default:
				if r.status != 401 || r.str("code") != "unauthorized" {
					t.Errorf("%s with %s: got %d %s, want 401 unauthorized", o, c.name, r.status, r.raw)
				}
			}
			if after := snapshot(); after != before {
				t.Fatalf("%s with %s changed account A's state:\n%s\n%s", o, c.name, before, after)
			}
		}
	}
	// What another account saw of the same lock name: its own namespace only.
	foreignResponses = append(foreignResponses, ts.do("GET", "/locks", b, nil).raw, ts.do("GET", "/locks/secret-lock", b, nil).raw)
	for _, raw := range foreignResponses {
		for _, secret := range []string{lease, a, tokenIDOf(a), fmt.Sprintf(`"fencing_token":%d`, held.num("fencing_token"))} {
			if bytes.Contains(raw, []byte(secret)) {
				t.Errorf("another account's response carries A's %q: %s", secret, raw)
			}
		}
	}
	t.Logf("%d requests with wrong credentials on %d operations: all refused, another account's token confined to its own namespace, account A unchanged", requests, len(ops))
}

func tokenIDOf(token string) string { return strings.TrimPrefix(token, "oct_")[:len("tok_")+12] }

// TestNoSecretInLogsListsOrDatabase runs a session at debug log level (every request is
// logged) and then searches the logs, every account's responses and the raw bytes of the
// database file and its WAL for tokens, the admin key and lease ids.
func TestNoSecretInLogsListsOrDatabase(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	a := ts.newAccount("a")
	b := ts.newAccount("b")
	var tokens, leases []string
	tokens = append(tokens, a, b)
	for i := 0; i < 20; i++ {
		r := ts.acquire(a, fmt.Sprintf("job-%d", i), 60, "worker")
		leases = append(leases, r.str("lease_id"))
		ts.do("POST", fmt.Sprintf("/locks/job-%d/renew", i), a, map[string]any{"lease_id": r.str("lease_id"), "ttl_seconds": 120})
		if i%2 == 0 {
			ts.do("POST", fmt.Sprintf("/locks/job-%d/release", i), a, map[string]any{"lease_id": r.str("lease_id")})
		}
		ts.do("POST", fmt.Sprintf("/locks/job-%d/release", i), b, map[string]any{"lease_id": r.str("lease_id")})
		ts.do("GET", fmt.Sprintf("/locks/job-%d", i), b, nil)
	}
	rotated := ts.do("POST", "/auth/token/rotate", a, nil).str("token")
	tokens = append(tokens, rotated)
	ts.do("GET", "/locks", a, nil, "Authorization", "Bearer "+a) // the rotated-away token, refused
	ts.do("GET", "/locks", "", nil, "Authorization", "Bearer "+testAdminKey)
	ts.do("GET", "/admin/accounts", "", nil, "X-Admin-Key", testAdminKey)

	secrets := map[string]string{"admin key": testAdminKey}
	for i, tok := range tokens {
		secrets[fmt.Sprintf("token %d", i)] = tok
		secrets[fmt.Sprintf("token %d secret part", i)] = tok[len(tok)-43:]
	}
	// The other account's view and the admin view never show a lease id or a token.
	views := map[string][]byte{
		"b's list":       ts.do("GET", "/locks", b, nil).raw,
		"b's job-1":      ts.do("GET", "/locks/job-1", b, nil).raw,
		"a's list":       ts.do("GET", "/locks", rotated, nil).raw,
		"admin accounts": ts.do("GET", "/admin/accounts", "", nil, "X-Admin-Key", testAdminKey).raw,
	}
	for view, raw := range views {
		for what, s := range secrets {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("%s contains %s", view, what)
			}
		}
		for _, l := range leases {
			if bytes.Contains(raw, []byte(l)) {
				t.Errorf("%s contains a lease id", view)
			}
		}
	}

	// The database and its WAL while the server runs, then after a clean stop.
	files := map[string][]byte{}
	for _, suffix := range []string{"", "-wal"} {
		if raw, err := os.ReadFile(ts.dbPath + suffix); err == nil {
			files["running"+suffix] = raw
		}
	}
	ts.stop()
	raw, err := os.ReadFile(ts.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	files["stopped"] = raw
	if len(files["running-wal"]) == 0 {
		t.Fatal("no WAL to search while running")
	}
	scanned := 0
	for file, raw := range files {
		scanned += len(raw)
		for what, s := range secrets {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("database %s contains %s in plaintext", file, what)
			}
		}
	}

	logs := ts.logs.String()
	if strings.Count(logs, "msg=request") < 60 {
		t.Fatalf("expected every request logged at debug level, got:\n%s", logs)
	}
	for what, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain %s", what)
		}
	}
	for _, l := range leases {
		if strings.Contains(logs, l) {
			t.Errorf("logs contain a lease id")
		}
	}
	n := strings.Count(logs, "\n")
	t.Logf("searched %d log lines, %d responses and %d database bytes for %d secrets and %d lease ids: 0 found",
		n, len(views), scanned, len(secrets), len(leases))
}
