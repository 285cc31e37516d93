package lease

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// The coordination primitives beyond one lease per lock: sessions, lock-delay,
// semaphores, prefix listing and watching, operator force-release.

var dave = Holder{TokenID: "tok_dave", Owner: "dave-1"}

func (h *harness) session(id string, ttl time.Duration) Session {
	h.t.Helper()
	res, err := h.e.Apply(CreateSession{ID: id, Account: acct, Holder: alice, TTL: ttl}, h.c.now)
	if err != nil || res.Outcome != SessionCreated || len(res.Changes) != 1 || res.Changes[0].Kind != PutSession {
		h.t.Fatalf("create session %s: %+v %v", id, res, err)
	}
	return res.Session
}

func (h *harness) must(cmd Command) Result {
	h.t.Helper()
	res, err := h.apply(cmd)
	if err != nil {
		h.t.Fatalf("%#v: %v", cmd, err)
	}
	return res
}

func kinds(changes []Change) string {
	var out []string
	for _, c := range changes {
		out = append(out, map[ChangeKind]string{PutLease: "PutLease", DeleteLease: "DeleteLease", ReserveToken: "ReserveToken",
			PutSession: "PutSession", DeleteSession: "DeleteSession", PutDelay: "PutDelay", DeleteDelay: "DeleteDelay"}[c.Kind])
	}
	return fmt.Sprint(out)
}

func TestSessionsAreBoundedAndEndOnTheMonotonicClock(t *testing.T) {
	h := newHarness(t, Config{MaxSessionsPerAccount: 2})
	for _, bad := range []CreateSession{
		{ID: "s", Account: acct, Holder: alice, TTL: 0},
		{ID: "s", Account: acct, Holder: alice, TTL: MaxSessionTTL + time.Nanosecond},
		{ID: "", Account: acct, Holder: alice, TTL: time.Second},
		{ID: "s", Account: acct, Holder: Holder{}, TTL: time.Second},
	} {
		if res, err := h.e.Apply(bad, h.c.now); !errors.Is(err, ErrInvalid) || len(res.Changes) != 0 {
			t.Fatalf("%+v: %+v %v", bad, res, err)
		}
	}
	s1 := h.session("s1", 10*time.Second)
	if s1.ExpiresAt != h.c.now.Wall.Add(10*time.Second) || s1.Deadline != h.c.now.Mono+10*time.Second {
		t.Fatalf("session %+v", s1)
	}
	if _, err := h.e.Apply(CreateSession{ID: "s1", Account: acct, Holder: alice, TTL: time.Second}, h.c.now); !errors.Is(err, ErrInvalid) {
		t.Fatalf("duplicate id: %v", err)
	}
	h.session("s2", 20*time.Second)
	if _, err := h.e.Apply(CreateSession{ID: "s3", Account: acct, Holder: alice, TTL: time.Second}, h.c.now); !errors.Is(err, ErrSessionLimitExceeded) {
		t.Fatalf("third session: %v", err)
	}
	if res, err := h.e.Apply(CreateSession{ID: "s3", Account: "acc_b", Holder: bob, TTL: time.Second}, h.c.now); err != nil || res.Outcome != SessionCreated {
		t.Fatalf("other account's session: %+v %v", res, err)
	}
	// Renewing extends (never shortens); another account cannot renew it.
	h.c.advance(8 * time.Second)
	if _, err := h.apply(RenewSession{ID: "s1", Account: "acc_b"}); !errors.Is(err, ErrSessionNotFound) {
		t.Fatalf("renew from another account: %v", err)
	}
	res := h.must(RenewSession{ID: "s1", Account: acct})
	if res.Outcome != SessionRenewed || res.Session.Deadline != h.c.now.Mono+10*time.Second || len(res.Changes) != 0 {
		t.Fatalf("renew: %+v", res)
	}
	// A wall-clock jump moves nothing.
	h.c.now.Wall = h.c.now.Wall.Add(time.Hour)
	h.c.advance(10*time.Second - time.Nanosecond)
	if _, _, ok, _ := h.e.Session(acct, "s1"); !ok {
		t.Fatal("session ended before its TTL")
	}
	h.c.advance(time.Nanosecond)
	res = h.must(Sweep{})
	if kinds(res.Changes) != "[DeleteSession]" || res.Changes[0].Session.ID != "s1" {
		t.Fatalf("sweep: %s", kinds(res.Changes))
	}
	if _, err := h.apply(RenewSession{ID: "s1", Account: acct}); !errors.Is(err, ErrSessionNotFound) {
		t.Fatalf("renew after expiry: %v", err)
	}
	if h.e.Sessions(acct) != 1 {
		t.Fatalf("%d sessions left", h.e.Sessions(acct))
	}
	h.session("s4", time.Second) // the quota counts live sessions only
}

