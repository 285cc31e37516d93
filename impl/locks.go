package impl

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/octostore/octostore/gen"
	"github.com/octostore/octostore/impl/lease"
)

// errTTLNeeded: an acquire without a session has to say how long its lease lasts.
var errTTLNeeded = errors.New("ttl_seconds needed without session_id")

// AcquireLock grants a lock or reports its holder; both are 200. With wait_seconds it
// waits in the lock's line first.
func (s *Server) AcquireLock(ctx context.Context, req gen.AcquireLockRequestObject) (gen.AcquireLockResponseObject, error) {
	if req.Body.TtlSeconds == nil && req.Body.SessionId == nil {
		return nil, errTTLNeeded
	}
	p := principal(ctx)
	cmd := lease.Acquire{
		Key:      lease.Key{Account: p.AccountID, Name: req.Name},
		Holder:   lease.Holder{TokenID: p.TokenID, Owner: deref(req.Body.Owner)},
		TTL:      seconds(deref(req.Body.TtlSeconds)),
		LeaseID:  uuid.NewString(),
		Metadata: req.Body.Metadata,
		// The session, lock-delay and semaphore fields (zero: none, none, a plain lock).
		SessionID:  deref(req.Body.SessionId),
		LockDelay:  seconds(deref(req.Body.LockDelaySeconds)),
		MaxHolders: int(deref(req.Body.MaxHolders)),
	}
	res, err := s.acquire(ctx, cmd, s.waitFor(req.Body.WaitSeconds))
	if err != nil {
		return nil, err
	}
	l, now := res.Lease, s.cfg.Clock.Now()
	if res.Outcome == lease.Held {
		return acquireAnswer(heldResult(res, now)), nil
	}
	id, renew := uuid.MustParse(l.ID), renewAfter(l, now)
	return acquireAnswer{Status: gen.AcquireResultStatusAcquired, LeaseId: &id, FencingToken: &l.Token, ExpiresAt: timestamp(l.ExpiresAt), RenewAfterMs: &renew}, nil
}

// RenewLock extends the caller's current lease.
func (s *Server) RenewLock(ctx context.Context, req gen.RenewLockRequestObject) (gen.RenewLockResponseObject, error) {
	p := principal(ctx)
	res, err := s.apply(ctx, lease.Renew{
		Key:     lease.Key{Account: p.AccountID, Name: req.Name},
		LeaseID: req.Body.LeaseId.String(),
		TTL:     seconds(req.Body.TtlSeconds),
	})
	if err != nil {
		return nil, err
	}
	l := res.Lease
	return renewAnswer{Status: gen.Renewed, LeaseId: req.Body.LeaseId, FencingToken: l.Token, ExpiresAt: timestamp(l.ExpiresAt), RenewAfterMs: renewAfter(l, s.cfg.Clock.Now())}, nil
}

// ReleaseLock ends the caller's current lease.
func (s *Server) ReleaseLock(ctx context.Context, req gen.ReleaseLockRequestObject) (gen.ReleaseLockResponseObject, error) {
	p := principal(ctx)
	res, err := s.apply(ctx, lease.Release{
		Key:     lease.Key{Account: p.AccountID, Name: req.Name},
		LeaseID: req.Body.LeaseId.String(),
	})
	if err != nil {
		return nil, err
	}
	return releaseAnswer{Status: gen.Released, LeaseId: req.Body.LeaseId, FencingToken: res.Lease.Token}, nil
}

// GetLock reports one lock of the caller's account; with index and wait_seconds it is a
// watch that returns once the lock's revision passes index.
func (s *Server) GetLock(ctx context.Context, req gen.GetLockRequestObject) (gen.GetLockResponseObject, error) {
	p := principal(ctx)
	if s.serveStale((*string)(req.Params.Consistency)) && req.Params.WaitSeconds == nil {
		leases, _, err := s.staleLeases(ctx, p.AccountID, req.Name, "", 1)
		if err != nil {
			return nil, err
		}
		if len(leases) == 0 {
			return statusAnswer{Name: req.Name, Status: gen.LockStatusStatusFree}, nil
		}
		return statusAnswer(lockStatus(leases[0])), nil
	}
	st, err := s.status(ctx, lease.Key{Account: p.AccountID, Name: req.Name}, req.Params.Index, s.waitFor(req.Params.WaitSeconds))
	if err != nil {
		return nil, err
	}
	return statusAnswer(statusOf(st.full)), nil
}

