package store

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/octostore/octostore/impl/lease"
)

// system is the engine and the store as the server runs them: every command applied,
// its changes committed, its result reported only once durable.
type system struct {
	t      *rapid.T
	path   string
	cfg    lease.Config
	st     *Store
	cancel context.CancelFunc
	done   chan error
	e      *lease.Engine
	now    lease.Instant
	ids    int
}

var modelEpoch = time.Date(2026, 2, 12, 0, 0, 0, 0, time.UTC)

func (s *system) open() {
	st, err := Open(context.Background(), s.path, Options{})
	if err != nil {
		s.t.Fatalf("open: %v", err)
	}
	state, err := st.State(context.Background())
	if err != nil {
		s.t.Fatalf("state: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.st, s.cancel, s.done = st, cancel, make(chan error, 1)
	go func() { s.done <- st.Run(ctx) }()
	s.e = lease.RestoreState(s.cfg, state, s.now)
}

func (s *system) close() {
	s.cancel()
	if err := <-s.done; err != nil {
		s.t.Fatalf("run: %v", err)
	}
	if err := s.st.Close(); err != nil {
		s.t.Fatalf("close: %v", err)
	}
}

// apply runs cmd; durable says whether its changes reach the disk before a crash.
func (s *system) apply(cmd lease.Command, durable bool) (lease.Result, error) {
	res, err := s.e.Apply(cmd, s.now)
	if durable {
		if len(res.Changes) > 0 {
			if serr := s.st.Submit(res.Rev, res.Changes); serr != nil {
				s.t.Fatalf("submit: %v", serr)
			}
		}
		if werr := s.st.WaitDurable(context.Background(), res.Rev); werr != nil {
			s.t.Fatalf("wait durable: %v", werr)
		}
	}
	return res, err
}

// refLease, refSession, refDelay and ref are the reference model: maps of leases,
// sessions and lock-delays, and a few lines per rule.
type refLease struct {
	key       lease.Key
	holder    lease.Holder
	id        string
	token     int64
	ttl       time.Duration
	deadline  time.Duration
	session   string
	lockDelay time.Duration
	max       int
}

type refSession struct {
	account  string
	ttl      time.Duration
	deadline time.Duration
}

type refDelay struct {
	leaseID  string
	length   time.Duration
	deadline time.Duration
}

type ref struct {
	limit, sessionLimit int
	leases              map[lease.Key][]*refLease // a lock's holders in token order
	delays              map[lease.Key][]*refDelay
	max                 map[lease.Key]int // agreed while a lock has holders or delays
	sessions            map[string]*refSession
	maxToken            int64 // the largest token ever reported
}

// end removes l from its lock; an expiry leaves a lock-delay that runs from when the
// lease ended.
func (r *ref) end(l *refLease, endedAt, now time.Duration, expired bool) {
	r.leases[l.key] = slices.DeleteFunc(r.leases[l.key], func(x *refLease) bool { return x == l })
	if expired && l.lockDelay > 0 && endedAt+l.lockDelay > now {
		r.delays[l.key] = append(r.delays[l.key], &refDelay{leaseID: l.id, length: l.lockDelay, deadline: endedAt + l.lockDelay})
	}
	r.tidy(l.key)
}

func (r *ref) tidy(k lease.Key) {
	if len(r.leases[k]) == 0 {
		delete(r.leases, k)
	}
	if len(r.delays[k]) == 0 {
		delete(r.delays, k)
	}
	if r.leases[k] == nil && r.delays[k] == nil {
		delete(r.max, k)
	}
}

func (r *ref) expire(now time.Duration) {
	for id, s := range r.sessions {
		if s.deadline <= now {
			r.closeSession(id, now, true)
		}
	}
	for _, ls := range r.leases {
		for _, l := range slices.Clone(ls) {
			if l.session == "" && l.deadline <= now {
				r.end(l, l.deadline, now, true)
			}
		}
	}
	for k, ds := range r.delays {
		r.delays[k] = slices.DeleteFunc(ds, func(d *refDelay) bool { return d.deadline <= now })
		r.tidy(k)
	}
}

func (r *ref) closeSession(id string, now time.Duration, expired bool) {
	s := r.sessions[id]
	delete(r.sessions, id)
	for _, ls := range r.leases {
		for _, l := range slices.Clone(ls) {
			if l.session == id {
				r.end(l, s.deadline, now, expired)
			}
		}
	}
}

// count is what an account holds against its limit: leases and lock-delays.
func (r *ref) count(account string) int {
	n := 0
	for k, ls := range r.leases {
		if k.Account == account {
			n += len(ls)
		}
	}
	for k, ds := range r.delays {
		if k.Account == account {
			n += len(ds)
		}
	}
	return n
}

func (r *ref) sessionCount(account string) int {
	n := 0
	for _, s := range r.sessions {
		if s.account == account {
			n++
		}
	}
	return n
}

func (r *ref) find(k lease.Key, id string) *refLease {
	for _, l := range r.leases[k] {
		if l.id == id {
			return l
		}
	}
	return nil
}

// renewSession extends session id to now+ttl, and its leases with it.
func (r *ref) renewSession(id string, ttl, now time.Duration) {
	s := r.sessions[id]
	if ttl == 0 {
		ttl = s.ttl
	}
	s.deadline, s.ttl = max(s.deadline, now+ttl), max(s.ttl, ttl)
	for _, ls := range r.leases {
		for _, l := range ls {
			if l.session == id {
				l.deadline = s.deadline
			}
		}
	}
}

func (r *ref) restart(now time.Duration) {
	for _, s := range r.sessions {
		s.deadline = now + s.ttl
	}
	for _, ls := range r.leases {
		for _, l := range ls {
			if l.session != "" {
				l.deadline = r.sessions[l.session].deadline
			} else {
				l.deadline = now + l.ttl
			}
		}
	}
	for _, ds := range r.delays {
		for _, d := range ds {
			d.deadline = now + d.length
		}
	}
}

var (
	modelAccounts = []string{"acc_1", "acc_2"}
	modelNames    = []string{"a", "b", "c", "d"}
	modelHolders  = []lease.Holder{{TokenID: "tok_1"}, {TokenID: "tok_1", Owner: "w"}, {TokenID: "tok_2"}, {TokenID: "tok_2", Owner: "v"}}
	modelMax      = []int{0, 0, 1, 2, 3} // max_holders; 0 and 1 are a plain lock
	modelDelays   = []time.Duration{0, 0, time.Second, 3 * time.Second}
	modelTTLs     = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second}
	modelSteps    = []time.Duration{0, time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second}
)

// modelChecks is how many random command sequences the model test runs, unless
// -rapid.checks is given.
const modelChecks = 2000

// TestEngineAndStoreMatchAReferenceModel runs random sequences of acquire (plain, as a
// semaphore, with a lock-delay, through a session), renew, release, force-release,
// session create/renew/close, time passing, clean restarts and crashes before the reply
// (the command's changes durable or lost) against the engine and a real SQLite store, and
// compares every result and, after every step, the whole state with a simple reference
// model. The model's safety rules: at most N unexpired leases per lock of max_holders N;
// every new lease's fencing token above every token reported before; nobody granted a
// place of a lock while a lock-delay keeps it.
func TestEngineAndStoreMatchAReferenceModel(t *testing.T) {
	if f := flag.Lookup("rapid.checks"); f != nil {
		set := false
		flag.Visit(func(g *flag.Flag) { set = set || g.Name == "rapid.checks" })
		if !set && os.Getenv("RAPID_CHECKS") == "" {
			checks := modelChecks
			switch {
			case os.Getenv("OCTOSTORE_SOAK") != "":
				checks *= 20
			case raceEnabled:
				checks = 100
			}
			f.Value.Set(strconv.Itoa(checks))
			defer f.Value.Set(f.DefValue)
		}
	}
	// The database lives in memory-backed storage when there is one: the test is about
	// the logic of commits and restarts, not the speed of fsync.
	base := t.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "octostore-model"); err == nil {
			base = d
			defer os.RemoveAll(d)
		}
	}
	var cases, steps, restarts, crashes, grants, semGrants, boundGrants, delayedHelds, sessionEnds int
	rapid.Check(t, func(rt *rapid.T) {
		cases++
		dir, err := os.MkdirTemp(base, "case")
		if err != nil {
			rt.Fatal(err)
		}
		defer os.RemoveAll(dir)
		s := &system{t: rt, path: filepath.Join(dir, "model.db"), cfg: lease.Config{MaxLocksPerAccount: 3, ReserveBlock: 3, MaxSessionsPerAccount: 2},
			now: lease.Instant{Mono: time.Hour, Wall: modelEpoch}}
		s.open()
		defer func() { s.close() }()
		m := &ref{limit: 3, sessionLimit: 2, leases: map[lease.Key][]*refLease{}, delays: map[lease.Key][]*refDelay{},
			max: map[lease.Key]int{}, sessions: map[string]*refSession{}}

		key := func(rt *rapid.T) lease.Key {
			return lease.Key{Account: rapid.SampledFrom(modelAccounts).Draw(rt, "account"), Name: rapid.SampledFrom(modelNames).Draw(rt, "name")}
		}
		// leaseID picks a lease id to renew or release: the current one, a stale or
		// unknown one.
		known := []string{"never-granted"}
		leaseID := func(rt *rapid.T) string { return rapid.SampledFrom(known).Draw(rt, "lease") }
		// sessionID picks a session: none (most often), a known one, or an unknown one.
		sessionIDs := []string{"", "", "", "sess-never"}
		sessionID := func(rt *rapid.T) string { return rapid.SampledFrom(sessionIDs).Draw(rt, "session") }

		// run applies one command to both and compares the results.
		run := func(rt *rapid.T, cmd lease.Command, durable bool) {
			steps++
			res, err := s.apply(cmd, durable)
			if !durable {
				return // nobody hears of it; the restart that follows decides
			}
			now := s.now.Mono
			m.expire(now)
			switch c := cmd.(type) {
			case lease.Acquire:
				known = append(known, c.LeaseID)
				n := max(c.MaxHolders, 1)
				var sess *refSession
				if c.SessionID != "" {
					sess = m.sessions[c.SessionID]
					if sess == nil || sess.account != c.Key.Account {
						if !errors.Is(err, lease.ErrSessionNotFound) {
							rt.Fatalf("acquire %v through unknown session %s: got %v %+v", c.Key, c.SessionID, err, res)
						}
						return
					}
				}
				holders, delays := m.leases[c.Key], m.delays[c.Key]
				var same *refLease
				for _, l := range holders {
					if c.Holder.Owner != "" && l.holder == c.Holder { // an owner-less holder never matches
						same = l
					}
				}
				switch {
				case (len(holders) > 0 || len(delays) > 0) && m.max[c.Key] != n:
					if !errors.Is(err, lease.ErrMaxHoldersMismatch) || len(res.Changes) > 0 && !onlyExpiries(res.Changes) {
						rt.Fatalf("acquire %v with max %d, the lock's is %d: got %v %+v", c.Key, n, m.max[c.Key], err, res)
					}
				case same != nil && same.session != c.SessionID:
					if !errors.Is(err, lease.ErrSessionMismatch) {
						rt.Fatalf("re-acquire %v through another session: got %v %+v", c.Key, err, res)
					}
				case same != nil:
					if same.session == "" {
						same.deadline, same.ttl = max(same.deadline, now+c.TTL), max(same.ttl, c.TTL)
					}
					same.lockDelay = c.LockDelay
					if err != nil || res.Outcome != lease.Acquired || res.Lease.ID != same.id || res.Lease.Token != same.token {
						rt.Fatalf("re-acquire %v: got %v %+v, want lease %s token %d", c.Key, err, res, same.id, same.token)
					}
				case len(holders)+len(delays) >= n:
					reported := res.Leases
					if n == 1 && res.Lease.ID != "" {
						reported = []lease.Lease{res.Lease} // a plain lock's holder is Result.Lease
					}
					if err != nil || res.Outcome != lease.Held || len(reported) != len(holders) {
						rt.Fatalf("acquire %v of a full lock (%d holders, %d delays, max %d): got %v %+v", c.Key, len(holders), len(delays), n, err, res)
					}
					for i, l := range holders {
						if reported[i].ID != l.id || reported[i].Token != l.token {
							rt.Fatalf("acquire %v: holder %d is %+v, want %s", c.Key, i, reported[i], l.id)
						}
					}
					if len(delays) > 0 {
						delayedHelds++
						if res.AvailableAt.IsZero() || res.RetryAfter <= 0 {
							rt.Fatalf("acquire %v during a lock-delay: no available_at in %+v", c.Key, res)
						}
					}
				case m.count(c.Key.Account) >= m.limit:
					if !errors.Is(err, lease.ErrLimitExceeded) {
						rt.Fatalf("acquire %v over the limit: got %v %+v", c.Key, err, res)
					}
				default:
					if err != nil || res.Outcome != lease.Acquired || res.Lease.ID != c.LeaseID || res.Lease.Token <= m.maxToken {
						rt.Fatalf("acquire %v: got %v %+v, want a new lease with a token above %d", c.Key, err, res, m.maxToken)
					}
					grants++
					if n > 1 {
						semGrants++
					}
					m.maxToken = res.Lease.Token
					l := &refLease{key: c.Key, holder: c.Holder, id: c.LeaseID, token: res.Lease.Token, ttl: c.TTL, deadline: now + c.TTL,
						session: c.SessionID, lockDelay: c.LockDelay, max: c.MaxHolders}
					if n == 1 {
						l.max = 0
					}
					if sess != nil {
						boundGrants++
						l.ttl, l.deadline = sess.ttl, sess.deadline
					}
					m.leases[c.Key] = append(m.leases[c.Key], l)
					m.max[c.Key] = n
					if len(m.leases[c.Key]) > n {
						rt.Fatalf("model broken: %d holders of %v, max %d", len(m.leases[c.Key]), c.Key, n)
					}
				}
			case lease.Renew:
				l := m.find(c.Key, c.LeaseID)
				if l == nil {
					if !errors.Is(err, lease.ErrNotCurrent) {
						rt.Fatalf("renew of a lease that is not current: got %v %+v", err, res)
					}
					return
				}
				if l.session != "" {
					m.renewSession(l.session, 0, now)
				} else {
					l.deadline, l.ttl = max(l.deadline, now+c.TTL), max(l.ttl, c.TTL)
				}
				if err != nil || res.Outcome != lease.Renewed || res.Lease.Token != l.token || res.Lease.Deadline != l.deadline {
					rt.Fatalf("renew %v: got %v %+v", c.Key, err, res)
				}
			case lease.Release:
				l := m.find(c.Key, c.LeaseID)
				if l == nil {
					if !errors.Is(err, lease.ErrNotCurrent) {
						rt.Fatalf("release of a lease that is not current: got %v %+v", err, res)
					}
					return
				}
				m.end(l, now, now, false)
				if err != nil || res.Outcome != lease.Released || res.Lease.ID != l.id {
					rt.Fatalf("release %v: got %v %+v", c.Key, err, res)
				}
			case lease.ForceRelease:
				want := len(m.leases[c.Key])
				delete(m.leases, c.Key)
				delete(m.delays, c.Key)
				m.tidy(c.Key)
				if err != nil || res.Outcome != lease.Released || len(res.Leases) != want {
					rt.Fatalf("force-release %v: got %v %+v, want %d leases ended", c.Key, err, res, want)
				}
			case lease.CreateSession:
				sessionIDs = append(sessionIDs, c.ID)
				if m.sessionCount(c.Account) >= m.sessionLimit {
					if !errors.Is(err, lease.ErrSessionLimitExceeded) {
						rt.Fatalf("create session over the limit: got %v %+v", err, res)
					}
					return
				}
				if err != nil || res.Outcome != lease.SessionCreated || res.Session.Deadline != now+c.TTL {
					rt.Fatalf("create session: got %v %+v", err, res)
				}
				m.sessions[c.ID] = &refSession{account: c.Account, ttl: c.TTL, deadline: now + c.TTL}
			case lease.RenewSession:
				if ms := m.sessions[c.ID]; ms == nil || ms.account != c.Account {
					if !errors.Is(err, lease.ErrSessionNotFound) {
						rt.Fatalf("renew of an unknown session: got %v %+v", err, res)
					}
					return
				}
				m.renewSession(c.ID, c.TTL, now)
				if err != nil || res.Outcome != lease.SessionRenewed || res.Session.Deadline != m.sessions[c.ID].deadline {
					rt.Fatalf("renew session: got %v %+v", err, res)
				}
			case lease.CloseSession:
				if ms := m.sessions[c.ID]; ms == nil || ms.account != c.Account {
					if !errors.Is(err, lease.ErrSessionNotFound) {
						rt.Fatalf("close of an unknown session: got %v %+v", err, res)
					}
					return
				}
				sessionEnds++
				m.closeSession(c.ID, now, false)
				if err != nil || res.Outcome != lease.SessionClosed {
					rt.Fatalf("close session: got %v %+v", err, res)
				}
			}
		}
		acquire := func(rt *rapid.T) lease.Command {
			s.ids++
			return lease.Acquire{Key: key(rt), Holder: rapid.SampledFrom(modelHolders).Draw(rt, "holder"),
				TTL: rapid.SampledFrom(modelTTLs).Draw(rt, "ttl"), LeaseID: fmt.Sprintf("lease-%d", s.ids),
				MaxHolders: rapid.SampledFrom(modelMax).Draw(rt, "max"), LockDelay: rapid.SampledFrom(modelDelays).Draw(rt, "delay"),
				SessionID: sessionID(rt)}
		}
		createSession := func(rt *rapid.T) lease.Command {
			s.ids++
			return lease.CreateSession{ID: fmt.Sprintf("sess-%d", s.ids), Account: rapid.SampledFrom(modelAccounts).Draw(rt, "account"),
				Holder: rapid.SampledFrom(modelHolders).Draw(rt, "holder"), TTL: rapid.SampledFrom(modelTTLs).Draw(rt, "ttl")}
		}
		renewSession := func(rt *rapid.T) lease.Command {
			return lease.RenewSession{ID: sessionID(rt), Account: rapid.SampledFrom(modelAccounts).Draw(rt, "account"),
				TTL: rapid.SampledFrom(append([]time.Duration{0}, modelTTLs...)).Draw(rt, "ttl")}
		}
		command := func(rt *rapid.T) lease.Command {
			switch rapid.IntRange(0, 6).Draw(rt, "command") {
			case 0:
				return acquire(rt)
			case 1:
				return lease.Renew{Key: key(rt), LeaseID: leaseID(rt), TTL: rapid.SampledFrom(modelTTLs).Draw(rt, "ttl")}
			case 2:
				return lease.Release{Key: key(rt), LeaseID: leaseID(rt)}
			case 3:
				return createSession(rt)
			case 4:
				return renewSession(rt)
			case 5:
				return lease.CloseSession{ID: sessionID(rt), Account: rapid.SampledFrom(modelAccounts).Draw(rt, "account")}
			default:
				return lease.ForceRelease{Key: key(rt)}
			}
		}
		restart := func() {
			restarts++
			s.close()
			s.open()
			m.restart(s.now.Mono)
			// What the store returned is exactly the model's unreleased leases, sessions
			// and lock-delays.
			st, err := s.st.State(context.Background())
			if err != nil {
				rt.Fatal(err)
			}
			nl, nd := 0, 0
			for _, ls := range m.leases {
				nl += len(ls)
			}
			for _, ds := range m.delays {
				nd += len(ds)
			}
			if len(st.Leases) != nl || len(st.Sessions) != len(m.sessions) || len(st.Delays) != nd {
				rt.Fatalf("after restart the store has %d leases, %d sessions, %d lock-delays; the model %d, %d, %d",
					len(st.Leases), len(st.Sessions), len(st.Delays), nl, len(m.sessions), nd)
			}
		}

		rt.Repeat(map[string]func(*rapid.T){
			"acquire": func(rt *rapid.T) { run(rt, acquire(rt), true) },
			// An acquire of a lock that is held or in lock-delay, with its max_holders.
			"acquire contended": func(rt *rapid.T) {
				var busy []lease.Key
				for k := range m.leases {
					busy = append(busy, k)
				}
				for k := range m.delays {
					if m.leases[k] == nil {
						busy = append(busy, k)
					}
				}
				if len(busy) == 0 {
					rt.Skip("no busy lock")
				}
				sort.Slice(busy, func(i, j int) bool { return fmt.Sprint(busy[i]) < fmt.Sprint(busy[j]) })
				c := acquire(rt).(lease.Acquire)
				c.Key = rapid.SampledFrom(busy).Draw(rt, "busy")
				c.MaxHolders = m.max[c.Key]
				run(rt, c, true)
			},
			"renew": func(rt *rapid.T) {
				run(rt, lease.Renew{Key: key(rt), LeaseID: leaseID(rt), TTL: rapid.SampledFrom(modelTTLs).Draw(rt, "ttl")}, true)
			},
			"release": func(rt *rapid.T) {
				run(rt, lease.Release{Key: key(rt), LeaseID: leaseID(rt)}, true)
			},
			"force-release":  func(rt *rapid.T) { run(rt, lease.ForceRelease{Key: key(rt)}, true) },
			"create session": func(rt *rapid.T) { run(rt, createSession(rt), true) },
			"renew session":  func(rt *rapid.T) { run(rt, renewSession(rt), true) },
			"close session": func(rt *rapid.T) {
				run(rt, lease.CloseSession{ID: sessionID(rt), Account: rapid.SampledFrom(modelAccounts).Draw(rt, "account")}, true)
			},
			"advance": func(rt *rapid.T) {
				s.now = s.now.Add(rapid.SampledFrom(modelSteps).Draw(rt, "step"))
			},
			"restart": func(rt *rapid.T) { restart() },
			"crash before reply": func(rt *rapid.T) {
				crashes++
				run(rt, command(rt), rapid.Bool().Draw(rt, "durable"))
				restart()
			},
			"": func(rt *rapid.T) { compare(rt, s, m) },
		})
	})
	violations := 0
	if t.Failed() {
		violations = 1
	}
	t.Logf("%d cases, %d commands (%d grants, %d of a semaphore, %d through a session; %d answered held during a lock-delay; %d sessions closed), %d restarts, %d crashes before the reply, %d violations",
		cases, steps, grants, semGrants, boundGrants, delayedHelds, sessionEnds, restarts, crashes, violations)
	t.Logf("SUMMARY model-based ops=%d restarts=%d violations=%d", steps, restarts, violations)
}