func TestSessionBoundLeaseLivesExactlyAsLongAsItsSession(t *testing.T) {
	h := newHarness(t, Config{})
	s := h.session("s1", 10*time.Second)
	res := h.must(Acquire{Key: lockA, Holder: alice, SessionID: "s1"}) // no TTL needed
	l := res.Lease
	if res.Outcome != Acquired || l.SessionID != "s1" || l.Deadline != s.Deadline || !l.ExpiresAt.Equal(s.ExpiresAt) {
		t.Fatalf("bound lease %+v, session %+v", l, s)
	}
	h.c.advance(8 * time.Second)
	h.must(RenewSession{ID: "s1", Account: acct})
	if got, _, _ := h.e.Get(lockA); got.Deadline != h.c.now.Mono+10*time.Second {
		t.Fatalf("renewing the session did not renew its lease: %v", got.Deadline)
	}
	// Renewing the lease renews its session.
	h.c.advance(5 * time.Second)
	h.must(Renew{Key: lockA, LeaseID: l.ID, TTL: time.Second})
	sess, bound, _, _ := h.e.Session(acct, "s1")
	if sess.Deadline != h.c.now.Mono+10*time.Second || len(bound) != 1 || bound[0].ID != l.ID {
		t.Fatalf("after lease renew: %+v %+v", sess, bound)
	}
	h.c.advance(10*time.Second - time.Nanosecond)
	if r := h.acquire(lockA, bob, time.Second); r.Outcome != Held {
		t.Fatalf("bound lease ended before its session: %+v", r)
	}
	h.c.advance(time.Nanosecond)
	res = h.acquire(lockA, bob, time.Second)
	if res.Outcome != Acquired || res.Lease.Token <= l.Token {
		t.Fatalf("after the session expired: %+v", res)
	}
	if kinds(res.Changes) != "[DeleteLease DeleteSession PutLease]" {
		t.Fatalf("changes %s", kinds(res.Changes))
	}
}

func TestSessionCommandsAreRefusedForUnknownSessions(t *testing.T) {
	h := newHarness(t, Config{})
	h.session("s1", time.Minute)
	for _, cmd := range []Command{
		Acquire{Key: lockA, Holder: alice, SessionID: "nope", LeaseID: "x"},
		Acquire{Key: Key{Account: "acc_b", Name: "a"}, Holder: alice, SessionID: "s1", LeaseID: "x"}, // another account's
		RenewSession{ID: "nope", Account: acct},
		CloseSession{ID: "s1", Account: "acc_b"},
	} {
		if res, err := h.e.Apply(cmd, h.c.now); !errors.Is(err, ErrSessionNotFound) || len(res.Changes) != 0 {
			t.Fatalf("%#v: %+v %v", cmd, res, err)
		}
	}
	if h.e.Len() != 0 {
		t.Fatal("refused acquire granted a lease")
	}
	// A holder holding the lock through one session (or none) is not let in through another.
	h.must(Acquire{Key: lockA, Holder: alice, SessionID: "s1"})
	if _, err := h.apply(Acquire{Key: lockA, Holder: alice, TTL: time.Minute}); !errors.Is(err, ErrSessionMismatch) {
		t.Fatalf("same holder without the session: %v", err)
	}
	// The same holder through the same session is idempotent.
	if r := h.must(Acquire{Key: lockA, Holder: alice, SessionID: "s1"}); r.Outcome != Acquired || len(r.Changes) != 0 {
		t.Fatalf("re-acquire through the session: %+v", r)
	}
}

