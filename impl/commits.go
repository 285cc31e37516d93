package impl

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/octostore/octostore/impl/lease"
	"github.com/octostore/octostore/impl/store"
)

// Errors of the commit seam. Every implementation of Commits reports its failures
// wrapped in these, so the server never needs to know which one it runs on.
var (
	// ErrUnavailable means the seam does not accept writes now (a failing disk, or no
	// raft leader); nothing was acknowledged. The server recovers by itself.
	ErrUnavailable = errors.New("writes are not accepted now")
	// ErrNoLeader means this node is not (or no longer) the cluster's leader: it wraps
	// ErrUnavailable. A write that got it may or may not have been committed by the
	// leader that follows; the same holder's retry is idempotent.
	ErrNoLeader = fmt.Errorf("%w: this node is not the cluster's leader", ErrUnavailable)
	// ErrClosed means the seam has stopped (shutdown); nothing more is accepted.
	ErrClosed = errors.New("the commit path is closed")
)

// Commits is the commit seam: where the changes of each engine revision become durable
// before anyone is told about them. The SQLite group committer (SQLiteCommits) and the
// raft log (package cluster) implement it, and both pass one conformance suite
// (impl/commitstest). Revisions are submitted in increasing order under the server's
// lock, and "revision N is durable" means every revision before it is too, except
// revisions whose commit failed: those stay lost.
type Commits interface {
	// Run commits submitted changes until ctx ends, then finishes what was accepted.
	Run(ctx context.Context) error
	// Submit queues the changes of revision seq. While the seam refuses writes it returns
	// an error wrapping ErrUnavailable, and seq is lost.
	Submit(seq uint64, changes []lease.Change) error
	// WaitDurable blocks until seq is durable, seq was lost (ErrUnavailable), the seam
	// stopped (ErrClosed), or ctx ended.
	WaitDurable(ctx context.Context, seq uint64) error
	// Verify returns nil when a read answered now from the durable state is linearizable:
	// always for a single node; for a cluster, when this node is still the leader
	// (it confirms that with a quorum).
	Verify(ctx context.Context) error
	// Writable is nil while writes are accepted, else the error that says why not.
	Writable() error
	// Failed is closed once writes are refused; call it again after Resume.
	Failed() <-chan struct{}
	// Probe reports whether writes would be accepted again.
	Probe(ctx context.Context) error
	// Leases is the durable leases and the fencing high-water mark.
	Leases(ctx context.Context) ([]lease.Lease, int64, error)
	// State is the durable state to rebuild the engine from: every unreleased lease,
	// session and lock-delay, and the fencing high-water mark.
	State(ctx context.Context) (lease.State, error)
	// Resume accepts writes again after the engine was rebuilt; the revisions up to last
	// that are not durable stay lost, and the next one submitted is above last.
	Resume(last uint64)
	// Health says whether the storage accepts writes and, when not, why.
	Health() Health
}

// Health is whether the commit path accepts writes and, when not, why and since when.
type Health struct {
	// Degraded is the error that stopped writes (nil when they are accepted); it may name
	// files, so it is for logs.
	Degraded error
	// Reason says why in words safe to show anyone.
	Reason string
	Since  time.Time
}

// SQLiteCommits is the single-node commit seam: the store's group committer, its errors
// translated into the seam's.
type SQLiteCommits struct{ st *store.Store }

var _ Commits = SQLiteCommits{}

// NewSQLiteCommits returns the commit seam of st.
func NewSQLiteCommits(st *store.Store) SQLiteCommits { return SQLiteCommits{st: st} }

// seamErr wraps the store's errors in the seam's, keeping the original.
func seamErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrUnavailable):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	case errors.Is(err, store.ErrClosed):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// Run runs the group committer.
func (c SQLiteCommits) Run(ctx context.Context) error { return seamErr(c.st.Run(ctx)) }

// Submit queues a revision for the next group commit.
func (c SQLiteCommits) Submit(seq uint64, changes []lease.Change) error {
	return seamErr(c.st.Submit(seq, changes))
}

// WaitDurable waits until seq was committed.
func (c SQLiteCommits) WaitDurable(ctx context.Context, seq uint64) error {
	return seamErr(c.st.WaitDurable(ctx, seq))
}

// Verify is always nil: a single node is the only writer.
func (SQLiteCommits) Verify(context.Context) error { return nil }

// Writable reports whether the store accepts writes.
func (c SQLiteCommits) Writable() error { return seamErr(c.st.Writable()) }

// Failed is closed once the store refuses writes.
func (c SQLiteCommits) Failed() <-chan struct{} { return c.st.Failed() }

// Probe checks whether the database accepts writes again.
func (c SQLiteCommits) Probe(ctx context.Context) error { return seamErr(c.st.Probe(ctx)) }

// Leases reads the durable leases and fencing mark.
func (c SQLiteCommits) Leases(ctx context.Context) ([]lease.Lease, int64, error) {
	l, r, err := c.st.Leases(ctx)
	return l, r, seamErr(err)
}

// State reads the durable leases, sessions, lock-delays and fencing mark.
func (c SQLiteCommits) State(ctx context.Context) (lease.State, error) {
	st, err := c.st.State(ctx)
	return st, seamErr(err)
}

// Resume accepts writes again.
func (c SQLiteCommits) Resume(last uint64) { c.st.Resume(last) }

// Health reports the store's state.
func (c SQLiteCommits) Health() Health {
	h := c.st.Health()
	return Health{Degraded: h.Degraded, Reason: h.Reason, Since: h.Since}
}
