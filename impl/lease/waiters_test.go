package lease

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var carol = Holder{TokenID: "tok_carol", Owner: "carol-1"}

func (h *harness) wait(k Key, who Holder, ttl time.Duration, id string) Result {
	h.t.Helper()
	res, err := h.e.Apply(Acquire{Key: k, Holder: who, TTL: ttl, LeaseID: id, Wait: true}, h.c.now)
	if err != nil {
		h.t.Fatalf("wait %v by %v: %v", k, who, err)
	}
	return res
}

func TestWaitersAreGrantedFirstComeFirstServedOnRelease(t *testing.T) {
	h := newHarness(t, Config{})
	first := h.acquire(lockA, alice, time.Minute)
	if q := h.wait(lockA, bob, 10*time.Second, "w-bob"); q.Outcome != Queued || q.Waiting != "w-bob" || q.Lease.ID != first.Lease.ID || len(q.Changes) != 0 {
		t.Fatalf("bob: %+v", q)
	}
	h.wait(lockA, carol, 20*time.Second, "w-carol")
	// A plain acquire does not jump the line: the lock is held.
	if r := h.acquire(lockA, Holder{TokenID: "tok_dave"}, time.Second); r.Outcome != Held {
		t.Fatalf("dave: %+v", r)
	}
	res, err := h.apply(Release{Key: lockA, LeaseID: first.Lease.ID})
	if err != nil || res.Outcome != Released {
		t.Fatalf("release: %+v %v", res, err)
	}
	if len(res.Handoffs) != 1 || res.Handoffs[0].Waiter != "w-bob" || res.Handoffs[0].Err != nil {
		t.Fatalf("handoffs %+v", res.Handoffs)
	}
	got := res.Handoffs[0].Lease
	if got.ID != "w-bob" || got.Holder != bob || got.Token <= first.Lease.Token || got.TTL != 10*time.Second || got.ModRev != res.Rev {
		t.Fatalf("bob's lease %+v", got)
	}
	// Release and grant are one atomic change set: the lock is never seen free.
	kinds := fmt.Sprint(kindsOf(res.Changes))
	if kinds != "[DeleteLease PutLease]" {
		t.Fatalf("changes %s", kinds)
	}
	if l, ok, _ := h.e.Get(lockA); !ok || l.ID != "w-bob" {
		t.Fatalf("holder %+v", l)
	}
	res, _ = h.apply(Release{Key: lockA, LeaseID: "w-bob"})
	if len(res.Handoffs) != 1 || res.Handoffs[0].Lease.Holder != carol || res.Handoffs[0].Lease.Token <= got.Token {
		t.Fatalf("second hand-off %+v", res.Handoffs)
	}
	res, _ = h.apply(Release{Key: lockA, LeaseID: "w-carol"})
	if len(res.Handoffs) != 0 || h.e.Waiters(lockA) != 0 {
		t.Fatalf("empty line handed off: %+v", res)
	}
	if _, ok, _ := h.e.Get(lockA); ok {
		t.Fatal("lock still held")
	}
}

func kindsOf(changes []Change) []string {
	var out []string
	for _, c := range changes {
		switch c.Kind {
		case PutLease:
			out = append(out, "PutLease")
		case DeleteLease:
			out = append(out, "DeleteLease")
		case ReserveToken:
			out = append(out, "ReserveToken")
		}
	}
	return out
}

func TestExpiryHandsTheLockToTheHeadWaiter(t *testing.T) {
	h := newHarness(t, Config{})
	first := h.acquire(lockA, alice, 5*time.Second)
	h.wait(lockA, bob, time.Minute, "w-bob")
	if d, ok := h.e.NextDeadline(); !ok || d != h.c.now.Mono+5*time.Second {
		t.Fatalf("next deadline %v %v", d, ok)
	}
	h.c.advance(5*time.Second - time.Nanosecond)
	if res, _ := h.apply(Sweep{}); len(res.Handoffs) != 0 {
		t.Fatalf("handed off before expiry: %+v", res)
	}
	h.c.advance(time.Nanosecond)
	res, err := h.apply(Sweep{})
	if err != nil || len(res.Handoffs) != 1 || res.Handoffs[0].Lease.Holder != bob || res.Handoffs[0].Lease.Token <= first.Lease.Token {
		t.Fatalf("sweep: %+v %v", res, err)
	}
	if d, _ := h.e.NextDeadline(); d != h.c.now.Mono+time.Minute {
		t.Fatalf("next deadline %v", d)
	}
}