// ListLocks reports a page of the active locks of the caller's account, by name.
func (s *Server) ListLocks(ctx context.Context, req gen.ListLocksRequestObject) (gen.ListLocksResponseObject, error) {
	if req.Params.Prefix != nil || req.Params.Index != nil || req.Params.WaitSeconds != nil {
		return s.listPrefix(ctx, req.Params)
	}
	p := principal(ctx)
	pg, err := openPage(req.Params.Cursor, req.Params.Limit, listLocks, p.AccountID)
	if err != nil {
		return nil, err
	}
	var leases []lease.Lease
	var more bool
	if s.serveStale((*string)(req.Params.Consistency)) {
		leases, more, err = s.staleLeases(ctx, p.AccountID, "", pg.after.Name, pg.limit)
	} else {
		err = s.read(ctx, func(e *lease.Engine) uint64 {
			var rev uint64
			leases, more, rev = e.ListPage(p.AccountID, pg.after.Name, pg.limit)
			return rev
		})
	}
	if err != nil {
		return nil, err
	}
	out := gen.ListLocks200JSONResponse{Locks: make([]gen.LockStatus, len(leases))}
	for i, l := range leases {
		out.Locks[i] = lockStatus(l)
	}
	if more {
		out.NextCursor = encodeCursor(cursor{List: listLocks, Scope: scopeOf(p.AccountID), Name: leases[len(leases)-1].Name})
	}
	return out, nil
}

// heldResult answers an acquire of a full lock: its holder (a semaphore's with the lowest
// token), or, while a lock-delay keeps it, no holder and when the delay ends.
func heldResult(res lease.Result, now lease.Instant) gen.AcquireResult {
	out := gen.AcquireResult{Status: gen.AcquireResultStatusHeld, ExpiresAt: timestamp(now.Wall), HolderId: nullable.NewNullNullable[string]()}
	retry := maxRetryAfter.Milliseconds()
	l := res.Lease
	if l.ID != "" {
		out.HolderId.Set(l.Holder.String())
		out.ExpiresAt, retry = timestamp(l.ExpiresAt), retryAfter(l, now)
	}
	if !res.AvailableAt.IsZero() {
		at, delay := timestamp(res.AvailableAt), (res.RetryAfter + time.Millisecond - 1).Milliseconds()
		out.AvailableAt = &at
		if l.ID == "" {
			out.ExpiresAt, retry = at, delay
		} else {
			retry = min(retry, delay)
		}
	}
	out.RetryAfterMs = &retry
	return out
}

// statusOf renders a lock with every holder, as status, the prefix list and the prefix
// watch report it. The single-holder fields are the lowest token's.
func statusOf(st lease.Status) gen.LockStatus {
	if st.Free() {
		return gen.LockStatus{Name: st.Name, Status: gen.LockStatusStatusFree, Revision: st.Revision}
	}
	// Held with no holder: only a lock-delay keeps it.
	out := gen.LockStatus{Name: st.Name, Status: gen.LockStatusStatusHeld, HolderId: nullable.NewNullNullable[string]()}
	if len(st.Holders) > 0 {
		out = lockStatus(st.Holders[0])
	}
	out.Revision = st.Revision
	n := int32(max(st.MaxHolders, 1))
	out.MaxHolders = &n
	holders := make([]gen.LockHolder, len(st.Holders))
	for i, l := range st.Holders {
		holders[i] = gen.LockHolder{HolderId: l.Holder.String(), FencingToken: l.Token, ExpiresAt: timestamp(l.ExpiresAt)}
		if l.Metadata != "" {
			holders[i].Metadata = &l.Metadata
		}
	}
	out.Holders = &holders
	if !st.AvailableAt.IsZero() {
		at := timestamp(st.AvailableAt)
		out.AvailableAt = &at
	}
	return out
}

func lockStatus(l lease.Lease) gen.LockStatus {
	holder := l.Holder.String()
	expires := timestamp(l.ExpiresAt)
	st := gen.LockStatus{
		Name:         l.Name,
		Status:       gen.LockStatusStatusHeld,
		Revision:     l.Revision,
		HolderId:     nullable.NewNullableWithValue(holder),
		FencingToken: &l.Token,
		ExpiresAt:    &expires,
	}
	if l.Metadata != "" {
		st.Metadata = &l.Metadata
	}
	return st
}

// renewAfter is when a holder should renew: a third of the lease's remaining time, so
// that two more tries fit before it ends.
func renewAfter(l lease.Lease, now lease.Instant) int64 {
	return max(l.Deadline-now.Mono, 0).Milliseconds() / 3
}

// maxRetryAfter caps retry_after_ms: a holder may release at any moment, and a client
// that wants the lock as soon as it is free waits in line (wait_seconds) instead.
const maxRetryAfter = time.Second

// retryAfter is when trying again for a held lock is worthwhile: when the current lease
// ends, or sooner.
func retryAfter(l lease.Lease, now lease.Instant) int64 {
	d := min(max(l.Deadline-now.Mono, 0), maxRetryAfter)
	return (d + time.Millisecond - 1).Milliseconds()
}

// timestamp renders a wall-clock time as the API reports it: UTC, millisecond precision.
func timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func seconds(n int32) time.Duration { return time.Duration(n) * time.Second }

// maxWait is the spec's bound on wait_seconds.
const maxWait = 60 * time.Second

// waitFor is how long a request asking to wait n seconds waits: at most MaxWait.
func (s *Server) waitFor(n *int32) time.Duration { return min(seconds(deref(n)), s.cfg.MaxWait) }

// orNull is p's value, or JSON null when p is nil (a nullable field the spec requires).
func orNull[T any](p *T) nullable.Nullable[T] {
	if p == nil {
		return nullable.NewNullNullable[T]()
	}
	return nullable.NewNullableWithValue(*p)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
