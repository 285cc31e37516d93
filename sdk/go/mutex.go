package octostore

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Mutex is a distributed lock on one lock name, modelled on etcd's concurrency.Mutex.
// Lock waits in the server's first-come-first-served line (wait_seconds), so a release
// hands the lock straight to the next waiter. While it is held, a goroutine renews the
// lease every renew_after_ms; Done is closed when the lease ends.
//
// A lease is not a mutex. A holder can stall (GC, swap, a paused VM) past its TTL, or lose
// its network, and keep running while the server gives the lock to someone else; Done
// tells it so only when it next runs. Pass Token, the fencing token, with every write to
// the resource you protect, and have the resource refuse a token smaller than the
// largest it has seen.
//
// A Mutex is safe for concurrent use, but it is one holder: two goroutines locking the
// same Mutex share the lock. Use one Mutex per contender.
type Mutex struct {
	h holder
}

// NewMutex returns a Mutex for the lock name in the account of c's token.
func NewMutex(c *ClientWithResponses, name string, opts ...Option) (*Mutex, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	return &Mutex{h: holder{c: c, name: name, opts: o}}, nil
}

// Lock blocks until the lock is granted or ctx ends (then it returns ctx's error and is
// not in line any more). It waits out 429 and 503 answers and returns other failures,
// such as an unreachable server. Locking a Mutex that holds its lock returns at once.
func (m *Mutex) Lock(ctx context.Context) error { return m.h.acquire(ctx, m.h.opts.metadata, true) }

// TryLock takes the lock if it is free and returns a *LockedError (errors.Is(err,
// ErrLocked)) if someone else holds it.
func (m *Mutex) TryLock(ctx context.Context) error {
	return m.h.acquire(ctx, m.h.opts.metadata, false)
}

// Unlock stops the renewals and releases the lease; the next waiter gets the lock at
// once. It returns an error wrapping ErrNotHeld when the lock was not held: never
// locked, or lost (wrapping ErrLost, and the server's *ProblemError when the server
// refused the lease). Unlock after Unlock asks the server again, so an Unlock whose
// release failed on the way (say, the network) can be retried; when the first one had
// gone through, the error wraps ErrNotHeld and the server's lease_not_current.
func (m *Mutex) Unlock(ctx context.Context) error { return m.h.release(ctx) }

// Do runs fn while holding the lock: it locks (waiting in line as Lock does), runs fn
// with a context that ends when the lease is lost or ctx ends, and unlocks. fn's own
// error always comes back (joined with an unlock failure, if any, for errors.Is and
// errors.As); when fn returns nil but the lease was lost while it ran, Do returns an
// error wrapping ErrLost, so a loss inside the block is never silent. To release on
// SIGTERM/SIGINT, pass a context from signal.NotifyContext: fn's context ends, and Do
// unlocks when fn returns.
func (m *Mutex) Do(ctx context.Context, fn func(ctx context.Context) error) error {
	if err := m.Lock(ctx); err != nil {
		return err
	}
	done := m.Done()
	fctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-done:
			cancel()
		case <-fctx.Done():
		}
	}()
	ferr := fn(fctx)
	cancel()
	lost := m.Err()
	uctx, ucancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultRequestTimeout)
	defer ucancel()
	uerr := m.Unlock(uctx)
	switch {
	case ferr != nil && uerr != nil:
		return errors.Join(ferr, uerr)
	case ferr != nil:
		return ferr
	case errors.Is(lost, ErrLost):
		// ErrLost alone, the server's refusal as text: the block's outcome is the loss.
		return fmt.Errorf("%w: lock %q was lost while the block ran (%v)", ErrLost, m.h.name, lost)
	case errors.Is(uerr, ErrLost):
		return fmt.Errorf("%w: lock %q was lost while the block ran (%v)", ErrLost, m.h.name, uerr)
	}
	return nil
}

// Renew renews the lease this Mutex was last granted now, for ttl (whole seconds; the
// server accepts 1 s to 1 h), and returns it as the server reports it. A renewal never
// moves the expiry earlier, and the background renewals keep to the Mutex's TTL; with
// WithoutAutoRenew, Renew is how the lease is kept. Renew asks the server even when the
// helper counts the lease as lost or released, and the server decides: a lease it no
// longer has gets an error wrapping ErrLost and its *ProblemError (lease_not_current),
// and Done is closed; a lease it still has (the helper's estimate ran out early, or a
// release failed on the way) is renewed and held again, with a new Done. Renew returns
// ErrNotHeld when the Mutex was never granted a lease.
func (m *Mutex) Renew(ctx context.Context, ttl time.Duration) (Lease, error) {
	return m.h.renew(ctx, ttl)
}

// Lease returns the lease this Mutex was last granted, as of its latest renewal, and
// false when it was never granted one. It stays readable after Unlock and after a loss.
func (m *Mutex) Lease() (Lease, bool) { return m.h.lease() }

// Token returns the fencing token of the current lease, or 0 when the lock is not held.
func (m *Mutex) Token() int64 {
	if k := m.h.current(); k != nil {
		return k.token
	}
	return 0
}

// Done returns a channel closed when the current lease ends: lost (Err says why) or
// released by Unlock. It is closed already when the lock is not held.
func (m *Mutex) Done() <-chan struct{} { return m.h.done() }

// Err returns an error wrapping ErrLost once the current lease was lost (and the
// server's *ProblemError when the server refused it), and nil while it is held or after
// Unlock.
func (m *Mutex) Err() error {
	if k := m.h.current(); k != nil {
		return k.err()
	}
	return nil
}

// Name returns the lock name.
func (m *Mutex) Name() string { return m.h.name }

// Owner returns the owner this Mutex sends, part of its holder_id ("" with WithoutOwner).
func (m *Mutex) Owner() string { return m.h.opts.owner }
