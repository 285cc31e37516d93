package impl

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
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

// FuzzBodyDepthAndSize sends every JSON-bodied operation bodies of fuzzed nesting and
// size: each answer is a problem or a success, never a 5xx, and never slow to build.
func FuzzBodyDepthAndSize(f *testing.F) {
	fs := newFuzzServerWith(f, testAdminKey)
	f.Add(uint8(0), uint16(8000), uint16(0), byte('['))
	f.Add(uint8(1), uint16(33), uint16(10), byte('{'))
	f.Add(uint8(2), uint16(32), uint16(1000), byte('['))
	f.Add(uint8(3), uint16(1), uint16(60000), byte('"'))
	f.Fuzz(func(t *testing.T, route uint8, depth, size uint16, open byte) {
		rt := bodyRoutes[int(route)%len(bodyRoutes)]
		var value string
		switch open {
		case '{':
			value = strings.Repeat(`{"k":`, int(depth)) + "1" + strings.Repeat("}", int(depth))
		case '"':
			value = `"` + strings.Repeat("s", int(size)) + `"`
		default:
			value = nested(int(depth))
		}
		body := `{"ttl_seconds":60,"metadata":` + value + `,"pad":"` + strings.Repeat("p", int(size)) + `"}`
		rec := fs.doHeader(rt.method, rt.path, []byte(body), "Bearer "+fs.token, "X-Admin-Key", testAdminKey)
		checkResponse(t, rec)
		if rec.Code < 400 {
			t.Fatalf("%s %s accepted an unknown field: %d", rt.method, rt.path, rec.Code)
		}
		if rec.Body.Len() > 1024 {
			t.Fatalf("%s %s: %d-byte answer to a %d-byte body", rt.method, rt.path, rec.Body.Len(), len(body))
		}
	})
}
