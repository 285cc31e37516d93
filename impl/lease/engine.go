// Package lease is OctoStore's lock engine: a deterministic state machine over fenced,
// time-limited leases.
//
// Every mutation is a Command given to Engine.Apply together with the current time. The
// engine reads no clock, draws no random numbers and does no I/O: the same commands at the
// same instants always produce the same results and the same Changes. The caller persists
// the Changes (or, one day, replicates them through a log) before it reports the Result.
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
)

// MaxMetadataChars is the longest metadata value a lease carries, in characters (Unicode
// code points), as the spec's maxLength counts them; so at most 4 KiB in UTF-8.
const MaxMetadataChars = 1024

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
}

// Command is a mutation of the engine: Acquire, Renew, Release, CancelWait or Sweep.
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
type Acquire struct {
	Key     Key
	Holder  Holder
	TTL     time.Duration
	LeaseID string
	// Metadata, when not nil, is stored with the lease (it replaces the stored value on a
	// re-acquire). At most MaxMetadataChars characters.
	Metadata *string
	Wait     bool
}

// CancelWait takes the waiter LeaseID out of Key's line. Unlike every other command it
// acts before the Apply's expiries, so a waiter leaving as the holder's lease falls due is
// never granted the lock. It fails with ErrNotCurrent when no such waiter is in line (it
// was granted the lock, or never queued).
type CancelWait struct {
	Key     Key
	LeaseID string
}

// Renew extends the current lease of Key to now+TTL (never shortening it).
type Renew struct {
	Key     Key
	LeaseID string
	TTL     time.Duration
}

// Release ends the current lease of Key.
type Release struct {
	Key     Key
	LeaseID string
}

// Sweep only expires leases whose deadline has passed. Every command sweeps first; Sweep
// exists so that idle expiries are noticed and persisted too. One Apply expires at most
// Config.MaxExpiries leases in deadline order (an expiry storm is worked off in batches,
// so no request waits long behind it), and always the lease of the lock the command
// names: a command never sees a lease of its own lock that should have ended.
type Sweep struct {
	// Key, when set, is a lock whose due lease is expired whatever the bound, so a read
	// of that lock sees it as it is.
	Key *Key
	// Account, when set, has every due lease of its own expired, for a read of its list.
	Account string
}

func (Acquire) isCommand() {}
func (Renew) isCommand()   {}
func (Release) isCommand() {}
func (Sweep) isCommand()   {}

func (CancelWait) isCommand() {}

// Outcome says what a command did.
type Outcome int

// The outcomes of Apply.
const (
	Swept     Outcome = iota // a Sweep
	Acquired                 // the caller holds the lease in Result.Lease (new or idempotent re-acquire)
	Held                     // someone else holds Result.Lease
	Renewed                  // Result.Lease was extended
	Released                 // Result.Lease ended
	Queued                   // the caller waits in line (Result.Waiting) behind Result.Lease
	Cancelled                // a waiter left the line
)

// ChangeKind says what a Change does to durable state.
type ChangeKind int

// The kinds of Change.
const (
	PutLease     ChangeKind = iota + 1 // store Lease (insert or replace the lock's row)
	DeleteLease                        // remove Lease (released or expired)
	ReserveToken                       // fencing tokens and revisions up to Reserve may be issued
)

// Change is one durable effect of a command. Persisting every Change of a Result, in
// order and atomically, keeps storage equal to what Restore needs.
type Change struct {
	Kind    ChangeKind
	Lease   Lease
	Reserve int64
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
}

// Handoff is what a release or expiry did for the head of a lock's line.
type Handoff struct {
	// Waiter is the waiter's LeaseID.
	Waiter string
	// Lease is the granted lease when Err is nil.
	Lease Lease
	// Err is ErrLimitExceeded or ErrTokensExhausted when the waiter could not be granted
	// the lock; it has left the line.
	Err error
}

// Config holds the engine's limits. Zero values mean defaults.
type Config struct {
	MaxLocksPerAccount int   // 0 means 100
	ReserveBlock       int64 // 0 means DefaultReserveBlock
	MaxWaitersPerLock  int   // 0 means DefaultMaxWaiters
	MaxTombstones      int   // 0 means DefaultMaxTombstones
	MaxExpiries        int   // leases one Apply expires in deadline order; 0 means DefaultMaxExpiries
}

