package lease

import (
	"slices"
	"sort"
	"time"
)

// DefaultMaxSessions is how many sessions one account may have by default.
const DefaultMaxSessions = 100

// Session is a lease on liveness that many locks can share: a lease acquired with the
// session's id has no TTL of its own and ends exactly when the session ends — when it is
// deleted (a clean release of each) or expires (each one's lock-delay applies). Renewing
// the session renews them all.
type Session struct {
	ID        string // chosen by the caller of Apply, unique
	Account   string
	Holder    Holder        // who created it
	TTL       time.Duration // restored in full after a restart
	Deadline  time.Duration // monotonic instant at which it ends
	ExpiresAt time.Time     // wall-clock rendering of Deadline
	CreatedAt time.Time
	ModRev    uint64 // revision of the last durable change to this session
}

// CreateSession starts session ID for Account with TTL (1 ns..MaxSessionTTL). ID must be
// unique and is chosen by the caller.
type CreateSession struct {
	ID      string
	Account string
	Holder  Holder
	TTL     time.Duration
}

// RenewSession extends session ID of Account to now+TTL (never shortening it); TTL 0
// means the session's own TTL.
type RenewSession struct {
	ID      string
	Account string
	TTL     time.Duration
}

// CloseSession ends session ID of Account and cleanly releases every lease bound to it
// (no lock-delay: the holder said it is done). Result.Leases are the leases it ended.
type CloseSession struct {
	ID      string
	Account string
}

func (CreateSession) isCommand() {}
func (RenewSession) isCommand()  {}
func (CloseSession) isCommand()  {}

type session struct {
	s      Session
	index  int
	leases []*entry // bound to it, in grant order
	dead   bool     // ending: grants to it are refused
}

func (s *session) due() time.Duration { return s.s.Deadline }
func (s *session) setIndex(i int)     { s.index = i }

func (e *Engine) insertSession(s Session) *session {
	x := &session{s: s, index: -1}
	e.sessions[s.ID] = x
	a := e.account(s.Account)
	if a.sessions == nil {
		a.sessions = make(map[string]*session)
	}
	a.sessions[s.ID] = x
	e.sessExp.add(x)
	return x
}

// liveSession returns session id of acct unless it is unknown, ending or another
// account's.
func (e *Engine) liveSession(acct, id string) *session {
	s := e.sessions[id]
	if s == nil || s.dead || s.s.Account != acct {
		return nil
	}
	return s
}

func (e *Engine) sessionRev(id string) uint64 {
	if s := e.sessions[id]; s != nil {
		return s.s.ModRev
	}
	return 0
}

// expireSessionIfDue ends session id when its deadline has passed, so that no command
// sees a session that should have ended.
func (e *Engine) expireSessionIfDue(id string, now Instant, changes []Change) []Change {
	if s := e.sessions[id]; s != nil && s.s.Deadline <= now.Mono {
		changes = e.endSession(s, now, changes, true)
	}
	return changes
}

func (e *Engine) createSession(c CreateSession, now Instant, changes []Change) (Result, []Change, error) {
	if c.ID == "" || c.Account == "" || c.Holder.TokenID == "" || c.TTL <= 0 || c.TTL > MaxSessionTTL {
		return Result{}, changes, ErrInvalid
	}
	changes = e.expireSessionIfDue(c.ID, now, changes)
	if e.sessions[c.ID] != nil {
		return Result{}, changes, ErrInvalid // ids are unique; the caller drew a used one
	}
	if a := e.accounts[c.Account]; a != nil && len(a.sessions) >= e.cfg.MaxSessionsPerAccount {
		changes = e.expireAccount(c.Account, now, changes)
	}
	if a := e.accounts[c.Account]; a != nil && len(a.sessions) >= e.cfg.MaxSessionsPerAccount {
		return Result{Rev: e.freedRev}, changes, ErrSessionLimitExceeded
	}
	s := Session{ID: c.ID, Account: c.Account, Holder: c.Holder, TTL: c.TTL,
		Deadline: now.Mono + c.TTL, ExpiresAt: now.Wall.Add(c.TTL), CreatedAt: now.Wall}
	e.insertSession(s)
	changes = append(changes, Change{Kind: PutSession, Session: ptr(s)})
	return Result{Outcome: SessionCreated, Session: s}, changes, nil
}

