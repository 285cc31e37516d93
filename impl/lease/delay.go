package lease

import (
	"slices"
	"time"
)

// Delay is a lock-delay: one place of lock Key stays taken by nobody until Deadline,
// because the lease LeaseID expired (or its session did) instead of being released. It
// is durable: a restart gives it a fresh full Length, as leases get a full TTL.
type Delay struct {
	Key
	LeaseID    string        // the lease whose expiry started it
	Length     time.Duration // the lease's lock-delay, restored in full after a restart
	Deadline   time.Duration // monotonic instant at which it ends
	Until      time.Time     // wall-clock rendering of Deadline
	MaxHolders int           // the lock's MaxHolders (0 means 1)
}

type delayed struct {
	d     Delay
	index int
}

func (d *delayed) due() time.Duration { return d.d.Deadline }
func (d *delayed) setIndex(i int)     { d.index = i }

func ptr[T any](v T) *T { return &v }

func (e *Engine) insertDelay(lk *lock, d Delay) {
	x := &delayed{d: d, index: -1}
	lk.delays = append(lk.delays, x)
	e.delays.add(x)
	e.accounts[lk.key.Account].used++
}

// endDelay ends a lock-delay (when it is due, or an operator's ForceRelease) and, with
// handoff, grants the freed place to the head of the lock's line.
func (e *Engine) endDelay(d *delayed, now Instant, changes []Change, handoff bool) []Change {
	k := d.d.Key
	lk := e.lookup(k)
	e.delays.del(d.index)
	lk.delays = slices.DeleteFunc(lk.delays, func(x *delayed) bool { return x == d })
	e.accounts[k.Account].used--
	changes = append(changes, Change{Kind: DeleteDelay, Lease: Lease{Key: k, ID: d.d.LeaseID}, Delay: ptr(d.d)})
	var rev int64
	rev, changes = e.nextRevision(changes)
	lk.revision = rev
	e.dropIfEmpty(lk, rev)
	if handoff {
		changes = e.handoff(k, now, changes)
	}
	return changes
}

// earliestDelay returns the lock-delay of lk that ends first; lk has one.
func (lk *lock) earliestDelay() Delay {
	best := lk.delays[0].d
	for _, d := range lk.delays[1:] {
		if d.d.Deadline < best.Deadline {
			best = d.d
		}
	}
	return best
}

// dueDelay returns a lock-delay of lk that should have ended by now, if any.
func (lk *lock) dueDelay(now Instant) *delayed {
	for _, d := range lk.delays {
		if d.d.Deadline <= now.Mono {
			return d
		}
	}
	return nil
}

// Delays returns the lock-delays in force on k, earliest start first.
func (e *Engine) Delays(k Key) []Delay {
	lk := e.lookup(k)
	if lk == nil {
		return nil
	}
	out := make([]Delay, len(lk.delays))
	for i, d := range lk.delays {
		out[i] = d.d
	}
	return out
}
