package octostore_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	octostore "github.com/octostore/octostore/sdk/go"
)

func client(t *testing.T, url, token string) *octostore.ClientWithResponses {
	t.Helper()
	c, err := octostore.New(url, token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sharedClient(t *testing.T) *octostore.ClientWithResponses {
	return client(t, os.Getenv("OCTOSTORE_URL"), os.Getenv("OCTOSTORE_TOKEN"))
}

func newMutex(t *testing.T, c *octostore.ClientWithResponses, name string, opts ...octostore.Option) *octostore.Mutex {
	t.Helper()
	m, err := octostore.NewMutex(c, name, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestMutexIsExclusiveAndHandsOffInOrder(t *testing.T) {
	c := sharedClient(t)
	ctx := ctxFor(t, 30*time.Second)
	first := newMutex(t, c, "sdk-exclusive")
	if err := first.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if first.Token() <= 0 {
		t.Fatalf("token %d", first.Token())
	}
	second := newMutex(t, c, "sdk-exclusive")
	if err := second.TryLock(ctx); !errors.Is(err, octostore.ErrLocked) {
		t.Fatalf("TryLock of a held lock: %v", err)
	}
	got := make(chan error, 1)
	go func() { got <- second.Lock(ctx) }()
	select {
	case err := <-got:
		t.Fatalf("second Lock returned while the first holds it: %v", err)
	default:
	}
	done := first.Done()
	if err := first.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	<-done // closed by Unlock
	if first.Err() != nil || first.Token() != 0 {
		t.Fatalf("after Unlock: err %v token %d", first.Err(), first.Token())
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if second.Token() <= 0 || second.Token() <= first.Token() {
		t.Fatalf("second token %d", second.Token())
	}
	if err := second.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := second.Unlock(ctx); !errors.Is(err, octostore.ErrNotHeld) {
		t.Fatalf("second Unlock: %v", err)
	}
}

func TestManyContendersNeverOverlap(t *testing.T) {
	c := sharedClient(t)
	ctx := ctxFor(t, 60*time.Second)
	var (
		mu      sync.Mutex
		inside  int
		tokens  []int64
		wg      sync.WaitGroup
		failure = make(chan error, 8)
	)
	for i := 0; i < 4; i++ {
		m := newMutex(t, c, "sdk-contended")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 3; j++ {
				if err := m.Lock(ctx); err != nil {
					failure <- err
					return
				}
				mu.Lock()
				inside++
				if inside != 1 {
					failure <- errors.New("two holders at once")
				}
				tokens = append(tokens, m.Token())
				inside--
				mu.Unlock()
				if err := m.Unlock(ctx); err != nil {
					failure <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(failure)
	for err := range failure {
		t.Fatal(err)
	}
	for i := 1; i < len(tokens); i++ {
		if tokens[i] <= tokens[i-1] {
			t.Fatalf("tokens out of order: %v", tokens)
		}
	}
	if len(tokens) != 12 {
		t.Fatalf("%d grants", len(tokens))
	}
}

func TestMutexRenewsInTheBackground(t *testing.T) {
	c := sharedClient(t)
	ctx := ctxFor(t, 30*time.Second)
	m := newMutex(t, c, "sdk-renew", octostore.WithTTL(time.Second))
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Unlock(ctx)
	status := func() *octostore.LockStatus {
		res, err := c.GetLockWithResponse(ctx, "sdk-renew", nil)
		if err != nil || res.JSON200 == nil {
			t.Fatalf("status: %v", err)
		}
		return res.JSON200
	}
	start := status()
	// Poll until the lease has been renewed well past its first 1-second TTL.
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := status()
		if st.FencingToken == nil || *st.FencingToken != m.Token() {
			t.Fatalf("lost the lock: %+v", st)
		}
		if st.ExpiresAt.Sub(*start.ExpiresAt) > 2*time.Second {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no renewal")
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case <-m.Done():
		t.Fatalf("Done closed while held: %v", m.Err())
	default:
	}
}

func TestDoneIsClosedWhenTheServerIsGone(t *testing.T) {
	srv := startTestServer(t)
	c := client(t, srv.url, srv.token)
	ctx := ctxFor(t, 30*time.Second)
	m := newMutex(t, c, "sdk-lost", octostore.WithTTL(time.Second))
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	srv.kill()
	select {
	case <-m.Done():
	case <-ctx.Done():
		t.Fatal("Done not closed")
	}
	if !errors.Is(m.Err(), octostore.ErrLost) {
		t.Fatalf("Err %v", m.Err())
	}
	if err := m.Unlock(ctx); !errors.Is(err, octostore.ErrNotHeld) {
		t.Fatalf("Unlock of a lost lock: %v", err)
	}
}

func TestLockGivesUpWhenTheContextEnds(t *testing.T) {
	c := sharedClient(t)
	ctx := ctxFor(t, 30*time.Second)
	holder := newMutex(t, c, "sdk-give-up")
	if err := holder.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	waiter := newMutex(t, c, "sdk-give-up")
	if err := waiter.Lock(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock past its deadline: %v", err)
	}
	// The waiter left the line: a release frees the lock instead of handing it over.
	if err := holder.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := c.GetLockWithResponse(ctx, "sdk-give-up", nil)
	if err != nil || res.JSON200 == nil || res.JSON200.Status != octostore.LockStatusStatusFree {
		t.Fatalf("after the release: %+v %v", res.JSON200, err)
	}
}

func TestElectionCampaignObserveProclaimResign(t *testing.T) {
	c := sharedClient(t)
	ctx := ctxFor(t, 30*time.Second)
	newElection := func() *octostore.Election {
		e, err := octostore.NewElection(c, "sdk-election")
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	a, b, watcher := newElection(), newElection(), newElection()
	if _, err := watcher.Leader(ctx); !errors.Is(err, octostore.ErrNoLeader) {
		t.Fatalf("Leader before any campaign: %v", err)
	}
	observed := watcher.Observe(ctx)
	next := func() octostore.Leader {
		t.Helper()
		select {
		case l := <-observed:
			return l
		case <-ctx.Done():
			t.Fatal("nothing observed")
		}
		return octostore.Leader{}
	}
	if err := a.Campaign(ctx, "10.0.0.1:80"); err != nil {
		t.Fatal(err)
	}
	if l := next(); l.Value != "10.0.0.1:80" || l.FencingToken != a.Token() {
		t.Fatalf("observed %+v", l)
	}
	won := make(chan error, 1)
	go func() { won <- b.Campaign(ctx, "10.0.0.2:80") }()
	if err := a.Proclaim(ctx, "10.0.0.1:81"); err != nil {
		t.Fatal(err)
	}
	if l := next(); l.Value != "10.0.0.1:81" || l.FencingToken != a.Token() {
		t.Fatalf("after Proclaim: %+v", l)
	}
	if err := b.Proclaim(ctx, "x"); !errors.Is(err, octostore.ErrNotHeld) {
		t.Fatalf("Proclaim by a candidate: %v", err)
	}
	if err := a.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-won; err != nil {
		t.Fatal(err)
	}
	l := next()
	if l.Value != "10.0.0.2:80" || l.FencingToken != b.Token() || l.FencingToken <= a.Token() {
		t.Fatalf("after Resign: %+v", l)
	}
	if cur, err := watcher.Leader(ctx); err != nil || cur.FencingToken != l.FencingToken || cur.Value != l.Value {
		t.Fatalf("Leader %+v %v", cur, err)
	}
	select {
	case <-a.Done():
	default:
		t.Fatal("resigned candidate's Done still open")
	}
	b.Resign(ctx)
}

func TestOptionsAreChecked(t *testing.T) {
	c := sharedClient(t)
	for _, ttl := range []time.Duration{500 * time.Millisecond, 1500 * time.Millisecond, -time.Millisecond} {
		if _, err := octostore.NewMutex(c, "x", octostore.WithTTL(ttl)); err == nil {
			t.Fatalf("TTL %v accepted", ttl)
		}
	}
	// The range is the server's to check, as in every SDK: invalid_ttl, nothing taken.
	ctx := ctxFor(t, 30*time.Second)
	for _, ttl := range []time.Duration{0, 2 * time.Hour} {
		m := newMutex(t, c, "sdk-bad-ttl", octostore.WithTTL(ttl))
		if err := m.TryLock(ctx); !octostore.HasCode(err, octostore.ProblemCodeInvalidTtl) {
			t.Fatalf("TryLock with TTL %v: %v", ttl, err)
		}
		if _, ok := m.Lease(); ok || m.Token() != 0 {
			t.Fatalf("TTL %v: a lease was recorded", ttl)
		}
	}
	m1, m2 := newMutex(t, c, "x"), newMutex(t, c, "x")
	if m1.Owner() == m2.Owner() {
		t.Fatal("two mutexes share an owner: they would both hold the lock")
	}
	if m := newMutex(t, c, "x", octostore.WithOwner("w"), octostore.WithoutOwner()); m.Owner() != "" {
		t.Fatalf("WithoutOwner: owner %q", m.Owner())
	}
}

// failingDoer fails the first request whose path ends with suffix, as a network would.
type failingDoer struct {
	suffix string
	failed atomic.Bool
}

func (d *failingDoer) Do(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, d.suffix) && d.failed.CompareAndSwap(false, true) {
		return nil, errors.New("connection reset (test)")
	}
	return http.DefaultClient.Do(req)
}

func TestUnlockCanBeRetriedAfterAFailedRelease(t *testing.T) {
	doer := &failingDoer{suffix: "/release"}
	c, err := octostore.New(os.Getenv("OCTOSTORE_URL"), os.Getenv("OCTOSTORE_TOKEN"), octostore.WithHTTPClient(doer))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, 30*time.Second)
	m := newMutex(t, c, "sdk-unlock-retry")
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Unlock(ctx); err == nil || errors.Is(err, octostore.ErrNotHeld) {
		t.Fatalf("Unlock through a failing network: %v", err)
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatalf("retried Unlock: %v", err)
	}
	res, err := c.GetLockWithResponse(ctx, "sdk-unlock-retry", nil)
	if err != nil || res.JSON200 == nil || res.JSON200.Status != octostore.LockStatusStatusFree {
		t.Fatalf("after the retried Unlock: %+v %v", res.JSON200, err)
	}
	// The server says so when there is nothing left to release.
	err = m.Unlock(ctx)
	if !errors.Is(err, octostore.ErrNotHeld) || !octostore.HasCode(err, octostore.ProblemCodeLeaseNotCurrent) {
		t.Fatalf("third Unlock: %v", err)
	}
}

func TestWithoutAutoRenewTheLeaseRunsOut(t *testing.T) {
	c := sharedClient(t)
	ctx := ctxFor(t, 30*time.Second)
	m := newMutex(t, c, "sdk-manual", octostore.WithTTL(time.Second), octostore.WithoutAutoRenew())
	if err := m.TryLock(ctx); err != nil {
		t.Fatal(err)
	}
	first, ok := m.Lease()
	if !ok || first.FencingToken != m.Token() || first.ExpiresAt.IsZero() {
		t.Fatalf("Lease %+v %v", first, ok)
	}
	renewed, err := m.Renew(ctx, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if renewed.ID != first.ID || !renewed.ExpiresAt.After(first.ExpiresAt) {
		t.Fatalf("Renew: %+v after %+v", renewed, first)
	}
	select {
	case <-m.Done():
	case <-ctx.Done():
		t.Fatal("Done not closed although nothing renews the lease")
	}
	if !errors.Is(m.Err(), octostore.ErrLost) {
		t.Fatalf("Err %v", m.Err())
	}
	// The helper's estimate is never later than the server's expiry; once the server has
	// expired the lease too, a Renew is refused with lease_not_current.
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := c.GetLockWithResponse(ctx, "sdk-manual", nil)
		if err != nil || res.JSON200 == nil {
			t.Fatalf("status: %v", err)
		}
		if res.JSON200.Status == octostore.LockStatusStatusFree {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server never expired the lease: %+v", res.JSON200)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := m.Renew(ctx, 30*time.Second); !octostore.HasCode(err, octostore.ProblemCodeLeaseNotCurrent) || !errors.Is(err, octostore.ErrLost) {
		t.Fatalf("Renew of an expired lease: %v", err)
	}
	if err := m.Unlock(ctx); !errors.Is(err, octostore.ErrNotHeld) || !octostore.HasCode(err, octostore.ProblemCodeLeaseNotCurrent) {
		t.Fatalf("Unlock of the refused lease: %v", err)
	}
}

// A lease the helper gave up although the server still has it (here: a release that
// failed on the way) is held again when a Renew succeeds.
func TestRenewHoldsAgainWhatTheServerStillHas(t *testing.T) {
	doer := &failingDoer{suffix: "/release"}
	c, err := octostore.New(os.Getenv("OCTOSTORE_URL"), os.Getenv("OCTOSTORE_TOKEN"), octostore.WithHTTPClient(doer))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, 30*time.Second)
	m := newMutex(t, c, "sdk-revive", octostore.WithTTL(5*time.Second))
	if err := m.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	token := m.Token()
	if err := m.Unlock(ctx); err == nil {
		t.Fatal("Unlock through a failing network succeeded")
	}
	if m.Token() != 0 {
		t.Fatal("still held after Unlock")
	}
	l, err := m.Renew(ctx, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if l.FencingToken != token || m.Token() != token {
		t.Fatalf("Renew: %+v, Token %d, want token %d", l, m.Token(), token)
	}
	select {
	case <-m.Done():
		t.Fatalf("Done closed after the lease was held again: %v", m.Err())
	default:
	}
	if err := m.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
}
