package impl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/octostore/octostore/gen"
)

// specOp is one operation of the embedded spec.
type specOp struct {
	method, path string
	op           *openapi3.Operation
	params       openapi3.Parameters // path-level and operation-level
}

func (o specOp) String() string { return o.method + " " + o.path }

func specOps(t *testing.T) (*openapi3.T, []specOp) {
	t.Helper()
	spec, all := allSpecOps(t)
	var api []specOp
	for _, o := range all {
		if o.op.Extensions["x-browser-only"] != true {
			api = append(api, o)
		}
	}
	return spec, api
}

// allSpecOps returns every operation of the spec, the browser-only ones (GitHub
// sign-in and the dashboard) included. specOps leaves those out: they need a configured
// GitHub and a browser session, and impl/signin_test.go and the Chromium test in
// impl/dashboard/e2e walk them with both.
func allSpecOps(t *testing.T) (*openapi3.T, []specOp) {
	t.Helper()
	spec, err := gen.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	spec.Servers = nil
	var ops []specOp
	for _, path := range spec.Paths.InMatchingOrder() {
		item := spec.Paths.Value(path)
		for method, op := range item.Operations() {
			ops = append(ops, specOp{method: method, path: path, op: op, params: append(append(openapi3.Parameters{}, item.Parameters...), op.Parameters...)})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].String() < ops[j].String() })
	return spec, ops
}

// security returns the security scheme an operation requires ("" for none).
func (o specOp) security(spec *openapi3.T) string {
	reqs := spec.Security
	if o.op.Security != nil {
		reqs = *o.op.Security
	}
	for _, r := range reqs {
		for name := range r {
			return name
		}
	}
	return ""
}

// conformance checks responses against the spec with kin-openapi.
type conformance struct {
	t      *testing.T
	ts     *testServer
	spec   *openapi3.T
	router routers.Router
	checks int
}

