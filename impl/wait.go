package impl

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/octostore/octostore/impl/auth"
	"github.com/octostore/octostore/impl/lease"
)

// Blocking acquires and watches. The engine keeps each lock's line of waiters and hands
// a released or expired lock to the head of it inside one Apply; this file connects
// those grants to the HTTP requests that wait for them, and wakes watchers when a lock
// changes. Waiters and watchers live in memory only: they end with the process, and their
// clients retry.

// coordination is the server's state for waiting requests. Server.mu guards it, except
// the channels, which are safe to wait on without it.
type coordination struct {
	waiters  map[string]*waitEntry // by the waiter's pre-generated lease id
	watchers map[lease.Key]*watchSet
	armed    time.Duration // monotonic instant the sweeper sleeps until
	rearm    chan struct{} // tells the sweeper an earlier deadline exists
	drain    chan struct{} // closed when waiting requests must end (shutdown)
	once     sync.Once
	// revoked is closed, and replaced, whenever a token is revoked or an account
	// deleted: waiting requests then check that their token is still live.
	revoked chan struct{}
}

func (c *coordination) init() {
	c.waiters = make(map[string]*waitEntry)
	c.watchers = make(map[lease.Key]*watchSet)
	c.armed = math.MaxInt64
	c.rearm = make(chan struct{}, 1)
	c.drain = make(chan struct{})
	c.revoked = make(chan struct{})
}

// revocation returns the channel the next revocation closes.
func (s *Server) revocation() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.co.revoked
}

// announceRevocationLocked wakes every waiting request to check its token, after a
// token was revoked or an account deleted. s.mu is held.
func (s *Server) announceRevocationLocked() {
	close(s.co.revoked)
	s.co.revoked = make(chan struct{})
}

// refuseWaitersLocked takes the waiters of a revoked token out of their lines and answers
// them 401, in the same critical section as the revocation, so that no release can hand
// a lock to a token that is already dead. s.mu is held.
func (s *Server) refuseWaitersLocked(tokenID string) {
	for id, w := range s.co.waiters {
		if w.tokenID != tokenID {
			continue
		}
		if _, err := s.applyLocked(lease.CancelWait{Key: w.key, LeaseID: id}); err != nil && !errors.Is(err, lease.ErrNotCurrent) && !errors.Is(err, ErrClosed) {
			s.log.Error("leave a lock's line", "lock", w.key.Name, "err", err)
		}
		delete(s.co.waiters, id)
		w.res = lease.Handoff{Waiter: id, Err: auth.ErrUnauthorized}
		close(w.granted)
	}
}

// waitEntry is one waiter in the engine's line and the requests waiting on it: a holder
// that sends a second waiting acquire (a retry) joins its first one.
type waitEntry struct {
	key     lease.Key
	id      string
	tokenID string        // the waiting holder's token
	refs    int           // requests waiting on it
	granted chan struct{} // closed when the engine granted (or refused) the lock
	res     lease.Handoff // set before granted is closed
	rev     uint64        // the revision whose durability the grant needs
	claimed bool          // a request answered with the grant
}

// watchSet is the requests watching one lock; ch is closed when the lock changes.
type watchSet struct {
	ch   chan struct{}
	refs int
}

// Drain ends every blocking acquire and watch now, with the state they would have at the
// end of their wait, and makes later ones answer at once. Call it when shutdown starts,
// so long-polls do not hold it up (http.Server.RegisterOnShutdown). Run calls it too.
func (s *Server) Drain() {
	s.co.once.Do(func() { close(s.co.drain) })
}

func (s *Server) draining() bool {
	select {
	case <-s.co.drain:
		return true
	default:
		return false
	}
}

