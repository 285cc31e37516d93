package octostore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"time"
)

// DefaultTTL is the lease length of a Mutex or an Election unless WithTTL says otherwise.
const DefaultTTL = 15 * time.Second

// Option configures a Mutex or an Election.
type Option func(*options)

type options struct {
	ttl      time.Duration
	owner    string
	metadata *string
}

// WithTTL sets the lease length (whole seconds, 1 s to 1 h; default 15 s). The lease is
// renewed in the background, so the TTL is how long the lock outlives a crashed holder.
func WithTTL(d time.Duration) Option { return func(o *options) { o.ttl = d } }

// WithOwner sets the holder name sent as `owner` (printable ASCII, no spaces, at most 128
// bytes). Two helpers with the same token and owner are the same holder to the server
// and would both "hold" the lock, so the default is unique to each helper: the host name,
// the process id and a random suffix.
func WithOwner(owner string) Option { return func(o *options) { o.owner = owner } }

// WithMetadata sets the metadata a Mutex stores with its lease (at most 1024 bytes),
// shown to everyone in the account. An Election stores its Campaign value instead.
func WithMetadata(v string) Option { return func(o *options) { o.metadata = &v } }

func newOptions(opts []Option) (options, error) {
	o := options{ttl: DefaultTTL}
	for _, f := range opts {
		f(&o)
	}
	if o.ttl < time.Second || o.ttl > time.Hour || o.ttl%time.Second != 0 {
		return o, fmt.Errorf("octostore: TTL %v: want whole seconds from 1s to 1h", o.ttl)
	}
	if o.owner == "" {
		o.owner = defaultOwner()
	}
	return o, nil
}

func defaultOwner() string {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r > 0x20 && r < 0x7f {
			return r
		}
		return -1
	}, host)
	if len(host) > 64 {
		host = host[:64]
	}
	var b [4]byte
	rand.Read(b[:])
	if host == "" {
		host = "octostore"
	}
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// holder acquires one lock name and keeps the lease alive; Mutex and Election are thin
// layers over it.
type holder struct {
	c    *ClientWithResponses
	name string
	opts options

	acq  sync.Mutex // one acquire at a time
	mu   sync.Mutex // guards held, never held across a request
	held *keeper    // nil when not held
}

// acquire takes the lock: once (wait false) or waiting in line until ctx ends.
func (h *holder) acquire(ctx context.Context, metadata *string, wait bool) error {
	h.acq.Lock()
	defer h.acq.Unlock()
	// Already held: done, or a re-acquire that updates the metadata and returns the same
	// lease.
	if k := h.current(); k != nil && !k.lost() && metadata == nil {
		return nil
	}
	for {
		waitSeconds := int32(0)
		if wait {
			waitSeconds = 60
			if dl, ok := ctx.Deadline(); ok {
				waitSeconds = int32(min(60, math.Floor(time.Until(dl).Seconds())))
				waitSeconds = max(waitSeconds, 0)
			}
		}
		sent := time.Now()
		ttl := int32(h.opts.ttl / time.Second)
		res, err := h.c.AcquireLockWithResponse(ctx, h.name, AcquireRequest{
			TtlSeconds: ttl, Owner: &h.opts.owner, WaitSeconds: &waitSeconds, Metadata: metadata,
		})
		if err == nil && res.JSON200 == nil {
			err = problemFrom(res.HTTPResponse, res.Body)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if d, ok := retryable(err); ok && wait {
				if err := sleep(ctx, d); err != nil {
					return err
				}
				continue
			}
			return err
		}
		r := res.JSON200
		if r.Status == AcquireResultStatusAcquired && r.LeaseId != nil && r.FencingToken != nil && r.RenewAfterMs != nil {
			if k := h.current(); k != nil && k.id == *r.LeaseId {
				return nil // the same lease, its metadata updated
			}
			// The server's deadline is at least the time it answered plus three renewal
			// intervals, and it answered after the request was sent.
			remaining := 3 * time.Duration(*r.RenewAfterMs) * time.Millisecond
			k := newKeeper(h.c, h.name, *r.LeaseId, *r.FencingToken, h.opts.ttl, sent.Add(remaining))
			if time.Since(sent) > h.opts.ttl/3 {
				// A long wait leaves the estimate short: renew now to know the real one.
				// The lease has about `remaining` left from now.
				if err := k.renewOnce(ctx, time.Now().Add(remaining)); errors.Is(err, ErrLost) {
					return err
				}
			}
			k.start()
			h.mu.Lock()
			h.held = k
			h.mu.Unlock()
			return nil
		}
		if !wait {
			holder := ""
			if r.HolderId != nil {
				holder = *r.HolderId
			}
			return fmt.Errorf("%w (holder %s)", ErrLocked, holder)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if waitSeconds == 0 {
			// Less than a second left: wait out the server's hint or the context.
			retry := time.Second
			if r.RetryAfterMs != nil {
				retry = time.Duration(*r.RetryAfterMs) * time.Millisecond
			}
			if err := sleep(ctx, max(retry, 10*time.Millisecond)); err != nil {
				return err
			}
		}
	}
}

// release ends the lease; the lock is free (or handed to the next waiter) at once.
func (h *holder) release(ctx context.Context) error {
	h.mu.Lock()
	k := h.held
	h.held = nil
	h.mu.Unlock()
	if k == nil {
		return ErrNotHeld
	}
	lost := k.lost()
	k.stop()
	if lost {
		return fmt.Errorf("%w: %w", ErrNotHeld, k.err())
	}
	res, err := h.c.ReleaseLockWithResponse(ctx, h.name, ReleaseRequest{LeaseId: k.id})
	if err == nil && res.JSON200 == nil {
		err = problemFrom(res.HTTPResponse, res.Body)
	}
	if HasCode(err, ProblemCodeLeaseNotCurrent) {
		return fmt.Errorf("%w: %w", ErrNotHeld, ErrLost)
	}
	return err
}

func (h *holder) current() *keeper {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.held
}

// done is closed when the current lease ends; a closed channel when none is held.
func (h *holder) done() <-chan struct{} {
	if k := h.current(); k != nil {
		return k.done
	}
	return closedChan
}

var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// keeper renews one lease in the background until it is released or lost.
type keeper struct {
	c     *ClientWithResponses
	name  string
	id    LeaseID
	token int64
	ttl   time.Duration

	done    chan struct{} // closed when the lease ends (lost or released)
	stopped chan struct{} // closed when the renewal goroutine has returned
	cancel  context.CancelFunc
	ctx     context.Context

	mu         sync.Mutex
	deadline   time.Time // local estimate, never later than the server's
	renewAfter time.Duration
	why        error
	running    bool
}

func newKeeper(c *ClientWithResponses, name string, id LeaseID, token int64, ttl time.Duration, deadline time.Time) *keeper {
	ctx, cancel := context.WithCancel(context.Background())
	return &keeper{
		c: c, name: name, id: id, token: token, ttl: ttl,
		done: make(chan struct{}), stopped: make(chan struct{}),
		ctx: ctx, cancel: cancel,
		deadline: deadline, renewAfter: time.Until(deadline) / 3,
	}
}

func (k *keeper) start() {
	k.mu.Lock()
	k.running = true
	k.mu.Unlock()
	go k.run()
}

// stop ends the renewals and waits for them; the lease counts as ended.
func (k *keeper) stop() {
	k.cancel()
	k.mu.Lock()
	running := k.running
	k.mu.Unlock()
	if running {
		<-k.stopped
	}
	k.end(nil)
}

// end closes done once, recording why.
func (k *keeper) end(why error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	select {
	case <-k.done:
	default:
		k.why = why
		close(k.done)
	}
}

func (k *keeper) lost() bool {
	select {
	case <-k.done:
		return true
	default:
		return false
	}
}

func (k *keeper) err() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.why
}

