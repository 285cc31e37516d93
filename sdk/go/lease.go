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
	noOwner  bool
	metadata *string
	manual   bool
	// Set by Semaphore, Session and WithLockDelay: the acquire's max_holders (0: a plain
	// lock), session and lock_delay_seconds.
	maxHolders int32
	session    *Session
	lockDelay  int32
}

// WithLockDelay sets the lock's lock-delay (whole seconds, 0 to 60 s): when the lease
// expires, or its session dies, nobody is granted the lock for that long, so that a
// holder that lost it without noticing has time to stop. A release never starts it.
func WithLockDelay(d time.Duration) Option {
	return func(o *options) { o.lockDelay = int32(d / time.Second) }
}

// WithTTL sets the lease length in whole seconds (default 15 s). The server accepts 1 s
// to 1 h and refuses other TTLs with invalid_ttl. The lease is renewed in the
// background, so the TTL is how long the lock outlives a crashed holder.
func WithTTL(d time.Duration) Option { return func(o *options) { o.ttl = d } }

// WithOwner sets the holder name sent as `owner` (printable ASCII, no spaces, at most 128
// bytes). Two helpers with the same token and owner are the same holder to the server
// and would both "hold" the lock, so the default is unique to each helper: the host name,
// the process id and a random suffix.
func WithOwner(owner string) Option { return func(o *options) { o.owner, o.noOwner = owner, false } }

// WithoutOwner sends no owner: the holder is the token itself and its holder_id is the
// token id, as with the octostore CLI and the other SDKs' defaults. Use it when each
// process has a token of its own. Helpers that share a token and send no owner are one
// holder: acquiring again returns the same lease, so a retried acquire is safe, but each
// of them "holds" the lock.
func WithoutOwner() Option { return func(o *options) { o.owner, o.noOwner = "", true } }

// WithoutAutoRenew turns the background renewals off: the lease ends at its expiry unless
// Renew extends it in time. Done is still closed when the lease runs out (by the helper's
// estimate, which is never later than the server's) or when the server refuses a Renew.
func WithoutAutoRenew() Option { return func(o *options) { o.manual = true } }

// WithMetadata sets the metadata a Mutex stores with its lease (at most 1024 characters),
// shown to everyone in the account. An Election stores its Campaign value instead.
func WithMetadata(v string) Option { return func(o *options) { o.metadata = &v } }

func newOptions(opts []Option) (options, error) {
	o := options{ttl: DefaultTTL}
	for _, f := range opts {
		f(&o)
	}
	if _, err := ttlSeconds(o.ttl); err != nil {
		return o, err
	}
	if o.owner == "" && !o.noOwner {
		o.owner = defaultOwner()
	}
	return o, nil
}

// ttlSeconds is d as the API's ttl_seconds. The range (1 s to 1 h) is the server's to
// check, so that every SDK reports a bad TTL alike (invalid_ttl); only a TTL the API
// cannot express is refused here.
func ttlSeconds(d time.Duration) (int32, error) {
	s := d / time.Second
	if d%time.Second != 0 || s != time.Duration(int32(s)) {
		return 0, fmt.Errorf("octostore: TTL %v: want whole seconds", d)
	}
	return int32(s), nil
}

// ownerParam is the owner to send, nil for none.
func (o *options) ownerParam() *string {
	if o.noOwner {
		return nil
	}
	return &o.owner
}

// Lease is one grant of a lock as the server last reported it: granted by Lock, TryLock
// or Campaign, and updated by every renewal.
type Lease struct {
	// ID identifies the grant; renewals and the release name it. Keep it out of logs.
	ID LeaseID
	// FencingToken is the grant's fencing token.
	FencingToken int64
	// ExpiresAt is when the server ends the lease unless it is renewed, as of the latest
	// grant or renewal.
	ExpiresAt time.Time
	// RenewAfter is the server's hint, with the latest grant or renewal, for when to
	// renew next.
	RenewAfter time.Duration
}

