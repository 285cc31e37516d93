package impl

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// The hostile tests repeat an attack from the security review (issue 12) over loopback
// and assert its bound, printing the figure. Bounds are generous for a loaded 2-core
// machine; run them with go test -run TestHostile -v ./impl.

// Finding 1: 16 concurrent 16 KB bodies of 8,000 nested arrays (1.5 s each and
// gigabytes before) are refused by a byte scan, and another account stays served.
func TestHostileNestedBodies(t *testing.T) {
	ts := newTestServer(t, Config{AdminKey: testAdminKey})
	attacker, victim := ts.newAccount("attacker"), ts.newAccount("victim")
	bomb := `{"ttl_seconds":60,"metadata":` + nested(8000) + `}`
	const bombs = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	var slowest time.Duration
	start := time.Now()
	for range bombs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			r := ts.do("POST", "/locks/job/acquire", attacker, bomb)
			d := time.Since(t0)
			if r.status != 400 || !strings.Contains(r.str("detail"), "32") {
				t.Errorf("bomb: %d %s", r.status, r.raw)
			}
			mu.Lock()
			slowest = max(slowest, d)
			mu.Unlock()
		}()
	}
	var victimSlowest time.Duration
	for range 20 {
		t0 := time.Now()
		if r := ts.do("GET", "/locks", victim, nil); r.status != 200 {
			t.Fatalf("victim: %d", r.status)
		}
		victimSlowest = max(victimSlowest, time.Since(t0))
	}
	wg.Wait()
	total := time.Since(start)
	t.Logf("FIGURE nested bodies: %d bombs of %d bytes answered in %s (slowest %s); victim's slowest GET /locks %s (bound 1s each)",
		bombs, len(bomb), total, slowest, victimSlowest)
	if slowest > time.Second || victimSlowest > time.Second {
		t.Fatalf("over the bound of 1 s: slowest bomb %s, victim %s", slowest, victimSlowest)
	}
}