func TestCancelledWaiterIsNeverGranted(t *testing.T) {
	h := newHarness(t, Config{})
	first := h.acquire(lockA, alice, time.Minute)
	h.wait(lockA, bob, time.Minute, "w-bob")
	h.wait(lockA, carol, time.Minute, "w-carol")
	if res, err := h.apply(CancelWait{Key: lockA, LeaseID: "w-bob"}); err != nil || res.Outcome != Cancelled || len(res.Changes) != 0 {
		t.Fatalf("cancel: %+v %v", res, err)
	}
	if _, err := h.apply(CancelWait{Key: lockA, LeaseID: "w-bob"}); !errors.Is(err, ErrNotCurrent) {
		t.Fatalf("second cancel: %v", err)
	}
	res, _ := h.apply(Release{Key: lockA, LeaseID: first.Lease.ID})
	if len(res.Handoffs) != 1 || res.Handoffs[0].Waiter != "w-carol" {
		t.Fatalf("handoffs %+v", res.Handoffs)
	}
	// Once granted, a waiter is no longer in line.
	if _, err := h.apply(CancelWait{Key: lockA, LeaseID: "w-carol"}); !errors.Is(err, ErrNotCurrent) {
		t.Fatalf("cancel after grant: %v", err)
	}
}

func TestWaitingTwiceKeepsThePlaceAndTheLeaseID(t *testing.T) {
	h := newHarness(t, Config{})
	first := h.acquire(lockA, alice, time.Minute)
	h.wait(lockA, bob, time.Minute, "w-bob")
	h.wait(lockA, carol, time.Minute, "w-carol")
	meta := "10.0.0.2:80"
	res, err := h.e.Apply(Acquire{Key: lockA, Holder: bob, TTL: 2 * time.Minute, LeaseID: "w-bob-again", Metadata: &meta, Wait: true}, h.c.now)
	if err != nil || res.Outcome != Queued || res.Waiting != "w-bob" || h.e.Waiters(lockA) != 2 {
		t.Fatalf("again: %+v %v (%d waiting)", res, err, h.e.Waiters(lockA))
	}
	// The holder waiting for its own lock gets it back at once.
	if r := h.wait(lockA, alice, time.Minute, "w-alice"); r.Outcome != Acquired || r.Lease.ID != first.Lease.ID {
		t.Fatalf("holder waiting: %+v", r)
	}
	res, _ = h.apply(Release{Key: lockA, LeaseID: first.Lease.ID})
	l := res.Handoffs[0].Lease
	if l.ID != "w-bob" || l.TTL != 2*time.Minute || l.Metadata != meta {
		t.Fatalf("granted %+v", l)
	}
}

func TestALongLineAnswersHeld(t *testing.T) {
	h := newHarness(t, Config{MaxWaitersPerLock: 2})
	h.acquire(lockA, alice, time.Minute)
	h.wait(lockA, bob, time.Minute, "w1")
	h.wait(lockA, carol, time.Minute, "w2")
	if r := h.wait(lockA, Holder{TokenID: "tok_dave"}, time.Minute, "w3"); r.Outcome != Held {
		t.Fatalf("third waiter: %+v", r)
	}
}

func TestHandoffRespectsTheQuotaAtGrantTime(t *testing.T) {
	h := newHarness(t, Config{MaxLocksPerAccount: 2})
	a := h.acquire(lockA, alice, time.Minute)
	h.acquire(Key{Account: acct, Name: "b"}, alice, time.Minute)
	h.wait(lockA, bob, time.Minute, "w-bob")
	// A hand-off replaces a lease of the same account: the count does not grow.
	res, _ := h.apply(Release{Key: lockA, LeaseID: a.Lease.ID})
	if len(res.Handoffs) != 1 || res.Handoffs[0].Err != nil || h.e.Count(acct) != 2 {
		t.Fatalf("hand-off at the limit: %+v", res.Handoffs)
	}
	// Restored above a lowered limit, the account is over it: the waiters are refused.
	e := Restore(Config{MaxLocksPerAccount: 1}, []Lease{res.Handoffs[0].Lease, {Key: Key{Account: acct, Name: "b"}, ID: "lb", Holder: alice, Token: 9, TTL: time.Minute}}, 0, h.c.now)
	for i, who := range []Holder{carol, alice} {
		if r, err := e.Apply(Acquire{Key: lockA, Holder: who, TTL: time.Minute, LeaseID: fmt.Sprint("w", i), Wait: true}, h.c.now); err != nil || r.Outcome != Queued {
			t.Fatalf("queue: %+v %v", r, err)
		}
	}
	res, _ = e.Apply(Release{Key: lockA, LeaseID: "w-bob"}, h.c.now)
	if len(res.Handoffs) != 2 || !errors.Is(res.Handoffs[0].Err, ErrLimitExceeded) || !errors.Is(res.Handoffs[1].Err, ErrLimitExceeded) || e.Waiters(lockA) != 0 {
		t.Fatalf("over the limit: %+v", res.Handoffs)
	}
}