// dispatch delivers what an Apply did to the requests waiting for it: grants to their
// waiters, changes to watchers, an earlier deadline to the sweeper. s.mu is held.
func (s *Server) dispatch(res lease.Result) {
	for _, h := range res.Handoffs {
		w := s.co.waiters[h.Waiter]
		if w == nil {
			// Every waiter in the engine has a request behind it: a request leaves
			// s.co.waiters only together with a CancelWait, and the engine takes the
			// waiter out of the line before that command's expiries run, so this cannot
			// happen. Should it, nobody will ever see the lease: end it.
			s.log.Error("lock granted to a waiter nobody waits for; releasing it", "lock", h.Lease.Name)
			if h.Err == nil {
				s.applyLocked(lease.Release{Key: h.Lease.Key, LeaseID: h.Lease.ID})
			}
			continue
		}
		delete(s.co.waiters, h.Waiter)
		w.res, w.rev = h, res.Rev
		close(w.granted)
	}
	s.wakePrefixWatchers(res.Changes)
	if len(s.co.watchers) > 0 {
		for _, c := range res.Changes {
			if c.Kind == lease.ReserveToken {
				continue
			}
			if ws := s.co.watchers[c.Lease.Key]; ws != nil {
				close(ws.ch)
				delete(s.co.watchers, c.Lease.Key)
			}
		}
	}
	if d, ok := s.engine.NextDeadline(); ok && d < s.co.armed {
		s.co.armed = d
		select {
		case s.co.rearm <- struct{}{}:
		default:
		}
	}
}

// acquire runs an Acquire. With a wait, a lock held by someone else puts the caller in
// line until the engine grants it the lock, the wait ends (then the answer is Held), or
// the client goes away (then it leaves the line, and a grant that raced with that is
// released, since nobody saw it).
func (s *Server) acquire(ctx context.Context, cmd lease.Acquire, wait time.Duration) (lease.Result, error) {
	if wait <= 0 || s.draining() {
		return s.apply(ctx, cmd)
	}
	if err := s.waiters.enter(cmd.Key.Account); err != nil {
		return lease.Result{}, err
	}
	defer s.waiters.leave(cmd.Key.Account)
	// The wait starts before the caller is in line, so whoever sees it there knows its
	// end is scheduled.
	ended := make(chan struct{})
	stop := s.afterFunc(wait, func() { close(ended) })
	defer stop()
	// Taken before the caller is in line: a revocation after it closes this channel, one
	// before it makes the enqueue itself refuse the token.
	revoked := s.revocation()
	w, res, err := s.enqueue(ctx, cmd)
	if w == nil {
		return res, err
	}
	for {
		select {
		case <-w.granted:
			return s.claim(ctx, w)
		case <-ended:
		case <-s.co.drain:
		case <-ctx.Done():
			return s.leave(ctx, w)
		case <-revoked:
			revoked = s.revocation()
			if s.auth.Active(cmd.Holder.TokenID) {
				continue // another token was revoked
			}
			s.leave(ctx, w)
			return lease.Result{}, auth.ErrUnauthorized
		}
		return s.endWait(ctx, cmd, w)
	}
}

// enqueue runs cmd as a waiting acquire. When the caller is in line it returns the
// waiter; otherwise the (durable) result.
func (s *Server) enqueue(ctx context.Context, cmd lease.Acquire) (*waitEntry, lease.Result, error) {
	cmd.Wait = true
	s.mu.Lock()
	res, err := s.applyLocked(cmd)
	if err == nil && res.Outcome == lease.Queued {
		w := s.co.waiters[res.Waiting]
		if w == nil {
			w = &waitEntry{key: cmd.Key, id: res.Waiting, tokenID: cmd.Holder.TokenID, granted: make(chan struct{})}
			s.co.waiters[w.id] = w
		}
		w.refs++
		s.mu.Unlock()
		return w, res, nil
	}
	s.mu.Unlock()
	res, err = s.settle(ctx, res, err)
	return nil, res, err
}

// endWait answers a request whose wait is over: it leaves the line, unless the grant came
// first, and reports the lock as a plain acquire would.
func (s *Server) endWait(ctx context.Context, cmd lease.Acquire, w *waitEntry) (lease.Result, error) {
	s.mu.Lock()
	select {
	case <-w.granted:
		s.mu.Unlock()
		return s.claim(ctx, w)
	default:
	}
	s.dropLocked(w)
	cmd.Wait = false
	res, err := s.applyLocked(cmd)
	s.mu.Unlock()
	return s.settle(ctx, res, err)
}

// claim answers a request whose waiter was granted the lock, once the grant is durable.
func (s *Server) claim(ctx context.Context, w *waitEntry) (lease.Result, error) {
	if w.res.Err != nil {
		s.mu.Lock()
		w.refs--
		s.mu.Unlock()
		return lease.Result{Rev: w.rev}, w.res.Err
	}
	if err := s.commits.WaitDurable(ctx, w.rev); err != nil {
		s.abandon(ctx, w)
		return lease.Result{}, err
	}
	s.mu.Lock()
	w.claimed = true
	w.refs--
	s.mu.Unlock()
	return lease.Result{Outcome: lease.Acquired, Lease: w.res.Lease, Rev: w.rev}, nil
}

