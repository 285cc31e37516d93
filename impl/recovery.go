package impl

import (
	"context"
	"errors"
	"fmt"

	"github.com/octostore/octostore/impl/lease"
)

// Surviving the disk. When a commit fails (a full, read-only or failing disk) or the
// database file is found replaced, the store refuses writes (ErrUnavailable, 503)
// and this file waits for it to accept them again: then it rebuilds the engine from the
// durable state in-process, exactly as a restart would, and resumes.

// fencingFloor is where the fencing counter continues when the engine is built from
// storage (a start, or a recovery): above the stored high-water mark and above the wall
// clock in microseconds since the Unix epoch. The counter grows by one per grant, far
// slower than one per microsecond, so every token issued after a start exceeds every
// token issued before it even when the database, its WAL, or the whole disk was lost or
// restored from an older backup, as long as the wall clock is not set back further than
// the run before it lasted (DESIGN §3.8). A clock far in the future wastes token space
// (2^53 µs lasts until 2255); a clock set back leaves the stored mark, which still holds
// when the files are intact.
func fencingFloor(reserved int64, now lease.Instant) int64 {
	return min(max(reserved, now.Wall.UnixMicro()), lease.MaxFencingToken)
}

// errRebuilt answers the requests that waited in a lock's line when the engine was
// rebuilt: the lines lived in memory only, as across a restart.
var errRebuilt = fmt.Errorf("%w: the server rebuilt its state after a storage failure; retry", ErrUnavailable)

// errNotLeading answers the requests that waited in a lock's line on a cluster node that
// stopped leading.
var errNotLeading = fmt.Errorf("%w: the lock's line was on a leader whose term ended; retry", ErrNoLeader)

// endWaitsLocked answers every waiting acquire with err and wakes every watcher, which
// looks again. s.mu is held.
func (s *Server) endWaitsLocked(err error) {
	for id, w := range s.co.waiters {
		delete(s.co.waiters, id)
		w.res = lease.Handoff{Waiter: id, Err: err}
		close(w.granted)
	}
	for k, ws := range s.co.watchers {
		close(ws.ch)
		delete(s.co.watchers, k)
	}
	s.wakeAllPrefixWatchers()
}

// recovered returns a channel closed at the next rebuild of the engine.
func (s *Server) recovered() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rebuilt
}

// recoverStorage waits for the store to refuse writes, then probes it every
// RecoveryInterval until it accepts them again and rebuilds the engine. It returns when
// ctx ends.
func (s *Server) recoverStorage(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.commits.Failed():
		}
		if err := s.commits.Writable(); errors.Is(err, ErrNoLeader) {
			// A cluster node that does not lead: the normal state of a follower. The
			// requests waiting here are answered now: their lines end with this term.
			s.log.Info("not serving writes: this node does not lead the cluster", "reason", err)
			s.mu.Lock()
			s.endWaitsLocked(errNotLeading)
			s.mu.Unlock()
		} else {
			s.log.Error("storage refuses writes: writes answer 503 until it recovers", "err", err)
		}
		var last string
		for {
			tick := make(chan struct{})
			stop := s.afterFunc(s.cfg.RecoveryInterval, func() { close(tick) })
			select {
			case <-ctx.Done():
				stop()
				return
			case <-tick:
			}
			err := s.commits.Probe(ctx)
			if err == nil {
				err = s.rebuild(ctx)
			}
			if err == nil {
				break
			}
			if msg := err.Error(); msg != last && !errors.Is(err, ErrNoLeader) {
				s.log.Error("storage still refuses writes", "err", err)
				last = msg
			}
		}
	}
}

// rebuild replaces the engine by one restored from the durable state, like a restart:
// unreleased leases get a fresh full TTL, the fencing counter continues above the floor
// (and above every token the old engine issued), waiting requests are answered, watchers
// look again. Then the store accepts writes again.
func (s *Server) rebuild(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	state, err := s.commits.State(ctx)
	if err != nil {
		return err
	}
	old, now := s.engine, s.cfg.Clock.Now()
	floor := max(fencingFloor(state.Reserved, now), old.LastToken())
	e := restoreEngine(s.cfg, state, floor, now)
	e.Resume(old.Rev())
	s.engine = e
	s.commits.Resume(old.Rev())
	s.endWaitsLocked(errRebuilt)
	if d, ok := e.NextDeadline(); ok && d < s.co.armed {
		s.co.armed = d
		select {
		case s.co.rearm <- struct{}{}:
		default:
		}
	}
	close(s.rebuilt)
	s.rebuilt = make(chan struct{})
	s.log.Info("storage recovered: state rebuilt from the database", "leases", len(state.Leases), "sessions", len(state.Sessions), "fencing_from", e.LastToken())
	return nil
}
