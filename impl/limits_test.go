package impl

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestOversizedBodiesAre413WithoutMemoryGrowth sends a thousand 200 KiB bodies, half
// with a Content-Length (refused before reading) and half chunked (refused once the
// limit is read): every one is a 413 and the heap does not grow with what was sent.
func TestOversizedBodiesAre413WithoutMemoryGrowth(t *testing.T) {
	ts := newTestServer(t, Config{})
	const n, size = 1000, 200 << 10
	body := bytes.Repeat([]byte("x"), size)
	copy(body, `{"ttl_seconds":60,"owner":"`)
	// A raw connection: the server answers 413 before the body is all sent, so the client
	// must read the answer while it is still writing (as curl does), not after.
	addr := strings.TrimPrefix(ts.http.URL, "http://")
	send := func(chunked bool) int {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		req, _ := http.NewRequest("POST", ts.http.URL+"/locks/big/acquire", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+ts.token)
		req.Header.Set("Content-Type", "application/json")
		if chunked {
			req.ContentLength = -1
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		go req.Write(conn) // its error, once the server has hung up, is expected
		res, err := http.ReadResponse(bufio.NewReader(conn), req)
		if err != nil {
			t.Fatalf("response: %v", err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	send(false) // warm up connections, buffers and the validator
	send(true)
	before := heapInUse()
	for i := 0; i < n; i++ {
		if status := send(i%2 == 1); status != http.StatusRequestEntityTooLarge {
			t.Fatalf("request %d: status %d", i, status)
		}
	}
	after := heapInUse()
	growth := int64(after) - int64(before)
	t.Logf("%d oversized bodies (%d MiB sent): all 413, heap in use %d KiB before, %d KiB after", n, n*size>>20, before>>10, after>>10)
	if growth > 8<<20 {
		t.Fatalf("heap grew by %d KiB after rejecting %d MiB of bodies", growth>>10, n*size>>20)
	}
	if s := ts.do("GET", "/locks/big", ts.token, nil); s.str("status") != "free" {
		t.Fatalf("a rejected body changed state: %s", s.raw)
	}
}

// TestQuotaNeverExceededUnderConcurrentAcquires races 64 clients acquiring and
// releasing distinct names against the default limit of 100, while an observer lists the
// account's locks: no list ever shows more than 100, and exactly the acknowledged grants
// minus the acknowledged releases are active at the end.
func TestQuotaNeverExceededUnderConcurrentAcquires(t *testing.T) {
	ts := newTestServer(t, Config{})
	const clients, perClient = 64, 25
	var (
		wg                         sync.WaitGroup
		granted, released, refused atomic.Int64
		maxSeen, observations      atomic.Int64
		stop                       = make(chan struct{})
		observerDone               = make(chan struct{})
	)
	go func() {
		defer close(observerDone)
		for i := 0; i < 100_000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			r := ts.do("GET", "/locks", ts.token, nil)
			n := int64(len(r.body["locks"].([]any)))
			observations.Add(1)
			for {
				m := maxSeen.Load()
				if n <= m || maxSeen.CompareAndSwap(m, n) {
					break
				}
			}
		}
	}()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perClient; i++ {
				name := fmt.Sprintf("q-%d-%d", c, i)
				r := ts.acquire(ts.token, name, 60, "")
				switch {
				case r.str("status") == "acquired":
					granted.Add(1)
					if i%3 == 0 {
						if ts.do("POST", "/locks/"+name+"/release", ts.token, map[string]any{"lease_id": r.str("lease_id")}).status == 200 {
							released.Add(1)
						}
					}
				case r.str("code") == "lock_limit_exceeded":
					refused.Add(1)
				default:
					t.Errorf("acquire %s: %d %s", name, r.status, r.raw)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-observerDone
	active := len(ts.do("GET", "/locks", ts.token, nil).body["locks"].([]any))
	t.Logf("%d clients, %d acquires: %d granted, %d released, %d refused at the limit; %d observations, at most %d active; %d active at the end",
		clients, clients*perClient, granted.Load(), released.Load(), refused.Load(), observations.Load(), maxSeen.Load(), active)
	if maxSeen.Load() > 100 || active > 100 {
		t.Fatalf("the quota of 100 was exceeded: %d observed, %d at the end", maxSeen.Load(), active)
	}
	if int64(active) != granted.Load()-released.Load() || refused.Load() == 0 {
		t.Fatalf("active %d, granted %d - released %d, refused %d", active, granted.Load(), released.Load(), refused.Load())
	}
}
