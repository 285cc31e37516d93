package lease

import "time"

// DefaultMaxWaiters is how many waiters one lock's line holds by default. Past it, a
// waiting acquire is answered Held at once.
const DefaultMaxWaiters = 1024

// waiter is a holder in a lock's line. The line is in memory only: waiters are requests
// held open by this process and end with it.
type waiter struct {
	holder     Holder
	ttl        time.Duration
	metadata   *string
	leaseID    string // the lease it will be granted; also its name
	sessionID  string
	lockDelay  time.Duration
	maxHolders int // normalised: at least 1
}

// line is a lock's waiters, first come first served.
type line struct{ waiters []waiter }

// enqueue puts c's holder at the end of the line of the full lock lk, or finds it there
// already.
func (e *Engine) enqueue(c Acquire, lk *lock, now Instant) Result {
	held := e.held(lk, now)
	q := e.lines[c.Key]
	if q == nil {
		q = &line{}
		e.lines[c.Key] = q
	}
	for i := range q.waiters {
		if w := &q.waiters[i]; w.holder.Same(c.Holder) {
			w.ttl = c.TTL
			if c.Metadata != nil {
				w.metadata = c.Metadata
			}
			w.sessionID, w.lockDelay = c.SessionID, c.LockDelay
			held.Outcome, held.Waiting = Queued, w.leaseID
			return held
		}
	}
	if len(q.waiters) >= e.cfg.MaxWaitersPerLock {
		if len(q.waiters) == 0 {
			delete(e.lines, c.Key)
		}
		return held
	}
	q.waiters = append(q.waiters, waiter{holder: c.Holder, ttl: c.TTL, metadata: c.Metadata, leaseID: c.LeaseID,
		sessionID: c.SessionID, lockDelay: c.LockDelay, maxHolders: holdersOf(c.MaxHolders)})
	held.Outcome, held.Waiting = Queued, c.LeaseID
	return held
}

func (e *Engine) cancelWait(c CancelWait) (Result, error) {
	q := e.lines[c.Key]
	if q != nil {
		for i, w := range q.waiters {
			if w.leaseID == c.LeaseID {
				q.waiters = append(q.waiters[:i], q.waiters[i+1:]...)
				if len(q.waiters) == 0 {
					delete(e.lines, c.Key)
				}
				return Result{Outcome: Cancelled}, nil
			}
		}
	}
	return Result{}, ErrNotCurrent
}

// handoff grants the free places of lock k to the first waiters in its line that can have
// them. A waiter refused for the account's quota, exhausted tokens, a different
// MaxHolders or an ended session leaves the line.
func (e *Engine) handoff(k Key, now Instant, changes []Change) []Change {
	q := e.lines[k]
	if q == nil {
		return changes
	}
	for len(q.waiters) > 0 {
		if lk := e.lookup(k); lk != nil && lk.free() <= 0 {
			break
		}
		w := q.waiters[0]
		q.waiters[0] = waiter{}
		q.waiters = q.waiters[1:]
		var (
			l   Lease
			err error
		)
		l, changes, err = e.grant(k, w, now, changes)
		e.handoffs = append(e.handoffs, Handoff{Waiter: w.leaseID, Lease: l, Err: err})
	}
	if len(q.waiters) == 0 {
		delete(e.lines, k)
	}
	return changes
}

// Waiters returns how many waiters are in k's line.
func (e *Engine) Waiters(k Key) int {
	if q := e.lines[k]; q != nil {
		return len(q.waiters)
	}
	return 0
}
