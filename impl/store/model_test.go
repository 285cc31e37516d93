package store

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
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
	leases, reserved, err := st.Leases(context.Background())
	if err != nil {
		s.t.Fatalf("leases: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.st, s.cancel, s.done = st, cancel, make(chan error, 1)
	go func() { s.done <- st.Run(ctx) }()
	s.e = lease.Restore(s.cfg, leases, reserved, s.now)
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

// refLease and ref are the reference model: a map of leases and a few lines per rule.
type refLease struct {
	key      lease.Key
	holder   lease.Holder
	id       string
	token    int64
	ttl      time.Duration
	deadline time.Duration
}

type ref struct {
	limit    int
	leases   map[lease.Key]*refLease
	maxToken int64 // the largest token ever reported
}

func (r *ref) expire(now time.Duration) {
	for k, l := range r.leases {
		if l.deadline <= now {
			delete(r.leases, k)
		}
	}
}

func (r *ref) count(account string) int {
	n := 0
	for k := range r.leases {
		if k.Account == account {
			n++
		}
	}
	return n
}

func (r *ref) restart(now time.Duration) {
	for _, l := range r.leases {
		l.deadline = now + l.ttl
	}
}

var (
	modelAccounts = []string{"acc_1", "acc_2"}
	modelNames    = []string{"a", "b", "c", "d"}
	modelHolders  = []lease.Holder{{TokenID: "tok_1"}, {TokenID: "tok_1", Owner: "w"}, {TokenID: "tok_2"}}
	modelTTLs     = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second}
	modelSteps    = []time.Duration{0, time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 5 * time.Second}
)

// modelChecks is how many random command sequences the model test runs, unless
// -rapid.checks is given.
const modelChecks = 2000

// TestEngineAndStoreMatchAReferenceModel runs random sequences of acquire, renew,
// release, time passing, clean restarts and crashes before the reply (the command's
// changes durable or lost) against the engine and a real SQLite store, and compares
// every result and, after every step, the whole state with a simple reference model.
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
	var cases, steps, restarts, crashes int
	rapid.Check(t, func(rt *rapid.T) {
		cases++
		dir, err := os.MkdirTemp(base, "case")
		if err != nil {
			rt.Fatal(err)
		}
		defer os.RemoveAll(dir)
		s := &system{t: rt, path: filepath.Join(dir, "model.db"), cfg: lease.Config{MaxLocksPerAccount: 3, ReserveBlock: 3},
			now: lease.Instant{Mono: time.Hour, Wall: modelEpoch}}
		s.open()
		defer func() { s.close() }()
		m := &ref{limit: 3, leases: map[lease.Key]*refLease{}}

		key := func(rt *rapid.T) lease.Key {
			return lease.Key{Account: rapid.SampledFrom(modelAccounts).Draw(rt, "account"), Name: rapid.SampledFrom(modelNames).Draw(rt, "name")}
		}
		// leaseID picks a lease id to renew or release: the current one, a stale or
		// unknown one.
		known := []string{"never-granted"}
		leaseID := func(rt *rapid.T) string { return rapid.SampledFrom(known).Draw(rt, "lease") }

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
				l := m.leases[c.Key]
				switch {
				case l != nil && (l.holder != c.Holder || c.Holder.Owner == ""): // an owner-less holder never matches
					if err != nil || res.Outcome != lease.Held || res.Lease.ID != l.id || res.Lease.Token != l.token {
						rt.Fatalf("acquire %v by %v: got %v %+v, want held by %s", c.Key, c.Holder, err, res, l.id)
					}
				case l != nil:
					l.deadline, l.ttl = max(l.deadline, now+c.TTL), max(l.ttl, c.TTL)
					if err != nil || res.Outcome != lease.Acquired || res.Lease.ID != l.id || res.Lease.Token != l.token {
						rt.Fatalf("re-acquire %v: got %v %+v, want lease %s token %d", c.Key, err, res, l.id, l.token)
					}
				case m.count(c.Key.Account) >= m.limit:
					if !errors.Is(err, lease.ErrLimitExceeded) {
						rt.Fatalf("acquire %v over the limit: got %v %+v", c.Key, err, res)
					}
				default:
					if err != nil || res.Outcome != lease.Acquired || res.Lease.ID != c.LeaseID || res.Lease.Token <= m.maxToken {
						rt.Fatalf("acquire %v: got %v %+v, want a new lease with a token above %d", c.Key, err, res, m.maxToken)
					}
					m.maxToken = res.Lease.Token
					m.leases[c.Key] = &refLease{key: c.Key, holder: c.Holder, id: c.LeaseID, token: res.Lease.Token, ttl: c.TTL, deadline: now + c.TTL}
				}
			case lease.Renew:
				l := m.leases[c.Key]
				if l == nil || l.id != c.LeaseID {
					if !errors.Is(err, lease.ErrNotCurrent) {
						rt.Fatalf("renew of a lease that is not current: got %v %+v", err, res)
					}
					return
				}
				l.deadline, l.ttl = max(l.deadline, now+c.TTL), max(l.ttl, c.TTL)
				if err != nil || res.Outcome != lease.Renewed || res.Lease.Token != l.token {
					rt.Fatalf("renew %v: got %v %+v", c.Key, err, res)
				}
			case lease.Release:
				l := m.leases[c.Key]
				if l == nil || l.id != c.LeaseID {
					if !errors.Is(err, lease.ErrNotCurrent) {
						rt.Fatalf("release of a lease that is not current: got %v %+v", err, res)
					}
					return
				}
				delete(m.leases, c.Key)
				if err != nil || res.Outcome != lease.Released || res.Lease.ID != l.id {
					rt.Fatalf("release %v: got %v %+v", c.Key, err, res)
				}
			}
		}
		command := func(rt *rapid.T) lease.Command {
			switch rapid.IntRange(0, 2).Draw(rt, "command") {
			case 0:
				s.ids++
				return lease.Acquire{Key: key(rt), Holder: rapid.SampledFrom(modelHolders).Draw(rt, "holder"),
					TTL: rapid.SampledFrom(modelTTLs).Draw(rt, "ttl"), LeaseID: fmt.Sprintf("lease-%d", s.ids)}
			case 1:
				return lease.Renew{Key: key(rt), LeaseID: leaseID(rt), TTL: rapid.SampledFrom(modelTTLs).Draw(rt, "ttl")}
			default:
				return lease.Release{Key: key(rt), LeaseID: leaseID(rt)}
			}
		}
		restart := func() {
			restarts++
			s.close()
			s.open()
			m.restart(s.now.Mono)
			// What the store returned is exactly the model's unreleased leases.
			leases, _, err := s.st.Leases(context.Background())
			if err != nil {
				rt.Fatal(err)
			}
			if len(leases) != len(m.leases) {
				rt.Fatalf("after restart the store has %d leases, the model %d", len(leases), len(m.leases))
			}
		}

		rt.Repeat(map[string]func(*rapid.T){
			"acquire": func(rt *rapid.T) {
				s.ids++
				run(rt, lease.Acquire{Key: key(rt), Holder: rapid.SampledFrom(modelHolders).Draw(rt, "holder"),
					TTL: rapid.SampledFrom(modelTTLs).Draw(rt, "ttl"), LeaseID: fmt.Sprintf("lease-%d", s.ids)}, true)
			},
			"renew": func(rt *rapid.T) {
				run(rt, lease.Renew{Key: key(rt), LeaseID: leaseID(rt), TTL: rapid.SampledFrom(modelTTLs).Draw(rt, "ttl")}, true)
			},
			"release": func(rt *rapid.T) {
				run(rt, lease.Release{Key: key(rt), LeaseID: leaseID(rt)}, true)
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
	t.Logf("%d cases, %d commands, %d restarts, %d crashes before the reply, %d violations", cases, steps, restarts, crashes, violations)
	t.Logf("SUMMARY model-based ops=%d restarts=%d violations=%d", steps, restarts, violations)
}

// compare checks the engine's whole state against the model's.
func compare(rt *rapid.T, s *system, m *ref) {
	var got, want []string
	for _, acc := range modelAccounts {
		leases, _ := s.e.List(acc)
		for _, l := range leases {
			got = append(got, fmt.Sprintf("%s/%s %s %v token=%d ttl=%s deadline=%s", l.Account, l.Name, l.ID, l.Holder, l.Token, l.TTL, l.Deadline))
		}
	}
	for _, l := range m.leases {
		want = append(want, fmt.Sprintf("%s/%s %s %v token=%d ttl=%s deadline=%s", l.key.Account, l.key.Name, l.id, l.holder, l.token, l.ttl, l.deadline))
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
