package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	failpointBinary     string
	failpointBinaryErr  error
	failpointBinaryOnce sync.Once
)

// buildFailpointBinary builds octostore-lock with -tags failpoints, once.
func buildFailpointBinary(t *testing.T) string {
	t.Helper()
	failpointBinaryOnce.Do(func() {
		failpointBinary = filepath.Join(filepath.Dir(binary), "octostore-lock-failpoints")
		out, err := exec.Command("go", "build", "-tags", "failpoints", "-o", failpointBinary, ".").CombinedOutput()
		if err != nil {
			failpointBinaryErr = fmt.Errorf("build with failpoints: %v\n%s", err, out)
		}
	})
	if failpointBinaryErr != nil {
		t.Fatal(failpointBinaryErr)
	}
	return failpointBinary
}

// crashPoint is a durability boundary and how to reach it.
type crashPoint struct {
	name   string // the failpoint
	maxHit int    // crash at a random hit in 1..maxHit
	expiry bool   // reach it through expiries only: abandoned leases, no releases
}

// The boundaries: before the group commit, inside its transaction after each kind of
// write (a grant or TTL change, a release or expiry, the fencing high-water mark),
// after the commit before anyone is told, after the engine applied a command before it
// is durable, after it is durable before the reply, and inside the expiry sweep.
var crashPoints = []crashPoint{
	{name: "commit/before", maxHit: 40},
	{name: "commit/lease-written", maxHit: 40},
	{name: "commit/delete-written", maxHit: 30},
	{name: "commit/reserve-written", maxHit: 1}, // the first grant after a start reserves tokens
	{name: "commit/after", maxHit: 40},
	{name: "apply/submitted", maxHit: 200},
	{name: "apply/durable", maxHit: 200},
	{name: "commit/delete-written", maxHit: 10, expiry: true},
	{name: "sweep/committed", maxHit: 3, expiry: true},
}

// TestCrashPointsLeaveAppliedOrNotApplied crashes the server at each durability
// boundary, repeatedly, under load, restarts it and checks that every interrupted
// request ended up applied or not applied: the whole history, with the interrupted
// requests as unknown outcomes, must pass the fenced lease model, acknowledged state must
// survive, and the database must pass integrity_check.
func TestCrashPointsLeaveAppliedOrNotApplied(t *testing.T) {
	bin := buildFailpointBinary(t)
	rounds := size(3, 25)
	for _, cp := range crashPoints {
		label := cp.name
		if cp.expiry {
			label += "/expiry-only"
		}
		t.Run(fmt.Sprintf("%s/%dcrashes", label, rounds), func(t *testing.T) {
			t.Parallel()
			testCrashPoint(t, bin, cp, label, rounds)
		})
	}
}

func testCrashPoint(t *testing.T, bin string, cp crashPoint, label string, rounds int) {
	dir := t.TempDir()
	db := filepath.Join(dir, "octostore.db")
	addr := freePort(t)
	env := []string{"MAX_LOCKS_PER_ACCOUNT=1000000"}
	p := startBinary(t, bin, dir, addr, true, env...)
	rec := newRecorder()
	w := newWorkload(rec, func() string { return "http://" + addr }, p.token, 4, 3, math.MaxInt64)
	if cp.expiry {
		w.fresh = 1 // every lease is abandoned on a name of its own: only expiry ends it
	} else {
		w.fresh = 0.05
	}
	s := newSentinels(t, w, w.clients)
	seed := uint64(time.Now().UnixNano())
	rnd := rand.New(rand.NewPCG(seed, math.MaxUint64))
	t.Logf("seed %d", seed)

	ctx, cancel := context.WithCancel(context.Background())
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); w.run(ctx, seed) }()
	defer func() { cancel(); <-loadDone }()

	for round := 1; round <= rounds; round++ {
		// Restart armed: the process crashes itself at the boundary.
		p.kill(syscall.SIGKILL)
		killed := rec.now()
		hit := 1 + rnd.IntN(cp.maxHit)
		// The load may reach the server as soon as it binds, before it prints that it
		// listens: an armed server can crash before it says it started. That is the
		// failpoint reached, not a failed start.
		armed := spawnBinary(t, bin, dir, addr, append(env, fmt.Sprintf("OCTOSTORE_FAILPOINTS=%s=%d", cp.name, hit))...)
		if err := armed.await(30*time.Second, false); err != nil && !strings.Contains(armed.p.stderr.String(), "failpoint "+cp.name) {
			t.Fatalf("round %d: %v", round, err)
		}
		p = armed.p
		rec.add(w.clients+1, lockInput{Kind: opRestart, Call: killed + 1}, lockOutput{Result: outRestarted, Return: rec.now()})
		select {
		case <-p.exited:
		case <-time.After(time.Minute):
			t.Fatalf("round %d: failpoint %s=%d was not reached in a minute", round, cp.name, hit)
		}
		crashed := rec.now()
		if !strings.Contains(p.stderr.String(), "failpoint "+cp.name) {
			t.Fatalf("round %d: the server exited but not at %s: %v\n%s", round, cp.name, p.waitErr, p.stderr)
		}
		integrityCheck(t, db)
		p = startBinary(t, bin, dir, addr, false, env...)
		rec.add(w.clients+1, lockInput{Kind: opRestart, Call: crashed + 1}, lockOutput{Result: outRestarted, Return: rec.now()})
		s.verify(t, round)
	}
	waitOps(t, w, w.count.Load()+100)
	cancel()
	<-loadDone
	history := rec.history()
	v := requireLinearizable(t, "crash-point:"+label, history, 2*rounds)
	t.Logf("%s: %d crashes, each restart applied-or-not for %d interrupted requests, %d integrity checks ok",
		cp.name, rounds, v.unknown, rounds)
}