// DefaultMaxExpiries bounds the expiries of one Apply.
const DefaultMaxExpiries = 512

// Engine is the lock state machine. It is not safe for concurrent use: its owner
// serialises Apply calls and passes non-decreasing instants.
type Engine struct {
	cfg       Config
	accounts  map[string]map[string]*entry
	expiry    expiryHeap
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

type entry struct {
	lease Lease
	index int // position in the expiry heap
}

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
	return &Engine{
		cfg:      cfg,
		accounts: make(map[string]map[string]*entry),
		lines:    make(map[Key]*line),
		tombs:    make(map[Key]int64),
	}
}

// Restore rebuilds an engine from durable state: the leases that were not released and
// the fencing reservation. Every lease gets a fresh full TTL from now, because the time
// the server was down cannot be measured on its monotonic clock; a lease therefore never
// ends earlier than its holder was promised. Fencing tokens and revisions continue above
// every value that may have been issued, so a watcher from before the restart misses no
// change (free locks report the restored floor, which may wake it once for nothing).
// Waiters are not durable: they ended with the process that held them.
func Restore(cfg Config, leases []Lease, reserved int64, now Instant) *Engine {
	e := New(cfg)
	e.lastToken = reserved
	for _, l := range leases {
		e.lastToken = max(e.lastToken, l.Token, l.Revision)
	}
	e.lastRevision = e.lastToken
	e.floor = e.lastRevision
	for _, l := range leases {
		l.Deadline = now.Mono + l.TTL
		l.ExpiresAt = now.Wall.Add(l.TTL)
		l.ModRev = 0
		if l.Revision == 0 {
			l.Revision = e.floor // a lease stored before revisions existed
		}
		e.insert(l)
	}
	e.reserved = e.lastToken
	return e
}

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
	case CancelWait:
		// Done above, before the expiries.
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
		}
		e.stamp(changes)
		res.Changes = changes
		res.Rev = e.rev
		if res.Lease.ID != "" && touches(changes, res.Lease.Key) {
			res.Lease.ModRev = e.rev
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
		if c.Kind != ReserveToken && c.Lease.Key == k {
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
			if en := e.lookup(c.Lease.Key); en != nil && en.lease.ID == c.Lease.ID {
				en.lease.ModRev = e.rev
			}
		case DeleteLease:
			e.freedRev = e.rev
		}
	}
}

func (e *Engine) acquire(c Acquire, now Instant, changes []Change) (Result, []Change, error) {
	if c.TTL <= 0 || c.Key.Name == "" || c.Key.Account == "" || c.Holder.TokenID == "" || c.LeaseID == "" {
		return Result{}, changes, ErrInvalid
	}
	if c.Metadata != nil && len(*c.Metadata) > MaxMetadataChars && utf8.RuneCountInString(*c.Metadata) > MaxMetadataChars {
		return Result{}, changes, ErrMetadataTooLarge
	}
	if en := e.lookup(c.Key); en != nil {
		if !en.lease.Holder.Same(c.Holder) {
			if c.Wait {
				return e.enqueue(c, en), changes, nil
			}
			return Result{Outcome: Held, Lease: en.lease, Rev: en.lease.ModRev}, changes, nil
		}
		// The same holder asks again: the same lease comes back, extended, with the
		// metadata it sent.
		changed := false
		if c.Metadata != nil && *c.Metadata != en.lease.Metadata {
			en.lease.Metadata = *c.Metadata
			en.lease.Revision, changes = e.nextRevision(changes)
			changed = true
		}
		changes = e.extend(en, c.TTL, now, changes, changed)
		return Result{Outcome: Acquired, Lease: en.lease, Rev: en.lease.ModRev}, changes, nil
	}
	l, changes, err := e.grant(c.Key, c.Holder, c.TTL, c.Metadata, c.LeaseID, now, changes)
	if err != nil {
		return Result{Rev: e.freedRev}, changes, err
	}
	return Result{Outcome: Acquired, Lease: l}, changes, nil
}