// leave is a waiting request whose client went away.
func (s *Server) leave(ctx context.Context, w *waitEntry) (lease.Result, error) {
	s.mu.Lock()
	select {
	case <-w.granted:
		s.mu.Unlock()
		if w.res.Err == nil {
			s.abandon(ctx, w)
		} else {
			s.mu.Lock()
			w.refs--
			s.mu.Unlock()
		}
	default:
		s.dropLocked(w)
		s.mu.Unlock()
	}
	return lease.Result{}, ctx.Err()
}

// abandon gives up a granted lease that this request cannot deliver. When no other
// request of the same holder delivered or can deliver it, nobody has seen the lease, so
// it is released at once instead of blocking the lock until its TTL.
func (s *Server) abandon(ctx context.Context, w *waitEntry) {
	s.mu.Lock()
	w.refs--
	orphan := w.refs == 0 && !w.claimed
	s.mu.Unlock()
	if !orphan {
		return
	}
	_, err := s.apply(context.WithoutCancel(ctx), lease.Release{Key: w.key, LeaseID: w.res.Lease.ID})
	if err != nil && !errors.Is(err, lease.ErrNotCurrent) && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrUnavailable) {
		s.log.Error("release of an undelivered grant", "lock", w.key.Name, "err", err)
	}
}

// dropLocked detaches a request from its waiter, which leaves the line when it was the
// last. s.mu is held and the waiter was not granted.
func (s *Server) dropLocked(w *waitEntry) {
	w.refs--
	if w.refs > 0 {
		return
	}
	delete(s.co.waiters, w.id)
	if _, err := s.applyLocked(lease.CancelWait{Key: w.key, LeaseID: w.id}); err != nil && !errors.Is(err, lease.ErrNotCurrent) && !errors.Is(err, ErrClosed) {
		s.log.Error("leave a lock's line", "lock", w.key.Name, "err", err)
	}
}

// lockState is a lock as status and watch report it.
type lockState struct {
	lease    lease.Lease
	held     bool
	revision int64
	full     lease.Status // every holder and lock-delay
}

// status reports lock k. With an index it first waits, up to wait, for the lock's
// revision to pass index: watchers are woken by every change to the lock and look again,
// and the state they report is durable like every read's.
func (s *Server) status(ctx context.Context, k lease.Key, index *int64, wait time.Duration) (lockState, error) {
	var ended chan struct{}
	if index != nil && wait > 0 && !s.draining() {
		if err := s.waiters.enter(k.Account); err != nil {
			return lockState{}, err
		}
		defer s.waiters.leave(k.Account)
		ended = make(chan struct{})
		stop := s.afterFunc(wait, func() { close(ended) })
		defer stop()
	}
	tokenID := principal(ctx).TokenID
	for {
		s.mu.Lock()
		revoked := s.co.revoked
		if ended != nil && !s.auth.Active(tokenID) {
			// The watcher's token was revoked or its account deleted while it waited.
			s.mu.Unlock()
			return lockState{}, auth.ErrUnauthorized
		}
		if err := s.sweepLocked(lease.Sweep{Key: &k}); err != nil {
			s.mu.Unlock()
			return lockState{}, err
		}
		var st lockState
		var dep uint64
		st.lease, st.held, dep = s.engine.Get(k)
		st.revision = s.engine.Revision(k)
		st.full, _ = s.engine.Status(k)
		if index == nil || st.revision > *index || wait <= 0 || closed(ended) || s.draining() {
			s.mu.Unlock()
			return st, s.durableRead(ctx, dep)
		}
		ws := s.co.watchers[k]
		if ws == nil {
			ws = &watchSet{ch: make(chan struct{})}
			s.co.watchers[k] = ws
		}
		ws.refs++
		s.mu.Unlock()
		var err error
		select {
		case <-ws.ch:
		case <-ended:
		case <-s.co.drain:
		case <-revoked:
		case <-ctx.Done():
			err = ctx.Err()
		}
		s.mu.Lock()
		if ws.refs--; ws.refs == 0 && s.co.watchers[k] == ws {
			delete(s.co.watchers, k)
		}
		s.mu.Unlock()
		if err != nil {
			return lockState{}, err
		}
	}
}

func closed(ch chan struct{}) bool {
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
