package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/octostore/octostore/impl/failpoint"
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
// revision before it is too, except the revisions of a failed commit: those are lost
// (never acknowledged) and stay lost, whatever becomes durable after them.
type committer struct {
	mu      sync.Mutex
	queue   []pending
	durable uint64
	// advanced is closed, and replaced, whenever durable advances or the committer stops
	// or fails.
	advanced chan struct{}
	err      error // non-nil once stopped (ErrClosed)
	// degraded is non-nil while the database refuses writes (ErrUnavailable); failed is
	// closed when that starts and replaced when it ends (Resume).
	degraded error
	since    time.Time
	failed   chan struct{}
	// lost are the revision spans whose commit failed; the last may be open (hi 0) while
	// degraded.
	lost []span
	wake chan struct{}
	// degrade carries Degrade's cause to Run, so that it takes effect between commits.
	degrade chan error
}

// span is a closed range of revisions; hi 0 means "and every later one".
type span struct{ lo, hi uint64 }

func (c *committer) init() {
	c.advanced = make(chan struct{})
	c.failed = make(chan struct{})
	c.wake = make(chan struct{}, 1)
	c.degrade = make(chan error, 1)
}

// lostLocked reports whether revision rev belongs to a failed commit. c.mu is held.
func (c *committer) lostLocked(rev uint64) bool {
	for _, sp := range c.lost {
		if rev >= sp.lo && (sp.hi == 0 || rev <= sp.hi) {
			return true
		}
	}
	return false
}

// degradeLocked stops accepting writes because of cause; the revisions from lo on are
// lost. c.mu is held.
func (c *committer) degradeLocked(cause error, lo uint64) {
	if c.degraded == nil {
		c.degraded = cause
		c.since = time.Now()
		close(c.failed)
		if lo > 0 {
			c.lost = append(c.lost, span{lo: lo})
		}
	}
	c.queue = nil
	close(c.advanced)
	c.advanced = make(chan struct{})
}

