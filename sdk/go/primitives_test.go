package octostore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	octostore "github.com/octostore/octostore/sdk/go"
)

func newSession(t *testing.T, c *octostore.ClientWithResponses, ttl time.Duration) *octostore.Session {
	t.Helper()
	s, err := octostore.NewSession(ctxFor(t, 10*time.Second), c, ttl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func statusOf(t *testing.T, c *octostore.ClientWithResponses, name string) octostore.LockStatus {
	t.Helper()
	res, err := c.GetLockWithResponse(ctxFor(t, 10*time.Second), name, nil)
	if err != nil || res.JSON200 == nil {
		t.Fatalf("status of %s: %v %v", name, err, res)
	}
	return *res.JSON200
}

// A session keeps the locks taken through it alive for longer than its TTL, and Close
// releases them at once.
func TestSessionKeepsItsLocksAliveAndCloseReleasesThem(t *testing.T) {
	c := sharedClient(t)
	ctx := ctxFor(t, 30*time.Second)
	s := newSession(t, c, 2*time.Second)
	m, err := s.Mutex("sdk-session-leader")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := c.GetSessionWithResponse(ctx, s.ID())
	if err != nil || res.JSON200 == nil || len(res.JSON200.Locks) != 1 || res.JSON200.Locks[0].Name != "sdk-session-leader" {
		t.Fatalf("session: %v %s", err, res.Body)
	}
	time.Sleep(5 * time.Second) // two and a half session TTLs: only renewals keep it
	select {
	case <-s.Done():
		t.Fatalf("session lost: %v", s.Err())
	case <-m.Done():
		t.Fatalf("lock lost: %v", m.Err())
	default:
	}
	if st := statusOf(t, c, "sdk-session-leader"); st.Status != octostore.LockStatusStatusHeld || *st.FencingToken != m.Token() {
		t.Fatalf("after 5 s: %+v", st)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := statusOf(t, c, "sdk-session-leader"); st.Status != octostore.LockStatusStatusFree {
		t.Fatalf("after Close: %+v", st)
	}
	<-m.Done()
	if !errors.Is(s.Err(), octostore.ErrSessionClosed) || !errors.Is(m.Err(), octostore.ErrLost) {
		t.Fatalf("errors after Close: %v, %v", s.Err(), m.Err())
	}
	if err := m.Lock(ctx); !errors.Is(err, octostore.ErrSessionClosed) {
		t.Fatalf("Lock through a closed session: %v", err)
	}
}

// The loss signal: a session the server no longer knows (deleted elsewhere here) closes
// Done with ErrLost and the server's session_not_found, and the locks bound to it end.
func TestSessionLossIsSignalled(t *testing.T) {
	c := sharedClient(t)
	ctx := ctxFor(t, 30*time.Second)
	s := newSession(t, c, 3*time.Second)
	m, err := s.Mutex("sdk-session-lost")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err := c.DeleteSessionWithResponse(ctx, s.ID()); err != nil || res.StatusCode() != 204 {
		t.Fatalf("delete behind the helper's back: %v %v", err, res)
	}
	for _, ch := range []<-chan struct{}{s.Done(), m.Done()} {
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatal("no loss signal")
		}
	}
	if !errors.Is(s.Err(), octostore.ErrLost) || !octostore.HasCode(s.Err(), octostore.ProblemCodeSessionNotFound) || !errors.Is(m.Err(), octostore.ErrLost) {
		t.Fatalf("errors: %v, %v", s.Err(), m.Err())
	}
	if err := s.Close(ctx); !errors.Is(err, octostore.ErrLost) {
		t.Fatalf("Close of a lost session: %v", err)
	}
}

func TestSessionDiesWithTheServer(t *testing.T) {
	srv := startTestServer(t)
	c := client(t, srv.url, srv.token)
	ctx := ctxFor(t, 30*time.Second)
	s := newSession(t, c, time.Second)
	srv.kill()
	select {
	case <-s.Done():
	case <-ctx.Done():
		t.Fatal("Done not closed")
	}
	if !errors.Is(s.Err(), octostore.ErrLost) {
		t.Fatalf("Err %v", s.Err())
	}
}

func TestSemaphoreAdmitsNHolders(t *testing.T) {
	c := sharedClient(t)
	ctx := ctxFor(t, 30*time.Second)
	var sems []*octostore.Semaphore
	for range 3 {
		s, err := octostore.NewSemaphore(c, "sdk-pool", 2)
		if err != nil {
			t.Fatal(err)
		}
		sems = append(sems, s)
	}
	for i := range 2 {
		if err := sems[i].TryAcquire(ctx); err != nil {
			t.Fatalf("holder %d: %v", i, err)
		}
	}
	if sems[1].Token() <= sems[0].Token() {
		t.Fatalf("tokens %d, %d", sems[0].Token(), sems[1].Token())
	}
	var locked *octostore.LockedError
	if err := sems[2].TryAcquire(ctx); !errors.As(err, &locked) {
		t.Fatalf("the third: %v", err)
	}
	other, _ := octostore.NewSemaphore(c, "sdk-pool", 3)
	if err := other.TryAcquire(ctx); !octostore.HasCode(err, octostore.ProblemCodeMaxHoldersMismatch) {
		t.Fatalf("another N: %v", err)
	}
	got := make(chan error, 1)
	go func() { got <- sems[2].Acquire(ctx) }()
	if err := sems[0].Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil || sems[2].Token() <= sems[1].Token() {
		t.Fatalf("the waiter: %v, token %d", err, sems[2].Token())
	}
	st := statusOf(t, c, "sdk-pool")
	if st.Holders == nil || len(*st.Holders) != 2 || st.MaxHolders == nil || *st.MaxHolders != 2 {
		t.Fatalf("status: %+v", st)
	}
	sems[1].Release(ctx)
	sems[2].Release(ctx)
	if _, err := octostore.NewSemaphore(c, "sdk-pool", 65); err == nil {
		t.Fatal("65 holders accepted")
	}
}

func TestLockDelayAfterAnExpiryShowsNoHolder(t *testing.T) {
	c := sharedClient(t)
	ctx := ctxFor(t, 30*time.Second)
	a := newMutex(t, c, "sdk-delayed", octostore.WithTTL(time.Second), octostore.WithoutAutoRenew(), octostore.WithLockDelay(30*time.Second))
	if err := a.TryLock(ctx); err != nil {
		t.Fatal(err)
	}
	<-a.Done() // the lease runs out, unrenewed
	b := newMutex(t, c, "sdk-delayed")
	var locked *octostore.LockedError
	for {
		err := b.TryLock(ctx)
		if !errors.As(err, &locked) {
			t.Fatalf("during the lock-delay: %v", err)
		}
		if locked.HolderID == "" {
			break // the server ended the lease: the delay keeps the lock from everyone
		}
		time.Sleep(100 * time.Millisecond)
	}
	if locked.RetryAfter <= 0 || time.Until(locked.ExpiresAt) < 20*time.Second {
		t.Fatalf("%+v", locked)
	}
}

func TestWatchPrefixSeesEveryChangeInOrder(t *testing.T) {
	c := sharedClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	index, err := octostore.PrefixIndex(ctx, c, "sdk-watch.")
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		name   string
		status octostore.LockStatusStatus
		rev    int64
	}
	got := make(chan seen, 100)
	watchErr := make(chan error, 1)
	go func() {
		watchErr <- octostore.WatchPrefix(ctx, c, "sdk-watch.", index, func(pc octostore.PrefixChanges) error {
			for _, ch := range pc.Changes {
				got <- seen{ch.Name, ch.Status, ch.Revision}
			}
			return nil
		})
	}()
	// Sequential changes, each awaited, so every one is its own answer.
	next := func() seen {
		select {
		case s := <-got:
			return s
		case <-ctx.Done():
			t.Fatal("no change seen")
		}
		return seen{}
	}
	var last int64
	for i := range 3 {
		name := fmt.Sprintf("sdk-watch.%d", i)
		m := newMutex(t, c, name)
		if err := m.TryLock(ctx); err != nil {
			t.Fatal(err)
		}
		if s := next(); s.name != name || s.status != octostore.LockStatusStatusHeld || s.rev <= last {
			t.Fatalf("after the grant: %+v", s)
		} else {
			last = s.rev
		}
		newMutex(t, c, "sdk-unwatched").TryLock(ctx) // outside the prefix: not seen
		if err := m.Unlock(ctx); err != nil {
			t.Fatal(err)
		}
		if s := next(); s.name != name || s.status != octostore.LockStatusStatusFree || s.rev <= last {
			t.Fatalf("after the release: %+v", s)
		} else {
			last = s.rev
		}
	}
	cancel()
	if err := <-watchErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("WatchPrefix returned %v", err)
	}
}

