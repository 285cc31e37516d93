package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octostore/octostore/impl/auth"
	"github.com/octostore/octostore/impl/lease"
)

func openTemp(t *testing.T, opts Options) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, path
}

// running starts the committer and returns a function that stops it and closes.
func running(t *testing.T, s *Store) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		s.Close()
	}
}

func testLease(name string, token int64) lease.Lease {
	return lease.Lease{
		Key:        lease.Key{Account: "acc_a", Name: name},
		ID:         "lease-" + name,
		Holder:     lease.Holder{TokenID: "tok_a", Owner: "w1"},
		Token:      token,
		TTL:        30 * time.Second,
		AcquiredAt: time.UnixMilli(1_700_000_000_000).UTC(),
		ExpiresAt:  time.UnixMilli(1_700_000_030_000).UTC(),
		Metadata:   "10.0.0.7:8080 " + name,
		Revision:   token + 100,
	}
}

func TestCommittedChangesAreWhatReopenReturns(t *testing.T) {
	s, path := openTemp(t, Options{})
	stop := running(t, s)
	ctx := context.Background()
	changes := []lease.Change{
		{Kind: lease.ReserveToken, Reserve: 1024},
		{Kind: lease.PutLease, Lease: testLease("a", 1)},
		{Kind: lease.PutLease, Lease: testLease("b", 2)},
	}
	if err := s.Submit(1, changes); err != nil {
		t.Fatal(err)
	}
	if err := s.Submit(2, []lease.Change{{Kind: lease.DeleteLease, Lease: testLease("b", 2)}}); err != nil {
		t.Fatal(err)
	}
	// A delete naming another lease id must not remove the current row.
	stale := testLease("a", 1)
	stale.ID = "an-older-lease"
	s.Submit(3, []lease.Change{{Kind: lease.DeleteLease, Lease: stale}})
	if err := s.WaitDurable(ctx, 3); err != nil {
		t.Fatal(err)
	}
	stop()

	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	leases, reserved, err := s.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if reserved != 1024 || len(leases) != 1 {
		t.Fatalf("reserved %d leases %+v", reserved, leases)
	}
	want := testLease("a", 1)
	if got := leases[0]; got.Key != want.Key || got.ID != want.ID || got.Holder != want.Holder || got.Token != 1 ||
		got.TTL != want.TTL || !got.ExpiresAt.Equal(want.ExpiresAt) || !got.AcquiredAt.Equal(want.AcquiredAt) ||
		got.Metadata != want.Metadata || got.Revision != want.Revision {
		t.Fatalf("got %+v", got)
	}
	if v, err := s.IntegrityCheck(ctx); err != nil || v != "ok" {
		t.Fatalf("integrity %q %v", v, err)
	}
}

func TestReservationNeverGoesBackwards(t *testing.T) {
	s, _ := openTemp(t, Options{})
	stop := running(t, s)
	defer stop()
	s.Submit(1, []lease.Change{{Kind: lease.ReserveToken, Reserve: 2048}})
	s.Submit(2, []lease.Change{{Kind: lease.ReserveToken, Reserve: 1024}})
	s.WaitDurable(context.Background(), 2)
	if _, r, _ := s.Leases(context.Background()); r != 2048 {
		t.Fatalf("reserved %d", r)
	}
}

func TestConcurrentSubmitsShareCommits(t *testing.T) {
	var mu sync.Mutex
	var commits, revisions int
	s, _ := openTemp(t, Options{MaxBatch: 64, Hooks: &Hooks{Committed: func(revs, _ int, _ time.Duration) {
		mu.Lock()
		commits++
		revisions += revs
		mu.Unlock()
	}}})
	stop := running(t, s)
	defer stop()
	ctx := context.Background()
	var seq sync.Mutex
	var rev uint64
	var wg sync.WaitGroup
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				seq.Lock() // revisions are submitted in order, as the server does
				rev++
				r := rev
				s.Submit(r, []lease.Change{{Kind: lease.PutLease, Lease: testLease("l", int64(r))}})
				seq.Unlock()
				if err := s.WaitDurable(ctx, r); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if revisions != 640 || s.Durable() != 640 {
		t.Fatalf("%d revisions committed, durable %d", revisions, s.Durable())
	}
	t.Logf("640 revisions in %d commits (%.1f per commit)", commits, 640/float64(commits))
	if commits > 640 {
		t.Fatal("more commits than revisions")
	}
}