func TestClosingASessionCleanlyReleasesEveryBoundLease(t *testing.T) {
	h := newHarness(t, Config{})
	h.session("s1", time.Minute)
	lockB := Key{Account: acct, Name: "b"}
	a := h.must(Acquire{Key: lockA, Holder: alice, SessionID: "s1", LockDelay: 30 * time.Second}).Lease
	h.must(Acquire{Key: lockB, Holder: alice, SessionID: "s1", LockDelay: 30 * time.Second})
	h.wait(lockA, bob, time.Minute, "w-bob")
	res := h.must(CloseSession{ID: "s1", Account: acct})
	if res.Outcome != SessionClosed || len(res.Leases) != 2 || res.Leases[0].Name != "a" || res.Leases[1].Name != "b" {
		t.Fatalf("close: %+v", res)
	}
	// A clean end: no lock-delay (Consul #4508), the waiter is granted at once.
	if len(res.Handoffs) != 1 || res.Handoffs[0].Err != nil || res.Handoffs[0].Lease.Holder != bob || res.Handoffs[0].Lease.Token <= a.Token {
		t.Fatalf("handoffs %+v", res.Handoffs)
	}
	if r := h.acquire(lockB, carol, time.Minute); r.Outcome != Acquired {
		t.Fatalf("b after close: %+v", r)
	}
	if _, err := h.apply(Renew{Key: lockA, LeaseID: a.ID, TTL: time.Minute}); !errors.Is(err, ErrNotCurrent) {
		t.Fatalf("renew of a closed session's lease: %v", err)
	}
	if _, err := h.apply(CloseSession{ID: "s1", Account: acct}); !errors.Is(err, ErrSessionNotFound) {
		t.Fatalf("second close: %v", err)
	}
}

func TestAWaiterBoundToAnEndedSessionIsRefused(t *testing.T) {
	h := newHarness(t, Config{})
	h.session("s1", time.Minute)
	first := h.acquire(lockA, alice, time.Minute)
	if r := h.must(Acquire{Key: lockA, Holder: bob, SessionID: "s1", LeaseID: "w-bob", Wait: true}); r.Outcome != Queued {
		t.Fatalf("queue: %+v", r)
	}
	h.wait(lockA, carol, time.Minute, "w-carol")
	h.must(CloseSession{ID: "s1", Account: acct})
	res := h.must(Release{Key: lockA, LeaseID: first.Lease.ID})
	if len(res.Handoffs) != 2 || !errors.Is(res.Handoffs[0].Err, ErrSessionNotFound) || res.Handoffs[1].Lease.Holder != carol {
		t.Fatalf("handoffs %+v", res.Handoffs)
	}
}

func TestLockDelayFollowsAnExpiry(t *testing.T) {
	h := newHarness(t, Config{})
	old := h.must(Acquire{Key: lockA, Holder: alice, TTL: 5 * time.Second, LockDelay: 10 * time.Second}).Lease
	r0 := h.e.Revision(lockA)
	h.c.advance(5 * time.Second)
	expiredAt := h.c.now
	res := h.acquire(lockA, bob, time.Minute)
	if res.Outcome != Held || res.Lease.ID != "" || len(res.Leases) != 0 {
		t.Fatalf("during lock-delay: %+v, want held by nobody", res)
	}
	if !res.AvailableAt.Equal(expiredAt.Wall.Add(10*time.Second)) || res.RetryAfter != 10*time.Second {
		t.Fatalf("available at %v, retry after %v", res.AvailableAt, res.RetryAfter)
	}
	if kinds(res.Changes) != "[DeleteLease PutDelay]" || res.Changes[1].Lease.Key != lockA || res.Changes[1].Delay.LeaseID != old.ID {
		t.Fatalf("changes %s %+v", kinds(res.Changes), res.Changes)
	}
	r1 := h.e.Revision(lockA)
	if r1 <= r0 {
		t.Fatalf("the expiry did not move the revision: %d -> %d", r0, r1)
	}
	if st, _ := h.e.Status(lockA); st.Free() || len(st.Holders) != 0 || st.RetryAfter(h.c.now) != 10*time.Second {
		t.Fatalf("status %+v", st)
	}
	if d, ok := h.e.NextDeadline(); !ok || d != expiredAt.Mono+10*time.Second {
		t.Fatalf("next deadline %v %v", d, ok)
	}
	// The old holder is not the lock's holder any more either.
	if _, err := h.apply(Renew{Key: lockA, LeaseID: old.ID, TTL: time.Minute}); !errors.Is(err, ErrNotCurrent) {
		t.Fatalf("renew during lock-delay: %v", err)
	}
	h.c.advance(10*time.Second - time.Nanosecond)
	if r := h.acquire(lockA, bob, time.Minute); r.Outcome != Held || r.RetryAfter != time.Nanosecond {
		t.Fatalf("1ns before the lock-delay ends: %+v", r)
	}
	h.c.advance(time.Nanosecond)
	res = h.acquire(lockA, bob, time.Minute)
	if res.Outcome != Acquired || res.Lease.Token <= old.Token || kinds(res.Changes) != "[DeleteDelay PutLease]" {
		t.Fatalf("after the lock-delay: %+v %s", res, kinds(res.Changes))
	}
	if r := h.e.Revision(lockA); r <= r1+1 {
		t.Fatalf("the end of the lock-delay did not move the revision: %d after %d", r, r1)
	}
}