func (e *Engine) renewSession(c RenewSession, now Instant, changes []Change) (Result, []Change, error) {
	if c.TTL < 0 || c.TTL > MaxSessionTTL {
		return Result{}, changes, ErrInvalid
	}
	changes = e.expireSessionIfDue(c.ID, now, changes)
	s := e.liveSession(c.Account, c.ID)
	if s == nil {
		return Result{Rev: e.freedRev}, changes, ErrSessionNotFound
	}
	changes = e.extendSession(s, c.TTL, now, changes)
	return Result{Outcome: SessionRenewed, Session: s.s, Rev: s.s.ModRev}, changes, nil
}

// extendSession moves a session's deadline, and its leases', to now+ttl when that is
// later (ttl 0: the session's TTL). A longer TTL is persisted.
func (e *Engine) extendSession(s *session, ttl time.Duration, now Instant, changes []Change) []Change {
	if ttl == 0 {
		ttl = s.s.TTL
	}
	if d := now.Mono + ttl; d > s.s.Deadline {
		s.s.Deadline = d
		s.s.ExpiresAt = now.Wall.Add(ttl)
		e.sessExp.fix(s.index)
		for _, en := range s.leases {
			en.lease.Deadline, en.lease.ExpiresAt = s.s.Deadline, s.s.ExpiresAt
		}
	}
	if ttl > s.s.TTL {
		s.s.TTL = ttl
		changes = append(changes, Change{Kind: PutSession, Session: ptr(s.s)})
	}
	return changes
}

func (e *Engine) closeSession(c CloseSession, now Instant, changes []Change) (Result, []Change, error) {
	changes = e.expireSessionIfDue(c.ID, now, changes)
	s := e.liveSession(c.Account, c.ID)
	if s == nil {
		return Result{Rev: e.freedRev}, changes, ErrSessionNotFound
	}
	res := Result{Outcome: SessionClosed, Session: s.s}
	for _, en := range s.leases {
		res.Leases = append(res.Leases, en.lease)
	}
	changes = e.endSession(s, now, changes, false)
	return res, changes, nil
}

// endSession ends a session and every lease bound to it, in lock order; expired says
// whether the leases' lock-delays apply.
func (e *Engine) endSession(s *session, now Instant, changes []Change, expired bool) []Change {
	s.dead = true
	bound := slices.Clone(s.leases)
	sort.Slice(bound, func(i, j int) bool {
		return bound[i].lease.Name < bound[j].lease.Name
	})
	for _, en := range bound {
		changes = e.end(en, now, changes, expired)
	}
	e.sessExp.del(s.index)
	delete(e.sessions, s.s.ID)
	delete(e.accounts[s.s.Account].sessions, s.s.ID)
	e.dropAccountIfEmpty(s.s.Account)
	return append(changes, Change{Kind: DeleteSession, Session: ptr(s.s)})
}

// Session returns session id of acct with the leases bound to it (in lock-name order),
// and the revision the answer depends on. Call it after an Apply at the current instant
// so that expired sessions are gone.
func (e *Engine) Session(acct, id string) (Session, []Lease, bool, uint64) {
	s := e.liveSession(acct, id)
	if s == nil {
		return Session{}, nil, false, e.freedRev
	}
	rev := s.s.ModRev
	out := make([]Lease, len(s.leases))
	for i, en := range s.leases {
		out[i] = en.lease
		rev = max(rev, en.lease.ModRev)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return s.s, out, true, rev
}

// Sessions returns how many sessions acct has.
func (e *Engine) Sessions(acct string) int {
	if a := e.accounts[acct]; a != nil {
		return len(a.sessions)
	}
	return 0
}
