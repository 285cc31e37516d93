// Package commitstest is the conformance suite of the commit seam (impl.Commits): every
// implementation, the SQLite group committer and the raft log, runs it.
package commitstest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/octostore/octostore/impl"
	"github.com/octostore/octostore/impl/lease"
)

// Seam is one implementation under test, accepting writes.
type Seam struct {
	impl.Commits
	// Fail makes the seam refuse writes from now on (a failing disk, a lost leadership).
	Fail func()
	// Recovers says whether Probe succeeds again after Fail (a disk that healed); a seam
	// that cannot is only checked up to the failure.
	Recovers bool
}

// Run runs the suite. open returns a fresh seam whose Run the suite starts and stops.
func Run(t *testing.T, open func(t *testing.T) Seam) {
	start := func(t *testing.T) (Seam, context.CancelFunc, chan error) {
		s := open(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
		return s, cancel, done
	}
	ctx := context.Background()

	t.Run("revisions become durable in order and restore as leases", func(t *testing.T) {
		s, _, _ := start(t)
		if err := s.Writable(); err != nil {
			t.Fatalf("writable: %v", err)
		}
		if err := s.WaitDurable(ctx, 0); err != nil {
			t.Fatalf("revision 0: %v", err)
		}
		for i := 1; i <= 20; i++ {
			name := fmt.Sprintf("lock-%d", i%5)
			ch := []lease.Change{{Kind: lease.ReserveToken, Reserve: int64(100 + i)}}
			if i > 5 { // the lock's previous lease ends first, as the engine does it
				ch = append(ch, lease.Change{Kind: lease.DeleteLease, Lease: put(i-5, name).Lease})
			}
			ch = append(ch, put(i, name))
			if err := s.Submit(uint64(i), ch); err != nil {
				t.Fatalf("submit %d: %v", i, err)
			}
		}
		if err := s.Submit(21, []lease.Change{{Kind: lease.DeleteLease, Lease: put(20, "lock-0").Lease}}); err != nil {
			t.Fatalf("submit delete: %v", err)
		}
		if err := s.WaitDurable(ctx, 21); err != nil {
			t.Fatalf("wait: %v", err)
		}
		if err := s.WaitDurable(ctx, 5); err != nil {
			t.Fatalf("an earlier revision after a later one: %v", err)
		}
		if err := s.Verify(ctx); err != nil {
			t.Fatalf("verify: %v", err)
		}
		leases, reserved, err := s.Leases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// A seam may floor the reservation higher (a raft leader floors it at the wall
		// clock when it starts), never lower.
		if reserved < 120 {
			t.Fatalf("reserved %d, want at least 120", reserved)
		}
		got := map[string]int64{}
		for _, l := range leases {
			got[l.Name] = l.Token
		}
		want := map[string]int64{"lock-1": 16, "lock-2": 17, "lock-3": 18, "lock-4": 19}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("leases %v, want %v", got, want)
		}
		for _, l := range leases {
			if l.Name == "lock-1" && (l.Holder.Owner != "owner-16" || l.TTL != 30*time.Second || l.Metadata != "m16") {
				t.Fatalf("lease not stored faithfully: %+v", l)
			}
		}
	})

	t.Run("sessions and lock-delays restore through State", func(t *testing.T) {
		s, _, _ := start(t)
		sess := lease.Session{ID: "ses_1", Account: "acc", Holder: lease.Holder{TokenID: "tok"}, TTL: 15 * time.Second}
		gone := lease.Session{ID: "ses_2", Account: "acc", Holder: lease.Holder{TokenID: "tok"}, TTL: 15 * time.Second}
		bound := put(2, "bound")
		bound.Lease.SessionID = sess.ID
		delay := lease.Delay{Key: lease.Key{Account: "acc", Name: "delayed"}, LeaseID: "lease-9", Length: 10 * time.Second}
		changes := []lease.Change{
			{Kind: lease.ReserveToken, Reserve: 1000},
			{Kind: lease.PutSession, Session: &sess},
			{Kind: lease.PutSession, Session: &gone},
			bound,
			{Kind: lease.PutDelay, Lease: lease.Lease{Key: delay.Key, ID: delay.LeaseID}, Delay: &delay},
		}
		if err := s.Submit(1, changes); err != nil {
			t.Fatalf("submit: %v", err)
		}
		if err := s.Submit(2, []lease.Change{{Kind: lease.DeleteSession, Session: &gone}}); err != nil {
			t.Fatalf("submit: %v", err)
		}
		if err := s.WaitDurable(ctx, 2); err != nil {
			t.Fatalf("wait: %v", err)
		}
		st, err := s.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Sessions) != 1 || st.Sessions[0].ID != sess.ID || st.Sessions[0].TTL != sess.TTL {
			t.Fatalf("sessions %+v", st.Sessions)
		}
		if len(st.Leases) != 1 || st.Leases[0].SessionID != sess.ID {
			t.Fatalf("leases %+v", st.Leases)
		}
		if len(st.Delays) != 1 || st.Delays[0].Key != delay.Key || st.Delays[0].Length != delay.Length {
			t.Fatalf("lock-delays %+v", st.Delays)
		}
		if st.Reserved < 1000 {
			t.Fatalf("reserved %d", st.Reserved)
		}
	})

	t.Run("a revision not submitted is not durable", func(t *testing.T) {
		s, _, _ := start(t)
		wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := s.WaitDurable(wctx, 7); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("wait for a revision nobody submitted: %v", err)
		}
	})

	t.Run("a failure refuses writes, loses what was not durable and keeps what was", func(t *testing.T) {
		s, _, _ := start(t)
		if err := s.Submit(1, []lease.Change{put(1, "kept")}); err != nil {
			t.Fatal(err)
		}
		if err := s.WaitDurable(ctx, 1); err != nil {
			t.Fatal(err)
		}
		s.Fail()
		select {
		case <-s.Failed():
		case <-time.After(30 * time.Second):
			t.Fatal("Failed not closed after the fault")
		}
		if err := s.Writable(); !errors.Is(err, impl.ErrUnavailable) {
			t.Fatalf("writable after the fault: %v", err)
		}
		if err := s.Submit(2, []lease.Change{put(2, "lost")}); !errors.Is(err, impl.ErrUnavailable) {
			t.Fatalf("submit after the fault: %v", err)
		}
		if err := s.WaitDurable(ctx, 2); !errors.Is(err, impl.ErrUnavailable) {
			t.Fatalf("wait for a refused revision: %v", err)
		}
		if err := s.WaitDurable(ctx, 1); err != nil {
			t.Fatalf("a durable revision after the fault: %v", err)
		}
		if !s.Recovers {
			return
		}
		deadline := time.Now().Add(30 * time.Second)
		for s.Probe(ctx) != nil {
			if time.Now().After(deadline) {
				t.Fatal("probe never succeeds")
			}
			time.Sleep(10 * time.Millisecond)
		}
		leases, _, err := s.Leases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(leases) != 1 || leases[0].Name != "kept" {
			t.Fatalf("after the fault: %+v", leases)
		}
		s.Resume(2)
		if err := s.Writable(); err != nil {
			t.Fatalf("writable after resume: %v", err)
		}
		if err := s.WaitDurable(ctx, 2); !errors.Is(err, impl.ErrUnavailable) {
			t.Fatalf("a lost revision became durable: %v", err)
		}
		if err := s.Submit(3, []lease.Change{put(3, "after")}); err != nil {
			t.Fatal(err)
		}
		if err := s.WaitDurable(ctx, 3); err != nil {
			t.Fatalf("after resume: %v", err)
		}
	})

	t.Run("after Run ends nothing more is accepted", func(t *testing.T) {
		s, cancel, done := start(t)
		if err := s.Submit(1, []lease.Change{put(1, "a")}); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("run: %v", err)
		}
		done <- nil // for the cleanup
		if err := s.WaitDurable(ctx, 1); err != nil {
			t.Fatalf("a revision accepted before the end: %v", err)
		}
		if err := s.Submit(2, []lease.Change{put(2, "b")}); !errors.Is(err, impl.ErrClosed) {
			t.Fatalf("submit after the end: %v", err)
		}
	})
}

func put(i int, name string) lease.Change {
	at := time.UnixMilli(1_800_000_000_000 + int64(i)).UTC()
	return lease.Change{Kind: lease.PutLease, Lease: lease.Lease{
		Key:        lease.Key{Account: "acct", Name: name},
		ID:         fmt.Sprintf("lease-%d", i),
		Holder:     lease.Holder{TokenID: "tok", Owner: fmt.Sprintf("owner-%d", i)},
		Token:      int64(i),
		TTL:        30 * time.Second,
		AcquiredAt: at,
		ExpiresAt:  at.Add(30 * time.Second),
		Metadata:   fmt.Sprintf("m%d", i),
		Revision:   int64(i),
	}}
}