// grant gives a free lock to holder, within the account's quota.
func (e *Engine) grant(k Key, holder Holder, ttl time.Duration, metadata *string, leaseID string, now Instant, changes []Change) (Lease, []Change, error) {
	if len(e.accounts[k.Account]) >= e.cfg.MaxLocksPerAccount {
		changes = e.expireAccount(k.Account, now, changes)
	}
	if len(e.accounts[k.Account]) >= e.cfg.MaxLocksPerAccount {
		return Lease{}, changes, ErrLimitExceeded
	}
	if e.lastToken >= MaxFencingToken {
		return Lease{}, changes, ErrTokensExhausted
	}
	e.lastToken++
	changes = e.reserve(e.lastToken, changes)
	l := Lease{
		Key:        k,
		ID:         leaseID,
		Holder:     holder,
		Token:      e.lastToken,
		TTL:        ttl,
		Deadline:   now.Mono + ttl,
		ExpiresAt:  now.Wall.Add(ttl),
		AcquiredAt: now.Wall,
	}
	if metadata != nil {
		l.Metadata = *metadata
	}
	l.Revision, changes = e.nextRevision(changes)
	delete(e.tombs, k)
	e.insert(l)
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
	en := e.lookup(c.Key)
	if en == nil || en.lease.ID != c.LeaseID {
		return Result{Rev: e.observed(en)}, changes, ErrNotCurrent
	}
	changes = e.extend(en, c.TTL, now, changes, false)
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
		heap.Fix(&e.expiry, en.index)
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
	en := e.lookup(c.Key)
	if en == nil || en.lease.ID != c.LeaseID {
		return Result{Rev: e.observed(en)}, changes, ErrNotCurrent
	}
	changes = e.end(en, now, changes)
	return Result{Outcome: Released, Lease: en.lease}, changes, nil
}

// end removes a released or expired lease, and hands the lock to the head of its line.
func (e *Engine) end(en *entry, now Instant, changes []Change) []Change {
	e.remove(en)
	changes = append(changes, Change{Kind: DeleteLease, Lease: en.lease})
	var rev int64
	rev, changes = e.nextRevision(changes)
	e.bury(en.lease.Key, rev)
	return e.handoff(en.lease.Key, now, changes)
}

// observed is the revision a refusal was decided on: the live lease's, or the last time
// a lease ended when the lock is free.
func (e *Engine) observed(en *entry) uint64 {
	if en == nil {
		return e.freedRev
	}
	return en.lease.ModRev
}

// expire removes the leases whose deadline is at or before now, earliest first, at most
// MaxExpiries of them; NextDeadline then says there is more to do.
func (e *Engine) expire(now Instant, changes []Change) []Change {
	// A hand-off inserts a lease with a deadline after now, so this ends.
	for n := 0; n < e.cfg.MaxExpiries && len(e.expiry) > 0 && e.expiry[0].lease.Deadline <= now.Mono; n++ {
		changes = e.end(e.expiry[0], now, changes)
	}
	return changes
}

// expireKey removes k's lease when its deadline is at or before now.
func (e *Engine) expireKey(k Key, now Instant, changes []Change) []Change {
	if en := e.lookup(k); en != nil && en.lease.Deadline <= now.Mono {
		changes = e.end(en, now, changes)
	}
	return changes
}

// expireAccount removes every lease of account whose deadline is at or before now (at
// most its lock limit).
func (e *Engine) expireAccount(account string, now Instant, changes []Change) []Change {
	var due []*entry
	for _, en := range e.accounts[account] {
		if en.lease.Deadline <= now.Mono {
			due = append(due, en)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		return due[i].lease.Deadline < due[j].lease.Deadline || due[i].lease.Deadline == due[j].lease.Deadline && due[i].lease.Name < due[j].lease.Name
	})
	for _, en := range due {
		if cur := e.lookup(en.lease.Key); cur == en {
			changes = e.end(en, now, changes)
		}
	}
	return changes
}

