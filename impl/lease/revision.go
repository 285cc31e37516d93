package lease

import "slices"

// DefaultMaxTombstones is how many free locks remember the revision at which they became
// free, by default. Older ones are forgotten in bulk and report the engine's floor.
const DefaultMaxTombstones = 10000

// A lock's revision, the index a watcher waits on, comes from one counter for the whole
// engine, so it only grows: a grant, a release, an expiry or a metadata change draws the
// next value. A free lock reports the revision at which it became free (its tombstone).
// Tombstones are bounded: when there are too many, the oldest half is dropped and the
// floor rises to the newest revision dropped; a free lock without a tombstone reports the
// floor. The floor is at least the lock's last real revision, so a watcher may be woken
// once for nothing but never misses a change. The counter shares the durable fencing
// reservation, so it continues above every issued value after a restart too.

// nextRevision draws the next revision and keeps it covered by the reservation.
func (e *Engine) nextRevision(changes []Change) (int64, []Change) {
	e.lastRevision++
	return e.lastRevision, e.reserve(e.lastRevision, changes)
}

// bury records that k became free at rev, forgetting the oldest tombstones when there
// are too many.
func (e *Engine) bury(k Key, rev int64) {
	e.tombs[k] = rev
	if len(e.tombs) <= 2*e.cfg.MaxTombstones {
		return
	}
	revs := make([]int64, 0, len(e.tombs))
	for _, r := range e.tombs {
		revs = append(revs, r)
	}
	slices.Sort(revs)
	cut := revs[len(revs)-e.cfg.MaxTombstones-1]
	for key, r := range e.tombs {
		if r <= cut {
			delete(e.tombs, key)
		}
	}
	e.floor = max(e.floor, cut)
}

// Revision returns the revision of lock k: its last change while it is held or in
// lock-delay, else the revision at
// which it became free, or the floor when that is forgotten.
func (e *Engine) Revision(k Key) int64 {
	if lk := e.lookup(k); lk != nil {
		return lk.revision
	}
	if r, ok := e.tombs[k]; ok {
		return r
	}
	return e.floor
}

// LastRevision returns the last revision drawn.
func (e *Engine) LastRevision() int64 { return e.lastRevision }
