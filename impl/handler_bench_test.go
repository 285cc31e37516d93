package impl

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octostore/octostore/impl/noop"
	"github.com/octostore/octostore/impl/store"
)

// benchServer is the whole handler stack on a real SQLite file, called in-process (no
// sockets), so that a benchmark measures what the server does per request.
type benchServer struct {
	h     http.Handler
	token string

	commits, revisions, commitNanos atomic.Int64
}

// reportCommits adds the average group-commit size and duration to b's output.
func (bs *benchServer) reportCommits(b *testing.B) {
	if n := bs.commits.Load(); n > 0 {
		b.ReportMetric(float64(bs.revisions.Load())/float64(n), "revs/commit")
		b.ReportMetric(float64(bs.commitNanos.Load())/float64(n)/1e3, "µs/commit")
	}
}

func newBenchServer(b *testing.B) *benchServer {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	bs := &benchServer{}
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), store.Options{Hooks: &store.Hooks{
		Committed: func(revisions, _ int, took time.Duration) {
			bs.commits.Add(1)
			bs.revisions.Add(int64(revisions))
			bs.commitNanos.Add(took.Nanoseconds())
		},
	}})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(ctx, st, Config{AdminKey: "bench-admin-key-0123456789", MaxLocksPerAccount: 1 << 20,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	h, err := srv.Handler()
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-done
		st.Close()
	})
	bs.h = h
	bs.token = bs.account(b, "bench-a")
	return bs
}

func (bs *benchServer) account(b *testing.B, name string) string {
	rec := bs.serve("POST", "/admin/accounts", "", `{"name":"`+name+`"}`, "X-Admin-Key", "bench-admin-key-0123456789")
	if rec.Code != http.StatusCreated {
		b.Fatalf("create account: %d %s", rec.Code, rec.Body)
	}
	var out struct{ Token string }
	json.Unmarshal(rec.Body.Bytes(), &out)
	return out.Token
}

func (bs *benchServer) serve(method, path, token, body string, headers ...string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	bs.h.ServeHTTP(rec, req)
	return rec
}

func (bs *benchServer) acquire(b *testing.B, token, name string) string {
	rec := bs.serve("POST", "/locks/"+name+"/acquire", token, `{"ttl_seconds":600}`)
	var out struct {
		Status  string
		LeaseID string `json:"lease_id"`
	}
	json.Unmarshal(rec.Body.Bytes(), &out)
	if rec.Code != http.StatusOK || out.Status != "acquired" {
		b.Fatalf("acquire %s: %d %s", name, rec.Code, rec.Body)
	}
	return out.LeaseID
}

// BenchmarkHandler is the server's work per request, in-process: requests that change
// nothing (status, try-acquire of a held lock, a renew that does not lengthen the TTL),
// acquire+release cycles from parallel clients (group-committed), and the no-op
// ceiling for comparison.
func BenchmarkHandler(b *testing.B) {
	b.Run("status", func(b *testing.B) {
		bs := newBenchServer(b)
		bs.acquire(b, bs.token, "held")
		b.ReportAllocs()
		for b.Loop() {
			if rec := bs.serve("GET", "/locks/held", bs.token, ""); rec.Code != http.StatusOK {
				b.Fatal(rec.Code, rec.Body)
			}
		}
	})
	b.Run("tryheld", func(b *testing.B) {
		bs := newBenchServer(b)
		bs.acquire(b, bs.token, "held")
		b.ReportAllocs()
		for b.Loop() {
			// The same token with another owner is another holder.
			rec := bs.serve("POST", "/locks/held/acquire", bs.token, `{"ttl_seconds":600,"owner":"x"}`)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"held"`) {
				b.Fatal(rec.Code, rec.Body)
			}
		}
	})
	b.Run("renew", func(b *testing.B) {
		bs := newBenchServer(b)
		id := bs.acquire(b, bs.token, "mine")
		body := `{"lease_id":"` + id + `","ttl_seconds":600}`
		b.ReportAllocs()
		for b.Loop() {
			if rec := bs.serve("POST", "/locks/mine/renew", bs.token, body); rec.Code != http.StatusOK {
				b.Fatal(rec.Code, rec.Body)
			}
		}
	})
	b.Run("cycle-parallel", func(b *testing.B) {
		bs := newBenchServer(b)
		var worker atomic.Int64
		b.ReportAllocs()
		b.SetParallelism(32) // 32 × GOMAXPROCS concurrent clients feed the group commit
		b.RunParallel(func(pb *testing.PB) {
			name := "c" + strconv.FormatInt(worker.Add(1), 10)
			for pb.Next() {
				id := bs.acquire(b, bs.token, name)
				if rec := bs.serve("POST", "/locks/"+name+"/release", bs.token, `{"lease_id":"`+id+`"}`); rec.Code != http.StatusOK {
					b.Fatal(rec.Code, rec.Body)
				}
			}
		})
		bs.reportCommits(b)
	})
	b.Run("noop-status", func(b *testing.B) {
		h := noop.Handler()
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest("GET", "/locks/held", nil)
			req.Header.Set("Authorization", "Bearer x")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Code)
			}
		}
	})
	b.Run("noop-acquire", func(b *testing.B) {
		h := noop.Handler()
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest("POST", "/locks/held/acquire", strings.NewReader(`{"ttl_seconds":600,"owner":"x"}`))
			req.Header.Set("Authorization", "Bearer x")
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Code)
			}
		}
	})
}
