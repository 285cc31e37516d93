package store

import (
	"context"
	"testing"
	"time"

	"github.com/octostore/octostore/impl/lease"
)

// Sessions, the leases bound to them, a semaphore's holders and a lock-delay in force
// survive a restart: the store returns them, and the engine rebuilt from them gives each
// session and lock-delay a fresh full length, and each bound lease its session's.
func TestSessionsSemaphoresAndLockDelaysSurviveARestart(t *testing.T) {
	ctx := context.Background()
	s, path := openTemp(t, Options{})
	stop := running(t, s)
	now := lease.Instant{Mono: time.Hour, Wall: time.UnixMilli(1_700_000_000_000).UTC()}
	e := lease.New(lease.Config{})
	apply := func(cmd lease.Command) lease.Result {
		t.Helper()
		res, err := e.Apply(cmd, now)
		if err != nil {
			t.Fatalf("%#v: %v", cmd, err)
		}
		if len(res.Changes) > 0 {
			if err := s.Submit(res.Rev, res.Changes); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.WaitDurable(ctx, res.Rev); err != nil {
			t.Fatal(err)
		}
		return res
	}
	alice := lease.Holder{TokenID: "tok_a", Owner: "a"}
	bob := lease.Holder{TokenID: "tok_b", Owner: "b"}
	lockA := lease.Key{Account: "acc_a", Name: "a"}
	sem := lease.Key{Account: "acc_a", Name: "sem"}
	del := lease.Key{Account: "acc_a", Name: "del"}
	apply(lease.CreateSession{ID: "sess-1", Account: "acc_a", Holder: alice, TTL: 10 * time.Second})
	apply(lease.CreateSession{ID: "sess-gone", Account: "acc_a", Holder: alice, TTL: 10 * time.Second})
	bound := apply(lease.Acquire{Key: lockA, Holder: alice, SessionID: "sess-1", LeaseID: "l-bound", LockDelay: 5 * time.Second}).Lease
	apply(lease.Acquire{Key: lease.Key{Account: "acc_a", Name: "b"}, Holder: alice, SessionID: "sess-gone", LeaseID: "l-gone"})
	apply(lease.CloseSession{ID: "sess-gone", Account: "acc_a"})
	apply(lease.Acquire{Key: sem, Holder: alice, TTL: time.Minute, LeaseID: "l-s1", MaxHolders: 2})
	apply(lease.Acquire{Key: sem, Holder: bob, TTL: time.Minute, LeaseID: "l-s2", MaxHolders: 2})
	apply(lease.Acquire{Key: del, Holder: alice, TTL: time.Second, LeaseID: "l-del", LockDelay: 30 * time.Second})
	apply(lease.RenewSession{ID: "sess-1", Account: "acc_a", TTL: 20 * time.Second}) // a longer TTL is durable
	now = now.Add(time.Second)
	apply(lease.Sweep{}) // l-del expires: its lock-delay starts
	stop()

	s2, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	st, err := s2.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Leases) != 3 || len(st.Sessions) != 1 || len(st.Delays) != 1 {
		t.Fatalf("state %+v", st)
	}
	if ss := st.Sessions[0]; ss.ID != "sess-1" || ss.TTL != 20*time.Second || ss.Holder != alice {
		t.Fatalf("session %+v", ss)
	}
	if d := st.Delays[0]; d.Key != del || d.LeaseID != "l-del" || d.Length != 30*time.Second {
		t.Fatalf("lock-delay %+v", d)
	}
	later := lease.Instant{Mono: 7 * time.Second, Wall: now.Wall.Add(time.Hour)}
	e2 := lease.RestoreState(lease.Config{}, st, later)
	l, ok, _ := e2.Get(lockA)
	if !ok || l.ID != bound.ID || l.SessionID != "sess-1" || l.LockDelay != 5*time.Second || l.Deadline != later.Mono+20*time.Second {
		t.Fatalf("bound lease after restart %+v", l)
	}
	if status, _ := e2.Status(sem); len(status.Holders) != 2 || status.MaxHolders != 2 || status.Holders[0].ID != "l-s1" {
		t.Fatalf("semaphore after restart %+v", status)
	}
	res, err := e2.Apply(lease.Acquire{Key: del, Holder: bob, TTL: time.Minute, LeaseID: "n"}, later)
	if err != nil || res.Outcome != lease.Held || res.RetryAfter != 30*time.Second {
		t.Fatalf("the lock-delay after restart: %+v %v", res, err)
	}
	// The restored session still ends its lease, with the lease's lock-delay.
	later = later.Add(20 * time.Second)
	res, err = e2.Apply(lease.Acquire{Key: lockA, Holder: bob, TTL: time.Minute, LeaseID: "n2"}, later)
	if err != nil || res.Outcome != lease.Held || res.RetryAfter != 5*time.Second || len(res.Leases) != 0 {
		t.Fatalf("after the restored session expired: %+v %v", res, err)
	}
}
