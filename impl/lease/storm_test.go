package lease

import (
	"strconv"
	"testing"
	"time"
)

func deletes(res Result) int {
	n := 0
	for _, c := range res.Changes {
		if c.Kind == DeleteLease {
			n++
		}
	}
	return n
}

func TestOneApplyExpiresAtMostMaxExpiriesButAlwaysTheNamedLock(t *testing.T) {
	h := newHarness(t, Config{MaxExpiries: 3, MaxLocksPerAccount: 10})
	for i := range 10 {
		h.acquire(Key{Account: acct, Name: "l" + strconv.Itoa(i)}, alice, time.Second)
	}
	h.c.advance(2 * time.Second)

	res, _ := h.apply(Sweep{})
	if n := deletes(res); n != 3 || h.e.Len() != 7 {
		t.Fatalf("a sweep expired %d leases, %d left: want 3 and 7", n, h.e.Len())
	}
	if d, ok := h.e.NextDeadline(); !ok || d > h.c.now.Mono {
		t.Fatal("NextDeadline does not say more expiries are due")
	}
	// The lock a command names is expired first, whatever the bound: l9 is last in line.
	last := Key{Account: acct, Name: "l9"}
	if res := h.acquire(last, bob, time.Second); res.Outcome != Acquired {
		t.Fatalf("acquire of an expired lock: %v", res.Outcome)
	}
	sw := Key{Account: acct, Name: "l8"}
	h.apply(Sweep{Key: &sw})
	if _, held, _ := h.e.Get(sw); held {
		t.Fatal("a read of an expired lock still sees it held")
	}
	h.apply(Sweep{Account: acct})
	if h.e.Count(acct) != 1 {
		t.Fatalf("account sweep left %d leases, want bob's one", h.e.Count(acct))
	}
}

func TestAccountAtItsLimitWithDueLeasesCanStillAcquire(t *testing.T) {
	h := newHarness(t, Config{MaxExpiries: 1, MaxLocksPerAccount: 3})
	for i := range 3 {
		h.acquire(Key{Account: acct, Name: "l" + strconv.Itoa(i)}, alice, time.Second)
	}
	h.c.advance(2 * time.Second)
	if res := h.acquire(Key{Account: acct, Name: "new"}, alice, time.Second); res.Outcome != Acquired {
		t.Fatalf("acquire at the limit with expired leases: %v", res.Outcome)
	}
}