func TestRevisionsGrowOnEveryVisibleChangeOnly(t *testing.T) {
	h := newHarness(t, Config{})
	never := Key{Account: acct, Name: "never"}
	r0 := h.e.Revision(lockA)
	if r0 != 0 || h.e.Revision(never) != 0 {
		t.Fatalf("empty engine revision %d", r0)
	}
	l := h.acquire(lockA, alice, time.Minute).Lease
	r1 := h.e.Revision(lockA)
	if r1 <= r0 || l.Revision != r1 {
		t.Fatalf("grant: %d -> %d (lease %d)", r0, r1, l.Revision)
	}
	h.apply(Renew{Key: lockA, LeaseID: l.ID, TTL: time.Hour})
	h.acquire(lockA, alice, time.Minute) // idempotent re-acquire without metadata
	if r := h.e.Revision(lockA); r != r1 {
		t.Fatalf("renewal moved the revision %d -> %d", r1, r)
	}
	meta := "leader-1"
	res, _ := h.e.Apply(Acquire{Key: lockA, Holder: alice, TTL: time.Minute, LeaseID: "x", Metadata: &meta}, h.c.now)
	r2 := h.e.Revision(lockA)
	if r2 <= r1 || res.Lease.Metadata != meta || len(res.Changes) != 1 || res.Changes[0].Lease.Metadata != meta {
		t.Fatalf("metadata change: rev %d %+v", r2, res)
	}
	res, _ = h.e.Apply(Acquire{Key: lockA, Holder: alice, TTL: time.Minute, LeaseID: "x", Metadata: &meta}, h.c.now)
	if h.e.Revision(lockA) != r2 || len(res.Changes) != 0 {
		t.Fatalf("same metadata: %+v", res)
	}
	h.apply(Release{Key: lockA, LeaseID: l.ID})
	r3 := h.e.Revision(lockA)
	if r3 <= r2 {
		t.Fatalf("release: %d -> %d", r2, r3)
	}
	if h.e.Revision(never) != 0 {
		t.Fatal("a change to one lock moved another's revision")
	}
	h.acquire(lockA, bob, time.Second)
	h.c.advance(time.Second)
	h.apply(Sweep{})
	if r := h.e.Revision(lockA); r <= r3+1 {
		t.Fatalf("grant and expiry: %d after %d", r, r3)
	}
}

func TestTombstoneCompactionNeverHidesAChange(t *testing.T) {
	h := newHarness(t, Config{MaxTombstones: 4})
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([]Key, 20)
	for i := range keys {
		keys[i] = Key{Account: acct, Name: fmt.Sprint(i)}
	}
	type seen struct {
		rev  int64
		held bool
		id   string
	}
	last := map[Key]seen{}
	observe := func(k Key) seen {
		l, ok, _ := h.e.Get(k)
		return seen{h.e.Revision(k), ok, l.ID}
	}
	for step := 0; step < 5000; step++ {
		k := keys[rng.IntN(len(keys))]
		if l, ok, _ := h.e.Get(k); ok && rng.IntN(2) == 0 {
			h.apply(Release{Key: k, LeaseID: l.ID})
		} else {
			h.apply(Acquire{Key: k, Holder: alice, TTL: time.Duration(1+rng.IntN(3)) * time.Second})
		}
		h.c.advance(time.Duration(rng.IntN(1500)) * time.Millisecond)
		h.apply(Sweep{})
		if len(h.e.tombs) > 8 {
			t.Fatalf("step %d: %d tombstones", step, len(h.e.tombs))
		}
		for _, k := range keys {
			now, before := observe(k), last[k]
			if now.rev < before.rev {
				t.Fatalf("step %d: %v went back from %d to %d", step, k, before.rev, now.rev)
			}
			if (now.held != before.held || now.id != before.id) && now.rev == before.rev {
				t.Fatalf("step %d: %v changed (%+v -> %+v) at the same revision", step, k, before, now)
			}
			last[k] = now
		}
	}
	if h.e.floor == 0 {
		t.Fatal("compaction never ran")
	}
}