func TestStoppedCommitterRefusesNewWork(t *testing.T) {
	s, _ := openTemp(t, Options{})
	stop := running(t, s)
	s.Submit(1, []lease.Change{{Kind: lease.PutLease, Lease: testLease("a", 1)}})
	stop()
	if s.Durable() != 1 {
		t.Fatal("shutdown did not flush accepted work")
	}
	if err := s.Submit(2, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after stop: %v", err)
	}
	if err := s.WaitDurable(context.Background(), 2); !errors.Is(err, ErrClosed) {
		t.Fatalf("wait after stop: %v", err)
	}
}

func TestFailedCommitDegradesAndItsRevisionsStayLost(t *testing.T) {
	s, _ := openTemp(t, Options{})
	ctx := context.Background()
	stop := running(t, s)
	defer stop()
	put := func(rev uint64, name string) []lease.Change {
		return []lease.Change{{Kind: lease.PutLease, Lease: lease.Lease{Key: lease.Key{Account: "a", Name: name}, ID: name, Holder: lease.Holder{TokenID: "t"}, Token: int64(rev), TTL: time.Second}}}
	}
	if err := s.Submit(1, put(1, "one")); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitDurable(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// An unknown change kind makes the transaction fail, as a full disk would.
	s.Submit(2, []lease.Change{{Kind: lease.ChangeKind(99)}})
	if err := s.WaitDurable(ctx, 2); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("wait for the failed revision: %v", err)
	}
	<-s.Failed()
	if err := s.Submit(3, put(3, "three")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("submit while degraded: %v", err)
	}
	if err := s.Writable(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("writable while degraded: %v", err)
	}
	if h := s.Health(); h.Degraded == nil || h.Since.IsZero() {
		t.Fatalf("health while degraded: %+v", h)
	}
	if err := s.WaitDurable(ctx, 1); err != nil {
		t.Fatalf("a durable revision stays durable: %v", err)
	}
	if err := s.Probe(ctx); err != nil {
		t.Fatalf("probe: %v", err)
	}
	s.Resume(3)
	if err := s.Writable(); err != nil {
		t.Fatalf("writable after resume: %v", err)
	}
	for _, rev := range []uint64{2, 3} {
		if err := s.WaitDurable(ctx, rev); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("revision %d was lost and must stay so: %v", rev, err)
		}
	}
	if err := s.Submit(4, put(4, "four")); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitDurable(ctx, 4); err != nil {
		t.Fatal(err)
	}
	leases, _, err := s.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range leases {
		names = append(names, l.Name)
	}
	if fmt.Sprint(names) != "[four one]" && fmt.Sprint(names) != "[one four]" {
		t.Fatalf("stored leases %v: want one and four, never the lost three", names)
	}
}

func TestReplacedDatabaseIsNotDurable(t *testing.T) {
	for _, victim := range []string{"", "-wal"} {
		t.Run("remove"+victim, func(t *testing.T) {
			s, path := openTemp(t, Options{CheckInterval: time.Hour})
			ctx := context.Background()
			stop := running(t, s)
			defer stop()
			if err := os.Remove(path + victim); err != nil {
				t.Fatal(err)
			}
			s.Submit(1, []lease.Change{{Kind: lease.ReserveToken, Reserve: 10}})
			if err := s.WaitDurable(ctx, 1); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("a commit into a removed file was reported durable: %v", err)
			}
			if err := s.Probe(ctx); err == nil {
				t.Fatal("probe accepted a removed database")
			}
		})
	}
}

