package impl

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"github.com/octostore/octostore/gen"
	"github.com/octostore/octostore/impl/lease"
)

// Sessions: one lease on liveness that many locks share (lease.Session). The handlers
// translate; the engine decides.

// newSessionID draws a session id: "ses_" and 128 random bits in hex, from crypto/rand,
// so that the engine's command stays deterministic and ids cannot be guessed.
func newSessionID() string {
	var b [16]byte
	rand.Read(b[:])
	return "ses_" + hex.EncodeToString(b[:])
}

// CreateSession starts a session for the caller's account.
func (s *Server) CreateSession(ctx context.Context, req gen.CreateSessionRequestObject) (gen.CreateSessionResponseObject, error) {
	p := principal(ctx)
	res, err := s.apply(ctx, lease.CreateSession{
		ID:      newSessionID(),
		Account: p.AccountID,
		Holder:  lease.Holder{TokenID: p.TokenID},
		TTL:     seconds(req.Body.TtlSeconds),
	})
	if err != nil {
		return nil, err
	}
	return gen.CreateSession201JSONResponse(s.sessionOf(res.Session)), nil
}

// RenewSession extends a session of the caller's account, and every lease bound to it.
func (s *Server) RenewSession(ctx context.Context, req gen.RenewSessionRequestObject) (gen.RenewSessionResponseObject, error) {
	res, err := s.apply(ctx, lease.RenewSession{ID: req.SessionId, Account: principal(ctx).AccountID})
	if err != nil {
		return nil, err
	}
	return gen.RenewSession200JSONResponse(s.sessionOf(res.Session)), nil
}

// GetSession reports a session of the caller's account and the locks held through it.
func (s *Server) GetSession(ctx context.Context, req gen.GetSessionRequestObject) (gen.GetSessionResponseObject, error) {
	acct := principal(ctx).AccountID
	var (
		sess   lease.Session
		leases []lease.Lease
		ok     bool
	)
	err := s.read(ctx, func(e *lease.Engine) uint64 {
		var rev uint64
		sess, leases, ok, rev = e.Session(acct, req.SessionId)
		return rev
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, lease.ErrSessionNotFound
	}
	base := s.sessionOf(sess)
	out := gen.GetSession200JSONResponse{SessionId: base.SessionId, TtlSeconds: base.TtlSeconds, ExpiresAt: base.ExpiresAt,
		RenewAfterMs: base.RenewAfterMs, Locks: make([]gen.LockStatus, len(leases))}
	for i, l := range leases {
		out.Locks[i] = lockStatus(l)
	}
	return out, nil
}

// DeleteSession ends a session of the caller's account and cleanly releases its locks.
func (s *Server) DeleteSession(ctx context.Context, req gen.DeleteSessionRequestObject) (gen.DeleteSessionResponseObject, error) {
	if _, err := s.apply(ctx, lease.CloseSession{ID: req.SessionId, Account: principal(ctx).AccountID}); err != nil {
		return nil, err
	}
	return gen.DeleteSession204Response{}, nil
}

// sessionOf renders a session as the API reports it.
func (s *Server) sessionOf(sess lease.Session) gen.SessionResult {
	now := s.cfg.Clock.Now()
	return gen.SessionResult{
		SessionId:    sess.ID,
		TtlSeconds:   int32(sess.TTL.Seconds()),
		ExpiresAt:    timestamp(sess.ExpiresAt),
		RenewAfterMs: max(sess.Deadline-now.Mono, 0).Milliseconds() / 3,
	}
}
