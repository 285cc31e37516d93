package lease

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// clock is a test clock: monotonic and wall time advance together unless a test jumps
// the wall clock alone.
type clock struct{ now Instant }

func newClock() *clock {
	return &clock{now: Instant{Mono: time.Hour, Wall: time.Date(2026, 2, 12, 0, 0, 0, 0, time.UTC)}}
}

func (c *clock) advance(d time.Duration) { c.now = c.now.Add(d) }

var (
	acct  = "acc_a"
	lockA = Key{Account: acct, Name: "a"}
	alice = Holder{TokenID: "tok_alice", Owner: "alice-1"}
	bob   = Holder{TokenID: "tok_bob", Owner: "bob-1"}
)

type harness struct {
	t   *testing.T
	e   *Engine
	c   *clock
	ids int
}

func newHarness(t *testing.T, cfg Config) *harness {
	return &harness{t: t, e: New(cfg), c: newClock()}
}

func (h *harness) apply(cmd Command) (Result, error) {
	h.t.Helper()
	if a, ok := cmd.(Acquire); ok && a.LeaseID == "" {
		h.ids++
		a.LeaseID = fmt.Sprintf("lease-%d", h.ids)
		cmd = a
	}
	return h.e.Apply(cmd, h.c.now)
}

func (h *harness) acquire(k Key, who Holder, ttl time.Duration) Result {
	h.t.Helper()
	res, err := h.apply(Acquire{Key: k, Holder: who, TTL: ttl})
	if err != nil {
		h.t.Fatalf("acquire %v by %v: %v", k, who, err)
	}
	return res
}

func TestAcquireFreeLockGrantsLeaseWithToken(t *testing.T) {
	h := newHarness(t, Config{})
	res := h.acquire(lockA, alice, time.Minute)
	if res.Outcome != Acquired || res.Lease.Token != 1 || res.Lease.Holder != alice {
		t.Fatalf("got %+v", res)
	}
	if want := h.c.now.Wall.Add(time.Minute); !res.Lease.ExpiresAt.Equal(want) {
		t.Fatalf("expires %v, want %v", res.Lease.ExpiresAt, want)
	}
	if res.Rev == 0 || len(res.Changes) != 2 || res.Changes[0].Kind != ReserveToken || res.Changes[1].Kind != PutLease {
		t.Fatalf("changes %+v rev %d", res.Changes, res.Rev)
	}
}

func TestHeldLockReportsHolderAndChangesNothing(t *testing.T) {
	h := newHarness(t, Config{})
	first := h.acquire(lockA, alice, time.Minute)
	res := h.acquire(lockA, bob, time.Minute)
	if res.Outcome != Held || res.Lease.ID != first.Lease.ID || len(res.Changes) != 0 {
		t.Fatalf("got %+v", res)
	}
	if res.Rev != first.Rev {
		t.Fatalf("held decided on rev %d, want the grant's %d", res.Rev, first.Rev)
	}
}

func TestReacquireBySameHolderIsIdempotent(t *testing.T) {
	h := newHarness(t, Config{})
	first := h.acquire(lockA, alice, time.Minute)
	h.c.advance(10 * time.Second)
	again := h.acquire(lockA, alice, time.Minute)
	if again.Outcome != Acquired || again.Lease.ID != first.Lease.ID || again.Lease.Token != first.Lease.Token {
		t.Fatalf("re-acquire gave %+v, want lease %s token %d", again.Lease, first.Lease.ID, first.Lease.Token)
	}
	if !again.Lease.ExpiresAt.After(first.Lease.ExpiresAt) {
		t.Fatal("re-acquire did not extend the lease")
	}
	if len(again.Changes) != 0 {
		t.Fatalf("same TTL re-acquire wrote %+v", again.Changes)
	}
	// Another owner behind the same token is another holder.
	other := h.acquire(lockA, Holder{TokenID: alice.TokenID, Owner: "w2"}, time.Minute)
	if other.Outcome != Held {
		t.Fatalf("owner w2 got %v", other.Outcome)
	}
}

