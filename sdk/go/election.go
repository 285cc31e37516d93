package octostore

import (
	"context"
	"errors"
	"time"
)

// Election is leader election on one lock name, modelled on etcd's
// concurrency.Election: the leader is the holder of the lock, and its value (an address,
// say) is the lease's metadata, which everyone in the account can read. Campaign waits
// in the server's first-come-first-served line; Observe watches the lock with the
// server's long-poll. The leader's lease is renewed in the background and Done is closed
// when leadership ends.
//
// Leadership is a lease, not a guarantee: a leader that stalls past its TTL can still
// believe it leads. Use Token, the fencing token, to make the resources it writes refuse
// an old leader.
type Election struct {
	h holder
}

// Leader is the current leader of an election, as Leader and Observe report it.
type Leader struct {
	// Value is what the leader campaigned (or proclaimed) with.
	Value string
	// HolderID identifies the leader's token and owner.
	HolderID string
	// FencingToken is the leader's fencing token: a new leader always has a larger one.
	FencingToken int64
	// Revision is the lock's revision when this was read.
	Revision int64
	// ExpiresAt is when the leader's lease ends unless renewed.
	ExpiresAt time.Time
}

// NewElection returns an Election on the lock name in the account of c's token.
func NewElection(c *ClientWithResponses, name string, opts ...Option) (*Election, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	return &Election{h: holder{c: c, name: name, opts: o}}, nil
}

// Campaign blocks until this candidate is the leader, with value published, or ctx ends.
// A leader campaigning again just updates its value.
func (e *Election) Campaign(ctx context.Context, value string) error {
	return e.h.acquire(ctx, &value, true)
}

// Proclaim changes the leader's value without an election. It returns ErrNotHeld when
// this candidate is not the leader.
func (e *Election) Proclaim(ctx context.Context, value string) error {
	if k := e.h.current(); k == nil || k.lost() {
		return ErrNotHeld
	}
	return e.h.acquire(ctx, &value, false)
}

// Resign gives up leadership; the next candidate in line becomes the leader at once.
func (e *Election) Resign(ctx context.Context) error { return e.h.release(ctx) }

// Done returns a channel closed when this candidate's leadership ends (lost or
// resigned); closed already when it does not lead.
func (e *Election) Done() <-chan struct{} { return e.h.done() }

// Token returns the leader's fencing token while this candidate leads, else 0.
func (e *Election) Token() int64 {
	if k := e.h.current(); k != nil {
		return k.token
	}
	return 0
}

// Lease returns the lease of this candidate's latest leadership, as of its latest
// renewal, and false when it never led.
func (e *Election) Lease() (Lease, bool) { return e.h.lease() }

// Leader returns the current leader, or ErrNoLeader.
func (e *Election) Leader(ctx context.Context) (Leader, error) {
	l, _, err := e.status(ctx, nil, 0)
	return l, err
}

// Observe returns a channel that receives the current leader and then every new leader
// or new value, until ctx ends; then it is closed. Moments without a leader are not
// sent. It watches with 60-second long-polls and retries when the server is unavailable;
// it stops (closing the channel) on an error that retrying cannot fix, such as a revoked
// token.
func (e *Election) Observe(ctx context.Context) <-chan Leader {
	out := make(chan Leader)
	go func() {
		defer close(out)
		var (
			index *int64
			last  Leader
		)
		for ctx.Err() == nil {
			l, rev, err := e.status(ctx, index, 60)
			switch {
			case err == nil || errors.Is(err, ErrNoLeader):
				index = &rev
			case ctx.Err() != nil:
				return
			default:
				d, ok := retryable(err)
				if !ok {
					var p *ProblemError
					if errors.As(err, &p) {
						return
					}
					d = time.Second // the network: try again
				}
				if sleep(ctx, d) != nil {
					return
				}
				continue
			}
			if err == nil && (l.FencingToken != last.FencingToken || l.Value != last.Value) {
				select {
				case out <- l:
					last = l
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// status reads the lock, waiting up to wait seconds for its revision to pass index.
func (e *Election) status(ctx context.Context, index *int64, wait int32) (Leader, int64, error) {
	params := &GetLockParams{Index: index}
	if index != nil {
		params.WaitSeconds = &wait
	}
	res, err := e.h.c.GetLockWithResponse(ctx, e.h.name, params)
	if err == nil && res.JSON200 == nil {
		err = problemFrom(res.HTTPResponse, res.Body)
	}
	if err != nil {
		return Leader{}, 0, err
	}
	st := res.JSON200
	if st.Status != LockStatusStatusHeld || st.HolderId.GetOrEmpty() == "" || st.FencingToken == nil {
		return Leader{}, st.Revision, ErrNoLeader
	}
	l := Leader{HolderID: st.HolderId.GetOrEmpty(), FencingToken: *st.FencingToken, Revision: st.Revision}
	if st.Metadata != nil {
		l.Value = *st.Metadata
	}
	if st.ExpiresAt != nil {
		l.ExpiresAt = *st.ExpiresAt
	}
	return l, st.Revision, nil
}
