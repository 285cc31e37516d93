// Package lease is OctoStore's lock engine: a deterministic state machine over fenced,
// time-limited leases.
//
// Every mutation is a Command given to Engine.Apply together with the current time. The
// engine reads no clock, draws no random numbers and does no I/O: the same commands at the
// same instants always produce the same results and the same Changes. The caller persists
// the Changes (or, one day, replicates them through a log) before it reports the Result.
//
// Beyond one lease per lock, a lock may be a semaphore (up to MaxHolders distinct holders,
// each with a lease and fencing token of its own), a lease may be bound to a Session (it
// lives exactly as long as the session), and a lease may carry a lock-delay: when it
// expires, or its session expires, its place in the lock stays taken by nobody for that
// long (Chubby's lock-delay), so that a holder that lost its lease without noticing has
// time to stop before anyone else is granted the lock. A clean release — Release, a
// deleted session, an operator's ForceRelease — never starts a lock-delay.
package lease

import (
	"container/heap"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxFencingToken is the largest fencing token the engine issues: 2^53-1, so every
// client language reads tokens exactly.
const MaxFencingToken = 1<<53 - 1

// DefaultReserveBlock is how many fencing tokens one durable reservation covers.
const DefaultReserveBlock = 1024

// Errors returned by Apply. The Result that comes with them is still meaningful: its Rev
// says which state the refusal was decided on.
var (
	// ErrNotCurrent means the lease named by a renew or release is not the lock's
	// current lease: it is unknown, expired, released, or belongs to another lock.
	ErrNotCurrent = errors.New("lease is not the lock's current lease")
	// ErrLimitExceeded means the account already holds its maximum number of locks.
	ErrLimitExceeded = errors.New("account holds its maximum number of active locks")
	// ErrInvalid means a command is malformed (non-positive TTL, empty name or holder).
	ErrInvalid = errors.New("invalid command")
	// ErrTokensExhausted means the fencing counter reached MaxFencingToken.
	ErrTokensExhausted = errors.New("fencing tokens exhausted")
	// ErrMetadataTooLarge means an acquire's metadata is longer than MaxMetadataChars.
	ErrMetadataTooLarge = errors.New("metadata is too large")
	// ErrMaxHoldersMismatch means an acquire's MaxHolders differs from the one the lock's
	// current holders (or its lock-delay, or its line) agreed on.
	ErrMaxHoldersMismatch = errors.New("max_holders differs from the lock's current holders")
	// ErrSessionNotFound means the session a command names is unknown, expired, deleted
	// or belongs to another account.
	ErrSessionNotFound = errors.New("session not found")
	// ErrSessionLimitExceeded means the account already has its maximum number of
	// sessions.
	ErrSessionLimitExceeded = errors.New("account has its maximum number of sessions")
	// ErrSessionMismatch means the holder already holds the lock, but bound to another
	// session (or to none) than the acquire names.
	ErrSessionMismatch = errors.New("lock is held by this holder through another session")
	// ErrAccountDropped is the Handoff error of a waiter whose account DropAccount ended.
	ErrAccountDropped = errors.New("account deleted")
)

// MaxMetadataChars is the longest metadata value a lease carries, in characters (Unicode
// code points), as the spec's maxLength counts them; so at most 4 KiB in UTF-8.
const MaxMetadataChars = 1024

// Bounds of the commands' durations and counts.
const (
	// MaxLockDelay is the longest lock-delay an acquire may ask for.
	MaxLockDelay = 60 * time.Second
	// MaxSessionTTL is the longest TTL of a session.
	MaxSessionTTL = 3600 * time.Second
	// MaxHoldersLimit is the largest MaxHolders of a semaphore.
	MaxHoldersLimit = 64
)

// Instant is a point in server time. Expiry is decided on Mono alone, a monotonic clock
// reading, so wall-clock jumps never move a deadline; Wall is only reported and stored.
type Instant struct {
	Mono time.Duration // monotonic reading since an arbitrary origin
	Wall time.Time     // wall clock at the same moment
}

// Add returns the instant d later.
func (i Instant) Add(d time.Duration) Instant {
	return Instant{Mono: i.Mono + d, Wall: i.Wall.Add(d)}
}

// Key names a lock: a name inside one account.
type Key struct {
	Account string
	Name    string
}

// Holder identifies who holds a lease: a token and an optional owner chosen by the
// client. Two requests are the same holder only when both name the same token and the
// same non-empty owner: a holder without an owner is a holder of its own and never
// matches another request, so two owner-less clients sharing a token exclude each other.
type Holder struct {
	TokenID string
	Owner   string
}

// Same reports whether h and o are provably the same holder: the same token and the
// same non-empty owner.
func (h Holder) Same(o Holder) bool { return h.Owner != "" && h == o }

// String renders the holder as it is shown to other clients: the token id, then
// "/owner" when an owner was given.
func (h Holder) String() string {
	if h.Owner == "" {
		return h.TokenID
	}
	return h.TokenID + "/" + h.Owner
}

// Lease is one grant of a lock.
type Lease struct {
	Key
	ID         string        // chosen by the caller of Apply, unique per grant
	Holder     Holder        //
	Token      int64         // the fencing token
	TTL        time.Duration // the length of the lease, restored in full after a restart
	Deadline   time.Duration // monotonic instant at which the lease ends
	ExpiresAt  time.Time     // wall-clock rendering of Deadline
	AcquiredAt time.Time     // wall clock of the grant
	ModRev     uint64        // revision of the last durable change to this lease
	Metadata   string        // the holder's small public value (a leader's address)
	// Revision is the lock's revision as clients see it: it was drawn when the lease was
	// granted or its metadata last changed. Unlike ModRev it survives restarts and does
	// not move on renewals.
	Revision int64
	// SessionID, when set, binds the lease to a session: it has no deadline of its own
	// and ends when the session ends (Deadline and ExpiresAt are the session's; TTL is
	// the session's at the grant).
	SessionID string
	// LockDelay is how long the lease's place in the lock stays taken by nobody after the
	// lease expires or its session expires (never after a release).
	LockDelay time.Duration
	// MaxHolders is how many holders the lock admits at once (0 means 1).
	MaxHolders int
}

// Command is a mutation of the engine: Acquire, Renew, Release, CancelWait, Sweep,
// CreateSession, RenewSession, CloseSession, ForceRelease or DropAccount.
type Command interface{ isCommand() }

// Acquire grants Key to Holder for TTL when the lock is free, or reports who holds it.
// LeaseID is the id the new lease gets; it must be unique and is chosen by the caller so
// that Apply stays deterministic.
//
// With Wait, a lock held by someone else puts Holder in the lock's line instead (outcome
// Queued): a later release or expiry grants the lease LeaseID to the head of the line in
// the same Apply and reports it in Result.Handoffs. LeaseID also names the waiter, for
// CancelWait. A holder already in the line (Holder.Same) keeps its place (and its LeaseID); its TTL and
// metadata are updated.
//
// With MaxHolders N > 1 the lock is a semaphore: up to N distinct holders hold it at
// once, each with its own lease and token, and the N+1th is answered Held (or waits).
// Every acquire of a lock that is held, delayed or waited for must name the same N
// (ErrMaxHoldersMismatch). With SessionID the lease is bound to that session of the
// account (TTL is then ignored and may be 0). While the lock is in lock-delay the answer
// is Held with no holder and Result.AvailableAt.
type Acquire struct {
	Key     Key
	Holder  Holder
	TTL     time.Duration
	LeaseID string
	// Metadata, when not nil, is stored with the lease (it replaces the stored value on a
	// re-acquire). At most MaxMetadataChars characters.
	Metadata *string
	Wait     bool
	// SessionID, when set, binds the lease to the session.
	SessionID string
	// LockDelay (0..MaxLockDelay) applies when the lease expires or its session expires.
	LockDelay time.Duration
	// MaxHolders (0..MaxHoldersLimit, 0 meaning 1) is the lock's number of holders.
	MaxHolders int
}

// CancelWait takes the waiter LeaseID out of Key's line. Unlike every other command it
// acts before the Apply's expiries, so a waiter leaving as the holder's lease falls due is
// never granted the lock. It fails with ErrNotCurrent when no such waiter is in line (it
// was granted the lock, or never queued).
type CancelWait struct {
	Key     Key
	LeaseID string
}

// Renew extends the current lease of Key to now+TTL (never shortening it). A lease bound
// to a session is renewed by renewing its session (with the session's TTL).
type Renew struct {
	Key     Key
	LeaseID string
	TTL     time.Duration
}

// Release ends the current lease of Key. A release never starts a lock-delay.
type Release struct {
	Key     Key
	LeaseID string
}

// ForceRelease is an operator's release of every lease of Key at once, and of its
// lock-delay: the next waiters are granted the lock in the same Apply. It ends nothing
// (and succeeds) when the lock is free. Result.Leases are the leases it ended.
type ForceRelease struct {
	Key Key
}

// Sweep only expires leases whose deadline has passed. Every command sweeps first; Sweep
// exists so that idle expiries are noticed and persisted too. One Apply expires at most
// Config.MaxExpiries leases in deadline order (an expiry storm is worked off in batches,
// so no request waits long behind it), and always the lease of the lock the command
// names: a command never sees a lease of its own lock that should have ended. Sessions
// and lock-delays end by the same sweep, in the same deadline order.
type Sweep struct {
	// Key, when set, is a lock whose due lease is expired whatever the bound, so a read
	// of that lock sees it as it is.
	Key *Key
	// Account, when set, has every due lease of its own expired, for a read of its list.
	Account string
}

// DropAccount ends everything an account has in the engine at once, as an operator's
// force-release of each of its locks would: its sessions (and the leases bound to them),
// its other leases and its lock-delays. Each lock's revision moves, so watchers see it;
// fencing tokens go on from where they were. Every waiter of the account leaves its line
// first and is reported in Result.Handoffs with ErrAccountDropped, so nothing is granted
// to anyone: only the account waits for its own locks.
type DropAccount struct {
	Account string
}

func (DropAccount) isCommand()  {}
func (Acquire) isCommand()      {}
func (Renew) isCommand()        {}
func (Release) isCommand()      {}
func (Sweep) isCommand()        {}
func (ForceRelease) isCommand() {}

func (CancelWait) isCommand() {}

// Outcome says what a command did.
type Outcome int

// The outcomes of Apply.
const (
	Swept     Outcome = iota // a Sweep
	Acquired                 // the caller holds the lease in Result.Lease (new or idempotent re-acquire)
	Held                     // someone else holds Result.Lease (a semaphore: all holders in Result.Leases), or the lock is in lock-delay (Result.AvailableAt)
	Renewed                  // Result.Lease was extended
	Released                 // Result.Lease ended (ForceRelease: Result.Leases ended)
	Queued                   // the caller waits in line (Result.Waiting) behind Result.Lease
	Cancelled                // a waiter left the line

	SessionCreated // Result.Session is new
	SessionRenewed // Result.Session was extended
	SessionClosed  // Result.Session ended, and with it the leases in Result.Leases
	Dropped        // DropAccount ended an account's sessions, leases, lock-delays and waiters
)

// ChangeKind says what a Change does to durable state.
type ChangeKind int

// The kinds of Change.
const (
	PutLease      ChangeKind = iota + 1 // store Lease (insert or replace the row of Lease.Key and Lease.ID)
	DeleteLease                         // remove Lease (released or expired)
	ReserveToken                        // fencing tokens and revisions up to Reserve may be issued
	PutSession                          // store Session (insert or replace)
	DeleteSession                       // remove Session (deleted or expired)
	PutDelay                            // store Delay, a lock-delay of Delay.Key (Lease.Key names the lock too)
	DeleteDelay                         // remove Delay (it ended)
)

// Change is one durable effect of a command. Persisting every Change of a Result, in
// order and atomically, keeps storage equal to what Restore needs. Every change of a lock
// (a lease or a lock-delay) names the lock in Lease.Key.
type Change struct {
	Kind    ChangeKind
	Lease   Lease
	Reserve int64
	// Session is the session of PutSession and DeleteSession, Delay the lock-delay of
	// PutDelay and DeleteDelay (pointers, so that the many lease changes stay small).
	Session *Session
	Delay   *Delay
}

// Result is what Apply decided.
type Result struct {
	Outcome Outcome
	Lease   Lease
	// Rev is the revision of the state this result was decided on. The result must not
	// be reported before every change up to Rev is durable.
	Rev uint64
	// Changes must be persisted, at revision Rev, before the result is reported.
	Changes []Change
	// Waiting is the queued waiter's LeaseID when Outcome is Queued.
	Waiting string
	// Handoffs are the waiters this Apply granted a lock to (or refused), in order. A
	// grant is part of Changes and must not be reported before Rev is durable.
	Handoffs []Handoff
	// Leases are, for Held and Queued of a semaphore (MaxHolders > 1), every current
	// holder in token order (a plain lock's is Lease); for ForceRelease and
	// CloseSession, the leases that ended.
	Leases []Lease
	// Session is the session of a session command.
	Session Session
	// AvailableAt, for Held and Queued while the lock is full and in lock-delay, is the
	// wall-clock instant at which the earliest lock-delay ends, and RetryAfter how long
	// that is from now. Both are zero otherwise.
	AvailableAt time.Time
	RetryAfter  time.Duration
}

// Handoff is what a release or expiry did for the head of a lock's line.
type Handoff struct {
	// Waiter is the waiter's LeaseID.
	Waiter string
	// Lease is the granted lease when Err is nil.
	Lease Lease
	// Err is ErrLimitExceeded, ErrTokensExhausted, ErrMaxHoldersMismatch or
	// ErrSessionNotFound when the waiter could not be granted the lock; it has left the
	// line.
	Err error
}

// Config holds the engine's limits. Zero values mean defaults.
type Config struct {
	MaxLocksPerAccount    int   // leases plus lock-delays of one account; 0 means 100
	ReserveBlock          int64 // 0 means DefaultReserveBlock
	MaxWaitersPerLock     int   // 0 means DefaultMaxWaiters
	MaxTombstones         int   // 0 means DefaultMaxTombstones
	MaxExpiries           int   // leases one Apply expires in deadline order; 0 means DefaultMaxExpiries
	MaxSessionsPerAccount int   // 0 means DefaultMaxSessions
}

// DefaultMaxExpiries bounds the expiries of one Apply.
const DefaultMaxExpiries = 512

// Engine is the lock state machine. It is not safe for concurrent use: its owner
// serialises Apply calls and passes non-decreasing instants.
type Engine struct {
	cfg       Config
	accounts  map[string]*account
	expiry    timerHeap[*entry]   // leases not bound to a session
	delays    timerHeap[*delayed] // lock-delays
	sessExp   timerHeap[*session] // sessions
	sessions  map[string]*session
	count     int
	rev       uint64 // last revision that produced changes
	freedRev  uint64 // last revision at which any lease ended
	lastToken int64
	reserved  int64 // fencing tokens and revisions up to this may have been issued

	lastRevision int64
	lines        map[Key]*line // waiters of held locks
	tombs        map[Key]int64 // revisions at which free locks became free
	floor        int64         // the revision of a free lock without a tombstone
	handoffs     []Handoff     // collected during one Apply
}

// account is one account's locks and sessions.
type account struct {
	locks    map[string]*lock
	used     int // leases plus lock-delays, against MaxLocksPerAccount
	leases   int
	sessions map[string]*session
}

// lock is a lock that is held or in lock-delay.
type lock struct {
	key      Key
	holders  []*entry   // in grant (token) order
	delays   []*delayed // in start order
	max      int        // the holders agreed on (1 for a plain lock)
	revision int64      // as clients see it
	modRev   uint64     // revision of the last change to it
	one      [1]*entry  // holders' first backing array: a plain lock allocates none
}

type entry struct {
	lease   Lease
	index   int      // position in the expiry heap, -1 when bound to a session
	session *session // the session it is bound to, if any
}

func (en *entry) due() time.Duration { return en.lease.Deadline }
func (en *entry) setIndex(i int)     { en.index = i }

// New returns an empty engine.
func New(cfg Config) *Engine {
	if cfg.MaxLocksPerAccount <= 0 {
		cfg.MaxLocksPerAccount = 100
	}
	if cfg.ReserveBlock <= 0 {
		cfg.ReserveBlock = DefaultReserveBlock
	}
	if cfg.MaxWaitersPerLock <= 0 {
		cfg.MaxWaitersPerLock = DefaultMaxWaiters
	}
	if cfg.MaxTombstones <= 0 {
		cfg.MaxTombstones = DefaultMaxTombstones
	}
	if cfg.MaxExpiries <= 0 {
		cfg.MaxExpiries = DefaultMaxExpiries
	}
	if cfg.MaxSessionsPerAccount <= 0 {
		cfg.MaxSessionsPerAccount = DefaultMaxSessions
	}
	return &Engine{
		cfg:      cfg,
		accounts: make(map[string]*account),
		sessions: make(map[string]*session),
		lines:    make(map[Key]*line),
		tombs:    make(map[Key]int64),
	}
}

// State is the durable state an engine is rebuilt from.
type State struct {
	Leases   []Lease
	Sessions []Session
	Delays   []Delay
	Reserved int64 // the fencing reservation
}

// Restore rebuilds an engine from durable state: the leases that were not released and
// the fencing reservation. Every lease gets a fresh full TTL from now, because the time
// the server was down cannot be measured on its monotonic clock; a lease therefore never
// ends earlier than its holder was promised. Fencing tokens and revisions continue above
// every value that may have been issued, so a watcher from before the restart misses no
// change (free locks report the restored floor, which may wake it once for nothing).
// Waiters are not durable: they ended with the process that held them.
func Restore(cfg Config, leases []Lease, reserved int64, now Instant) *Engine {
	return RestoreState(cfg, State{Leases: leases, Reserved: reserved}, now)
}

// RestoreState is Restore with sessions and lock-delays: every session gets a fresh full
// TTL from now and its leases with it, and every lock-delay a fresh full delay. A lease
// whose session is missing keeps a TTL of its own (the session's TTL at its grant).
func RestoreState(cfg Config, st State, now Instant) *Engine {
	e := New(cfg)
	e.lastToken = st.Reserved
	for _, l := range st.Leases {
		e.lastToken = max(e.lastToken, l.Token, l.Revision)
	}
	e.lastRevision = e.lastToken
	e.floor = e.lastRevision
	for _, s := range st.Sessions {
		s.Deadline = now.Mono + s.TTL
		s.ExpiresAt = now.Wall.Add(s.TTL)
		s.ModRev = 0
		e.insertSession(s)
	}
	leases := slices.Clone(st.Leases)
	sort.SliceStable(leases, func(i, j int) bool { return leases[i].Token < leases[j].Token }) // holders in grant order
	for _, l := range leases {
		l.Deadline = now.Mono + l.TTL
		l.ExpiresAt = now.Wall.Add(l.TTL)
		l.ModRev = 0
		if l.Revision == 0 {
			l.Revision = e.floor // a lease stored before revisions existed
		}
		s := e.sessions[l.SessionID]
		if s != nil && s.s.Account != l.Account {
			s = nil
		}
		if s == nil {
			l.SessionID = ""
		} else {
			l.Deadline, l.ExpiresAt = s.s.Deadline, s.s.ExpiresAt
		}
		lk := e.insert(l, s)
		lk.revision = max(lk.revision, l.Revision)
	}
	for _, d := range st.Delays {
		d.Deadline = now.Mono + d.Length
		d.Until = now.Wall.Add(d.Length)
		lk := e.lockFor(d.Key, holdersOf(d.MaxHolders))
		e.insertDelay(lk, d)
	}
	// A semaphore's or a delayed lock's revision may have moved past its leases' before
	// the restart; the floor is above every revision issued then.
	for _, a := range e.accounts {
		for _, lk := range a.locks {
			if len(lk.holders) != 1 || len(lk.delays) > 0 {
				lk.revision = e.floor
			}
		}
	}
	e.reserved = e.lastToken
	return e
}

// holdersOf normalises a MaxHolders value: 0 means 1.
func holdersOf(n int) int { return max(n, 1) }

// Apply executes cmd at now. It first expires leases whose deadline is not after now, the
// earliest first and at most Config.MaxExpiries of them, and always the lease of the lock
// the command names; then it runs the command (a CancelWait takes its waiter out of the
// line before those expiries, so none of them hands it the lock). When more are due, NextDeadline is not
// after now and the next Sweep goes on.
func (e *Engine) Apply(cmd Command, now Instant) (Result, error) {
	var changes []Change
	e.handoffs = nil
	var (
		res Result
		err error
	)
	// A waiter that leaves the line leaves it before this Apply's expiries: its wait is
	// over, so an expiry that falls due at the same time (one no sweep has noticed yet)
	// must not hand it a lock nobody would receive. The lock goes to the next in line.
	if c, ok := cmd.(CancelWait); ok {
		res, err = e.cancelWait(c)
	}
	changes = e.expire(now, changes)
	switch c := cmd.(type) {
	case Acquire:
		changes = e.expireKey(c.Key, now, changes)
		res, changes, err = e.acquire(c, now, changes)
	case Renew:
		changes = e.expireKey(c.Key, now, changes)
		res, changes, err = e.renew(c, now, changes)
	case Release:
		changes = e.expireKey(c.Key, now, changes)
		res, changes, err = e.release(c, now, changes)
	case ForceRelease:
		changes = e.expireKey(c.Key, now, changes)
		res, changes = e.forceRelease(c, now, changes)
	case CancelWait:
		// Done above, before the expiries.
	case CreateSession:
		res, changes, err = e.createSession(c, now, changes)
	case RenewSession:
		res, changes, err = e.renewSession(c, now, changes)
	case CloseSession:
		res, changes, err = e.closeSession(c, now, changes)
	case DropAccount:
		changes = e.dropAccount(c.Account, now, changes)
		res.Outcome = Dropped
	case Sweep:
		if c.Key != nil {
			changes = e.expireKey(*c.Key, now, changes)
		}
		if c.Account != "" {
			changes = e.expireAccount(c.Account, now, changes)
		}
		res.Outcome = Swept
	default:
		err = ErrInvalid
	}
	if len(changes) > 0 {
		e.rev++
		for i := range changes {
			changes[i].Lease.ModRev = e.rev
			if s := changes[i].Session; s != nil {
				s.ModRev = e.rev
			}
		}
		e.stamp(changes)
		res.Changes = changes
		res.Rev = e.rev
		if res.Lease.ID != "" && touches(changes, res.Lease.Key) {
			res.Lease.ModRev = e.rev
		}
		if res.Session.ID != "" {
			res.Session.ModRev = max(res.Session.ModRev, e.sessionRev(res.Session.ID))
		}
		for i := range res.Leases {
			if touches(changes, res.Leases[i].Key) {
				res.Leases[i].ModRev = e.rev
			}
		}
		for i := range e.handoffs {
			if e.handoffs[i].Err == nil {
				e.handoffs[i].Lease.ModRev = e.rev
			}
		}
	}
	res.Handoffs, e.handoffs = e.handoffs, nil
	return res, err
}

func touches(changes []Change, k Key) bool {
	for _, c := range changes {
		if c.Kind != ReserveToken && c.Kind != PutSession && c.Kind != DeleteSession && c.Lease.Key == k {
			return true
		}
	}
	return false
}

// stamp records the new revision on the live entries and the freed revision.
func (e *Engine) stamp(changes []Change) {
	for _, c := range changes {
		switch c.Kind {
		case PutLease:
			if en := e.find(c.Lease.Key, c.Lease.ID); en != nil {
				en.lease.ModRev = e.rev
			}
		case DeleteLease:
			e.freedRev = e.rev
		case PutSession:
			if s := e.sessions[c.Session.ID]; s != nil && c.Session != nil {
				s.s.ModRev = e.rev
			}
		case DeleteDelay:
			e.freedRev = e.rev
		}
		if c.Kind != ReserveToken && c.Kind != PutSession && c.Kind != DeleteSession {
			if lk := e.lookup(c.Lease.Key); lk != nil {
				lk.modRev = e.rev
			}
		}
	}
}

func (e *Engine) acquire(c Acquire, now Instant, changes []Change) (Result, []Change, error) {
	if (c.TTL <= 0 && c.SessionID == "") || c.TTL < 0 || c.Key.Name == "" || c.Key.Account == "" || c.Holder.TokenID == "" || c.LeaseID == "" ||
		c.LockDelay < 0 || c.LockDelay > MaxLockDelay || c.MaxHolders < 0 || c.MaxHolders > MaxHoldersLimit {
		return Result{}, changes, ErrInvalid
	}
	if c.Metadata != nil && len(*c.Metadata) > MaxMetadataChars && utf8.RuneCountInString(*c.Metadata) > MaxMetadataChars {
		return Result{}, changes, ErrMetadataTooLarge
	}
	n := holdersOf(c.MaxHolders)
	var s *session
	if c.SessionID != "" {
		changes = e.expireSessionIfDue(c.SessionID, now, changes)
		if s = e.liveSession(c.Key.Account, c.SessionID); s == nil {
			return Result{Rev: e.freedRev}, changes, ErrSessionNotFound
		}
	}
	if lk := e.lookup(c.Key); lk != nil {
		if lk.max != n {
			return Result{Rev: lk.modRev}, changes, ErrMaxHoldersMismatch
		}
		if en := lk.holder(c.Holder); en != nil {
			if en.lease.SessionID != c.SessionID {
				return Result{Rev: lk.modRev}, changes, ErrSessionMismatch
			}
			// The same holder asks again: the same lease comes back, extended, with the
			// metadata and lock-delay it sent.
			changed := false
			if c.Metadata != nil && *c.Metadata != en.lease.Metadata {
				en.lease.Metadata = *c.Metadata
				en.lease.Revision, changes = e.nextRevision(changes)
				lk.revision = en.lease.Revision
				changed = true
			}
			if c.LockDelay != en.lease.LockDelay {
				en.lease.LockDelay = c.LockDelay
				changed = true
			}
			if en.session != nil {
				if changed {
					changes = append(changes, Change{Kind: PutLease, Lease: en.lease})
				}
			} else {
				changes = e.extend(en, c.TTL, now, changes, changed)
			}
			return Result{Outcome: Acquired, Lease: en.lease, Rev: en.lease.ModRev}, changes, nil
		}
		if lk.free() <= 0 || e.Waiters(c.Key) > 0 {
			if c.Wait {
				return e.enqueue(c, lk, now), changes, nil
			}
			return e.held(lk, now), changes, nil
		}
	} else if q := e.lines[c.Key]; q != nil && len(q.waiters) > 0 && q.waiters[0].maxHolders != n {
		return Result{Rev: e.freedRev}, changes, ErrMaxHoldersMismatch
	}
	l, changes, err := e.grant(c.Key, waiter{holder: c.Holder, ttl: c.TTL, metadata: c.Metadata, leaseID: c.LeaseID,
		sessionID: c.SessionID, lockDelay: c.LockDelay, maxHolders: n}, now, changes)
	if err != nil {
		return Result{Rev: e.freedRev}, changes, err
	}
	return Result{Outcome: Acquired, Lease: l}, changes, nil
}

// held is the answer to an acquire of the full lock lk.
func (e *Engine) held(lk *lock, now Instant) Result {
	res := Result{Outcome: Held, Rev: lk.modRev}
	if lk.max > 1 {
		res.Leases = lk.leases()
	}
	if len(lk.holders) > 0 {
		res.Lease = lk.holders[0].lease
	}
	if lk.free() <= 0 && len(lk.delays) > 0 {
		d := lk.earliestDelay()
		res.AvailableAt, res.RetryAfter = d.Until, max(d.Deadline-now.Mono, 0)
	}
	return res
}

// grant gives a free place of lock k to w, within the account's quota.
func (e *Engine) grant(k Key, w waiter, now Instant, changes []Change) (Lease, []Change, error) {
	if lk := e.lookup(k); lk != nil {
		if lk.max != w.maxHolders {
			return Lease{}, changes, ErrMaxHoldersMismatch
		}
		if lk.free() <= 0 {
			return Lease{}, changes, ErrLimitExceeded // not reached: callers check first
		}
	}
	var s *session
	if w.sessionID != "" {
		if s = e.liveSession(k.Account, w.sessionID); s == nil || s.s.Deadline <= now.Mono {
			return Lease{}, changes, ErrSessionNotFound
		}
	}
	if e.used(k.Account) >= e.cfg.MaxLocksPerAccount {
		changes = e.expireAccount(k.Account, now, changes)
	}
	if e.used(k.Account) >= e.cfg.MaxLocksPerAccount {
		return Lease{}, changes, ErrLimitExceeded
	}
	if e.lastToken >= MaxFencingToken {
		return Lease{}, changes, ErrTokensExhausted
	}
	e.lastToken++
	changes = e.reserve(e.lastToken, changes)
	l := Lease{
		Key:        k,
		ID:         w.leaseID,
		Holder:     w.holder,
		Token:      e.lastToken,
		TTL:        w.ttl,
		Deadline:   now.Mono + w.ttl,
		ExpiresAt:  now.Wall.Add(w.ttl),
		AcquiredAt: now.Wall,
		SessionID:  w.sessionID,
		LockDelay:  w.lockDelay,
		MaxHolders: w.maxHolders,
	}
	if w.maxHolders == 1 {
		l.MaxHolders = 0 // a plain lock's leases look as they always did
	}
	if s != nil {
		l.TTL, l.Deadline, l.ExpiresAt = s.s.TTL, s.s.Deadline, s.s.ExpiresAt
	}
	if w.metadata != nil {
		l.Metadata = *w.metadata
	}
	l.Revision, changes = e.nextRevision(changes)
	delete(e.tombs, k)
	lk := e.insert(l, s)
	lk.revision = l.Revision
	changes = append(changes, Change{Kind: PutLease, Lease: l})
	return l, changes, nil
}

// reserve makes sure a durable reservation covers v, a fencing token or a revision.
func (e *Engine) reserve(v int64, changes []Change) []Change {
	if v <= e.reserved {
		return changes
	}
	e.reserved = v + e.cfg.ReserveBlock - 1
	if v <= MaxFencingToken {
		e.reserved = min(e.reserved, MaxFencingToken)
	}
	return append(changes, Change{Kind: ReserveToken, Reserve: e.reserved})
}

func (e *Engine) renew(c Renew, now Instant, changes []Change) (Result, []Change, error) {
	if c.TTL <= 0 {
		return Result{}, changes, ErrInvalid
	}
	en := e.find(c.Key, c.LeaseID)
	if en == nil {
		return Result{Rev: e.observed(c.Key)}, changes, ErrNotCurrent
	}
	if en.session != nil {
		changes = e.extendSession(en.session, 0, now, changes)
	} else {
		changes = e.extend(en, c.TTL, now, changes, false)
	}
	return Result{Outcome: Renewed, Lease: en.lease, Rev: en.lease.ModRev}, changes, nil
}

// extend moves a lease's deadline to now+ttl when that is later. The deadline itself is
// not persisted (a restart restores a full TTL); a changed TTL is, so that the restored
// lease is never shorter than the last promise. put asks for the lease to be persisted
// anyway (its metadata changed).
func (e *Engine) extend(en *entry, ttl time.Duration, now Instant, changes []Change, put bool) []Change {
	if d := now.Mono + ttl; d > en.lease.Deadline {
		en.lease.Deadline = d
		en.lease.ExpiresAt = now.Wall.Add(ttl)
		e.expiry.fix(en.index)
	}
	if ttl > en.lease.TTL {
		en.lease.TTL = ttl
		put = true
	}
	if put {
		changes = append(changes, Change{Kind: PutLease, Lease: en.lease})
	}
	return changes
}

func (e *Engine) release(c Release, now Instant, changes []Change) (Result, []Change, error) {
	en := e.find(c.Key, c.LeaseID)
	if en == nil {
		return Result{Rev: e.observed(c.Key)}, changes, ErrNotCurrent
	}
	changes = e.end(en, now, changes, false)
	return Result{Outcome: Released, Lease: en.lease}, changes, nil
}

func (e *Engine) forceRelease(c ForceRelease, now Instant, changes []Change) (Result, []Change) {
	res := Result{Outcome: Released, Rev: e.observed(c.Key)}
	lk := e.lookup(c.Key)
	if lk == nil {
		return res, changes
	}
	holders := slices.Clone(lk.holders)
	for _, d := range slices.Clone(lk.delays) {
		changes = e.endDelay(d, now, changes, len(holders) == 0)
	}
	for _, en := range holders {
		res.Leases = append(res.Leases, en.lease)
		changes = e.end(en, now, changes, false)
	}
	if len(res.Leases) > 0 {
		res.Lease = res.Leases[0]
	}
	return res, changes
}

// dropAccount ends an account's waiters, sessions, leases and lock-delays, in name
// (and session id) order.
func (e *Engine) dropAccount(acct string, now Instant, changes []Change) []Change {
	a := e.accounts[acct]
	if acct == "" || a == nil {
		return changes
	}
	names := make([]string, 0, len(a.locks))
	for n := range a.locks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		k := Key{Account: acct, Name: n}
		if q := e.lines[k]; q != nil {
			for _, w := range q.waiters {
				e.handoffs = append(e.handoffs, Handoff{Waiter: w.leaseID, Err: ErrAccountDropped})
			}
			delete(e.lines, k)
		}
	}
	ids := make([]string, 0, len(a.sessions))
	for id := range a.sessions {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if s := e.sessions[id]; s != nil && !s.dead {
			changes = e.endSession(s, now, changes, false)
		}
	}
	for _, n := range names {
		_, changes = e.forceRelease(ForceRelease{Key: Key{Account: acct, Name: n}}, now, changes)
	}
	return changes
}