func TestHolderWithoutOwnerNeverMatchesAnEarlierLease(t *testing.T) {
	h := newHarness(t, Config{})
	anon := Holder{TokenID: "tok_shared"}
	first := h.acquire(lockA, anon, time.Minute)
	if first.Outcome != Acquired {
		t.Fatalf("first owner-less acquire got %v", first.Outcome)
	}
	// The same token with no owner again: another process sharing the token, or the
	// same one; it cannot prove which, so it is another holder.
	again := h.acquire(lockA, anon, time.Minute)
	if again.Outcome != Held || again.Lease.ID != first.Lease.ID || len(again.Changes) != 0 {
		t.Fatalf("second owner-less acquire got %+v, want held by the first lease, nothing changed", again)
	}
	// Nor does an owner match an owner-less lease of the same token, or the reverse.
	if r := h.acquire(lockA, Holder{TokenID: "tok_shared", Owner: "w1"}, time.Minute); r.Outcome != Held {
		t.Fatalf("owner w1 got %v", r.Outcome)
	}
	h.c.advance(2 * time.Minute)
	owned := h.acquire(lockA, Holder{TokenID: "tok_shared", Owner: "w1"}, time.Minute)
	if owned.Outcome != Acquired {
		t.Fatalf("w1 after expiry got %v", owned.Outcome)
	}
	if r := h.acquire(lockA, anon, time.Minute); r.Outcome != Held {
		t.Fatalf("owner-less acquire of w1's lock got %v", r.Outcome)
	}
}

func TestOwnerlessWaitersAreEachTheirOwn(t *testing.T) {
	h := newHarness(t, Config{})
	anon := Holder{TokenID: "tok_shared"}
	h.acquire(lockA, alice, time.Minute)
	r1 := h.wait(lockA, anon, time.Minute, "w1")
	r2 := h.wait(lockA, anon, time.Minute, "w2")
	if r1.Outcome != Queued || r2.Outcome != Queued || r1.Waiting != "w1" || r2.Waiting != "w2" {
		t.Fatalf("owner-less waiters: %+v / %+v, want two places in line", r1, r2)
	}
}

func TestLeaseIsNeverRegrantedBeforeItsTTL(t *testing.T) {
	h := newHarness(t, Config{})
	h.acquire(lockA, alice, 10*time.Second)
	h.c.advance(10*time.Second - time.Nanosecond)
	if res := h.acquire(lockA, bob, time.Second); res.Outcome != Held {
		t.Fatalf("regranted 1ns before expiry: %+v", res)
	}
	h.c.advance(time.Nanosecond)
	res := h.acquire(lockA, bob, time.Second)
	if res.Outcome != Acquired || res.Lease.Token != 2 {
		t.Fatalf("after TTL: %+v", res)
	}
}

func TestWallClockJumpsChangeNoExpiry(t *testing.T) {
	h := newHarness(t, Config{})
	h.acquire(lockA, alice, time.Minute)
	for _, jump := range []time.Duration{time.Hour, -2 * time.Hour} {
		h.c.now.Wall = h.c.now.Wall.Add(jump)
		if res := h.acquire(lockA, bob, time.Minute); res.Outcome != Held {
			t.Fatalf("wall jump %v ended the lease: %+v", jump, res)
		}
	}
	h.c.now.Mono += time.Minute
	if res := h.acquire(lockA, bob, time.Minute); res.Outcome != Acquired {
		t.Fatalf("lease outlived its monotonic TTL: %+v", res)
	}
}

func TestLateRenewAndReleaseAreRejectedAndSuccessorTokenIsLarger(t *testing.T) {
	h := newHarness(t, Config{})
	old := h.acquire(lockA, alice, 5*time.Second)
	h.c.advance(5 * time.Second)
	next := h.acquire(lockA, bob, 5*time.Second)
	if next.Outcome != Acquired || next.Lease.Token <= old.Lease.Token {
		t.Fatalf("successor %+v after %+v", next.Lease, old.Lease)
	}
	if _, err := h.apply(Renew{Key: lockA, LeaseID: old.Lease.ID, TTL: time.Minute}); !errors.Is(err, ErrNotCurrent) {
		t.Fatalf("late renew: %v", err)
	}
	if _, err := h.apply(Release{Key: lockA, LeaseID: old.Lease.ID}); !errors.Is(err, ErrNotCurrent) {
		t.Fatalf("late release: %v", err)
	}
	if l, ok, _ := h.e.Get(lockA); !ok || l.ID != next.Lease.ID {
		t.Fatalf("rejected calls changed the lock: %+v %v", l, ok)
	}
}

