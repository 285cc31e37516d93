package impl

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// The announcement's curl lines, as curl sends them: `-d` without `-H` means
// Content-Type: application/x-www-form-urlencoded.

// rawPOST sends body with exactly the given Content-Type ("" for none) and headers.
func (ts *testServer) rawPOST(path, contentType, body string, headers ...string) response {
	ts.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest("POST", ts.http.URL+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return ts.send1(req)
}

func (ts *testServer) send1(req *http.Request) response {
	ts.t.Helper()
	res, err := ts.http.Client().Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, raw: raw}
	if strings.Contains(res.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			ts.t.Fatalf("bad JSON %q: %v", raw, err)
		}
	}
	return out
}

func TestCurlAnnouncementLinesWorkVerbatim(t *testing.T) {
	ts := newTestServer(t, Config{})
	bearer := []string{"Authorization", "Bearer " + ts.token}
	for _, ct := range []string{"application/x-www-form-urlencoded", ""} {
		acq := ts.rawPOST("/locks/my-service/acquire", ct, `{"ttl_seconds": 60}`, bearer...)
		if acq.status != 200 || acq.str("status") != "acquired" {
			t.Fatalf("acquire with Content-Type %q: %d %s", ct, acq.status, acq.raw)
		}
		id := acq.str("lease_id")
		ren := ts.rawPOST("/locks/my-service/renew", ct, `{"lease_id": "`+id+`", "ttl_seconds": 60}`, bearer...)
		if ren.status != 200 || ren.str("status") != "renewed" {
			t.Fatalf("renew with Content-Type %q: %d %s", ct, ren.status, ren.raw)
		}
		rel := ts.rawPOST("/locks/my-service/release", ct, `{"lease_id": "`+id+`"}`, bearer...)
		if rel.status != 200 || rel.str("status") != "released" {
			t.Fatalf("release with Content-Type %q: %d %s", ct, rel.status, rel.raw)
		}
	}
}

func TestOtherMediaTypesAre415AndChangeNothing(t *testing.T) {
	ts := newTestServer(t, Config{})
	bearer := []string{"Authorization", "Bearer " + ts.token}
	for _, ct := range []string{"text/plain", "multipart/form-data; boundary=x", "application/xml"} {
		r := ts.rawPOST("/locks/job/acquire", ct, `{"ttl_seconds": 60}`, bearer...)
		wantProblem(t, r, 415, "unsupported_media_type")
	}
	// A form-encoded body that is not JSON is a bad request, not a form.
	wantProblem(t, ts.rawPOST("/locks/job/acquire", "application/x-www-form-urlencoded", "ttl_seconds=60", bearer...), 400, "invalid_request")
	if s := ts.do("GET", "/locks/job", ts.token, nil); s.str("status") != "free" {
		t.Fatalf("refused requests took the lock: %s", s.raw)
	}
}

func TestCookieRoutesStayStrictAboutMediaType(t *testing.T) {
	// Without a bearer or admin header the leniency does not apply: a cross-site form
	// post carries neither.
	if lenientMediaType("/dashboard/token/rotate") || lenientMediaType("/dashboard/sign-out") {
		t.Fatal("dashboard routes must stay strict")
	}
	ts := newTestServer(t, Config{})
	r := ts.rawPOST("/locks/job/acquire", "application/x-www-form-urlencoded", `{"ttl_seconds": 60}`)
	wantProblem(t, r, 401, "unauthorized")
}

func TestBodylessPOSTsAcceptEmptyObjectEmptyBodyAndNoContentType(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	own, account := ts.newAccountWithID("acme")
	admin := []string{"X-Admin-Key", testAdminKey}
	for _, c := range []struct{ ct, body string }{
		{"application/json", "{}"}, {"application/json", " { } \n"}, {"", "{}"}, {"", ""},
		{"application/x-www-form-urlencoded", "{}"}, {"application/json", ""},
	} {
		r := ts.rawPOST("/admin/accounts/"+account+"/tokens", c.ct, c.body, admin...)
		if r.status != 201 || r.str("token") == "" {
			t.Fatalf("create token with %q %q: %d %s", c.ct, c.body, r.status, r.raw)
		}
		token := r.str("token")
		rot := ts.rawPOST("/auth/token/rotate", c.ct, c.body, "Authorization", "Bearer "+token)
		if rot.status != 200 || rot.str("token") == "" || rot.str("token") == token {
			t.Fatalf("rotate with %q %q: %d %s", c.ct, c.body, rot.status, rot.raw)
		}
	}
	// A body with content is still refused, and nothing is created.
	wantProblem(t, ts.rawPOST("/admin/accounts/"+account+"/tokens", "application/json", `{"unexpected":true}`, admin...), 400, "invalid_request")
	wantProblem(t, ts.rawPOST("/auth/token/rotate", "application/json", `[]`, "Authorization", "Bearer "+own), 400, "invalid_request")
	if r := ts.do("GET", "/locks", own, nil); r.status != 200 {
		t.Fatalf("a refused rotation changed the token: %d", r.status)
	}
}

func TestEmptyLockNameIsInvalidLockName(t *testing.T) {
	ts := newTestServer(t, Config{})
	bearer := []string{"Authorization", "Bearer " + ts.token}
	for _, path := range []string{"/locks//acquire", "/locks//renew", "/locks//release"} {
		wantProblem(t, ts.rawPOST(path, "application/json", `{"ttl_seconds": 60}`, bearer...), 400, "invalid_lock_name")
	}
	wantProblem(t, ts.do("GET", "/locks/", ts.token, nil), 400, "invalid_lock_name")
	if r := ts.do("GET", "/locks", ts.token, nil); r.status != 200 {
		t.Fatalf("list: %d %s", r.status, r.raw)
	}
}

func TestTwoOwnerlessCurlHostsWithOneTokenExcludeEachOther(t *testing.T) {
	ts := newTestServer(t, Config{})
	bearer := []string{"Authorization", "Bearer " + ts.token}
	first := ts.rawPOST("/locks/nightly/acquire", "application/x-www-form-urlencoded", `{"ttl_seconds": 60}`, bearer...)
	second := ts.rawPOST("/locks/nightly/acquire", "application/x-www-form-urlencoded", `{"ttl_seconds": 60}`, bearer...)
	if first.str("status") != "acquired" || second.str("status") != "held" {
		t.Fatalf("two cron hosts: %s / %s", first.raw, second.raw)
	}
	if second.str("holder_id") == "" || strings.Contains(second.str("holder_id"), "/") {
		t.Fatalf("owner-less holder id %q", second.str("holder_id"))
	}
	// The same owner twice is the same holder (a retried request).
	a := ts.acquire(ts.token, "retry", 60, "host-1")
	b := ts.acquire(ts.token, "retry", 60, "host-1")
	if a.str("lease_id") == "" || a.str("lease_id") != b.str("lease_id") || a.num("fencing_token") != b.num("fencing_token") {
		t.Fatalf("owner retry: %s / %s", a.raw, b.raw)
	}
}
