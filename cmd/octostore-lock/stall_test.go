package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestStalledServerGrantsNoLockTwice stops the real server with SIGSTOP for twice a
// lease's TTL while its holder renews and others queue acquires, then resumes it. The
// stalled lease must have expired (the renew and a later release are refused), exactly
// one waiting contender gets the lock with a larger token, and the history passes the
// fenced lease model.
func TestStalledServerGrantsNoLockTwice(t *testing.T) {
	t.Parallel()
	rounds, contenders := size(3, 20), 6
	t.Run(fmt.Sprintf("%drounds_%dcontenders_stalled_2xTTL", rounds, contenders), func(t *testing.T) {
		p := start(t, t.TempDir(), true)
		rec := newRecorder()
		w := newWorkload(rec, func() string { return p.url }, p.token, contenders+1, 0, 0)
		const ttl = time.Second
		acquire := func(client int, name, owner string) lockOutput {
			out, _ := w.do(client, lockInput{Kind: opAcquire, Name: name, Holder: w.holder(owner), TTL: int64(ttl)},
				map[string]any{"ttl_seconds": 1, "owner": owner})
			return out
		}
		for round := 1; round <= rounds; round++ {
			name := fmt.Sprintf("stalled-%d", round)
			first := acquire(0, name, "first")
			if first.Result != outAcquired {
				t.Fatalf("round %d: %+v", round, first)
			}
			if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			waitProcState(t, p.cmd.Process.Pid, 'T')
			var wg sync.WaitGroup
			results := make([]lockOutput, contenders)
			var renew lockOutput
			wg.Add(contenders + 1)
			go func() {
				defer wg.Done()
				renew, _ = w.do(0, lockInput{Kind: opRenew, Name: name, Holder: w.holder("first"), Lease: first.Lease, TTL: int64(ttl)},
					map[string]any{"lease_id": first.Lease, "ttl_seconds": 1})
			}()
			for c := 0; c < contenders; c++ {
				go func() {
					defer wg.Done()
					results[c] = acquire(c+1, name, fmt.Sprintf("waiter-%d", c))
				}()
			}
			pause(t.Context(), 2*ttl) // the stall itself: the scenario, not a wait for a condition
			if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			release, _ := w.do(0, lockInput{Kind: opRelease, Name: name, Holder: w.holder("first"), Lease: first.Lease},
				map[string]any{"lease_id": first.Lease})
			if renew.Result != outNotCurrent || release.Result != outNotCurrent {
				t.Fatalf("round %d: the stalled lease was still current after 2×TTL: renew %+v, release %+v", round, renew, release)
			}
			winners := 0
			for _, r := range results {
				switch r.Result {
				case outAcquired:
					winners++
					if r.Token <= first.Token {
						t.Fatalf("round %d: successor token %d, stalled holder's %d", round, r.Token, first.Token)
					}
				case outHeld:
				default:
					t.Fatalf("round %d: contender got %+v", round, r)
				}
			}
			if winners != 1 {
				t.Fatalf("round %d: %d contenders were granted the lock", round, winners)
			}
		}
		requireLinearizable(t, "sigstop", rec.history(), 0)
	})
}

// waitProcState polls /proc until the process is in state (T: stopped).
func waitProcState(t *testing.T, pid int, state byte) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Skipf("cannot read the process state: %v", err)
		}
		// pid (comm) state ...: the state follows the last ')'.
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d never reached state %c: %s", pid, state, stat)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSlowHeaderClientIsCutOff trickles a request header one byte at a time into the
// real binary: the server must close the connection (ReadHeaderTimeout) while a normal
// client is still served.
func TestSlowHeaderClientIsCutOff(t *testing.T) {
	t.Parallel()
	p := start(t, t.TempDir(), true)
	conn, err := net.Dial("tcp", p.url[len("http://"):])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	closed := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, bufio.NewReader(conn))
		closed <- err
	}()
	header := []byte("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
	began := time.Now()
	sent := 0
	for i := 0; i < 600; i++ { // at most 60 s of trickling
		select {
		case err := <-closed:
			if err != nil && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("read: %v", err)
			}
			t.Logf("slow-header client cut off after %d header bytes in %s", sent, time.Since(began).Round(100*time.Millisecond))
			if r := p.call(t, "GET", "/health", "", nil); r["status"] != "ok" {
				t.Fatalf("health after the slow client: %v", r)
			}
			return
		default:
		}
		b := header[min(sent, len(header)-1):]
		if sent >= len(header) {
			b = []byte("a")
		}
		if _, err := conn.Write(b[:1]); err != nil {
			t.Logf("slow-header client cut off after %d header bytes (write: %v)", sent, err)
			return
		}
		sent++
		if i%20 == 0 { // a well-behaved client is served meanwhile
			if r := p.call(t, "GET", "/health", "", nil); r["status"] != "ok" {
				t.Fatalf("health while a slow client trickles: %v", r)
			}
		}
		pause(t.Context(), 100*time.Millisecond)
	}
	t.Fatal("a client trickling its header for 60 s was never cut off")
}