// end removes a released or expired lease, starts its lock-delay when it expired, and
// hands the lock to the head of its line.
func (e *Engine) end(en *entry, now Instant, changes []Change, expired bool) []Change {
	k := en.lease.Key
	lk := e.lookup(k)
	e.remove(lk, en)
	changes = append(changes, Change{Kind: DeleteLease, Lease: en.lease})
	var rev int64
	rev, changes = e.nextRevision(changes)
	lk.revision = rev
	// The lock-delay runs from the instant the lease ended (its deadline, or its
	// session's), however late the sweep that notices it.
	if end := en.lease.Deadline + en.lease.LockDelay; expired && en.lease.LockDelay > 0 && end > now.Mono {
		d := Delay{Key: k, LeaseID: en.lease.ID, Length: en.lease.LockDelay, Deadline: end,
			Until: now.Wall.Add(end - now.Mono), MaxHolders: en.lease.MaxHolders}
		e.insertDelay(lk, d)
		changes = append(changes, Change{Kind: PutDelay, Lease: Lease{Key: k, ID: d.LeaseID}, Delay: &d})
	}
	e.dropIfEmpty(lk, rev)
	return e.handoff(k, now, changes)
}

// observed is the revision a refusal about lock k was decided on: the lock's last
// change, or the last time a lease ended when the lock is free.
func (e *Engine) observed(k Key) uint64 {
	if lk := e.lookup(k); lk != nil {
		return lk.modRev
	}
	return e.freedRev
}