// NewOwner returns a fresh owner of the form every helper sends by default:
// "<host>-<pid>-<8 random hex digits>". Helpers made with WithOwner(NewOwner()) are one
// holder (an idempotent re-acquire returns the same lease); without WithOwner each
// helper draws its own.
func NewOwner() string { return defaultOwner() }

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
	mu   sync.Mutex // guards held and last, never held across a request
	held *keeper    // nil when not held
	last *keeper    // the lease last granted, kept after a release or a loss; nil before
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
	ttl, err := ttlSeconds(h.opts.ttl)
	if err != nil {
		return err
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
		req := AcquireRequest{TtlSeconds: &ttl, Owner: h.opts.ownerParam(), WaitSeconds: &waitSeconds, Metadata: metadata}
		if h.opts.maxHolders > 0 {
			req.MaxHolders = &h.opts.maxHolders
		}
		if h.opts.lockDelay > 0 {
			req.LockDelaySeconds = &h.opts.lockDelay
		}
		if s := h.opts.session; s != nil {
			if err := s.Err(); err != nil {
				return err
			}
			req.SessionId = &s.id
			req.TtlSeconds = nil // the session's TTL rules
		}
		res, err := h.c.AcquireLockWithResponse(ctx, h.name, req)
		if err == nil && res.JSON200 == nil {
			err = problemFrom(res.HTTPResponse, res.Body)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if s := h.opts.session; s != nil && HasCode(err, ProblemCodeSessionNotFound) {
				// The server no longer knows the session: it is lost now, not when its
				// next renewal finds out, and so is every lease bound to it.
				err = fmt.Errorf("%w: %w", ErrLost, err)
				s.end(err)
				return err
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
		if r.Status == AcquireResultStatusAcquired {
			if r.LeaseId == nil || r.FencingToken == nil || r.RenewAfterMs == nil {
				return errors.New("octostore: acquired answer without lease_id, fencing_token or renew_after_ms")
			}
			if k := h.current(); k != nil && k.id == *r.LeaseId {
				k.record(sent, r.ExpiresAt, *r.RenewAfterMs)
				return nil // the same lease, its metadata updated
			}
			// The server's deadline is at least the time it answered plus three renewal
			// intervals, and it answered after the request was sent.
			renewAfter := time.Duration(*r.RenewAfterMs) * time.Millisecond
			remaining := 3 * renewAfter
			k := newKeeper(h.c, h.name, *r.LeaseId, *r.FencingToken, h.opts.ttl, sent.Add(remaining))
			k.auto = !h.opts.manual
			if s := h.opts.session; s != nil {
				// The session keeps the lease alive; the lease ends when the session does.
				k.auto, k.session = false, s
			}
			k.expiresAt, k.renewAfter = r.ExpiresAt, renewAfter
			if time.Since(sent) > h.opts.ttl/3 && k.session == nil {
				// A long wait leaves the estimate short: renew now to know the real one.
				// The lease has about `remaining` left from now.
				if err := k.renewOnce(ctx, time.Now().Add(remaining)); errors.Is(err, ErrLost) {
					return err
				}
			}
			k.start()
			h.mu.Lock()
			h.held, h.last = k, k
			h.mu.Unlock()
			return nil
		}
		if r.RetryAfterMs == nil {
			return errors.New("octostore: held answer without retry_after_ms")
		}
		retry := time.Duration(*r.RetryAfterMs) * time.Millisecond
		if !wait {
			// No holder_id: the lock is kept by a lock-delay until AvailableAt.
			held := &LockedError{HolderID: r.HolderId.GetOrEmpty(), ExpiresAt: r.ExpiresAt, RetryAfter: retry}
			if r.AvailableAt != nil {
				held.AvailableAt = *r.AvailableAt
			}
			return held
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if waitSeconds == 0 {
			// Less than a second left: wait out the server's hint or the context.
			if err := sleep(ctx, max(retry, 10*time.Millisecond)); err != nil {
				return err
			}
		}
	}
}

// release ends the lease last granted; the lock is free (or handed to the next waiter)
// at once. A lease released before is released again: the server is asked, so a release
// that failed on the way can be retried.
func (h *holder) release(ctx context.Context) error {
	h.mu.Lock()
	k, held := h.held, h.held != nil
	h.held = nil
	if !held {
		k = h.last
	}
	h.mu.Unlock()
	if k == nil {
		return ErrNotHeld
	}
	k.stop()
	lost := k.err() // nil unless the lease was lost before
	// Ask the server even after a loss: the server decides, and a lease the helper gave
	// up on (its estimate ran out while the server stalled) may still be there to end.
	res, err := h.c.ReleaseLockWithResponse(ctx, h.name, ReleaseRequest{LeaseId: k.id})
	if err == nil && res.JSON200 == nil {
		err = problemFrom(res.HTTPResponse, res.Body)
	}
	switch {
	case HasCode(err, ProblemCodeLeaseNotCurrent) && (held || lost != nil):
		return fmt.Errorf("%w: %w: %w", ErrNotHeld, ErrLost, err)
	case HasCode(err, ProblemCodeLeaseNotCurrent):
		return fmt.Errorf("%w: %w", ErrNotHeld, err)
	case err != nil && lost != nil:
		return fmt.Errorf("%w: %w; releasing it failed too: %w", ErrNotHeld, lost, err)
	}
	return err
}

// renew renews the lease last granted for ttl, asking the server even when the lease is
// counted as lost or released.
func (h *holder) renew(ctx context.Context, ttl time.Duration) (Lease, error) {
	secs, err := ttlSeconds(ttl)
	if err != nil {
		return Lease{}, err
	}
	h.mu.Lock()
	k := h.last
	h.mu.Unlock()
	if k == nil {
		return Lease{}, ErrNotHeld
	}
	if err := k.renew(ctx, secs); err != nil {
		return Lease{}, err
	}
	if k.lost() {
		k = h.revive(k)
	}
	return k.lease(), nil
}

// revive holds again a lease that the helper had given up (its estimate ran out, or a
// release failed on the way) but that the server has just renewed: the server decides.
func (h *holder) revive(old *keeper) *keeper {
	l := old.lease()
	k := newKeeper(h.c, h.name, old.id, old.token, old.ttl, old.currentDeadline())
	k.auto, k.expiresAt, k.renewAfter = old.auto, l.ExpiresAt, l.RenewAfter
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last != old {
		return old // granted a newer lease meanwhile
	}
	k.start()
	h.held, h.last = k, k
	return k
}

// lease returns the lease last granted, false when there was none.
func (h *holder) lease() (Lease, bool) {
	h.mu.Lock()
	k := h.last
	h.mu.Unlock()
	if k == nil {
		return Lease{}, false
	}
	return k.lease(), true
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

// keeper renews one lease in the background until it is released or lost; with auto
// off it only watches the deadline, which explicit renewals move.
type keeper struct {
	c     *ClientWithResponses
	name  string
	id    LeaseID
	token int64
	ttl   time.Duration
	auto  bool // renew in the background
	// session, when set, keeps the lease alive: the lease has no deadline of its own and
	// ends when the session does.
	session *Session

	done    chan struct{} // closed when the lease ends (lost or released)
	stopped chan struct{} // closed when the goroutine has returned
	cancel  context.CancelFunc
	ctx     context.Context

	mu         sync.Mutex
	deadline   time.Time // local estimate, never later than the server's
	expiresAt  time.Time // the server's, as of the latest grant or renewal
	renewAfter time.Duration
	why        error
	running    bool
}

func newKeeper(c *ClientWithResponses, name string, id LeaseID, token int64, ttl time.Duration, deadline time.Time) *keeper {
	ctx, cancel := context.WithCancel(context.Background())
	return &keeper{
		c: c, name: name, id: id, token: token, ttl: ttl, auto: true,
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

// end closes done once, recording why (nil: released). A lease counted as lost by the
// local estimate alone takes the server's refusal, which comes later, as the better
// reason.
func (k *keeper) end(why error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	select {
	case <-k.done:
		if k.why == ErrLost && why != nil {
			k.why = why
		}
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

func (k *keeper) lease() Lease {
	k.mu.Lock()
	defer k.mu.Unlock()
	return Lease{ID: k.id, FencingToken: k.token, ExpiresAt: k.expiresAt, RenewAfter: k.renewAfter}
}

// record takes in a grant or renewal that the server answered after sent. The server
// never moves an expiry earlier, so neither do the estimates here.
func (k *keeper) record(sent, expiresAt time.Time, renewAfterMs int64) {
	renewAfter := time.Duration(renewAfterMs) * time.Millisecond
	k.mu.Lock()
	defer k.mu.Unlock()
	if d := sent.Add(3 * renewAfter); d.After(k.deadline) {
		k.deadline = d
	}
	if expiresAt.After(k.expiresAt) {
		k.expiresAt = expiresAt
	}
	k.renewAfter = renewAfter
}

// renew sends one renewal for ttl seconds and records the answer. When the server no
// longer knows the lease, the lease ends with an error wrapping ErrLost and the
// server's problem.
func (k *keeper) renew(ctx context.Context, ttl int32) error {
	sent := time.Now()
	res, err := k.c.RenewLockWithResponse(ctx, k.name, RenewRequest{LeaseId: k.id, TtlSeconds: ttl})
	if err == nil && res.JSON200 == nil {
		err = problemFrom(res.HTTPResponse, res.Body)
	}
	if HasCode(err, ProblemCodeLeaseNotCurrent) {
		err = fmt.Errorf("%w: %w", ErrLost, err)
		k.end(err)
		return err
	}
	if err != nil {
		return err
	}
	k.record(sent, res.JSON200.ExpiresAt, res.JSON200.RenewAfterMs)
	return nil
}

// renewOnce renews the lease for its TTL. The request gives up at deadline, when the
// lease would be over anyway.
func (k *keeper) renewOnce(ctx context.Context, deadline time.Time) error {
	if !time.Now().Before(deadline) {
		return ErrLost
	}
	rctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	return k.renew(rctx, int32(k.ttl/time.Second))
}

func (k *keeper) currentDeadline() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.deadline
}

// run renews at the server's renew_after_ms. A failed renewal is retried sooner; the
// lease is lost when the server no longer knows it or when the local deadline, which is
// never later than the server's, passes without a successful renewal.
func (k *keeper) run() {
	defer close(k.stopped)
	k.mu.Lock()
	next := max(k.renewAfter, 10*time.Millisecond)
	k.mu.Unlock()
	if k.session != nil {
		select {
		case <-k.ctx.Done():
		case <-k.done:
		case <-k.session.Done():
			k.end(fmt.Errorf("%w: its session ended: %w", ErrLost, k.session.Err()))
		}
		return
	}
	for {
		untilDeadline := time.Until(k.currentDeadline())
		if untilDeadline <= 0 {
			k.end(ErrLost)
			return
		}
		wait := untilDeadline
		if k.auto {
			wait = min(next, untilDeadline)
		}
		t := time.NewTimer(wait)
		select {
		case <-k.ctx.Done():
			t.Stop()
			return
		case <-k.done: // an explicit renewal was refused
			t.Stop()
			return
		case <-t.C:
		}
		if !k.auto {
			continue // an explicit renewal may have moved the deadline
		}
		deadline := k.currentDeadline()
		if !time.Now().Before(deadline) {
			k.end(ErrLost)
			return
		}
		err := k.renewOnce(k.ctx, deadline)
		switch {
		case k.ctx.Err() != nil:
			return
		case errors.Is(err, ErrLost):
			k.end(err)
			return
		case err != nil:
			// Try again soon, a few times before the deadline.
			next = max(min(time.Second, time.Until(deadline)/3), 10*time.Millisecond)
			if d, ok := retryable(err); ok {
				next = min(d, next)
			}
		default:
			k.mu.Lock()
			next = max(k.renewAfter, 10*time.Millisecond)
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

func deref[T any](p *T) T {
	var zero T
	if p != nil {
		zero = *p
	}
	return zero
}
