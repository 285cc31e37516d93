package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/octostore/octostore/impl/lease"
)

// Hooks observe the group committer, for metrics. Any field may be nil.
type Hooks struct {
	// Committed is called after each durable transaction with the number of engine
	// revisions and changes it held and how long the commit (with its fsync) took.
	Committed func(revisions, changes int, took time.Duration)
}

type pending struct {
	rev     uint64
	changes []lease.Change
}

// committer batches lease changes into transactions. Revisions are submitted in
// increasing order and committed in that order, so "revision N is durable" implies every
// revision before it is too.
type committer struct {
	mu      sync.Mutex
	queue   []pending
	durable uint64
	// advanced is closed, and replaced, whenever durable advances or the committer stops.
	advanced chan struct{}
	err      error // non-nil once stopped or failed
	wake     chan struct{}
}

func (c *committer) init() {
	c.advanced = make(chan struct{})
	c.wake = make(chan struct{}, 1)
}

// Submit queues the changes of engine revision rev for the next group commit. Callers
// submit revisions in increasing order.
func (s *Store) Submit(rev uint64, changes []lease.Change) error {
	c := &s.commit
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return err
	}
	c.queue = append(c.queue, pending{rev: rev, changes: changes})
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

// WaitDurable blocks until revision rev is durable, the committer fails, or ctx ends.
func (s *Store) WaitDurable(ctx context.Context, rev uint64) error {
	c := &s.commit
	for {
		c.mu.Lock()
		durable, err, advanced := c.durable, c.err, c.advanced
		c.mu.Unlock()
		if durable >= rev {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-advanced:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Durable returns the last durable revision.
func (s *Store) Durable() uint64 {
	s.commit.mu.Lock()
	defer s.commit.mu.Unlock()
	return s.commit.durable
}

// Run commits submitted changes until ctx ends, then commits whatever is still queued
// and returns nil. It returns an error when a commit fails; the store then refuses
// everything (ErrClosed), because memory and disk may disagree: restart the process.
func (s *Store) Run(ctx context.Context) error {
	c := &s.commit
	for {
		select {
		case <-c.wake:
		case <-ctx.Done():
			c.mu.Lock()
			c.err = ErrClosed
			c.mu.Unlock()
			// Submit now refuses; flush what was accepted before.
			return s.flush(context.WithoutCancel(ctx))
		}
		if err := s.flush(ctx); err != nil {
			return err
		}
	}
}

// flush commits queued revisions, at most MaxBatch per transaction, until the queue is
// empty.
func (s *Store) flush(ctx context.Context) error {
	c := &s.commit
	ctx = context.WithoutCancel(ctx) // a started commit always finishes
	for {
		c.mu.Lock()
		n := min(len(c.queue), s.opts.MaxBatch)
		batch := c.queue[:n:n]
		c.queue = c.queue[n:]
		c.mu.Unlock()
		if n == 0 {
			return nil
		}
		start := time.Now()
		Failpoint("commit/before")
		changes, err := s.write(ctx, batch)
		if err != nil {
			err = fmt.Errorf("%w: group commit failed: %w", ErrClosed, translate(err))
			c.mu.Lock()
			c.err = err
			close(c.advanced)
			c.advanced = make(chan struct{})
			c.mu.Unlock()
			return err
		}
		Failpoint("commit/after")
		if h := s.opts.Hooks; h != nil && h.Committed != nil {
			h.Committed(n, changes, time.Since(start))
		}
		c.mu.Lock()
		c.durable = batch[n-1].rev
		close(c.advanced)
		c.advanced = make(chan struct{})
		c.mu.Unlock()
	}
}

const (
	upsertLease = `INSERT INTO leases
	(account_id, name, lease_id, token_id, owner, fencing_token, ttl_ms, acquired_ms, expires_ms, metadata, revision)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (account_id, name) DO UPDATE SET
	lease_id = excluded.lease_id, token_id = excluded.token_id, owner = excluded.owner,
	fencing_token = excluded.fencing_token, ttl_ms = excluded.ttl_ms,
	acquired_ms = excluded.acquired_ms, expires_ms = excluded.expires_ms,
	metadata = excluded.metadata, revision = excluded.revision`
	deleteLease   = `DELETE FROM leases WHERE account_id = ? AND name = ? AND lease_id = ?`
	reserveTokens = `UPDATE meta SET value = ? WHERE key = '` + metaFencingReserved + `' AND value < ?`
)

// statements are the group committer's statements, prepared once on the store's one
// connection: SQLite parses them at Open instead of for every change.
type statements struct {
	upsert, delete, reserve *sql.Stmt
}

func (s *Store) prepare(ctx context.Context) error {
	var err error
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{{&s.stmts.upsert, upsertLease}, {&s.stmts.delete, deleteLease}, {&s.stmts.reserve, reserveTokens}} {
		if *p.stmt, err = s.db.DB.PrepareContext(ctx, p.sql); err != nil {
			return fmt.Errorf("prepare statement: %w", translate(err))
		}
	}
	return nil
}

func (st *statements) close() {
	for _, stmt := range []*sql.Stmt{st.upsert, st.delete, st.reserve} {
		if stmt != nil {
			stmt.Close()
		}
	}
}

// write applies a batch in one transaction and returns how many changes it held. The
// fencing reservations of the batch collapse into one update of the highest.
func (s *Store) write(ctx context.Context, batch []pending) (int, error) {
	n := 0
	tx, err := s.db.DB.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var (
		upsert  = tx.StmtContext(ctx, s.stmts.upsert)
		del     = tx.StmtContext(ctx, s.stmts.delete)
		reserve int64
	)
	for _, p := range batch {
		for _, ch := range p.changes {
			n++
			switch ch.Kind {
			case lease.PutLease:
				r := toLeaseRow(ch.Lease)
				_, err = upsert.ExecContext(ctx, r.AccountID, r.Name, r.LeaseID, r.TokenID, r.Owner,
					r.FencingToken, r.TTLMs, r.AcquiredMs, r.ExpiresMs, r.Metadata, r.Revision)
				Failpoint("commit/lease-written")
			case lease.DeleteLease:
				_, err = del.ExecContext(ctx, ch.Lease.Account, ch.Lease.Name, ch.Lease.ID)
				Failpoint("commit/delete-written")
			case lease.ReserveToken:
				reserve = max(reserve, ch.Reserve)
			default:
				err = fmt.Errorf("unknown change kind %d", ch.Kind)
			}
			if err != nil {
				return n, err
			}
		}
	}
	if reserve > 0 {
		if _, err := tx.StmtContext(ctx, s.stmts.reserve).ExecContext(ctx, reserve, reserve); err != nil {
			return n, err
		}
		Failpoint("commit/reserve-written")
	}
	return n, tx.Commit()
}
