package impl

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/octostore/octostore/gen"
)

// bodyRoutes are every operation that takes a JSON request body.
var bodyRoutes = []struct{ method, path string }{
	{"POST", "/locks/a/acquire"},
	{"POST", "/locks/a/release"},
	{"POST", "/locks/a/renew"},
	{"POST", "/admin/accounts"},
}

func nested(depth int) string {
	return strings.Repeat("[", depth) + strings.Repeat("]", depth)
}

func TestJSONDepthExceeds(t *testing.T) {
	cases := []struct {
		in   string
		deep bool
	}{
		{nested(32), false},
		{nested(33), true},
		{`{"a":"` + strings.Repeat("[", 100) + `"}`, false},
		{`{"a":"\"` + strings.Repeat("[", 100) + `"}`, false},
		{`"\\"` + nested(33), true},
		{strings.Repeat("]", 100) + nested(32), false},
	}
	for _, c := range cases {
		if got := jsonDepthExceeds([]byte(c.in), maxJSONDepth); got != c.deep {
			t.Errorf("jsonDepthExceeds(%.40q) = %v, want %v", c.in, got, c.deep)
		}
	}
}

func TestDeepBodiesAreRefusedBeforeDecoding(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey, MaxBodyBytes: 1 << 20})
	ts.token = ts.newAccount("a")
	for _, rt := range bodyRoutes {
		for _, field := range []string{"metadata", "ttl_seconds", "lease_id", "name"} {
			body := fmt.Sprintf(`{"%s":%s}`, field, nested(8000))
			r := ts.do(rt.method, rt.path, ts.token, body, "X-Admin-Key", testAdminKey)
			wantProblem(t, r, http.StatusBadRequest, "invalid_request")
			if d := r.str("detail"); !strings.Contains(d, "32") {
				t.Fatalf("%s %s: detail %q does not state the depth limit", rt.method, rt.path, d)
			}
		}
	}
}

// A validation message never grows with the input: the same finding with a value a
// hundred times longer reads the same.
func TestValidationDetailDoesNotGrowWithInput(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey, MaxBodyBytes: 1 << 20})
	ts.token = ts.newAccount("a")
	shapes := []func(n int) string{
		func(n int) string { return `{"ttl_seconds":60,"metadata":[` + strings.Repeat(`"x",`, n) + `"x"]}` },
		func(n int) string { return `{"ttl_seconds":60,"` + strings.Repeat("k", n) + `":1}` },
		func(n int) string { return `{"ttl_seconds":60,"owner":"` + strings.Repeat("o", n) + `"}` },
		func(n int) string { return `{"lease_id":"` + strings.Repeat("u", n) + `"}` },
		func(n int) string { return `{"ttl_seconds":60,"metadata":{"` + strings.Repeat("k", n) + `":[1]}}` },
	}
	for i, shape := range shapes {
		for _, rt := range bodyRoutes {
			small := ts.do(rt.method, rt.path, ts.token, shape(200), "X-Admin-Key", testAdminKey)
			big := ts.do(rt.method, rt.path, ts.token, shape(10000), "X-Admin-Key", testAdminKey)
			if small.status != big.status || len(big.str("detail")) > 200 ||
				len(big.str("detail")) > len(small.str("detail"))+maxFieldName {
				t.Fatalf("shape %d %s: %d %q grew to %d %q", i, rt.path, small.status, small.str("detail"), big.status, big.str("detail"))
			}
		}
	}
}

// A well-formed body with a bad value names the field and what it expects (issue 11).
func TestBadValuesNameTheField(t *testing.T) {
	ts := newTestServer(t, Config{})
	cases := []struct{ path, body, code, detail string }{
		{"/locks/a/release", `{"lease_id":"your-lease-uuid"}`, "invalid_request", "lease_id: must be a UUID"},
		{"/locks/a/renew", `{"lease_id":"your-lease-uuid","ttl_seconds":60}`, "invalid_request", "lease_id: must be a UUID"},
		{"/locks/a/acquire", `{"ttl_seconds":5.0}`, "invalid_ttl", "ttl_seconds must be an integer from 1 to 3600."},
		{"/locks/a/acquire", `{"ttl_seconds":1.5}`, "invalid_ttl", "ttl_seconds must be an integer from 1 to 3600."},
		{"/locks/a/acquire", `{"ttl_seconds":60,"metadata":7}`, "invalid_request", "metadata: must be a string"},
		{"/locks/a/acquire", `{"ttl_seconds":60,"owner":"a b"}`, "invalid_request", "owner: must match"},
		{"/locks/a/acquire", `{"ttl_seconds":60,"wait_seconds":5.0}`, "invalid_request", "wait_seconds: must be an integer"},
		{"/locks/a/acquire", "{\"ttl_seconds\":60,\"metadata\":\"\xff\"}", "invalid_request", "UTF-8"},
	}
	for _, c := range cases {
		r := ts.do("POST", c.path, ts.token, c.body)
		wantProblem(t, r, http.StatusBadRequest, c.code)
		if d := r.str("detail"); !strings.HasPrefix(d, c.detail) && !strings.Contains(d, c.detail) {
			t.Errorf("%s %s: detail %q, want %q", c.path, c.body, d, c.detail)
		}
	}
}

// fuzzBodyRoute is an operation that reads a request body, with its concrete path and
// its spec example as a starting body.
type fuzzBodyRoute struct {
	op, method, path string
	example          map[string]any
	bodyless         bool // it takes no body but accepts {} (a POST without parameters)
}