func TestRevisionsContinueAboveTheReservationAfterRestore(t *testing.T) {
	h := newHarness(t, Config{ReserveBlock: 4})
	meta := "m"
	held, _ := h.e.Apply(Acquire{Key: lockA, Holder: alice, TTL: time.Minute, LeaseID: "a", Metadata: &meta}, h.c.now)
	b := h.acquire(Key{Account: acct, Name: "b"}, alice, time.Minute).Lease
	h.apply(Release{Key: b.Key, LeaseID: b.ID})
	freed := h.e.Revision(b.Key)
	var reserved int64
	for _, name := range []string{"c", "d", "e"} {
		res := h.acquire(Key{Account: acct, Name: name}, alice, time.Minute)
		for _, c := range res.Changes {
			if c.Kind == ReserveToken {
				reserved = c.Reserve
			}
		}
	}
	if reserved < h.e.LastRevision() || reserved < h.e.LastToken() {
		t.Fatalf("reservation %d below revision %d or token %d", reserved, h.e.LastRevision(), h.e.LastToken())
	}
	e := Restore(Config{}, []Lease{held.Lease}, reserved, h.c.now)
	if l, _, _ := e.Get(lockA); l.Revision != held.Lease.Revision || l.Metadata != meta {
		t.Fatalf("restored %+v", l)
	}
	if r := e.Revision(b.Key); r < freed {
		t.Fatalf("free lock went back from %d to %d", freed, r)
	}
	res, _ := e.Apply(Acquire{Key: b.Key, Holder: bob, TTL: time.Minute, LeaseID: "n"}, h.c.now)
	if res.Lease.Revision <= reserved {
		t.Fatalf("revision %d after restore, reservation %d", res.Lease.Revision, reserved)
	}
}

func TestMetadataIsBounded(t *testing.T) {
	h := newHarness(t, Config{})
	for _, char := range []string{"x", "é", "😀"} {
		big := strings.Repeat(char, MaxMetadataChars+1)
		if _, err := h.e.Apply(Acquire{Key: lockA, Holder: alice, TTL: time.Second, LeaseID: "x", Metadata: &big}, h.c.now); !errors.Is(err, ErrMetadataTooLarge) {
			t.Fatalf("%d × %q: %v", MaxMetadataChars+1, char, err)
		}
		if h.e.Len() != 0 {
			t.Fatal("refused acquire changed state")
		}
	}
	// The bound counts characters, not bytes: 1024 four-byte characters fit.
	most := strings.Repeat("😀", MaxMetadataChars)
	if res, err := h.e.Apply(Acquire{Key: lockA, Holder: alice, TTL: time.Second, LeaseID: "y", Metadata: &most}, h.c.now); err != nil || res.Lease.Metadata != most {
		t.Fatalf("1024 characters: %v", err)
	}
}

// A waiter leaves the line before the command's own sweep runs: when its wait ends at the
// instant the holder's lease is due (and no sweep has noticed the expiry yet), the
// expiry must not hand the lock to the waiter that is leaving.
func TestAWaiterLeavingAsTheHolderExpiresIsNeverGranted(t *testing.T) {
	h := newHarness(t, Config{})
	first := h.acquire(lockA, alice, 5*time.Second)
	h.wait(lockA, bob, time.Minute, "w-bob")
	h.wait(lockA, carol, time.Minute, "w-carol")
	h.c.advance(5 * time.Second) // alice's lease is due; nothing has swept yet
	res, err := h.apply(CancelWait{Key: lockA, LeaseID: "w-bob"})
	if err != nil || res.Outcome != Cancelled {
		t.Fatalf("cancel: %+v %v", res, err)
	}
	for _, ho := range res.Handoffs {
		if ho.Waiter == "w-bob" {
			t.Fatalf("the leaving waiter was granted the lock: %+v", ho)
		}
	}
	// The expiry still happens, and goes to the next in line.
	if len(res.Handoffs) != 1 || res.Handoffs[0].Waiter != "w-carol" || res.Handoffs[0].Lease.Token != first.Lease.Token+1 {
		t.Fatalf("handoffs %+v", res.Handoffs)
	}
	if n := h.e.Waiters(lockA); n != 0 {
		t.Fatalf("%d still in line", n)
	}
}