// NextDeadline returns the monotonic instant at which the next lease expires, if any: the
// moment a Sweep has something to do.
func (e *Engine) NextDeadline() (time.Duration, bool) {
	if len(e.expiry) == 0 {
		return 0, false
	}
	return e.expiry[0].lease.Deadline, true
}

// Get returns the live lease of k, if any, and the revision the answer depends on. Call
// it after an Apply at the current instant so that expired leases are gone.
func (e *Engine) Get(k Key) (Lease, bool, uint64) {
	en := e.lookup(k)
	if en == nil {
		return Lease{}, false, e.freedRev
	}
	return en.lease, true, en.lease.ModRev
}

// List returns the live leases of an account ordered by name, and the revision the
// answer depends on.
func (e *Engine) List(account string) ([]Lease, uint64) {
	locks := e.accounts[account]
	out := make([]Lease, 0, len(locks))
	rev := e.freedRev
	for _, en := range locks {
		out = append(out, en.lease)
		rev = max(rev, en.lease.ModRev)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, rev
}

// ListPage returns at most limit live leases of an account whose names sort after
// after, ordered by name; more reports whether further leases follow. The revision is the
// one the answer depends on. Paging by name is stable under concurrent grants and
// expiries: a lease that lives through the whole paging is on exactly one page. A page
// costs one pass over the account's leases plus O(limit log limit), never a sort of them
// all.
func (e *Engine) ListPage(account, after string, limit int) (page []Lease, more bool, rev uint64) {
	rev = e.freedRev
	locks := e.accounts[account]
	// The limit+1 smallest names after the cursor, in a max-heap: once it is full, most
	// names cost one comparison with its top.
	h := make(nameHeap, 0, min(limit+1, len(locks)))
	for name, en := range locks {
		switch {
		case name <= after:
		case len(h) <= limit:
			heap.Push(&h, en)
		case name < h[0].lease.Name:
			h[0] = en
			heap.Fix(&h, 0)
		}
	}
	slices.SortFunc(h, func(a, b *entry) int { return strings.Compare(a.lease.Name, b.lease.Name) })
	if len(h) > limit {
		h, more = h[:limit], true
	}
	page = make([]Lease, len(h))
	for i, en := range h {
		page[i] = en.lease
		rev = max(rev, en.lease.ModRev)
	}
	return page, more, rev
}

// nameHeap is a max-heap of entries by lock name.
type nameHeap []*entry

func (h nameHeap) Len() int           { return len(h) }
func (h nameHeap) Less(i, j int) bool { return h[i].lease.Name > h[j].lease.Name }
func (h nameHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *nameHeap) Push(x any)        { *h = append(*h, x.(*entry)) }
func (h *nameHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Count returns the number of live leases of an account.
func (e *Engine) Count(account string) int { return len(e.accounts[account]) }

// Len returns the number of live leases.
func (e *Engine) Len() int { return e.count }

// LastToken returns the last fencing token issued (or skipped over after a restart).
func (e *Engine) LastToken() int64 { return e.lastToken }

// Rev returns the engine's current revision.
func (e *Engine) Rev() uint64 { return e.rev }

func (e *Engine) lookup(k Key) *entry {
	return e.accounts[k.Account][k.Name]
}

func (e *Engine) insert(l Lease) {
	locks := e.accounts[l.Account]
	if locks == nil {
		locks = make(map[string]*entry)
		e.accounts[l.Account] = locks
	}
	en := &entry{lease: l}
	locks[l.Name] = en
	heap.Push(&e.expiry, en)
	e.count++
}

func (e *Engine) remove(en *entry) {
	heap.Remove(&e.expiry, en.index)
	locks := e.accounts[en.lease.Account]
	delete(locks, en.lease.Name)
	if len(locks) == 0 {
		delete(e.accounts, en.lease.Account)
	}
	e.count--
}

// expiryHeap orders live leases by deadline.
type expiryHeap []*entry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].lease.Deadline < h[j].lease.Deadline }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *expiryHeap) Push(x any) {
	en := x.(*entry)
	en.index = len(*h)
	*h = append(*h, en)
}
func (h *expiryHeap) Pop() any {
	old := *h
	n := len(old)
	en := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return en
}
