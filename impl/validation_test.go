package impl

import (
	"net/http"
	"strings"
	"testing"
)

func TestSpecValidationRejectsBadInputWithProblems(t *testing.T) {
	ts := newTestServer(t, Config{MaxBodyBytes: 1024})
	tok := ts.token
	long := strings.Repeat("a", 129)
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"name too long", "POST", "/locks/" + long + "/acquire", `{"ttl_seconds":60}`, 400, "invalid_lock_name"},
		{"name with underscore", "POST", "/locks/a_b/acquire", `{"ttl_seconds":60}`, 400, "invalid_lock_name"},
		{"name with space", "GET", "/locks/a%20b", nil, 400, "invalid_lock_name"},
		{"name with unicode", "GET", "/locks/%C3%A9", nil, 400, "invalid_lock_name"},
		{"name with encoded slash", "GET", "/locks/a%2Fb", nil, 400, "invalid_lock_name"},
		{"ttl zero", "POST", "/locks/a/acquire", `{"ttl_seconds":0}`, 400, "invalid_ttl"},
		{"ttl too big", "POST", "/locks/a/acquire", `{"ttl_seconds":3601}`, 400, "invalid_ttl"},
		{"ttl negative", "POST", "/locks/a/acquire", `{"ttl_seconds":-1}`, 400, "invalid_ttl"},
		{"ttl fraction", "POST", "/locks/a/acquire", `{"ttl_seconds":1.5}`, 400, "invalid_ttl"},
		{"ttl string", "POST", "/locks/a/acquire", `{"ttl_seconds":"60"}`, 400, "invalid_ttl"},
		{"ttl missing", "POST", "/locks/a/acquire", `{}`, 400, "invalid_ttl"},
		{"trailing data", "POST", "/locks/a/acquire", `{"ttl_seconds":60}{}`, 400, "invalid_request"},
		{"renew ttl too big", "POST", "/locks/a/renew", `{"lease_id":"00000000-0000-4000-8000-000000000000","ttl_seconds":99999}`, 400, "invalid_ttl"},
		{"unknown field", "POST", "/locks/a/acquire", `{"ttl_seconds":60,"tll":1}`, 400, "invalid_request"},
		{"malformed json", "POST", "/locks/a/acquire", `{"ttl_seconds":`, 400, "invalid_request"},
		{"json array", "POST", "/locks/a/acquire", `[60]`, 400, "invalid_request"},
		{"empty body", "POST", "/locks/a/acquire", ``, 400, "invalid_request"},
		{"missing body", "POST", "/locks/a/acquire", nil, 400, "invalid_request"},
		{"owner with space", "POST", "/locks/a/acquire", `{"ttl_seconds":60,"owner":"a b"}`, 400, "invalid_request"},
		{"owner empty", "POST", "/locks/a/acquire", `{"ttl_seconds":60,"owner":""}`, 400, "invalid_request"},
		{"lease id not uuid", "POST", "/locks/a/release", `{"lease_id":"x"}`, 400, "invalid_request"},
		{"lease id missing", "POST", "/locks/a/release", `{}`, 400, "invalid_request"},
		{"body on a GET", "GET", "/locks", `{"x":1}`, 400, "invalid_request"},
		{"oversized body", "POST", "/locks/a/acquire", `{"ttl_seconds":60,"owner":"` + strings.Repeat("x", 2000) + `"}`, 413, "payload_too_large"},
		{"unknown route", "GET", "/nope", nil, 404, "not_found"},
		{"unknown lock subroute", "POST", "/locks/a/steal", `{}`, 404, "not_found"},
		{"wrong method", "DELETE", "/locks/a", nil, 405, "method_not_allowed"},
	}
	before := ts.do("GET", "/locks", tok, nil).raw
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantProblem(t, ts.do(c.method, c.path, tok, c.body), c.status, c.code)
		})
	}
	if after := ts.do("GET", "/locks", tok, nil).raw; string(after) != string(before) {
		t.Fatalf("rejected requests changed state: %s", after)
	}
}

func TestWrongContentTypeIs415(t *testing.T) {
	ts := newTestServer(t, Config{})
	req, _ := http.NewRequest("POST", ts.http.URL+"/locks/a/acquire", strings.NewReader(`{"ttl_seconds":60}`))
	req.Header.Set("Authorization", "Bearer "+ts.token)
	req.Header.Set("Content-Type", "text/plain")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 415 || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("got %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

func TestChunkedOversizedBodyIs413(t *testing.T) {
	ts := newTestServer(t, Config{MaxBodyBytes: 512})
	body := `{"ttl_seconds":60,"owner":"` + strings.Repeat("y", 4000) + `"}`
	// An io.Reader of unknown length makes the client send it chunked, with no
	// Content-Length to refuse up front.
	req, _ := http.NewRequest("POST", ts.http.URL+"/locks/a/acquire", struct{ *strings.Reader }{strings.NewReader(body)})
	req.Header.Set("Authorization", "Bearer "+ts.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 413 {
		t.Fatalf("got %d", res.StatusCode)
	}
}

func TestCallerRequestIDIsEchoedWhenSafe(t *testing.T) {
	ts := newTestServer(t, Config{})
	r := ts.do("GET", "/locks/a%20b", ts.token, nil, "X-Request-Id", "trace-123")
	if r.header.Get("X-Request-Id") != "trace-123" || r.str("request_id") != "trace-123" {
		t.Fatalf("%v %s", r.header, r.raw)
	}
	r = ts.do("GET", "/health", "", nil, "X-Request-Id", "bad id\twith spaces")
	if id := r.header.Get("X-Request-Id"); id == "" || strings.Contains(id, " ") {
		t.Fatalf("unsafe id echoed: %q", id)
	}
}

func TestLogsNeverContainSecrets(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	tok := ts.newAccount("a")
	lease := ts.acquire(tok, "job", 60, "").str("lease_id")
	ts.do("POST", "/locks/job/renew", tok, map[string]any{"lease_id": lease, "ttl_seconds": 60})
	ts.do("POST", "/locks/job/release", tok, map[string]any{"lease_id": lease})
	ts.do("GET", "/locks", "", nil, "Authorization", "Bearer "+tok+"x")
	rotated := ts.do("POST", "/auth/token/rotate", tok, nil).str("token")
	ts.stop()
	logs := ts.logs.String()
	if !strings.Contains(logs, "request_id=") {
		t.Fatalf("no request logs captured:\n%s", logs)
	}
	for _, secret := range []string{tok, rotated, lease, testAdminKey, tok[len(tok)-43:]} {
		if strings.Contains(logs, secret) {
			t.Fatalf("log contains a secret %q", secret)
		}
	}
}