// Submit queues the changes of engine revision rev for the next group commit. Callers
// submit revisions in increasing order. While the database refuses writes it returns an
// error wrapping ErrUnavailable and the revision is lost.
func (s *Store) Submit(rev uint64, changes []lease.Change) error {
	c := &s.commit
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return err
	}
	if c.degraded != nil {
		err := c.degraded
		if n := len(c.lost); n == 0 || c.lost[n-1].hi != 0 {
			c.lost = append(c.lost, span{lo: rev})
		}
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

// WaitDurable blocks until revision rev is durable, the committer fails or stops, or ctx
// ends. A revision whose commit failed returns an error wrapping ErrUnavailable, also
// after the database recovered.
func (s *Store) WaitDurable(ctx context.Context, rev uint64) error {
	c := &s.commit
	for {
		c.mu.Lock()
		durable, err, advanced := c.durable, c.err, c.advanced
		lost := c.lostLocked(rev)
		degraded := c.degraded
		c.mu.Unlock()
		if lost {
			if degraded == nil {
				degraded = fmt.Errorf("%w: the commit of this change failed", ErrUnavailable)
			}
			return degraded
		}
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

// Health is whether the store accepts writes and, when not, why and since when.
type Health struct {
	// Degraded is the error that stopped writes (nil when they are accepted); it may name
	// files, so it is for logs.
	Degraded error
	// Reason says why in words safe to show anyone (no paths): "disk full",
	// "read-only file system", "i/o error", ….
	Reason string
	Since  time.Time
}

// Health reports the store's state.
func (s *Store) Health() Health {
	c := &s.commit
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.degraded == nil {
		return Health{}
	}
	return Health{Degraded: c.degraded, Reason: reason(c.degraded), Since: c.since}
}

// Writable returns nil when the store accepts writes, or the error wrapping
// ErrUnavailable that says why not.
func (s *Store) Writable() error {
	c := &s.commit
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return c.degraded
}

// Failed returns a channel closed once the store refuses writes. After Resume, call it
// again for the next failure.
func (s *Store) Failed() <-chan struct{} {
	s.commit.mu.Lock()
	defer s.commit.mu.Unlock()
	return s.commit.failed
}

// Degrade makes the running store refuse writes with cause (wrapped in ErrUnavailable)
// until Resume, as a failed commit does. Run applies it between two commits: revisions
// submitted and not yet committed then are lost.
func (s *Store) Degrade(cause error) {
	select {
	case s.commit.degrade <- cause:
	default: // one is pending already
	}
}

// Resume accepts writes again after Probe succeeded and the caller rebuilt its state
// from the database (Leases). Every revision up to last that is not durable yet stays
// lost; the caller's next revision must be above last.
func (s *Store) Resume(last uint64) {
	c := &s.commit
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.degraded == nil {
		return
	}
	if n := len(c.lost); n > 0 && c.lost[n-1].hi == 0 {
		if last < c.lost[n-1].lo {
			c.lost = c.lost[:n-1] // nothing was lost
		} else {
			c.lost[n-1].hi = last
		}
	}
	c.durable = max(c.durable, last)
	c.degraded = nil
	c.since = time.Time{}
	c.failed = make(chan struct{})
	close(c.advanced)
	c.advanced = make(chan struct{})
}

// Run commits submitted changes until ctx ends, then commits whatever is still queued
// and returns nil. A failed commit does not end it: the store refuses writes
// (ErrUnavailable) until Resume, and Run keeps checking the database file.
func (s *Store) Run(ctx context.Context) error {
	c := &s.commit
	check := time.NewTicker(s.opts.CheckInterval)
	defer check.Stop()
	for {
		select {
		case <-c.wake:
		case <-check.C:
			if s.Writable() == nil {
				if err := s.checkIdentity(); err != nil {
					s.degradeNow(err)
				}
			}
			continue
		case cause := <-c.degrade:
			s.degradeNow(cause)
			continue
		case <-ctx.Done():
			c.mu.Lock()
			c.err = ErrClosed
			c.mu.Unlock()
			// Submit now refuses; flush what was accepted before.
			s.flush(context.WithoutCancel(ctx))
			return nil
		}
		s.flush(ctx)
	}
}

// flush commits queued revisions, at most MaxBatch per transaction, until the queue is
// empty or a commit fails (then the store is degraded).
func (s *Store) flush(ctx context.Context) {
	c := &s.commit
	ctx = context.WithoutCancel(ctx) // a started commit always finishes
	for {
		c.mu.Lock()
		n := min(len(c.queue), s.opts.MaxBatch)
		batch := c.queue[:n:n]
		c.queue = c.queue[n:]
		c.mu.Unlock()
		if n == 0 {
			return
		}
		start := time.Now()
		failpoint.Hit("commit/before")
		changes, err := s.write(ctx, batch)
		if err == nil {
			// A commit into a file that is no longer the database is not durable.
			err = s.checkIdentity()
		} else {
			err = fmt.Errorf("group commit failed: %w", translate(err))
		}
		if err != nil {
			c.mu.Lock()
			c.degradeLocked(fmt.Errorf("%w: %w", ErrUnavailable, err), batch[0].rev)
			c.mu.Unlock()
			return
		}
		failpoint.Hit("commit/after")
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
	(account_id, name, lease_id, token_id, owner, fencing_token, ttl_ms, acquired_ms, expires_ms, metadata, revision,
	session_id, lock_delay_ms, max_holders)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (account_id, name, lease_id) DO UPDATE SET
	token_id = excluded.token_id, owner = excluded.owner,
	fencing_token = excluded.fencing_token, ttl_ms = excluded.ttl_ms,
	acquired_ms = excluded.acquired_ms, expires_ms = excluded.expires_ms,
	metadata = excluded.metadata, revision = excluded.revision,
	session_id = excluded.session_id, lock_delay_ms = excluded.lock_delay_ms, max_holders = excluded.max_holders`
	deleteLease   = `DELETE FROM leases WHERE account_id = ? AND name = ? AND lease_id = ?`
	reserveTokens = `UPDATE meta SET value = ? WHERE key = '` + metaFencingReserved + `' AND value < ?`
	upsertSession = `INSERT INTO lock_sessions (id, account_id, token_id, owner, ttl_ms, created_ms, expires_ms)
	VALUES (?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (id) DO UPDATE SET ttl_ms = excluded.ttl_ms, expires_ms = excluded.expires_ms`
	deleteSession = `DELETE FROM lock_sessions WHERE id = ?`
	upsertDelay   = `INSERT INTO lock_delays (account_id, name, lease_id, delay_ms, until_ms, max_holders)
	VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (account_id, name, lease_id) DO UPDATE SET
	delay_ms = excluded.delay_ms, until_ms = excluded.until_ms, max_holders = excluded.max_holders`
	deleteDelay = `DELETE FROM lock_delays WHERE account_id = ? AND name = ? AND lease_id = ?`
)

// statements are the group committer's statements, prepared once on the store's one
// connection: SQLite parses them at Open instead of for every change.
type statements struct {
	upsert, delete, reserve                                *sql.Stmt
	upsertSession, deleteSession, upsertDelay, deleteDelay *sql.Stmt
}

func (s *Store) prepare(ctx context.Context) error {
	var err error
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{{&s.stmts.upsert, upsertLease}, {&s.stmts.delete, deleteLease}, {&s.stmts.reserve, reserveTokens},
		{&s.stmts.upsertSession, upsertSession}, {&s.stmts.deleteSession, deleteSession},
		{&s.stmts.upsertDelay, upsertDelay}, {&s.stmts.deleteDelay, deleteDelay}} {
		if *p.stmt, err = s.db.DB.PrepareContext(ctx, p.sql); err != nil {
			return fmt.Errorf("prepare statement: %w", translate(err))
		}
	}
	return nil
}

func (st *statements) close() {
	for _, stmt := range []*sql.Stmt{st.upsert, st.delete, st.reserve, st.upsertSession, st.deleteSession, st.upsertDelay, st.deleteDelay} {
		if stmt != nil {
			stmt.Close()
		}
	}
}

// write applies a batch in one transaction and returns how many changes it held. The
// fencing reservations of the batch collapse into one update of the highest.
func (s *Store) write(ctx context.Context, batch []pending) (int, error) {
	tx, err := s.db.DB.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	w := s.changeWriter(ctx, tx)
	for _, p := range batch {
		if err := w.write(p.changes); err != nil {
			return w.n, err
		}
	}
	if err := w.finish(0); err != nil {
		return w.n, err
	}
	return w.n, tx.Commit()
}

// changeWriter writes lease changes into one transaction with the prepared statements.
type changeWriter struct {
	ctx         context.Context
	tx          *sql.Tx
	st          *statements
	upsert, del *sql.Stmt
	reserve     int64 // the highest reservation seen
	n           int   // changes written
}

func (s *Store) changeWriter(ctx context.Context, tx *sql.Tx) *changeWriter {
	return &changeWriter{ctx: ctx, tx: tx, st: &s.stmts, upsert: tx.StmtContext(ctx, s.stmts.upsert), del: tx.StmtContext(ctx, s.stmts.delete)}
}

func (w *changeWriter) write(changes []lease.Change) error {
	var err error
	for _, ch := range changes {
		w.n++
		switch ch.Kind {
		case lease.PutLease:
			r := toLeaseRow(ch.Lease)
			_, err = w.upsert.ExecContext(w.ctx, r.AccountID, r.Name, r.LeaseID, r.TokenID, r.Owner,
				r.FencingToken, r.TTLMs, r.AcquiredMs, r.ExpiresMs, r.Metadata, r.Revision,
				r.SessionID, r.LockDelayMs, r.MaxHolders)
			failpoint.Hit("commit/lease-written")
		case lease.DeleteLease:
			_, err = w.del.ExecContext(w.ctx, ch.Lease.Account, ch.Lease.Name, ch.Lease.ID)
			failpoint.Hit("commit/delete-written")
		case lease.ReserveToken:
			w.reserve = max(w.reserve, ch.Reserve)
		case lease.PutSession:
			r := toLockSessionRow(*ch.Session)
			_, err = w.tx.StmtContext(w.ctx, w.st.upsertSession).ExecContext(w.ctx, r.ID, r.AccountID, r.TokenID, r.Owner,
				r.TTLMs, r.CreatedMs, r.ExpiresMs)
		case lease.DeleteSession:
			_, err = w.tx.StmtContext(w.ctx, w.st.deleteSession).ExecContext(w.ctx, ch.Session.ID)
		case lease.PutDelay:
			r := toLockDelayRow(*ch.Delay)
			_, err = w.tx.StmtContext(w.ctx, w.st.upsertDelay).ExecContext(w.ctx, r.AccountID, r.Name, r.LeaseID,
				r.DelayMs, r.UntilMs, r.MaxHolders)
		case lease.DeleteDelay:
			_, err = w.tx.StmtContext(w.ctx, w.st.deleteDelay).ExecContext(w.ctx, ch.Delay.Account, ch.Delay.Name, ch.Delay.LeaseID)
		default:
			err = fmt.Errorf("unknown change kind %d", ch.Kind)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// finish raises the stored fencing reservation to the highest seen, and to floor.
func (w *changeWriter) finish(floor int64) error {
	reserve := max(w.reserve, floor)
	if reserve <= 0 {
		return nil
	}
	if _, err := w.tx.StmtContext(w.ctx, w.st.reserve).ExecContext(w.ctx, reserve, reserve); err != nil {
		return err
	}
	failpoint.Hit("commit/reserve-written")
	return nil
}

// degradeNow degrades the store between commits (Run's goroutine): what is queued is lost.
func (s *Store) degradeNow(cause error) {
	c := &s.commit
	c.mu.Lock()
	defer c.mu.Unlock()
	c.degradeLocked(fmt.Errorf("%w: %w", ErrUnavailable, cause), c.durable+1)
}
