package main

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// integrityCheck runs SQLite's PRAGMA integrity_check on a database no process holds.
func integrityCheck(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var verdict string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&verdict); err != nil || verdict != "ok" {
		t.Fatalf("integrity_check after a crash: %q %v", verdict, err)
	}
}

// waitOps polls until the workload has recorded n operations.
func waitOps(t *testing.T, w *workload, n int64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for w.count.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the workload stalled at %d operations, waiting for %d", w.count.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// sentinels are two locks set up before the chaos: one held with a long TTL and never
// released, one acquired and released. After every restart the first must still be
// held with its token and the second must still be free.
type sentinels struct {
	w      *workload
	client int
	token  int64
}

func newSentinels(t *testing.T, w *workload, client int) *sentinels {
	t.Helper()
	holder := w.holder("sentinel")
	body := map[string]any{"ttl_seconds": 3600, "owner": "sentinel"}
	held, _ := w.do(client, lockInput{Kind: opAcquire, Name: "sentinel-held", Holder: holder, TTL: int64(time.Hour)}, body)
	gone, _ := w.do(client, lockInput{Kind: opAcquire, Name: "sentinel-released", Holder: holder, TTL: int64(time.Hour)}, body)
	rel, _ := w.do(client, lockInput{Kind: opRelease, Name: "sentinel-released", Holder: holder, Lease: gone.Lease}, map[string]any{"lease_id": gone.Lease})
	if held.Result != outAcquired || gone.Result != outAcquired || rel.Result != outReleased {
		t.Fatalf("sentinels: %v %v %v", held, gone, rel)
	}
	return &sentinels{w: w, client: client, token: held.Token}
}

// verify reads both sentinels and every workload name (recorded in the history, so the
// model checks them too).
func (s *sentinels) verify(t *testing.T, round int) {
	t.Helper()
	held, _ := s.w.do(s.client, lockInput{Kind: opGet, Name: "sentinel-held"}, nil)
	if held.Result != outHeld || held.Token != s.token {
		t.Fatalf("restart %d: an acknowledged grant was lost: %+v", round, held)
	}
	gone, _ := s.w.do(s.client, lockInput{Kind: opGet, Name: "sentinel-released"}, nil)
	if gone.Result != outFree {
		t.Fatalf("restart %d: an acknowledged release was lost: %+v", round, gone)
	}
	for _, n := range s.w.names {
		s.w.do(s.client, lockInput{Kind: opGet, Name: n}, nil)
	}
}

// TestCrashLoopUnderLoad kills the real binary with SIGKILL at random moments while
// clients hammer it, restarts it on the same address and database, and checks the
// whole history across every restart with the same model as the linearizability test.
func TestCrashLoopUnderLoad(t *testing.T) {
	t.Parallel()
	restarts, clients := size(20, 300), 8
	t.Run(fmt.Sprintf("%drestarts_%dclients", restarts, clients), func(t *testing.T) {
		dir := t.TempDir()
		addr := freePort(t)
		env := []string{"MAX_LOCKS_PER_ACCOUNT=1000000"}
		p := startBinary(t, binary, dir, addr, true, env...)
		rec := newRecorder()
		w := newWorkload(rec, func() string { return "http://" + addr }, p.token, clients, 6, math.MaxInt64)
		w.fresh = 0.02 // abandoned one-off names: expiry sweeps have work at every crash
		s := newSentinels(t, w, clients)
		seed := uint64(time.Now().UnixNano())
		t.Logf("seed %d", seed)
		rnd := rand.New(rand.NewPCG(seed, math.MaxUint64))

		ctx, cancel := context.WithCancel(context.Background())
		loadDone := make(chan struct{})
		go func() { defer close(loadDone); w.run(ctx, seed) }()
		defer func() { cancel(); <-loadDone }()

		for round := 1; round <= restarts; round++ {
			waitOps(t, w, w.count.Load()+int64(20+rnd.IntN(300)))
			p.kill(syscall.SIGKILL)
			killed := rec.now()
			integrityCheck(t, filepath.Join(dir, "octostore.db"))
			p = startBinary(t, binary, dir, addr, false, env...)
			rec.add(clients+1, lockInput{Kind: opRestart, Call: killed + 1}, lockOutput{Result: outRestarted, Return: rec.now()})
			s.verify(t, round)
		}
		waitOps(t, w, w.count.Load()+200)
		cancel()
		<-loadDone
		p.kill(syscall.SIGKILL)
		integrityCheck(t, filepath.Join(dir, "octostore.db"))

		history := rec.history()
		v := requireLinearizable(t, "crash-loop", history, restarts)
		acked := map[outcome]int{}
		for _, op := range history {
			acked[op.Output.(lockOutput).Result]++
		}
		t.Logf("%d restarts, %d integrity checks ok, %d acknowledged grants and %d acknowledged releases checked, %d in-flight outcomes unknown, %d requests refused while down",
			restarts, restarts+1, acked[outAcquired], acked[outReleased], v.unknown, w.refused.Load())
		if v.unknown == 0 {
			t.Fatal("no request was ever in flight at a kill: the crashes did not happen under load")
		}
	})
}
