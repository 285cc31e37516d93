package impl

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/octostore/octostore/gen"
	"github.com/octostore/octostore/impl/lease"
)

// AcquireLock grants a lock or reports its holder; both are 200.
func (s *Server) AcquireLock(ctx context.Context, req gen.AcquireLockRequestObject) (gen.AcquireLockResponseObject, error) {
	p := principal(ctx)
	cmd := lease.Acquire{
		Key:     lease.Key{Account: p.AccountID, Name: req.Name},
		Holder:  lease.Holder{TokenID: p.TokenID, Owner: deref(req.Body.Owner)},
		TTL:     seconds(req.Body.TtlSeconds),
		LeaseID: uuid.NewString(),
	}
	res, err := s.apply(ctx, cmd)
	if err != nil {
		return nil, err
	}
	l := res.Lease
	if res.Outcome == lease.Held {
		holder := l.Holder.String()
		return gen.AcquireLock200JSONResponse{Status: gen.AcquireResultStatusHeld, HolderId: &holder, ExpiresAt: timestamp(l.ExpiresAt)}, nil
	}
	id := uuid.MustParse(l.ID)
	return gen.AcquireLock200JSONResponse{Status: gen.AcquireResultStatusAcquired, LeaseId: &id, FencingToken: &l.Token, ExpiresAt: timestamp(l.ExpiresAt)}, nil
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
	return gen.RenewLock200JSONResponse{Status: gen.Renewed, LeaseId: req.Body.LeaseId, FencingToken: l.Token, ExpiresAt: timestamp(l.ExpiresAt)}, nil
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
	return gen.ReleaseLock200JSONResponse{Status: gen.Released, LeaseId: req.Body.LeaseId, FencingToken: res.Lease.Token}, nil
}

// GetLock reports one lock of the caller's account.
func (s *Server) GetLock(ctx context.Context, req gen.GetLockRequestObject) (gen.GetLockResponseObject, error) {
	p := principal(ctx)
	var (
		l    lease.Lease
		held bool
	)
	err := s.read(ctx, func(e *lease.Engine) uint64 {
		var rev uint64
		l, held, rev = e.Get(lease.Key{Account: p.AccountID, Name: req.Name})
		return rev
	})
	if err != nil {
		return nil, err
	}
	if !held {
		return gen.GetLock200JSONResponse{Name: req.Name, Status: gen.LockStatusStatusFree}, nil
	}
	return gen.GetLock200JSONResponse(lockStatus(l)), nil
}

// ListLocks reports the active locks of the caller's account.
func (s *Server) ListLocks(ctx context.Context, _ gen.ListLocksRequestObject) (gen.ListLocksResponseObject, error) {
	p := principal(ctx)
	var leases []lease.Lease
	err := s.read(ctx, func(e *lease.Engine) uint64 {
		var rev uint64
		leases, rev = e.List(p.AccountID)
		return rev
	})
	if err != nil {
		return nil, err
	}
	out := gen.ListLocks200JSONResponse{Locks: make([]gen.LockStatus, len(leases))}
	for i, l := range leases {
		out.Locks[i] = lockStatus(l)
	}
	return out, nil
}

func lockStatus(l lease.Lease) gen.LockStatus {
	holder := l.Holder.String()
	expires := timestamp(l.ExpiresAt)
	return gen.LockStatus{
		Name:         l.Name,
		Status:       gen.LockStatusStatusHeld,
		HolderId:     &holder,
		FencingToken: &l.Token,
		ExpiresAt:    &expires,
	}
}

// timestamp renders a wall-clock time as the API reports it: UTC, millisecond precision.
func timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func seconds(n int32) time.Duration { return time.Duration(n) * time.Second }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
