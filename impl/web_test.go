package impl

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/octostore/octostore/gen"
	"github.com/octostore/octostore/impl/docs"
)

// Answers that carry tokens, and the dashboard's JSON, must never be kept by a cache.
func TestTokenAndDashboardAnswersAreNotStored(t *testing.T) {
	ts, _ := newSignInServerWith(t, Config{AdminKey: testAdminKey})
	admin := []string{"X-Admin-Key", testAdminKey}
	created := ts.do("POST", "/admin/accounts", "", map[string]any{"name": "ci"}, admin...)
	token, id := created.str("token"), created.str("account_id")
	b := newBrowser(ts)
	b.signIn()
	csrf := b.session().str("csrf_token")

	for name, r := range map[string]response{
		"POST /admin/accounts":                   created,
		"GET /admin/accounts":                    ts.do("GET", "/admin/accounts", "", nil, admin...),
		"POST /admin/accounts/{id}/tokens":       ts.do("POST", "/admin/accounts/"+id+"/tokens", "", nil, admin...),
		"POST /auth/token/rotate":                ts.do("POST", "/auth/token/rotate", token, nil),
		"GET /auth/github":                       b.do("GET", "/auth/github"),
		"GET /dashboard/session":                 b.session(),
		"GET /dashboard/locks":                   b.do("GET", "/dashboard/locks"),
		"POST /dashboard/token/rotate":           b.post("/dashboard/token/rotate", csrf),
		"GET /dashboard/locks without a session": newBrowser(ts).do("GET", "/dashboard/locks"),
	} {
		if r.status >= 300 && r.status != http.StatusFound && r.status != http.StatusUnauthorized {
			t.Fatalf("%s: %d %s", name, r.status, r.raw)
		}
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q", name, cc)
		}
	}
	// The avatar is an image, kept by the browser only.
	if cc := b.do("GET", "/dashboard/avatar").header.Get("Cache-Control"); cc != "private, max-age=3600" {
		t.Errorf("avatar: Cache-Control %q", cc)
	}
}

// rawGet fetches path without the client's transparent decompression.
func rawGet(t *testing.T, ts *testServer, path string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", ts.http.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// /docs and /openapi.yaml: gzip when accepted, compressed once, strong ETags per
// representation, 304 for a current copy, no-cache so an upgrade shows at once, and on
// /docs a frame-ancestors policy.
func TestDocsAndSpecAreCompressedAndRevalidated(t *testing.T) {
	ts := newTestServer(t, Config{})
	for path, want := range map[string][]byte{"/docs": docs.Page("/openapi.yaml"), "/openapi.yaml": gen.SpecYAML} {
		plain, plainBody := rawGet(t, ts, path, "Accept-Encoding", "identity")
		zipped, zippedBody := rawGet(t, ts, path, "Accept-Encoding", "br;q=1, gzip;q=0.8")
		if plain.StatusCode != 200 || plain.Header.Get("Content-Encoding") != "" || !bytes.Equal(plainBody, want) {
			t.Fatalf("%s identity: %d %v", path, plain.StatusCode, plain.Header)
		}
		if zipped.StatusCode != 200 || zipped.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(gunzip(t, zippedBody), want) ||
			zipped.ContentLength != int64(len(zippedBody)) {
			t.Fatalf("%s gzip: %d %v", path, zipped.StatusCode, zipped.Header)
		}
		t.Logf("FIGURE %s: %d bytes, %d gzipped (%.1f %%)", path, len(plainBody), len(zippedBody), 100*float64(len(zippedBody))/float64(len(plainBody)))
		pe, ze := plain.Header.Get("ETag"), zipped.Header.Get("ETag")
		if pe == "" || ze == "" || pe == ze || strings.HasPrefix(pe, "W/") || strings.HasPrefix(ze, "W/") || !strings.HasPrefix(pe, `"`) {
			t.Fatalf("%s: ETags %q and %q", path, pe, ze)
		}
		for _, r := range []*http.Response{plain, zipped} {
			if r.Header.Get("Cache-Control") != "public, no-cache" || r.Header.Get("Vary") != "Accept-Encoding" {
				t.Fatalf("%s: %v", path, r.Header)
			}
		}
		if path == "/docs" {
			if csp := zipped.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'self'") {
				t.Fatalf("CSP %q", csp)
			}
		}
		// Not accepted: q=0, or nothing said.
		for _, ae := range []string{"gzip;q=0", "deflate", ""} {
			if r, _ := rawGet(t, ts, path, "Accept-Encoding", ae); r.Header.Get("Content-Encoding") != "" {
				t.Fatalf("%s: gzip for Accept-Encoding %q", path, ae)
			}
		}
		// Conditional requests.
		for _, c := range []struct {
			ae, inm string
			status  int
		}{
			{"gzip", ze, 304},
			{"gzip", `"nope", W/` + ze, 304},
			{"gzip", "*", 304},
			{"identity", pe, 304},
			{"identity", ze, 200}, // another representation's tag
			{"gzip", `"nope"`, 200},
		} {
			r, body := rawGet(t, ts, path, "Accept-Encoding", c.ae, "If-None-Match", c.inm)
			if r.StatusCode != c.status {
				t.Fatalf("%s %q/%q: %d", path, c.ae, c.inm, r.StatusCode)
			}
			if c.status == 304 && (len(body) != 0 || r.Header.Get("ETag") == "" || r.Header.Get("Cache-Control") != "public, no-cache") {
				t.Fatalf("%s 304: %d bytes, %v", path, len(body), r.Header)
			}
		}
	}

	// Compressed once: serving the gzipped page again allocates far less than compressing
	// it would (well over its 1.2 MB output).
	h := ts.http.Config.Handler
	serve := func() {
		req := httptest.NewRequest("GET", "/docs", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		h.ServeHTTP(discard{header: http.Header{}}, req)
	}
	serve()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 20
	for range n {
		serve()
	}
	runtime.ReadMemStats(&after)
	perRequest := (after.TotalAlloc - before.TotalAlloc) / n
	t.Logf("FIGURE GET /docs (gzip): %d bytes allocated per request", perRequest)
	if perRequest > 256<<10 {
		t.Fatalf("%d bytes allocated per request: compressed per request?", perRequest)
	}
}

// discard is a ResponseWriter that keeps nothing.
type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}