// Consul #4508 and upstream OctoStore apply lock-delay on a clean release too; ours
// never does: a release, a closed session or an operator's release frees the lock now.
func TestCleanReleaseNeverStartsALockDelay(t *testing.T) {
	h := newHarness(t, Config{})
	l := h.must(Acquire{Key: lockA, Holder: alice, TTL: time.Minute, LockDelay: MaxLockDelay}).Lease
	h.wait(lockA, carol, time.Minute, "w-carol")
	res := h.must(Release{Key: lockA, LeaseID: l.ID})
	if len(res.Handoffs) != 1 || res.Handoffs[0].Lease.Holder != carol || kinds(res.Changes) != "[DeleteLease PutLease]" {
		t.Fatalf("release: %+v %s", res.Handoffs, kinds(res.Changes))
	}
	h.must(Release{Key: lockA, LeaseID: "w-carol"})
	if r := h.acquire(lockA, bob, time.Minute); r.Outcome != Acquired {
		t.Fatalf("after a clean release: %+v", r)
	}
	if d := h.e.Delays(lockA); len(d) != 0 {
		t.Fatalf("delays %+v", d)
	}
	// Operator force-release: clean too.
	h.must(Acquire{Key: lockA, Holder: bob, TTL: time.Minute, LockDelay: MaxLockDelay})
	h.must(ForceRelease{Key: lockA})
	if r := h.acquire(lockA, carol, time.Minute); r.Outcome != Acquired {
		t.Fatalf("after force-release: %+v", r)
	}
}

func TestLockDelayFollowsASessionExpiry(t *testing.T) {
	h := newHarness(t, Config{})
	h.session("s1", 5*time.Second)
	h.must(Acquire{Key: lockA, Holder: alice, SessionID: "s1", LockDelay: 3 * time.Second})
	h.wait(lockA, bob, time.Minute, "w-bob")
	h.c.advance(5 * time.Second)
	res := h.must(Sweep{})
	if len(res.Handoffs) != 0 || kinds(res.Changes) != "[DeleteLease PutDelay DeleteSession]" {
		t.Fatalf("session expiry: %+v %s", res.Handoffs, kinds(res.Changes))
	}
	h.c.advance(3*time.Second - time.Nanosecond)
	if res := h.must(Sweep{}); len(res.Handoffs) != 0 {
		t.Fatalf("granted during the lock-delay: %+v", res.Handoffs)
	}
	// Waiters are granted, first come first served, when it ends.
	h.c.advance(time.Nanosecond)
	res = h.must(Sweep{})
	if len(res.Handoffs) != 1 || res.Handoffs[0].Waiter != "w-bob" || res.Handoffs[0].Err != nil {
		t.Fatalf("at the end of the lock-delay: %+v", res.Handoffs)
	}
}

func TestLockDelayBoundsAndQuota(t *testing.T) {
	h := newHarness(t, Config{MaxLocksPerAccount: 1})
	for _, d := range []time.Duration{-time.Nanosecond, MaxLockDelay + time.Nanosecond} {
		if _, err := h.apply(Acquire{Key: lockA, Holder: alice, TTL: time.Second, LockDelay: d}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("lock-delay %v: %v", d, err)
		}
	}
	h.must(Acquire{Key: lockA, Holder: alice, TTL: time.Second, LockDelay: 10 * time.Second})
	h.c.advance(time.Second)
	// A lock in lock-delay still counts against the account's limit.
	if _, err := h.apply(Acquire{Key: Key{Account: acct, Name: "b"}, Holder: alice, TTL: time.Second}); !errors.Is(err, ErrLimitExceeded) {
		t.Fatalf("second lock during a lock-delay: %v", err)
	}
	h.c.advance(10 * time.Second)
	if r := h.acquire(Key{Account: acct, Name: "b"}, alice, time.Second); r.Outcome != Acquired {
		t.Fatalf("after the lock-delay: %+v", r)
	}
}