// onlyExpiries reports whether changes only end leases, sessions and lock-delays that
// were due (what every command does before its own work).
func onlyExpiries(changes []lease.Change) bool {
	for _, c := range changes {
		switch c.Kind {
		case lease.DeleteLease, lease.DeleteSession, lease.DeleteDelay, lease.PutDelay, lease.ReserveToken:
		default:
			return false
		}
	}
	return true
}

// compare checks the engine's whole state against the model's.
func compare(rt *rapid.T, s *system, m *ref) {
	var got, want []string
	for _, acc := range modelAccounts {
		leases, _ := s.e.List(acc)
		for _, l := range leases {
			got = append(got, fmt.Sprintf("%s/%s %s %v token=%d ttl=%s deadline=%s session=%q delay=%s max=%d",
				l.Account, l.Name, l.ID, l.Holder, l.Token, l.TTL, l.Deadline, l.SessionID, l.LockDelay, l.MaxHolders))
		}
		for _, name := range modelNames {
			for _, d := range s.e.Delays(lease.Key{Account: acc, Name: name}) {
				got = append(got, fmt.Sprintf("delay %s/%s %s length=%s deadline=%s", d.Account, d.Name, d.LeaseID, d.Length, d.Deadline))
			}
		}
	}
	for _, ls := range m.leases {
		if len(ls) > max(ls[0].max, 1) {
			rt.Fatalf("%d holders of %v, max %d", len(ls), ls[0].key, ls[0].max)
		}
		for _, l := range ls {
			want = append(want, fmt.Sprintf("%s/%s %s %v token=%d ttl=%s deadline=%s session=%q delay=%s max=%d",
				l.key.Account, l.key.Name, l.id, l.holder, l.token, l.ttl, l.deadline, l.session, l.lockDelay, l.max))
		}
	}
	for k, ds := range m.delays {
		for _, d := range ds {
			want = append(want, fmt.Sprintf("delay %s/%s %s length=%s deadline=%s", k.Account, k.Name, d.leaseID, d.length, d.deadline))
		}
	}
	for id, ms := range m.sessions {
		got := "missing"
		if es, _, ok, _ := s.e.Session(ms.account, id); ok {
			got = fmt.Sprintf("ttl=%s deadline=%s", es.TTL, es.Deadline)
		}
		if w := fmt.Sprintf("ttl=%s deadline=%s", ms.ttl, ms.deadline); got != w {
			rt.Fatalf("session %s: engine %s, model %s", id, got, w)
		}
	}
	for _, acc := range modelAccounts {
		if s.e.Sessions(acc) != m.sessionCount(acc) {
			rt.Fatalf("account %s: engine has %d sessions, the model %d", acc, s.e.Sessions(acc), m.sessionCount(acc))
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		rt.Fatalf("engine and model differ:\nengine %v\nmodel  %v", got, want)
	}
	if s.e.LastToken() < m.maxToken {
		rt.Fatalf("engine's last token %d is below the largest reported %d", s.e.LastToken(), m.maxToken)
	}
}
