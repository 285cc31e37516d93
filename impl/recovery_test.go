package impl

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A storage failure is injected with store.Degrade, the same path a failed commit or a
// replaced database file takes; the fault suite (cmd/octostore-lock, make faults) does it
// with real disks.

func TestDegradedStorageRefusesWritesKeepsReadsAndRecoversByItself(t *testing.T) {
	ts := newTestServer(t, Config{RecoveryInterval: time.Second})
	held := ts.acquire(ts.token, "held", 60, "")
	if held.str("status") != "acquired" {
		t.Fatalf("%s", held.raw)
	}
	before := held.num("fencing_token")
	if r := ts.do("GET", "/ready", "", nil); r.status != 200 {
		t.Fatalf("ready: %d %s", r.status, r.raw)
	}

	ts.st.Degrade(errors.New("disk full (injected)"))
	<-ts.st.Failed()
	r := ts.acquire(ts.token, "other", 60, "")
	wantProblem(t, r, 503, "unavailable")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	ready := ts.do("GET", "/ready", "", nil)
	wantProblem(t, ready, 503, "unavailable")
	if ready.header.Get("Retry-After") == "" || !strings.Contains(ready.str("detail"), "does not accept writes") {
		t.Fatalf("ready: %s", ready.raw)
	}
	h := ts.do("GET", "/health", "", nil)
	if h.status != 200 || h.body["storage"].(map[string]any)["state"] != "degraded" || h.body["storage"].(map[string]any)["reason"] == "" {
		t.Fatalf("health: %s", h.raw)
	}
	if strings.Contains(string(h.raw), filepath.Dir(ts.dbPath)) {
		t.Fatalf("the public health check shows the database's path: %s", h.raw)
	}
	// A read of durable state still works.
	if s := ts.do("GET", "/locks/held", ts.token, nil); s.status != 200 || s.num("fencing_token") != before {
		t.Fatalf("read while degraded: %d %s", s.status, s.raw)
	}

	eventually(t, "the server recovers", func() bool {
		ts.clock.Advance(time.Second)
		return ts.do("GET", "/ready", "", nil).status == 200
	})
	if h := ts.do("GET", "/health", "", nil); h.body["storage"].(map[string]any)["state"] != "ok" {
		t.Fatalf("health after recovery: %s", h.raw)
	}
	// The acknowledged lease survived, the refused one never appeared, and fencing moved on.
	if s := ts.do("GET", "/locks/held", ts.token, nil); s.str("status") != "held" || s.num("fencing_token") != before {
		t.Fatalf("acknowledged lease after recovery: %s", s.raw)
	}
	if s := ts.do("GET", "/locks/other", ts.token, nil); s.str("status") != "free" {
		t.Fatalf("a refused acquire became visible: %s", s.raw)
	}
	next := ts.acquire(ts.token, "other", 60, "")
	if next.str("status") != "acquired" || next.num("fencing_token") <= before {
		t.Fatalf("after recovery: %s (token must exceed %d)", next.raw, before)
	}
}

func TestRecoveryAnswersWaitersAndKeepsFencingAboveTheOldEngine(t *testing.T) {
	ts := newTestServer(t, Config{RecoveryInterval: time.Second})
	ts.acquire(ts.token, "job", 60, "")
	waited := make(chan response, 1)
	go func() {
		waited <- ts.do("POST", "/locks/job/acquire", ts.token, map[string]any{"ttl_seconds": 30, "owner": "w", "wait_seconds": 60})
	}()
	k := ts.key(ts.token, "job")
	eventually(t, "the waiter is in line", func() bool { return ts.waitersOf(k) == 1 })
	ts.srv.mu.Lock()
	last := ts.srv.engine.LastToken()
	ts.srv.mu.Unlock()
	ts.st.Degrade(errors.New("i/o error (injected)"))
	<-ts.st.Failed() // Degrade is asynchronous: wait until the store refuses writes
	eventually(t, "the server recovers", func() bool {
		ts.clock.Advance(time.Second)
		return ts.do("GET", "/ready", "", nil).status == 200
	})
	select {
	case r := <-waited:
		wantProblem(t, r, 503, "unavailable")
	case <-time.After(30 * time.Second):
		t.Fatal("the waiter was not answered after the recovery")
	}
	ts.srv.mu.Lock()
	floor := ts.srv.engine.LastToken()
	ts.srv.mu.Unlock()
	if floor < last {
		t.Fatalf("rebuilt engine continues at %d, below the old engine's %d", floor, last)
	}
}