// call sends a request, validates the response against the operation's documented
// responses and schemas, and returns it.
func (c *conformance) call(o specOp, path string, body []byte, contentType string, headers ...string) response {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req := httptest.NewRequest(o.method, path, rd)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h, err := c.ts.srv.Handler()
	if err != nil {
		c.t.Fatal(err)
	}
	h.ServeHTTP(rec, req)
	res := rec.Result()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, raw: raw}
	if strings.Contains(res.Header.Get("Content-Type"), "json") {
		json.Unmarshal(raw, &out.body)
	}
	c.checks++
	if out.status >= 500 {
		c.t.Errorf("%s %s: server error %d %s", o.method, path, out.status, raw)
		return out
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.t.Errorf("%s %s: no route in the spec: %v", o.method, path, err)
		return out
	}
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	opts := &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: !strings.HasSuffix(mt, "json")}
	if opts.ExcludeResponseBody { // HTML and YAML: check the media type is the documented one
		r := o.op.Responses.Status(out.status)
		noContent := r != nil && len(r.Value.Content) == 0 && len(raw) == 0 && mt == ""
		if !noContent && (r == nil || r.Value.Content.Get(mt) == nil) {
			c.t.Errorf("%s %s: %d with undocumented content type %q", o.method, path, out.status, mt)
		}
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 out.status,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(raw)),
		Options:                opts,
	})
	if err != nil {
		c.t.Errorf("%s %s: response %d %s does not match the spec: %v", o.method, path, out.status, raw, err)
	}
	return out
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// TestEveryOperationConformsToTheSpec walks every operation of the embedded spec with a
// valid request and with invalid ones (missing and wrong credentials, invalid path
// parameters, malformed, mistyped, incomplete and oversized bodies, a wrong media type):
// no 5xx, only documented statuses, every response valid against its schema, every
// invalid request rejected without changing state.
func TestEveryOperationConformsToTheSpec(t *testing.T) {
	// The cluster operations need a cluster: a fake one node that leads itself.
	ts := newTestServer(t, Config{AdminKey: testAdminKey, MaxBodyBytes: 1024, Cluster: soloCluster{}})
	spec, ops := specOps(t)
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		t.Fatal(err)
	}
	c := &conformance{t: t, ts: ts, spec: spec, router: router}
	admin := []string{"X-Admin-Key", testAdminKey}
	invalid := 0
	undocumented := map[string]bool{}
	for i, o := range ops {
		t.Run(o.String(), func(t *testing.T) {
			c.t = t
			// Every operation gets an account of its own, so rotating a token or taking
			// locks in one does not disturb another.
			token, account := ts.newAccountWithID(fmt.Sprintf("conformance-%d", i))
			name := fmt.Sprintf("conf-%d", i)
			// The lock is held by the holder "conformance", so an acquire through the
			// operation with that owner is its idempotent re-acquire.
			lease := ts.acquire(token, name, 60, "conformance").str("lease_id")
			// A second token of the account, for the operations that revoke one by id.
			spare := ts.do("POST", "/admin/accounts/"+account+"/tokens", "", nil, admin...)
			values := map[string]string{"name": name, "account_id": account, "token_id": spare.str("token_id"), "node_id": "n2",
				"session_id": ts.do("POST", "/sessions", token, map[string]any{"ttl_seconds": 60}).str("session_id")}
			path := pathParam.ReplaceAllStringFunc(o.path, func(m string) string { return values[m[1:len(m)-1]] })
			var creds []string
			switch scheme := o.security(spec); scheme {
			case "BearerAuth":
				creds = []string{"Authorization", "Bearer " + token}
			case "AdminKey":
				creds = admin
			case "":
			default:
				t.Fatalf("unknown security scheme %q", scheme)
			}
			var body []byte
			ctype := ""
			if rb := o.op.RequestBody; rb != nil {
				ctype = "application/json"
				example := exampleBody(t, rb.Value.Content.Get(ctype))
				if _, ok := example["lease_id"]; ok {
					example["lease_id"] = lease
				}
				if strings.EqualFold(o.op.OperationID, "acquireLock") {
					example["owner"] = "conformance"
				}
				if _, ok := example["name"]; ok && o.path == "/admin/accounts" {
					example["name"] = fmt.Sprintf("conformance-new-%d", i)
				}
				body, _ = json.Marshal(example)
			}

			// The valid request succeeds.
			r := c.call(o, path, body, ctype, creds...)
			if r.status < 200 || r.status > 299 {
				t.Fatalf("valid request: %d %s", r.status, r.raw)
			}
			switch strings.ToLower(o.op.OperationID) {
			case "rotatetoken":
				token = r.str("token")
				creds[1] = "Bearer " + token
			case "revoketoken": // the caller's token is dead: go on with another
				token = ts.do("POST", "/admin/accounts/"+account+"/tokens", "", nil, admin...).str("token")
				creds[1] = "Bearer " + token
			case "deleteaccount": // the account is gone: go on with another
				token, account = ts.newAccountWithID(fmt.Sprintf("conformance-%d-again", i))
				values["account_id"] = account
				path = pathParam.ReplaceAllStringFunc(o.path, func(m string) string { return values[m[1:len(m)-1]] })
			}

			// Invalid requests are refused with a documented 4xx and change nothing.
			lease = ts.acquire(token, name, 60, "conformance").str("lease_id")
			if body != nil && strings.Contains(string(body), "lease_id") {
				var m map[string]any
				json.Unmarshal(body, &m)
				m["lease_id"] = lease
				body, _ = json.Marshal(m)
			}
			before := stateSnapshot(ts, token)
			reject := func(what string, r response, statuses ...int) {
				t.Helper()
				invalid++
				ok := r.status >= 400 && r.status < 500
				if len(statuses) > 0 {
					ok = false
					for _, s := range statuses {
						ok = ok || r.status == s
					}
				}
				if !ok {
					t.Errorf("%s: got %d %s, want %v", what, r.status, r.raw, statuses)
				}
			}
			switch o.security(spec) {
			case "BearerAuth":
				reject("no token", c.call(o, path, body, ctype), 401)
				reject("malformed token", c.call(o, path, body, ctype, "Authorization", "Bearer oct_nope"), 401)
				reject("admin key as bearer", c.call(o, path, body, ctype, "Authorization", "Bearer "+testAdminKey), 401)
			case "AdminKey":
				reject("no admin key", c.call(o, path, body, ctype), 401)
				reject("wrong admin key", c.call(o, path, body, ctype, "X-Admin-Key", "wrong-key-wrong-key-wrong"), 401)
				reject("account token as admin key", c.call(o, path, body, ctype, "X-Admin-Key", token), 401)
				reject("admin key as bearer", c.call(o, path, body, ctype, "Authorization", "Bearer "+testAdminKey), 401)
			}
			for _, p := range o.params {
				if p.Value.In != openapi3.ParameterInPath {
					continue
				}
				bad := pathParam.ReplaceAllStringFunc(o.path, func(m string) string {
					if m[1:len(m)-1] == p.Value.Name {
						return "bad_value~"
					}
					return values[m[1:len(m)-1]]
				})
				reject("invalid path parameter "+p.Value.Name, c.call(o, bad, body, ctype, creds...), 400)
			}
			if body != nil {
				reject("malformed JSON", c.call(o, path, []byte(`{"`), ctype, creds...), 400)
				reject("JSON array", c.call(o, path, []byte(`[]`), ctype, creds...), 400)
				reject("JSON null", c.call(o, path, []byte(`null`), ctype, creds...), 400)
				if o.op.RequestBody.Value.Required {
					reject("empty object", c.call(o, path, []byte(`{}`), ctype, creds...), 400)
				}
				var m map[string]any
				json.Unmarshal(body, &m)
				m["unexpected_field"] = 1
				extra, _ := json.Marshal(m)
				reject("unknown field", c.call(o, path, extra, ctype, creds...), 400)
				for k := range m {
					if k == "unexpected_field" {
						continue
					}
					typed := map[string]any{}
					json.Unmarshal(body, &typed)
					typed[k] = []int{1}
					wrong, _ := json.Marshal(typed)
					reject("wrong type for "+k, c.call(o, path, wrong, ctype, creds...), 400)
				}
				reject("trailing data", c.call(o, path, append(append([]byte{}, body...), '{', '}'), ctype, creds...), 400)
				reject("form body", c.call(o, path, []byte("a=b"), "application/x-www-form-urlencoded", creds...), 400)
				reject("text body", c.call(o, path, body, "text/plain", creds...), 415)
				big := fmt.Sprintf(`{"pad":%q}`, strings.Repeat("x", 2048))
				reject("oversized body", c.call(o, path, []byte(big), ctype, creds...), 413)
			}
			if body == nil {
				// A body where the spec takes none is refused with a problem. The spec does
				// not list that 400 (or a 413 for a huge one) on body-less operations, so
				// this is checked for "refused, nothing changed", not for a documented status.
				r := ts.do(o.method, path, "", `{"unexpected":true}`, creds...)
				invalid++
				if r.status < 400 || r.status > 499 || r.header.Get("Content-Type") != "application/problem+json" {
					t.Errorf("a body on a body-less operation: %d %s", r.status, r.raw)
				}
				if o.op.Responses.Status(r.status) == nil {
					undocumented[fmt.Sprintf("%s: %d on an unexpected body", o, r.status)] = true
				}
			}
			if after := stateSnapshot(ts, token); after != before {
				t.Errorf("rejected requests changed state:\n%s\n%s", before, after)
			}
		})
	}
	c.t = t
	t.Logf("%d operations, %d invalid requests rejected, %d responses validated against the spec", len(ops), invalid, c.checks)
	for k := range undocumented {
		t.Logf("not in the spec: %s", k)
	}
}