func TestExpiredLeaseCannotBeRenewedEvenIfNobodyTookIt(t *testing.T) {
	h := newHarness(t, Config{})
	old := h.acquire(lockA, alice, 5*time.Second)
	h.c.advance(6 * time.Second)
	res, err := h.apply(Renew{Key: lockA, LeaseID: old.Lease.ID, TTL: time.Minute})
	if !errors.Is(err, ErrNotCurrent) {
		t.Fatalf("renew after expiry: %v", err)
	}
	// The expiry itself is a change to persist, and the refusal depends on it.
	if len(res.Changes) != 1 || res.Changes[0].Kind != DeleteLease || res.Rev != h.e.Rev() {
		t.Fatalf("expiry not reported: %+v", res)
	}
}

func TestRenewExtendsAndPersistsOnlyLongerTTL(t *testing.T) {
	h := newHarness(t, Config{})
	l := h.acquire(lockA, alice, 10*time.Second).Lease
	h.c.advance(8 * time.Second)
	res, err := h.apply(Renew{Key: lockA, LeaseID: l.ID, TTL: 10 * time.Second})
	if err != nil || res.Outcome != Renewed || len(res.Changes) != 0 {
		t.Fatalf("renew: %+v %v", res, err)
	}
	h.c.advance(9 * time.Second) // 17s after the grant, 9s after the renew
	if got := h.acquire(lockA, bob, time.Second); got.Outcome != Held {
		t.Fatal("renewed lease ended early")
	}
	res, err = h.apply(Renew{Key: lockA, LeaseID: l.ID, TTL: time.Hour})
	if err != nil || len(res.Changes) != 1 || res.Changes[0].Kind != PutLease || res.Changes[0].Lease.TTL != time.Hour {
		t.Fatalf("longer TTL not persisted: %+v %v", res, err)
	}
	// A shorter TTL never shortens the lease.
	before := res.Lease.ExpiresAt
	res, _ = h.apply(Renew{Key: lockA, LeaseID: l.ID, TTL: time.Second})
	if !res.Lease.ExpiresAt.Equal(before) {
		t.Fatalf("renew shortened the lease: %v -> %v", before, res.Lease.ExpiresAt)
	}
}

func TestReleaseFreesTheLockAndTokensKeepIncreasing(t *testing.T) {
	h := newHarness(t, Config{})
	var last int64
	for i := 0; i < 5; i++ {
		l := h.acquire(lockA, alice, time.Minute).Lease
		if l.Token <= last {
			t.Fatalf("token %d after %d", l.Token, last)
		}
		last = l.Token
		res, err := h.apply(Release{Key: lockA, LeaseID: l.ID})
		if err != nil || res.Outcome != Released || res.Changes[0].Kind != DeleteLease {
			t.Fatalf("release: %+v %v", res, err)
		}
		if _, err := h.apply(Release{Key: lockA, LeaseID: l.ID}); !errors.Is(err, ErrNotCurrent) {
			t.Fatalf("second release: %v", err)
		}
	}
}

func TestReleaseOfAnotherLocksLeaseIsRejected(t *testing.T) {
	h := newHarness(t, Config{})
	a := h.acquire(lockA, alice, time.Minute).Lease
	b := Key{Account: acct, Name: "b"}
	h.acquire(b, alice, time.Minute)
	if _, err := h.apply(Release{Key: b, LeaseID: a.ID}); !errors.Is(err, ErrNotCurrent) {
		t.Fatalf("release of b with a's lease: %v", err)
	}
	if _, err := h.apply(Release{Key: Key{Account: "acc_other", Name: "a"}, LeaseID: a.ID}); !errors.Is(err, ErrNotCurrent) {
		t.Fatalf("release from another account: %v", err)
	}
}

func TestAccountsAreSeparateNamespaces(t *testing.T) {
	h := newHarness(t, Config{})
	h.acquire(lockA, alice, time.Minute)
	other := Key{Account: "acc_b", Name: lockA.Name}
	if res := h.acquire(other, bob, time.Minute); res.Outcome != Acquired {
		t.Fatalf("account b blocked by account a: %+v", res)
	}
	if got, _ := h.e.List(acct); len(got) != 1 || got[0].Holder != alice {
		t.Fatalf("list a: %+v", got)
	}
}