// fuzzBodyRoutes are every API operation of the embedded spec that reads a request body:
// those with a JSON body and the POSTs that take none but accept `{}`. Taken from the
// spec, so an operation added there is fuzzed too. Browser-only operations need a
// session cookie and are fuzzed by make test-contract.
func fuzzBodyRoutes(tb testing.TB, accountID string) []fuzzBodyRoute {
	spec, err := gen.GetSwagger()
	if err != nil {
		tb.Fatal(err)
	}
	var routes []fuzzBodyRoute
	for _, path := range spec.Paths.InMatchingOrder() {
		for method, op := range spec.Paths.Value(path).Operations() {
			if op.Extensions["x-browser-only"] == true || method == "GET" || method == "HEAD" {
				continue
			}
			rt := fuzzBodyRoute{op: op.OperationID, method: method,
				path: strings.NewReplacer("{name}", "fuzz", "{account_id}", accountID, "{token_id}", "tok_aaaaaaaaaaaa", "{node_id}", "n1").Replace(path)}
			if op.RequestBody != nil {
				rt.example = exampleBody(tb, op.RequestBody.Value.Content.Get("application/json"))
			} else {
				rt.bodyless, rt.example = true, map[string]any{}
			}
			routes = append(routes, rt)
		}
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i].op < routes[j].op })
	return routes
}

// fuzzValue is a JSON value of the given shape, nesting depth and size.
func fuzzValue(shape byte, depth, size int) string {
	switch shape % 6 {
	case 0:
		return nested(depth)
	case 1:
		return strings.Repeat(`{"k":`, depth) + "1" + strings.Repeat("}", depth)
	case 2:
		return `"` + strings.Repeat("s", size) + `"`
	case 3:
		return strings.Repeat("9", max(1, size))
	case 4:
		return "[" + strings.TrimSuffix(strings.Repeat("1,", max(1, size)), ",") + "]"
	default:
		return strings.Repeat("[", depth) + `"` + strings.Repeat("\\u00e9", size/6) + `"` + strings.Repeat("]", depth)
	}
}

// maxFuzzRequest is the stated bound on one fuzzed request's time, generous for a shared
// machine: a quadratic validator took 1.5 s on a 16 KB body, a linear one takes well
// under a millisecond.
const maxFuzzRequest = 2 * time.Second

// FuzzBodyDepthAndSize sends every operation that reads a request body (fuzzBodyRoutes)
// its spec example with one field, or the whole body, replaced by a value of fuzzed
// shape, nesting and size, with or without an unknown field: every answer is a success
// or a problem with a code, never a 5xx or a panic, never over 2 KiB for an error, and
// never slower than maxFuzzRequest.
func FuzzBodyDepthAndSize(f *testing.F) {
	fs := newFuzzServerWith(f, testAdminKey)
	routes := fuzzBodyRoutes(f, fs.accountID)
	if len(routes) < 5 {
		f.Fatalf("only %d operations read a body", len(routes))
	}
	for i := range routes {
		f.Add(uint8(i), uint8(0), uint16(8000), uint16(0), byte(0), false)
		f.Add(uint8(i), uint8(1), uint16(33), uint16(10), byte(1), false)
		f.Add(uint8(i), uint8(2), uint16(32), uint16(1000), byte(0), true)
		f.Add(uint8(i), uint8(0), uint16(1), uint16(20000), byte(2), false)
		f.Add(uint8(i), uint8(255), uint16(0), uint16(5000), byte(4), false)
	}
	f.Fuzz(func(t *testing.T, route, field uint8, depth, size uint16, shape byte, unknown bool) {
		rt := routes[int(route)%len(routes)]
		value := fuzzValue(shape, int(depth), int(size))
		fields := make([]string, 0, len(rt.example))
		for k := range rt.example {
			fields = append(fields, k)
		}
		sort.Strings(fields)
		var body string
		if int(field) >= len(fields) {
			body = value // the whole body
		} else {
			parts := make([]string, 0, len(fields)+1)
			for i, k := range fields {
				v, _ := json.Marshal(rt.example[k])
				if i == int(field) {
					v = []byte(value)
				}
				parts = append(parts, fmt.Sprintf("%q:%s", k, v))
			}
			if unknown {
				parts = append(parts, `"pad":"`+strings.Repeat("p", int(size)%4096)+`"`)
			}
			body = "{" + strings.Join(parts, ",") + "}"
		}
		start := time.Now()
		rec := fs.doHeader(rt.method, rt.path, []byte(body), "Bearer "+fs.token, "X-Admin-Key", testAdminKey)
		took := time.Since(start)
		checkResponse(t, rec)
		if took > maxFuzzRequest {
			t.Fatalf("%s with a %d-byte body took %s", rt.op, len(body), took)
		}
		if rec.Code >= 400 && rec.Body.Len() > 2048 {
			t.Fatalf("%s: %d-byte answer to a %d-byte body", rt.op, rec.Body.Len(), len(body))
		}
		if rec.Code < 400 && unknown && int(field) < len(fields) {
			t.Fatalf("%s accepted an unknown field: %d %s", rt.op, rec.Code, body)
		}
		if strings.EqualFold(rt.op, "rotateToken") && rec.Code == http.StatusOK {
			// The fuzzed request rotated the token: carry on with the new one.
			var issued struct{ Token string }
			if err := json.Unmarshal(rec.Body.Bytes(), &issued); err != nil || issued.Token == "" {
				t.Fatalf("rotate: %s", rec.Body)
			}
			fs.token = issued.Token
		}
	})
}