// exampleBody returns the documented example of a JSON request body.
func exampleBody(t testing.TB, mt *openapi3.MediaType) map[string]any {
	t.Helper()
	var ex any
	switch {
	case mt == nil:
		t.Fatal("request body without application/json")
	case mt.Example != nil:
		ex = mt.Example
	case len(mt.Examples) > 0:
		keys := make([]string, 0, len(mt.Examples))
		for k := range mt.Examples {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		ex = mt.Examples[keys[0]].Value.Value
	default:
		t.Fatal("request body without an example")
	}
	raw, _ := json.Marshal(ex)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("example %s: %v", raw, err)
	}
	return m
}

// stateSnapshot is everything a request could change: the accounts with their active
// lock counts and one account's locks.
func stateSnapshot(ts *testServer, token string) string {
	ts.t.Helper()
	accounts := ts.do("GET", "/admin/accounts", "", nil, "X-Admin-Key", testAdminKey)
	locks := ts.do("GET", "/locks", token, nil)
	return string(accounts.raw) + string(locks.raw)
}

// TestServedRoutesEqualTheSpec probes every spec path with every method, and paths the
// spec does not have: the server serves exactly the spec's operations.
func TestServedRoutesEqualTheSpec(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	spec, ops := allSpecOps(t)
	want := map[string]bool{}
	for _, o := range ops {
		want[o.String()] = true
	}
	served := map[string]bool{}
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	extra := []string{"/", "/metrics", "/debug/pprof/", "/admin", "/auth", "/auth/github", "/locks/a/b", "/locks/a/steal", "/openapi.json", "/docs/x", "/health/x"}
	paths := append([]string{}, extra...)
	for _, p := range spec.Paths.InMatchingOrder() {
		paths = append(paths, p)
	}
	h, err := ts.srv.Handler()
	if err != nil {
		t.Fatal(err)
	}
	probes := 0
	for _, p := range paths {
		concrete := pathParam.ReplaceAllStringFunc(p, func(m string) string {
			if m == "{account_id}" {
				return "acc_aaaaaaaaaaaa"
			}
			return "x"
		})
		for _, m := range methods {
			probes++
			req := httptest.NewRequest(m, concrete, nil)
			req.Header.Set("Authorization", "Bearer "+ts.token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var prob struct{ Code string }
			json.Unmarshal(rec.Body.Bytes(), &prob)
			if rec.Code >= 500 {
				t.Errorf("%s %s: %d", m, concrete, rec.Code)
			}
			notServed := rec.Code == http.StatusMethodNotAllowed || rec.Code == http.StatusNotFound && prob.Code == "not_found"
			if m == "HEAD" {
				// HEAD is served exactly where GET is (RFC 9110), without being an
				// operation of its own.
				if notServed == want["GET "+p] {
					t.Errorf("HEAD %s: %d, while the spec has GET %s: %v", concrete, rec.Code, p, want["GET "+p])
				}
				continue
			}
			if notServed {
				continue
			}
			served[m+" "+p] = true
		}
	}
	for k := range want {
		if !served[k] {
			t.Errorf("the spec has %s but the server does not serve it", k)
		}
	}
	for k := range served {
		if !want[k] {
			t.Errorf("the server serves %s, which the spec does not have", k)
		}
	}
	t.Logf("%d probes: %d routes served, %d in the spec", probes, len(served), len(want))
}

// soloCluster is a cluster of one node that leads, for the cluster operations' shapes.
type soloCluster struct{}

func (soloCluster) ID() string                                     { return "n1" }
func (soloCluster) LeaderURL() (id, url string)                    { return "n1", "http://127.0.0.1:1" }
func (soloCluster) LeaderMoved() <-chan struct{}                   { return nil }
func (soloCluster) AddVoter(context.Context, string, string) error { return nil }
func (soloCluster) RemoveServer(context.Context, string) error     { return nil }
func (soloCluster) Info(context.Context) (ClusterInfo, error) {
	return ClusterInfo{Leader: "n1", Term: 2, Nodes: []ClusterMember{
		{ID: "n1", RaftAddr: "127.0.0.1:7001", HTTPURL: "http://127.0.0.1:3000", Suffrage: "voter", State: "leader", LastIndex: 9},
		{ID: "n2", RaftAddr: "127.0.0.1:7002", Suffrage: "voter", State: "follower"},
	}}, nil
}
