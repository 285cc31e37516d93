package impl

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/octostore/octostore/gen"
	"github.com/octostore/octostore/impl/auth"
	"github.com/octostore/octostore/impl/lease"
)

// Prefix lists and prefix watches: GET /locks?prefix=…, and with index and wait_seconds a
// long-poll that returns once any lock under the prefix changed past index. A watcher
// looks at the engine's ChangesSince and, finding nothing, registers under the server's
// lock before it lets go of it; every Apply's changes are matched against the registered
// prefixes in dispatch, so no change falls between the look and the wait.

// listPrefix is the list kind of a prefix list's cursors.
const listPrefix = "prefix"

// errIndexWithoutPrefix refuses a prefix watch that names no prefix.
var errIndexWithoutPrefix = errors.New("index and wait_seconds need a prefix")

// prefixWatchers are the waiting prefix watches, by account. Server.mu guards them.
type prefixWatchers struct {
	byAccount map[string]map[*prefixWatch]struct{}
}

// prefixWatch is one waiting request; ch is closed when a lock under its prefix changes.
type prefixWatch struct {
	prefix string
	ch     chan struct{}
}

func (pw *prefixWatchers) add(acct string, w *prefixWatch) {
	if pw.byAccount == nil {
		pw.byAccount = make(map[string]map[*prefixWatch]struct{})
	}
	m := pw.byAccount[acct]
	if m == nil {
		m = make(map[*prefixWatch]struct{})
		pw.byAccount[acct] = m
	}
	m[w] = struct{}{}
}

func (pw *prefixWatchers) remove(acct string, w *prefixWatch) {
	if m := pw.byAccount[acct]; m != nil {
		delete(m, w)
		if len(m) == 0 {
			delete(pw.byAccount, acct)
		}
	}
}

// wakePrefixWatchers wakes every prefix watch under which one of changes falls. s.mu is
// held.
func (s *Server) wakePrefixWatchers(changes []lease.Change) {
	if len(s.prefix.byAccount) == 0 {
		return
	}
	for _, c := range changes {
		switch c.Kind {
		case lease.ReserveToken, lease.PutSession, lease.DeleteSession:
			continue
		}
		for w := range s.prefix.byAccount[c.Lease.Account] {
			if strings.HasPrefix(c.Lease.Name, w.prefix) {
				close(w.ch)
				s.prefix.remove(c.Lease.Account, w)
			}
		}
	}
}

// wakeAllPrefixWatchers wakes every prefix watch (the engine was rebuilt). s.mu is held.
func (s *Server) wakeAllPrefixWatchers() {
	for acct, m := range s.prefix.byAccount {
		for w := range m {
			close(w.ch)
		}
		delete(s.prefix.byAccount, acct)
	}
}

// listPrefix answers GET /locks with prefix: a page of the locks under it with the index
// to watch from, or, with index, the changes past it (waiting up to wait_seconds for one).
func (s *Server) listPrefix(ctx context.Context, params gen.ListLocksParams) (gen.ListLocksResponseObject, error) {
	if params.Prefix == nil {
		return nil, errIndexWithoutPrefix
	}
	acct, prefix := principal(ctx).AccountID, *params.Prefix
	if params.Index != nil {
		changes, next, complete, err := s.watchPrefix(ctx, acct, prefix, *params.Index, s.waitFor(params.WaitSeconds))
		if err != nil {
			return nil, err
		}
		out := gen.ListLocks200JSONResponse{Locks: []gen.LockStatus{}, Index: &next, Complete: &complete}
		list := make([]gen.LockStatus, len(changes))
		for i, st := range changes {
			list[i] = statusOf(st)
		}
		out.Changes = &list
		return out, nil
	}
	scope := acct + "\x00" + prefix // a cursor belongs to one account's one prefix
	pg, err := openPage(params.Cursor, params.Limit, listPrefix, scope)
	if err != nil {
		return nil, err
	}
	var (
		locks []lease.Status
		more  bool
		index int64
	)
	err = s.read(ctx, func(e *lease.Engine) uint64 {
		var rev uint64
		locks, more, index, rev = e.ListPrefixPage(acct, prefix, pg.after.Name, pg.limit)
		return rev
	})
	if err != nil {
		return nil, err
	}
	out := gen.ListLocks200JSONResponse{Locks: make([]gen.LockStatus, len(locks)), Index: &index}
	for i, st := range locks {
		out.Locks[i] = statusOf(st)
	}
	if more {
		out.NextCursor = encodeCursor(cursor{List: listPrefix, Scope: scopeOf(scope), Name: locks[len(locks)-1].Name})
	}
	return out, nil
}

// watchPrefix returns the changes under prefix past index, waiting up to wait for one.
// The state it reports is durable like every read's.
func (s *Server) watchPrefix(ctx context.Context, acct, prefix string, index int64, wait time.Duration) ([]lease.Status, int64, bool, error) {
	var ended chan struct{}
	if wait > 0 && !s.draining() {
		if err := s.waiters.enter(acct); err != nil {
			return nil, 0, false, err
		}
		defer s.waiters.leave(acct)
		ended = make(chan struct{})
		stop := s.afterFunc(wait, func() { close(ended) })
		defer stop()
	}
	tokenID := principal(ctx).TokenID
	for {
		s.mu.Lock()
		revoked := s.co.revoked
		if ended != nil && !s.auth.Active(tokenID) {
			// The watcher's token was revoked or its account deleted while it waited.
			s.mu.Unlock()
			return nil, 0, false, auth.ErrUnauthorized
		}
		if err := s.sweepLocked(lease.Sweep{Account: acct}); err != nil {
			s.mu.Unlock()
			return nil, 0, false, err
		}
		changes, next, complete, dep := s.engine.ChangesSince(acct, prefix, index)
		if len(changes) > 0 || !complete || wait <= 0 || closed(ended) || s.draining() {
			s.mu.Unlock()
			return changes, next, complete, s.durableRead(ctx, dep)
		}
		w := &prefixWatch{prefix: prefix, ch: make(chan struct{})}
		s.prefix.add(acct, w)
		s.mu.Unlock()
		var err error
		select {
		case <-w.ch:
		case <-ended:
		case <-s.co.drain:
		case <-revoked:
		case <-ctx.Done():
			err = ctx.Err()
		}
		s.mu.Lock()
		s.prefix.remove(acct, w)
		s.mu.Unlock()
		if err != nil {
			return nil, 0, false, err
		}
	}
}
