package lease

import (
	"sort"
	"strings"
	"time"
)

// Status is one lock as a status read, a prefix list or a prefix watch reports it.
type Status struct {
	Key
	// Holders are the current leases in token order; empty when the lock is free or only
	// in lock-delay.
	Holders []Lease
	// MaxHolders is the number of holders the lock admits (1 for a plain or free lock).
	MaxHolders int
	// Revision is the lock's revision as clients see it, the index to watch from.
	Revision int64
	// Delays are the lock-delays in force, earliest start first.
	Delays []Delay
	// AvailableAt, when the lock is full and in lock-delay, is the wall-clock instant at
	// which the earliest lock-delay ends (and AvailableMono the monotonic one); zero
	// otherwise.
	AvailableAt   time.Time
	AvailableMono time.Duration
}

// Free reports whether nobody holds the lock and no lock-delay keeps it.
func (s Status) Free() bool { return len(s.Holders) == 0 && len(s.Delays) == 0 }

// RetryAfter is how long from now until AvailableAt, or 0.
func (s Status) RetryAfter(now Instant) time.Duration {
	if s.AvailableAt.IsZero() {
		return 0
	}
	return max(s.AvailableMono-now.Mono, 0)
}

// Status returns lock k with every holder, and the revision the answer depends on. Call
// it after an Apply (a Sweep of k) at the current instant.
func (e *Engine) Status(k Key) (Status, uint64) {
	lk := e.lookup(k)
	if lk == nil {
		return Status{Key: k, MaxHolders: 1, Revision: e.Revision(k)}, e.freedRev
	}
	return lk.status(), lk.modRev
}

func (lk *lock) status() Status {
	st := Status{Key: lk.key, Holders: lk.leases(), MaxHolders: lk.max, Revision: lk.revision}
	for _, d := range lk.delays {
		st.Delays = append(st.Delays, d.d)
	}
	if lk.free() <= 0 && len(lk.delays) > 0 {
		d := lk.earliestDelay()
		st.AvailableAt, st.AvailableMono = d.Until, d.Deadline
	}
	return st
}

// ListPrefix returns the locks of acct whose name starts with prefix that are held or in
// lock-delay, in name order; the index to watch the prefix from (every change under the
// prefix so far has a revision at or below it); and the revision the answer depends on.
// Call it after a Sweep of the account at the current instant.
func (e *Engine) ListPrefix(acct, prefix string) ([]Status, int64, uint64) {
	out := []Status{}
	rev := e.freedRev
	if a := e.accounts[acct]; a != nil {
		for name, lk := range a.locks {
			if strings.HasPrefix(name, prefix) {
				out = append(out, lk.status())
				rev = max(rev, lk.modRev)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, e.lastRevision, rev
}

// ListPrefixPage is ListPrefix one page at a time, paged like ListPage: at most limit
// locks whose names sort after after, and whether more follow.
func (e *Engine) ListPrefixPage(acct, prefix, after string, limit int) (page []Status, more bool, index int64, rev uint64) {
	locks, more := e.pageLocks(acct, prefix, after, limit, false)
	page = make([]Status, len(locks))
	rev = e.freedRev
	for i, lk := range locks {
		page[i] = lk.status()
		rev = max(rev, lk.modRev)
	}
	return page, more, e.lastRevision, rev
}

// ChangesSince returns the locks of acct under prefix whose revision is above index, in
// name order — held, delayed, or free (a lock released or expired since index, with the
// revision at which it became free) — and the new index to watch from. Free locks are
// remembered in bounded tombstones; when index is older than the oldest forgotten one,
// complete is false: the changes then hold every lock that is held or delayed under the
// prefix whatever its revision, and every lock the caller knew and does not find in them
// is free.
func (e *Engine) ChangesSince(acct, prefix string, index int64) (changes []Status, next int64, complete bool, rev uint64) {
	complete = index >= e.floor
	changes = []Status{}
	rev = e.freedRev
	if a := e.accounts[acct]; a != nil {
		for name, lk := range a.locks {
			if strings.HasPrefix(name, prefix) && (lk.revision > index || !complete) {
				changes = append(changes, lk.status())
				rev = max(rev, lk.modRev)
			}
		}
	}
	for k, r := range e.tombs {
		if k.Account == acct && r > index && strings.HasPrefix(k.Name, prefix) {
			changes = append(changes, Status{Key: k, MaxHolders: 1, Revision: r})
		}
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Name < changes[j].Name })
	return changes, e.lastRevision, complete, rev
}
