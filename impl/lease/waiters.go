package lease

import "time"

// DefaultMaxWaiters is how many waiters one lock's line holds by default. Past it, a
// waiting acquire is answered Held at once.
const DefaultMaxWaiters = 1024

// waiter is a holder in a lock's line. The line is in memory only: waiters are requests
// held open by this process and end with it.
type waiter struct {
	holder   Holder
	ttl      time.Duration
	metadata *string
	leaseID  string // the lease it will be granted; also its name
}

// line is a lock's waiters, first come first served.
type line struct{ waiters []waiter }

// enqueue puts c's holder at the end of the line of the lock en holds, or finds it there
// already.
func (e *Engine) enqueue(c Acquire, en *entry) Result {
	held := Result{Outcome: Held, Lease: en.lease, Rev: en.lease.ModRev}
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
			held.Outcome, held.Waiting = Queued, w.leaseID
			return held
		}
	}
	if len(q.waiters) >= e.cfg.MaxWaitersPerLock {
		return held
	}
	q.waiters = append(q.waiters, waiter{holder: c.Holder, ttl: c.TTL, metadata: c.Metadata, leaseID: c.LeaseID})
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

// handoff grants the free lock k to the first waiter in its line that can have it. A
// waiter refused for the account's quota or exhausted tokens leaves the line; so would
// every later one, as they share the account.
func (e *Engine) handoff(k Key, now Instant, changes []Change) []Change {
	q := e.lines[k]
	if q == nil {
		return changes
	}
	for len(q.waiters) > 0 {
		w := q.waiters[0]
		q.waiters[0] = waiter{}
		q.waiters = q.waiters[1:]
		var (
			l   Lease
			err error
		)
		l, changes, err = e.grant(k, w.holder, w.ttl, w.metadata, w.leaseID, now, changes)
		e.handoffs = append(e.handoffs, Handoff{Waiter: w.leaseID, Lease: l, Err: err})
		if err == nil {
			break
		}
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