// An acquire through a session the server has forgotten is the first to hear it: the
// acquire fails with ErrLost and the server's session_not_found, and the session is lost
// at once (Done closed), not only when its next renewal would find out.
func TestAcquireThroughAForgottenSessionLosesTheSession(t *testing.T) {
	c := sharedClient(t)
	ctx := ctxFor(t, 30*time.Second)
	s := newSession(t, c, 60*time.Second) // the first renewal is 20 s away
	if res, err := c.DeleteSessionWithResponse(ctx, s.ID()); err != nil || res.StatusCode() != 204 {
		t.Fatalf("delete behind the helper's back: %v %v", err, res)
	}
	m, err := s.Mutex("sdk-session-forgotten")
	if err != nil {
		t.Fatal(err)
	}
	err = m.TryLock(ctx)
	if !errors.Is(err, octostore.ErrLost) || !octostore.HasCode(err, octostore.ProblemCodeSessionNotFound) {
		t.Fatalf("TryLock through a forgotten session: %v", err)
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("the session is not lost after the server said it does not know it")
	}
	if !errors.Is(s.Err(), octostore.ErrLost) || !octostore.HasCode(s.Err(), octostore.ProblemCodeSessionNotFound) {
		t.Fatalf("session error: %v", s.Err())
	}
	if err := m.TryLock(ctx); !errors.Is(err, octostore.ErrLost) {
		t.Fatalf("TryLock through the lost session: %v", err)
	}
}