// expire ends the leases, sessions and lock-delays whose deadline is at or before now,
// earliest first, at most MaxExpiries of them; NextDeadline then says there is more to do.
func (e *Engine) expire(now Instant, changes []Change) []Change {
	// A hand-off inserts a lease with a deadline after now, and a lock-delay starts
	// after now, so this ends.
	for n := 0; n < e.cfg.MaxExpiries; n++ {
		d, which := e.next()
		if which == none || d > now.Mono {
			break
		}
		switch which {
		case leaseTimer:
			changes = e.end(e.expiry[0], now, changes, true)
		case sessionTimer:
			changes = e.endSession(e.sessExp[0], now, changes, true)
		case delayTimer:
			changes = e.endDelay(e.delays[0], now, changes, true)
		}
	}
	return changes
}

type timerKind int

const (
	none timerKind = iota
	leaseTimer
	sessionTimer
	delayTimer
)

// next is the earliest deadline of a lease, session or lock-delay.
func (e *Engine) next() (time.Duration, timerKind) {
	best, which := time.Duration(0), none
	if d, ok := e.expiry.next(); ok {
		best, which = d, leaseTimer
	}
	if d, ok := e.sessExp.next(); ok && (which == none || d < best) {
		best, which = d, sessionTimer
	}
	if d, ok := e.delays.next(); ok && (which == none || d < best) {
		best, which = d, delayTimer
	}
	return best, which
}