// renewOnce renews the lease and moves the local deadline. The request gives up at
// deadline, when the lease would be over anyway.
func (k *keeper) renewOnce(ctx context.Context, deadline time.Time) error {
	if !time.Now().Before(deadline) {
		return ErrLost
	}
	rctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	sent := time.Now()
	res, err := k.c.RenewLockWithResponse(rctx, k.name, RenewRequest{LeaseId: k.id, TtlSeconds: int32(k.ttl / time.Second)})
	if err == nil && res.JSON200 == nil {
		err = problemFrom(res.HTTPResponse, res.Body)
	}
	if err != nil {
		if HasCode(err, ProblemCodeLeaseNotCurrent) {
			return ErrLost
		}
		return err
	}
	remaining := 3 * time.Duration(res.JSON200.RenewAfterMs) * time.Millisecond
	k.mu.Lock()
	k.deadline = sent.Add(remaining)
	k.renewAfter = max(time.Duration(res.JSON200.RenewAfterMs)*time.Millisecond, 10*time.Millisecond)
	k.mu.Unlock()
	return nil
}

// run renews at the server's renew_after_ms. A failed renewal is retried sooner; the
// lease is lost when the server no longer knows it or when the local deadline, which is
// never later than the server's, passes without a successful renewal.
func (k *keeper) run() {
	defer close(k.stopped)
	k.mu.Lock()
	next := max(k.renewAfter, 0)
	k.mu.Unlock()
	for {
		k.mu.Lock()
		deadline := k.deadline
		k.mu.Unlock()
		untilDeadline := time.Until(deadline)
		if untilDeadline <= 0 {
			k.end(ErrLost)
			return
		}
		t := time.NewTimer(min(next, untilDeadline))
		select {
		case <-k.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if !time.Now().Before(deadline) {
			k.end(ErrLost)
			return
		}
		err := k.renewOnce(k.ctx, deadline)
		switch {
		case k.ctx.Err() != nil:
			return
		case errors.Is(err, ErrLost):
			k.end(ErrLost)
			return
		case err != nil:
			// Try again soon, a few times before the deadline.
			next = max(min(time.Second, time.Until(deadline)/3), 10*time.Millisecond)
			if d, ok := retryable(err); ok {
				next = min(d, next)
			}
		default:
			k.mu.Lock()
			next = k.renewAfter
			k.mu.Unlock()
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
