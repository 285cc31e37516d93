package impl

import (
	"context"

	"github.com/octostore/octostore/impl/lease"
	"github.com/octostore/octostore/impl/store"
)

// Commits is the commit seam: where the changes of each engine revision become durable
// before anyone is told about them. The SQLite group committer (store.Store) implements
// it; a replicated log can later. Revisions are submitted in increasing order under the
// server's lock, and "revision N is durable" means every revision before it is too, except
// revisions whose commit failed: those stay lost.
type Commits interface {
	// Submit queues the changes of revision seq. While the seam refuses writes it returns
	// an error wrapping store.ErrUnavailable, and seq is lost.
	Submit(seq uint64, changes []lease.Change) error
	// WaitDurable blocks until seq is durable, seq was lost (store.ErrUnavailable), the
	// seam stopped (store.ErrClosed), or ctx ended.
	WaitDurable(ctx context.Context, seq uint64) error
	// Writable is nil while writes are accepted, else the error that says why not.
	Writable() error
	// Failed is closed once writes are refused; call it again after Resume.
	Failed() <-chan struct{}
	// Probe reports whether writes would be accepted again.
	Probe(ctx context.Context) error
	// State is the durable state to rebuild the engine from: every unreleased lease,
	// session and lock-delay, and the fencing high-water mark.
	State(ctx context.Context) (lease.State, error)
	// Resume accepts writes again after the engine was rebuilt; the revisions up to last
	// that are not durable stay lost, and the next one submitted is above last.
	Resume(last uint64)
}

var _ Commits = (*store.Store)(nil)