func TestSemaphoreAdmitsNDistinctHoldersWithIncreasingTokens(t *testing.T) {
	h := newHarness(t, Config{})
	sem := func(who Holder) Result {
		return h.must(Acquire{Key: lockA, Holder: who, TTL: time.Minute, MaxHolders: 3})
	}
	var leases []Lease
	var last int64
	for _, who := range []Holder{alice, bob, carol} {
		r := sem(who)
		if r.Outcome != Acquired || r.Lease.Token <= last || r.Lease.MaxHolders != 3 {
			t.Fatalf("%v: %+v", who, r)
		}
		last = r.Lease.Token
		leases = append(leases, r.Lease)
	}
	// The same holder again is idempotent; it takes no second place.
	if r := sem(bob); r.Outcome != Acquired || r.Lease.ID != leases[1].ID {
		t.Fatalf("bob again: %+v", r)
	}
	r := sem(dave)
	if r.Outcome != Held || len(r.Leases) != 3 || r.Lease.ID != leases[0].ID || len(r.Changes) != 0 {
		t.Fatalf("fourth holder: %+v", r)
	}
	st, _ := h.e.Status(lockA)
	if len(st.Holders) != 3 || st.MaxHolders != 3 || st.Holders[2].Holder != carol {
		t.Fatalf("status %+v", st)
	}
	if l, _ := h.e.List(acct); len(l) != 3 || h.e.Count(acct) != 3 {
		t.Fatalf("list %+v", l)
	}
	// Every holder renews and releases its own lease.
	h.must(Renew{Key: lockA, LeaseID: leases[2].ID, TTL: time.Hour})
	h.must(Release{Key: lockA, LeaseID: leases[1].ID})
	if _, err := h.apply(Release{Key: lockA, LeaseID: leases[1].ID}); !errors.Is(err, ErrNotCurrent) {
		t.Fatalf("second release: %v", err)
	}
	if r := sem(dave); r.Outcome != Acquired || r.Lease.Token <= last {
		t.Fatalf("dave after bob left: %+v", r)
	}
}

func TestSemaphoreHoldersMustAgreeOnN(t *testing.T) {
	h := newHarness(t, Config{})
	h.must(Acquire{Key: lockA, Holder: alice, TTL: time.Minute, MaxHolders: 2})
	for _, n := range []int{0, 1, 3} {
		res, err := h.apply(Acquire{Key: lockA, Holder: bob, TTL: time.Minute, MaxHolders: n})
		if !errors.Is(err, ErrMaxHoldersMismatch) || len(res.Changes) != 0 {
			t.Fatalf("n=%d: %+v %v", n, res, err)
		}
	}
	if _, err := h.apply(Acquire{Key: lockA, Holder: alice, TTL: time.Minute, MaxHolders: 3}); !errors.Is(err, ErrMaxHoldersMismatch) {
		t.Fatalf("the holder itself with another n: %v", err)
	}
	// A plain lock is a semaphore of one.
	b := Key{Account: acct, Name: "b"}
	h.acquire(b, alice, time.Minute)
	if _, err := h.apply(Acquire{Key: b, Holder: bob, TTL: time.Minute, MaxHolders: 2}); !errors.Is(err, ErrMaxHoldersMismatch) {
		t.Fatalf("n=2 on a plain lock: %v", err)
	}
	if r := h.must(Acquire{Key: b, Holder: bob, TTL: time.Minute, MaxHolders: 1}); r.Outcome != Held {
		t.Fatalf("n=1 on a plain lock: %+v", r)
	}
	for _, n := range []int{-1, MaxHoldersLimit + 1} {
		if _, err := h.apply(Acquire{Key: Key{Account: acct, Name: "c"}, Holder: bob, TTL: time.Minute, MaxHolders: n}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("n=%d: %v", n, err)
		}
	}
	// Once free, a lock may be taken with another n.
	h.c.advance(time.Minute)
	if r := h.must(Acquire{Key: lockA, Holder: bob, TTL: time.Minute, MaxHolders: 5}); r.Outcome != Acquired {
		t.Fatalf("free lock with a new n: %+v", r)
	}
}

