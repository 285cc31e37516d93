package impl

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
	call := loopbackServer(b)
	post := func(c *http.Client, path string, body any) (map[string]any, error) {
		return call(c, "POST", path, body)
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
	reportLatencies(b, samples)
}