// expireKey ends what of lock k is due: its leases, the sessions they are bound to and
// its lock-delays.
func (e *Engine) expireKey(k Key, now Instant, changes []Change) []Change {
	for {
		lk := e.lookup(k)
		if lk == nil {
			return changes
		}
		if en := lk.dueHolder(now); en != nil {
			if en.session != nil {
				changes = e.endSession(en.session, now, changes, true)
			} else {
				changes = e.end(en, now, changes, true)
			}
			continue
		}
		if d := lk.dueDelay(now); d != nil {
			changes = e.endDelay(d, now, changes, true)
			continue
		}
		return changes
	}
}

// expireAccount ends every lease, session and lock-delay of account whose deadline is at
// or before now (at most its limits).
func (e *Engine) expireAccount(acct string, now Instant, changes []Change) []Change {
	a := e.accounts[acct]
	if a == nil {
		return changes
	}
	var due []*entry
	var dueDelays []*delayed
	for _, lk := range a.locks {
		for _, en := range lk.holders {
			if en.session == nil && en.lease.Deadline <= now.Mono {
				due = append(due, en)
			}
		}
		for _, d := range lk.delays {
			if d.d.Deadline <= now.Mono {
				dueDelays = append(dueDelays, d)
			}
		}
	}
	var dueSessions []*session
	for _, s := range a.sessions {
		if s.s.Deadline <= now.Mono {
			dueSessions = append(dueSessions, s)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		li, lj := due[i].lease, due[j].lease
		return li.Deadline < lj.Deadline || li.Deadline == lj.Deadline && (li.Name < lj.Name || li.Name == lj.Name && li.Token < lj.Token)
	})
	sort.Slice(dueDelays, func(i, j int) bool {
		di, dj := dueDelays[i].d, dueDelays[j].d
		return di.Deadline < dj.Deadline || di.Deadline == dj.Deadline && (di.Name < dj.Name || di.Name == dj.Name && di.LeaseID < dj.LeaseID)
	})
	sort.Slice(dueSessions, func(i, j int) bool {
		si, sj := dueSessions[i].s, dueSessions[j].s
		return si.Deadline < sj.Deadline || si.Deadline == sj.Deadline && si.ID < sj.ID
	})
	for _, s := range dueSessions {
		if e.sessions[s.s.ID] == s {
			changes = e.endSession(s, now, changes, true)
		}
	}
	for _, en := range due {
		if e.find(en.lease.Key, en.lease.ID) == en {
			changes = e.end(en, now, changes, true)
		}
	}
	for _, d := range dueDelays {
		if d.index >= 0 {
			changes = e.endDelay(d, now, changes, true)
		}
	}
	return changes
}

