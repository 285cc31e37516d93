package impl

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/octostore/octostore/gen"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/octostore/octostore/impl/store"
)

// fuzzServer is one real handler stack shared by a fuzz target's iterations, called
// in-process for speed.
type fuzzServer struct {
	h         http.Handler
	token     string
	accountID string // the token's account
}

func newFuzzServer(f *testing.F) *fuzzServer {
	f.Helper()
	return newFuzzServerWith(f, "")
}

// newFuzzServerWith starts a fuzz server; with an admin key it has the admin API and an
// account made through it.
func newFuzzServerWith(f *testing.F, adminKey string) *fuzzServer {
	f.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(f.TempDir(), "fuzz.db"), store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	srv, err := New(ctx, st, Config{Clock: instantWaits{newFakeClock()}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxLocksPerAccount: 1 << 20, AdminKey: adminKey})
	if err != nil {
		f.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	issued, _, err := srv.Bootstrap(ctx)
	if err != nil {
		f.Fatal(err)
	}
	if adminKey != "" {
		_, issued, err = srv.auth.CreateAccount(ctx, "fuzz", "")
		if err != nil {
			f.Fatal(err)
		}
	}
	h, err := srv.Handler()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		cancel()
		<-done
		st.Close()
	})
	return &fuzzServer{h: h, token: issued.Token, accountID: issued.AccountID}
}

// instantWaits is a fake clock on which every wait ends at once, so that a fuzzed
// blocking acquire or watch exercises the waiting paths without hanging.
type instantWaits struct{ *fakeClock }

func (instantWaits) AfterFunc(_ time.Duration, f func()) func() bool {
	go f()
	return func() bool { return false }
}

// doHeader sends a request with a raw Authorization header (none when empty) and extra
// header pairs.
func (fs *fuzzServer) doHeader(method, target string, body []byte, authorization string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header["Authorization"] = []string{authorization}
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	fs.h.ServeHTTP(rec, req)
	return rec
}

func (fs *fuzzServer) do(method, target string, body []byte, auth string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	fs.h.ServeHTTP(rec, req)
	return rec
}

// checkResponse holds for every response: never a 5xx, errors are problems with a code.
func checkResponse(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("server error %d: %s", rec.Code, rec.Body)
	}
	if rec.Code >= 400 {
		var p struct{ Code string }
		if rec.Header().Get("Content-Type") != "application/problem+json" || json.Unmarshal(rec.Body.Bytes(), &p) != nil || p.Code == "" {
			t.Fatalf("%d without a problem body: %q", rec.Code, rec.Body)
		}
	}
}

// lockNamePattern is the spec's own LockName pattern.
var lockNamePattern = func() *regexp.Regexp {
	spec, err := gen.GetSwagger()
	if err != nil {
		panic(err)
	}
	return regexp.MustCompile(spec.Components.Schemas["LockName"].Value.Pattern)
}()

// FuzzLockName: a name is accepted exactly when it matches the spec's pattern.
func FuzzLockName(f *testing.F) {
	fs := newFuzzServer(f)
	for _, s := range []string{"a", "my-service", "a.b-c", "", "a_b", "a/b", "..", ".", "%2e", strings.Repeat("x", 128), strings.Repeat("x", 129), "é", "a b", "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		target := "/locks/" + url.PathEscape(name) + "/acquire"
		rec := fs.do("POST", target, []byte(`{"ttl_seconds":1}`), "Bearer "+fs.token)
		checkResponse(t, rec)
		accepted := rec.Code == http.StatusOK
		if accepted != lockNamePattern.MatchString(name) {
			t.Fatalf("name %q: status %d %s", name, rec.Code, rec.Body)
		}
		if !accepted && rec.Code != http.StatusBadRequest && rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
			t.Fatalf("name %q: status %d", name, rec.Code)
		}
	})
}

// FuzzAcquireBody: any body yields 200 or a 4xx problem, never a 5xx, and an accepted
// body is one the spec allows.
func FuzzAcquireBody(f *testing.F) {
	fs := newFuzzServer(f)
	for _, s := range []string{`{"ttl_seconds":60}`, `{"ttl_seconds":60,"owner":"w"}`, `{"ttl_seconds":60,"owner":"v","wait_seconds":5}`, `{"ttl_seconds":60,"metadata":"m","wait_seconds":0}`, `{"ttl_seconds":60,"wait_seconds":61}`, `{}`, `{"ttl_seconds":0}`, `{"ttl_seconds":1e3}`, `{"ttl_seconds":60,"x":1}`, `[`, `null`, `"s"`, `{"ttl_seconds":60}{}`, `{"ttl_seconds":60,"ttl_seconds":0}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := fs.do("POST", "/locks/fuzz/acquire", body, "Bearer "+fs.token)
		checkResponse(t, rec)
		if rec.Code == http.StatusOK {
			var req map[string]any
			if err := json.Unmarshal(body, &req); err != nil {
				t.Fatalf("accepted a body Go cannot parse: %q", body)
			}
			ttl, ok := req["ttl_seconds"].(float64)
			if !ok || ttl < 1 || ttl > 3600 || ttl != float64(int64(ttl)) {
				t.Fatalf("accepted ttl %v in %q", req["ttl_seconds"], body)
			}
			for k, v := range req {
				switch k {
				case "ttl_seconds", "owner":
				case "wait_seconds":
					if w, ok := v.(float64); !ok || w < 0 || w > 60 || w != float64(int64(w)) {
						t.Fatalf("accepted wait_seconds %v in %q", v, body)
					}
				case "metadata":
					if m, ok := v.(string); !ok || len(m) > 1024 || !utf8.ValidString(m) {
						t.Fatalf("accepted metadata %q", v)
					}
				default:
					t.Fatalf("accepted unknown field %q", k)
				}
			}
		}
	})
}

// FuzzRenewReleaseBody: renew and release bodies and lease ids never cause a 5xx, and
// with no lock held nothing is ever renewed or released.
func FuzzRenewReleaseBody(f *testing.F) {
	fs := newFuzzServer(f)
	for _, s := range []string{`{"lease_id":"00000000-0000-4000-8000-000000000000"}`, `{"lease_id":"x"}`, `{"lease_id":"00000000-0000-4000-8000-000000000000","ttl_seconds":5}`, `{"lease_id":null}`, `{}`} {
		f.Add([]byte(s), "Bearer ")
	}
	f.Fuzz(func(t *testing.T, body []byte, auth string) {
		for _, op := range []string{"renew", "release"} {
			rec := fs.do("POST", "/locks/never-held/"+op, body, auth)
			checkResponse(t, rec)
			if rec.Code == http.StatusOK {
				t.Fatalf("%s of a lock never held succeeded: %q", op, body)
			}
		}
		rec := fs.do("POST", "/locks/never-held/release", body, "Bearer "+fs.token)
		checkResponse(t, rec)
		if rec.Code == http.StatusOK {
			t.Fatalf("release of a lock never held succeeded: %q", body)
		}
	})
}