func TestQuotaCountsOnlyLiveLeases(t *testing.T) {
	h := newHarness(t, Config{MaxLocksPerAccount: 3})
	for i := 0; i < 3; i++ {
		h.acquire(Key{Account: acct, Name: fmt.Sprint(i)}, alice, time.Duration(i+1)*time.Second)
	}
	if _, err := h.apply(Acquire{Key: Key{Account: acct, Name: "x"}, Holder: alice, TTL: time.Minute}); !errors.Is(err, ErrLimitExceeded) {
		t.Fatalf("4th lock: %v", err)
	}
	// Re-acquiring a held lock is not a new lock.
	h.acquire(Key{Account: acct, Name: "2"}, alice, time.Minute)
	if res := h.acquire(Key{Account: "acc_b", Name: "x"}, bob, time.Minute); res.Outcome != Acquired {
		t.Fatal("quota leaked across accounts")
	}
	h.c.advance(time.Second) // lock "0" expires
	if res := h.acquire(Key{Account: acct, Name: "x"}, alice, time.Minute); res.Outcome != Acquired {
		t.Fatalf("expired lease still counted: %+v", res)
	}
}

func TestSweepExpiresIdleLeasesInDeadlineOrder(t *testing.T) {
	h := newHarness(t, Config{})
	for i, ttl := range []time.Duration{3, 1, 2} {
		h.acquire(Key{Account: acct, Name: fmt.Sprint(i)}, alice, ttl*time.Second)
	}
	h.c.advance(2 * time.Second)
	res, err := h.apply(Sweep{})
	if err != nil || len(res.Changes) != 2 {
		t.Fatalf("sweep: %+v %v", res, err)
	}
	if res.Changes[0].Lease.Name != "1" || res.Changes[1].Lease.Name != "2" {
		t.Fatalf("swept out of order: %+v", res.Changes)
	}
	if h.e.Len() != 1 || h.e.Count(acct) != 1 {
		t.Fatalf("left %d", h.e.Len())
	}
	if res, _ := h.apply(Sweep{}); len(res.Changes) != 0 || res.Rev != 0 {
		t.Fatalf("idle sweep wrote %+v", res)
	}
}

func TestFencingReservationIsWrittenOncePerBlock(t *testing.T) {
	h := newHarness(t, Config{ReserveBlock: 4})
	var reserves []int64
	for i := 0; i < 9; i++ {
		res := h.acquire(Key{Account: acct, Name: fmt.Sprint(i)}, alice, time.Minute)
		for _, c := range res.Changes {
			if c.Kind == ReserveToken {
				reserves = append(reserves, c.Reserve)
			}
		}
	}
	if fmt.Sprint(reserves) != "[4 8 12]" {
		t.Fatalf("reservations %v", reserves)
	}
}

func TestRestoreGivesFullTTLAndContinuesAboveReservation(t *testing.T) {
	h := newHarness(t, Config{})
	held := h.acquire(lockA, alice, time.Minute).Lease
	h.c.advance(50 * time.Second)

	restart := newClock()
	restart.now.Mono = 5 * time.Second // a new process: its monotonic origin is new
	restart.now.Wall = h.c.now.Wall.Add(time.Hour)
	e := Restore(Config{}, []Lease{held}, DefaultReserveBlock, restart.now)
	l, ok, _ := e.Get(lockA)
	if !ok || l.ID != held.ID || l.Token != held.Token {
		t.Fatalf("restored %+v", l)
	}
	if l.Deadline != restart.now.Mono+time.Minute {
		t.Fatalf("restored deadline %v, want a full TTL from restart", l.Deadline)
	}
	restart.advance(time.Minute)
	res, err := e.Apply(Acquire{Key: lockA, Holder: bob, TTL: time.Minute, LeaseID: "n"}, restart.now)
	if err != nil || res.Outcome != Acquired || res.Lease.Token != DefaultReserveBlock+1 {
		t.Fatalf("after restore: %+v %v", res, err)
	}
}

func TestBadCommandsChangeNothing(t *testing.T) {
	h := newHarness(t, Config{})
	for _, cmd := range []Command{
		Acquire{Key: lockA, Holder: alice, TTL: 0, LeaseID: "x"},
		Acquire{Key: lockA, Holder: Holder{}, TTL: time.Second, LeaseID: "x"},
		Acquire{Key: Key{Account: acct}, Holder: alice, TTL: time.Second, LeaseID: "x"},
		Renew{Key: lockA, LeaseID: "x", TTL: -time.Second},
		nil,
	} {
		if res, err := h.e.Apply(cmd, h.c.now); !errors.Is(err, ErrInvalid) || len(res.Changes) != 0 {
			t.Fatalf("%#v: %+v %v", cmd, res, err)
		}
	}
	if h.e.Len() != 0 || h.e.Rev() != 0 || h.e.LastToken() != 0 {
		t.Fatal("bad commands changed state")
	}
}