// NextDeadline returns the monotonic instant at which the next lease, session or
// lock-delay ends, if any: the moment a Sweep has something to do.
func (e *Engine) NextDeadline() (time.Duration, bool) {
	d, which := e.next()
	return d, which != none
}

// Get returns the live lease of k, if any, and the revision the answer depends on. Call
// it after an Apply at the current instant so that expired leases are gone. Of a
// semaphore's holders it returns the first (the lowest token); Status returns them all.
func (e *Engine) Get(k Key) (Lease, bool, uint64) {
	lk := e.lookup(k)
	if lk == nil {
		return Lease{}, false, e.freedRev
	}
	if len(lk.holders) == 0 {
		return Lease{}, false, lk.modRev
	}
	return lk.holders[0].lease, true, lk.modRev
}

// List returns the live leases of an account ordered by name (a semaphore's by token),
// and the revision the answer depends on.
func (e *Engine) List(acct string) ([]Lease, uint64) {
	rev := e.freedRev
	a := e.accounts[acct]
	if a == nil {
		return []Lease{}, rev
	}
	out := make([]Lease, 0, a.leases)
	for _, lk := range a.locks {
		for _, en := range lk.holders {
			out = append(out, en.lease)
		}
		rev = max(rev, lk.modRev)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Name < out[j].Name || out[i].Name == out[j].Name && out[i].Token < out[j].Token
	})
	return out, rev
}

