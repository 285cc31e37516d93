package octostore

import (
	"context"
	"fmt"
	"time"
)

// Semaphore is a lock that up to N distinct holders hold at once (Consul's semaphore,
// the CLI's `run --max-holders N`), each with a lease and fencing token of its own. It
// behaves like a Mutex otherwise: Acquire waits in the lock's line, the lease is renewed
// in the background, Done is closed when it ends. Every holder of a name must use the
// same N (the server refuses another with max_holders_mismatch).
type Semaphore struct {
	h holder
	n int
}

// NewSemaphore returns a Semaphore of n holders (1 to 64) on the lock name.
func NewSemaphore(c *ClientWithResponses, name string, n int, opts ...Option) (*Semaphore, error) {
	if n < 1 || n > 64 {
		return nil, fmt.Errorf("octostore: semaphore of %d holders: want 1 to 64", n)
	}
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	o.maxHolders = int32(n)
	return &Semaphore{h: holder{c: c, name: name, opts: o}, n: n}, nil
}

// Acquire blocks until one of the N places is granted or ctx ends.
func (s *Semaphore) Acquire(ctx context.Context) error {
	return s.h.acquire(ctx, s.h.opts.metadata, true)
}

// TryAcquire takes a place if one is free and returns a *LockedError (errors.Is(err,
// ErrLocked)) when all N are taken.
func (s *Semaphore) TryAcquire(ctx context.Context) error {
	return s.h.acquire(ctx, s.h.opts.metadata, false)
}

// Release gives the place back; the next waiter gets it at once. Errors as Mutex.Unlock.
func (s *Semaphore) Release(ctx context.Context) error { return s.h.release(ctx) }

// Renew renews this holder's lease now for ttl, as Mutex.Renew does.
func (s *Semaphore) Renew(ctx context.Context, ttl time.Duration) (Lease, error) {
	return s.h.renew(ctx, ttl)
}

// Token returns the fencing token of this holder's lease, or 0 when it holds no place.
func (s *Semaphore) Token() int64 {
	if k := s.h.current(); k != nil {
		return k.token
	}
	return 0
}

// Done returns a channel closed when this holder's lease ends.
func (s *Semaphore) Done() <-chan struct{} { return s.h.done() }

// Err returns an error wrapping ErrLost once the lease was lost, else nil.
func (s *Semaphore) Err() error {
	if k := s.h.current(); k != nil {
		return k.err()
	}
	return nil
}

// Lease returns the lease last granted, and false when none was.
func (s *Semaphore) Lease() (Lease, bool) { return s.h.lease() }

// Name returns the lock name; N the number of holders.
func (s *Semaphore) Name() string { return s.h.name }

// N returns how many holders the semaphore admits.
func (s *Semaphore) N() int { return s.n }
