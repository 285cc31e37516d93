package impl

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/octostore/octostore/impl/store"
)

// TestMetricsCountGrantsExpiriesAndRequests: a grant counts once (an idempotent
// re-acquire does not), a release is not an expiry, a lease that runs out is; requests
// are labelled by route pattern; commits are observed.
func TestMetricsCountGrantsExpiriesAndRequests(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	m := NewMetrics()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "m.db"), store.Options{Hooks: m.StoreHooks()})
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	srv, err := New(ctx, st, Config{Clock: clock, Metrics: m, SweepInterval: time.Hour, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h, err := srv.Handler()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		st.Close()
	})
	issued, _, err := srv.Bootstrap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path, body string) *httptest.ResponseRecorder {
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req := httptest.NewRequest(method, path, rd)
		req.Header.Set("Authorization", "Bearer "+issued.Token)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	leaseOf := func(rec *httptest.ResponseRecorder) string {
		s := rec.Body.String()
		i := strings.Index(s, `"lease_id":"`)
		if rec.Code != http.StatusOK || i < 0 {
			t.Fatalf("%d %s", rec.Code, s)
		}
		return s[i+12 : i+48]
	}

	a := leaseOf(call("POST", "/locks/a/acquire", `{"ttl_seconds":60}`))
	call("POST", "/locks/a/acquire", `{"ttl_seconds":60}`) // idempotent
	call("POST", "/locks/a/release", `{"lease_id":"`+a+`"}`)
	leaseOf(call("POST", "/locks/b/acquire", `{"ttl_seconds":1}`))
	if got := testutil.ToFloat64(m.grants); got != 2 {
		t.Errorf("grants %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.expiries); got != 0 {
		t.Errorf("expiries %v after a release, want 0", got)
	}
	clock.Advance(2 * time.Second)
	if rec := call("GET", "/locks/b", ""); !strings.Contains(rec.Body.String(), `"free"`) {
		t.Fatalf("b not free: %s", rec.Body)
	}
	if got := testutil.ToFloat64(m.expiries); got != 1 {
		t.Errorf("expiries %v, want 1", got)
	}
	call("GET", "/nowhere", "")

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	text := rec.Body.String()
	for _, want := range []string{
		`octostore_http_requests_total{code="200",route="POST /locks/{name}/acquire"} 3`,
		`octostore_http_requests_total{code="200",route="POST /locks/{name}/release"} 1`,
		`octostore_http_requests_total{code="404",route="unmatched"} 1`,
		`octostore_http_request_duration_seconds_count{route="GET /locks/{name}"} 1`,
		"octostore_locks_held 0",
		"octostore_commit_batch_revisions_count",
		"octostore_commit_duration_seconds_bucket",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