// ListPage returns the live leases of at most limit locks of an account whose names sort
// after after, ordered by name (a semaphore's holders together, by token); more reports
// whether further locks follow. The revision is the one the answer depends on. Paging by
// name is stable under concurrent grants and expiries: a lease that lives through the
// whole paging is on exactly one page. A page costs one pass over the account's locks
// plus O(limit log limit), never a sort of them all.
func (e *Engine) ListPage(acct, after string, limit int) (page []Lease, more bool, rev uint64) {
	locks, more := e.pageLocks(acct, "", after, limit, true)
	rev = e.freedRev
	page = make([]Lease, 0, len(locks))
	for _, lk := range locks {
		for _, en := range lk.holders {
			page = append(page, en.lease)
		}
		rev = max(rev, lk.modRev)
	}
	return page, more, rev
}

// pageLocks returns at most limit locks of acct whose names start with prefix and sort
// after after, in name order, and whether more follow; held limits it to locks with
// holders (not only lock-delays).
func (e *Engine) pageLocks(acct, prefix, after string, limit int, held bool) ([]*lock, bool) {
	a := e.accounts[acct]
	if a == nil || limit <= 0 {
		return nil, false
	}
	// The limit+1 smallest names after the cursor, in a max-heap: once it is full, most
	// names cost one comparison with its top.
	h := make(nameHeap, 0, min(limit+1, len(a.locks)))
	for name, lk := range a.locks {
		switch {
		case name <= after || held && len(lk.holders) == 0 || !strings.HasPrefix(name, prefix):
		case len(h) <= limit:
			heap.Push(&h, lk)
		case name < h[0].key.Name:
			h[0] = lk
			heap.Fix(&h, 0)
		}
	}
	slices.SortFunc(h, func(x, y *lock) int { return strings.Compare(x.key.Name, y.key.Name) })
	more := false
	if len(h) > limit {
		h, more = h[:limit], true
	}
	return h, more
}