func TestOwnerlessHoldersTakeSeparatePlacesOfASemaphore(t *testing.T) {
	h := newHarness(t, Config{})
	anon := Holder{TokenID: "tok_shared"}
	a := h.must(Acquire{Key: lockA, Holder: anon, TTL: time.Minute, MaxHolders: 2})
	b := h.must(Acquire{Key: lockA, Holder: anon, TTL: time.Minute, MaxHolders: 2})
	if b.Outcome != Acquired || b.Lease.ID == a.Lease.ID {
		t.Fatalf("second owner-less acquire: %+v", b)
	}
	if r := h.must(Acquire{Key: lockA, Holder: anon, TTL: time.Minute, MaxHolders: 2}); r.Outcome != Held {
		t.Fatalf("third: %+v", r)
	}
}

func TestSemaphoreWaitersFillEveryFreedPlaceInOrder(t *testing.T) {
	h := newHarness(t, Config{})
	for _, who := range []Holder{alice, bob} {
		h.must(Acquire{Key: lockA, Holder: who, TTL: 5 * time.Second, MaxHolders: 2})
	}
	for i, who := range []Holder{carol, dave, {TokenID: "tok_erin", Owner: "e"}} {
		if r := h.must(Acquire{Key: lockA, Holder: who, TTL: time.Minute, MaxHolders: 2, LeaseID: fmt.Sprint("w", i), Wait: true}); r.Outcome != Queued {
			t.Fatalf("waiter %d: %+v", i, r)
		}
	}
	if _, err := h.apply(Acquire{Key: lockA, Holder: Holder{TokenID: "x", Owner: "x"}, TTL: time.Minute, MaxHolders: 3, Wait: true}); !errors.Is(err, ErrMaxHoldersMismatch) {
		t.Fatalf("waiter with another n: %v", err)
	}
	h.c.advance(5 * time.Second) // both holders expire in one sweep
	res := h.must(Sweep{})
	if len(res.Handoffs) != 2 || res.Handoffs[0].Waiter != "w0" || res.Handoffs[1].Waiter != "w1" || h.e.Waiters(lockA) != 1 {
		t.Fatalf("handoffs %+v", res.Handoffs)
	}
	if res.Handoffs[1].Lease.Token <= res.Handoffs[0].Lease.Token {
		t.Fatal("tokens out of order")
	}
}

func TestSemaphoreLockDelayTakesOnlyTheExpiredPlace(t *testing.T) {
	h := newHarness(t, Config{})
	h.must(Acquire{Key: lockA, Holder: alice, TTL: time.Second, MaxHolders: 2, LockDelay: 10 * time.Second})
	h.must(Acquire{Key: lockA, Holder: bob, TTL: time.Minute, MaxHolders: 2})
	h.c.advance(time.Second)
	res := h.must(Acquire{Key: lockA, Holder: carol, TTL: time.Minute, MaxHolders: 2})
	if res.Outcome != Held || len(res.Leases) != 1 || res.Leases[0].Holder != bob || res.RetryAfter != 10*time.Second {
		t.Fatalf("during alice's lock-delay: %+v", res)
	}
	h.c.advance(10 * time.Second)
	if r := h.must(Acquire{Key: lockA, Holder: carol, TTL: time.Minute, MaxHolders: 2}); r.Outcome != Acquired {
		t.Fatalf("after it: %+v", r)
	}
}

func TestForceReleaseEndsEveryLeaseAndGrantsTheNextWaiters(t *testing.T) {
	h := newHarness(t, Config{})
	if res := h.must(ForceRelease{Key: lockA}); res.Outcome != Released || len(res.Leases) != 0 || len(res.Changes) != 0 {
		t.Fatalf("force-release of a free lock: %+v", res)
	}
	a := h.must(Acquire{Key: lockA, Holder: alice, TTL: time.Minute, MaxHolders: 2}).Lease
	b := h.must(Acquire{Key: lockA, Holder: bob, TTL: time.Minute, MaxHolders: 2}).Lease
	h.must(Acquire{Key: lockA, Holder: carol, TTL: time.Minute, MaxHolders: 2, LeaseID: "w-carol", Wait: true})
	res := h.must(ForceRelease{Key: lockA})
	if len(res.Leases) != 2 || res.Leases[0].ID != a.ID || res.Leases[1].ID != b.ID {
		t.Fatalf("ended %+v", res.Leases)
	}
	if len(res.Handoffs) != 1 || res.Handoffs[0].Lease.Holder != carol || res.Handoffs[0].Lease.Token <= b.Token {
		t.Fatalf("handoffs %+v", res.Handoffs)
	}
	for _, l := range []Lease{a, b} {
		if _, err := h.apply(Renew{Key: lockA, LeaseID: l.ID, TTL: time.Minute}); !errors.Is(err, ErrNotCurrent) {
			t.Fatalf("renew after force-release: %v", err)
		}
	}
	// It ends a lock-delay too.
	k := Key{Account: acct, Name: "d"}
	h.must(Acquire{Key: k, Holder: alice, TTL: time.Second, LockDelay: time.Minute})
	h.c.advance(time.Second)
	h.must(Sweep{})
	if res := h.must(ForceRelease{Key: k}); kinds(res.Changes) != "[DeleteDelay]" {
		t.Fatalf("force-release of a delayed lock: %s", kinds(res.Changes))
	}
	if r := h.acquire(k, bob, time.Minute); r.Outcome != Acquired {
		t.Fatalf("after force-release of the lock-delay: %+v", r)
	}
}

