package impl

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// BenchmarkWatchWakeup measures how soon a watcher hears of a change, on loopback: one
// client long-polls a lock (index and wait_seconds) while another acquires or releases
// it. One iteration is one change, timed from the moment the changing request starts
// to the moment the watcher has its answer with the new revision; the change is
// durable first (SQLite, synchronous=FULL), so the figure includes its commit. It
// reports the median and 99th percentile:
//
//	go test -run='^$' -bench=WatchWakeup -benchtime=500x -count=5 ./impl/
func BenchmarkWatchWakeup(b *testing.B) {
	call := loopbackServer(b)
	watcher := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
	changer := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
	defer watcher.CloseIdleConnections()
	defer changer.CloseIdleConnections()

	st0, err := call(watcher, "GET", "/locks/watched", nil)
	if err != nil {
		b.Fatal(err)
	}
	rev, _ := st0["revision"].(float64)
	type answer struct {
		rev float64
		at  time.Time
		err error
	}
	samples := make([]time.Duration, 0, b.N)
	lease := ""
	b.ResetTimer()
	for range b.N {
		answers := make(chan answer, 1)
		go func(index float64) {
			out, err := call(watcher, "GET", fmt.Sprintf("/locks/watched?index=%d&wait_seconds=30", int64(index)), nil)
			a := answer{at: time.Now(), err: err}
			if err == nil {
				a.rev, _ = out["revision"].(float64)
			}
			answers <- a
		}(rev)
		time.Sleep(2 * time.Millisecond) // most likely parked on the server by now; if not, it returns at once
		start := time.Now()
		if lease == "" {
			out, err := call(changer, "POST", "/locks/watched/acquire", map[string]any{"ttl_seconds": 60})
			if err != nil {
				b.Fatal(err)
			}
			lease, _ = out["lease_id"].(string)
		} else {
			if _, err := call(changer, "POST", "/locks/watched/release", map[string]any{"lease_id": lease}); err != nil {
				b.Fatal(err)
			}
			lease = ""
		}
		a := <-answers
		if a.err != nil {
			b.Fatal(a.err)
		}
		if a.rev <= rev {
			b.Fatalf("the watch answered revision %v, not past %v", a.rev, rev)
		}
		rev = a.rev
		samples = append(samples, a.at.Sub(start))
	}
	b.StopTimer()
	reportLatencies(b, samples)
}