// nameHeap is a max-heap of locks by name.
type nameHeap []*lock

func (h nameHeap) Len() int           { return len(h) }
func (h nameHeap) Less(i, j int) bool { return h[i].key.Name > h[j].key.Name }
func (h nameHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *nameHeap) Push(x any)        { *h = append(*h, x.(*lock)) }
func (h *nameHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Count returns the number of live leases of an account.
func (e *Engine) Count(acct string) int {
	if a := e.accounts[acct]; a != nil {
		return a.leases
	}
	return 0
}

// Len returns the number of live leases.
func (e *Engine) Len() int { return e.count }

// LastToken returns the last fencing token issued (or skipped over after a restart).
func (e *Engine) LastToken() int64 { return e.lastToken }

// Rev returns the engine's current revision.
func (e *Engine) Rev() uint64 { return e.rev }

func (e *Engine) lookup(k Key) *lock {
	if a := e.accounts[k.Account]; a != nil {
		return a.locks[k.Name]
	}
	return nil
}

// find returns lock k's live lease id.
func (e *Engine) find(k Key, id string) *entry {
	if lk := e.lookup(k); lk != nil {
		for _, en := range lk.holders {
			if en.lease.ID == id {
				return en
			}
		}
	}
	return nil
}

func (e *Engine) account(acct string) *account {
	a := e.accounts[acct]
	if a == nil {
		a = &account{locks: make(map[string]*lock)}
		e.accounts[acct] = a
	}
	return a
}

func (e *Engine) used(acct string) int {
	if a := e.accounts[acct]; a != nil {
		return a.used
	}
	return 0
}

// lockFor returns lock k, creating it for n holders.
func (e *Engine) lockFor(k Key, n int) *lock {
	a := e.account(k.Account)
	lk := a.locks[k.Name]
	if lk == nil {
		lk = &lock{key: k, max: n}
		lk.holders = lk.one[:0]
		a.locks[k.Name] = lk
	}
	return lk
}

// insert adds a live lease (bound to s when not nil) and returns its lock.
func (e *Engine) insert(l Lease, s *session) *lock {
	lk := e.lockFor(l.Key, holdersOf(l.MaxHolders))
	en := &entry{lease: l, index: -1, session: s}
	lk.holders = append(lk.holders, en)
	if s != nil {
		s.leases = append(s.leases, en)
	} else {
		e.expiry.add(en)
	}
	a := e.accounts[l.Account]
	a.used++
	a.leases++
	e.count++
	return lk
}

// remove takes a live lease out of lk, the expiry heap and its session. It leaves lk in
// place; dropIfEmpty removes it.
func (e *Engine) remove(lk *lock, en *entry) {
	if en.index >= 0 {
		e.expiry.del(en.index)
	}
	if s := en.session; s != nil {
		s.leases = slices.DeleteFunc(s.leases, func(x *entry) bool { return x == en })
	}
	lk.holders = slices.DeleteFunc(lk.holders, func(x *entry) bool { return x == en })
	a := e.accounts[lk.key.Account]
	a.used--
	a.leases--
	e.count--
}

// dropIfEmpty forgets lk when it has neither holders nor lock-delays: it became free at
// revision rev.
func (e *Engine) dropIfEmpty(lk *lock, rev int64) {
	if len(lk.holders) > 0 || len(lk.delays) > 0 {
		return
	}
	a := e.accounts[lk.key.Account]
	delete(a.locks, lk.key.Name)
	e.dropAccountIfEmpty(lk.key.Account)
	e.bury(lk.key, rev)
}

func (e *Engine) dropAccountIfEmpty(acct string) {
	if a := e.accounts[acct]; a != nil && len(a.locks) == 0 && len(a.sessions) == 0 {
		delete(e.accounts, acct)
	}
}

// free is how many more holders lk admits now.
func (lk *lock) free() int { return lk.max - len(lk.holders) - len(lk.delays) }

// holder returns the lease of lk held by the same holder as h, if any.
func (lk *lock) holder(h Holder) *entry {
	for _, en := range lk.holders {
		if en.lease.Holder.Same(h) {
			return en
		}
	}
	return nil
}

// leases returns lk's live leases in token order.
func (lk *lock) leases() []Lease {
	out := make([]Lease, len(lk.holders))
	for i, en := range lk.holders {
		out[i] = en.lease
	}
	return out
}

// dueHolder returns a lease of lk that should have ended by now (its own deadline or
// its session's), if any.
func (lk *lock) dueHolder(now Instant) *entry {
	for _, en := range lk.holders {
		if en.lease.Deadline <= now.Mono {
			return en
		}
	}
	return nil
}