func TestDropAccountEndsItsLeasesAndWaitersAndGrantsNothing(t *testing.T) {
	h := newHarness(t, Config{})
	other := Key{Account: "acc_b", Name: "a"}
	h.acquire(lockA, alice, time.Minute)
	lockB := Key{Account: acct, Name: "b"}
	last := h.acquire(lockB, alice, time.Minute).Lease.Token
	kept := h.acquire(other, bob, time.Minute)
	h.wait(lockA, bob, time.Minute, "w1")
	h.wait(lockA, Holder{TokenID: "tok_carol", Owner: "c"}, time.Minute, "w2")
	revA := h.e.Revision(lockA)

	res, err := h.apply(DropAccount{Account: acct})
	if err != nil || res.Outcome != Dropped {
		t.Fatalf("%+v %v", res, err)
	}
	if got := kindsOf(res.Changes); len(res.Changes) < 2 || res.Rev == 0 {
		t.Fatalf("changes %v at rev %d: want the two deletions, durable at a new revision", got, res.Rev)
	}
	deleted := 0
	for _, c := range res.Changes {
		if c.Kind == DeleteLease {
			deleted++
		}
		if c.Kind == PutLease {
			t.Fatalf("dropping an account granted %v", c.Lease)
		}
	}
	if deleted != 2 || h.e.Count(acct) != 0 || h.e.Waiters(lockA) != 0 {
		t.Fatalf("%d deletions, %d leases and %d waiters left", deleted, h.e.Count(acct), h.e.Waiters(lockA))
	}
	if len(res.Handoffs) != 2 || !errors.Is(res.Handoffs[0].Err, ErrAccountDropped) || res.Handoffs[0].Waiter != "w1" || res.Handoffs[1].Waiter != "w2" {
		t.Fatalf("waiters answered: %+v", res.Handoffs)
	}
	if h.e.Revision(lockA) <= revA {
		t.Fatalf("revision %d after the drop, %d before: a watcher would miss it", h.e.Revision(lockA), revA)
	}
	if l, ok, _ := h.e.Get(other); !ok || l.ID != kept.Lease.ID {
		t.Fatal("another account's lease was touched")
	}
	if got := h.acquire(lockA, alice, time.Minute).Lease.Token; got <= last {
		t.Fatalf("fencing token %d after the drop, %d before", got, last)
	}
}

func TestDropAccountEndsItsSessionsBoundLeasesAndLockDelays(t *testing.T) {
	h := newHarness(t, Config{})
	bound, delayed := Key{Account: acct, Name: "bound"}, Key{Account: acct, Name: "delayed"}
	if _, err := h.apply(CreateSession{ID: "s1", Account: acct, Holder: alice, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.apply(Acquire{Key: bound, Holder: alice, TTL: time.Minute, SessionID: "s1"}); err != nil {
		t.Fatal(err)
	}
	// A lease that expires with a lock-delay leaves its lock taken by nobody for a minute.
	if _, err := h.apply(Acquire{Key: delayed, Holder: bob, TTL: time.Second, LockDelay: time.Minute}); err != nil {
		t.Fatal(err)
	}
	h.c.advance(2 * time.Second)
	h.apply(Sweep{})
	if len(h.e.Delays(delayed)) != 1 || h.e.Sessions(acct) != 1 || h.e.Count(acct) != 1 {
		t.Fatalf("setup: %d delays, %d sessions, %d leases", len(h.e.Delays(delayed)), h.e.Sessions(acct), h.e.Count(acct))
	}
	res, err := h.apply(DropAccount{Account: acct})
	if err != nil {
		t.Fatal(err)
	}
	if h.e.Count(acct) != 0 || h.e.Sessions(acct) != 0 || len(h.e.Delays(delayed)) != 0 {
		t.Fatalf("left: %d leases, %d sessions, %d delays; changes %v", h.e.Count(acct), h.e.Sessions(acct), len(h.e.Delays(delayed)), kindsOf(res.Changes))
	}
	if r := h.acquire(delayed, alice, time.Minute); r.Outcome != Acquired {
		t.Fatalf("the lock-delayed lock after the drop: %+v", r)
	}
}