func TestMissingDatabaseIsNotSilentlyNew(t *testing.T) {
	s, path := openTemp(t, Options{})
	s.Close()
	if _, err := os.Stat(path + MarkerSuffix); err != nil {
		t.Fatalf("no marker: %v", err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		os.Remove(f)
	}
	if _, err := Open(context.Background(), path, Options{}); !errors.Is(err, ErrMissing) {
		t.Fatalf("open of a missing database: %v", err)
	}
	os.WriteFile(path, nil, 0o600)
	if _, err := Open(context.Background(), path, Options{}); !errors.Is(err, ErrMissing) {
		t.Fatalf("open of an empty database: %v", err)
	}
	s, err := Open(context.Background(), path, Options{AllowNew: true})
	if err != nil {
		t.Fatalf("open with AllowNew: %v", err)
	}
	s.Close()
}

func TestBackupIsAConsistentDatabase(t *testing.T) {
	s, _ := openTemp(t, Options{})
	ctx := context.Background()
	stop := running(t, s)
	s.Submit(1, []lease.Change{{Kind: lease.ReserveToken, Reserve: 4096}})
	if err := s.WaitDurable(ctx, 1); err != nil {
		t.Fatal(err)
	}
	out, err := s.Backup(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	stop()
	b, err := Open(ctx, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, reserved, err := b.Leases(ctx); err != nil || reserved != 4096 {
		t.Fatalf("backup's high-water mark %d, %v", reserved, err)
	}
	if v, err := b.IntegrityCheck(ctx); err != nil || v != "ok" {
		t.Fatalf("integrity %q %v", v, err)
	}
}

func TestSecondOpenIsRefusedUntilTheFirstCloses(t *testing.T) {
	s, path := openTemp(t, Options{})
	if _, err := Open(context.Background(), path, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
	s.Close()
	s2, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	s2.Close()
}

func TestOpenRefusesBadPaths(t *testing.T) {
	for _, p := range []string{"", "file:", "x.db?mode=memory", filepath.Join(t.TempDir(), "missing-dir", "x.db")} {
		if s, err := Open(context.Background(), p, Options{}); err == nil {
			s.Close()
			t.Errorf("%q accepted", p)
		}
	}
}

func TestAccountsAndTokens(t *testing.T) {
	s, _ := openTemp(t, Options{})
	defer s.Close()
	ctx := context.Background()
	now := time.UnixMilli(1_700_000_000_000).UTC()
	a := auth.Account{ID: "acc_1", Name: "ci", CreatedAt: now}
	if err := s.CreateAccount(ctx, a, auth.TokenRecord{ID: "tok_1", AccountID: "acc_1", Hash: []byte{1}, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	err := s.CreateAccount(ctx, auth.Account{ID: "acc_2", Name: "ci", CreatedAt: now}, auth.TokenRecord{ID: "tok_2", AccountID: "acc_2", Hash: []byte{2}})
	if !errors.Is(err, auth.ErrAccountExists) {
		t.Fatalf("duplicate name: %v", err)
	}
	if err := s.AddToken(ctx, auth.TokenRecord{ID: "tok_3", AccountID: "acc_nope", Hash: []byte{3}}); !errors.Is(err, auth.ErrAccountNotFound) {
		t.Fatalf("token for missing account: %v", err)
	}
	if err := s.SetTokenHash(ctx, "tok_1", []byte{9}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTokenHash(ctx, "tok_missing", []byte{9}); err == nil {
		t.Fatal("rotated a missing token")
	}
	toks, _ := s.Tokens(ctx)
	accs, _ := s.Accounts(ctx)
	if len(toks) != 1 || toks[0].Hash[0] != 9 || len(accs) != 1 || accs[0] != a {
		t.Fatalf("tokens %+v accounts %+v", toks, accs)
	}
}

func TestHealthReasonNamesTheCauseWithoutPaths(t *testing.T) {
	s, path := openTemp(t, Options{CheckInterval: time.Hour})
	stop := running(t, s)
	defer stop()
	os.Remove(path + "-wal")
	s.Submit(1, []lease.Change{{Kind: lease.ReserveToken, Reserve: 10}})
	s.WaitDurable(context.Background(), 1)
	h := s.Health()
	if h.Degraded == nil || !strings.Contains(h.Reason, "removed or replaced") || strings.Contains(h.Reason, path) {
		t.Fatalf("health %+v", h)
	}
}
