package impl

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/octostore/octostore/gen"
)

// The HTTP contract beyond the operations: 405 with Allow, HEAD on every GET, 431 as a
// problem, bodies refused where an operation takes none, and a spec that lists every
// status the server sends.

// head sends a HEAD request; its answer has no body to parse.
func (ts *testServer) head(path, token string, headers ...string) response {
	ts.t.Helper()
	req, err := http.NewRequest("HEAD", ts.http.URL+path, nil)
	if err != nil {
		ts.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	// What Go's transport adds to a GET by itself, so that both ask for the same
	// representation.
	req.Header.Set("Accept-Encoding", "gzip")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := ts.http.Client().Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, raw: raw}
}

func TestMethodNotAllowedNamesTheAllowedMethods(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	ts.token = ts.newAccount("allow")
	for _, c := range []struct{ method, path, allow string }{
		{"DELETE", "/locks", "GET, HEAD"},
		{"PUT", "/locks/my-lock", "GET, HEAD"},
		{"GET", "/locks/my-lock/acquire", "POST"},
		{"HEAD", "/locks/my-lock/release", "POST"},
		{"PATCH", "/admin/accounts", "GET, HEAD, POST"},
		{"OPTIONS", "/health", "GET, HEAD"},
	} {
		var r response
		if c.method == "HEAD" {
			r = ts.head(c.path, ts.token, "X-Admin-Key", testAdminKey)
		} else {
			r = ts.do(c.method, c.path, ts.token, nil, "X-Admin-Key", testAdminKey)
		}
		if c.method == "HEAD" {
			if r.status != http.StatusMethodNotAllowed || len(r.raw) != 0 {
				t.Errorf("HEAD %s: %d with %d body bytes", c.path, r.status, len(r.raw))
			}
		} else {
			wantProblem(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
		}
		if got := r.header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
	}
}

// comparedHeaders are the headers a HEAD answer must share with its GET.
var comparedHeaders = []string{"Content-Type", "Cache-Control", "Content-Security-Policy", "WWW-Authenticate", "Allow", "ETag", "Content-Encoding", "X-Content-Type-Options", "Location"}

func TestHeadAnswersEveryGETOperation(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	var accountID string
	ts.token, accountID = ts.newAccountWithID("head")
	ts.acquire(ts.token, "my-lock", 60, "")
	_, ops := allSpecOps(t)
	n := 0
	for _, o := range ops {
		if o.method != "GET" {
			continue
		}
		n++
		path := strings.NewReplacer("{name}", "my-lock", "{account_id}", accountID, "{token_id}", "tok_aaaaaaaaaaaa", "{node_id}", "n1",
			"{session_id}", "ses_00000000000000000000000000000000").Replace(o.path)
		get := ts.do("GET", path, ts.token, nil, "X-Admin-Key", testAdminKey, "Accept-Encoding", "gzip")
		head := ts.head(path, ts.token, "X-Admin-Key", testAdminKey)
		if head.status != get.status || head.status == http.StatusMethodNotAllowed {
			t.Errorf("HEAD %s: %d, GET: %d", path, head.status, get.status)
		}
		if len(head.raw) != 0 {
			t.Errorf("HEAD %s: %d body bytes", path, len(head.raw))
		}
		for _, h := range comparedHeaders {
			if g, hd := get.header.Get(h), head.header.Get(h); g != hd {
				t.Errorf("HEAD %s: %s %q, GET: %q", path, h, hd, g)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d GET operations in the spec", n)
	}
	t.Logf("HEAD matched GET on %d operations", n)
}

func TestOversizedHeadersAreProblem431(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	ts.token = ts.newAccount("big")
	big := strings.Repeat("a", DefaultMaxHeaderBytes)
	for _, c := range []struct{ method, path string }{{"GET", "/locks"}, {"POST", "/locks/x/acquire"}, {"GET", "/health"}, {"GET", "/no-such-path"}} {
		r := ts.do(c.method, c.path, ts.token, `{"ttl_seconds":60}`, "X-Padding", big)
		wantProblem(t, r, http.StatusRequestHeaderFieldsTooLarge, "headers_too_large")
	}
	// Just under the bound is served.
	r := ts.do("GET", "/locks", ts.token, nil, "X-Padding", strings.Repeat("a", DefaultMaxHeaderBytes-1024))
	if r.status != http.StatusOK {
		t.Fatalf("headers under the bound: %d %s", r.status, r.raw)
	}
	// The lock was not taken by the refused acquire.
	if r := ts.do("GET", "/locks/x", ts.token, nil); r.str("status") != "free" {
		t.Fatalf("a refused acquire changed the lock: %s", r.raw)
	}
}

func TestBodiesSentToBodylessOperationsAre400(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	var accountID string
	ts.token, accountID = ts.newAccountWithID("bodyless")
	_, ops := specOps(t)
	n := 0
	for _, o := range ops {
		if o.op.RequestBody != nil {
			continue
		}
		n++
		path := strings.NewReplacer("{name}", "my-lock", "{account_id}", accountID, "{token_id}", "tok_aaaaaaaaaaaa", "{node_id}", "n1",
			"{session_id}", "ses_00000000000000000000000000000000").Replace(o.path)
		for _, chunked := range []bool{false, true} {
			var body io.Reader = strings.NewReader(`{"x":1}`)
			if chunked {
				body = io.MultiReader(body) // unknown length: sent chunked
			}
			req, err := http.NewRequest(o.method, ts.http.URL+path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+ts.token)
			req.Header.Set("X-Admin-Key", testAdminKey)
			r := ts.send1(req)
			if r.status != http.StatusBadRequest || r.str("code") != "invalid_request" || r.str("detail") != "This endpoint takes no request body." {
				t.Errorf("%s (chunked %v): %d %s", o, chunked, r.status, r.raw)
			}
		}
	}
	if n < 5 {
		t.Fatalf("only %d body-less operations", n)
	}
	// Nothing was rotated or created by the refused requests.
	if r := ts.do("GET", "/locks", ts.token, nil); r.status != http.StatusOK {
		t.Fatalf("the token stopped working: %d", r.status)
	}
}

// TestSpecListsEveryStatusTheServerSends: the answers every request can get are listed
// on every operation, and a `default` problem covers the rest.
func TestSpecListsEveryStatusTheServerSends(t *testing.T) {
	spec, ops := allSpecOps(t)
	embedded, err := gen.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	if len(embedded.Servers) != 1 || embedded.Servers[0].URL != "/" {
		t.Errorf("servers: %v, want [{url: /}]", embedded.Servers)
	}
	for _, o := range ops {
		want := []string{"413", "429", "431", "default"}
		if o.op.RequestBody == nil {
			want = append(want, "400")
		} else {
			want = append(want, "400", "415")
		}
		if o.security(spec) != "" {
			want = append(want, "401")
		}
		for _, code := range want {
			if o.op.Responses.Value(code) == nil {
				t.Errorf("%s does not list %s", o, code)
			}
		}
		for code, resp := range o.op.Responses.Map() {
			if code >= "400" && resp.Value != nil {
				for _, mt := range resp.Value.Content {
					if mt.Example == nil && len(mt.Examples) == 0 && (mt.Schema == nil || mt.Schema.Value.Example == nil) {
						t.Errorf("%s %s has no example", o, code)
					}
				}
			}
		}
		if r := o.op.Responses.Value("429"); r != nil && r.Value.Headers["Retry-After"] == nil {
			t.Errorf("%s: 429 without Retry-After", o)
		}
	}
	acquire := spec.Paths.Value("/locks/{name}/acquire").Post.Responses.Value("200").Value
	for _, l := range []string{"renew", "release", "status"} {
		if acquire.Links[l] == nil {
			t.Errorf("acquire has no link %q", l)
		}
	}
}

// TestHeaderLimitsBehindTheRealServerSettings: behind an http.Server reading up to
// HeaderReadLimit, as octostore-lock runs it, headers over the handler's bound get the
// 431 problem; only beyond the read limit does net/http answer by itself, in text/plain,
// as documented.
func TestHeaderLimitsBehindTheRealServerSettings(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	token := ts.newAccount("limits")
	h, err := ts.srv.Handler()
	if err != nil {
		t.Fatal(err)
	}
	real := httptest.NewUnstartedServer(h)
	real.Config.MaxHeaderBytes = HeaderReadLimit
	real.Start()
	defer real.Close()
	for _, c := range []struct {
		size        int
		status      int
		contentType string
	}{
		{DefaultMaxHeaderBytes - 1024, http.StatusOK, "application/json"},
		{DefaultMaxHeaderBytes + 1, http.StatusRequestHeaderFieldsTooLarge, "application/problem+json"},
		{HeaderReadLimit - 1024, http.StatusRequestHeaderFieldsTooLarge, "application/problem+json"},
		{HeaderReadLimit + 8<<10, http.StatusRequestHeaderFieldsTooLarge, "text/plain; charset=utf-8"},
	} {
		req, _ := http.NewRequest("GET", real.URL+"/locks", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("X-Padding", strings.Repeat("a", c.size))
		res, err := real.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.status || res.Header.Get("Content-Type") != c.contentType {
			t.Errorf("%d-byte header: %d %q, want %d %q", c.size, res.StatusCode, res.Header.Get("Content-Type"), c.status, c.contentType)
		}
	}
}
