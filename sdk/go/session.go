package octostore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Session is a lease on this process's liveness that many locks share, modelled on
// etcd's concurrency.Session: NewSession creates it on the server and keeps it alive in
// the background; locks taken through it (Session.Mutex, Session.Semaphore) have no TTL
// of their own and end exactly when the session ends. Close ends the session and
// releases every lock bound to it at once; a process that dies stops renewing, and the
// server ends the session, and its locks, one TTL later (their lock-delays apply then).
//
// Done is the loss signal: it is closed when the session ended without Close (the server
// no longer knows it, or no renewal succeeded before it would have expired). Every lock
// bound to it is gone then too. As with any lease, a stalled process learns of the loss
// only when it next runs: pass the locks' fencing tokens to what they protect.
type Session struct {
	c   *ClientWithResponses
	id  string
	ttl time.Duration

	done    chan struct{} // closed when the session ends (lost or closed)
	stopped chan struct{} // closed when the keep-alive goroutine has returned
	ctx     context.Context
	cancel  context.CancelFunc

	mu         sync.Mutex
	deadline   time.Time // local estimate, never later than the server's
	expiresAt  time.Time
	renewAfter time.Duration
	why        error
}

// DefaultSessionTTL is a session's TTL unless NewSession is given another.
const DefaultSessionTTL = 15 * time.Second

// NewSession creates a session of ttl (whole seconds, 1 s to 1 h; 0 means
// DefaultSessionTTL) and starts renewing it in the background. The renewals stop at
// Close; pass ctx only for the creating request.
func NewSession(ctx context.Context, c *ClientWithResponses, ttl time.Duration) (*Session, error) {
	if ttl == 0 {
		ttl = DefaultSessionTTL
	}
	secs, err := ttlSeconds(ttl)
	if err != nil {
		return nil, err
	}
	sent := time.Now()
	res, err := c.CreateSessionWithResponse(ctx, CreateSessionRequest{TtlSeconds: secs})
	if err == nil && res.JSON201 == nil {
		err = problemFrom(res.HTTPResponse, res.Body)
	}
	if err != nil {
		return nil, err
	}
	kctx, cancel := context.WithCancel(context.Background())
	s := &Session{c: c, id: res.JSON201.SessionId, ttl: ttl, done: make(chan struct{}), stopped: make(chan struct{}), ctx: kctx, cancel: cancel}
	s.record(sent, res.JSON201.ExpiresAt, res.JSON201.RenewAfterMs)
	go s.run()
	return s, nil
}

// ID returns the session's id, for acquires made without this helper (session_id).
func (s *Session) ID() string { return s.id }

// Done returns a channel closed when the session ends: lost (Err says why) or closed.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns an error wrapping ErrLost once the session was lost (and the server's
// *ProblemError when the server refused it), ErrSessionClosed after Close, and nil while
// it is alive.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.why
}

// ErrSessionClosed is Session.Err after Close.
var ErrSessionClosed = errors.New("octostore: session closed")

// ExpiresAt returns when the server ends the session unless it is renewed, as of the
// latest renewal.
func (s *Session) ExpiresAt() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expiresAt
}

// Mutex returns a Mutex on name whose leases are bound to the session (an ephemeral
// lock). WithTTL and WithoutAutoRenew do not apply: the session keeps it alive.
func (s *Session) Mutex(name string, opts ...Option) (*Mutex, error) {
	m, err := NewMutex(s.c, name, opts...)
	if err != nil {
		return nil, err
	}
	m.h.opts.session = s
	return m, nil
}

// Semaphore returns a Semaphore of n holders on name whose leases are bound to the
// session.
func (s *Session) Semaphore(name string, n int, opts ...Option) (*Semaphore, error) {
	sem, err := NewSemaphore(s.c, name, n, opts...)
	if err != nil {
		return nil, err
	}
	sem.h.opts.session = s
	return sem, nil
}

// Close stops the renewals and deletes the session on the server, which releases every
// lock bound to it at once (no lock-delay). Closing a session that was lost returns its
// loss; closing twice, or after Orphan, returns nil (an orphaned session is left to
// expire).
func (s *Session) Close(ctx context.Context) error {
	s.cancel()
	<-s.stopped
	if err := s.Err(); err != nil && !errors.Is(err, ErrSessionClosed) && !errors.Is(err, ErrSessionOrphaned) {
		return err
	} else if err != nil {
		return nil
	}
	res, err := s.c.DeleteSessionWithResponse(ctx, s.id)
	if err == nil && res.StatusCode() != http.StatusNoContent {
		err = problemFrom(res.HTTPResponse, res.Body)
	}
	if err != nil && !HasCode(err, ProblemCodeSessionNotFound) {
		return err
	}
	s.end(ErrSessionClosed)
	return nil
}

// ErrSessionOrphaned is Session.Err after Orphan.
var ErrSessionOrphaned = errors.New("octostore: session orphaned")

// Orphan stops the renewals without deleting the session, as etcd's Session.Orphan does:
// the server ends the session, and every lock bound to it, one TTL after its last
// renewal, and their lock-delays apply then. It is what a process that dies does; use it
// to hand the session's end to the server (a process that is about to exit, or whose
// connection to the server is in doubt). Done is closed and Err is ErrSessionOrphaned.
func (s *Session) Orphan() {
	s.cancel()
	<-s.stopped
	s.end(ErrSessionOrphaned)
}

func (s *Session) end(why error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
	default:
		s.why = why
		close(s.done)
	}
}

func (s *Session) record(sent, expiresAt time.Time, renewAfterMs int64) {
	renewAfter := time.Duration(renewAfterMs) * time.Millisecond
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := sent.Add(3 * renewAfter); d.After(s.deadline) {
		s.deadline = d
	}
	if expiresAt.After(s.expiresAt) {
		s.expiresAt = expiresAt
	}
	s.renewAfter = renewAfter
}

// run renews at the server's renew_after_ms, sooner after a failure; the session is lost
// when the server no longer knows it or the local deadline passes without a renewal.
func (s *Session) run() {
	defer close(s.stopped)
	s.mu.Lock()
	next := max(s.renewAfter, 10*time.Millisecond)
	s.mu.Unlock()
	for {
		s.mu.Lock()
		deadline := s.deadline
		s.mu.Unlock()
		until := time.Until(deadline)
		if until <= 0 {
			s.end(fmt.Errorf("%w: session %s: no renewal succeeded in time", ErrLost, s.id))
			return
		}
		t := time.NewTimer(min(next, until))
		select {
		case <-s.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if !time.Now().Before(deadline) {
			continue // the loop ends it
		}
		rctx, cancel := context.WithDeadline(s.ctx, deadline)
		sent := time.Now()
		res, err := s.c.RenewSessionWithResponse(rctx, s.id)
		cancel()
		if err == nil && res.JSON200 == nil {
			err = problemFrom(res.HTTPResponse, res.Body)
		}
		switch {
		case s.ctx.Err() != nil:
			return
		case HasCode(err, ProblemCodeSessionNotFound):
			s.end(fmt.Errorf("%w: %w", ErrLost, err))
			return
		case err != nil:
			next = max(min(time.Second, time.Until(deadline)/3), 10*time.Millisecond)
			if d, ok := retryable(err); ok {
				next = min(d, next)
			}
		default:
			s.record(sent, res.JSON200.ExpiresAt, res.JSON200.RenewAfterMs)
			s.mu.Lock()
			next = max(s.renewAfter, 10*time.Millisecond)
			s.mu.Unlock()
		}
	}
}