func TestPrefixListAndChangesSinceAnIndex(t *testing.T) {
	h := newHarness(t, Config{})
	job := func(n string) Key { return Key{Account: acct, Name: "jobs." + n} }
	ja := h.acquire(job("a"), alice, time.Minute).Lease
	h.acquire(job("b"), alice, time.Minute)
	h.acquire(Key{Account: acct, Name: "other"}, alice, time.Minute)
	h.acquire(Key{Account: "acc_b", Name: "jobs.z"}, alice, time.Minute)
	list, index, _ := h.e.ListPrefix(acct, "jobs.")
	if len(list) != 2 || list[0].Name != "jobs.a" || list[1].Name != "jobs.b" || index != h.e.LastRevision() {
		t.Fatalf("list %+v index %d", list, index)
	}
	if ch, next, complete, _ := h.e.ChangesSince(acct, "jobs.", index); len(ch) != 0 || next != index || !complete {
		t.Fatalf("no change yet: %+v %d %v", ch, next, complete)
	}
	h.must(Release{Key: job("a"), LeaseID: ja.ID})
	h.acquire(job("c"), bob, time.Minute)
	h.acquire(Key{Account: acct, Name: "other2"}, alice, time.Minute)
	ch, next, complete, _ := h.e.ChangesSince(acct, "jobs.", index)
	if !complete || len(ch) != 2 || ch[0].Name != "jobs.a" || !ch[0].Free() || ch[1].Name != "jobs.c" || len(ch[1].Holders) != 1 {
		t.Fatalf("changes %+v", ch)
	}
	if ch[0].Revision <= index || ch[1].Revision <= ch[0].Revision || next < ch[1].Revision {
		t.Fatalf("revisions %d %d next %d after %d", ch[0].Revision, ch[1].Revision, next, index)
	}
	if ch, _, _, _ := h.e.ChangesSince(acct, "jobs.", next); len(ch) != 0 {
		t.Fatalf("after next: %+v", ch)
	}
}

func TestPrefixChangesAfterCompactionSayTheyAreIncomplete(t *testing.T) {
	h := newHarness(t, Config{MaxTombstones: 2})
	held := h.acquire(Key{Account: acct, Name: "jobs.held"}, alice, time.Hour)
	_, index, _ := h.e.ListPrefix(acct, "jobs.")
	for i := 0; i < 10; i++ {
		l := h.acquire(Key{Account: acct, Name: fmt.Sprint("jobs.", i)}, alice, time.Minute).Lease
		h.must(Release{Key: l.Key, LeaseID: l.ID})
	}
	ch, _, complete, _ := h.e.ChangesSince(acct, "jobs.", index)
	if complete {
		t.Fatal("tombstones were forgotten but the changes claim to be complete")
	}
	found := false
	for _, s := range ch {
		found = found || s.Name == held.Lease.Name && len(s.Holders) == 1
	}
	if !found {
		t.Fatalf("an incomplete answer lacks the held lock: %+v", ch)
	}
}

