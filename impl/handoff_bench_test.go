package impl

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octostore/octostore/impl/store"
)

// BenchmarkHandoff measures blocking-acquire hand-off latency on loopback: 16 clients
// wait in a lock's line (wait_seconds) while a 17th holds it; the holder releases at once
// and waits in line again. One iteration is one hand-off, timed from the moment the
// holder starts its release request to the moment the next waiter has its "acquired"
// answer, both durable (SQLite, synchronous=FULL). It reports the median and 99th
// percentile:
//
//	go test -run='^$' -bench=Handoff -benchtime=2000x -count=5 ./impl/
func BenchmarkHandoff(b *testing.B) {
	const waiters = 16
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(ctx, st, Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	defer func() {
		srv.Drain()
		cancel()
		<-done
		st.Close()
	}()
	issued, _, err := srv.Bootstrap(ctx)
	if err != nil {
		b.Fatal(err)
	}
	h, err := srv.Handler()
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(h)
	defer hs.Close()

	post := func(c *http.Client, path string, body any) (map[string]any, error) {
		buf, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", hs.URL+path, bytes.NewReader(buf))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+issued.Token)
		res, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			return nil, err
		}
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%d %v", res.StatusCode, out)
		}
		return out, nil
	}

	var (
		origin    = time.Now()
		releaseAt atomic.Int64 // when the current holder started its release, since origin
		grants    atomic.Int64
		mu        sync.Mutex
		samples   = make([]time.Duration, 0, b.N)
		errs      = make(chan error, waiters+1)
		wg        sync.WaitGroup
	)
	b.ResetTimer()
	for i := 0; i <= waiters; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			defer c.CloseIdleConnections()
			body := map[string]any{"ttl_seconds": 30, "owner": fmt.Sprint("w", i), "wait_seconds": 60}
			for {
				r, err := post(c, "/locks/handoff/acquire", body)
				if err != nil {
					errs <- err
					return
				}
				if r["status"] != "acquired" {
					continue // a 60-second wait ended; wait again
				}
				n := grants.Add(1)
				if from := releaseAt.Load(); from > 0 {
					d := time.Since(origin) - time.Duration(from)
					mu.Lock()
					if len(samples) < b.N {
						samples = append(samples, d)
					}
					mu.Unlock()
				}
				releaseAt.Store(int64(time.Since(origin)))
				if _, err := post(c, "/locks/handoff/release", map[string]any{"lease_id": r["lease_id"]}); err != nil {
					errs <- err
					return
				}
				if n > int64(b.N) {
					return // the lock goes on down the line until every client has left
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	slices.Sort(samples)
	pct := func(p float64) float64 {
		return float64(samples[int(p*float64(len(samples)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}