func TestRestoreBringsBackSessionsSemaphoresAndLockDelays(t *testing.T) {
	h := newHarness(t, Config{})
	h.session("s1", 10*time.Second)
	bound := h.must(Acquire{Key: lockA, Holder: alice, SessionID: "s1"}).Lease
	semK := Key{Account: acct, Name: "sem"}
	s1 := h.must(Acquire{Key: semK, Holder: alice, TTL: time.Minute, MaxHolders: 2}).Lease
	s2 := h.must(Acquire{Key: semK, Holder: bob, TTL: time.Minute, MaxHolders: 2}).Lease
	delK := Key{Account: acct, Name: "del"}
	h.must(Acquire{Key: delK, Holder: alice, TTL: time.Second, LockDelay: 20 * time.Second})
	h.c.advance(time.Second)
	res := h.must(Sweep{})
	d := res.Changes[1].Delay
	sess, _, _, _ := h.e.Session(acct, "s1")

	later := h.c.now.Add(time.Hour)
	later.Mono = 3 * time.Second
	e := RestoreState(Config{}, State{Leases: []Lease{bound, s1, s2}, Sessions: []Session{sess}, Delays: []Delay{*d}, Reserved: h.e.LastToken()}, later)
	if got, _, ok, _ := e.Session(acct, "s1"); !ok || got.Deadline != later.Mono+10*time.Second {
		t.Fatalf("restored session %+v", got)
	}
	if l, _, _ := e.Get(lockA); l.SessionID != "s1" || l.Deadline != later.Mono+10*time.Second {
		t.Fatalf("restored bound lease %+v", l)
	}
	if st, _ := e.Status(semK); len(st.Holders) != 2 || st.MaxHolders != 2 {
		t.Fatalf("restored semaphore %+v", st)
	}
	if st, _ := e.Status(delK); len(st.Delays) != 1 || st.AvailableMono != later.Mono+20*time.Second {
		t.Fatalf("restored lock-delay %+v", st)
	}
	// The session's end still ends its lease.
	later = later.Add(10 * time.Second)
	if r, err := e.Apply(Acquire{Key: lockA, Holder: bob, TTL: time.Second, LeaseID: "n"}, later); err != nil || r.Outcome != Acquired || r.Lease.Token <= h.e.LastToken() {
		t.Fatalf("after the restored session expired: %+v %v", r, err)
	}
	// A lease whose session was lost keeps a TTL of its own.
	e = RestoreState(Config{}, State{Leases: []Lease{bound}}, later)
	if l, ok, _ := e.Get(lockA); !ok || l.SessionID != "" || l.Deadline != later.Mono+10*time.Second {
		t.Fatalf("orphaned bound lease %+v %v", l, ok)
	}
}

func TestLockDelayRunsFromTheExpiryNotFromALateSweep(t *testing.T) {
	h := newHarness(t, Config{})
	h.must(Acquire{Key: lockA, Holder: alice, TTL: 5 * time.Second, LockDelay: 10 * time.Second})
	h.c.advance(12 * time.Second) // nobody looked for 7s after the expiry
	if r := h.acquire(lockA, bob, time.Minute); r.Outcome != Held || r.RetryAfter != 3*time.Second {
		t.Fatalf("late sweep: %+v", r)
	}
	k := Key{Account: acct, Name: "b"}
	h.must(Acquire{Key: k, Holder: alice, TTL: 5 * time.Second, LockDelay: 10 * time.Second})
	h.c.advance(15 * time.Second) // the lock-delay ended before anyone looked
	// (a's lock-delay ends in the same sweep; b's never starts.)
	if r := h.acquire(k, bob, time.Minute); r.Outcome != Acquired || kinds(r.Changes) != "[DeleteDelay DeleteLease PutLease]" || r.Changes[0].Delay.Name != "a" {
		t.Fatalf("after a lock-delay nobody saw: %+v %s", r, kinds(r.Changes))
	}
}

func TestPagesKeepASemaphoresHoldersTogether(t *testing.T) {
	h := newHarness(t, Config{})
	for _, n := range []string{"jobs.a", "jobs.b", "jobs.c", "x"} {
		for _, who := range []Holder{alice, bob} {
			h.must(Acquire{Key: Key{Account: acct, Name: n}, Holder: who, TTL: time.Minute, MaxHolders: 2})
		}
	}
	page, more, _ := h.e.ListPage(acct, "", 2)
	if len(page) != 4 || !more || page[0].Name != "jobs.a" || page[3].Name != "jobs.b" || page[0].Token > page[1].Token {
		t.Fatalf("first page %+v more=%v", page, more)
	}
	st, more, index, _ := h.e.ListPrefixPage(acct, "jobs.", "jobs.a", 5)
	if len(st) != 2 || more || st[0].Name != "jobs.b" || len(st[1].Holders) != 2 || index != h.e.LastRevision() {
		t.Fatalf("prefix page %+v more=%v", st, more)
	}
}
