package octostore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	octostore "github.com/octostore/octostore/sdk/go"
)

// The shared conformance suite (../conformance): every scenario file is one subtest,
// run through this SDK's helpers against a live octostore-lock (see
// conformance_harness_test.go). The translation table from the suite's operations to
// the Go helpers is run.do below.

var conformanceDir = filepath.Join("..", "conformance")

// scenarioLimit bounds a whole scenario, so that a server that stops answering fails the
// test instead of hanging it. Steps wait for their own, much shorter, deadlines.
const scenarioLimit = 5 * time.Minute

func TestConformance(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(conformanceDir, "scenarios", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files in %s (%v)", conformanceDir, err)
	}
	schema, err := jsonschema.NewCompiler().Compile(filepath.Join(conformanceDir, "scenario.schema.json"))
	if err != nil {
		t.Fatalf("scenario schema: %v", err)
	}
	bin, err := conformanceBinary()
	if err != nil {
		t.Fatal(err)
	}
	srvs := newServers(bin)
	var ran atomic.Int64
	// Cleanups run after every parallel subtest has finished, the last registered first.
	t.Cleanup(func() {
		if err := srvs.stopAll(); err != nil {
			t.Error(err)
		}
	})
	t.Cleanup(func() {
		n := int(ran.Load())
		switch {
		case n == len(files):
		case selectsSubtests():
			t.Logf("ran %d of the %d scenarios (-run or -skip selected them)", n, len(files))
		default:
			t.Errorf("ran %d scenarios, but %s has %d", n, filepath.Join(conformanceDir, "scenarios"), len(files))
		}
	})
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ran.Add(1)
			sc, err := loadScenario(file, schema)
			if err != nil {
				t.Fatal(err)
			}
			if sc.Name != name {
				t.Fatalf("%s: name %q differs from the file name", file, sc.Name)
			}
			var srv *confServer
			if sc.Server.Dedicated {
				srv, err = startConfServer(bin, sc.Server.Env)
				if srv != nil {
					t.Cleanup(func() {
						if err := srv.stop(); err != nil {
							t.Error(err)
						}
					})
				}
			} else {
				srv, err = srvs.get(sc.Server.Env)
			}
			if err != nil {
				t.Fatal(err)
			}
			runScenario(t, sc, srv)
		})
	}
}

// selectsSubtests reports whether -run or -skip may have left scenarios out.
func selectsSubtests() bool {
	run, skip := flag.Lookup("test.run"), flag.Lookup("test.skip")
	return (run != nil && strings.Contains(run.Value.String(), "/")) || (skip != nil && skip.Value.String() != "")
}

// ---- scenario files -------------------------------------------------------------------

type scenario struct {
	Name   string `json:"name"`
	Server struct {
		Env       map[string]string `json:"env"`
		Dedicated bool              `json:"dedicated"`
	} `json:"server"`
	Actors orderedActors    `json:"actors"`
	Steps  []map[string]any `json:"steps"`
}

type actorSpec struct {
	Account     string  `json:"account"`
	SameTokenAs string  `json:"same_token_as"`
	Owner       *string `json:"owner"`
	Token       string  `json:"token"`
	Anonymous   bool    `json:"anonymous"`
	URLs        string  `json:"urls"`
}

type namedActor struct {
	name string
	spec actorSpec
}

// orderedActors keeps the actors in file order: the first actor of an account label
// creates the account.
type orderedActors []namedActor

func (o *orderedActors) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("actors: want an object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		a := namedActor{name: tok.(string)}
		if err := dec.Decode(&a.spec); err != nil {
			return fmt.Errorf("actor %s: %w", a.name, err)
		}
		*o = append(*o, a)
	}
	return nil
}

// loadScenario reads a scenario file and validates it against the schema.
func loadScenario(path string, schema *jsonschema.Schema) (*scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := schema.Validate(doc); err != nil {
		return nil, fmt.Errorf("%s does not conform to the schema: %w", path, err)
	}
	var sc scenario
	if err := decodeJSON(b, &sc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &sc, nil
}

func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// step is one step after its references are resolved; the fields of every operation
// are here, each operation uses its own.
type step struct {
	Op          string         `json:"op"`
	Save        string         `json:"save"`
	Background  string         `json:"background"`
	Expect      map[string]any `json:"expect"`
	ExpectError *struct {
		Code           string `json:"code"`
		Status         *int   `json:"status"`
		MessageMatches string `json:"message_matches"`
	} `json:"expect_error"`

	Actor      string          `json:"actor"`
	Lock       string          `json:"lock"`
	TTL        *int64          `json:"ttl"`
	Wait       int64           `json:"wait"`
	Metadata   *string         `json:"metadata"`
	AutoRenew  *bool           `json:"auto_renew"`
	Lease      string          `json:"lease"`
	TimeoutMS  int64           `json:"timeout_ms"`
	Until      map[string]any  `json:"until"`
	Index      json.Number     `json:"index"`
	Election   string          `json:"election"`
	Value      string          `json:"value"`
	UntilValue *string         `json:"until_value"`
	Campaign   string          `json:"campaign"`
	Task       string          `json:"task"`
	Method     string          `json:"method"`
	Path       string          `json:"path"`
	Query      map[string]any  `json:"query"`
	Body       json.RawMessage `json:"body"`
	BodyText   *string         `json:"body_text"`
	CType      *string         `json:"content_type"`
	Session    string          `json:"session"`
	LockDelay  *int64          `json:"lock_delay"`
	MaxHolders *int            `json:"max_holders"`
	Prefix     *string         `json:"prefix"`
}

func (s *step) timeout() time.Duration { return time.Duration(s.TimeoutMS) * time.Millisecond }

// ---- one scenario ---------------------------------------------------------------------

// actor is a holder of the scenario: its helper client and options, and the values
// references may use (token_id, account_id, holder_id).
type actor struct {
	client *octostore.ClientWithResponses // nil for an anonymous actor
	token  string
	owner  octostore.Option
	values result
}

// lease is a saved try_lock or lock: the Mutex (or Semaphore) that holds it and the TTL
// it was taken with (a renew without ttl uses it).
type lease struct {
	m   lockable
	ttl time.Duration
}

// lockable is what the suite does with a Mutex and a Semaphore alike.
type lockable interface {
	Lock(ctx context.Context) error
	TryLock(ctx context.Context) error
	Unlock(ctx context.Context) error
	Renew(ctx context.Context, ttl time.Duration) (octostore.Lease, error)
	Lease() (octostore.Lease, bool)
	Token() int64
	Done() <-chan struct{}
	Err() error
}

// semaphore gives a Semaphore the Mutex's names: Acquire is Lock, Release is Unlock.
type semaphore struct{ *octostore.Semaphore }

func (s semaphore) Lock(ctx context.Context) error    { return s.Acquire(ctx) }
func (s semaphore) TryLock(ctx context.Context) error { return s.TryAcquire(ctx) }
func (s semaphore) Unlock(ctx context.Context) error  { return s.Release(ctx) }

// task is a background step.
type task struct {
	done chan struct{}
	res  result
	err  error
}

// run is one scenario being executed.
type run struct {
	name   string
	srv    *confServer
	ctx    context.Context // ends at cleanup: stops background tasks
	http   *http.Client
	actors map[string]*actor
	saved  map[string]result
	tasks  map[string]*task
	bg     sync.WaitGroup

	mu        sync.Mutex // guards what background tasks add: the handles
	leases    map[string]*lease
	sessions  map[string]*octostore.Session
	allSess   []*octostore.Session
	elections map[string]*octostore.Election
	allLeases []*lease
	allElecs  []*octostore.Election
}

// errTimeout is the suite's client-side "timeout": a blocking wait that ended without
// what it waited for.
var errTimeout = errors.New("timeout")

func runScenario(t *testing.T, sc *scenario, srv *confServer) {
	ctx, cancel := context.WithTimeout(context.Background(), scenarioLimit)
	r := &run{
		name: sc.Name, srv: srv, ctx: ctx, http: &http.Client{},
		actors: map[string]*actor{}, saved: map[string]result{}, tasks: map[string]*task{},
		leases: map[string]*lease{}, elections: map[string]*octostore.Election{},
		sessions: map[string]*octostore.Session{},
	}
	t.Cleanup(func() { r.close(cancel) })
	if err := r.makeActors(sc.Actors); err != nil {
		t.Fatalf("%s: actors: %v", sc.Name, err)
	}
	for i, raw := range sc.Steps {
		if err := r.step(raw); err != nil {
			text, _ := json.Marshal(raw)
			t.Fatalf("%s step %d %s: %v", sc.Name, i, text, err)
		}
	}
}

func (r *run) makeActors(actors orderedActors) error {
	accounts := map[string]string{} // label → account id
	for _, a := range actors {
		act := &actor{}
		var tokenID, accountID any
		switch s := a.spec; {
		case s.Account != "":
			if id, ok := accounts[s.Account]; ok {
				tok, err := r.srv.createToken(r.ctx, id)
				if err != nil {
					return err
				}
				act.token, tokenID, accountID = tok.Token, tok.TokenId, id
			} else {
				acc, err := r.srv.createAccount(r.ctx, s.Account)
				if err != nil {
					return err
				}
				accounts[s.Account] = acc.AccountId
				act.token, tokenID, accountID = acc.Token, acc.TokenId, acc.AccountId
			}
		case s.SameTokenAs != "":
			other, ok := r.actors[s.SameTokenAs]
			if !ok {
				return fmt.Errorf("actor %s: same_token_as %q is not an earlier actor", a.name, s.SameTokenAs)
			}
			act.token, tokenID, accountID = other.token, other.values["token_id"], other.values["account_id"]
		case s.Token != "":
			act.token = s.Token
		case s.Anonymous:
		}
		// One helper client per actor: its owner is the scenario's, or one default owner
		// drawn the way every helper draws its own.
		owner := octostore.NewOwner()
		if o := a.spec.Owner; o != nil {
			if *o == "" {
				return fmt.Errorf("actor %s: the Go helpers cannot send an empty owner", a.name)
			}
			owner = *o
		}
		act.owner = octostore.WithOwner(owner)
		var holderID, ownerValue any
		if tokenID != nil {
			holderID, ownerValue = fmt.Sprintf("%s/%s", tokenID, owner), owner
		}
		act.values = result{"token_id": tokenID, "account_id": accountID, "holder_id": holderID, "owner": ownerValue}
		if act.token != "" {
			urls := []string{r.srv.url}
			switch a.spec.URLs {
			case "dead_first":
				urls = []string{deadURL(), r.srv.url}
			case "dead_only":
				urls = []string{deadURL()}
			}
			c, err := octostore.NewWithEndpoints(urls, act.token)
			if err != nil {
				return err
			}
			act.client = c
		}
		r.actors[a.name] = act
	}
	return nil
}

// close cancels the background tasks and waits for them, then releases every lease and
// leadership still held, ignoring errors.
func (r *run) close(cancel context.CancelFunc) {
	cancel()
	r.bg.Wait()
	ctx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.allLeases {
		if l.m.Token() != 0 {
			l.m.Unlock(ctx)
		}
	}
	for _, e := range r.allElecs {
		if e.Token() != 0 {
			e.Resign(ctx)
		}
	}
	for _, sess := range r.allSess {
		sess.Close(ctx)
	}
	r.http.CloseIdleConnections()
}

func (r *run) lookup(name, field string) (any, error) {
	src, ok := r.saved[name]
	if a, isActor := r.actors[name]; isActor {
		src, ok = a.values, true
	}
	if !ok {
		return nil, fmt.Errorf("unknown reference ${%s.%s}", name, field)
	}
	v, ok := src[field]
	if !ok {
		return nil, fmt.Errorf("reference ${%s.%s}: the result has no field %s", name, field, field)
	}
	return v, nil
}

// step resolves the references of a step and executes it: in the background, as an
// await, or at once; then checks its outcome.
func (r *run) step(raw map[string]any) error {
	resolved, err := resolve(raw, r.lookup)
	if err != nil {
		return err
	}
	b, err := json.Marshal(resolved)
	if err != nil {
		return err
	}
	var s step
	if err := decodeJSON(b, &s); err != nil {
		return fmt.Errorf("step: %w", err)
	}
	switch {
	case s.Background != "":
		if _, dup := r.tasks[s.Background]; dup {
			return fmt.Errorf("task %s started twice", s.Background)
		}
		tk := &task{done: make(chan struct{})}
		r.tasks[s.Background] = tk
		r.bg.Add(1)
		go func() {
			defer r.bg.Done()
			defer close(tk.done)
			tk.res, tk.err = r.do(r.ctx, &s, s.Background)
		}()
		return nil
	case s.Op == "await":
		tk, ok := r.tasks[s.Task]
		if !ok {
			return fmt.Errorf("no background task %s", s.Task)
		}
		delete(r.tasks, s.Task)
		timer := time.NewTimer(s.timeout())
		defer timer.Stop()
		select {
		case <-tk.done:
		case <-timer.C:
			return fmt.Errorf("task %s still running after %v", s.Task, s.timeout())
		}
		if s.Save != "" { // the handle a background lock or campaign made
			r.mu.Lock()
			if l, ok := r.leases[s.Task]; ok {
				r.leases[s.Save] = l
			}
			if e, ok := r.elections[s.Task]; ok {
				r.elections[s.Save] = e
			}
			r.mu.Unlock()
		}
		return r.check(&s, tk.res, tk.err)
	}
	res, err := r.do(r.ctx, &s, s.Save)
	return r.check(&s, res, err)
}

// check holds a step's outcome against its expect or expect_error, and saves it.
func (r *run) check(s *step, res result, err error) error {
	if want := s.ExpectError; want != nil {
		if err == nil {
			return fmt.Errorf("succeeded with %s, want error %s", show(res), show(want))
		}
		code, status, typed := errorCode(err)
		if !typed {
			return fmt.Errorf("got %v, want error %s: not a typed SDK error", err, show(want))
		}
		if code != want.Code || (want.Status != nil && status != *want.Status) {
			return fmt.Errorf("got error code=%s status=%d (%v), want %s", code, status, err, show(want))
		}
		if re := want.MessageMatches; re != "" {
			ok, rerr := regexp.MatchString(re, err.Error())
			if rerr != nil {
				return fmt.Errorf("message_matches %q: %w", re, rerr)
			}
			if !ok {
				return fmt.Errorf("error message %q does not match %q", err.Error(), re)
			}
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("unexpected error: %w", err)
	}
	bad, err := mismatches(res, s.Expect)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s  (result %s)", strings.Join(bad, "; "), show(res))
	}
	if s.Save != "" {
		r.saved[s.Save] = res
	}
	return nil
}

// errorCode is the suite's code and HTTP status (0: none) of a typed SDK error.
func errorCode(err error) (code string, status int, typed bool) {
	if errors.Is(err, errUser) {
		return "user_error", 0, true
	}
	var p *octostore.ProblemError
	if errors.As(err, &p) {
		return string(p.Problem.Code), p.StatusCode, true
	}
	if errors.Is(err, errTimeout) {
		return "timeout", 0, true
	}
	if errors.Is(err, octostore.ErrLost) {
		return "lock_lost", 0, true
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return "transport", 0, true
	}
	return "", 0, false
}

// errUser is the user's own error, raised inside a with_lock block.
var errUser = errors.New("the block's own error")

// deadURL is a loopback URL nothing listens on: a port bound and closed again.
func deadURL() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// ---- the translation table: suite operation → Go helper call ---------------------------

// do executes one operation; key names the handle it makes (the save or task name).
func (r *run) do(ctx context.Context, s *step, key string) (result, error) {
	switch s.Op {
	case "try_lock": // Mutex.TryLock (Semaphore.TryAcquire); a held lock is a *LockedError
		m, ttl, err := r.newLock(s)
		if err != nil {
			return nil, err
		}
		err = m.TryLock(ctx)
		var held *octostore.LockedError
		if errors.As(err, &held) {
			out := result{
				"acquired": false, "holder_id": nil, "expires_at": held.ExpiresAt,
				"retry_after_ms": held.RetryAfter.Milliseconds(), "available_at": nil,
				"lease_id": nil, "fencing_token": nil, "renew_after_ms": nil,
			}
			if held.HolderID != "" {
				out["holder_id"] = held.HolderID
			}
			if !held.AvailableAt.IsZero() {
				out["available_at"] = held.AvailableAt
			}
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		return r.keepLease(key, m, ttl), nil

	case "lock": // Mutex.Lock (Semaphore.Acquire) with a context that ends after wait; wait 0 is TryLock
		m, ttl, err := r.newLock(s)
		if err != nil {
			return nil, err
		}
		if s.Wait == 0 {
			if err := m.TryLock(ctx); errors.Is(err, octostore.ErrLocked) {
				return nil, fmt.Errorf("%w: %w", errTimeout, err)
			} else if err != nil {
				return nil, err
			}
			return r.keepLease(key, m, ttl), nil
		}
		wctx, cancel := context.WithTimeout(ctx, time.Duration(s.Wait)*time.Second)
		defer cancel()
		if err := m.Lock(wctx); err != nil {
			return nil, waitEnded(ctx, err)
		}
		return r.keepLease(key, m, ttl), nil

	case "renew": // Mutex.Renew
		l, err := r.lease(s.Lease)
		if err != nil {
			return nil, err
		}
		ttl := l.ttl
		if s.TTL != nil {
			ttl = time.Duration(*s.TTL) * time.Second
		}
		got, err := l.m.Renew(ctx, ttl)
		if err != nil {
			return nil, err
		}
		return result{"lease_id": got.ID, "fencing_token": got.FencingToken, "expires_at": got.ExpiresAt, "renew_after_ms": got.RenewAfter.Milliseconds()}, nil

	case "release": // Mutex.Unlock
		l, err := r.lease(s.Lease)
		if err != nil {
			return nil, err
		}
		got, _ := l.m.Lease()
		if err := l.m.Unlock(ctx); err != nil {
			return nil, err
		}
		return result{"lease_id": got.ID, "fencing_token": got.FencingToken}, nil

	case "lease_state": // Mutex.Lease and Mutex.Err, no request
		l, err := r.lease(s.Lease)
		if err != nil {
			return nil, err
		}
		got, _ := l.m.Lease()
		return result{"lost": errors.Is(l.m.Err(), octostore.ErrLost), "lease_id": got.ID, "fencing_token": got.FencingToken, "expires_at": got.ExpiresAt}, nil

	case "wait_lost": // Mutex.Done, then Mutex.Err (Session.Done, then Session.Err)
		if s.Session != "" {
			sess, err := r.session(s.Session)
			if err != nil {
				return nil, err
			}
			timer := time.NewTimer(s.timeout())
			defer timer.Stop()
			select {
			case <-sess.Done():
			case <-timer.C:
				return nil, fmt.Errorf("%w: the session was not lost in %v", errTimeout, s.timeout())
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if err := sess.Err(); !errors.Is(err, octostore.ErrLost) {
				return nil, fmt.Errorf("Done was closed, but not by a loss (Err %v)", err)
			}
			return result{"lost": true}, nil
		}
		l, err := r.lease(s.Lease)
		if err != nil {
			return nil, err
		}
		timer := time.NewTimer(s.timeout())
		defer timer.Stop()
		select {
		case <-l.m.Done():
		case <-timer.C:
			return nil, fmt.Errorf("%w: the lease was not lost in %v", errTimeout, s.timeout())
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if err := l.m.Err(); !errors.Is(err, octostore.ErrLost) {
			return nil, fmt.Errorf("Done was closed, but not by a loss (Err %v)", err)
		}
		return result{"lost": true}, nil

	case "status": // the generated client: GET /locks/{name}
		c, err := r.client(s.Actor)
		if err != nil {
			return nil, err
		}
		return lockStatus(c.GetLockWithResponse(ctx, s.Lock, nil))

	case "wait_until": // status, polled every 50 to 200 ms until the matchers hold
		c, err := r.client(s.Actor)
		if err != nil {
			return nil, err
		}
		deadline := time.Now().Add(s.timeout())
		pause := 50 * time.Millisecond
		for {
			res, err := lockStatus(c.GetLockWithResponse(ctx, s.Lock, nil))
			if err != nil {
				return nil, err
			}
			bad, err := mismatches(res, s.Until)
			if err != nil {
				return nil, err
			}
			if len(bad) == 0 {
				return res, nil
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("%s not reached in %v; last status %s (%s)", show(s.Until), s.timeout(), show(res), strings.Join(bad, "; "))
			}
			time.Sleep(pause) // a poll interval, within the step's deadline
			pause = min(pause*3/2, 200*time.Millisecond)
		}

	case "watch": // the generated client: GET /locks/{name}?index=&wait_seconds=
		c, err := r.client(s.Actor)
		if err != nil {
			return nil, err
		}
		index, err := s.Index.Int64()
		if err != nil {
			return nil, fmt.Errorf("index %q: %w", s.Index, err)
		}
		wait := int32(s.Wait)
		return lockStatus(c.GetLockWithResponse(ctx, s.Lock, &octostore.GetLockParams{Index: &index, WaitSeconds: &wait}))

	case "list": // the generated client: GET /locks
		c, err := r.client(s.Actor)
		if err != nil {
			return nil, err
		}
		res, err := c.ListLocksWithResponse(ctx, nil)
		if err == nil && res.JSON200 == nil {
			err = problem(res.HTTPResponse, res.Body)
		}
		if err != nil {
			return nil, err
		}
		names := make([]any, len(res.JSON200.Locks))
		for i, l := range res.JSON200.Locks {
			names[i] = l.Name
		}
		return result{"names": names, "count": int64(len(names))}, nil

	case "campaign": // Election.Campaign with a context that ends after wait
		if s.Wait == 0 {
			return nil, errors.New("campaign with wait 0: Election.Campaign has no single-attempt form")
		}
		e, err := r.newElection(s, true)
		if err != nil {
			return nil, err
		}
		wctx, cancel := context.WithTimeout(ctx, time.Duration(s.Wait)*time.Second)
		defer cancel()
		if err := e.Campaign(wctx, s.Value); err != nil {
			return nil, waitEnded(ctx, err)
		}
		r.mu.Lock()
		r.allElecs = append(r.allElecs, e)
		if key != "" {
			r.elections[key] = e
		}
		r.mu.Unlock()
		got, _ := e.Lease()
		return result{"lease_id": got.ID, "fencing_token": got.FencingToken, "expires_at": got.ExpiresAt, "value": s.Value}, nil

	case "leader": // Election.Leader; ErrNoLeader is "not elected"
		e, err := r.newElection(s, false)
		if err != nil {
			return nil, err
		}
		l, err := e.Leader(ctx)
		if errors.Is(err, octostore.ErrNoLeader) {
			return leaderResult(nil), nil
		}
		if err != nil {
			return nil, err
		}
		return leaderResult(&l), nil

	case "observe": // Election.Observe until a leader with the value comes
		if s.UntilValue == nil {
			return nil, errors.New("observe until no leader: Election.Observe reports leaders only (like etcd's)")
		}
		e, err := r.newElection(s, false)
		if err != nil {
			return nil, err
		}
		octx, cancel := context.WithTimeout(ctx, s.timeout())
		defer cancel()
		for l := range e.Observe(octx) {
			if l.Value == *s.UntilValue {
				return leaderResult(&l), nil
			}
		}
		if ctx.Err() == nil && octx.Err() != nil {
			return nil, fmt.Errorf("%w: no leader with value %q in %v", errTimeout, *s.UntilValue, s.timeout())
		}
		return nil, errors.New("the observe stream ended before the deadline (the helper stopped on an error)")

	case "resign": // Election.Resign
		r.mu.Lock()
		e, ok := r.elections[s.Campaign]
		r.mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("no saved campaign %s", s.Campaign)
		}
		if err := e.Resign(ctx); err != nil {
			return nil, err
		}
		return result{}, nil

	case "with_lock": // Mutex.Do around a block that does what body says
		return r.withLock(ctx, s)

	case "close": // the end of a scope in Go: Unlock, its error ignored, in time
		l, err := r.lease(s.Lease)
		if err != nil {
			return nil, err
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			l.m.Unlock(ctx)
		}()
		timer := time.NewTimer(s.timeout())
		defer timer.Stop()
		select {
		case <-done:
			return result{}, nil
		case <-timer.C:
			return nil, fmt.Errorf("%w: Unlock did not return in %v", errTimeout, s.timeout())
		}

	case "session_open": // NewSession: created, then kept alive in the background
		c, err := r.client(s.Actor)
		if err != nil {
			return nil, err
		}
		if s.TTL == nil {
			return nil, errors.New("no ttl")
		}
		sess, err := octostore.NewSession(ctx, c, time.Duration(*s.TTL)*time.Second)
		if err != nil {
			return nil, err
		}
		r.mu.Lock()
		r.allSess = append(r.allSess, sess)
		if key != "" {
			r.sessions[key] = sess
		}
		r.mu.Unlock()
		return result{"session_id": sess.ID(), "expires_at": sess.ExpiresAt()}, nil

	case "session_state": // Session.Err, no request
		sess, err := r.session(s.Session)
		if err != nil {
			return nil, err
		}
		return result{"lost": errors.Is(sess.Err(), octostore.ErrLost), "session_id": sess.ID()}, nil

	case "session_close": // Session.Close
		sess, err := r.session(s.Session)
		if err != nil {
			return nil, err
		}
		return result{}, sess.Close(ctx)

	case "session_orphan": // Session.Orphan: the keep-alive stops, the session stays
		sess, err := r.session(s.Session)
		if err != nil {
			return nil, err
		}
		sess.Orphan()
		return result{}, nil

	case "prefix_index": // PrefixIndex
		c, err := r.client(s.Actor)
		if err != nil {
			return nil, err
		}
		index, err := octostore.PrefixIndex(ctx, c, deref(s.Prefix))
		if err != nil {
			return nil, err
		}
		return result{"index": index}, nil

	case "watch_prefix": // WatchPrefix until its first answer with changes, or wait
		c, err := r.client(s.Actor)
		if err != nil {
			return nil, err
		}
		index, err := s.Index.Int64()
		if err != nil {
			return nil, fmt.Errorf("index %q: %w", s.Index, err)
		}
		wctx, cancel := context.WithTimeout(ctx, time.Duration(s.Wait)*time.Second)
		defer cancel()
		var got *octostore.PrefixChanges
		stop := errors.New("first answer")
		err = octostore.WatchPrefix(wctx, c, deref(s.Prefix), index, func(pc octostore.PrefixChanges) error {
			got = &pc
			return stop
		})
		switch {
		case errors.Is(err, stop):
		case ctx.Err() == nil && wctx.Err() != nil:
			return result{"index": index, "changes": []any{}, "count": int64(0), "complete": true}, nil
		default:
			return nil, err
		}
		changes := make([]any, len(got.Changes))
		for i, st := range got.Changes {
			changes[i] = st.Name + ":" + string(st.Status)
		}
		return result{"index": got.Index, "changes": changes, "count": int64(len(changes)), "complete": got.Complete}, nil

	case "server_pause": // SIGSTOP the scenario's own server
		return result{}, r.srv.cmd.Process.Signal(syscall.SIGSTOP)

	case "server_resume":
		return result{}, r.srv.cmd.Process.Signal(syscall.SIGCONT)

	case "raw": // net/http, not the SDK
		return r.raw(ctx, s)
	}
	return nil, fmt.Errorf("unknown op %q", s.Op)
}

// withLock runs Mutex.Do with the block the step's body names.
func (r *run) withLock(ctx context.Context, s *step) (result, error) {
	var body string
	if err := json.Unmarshal(s.Body, &body); err != nil {
		return nil, fmt.Errorf("with_lock body: %w", err)
	}
	m, ttl, err := r.newMutex(s)
	if err != nil {
		return nil, err
	}
	r.keepLease("", m, ttl)
	if s.Wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(s.Wait)*time.Second)
		defer cancel()
	}
	var held octostore.Lease
	err = m.Do(ctx, func(bctx context.Context) error {
		held, _ = m.Lease()
		switch body {
		case "return":
			return nil
		case "raise":
			return errUser
		case "release_behind_then_raise", "release_behind_then_wait_lost":
			if err := r.releaseBehind(ctx, s.Actor, m.Name(), held.ID.String()); err != nil {
				return fmt.Errorf("release behind the helper's back: %w", err)
			}
			if body == "release_behind_then_raise" {
				return errUser
			}
			select {
			case <-m.Done():
			case <-time.After(10 * time.Second):
			}
			return nil
		}
		return fmt.Errorf("unknown with_lock body %q", body)
	})
	if errors.Is(err, octostore.ErrLocked) && s.Wait == 0 {
		return nil, fmt.Errorf("%w: %w", errTimeout, err)
	}
	if err != nil {
		return nil, waitEnded(ctx, err)
	}
	return result{"ran": true, "lease_id": held.ID, "fencing_token": held.FencingToken}, nil
}

// releaseBehind releases a lease with a plain request, as another process could.
func (r *run) releaseBehind(ctx context.Context, actor, name, leaseID string) error {
	body, _ := json.Marshal(map[string]string{"lease_id": leaseID})
	req, err := http.NewRequestWithContext(ctx, "POST", r.srv.url+"/locks/"+url.PathEscape(name)+"/release", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+r.actors[actor].token)
	res, err := r.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}

// waitEnded turns the end of a step's own wait into the suite's timeout.
func waitEnded(outer context.Context, err error) error {
	if errors.Is(err, context.DeadlineExceeded) && outer.Err() == nil {
		return fmt.Errorf("%w: %w", errTimeout, err)
	}
	return err
}

func (r *run) client(name string) (*octostore.ClientWithResponses, error) {
	a, ok := r.actors[name]
	if !ok {
		return nil, fmt.Errorf("unknown actor %s", name)
	}
	if a.client == nil {
		return nil, fmt.Errorf("actor %s has no token: use it in raw steps only", name)
	}
	return a.client, nil
}

// newLock is the actor's Mutex, or Semaphore with max_holders, for a try_lock or lock
// step; with session, taken through that session (Session.Mutex, Session.Semaphore).
func (r *run) newLock(s *step) (lockable, time.Duration, error) {
	c, err := r.client(s.Actor)
	if err != nil {
		return nil, 0, err
	}
	if s.TTL == nil {
		return nil, 0, errors.New("no ttl")
	}
	ttl := time.Duration(*s.TTL) * time.Second
	opts := []octostore.Option{r.actors[s.Actor].owner}
	if s.Metadata != nil {
		opts = append(opts, octostore.WithMetadata(*s.Metadata))
	}
	if s.LockDelay != nil {
		opts = append(opts, octostore.WithLockDelay(time.Duration(*s.LockDelay)*time.Second))
	}
	if s.Session != "" {
		sess, err := r.session(s.Session)
		if err != nil {
			return nil, 0, err
		}
		if s.MaxHolders != nil {
			sem, err := sess.Semaphore(s.Lock, *s.MaxHolders, opts...)
			return semaphore{sem}, ttl, err
		}
		m, err := sess.Mutex(s.Lock, opts...)
		return m, ttl, err
	}
	opts = append(opts, octostore.WithTTL(ttl))
	if s.AutoRenew != nil && !*s.AutoRenew {
		opts = append(opts, octostore.WithoutAutoRenew())
	}
	if s.MaxHolders != nil {
		sem, err := octostore.NewSemaphore(c, s.Lock, *s.MaxHolders, opts...)
		return semaphore{sem}, ttl, err
	}
	m, err := octostore.NewMutex(c, s.Lock, opts...)
	return m, ttl, err
}

func (r *run) session(name string) (*octostore.Session, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sess, ok := r.sessions[name]
	if !ok {
		return nil, fmt.Errorf("no saved session %s", name)
	}
	return sess, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// newMutex is the actor's Mutex for a with_lock step (Mutex.Do): newLock's without a
// session or max_holders.
func (r *run) newMutex(s *step) (*octostore.Mutex, time.Duration, error) {
	l, ttl, err := r.newLock(s)
	if err != nil {
		return nil, 0, err
	}
	m, ok := l.(*octostore.Mutex)
	if !ok {
		return nil, 0, errors.New("with_lock through a session or a semaphore: the suite has no such scoped form")
	}
	return m, ttl, nil
}

// newElection is the actor's Election; a candidate's leases have the step's TTL.
func (r *run) newElection(s *step, candidate bool) (*octostore.Election, error) {
	c, err := r.client(s.Actor)
	if err != nil {
		return nil, err
	}
	opts := []octostore.Option{r.actors[s.Actor].owner}
	if candidate {
		if s.TTL == nil {
			return nil, errors.New("no ttl")
		}
		opts = append(opts, octostore.WithTTL(time.Duration(*s.TTL)*time.Second))
	}
	return octostore.NewElection(c, s.Election, opts...)
}

// keepLease records a granted Mutex for later steps and for cleanup, and returns the
// acquired result.
func (r *run) keepLease(key string, m lockable, ttl time.Duration) result {
	l := &lease{m: m, ttl: ttl}
	r.mu.Lock()
	r.allLeases = append(r.allLeases, l)
	if key != "" {
		r.leases[key] = l
	}
	r.mu.Unlock()
	got, _ := m.Lease()
	return result{
		"acquired": true, "lease_id": got.ID, "fencing_token": got.FencingToken,
		"expires_at": got.ExpiresAt, "renew_after_ms": got.RenewAfter.Milliseconds(),
	}
}

func (r *run) lease(name string) (*lease, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, ok := r.leases[name]
	if !ok {
		return nil, fmt.Errorf("no saved lease %s", name)
	}
	return l, nil
}

// lockStatus is the flat result of a status or watch.
func lockStatus(res *octostore.GetLockResponse, err error) (result, error) {
	if err == nil && res.JSON200 == nil {
		err = problem(res.HTTPResponse, res.Body)
	}
	if err != nil {
		return nil, err
	}
	st := res.JSON200
	out := result{"name": st.Name, "status": string(st.Status), "revision": st.Revision,
		"holder_id": nil, "fencing_token": nil, "expires_at": nil, "metadata": nil}
	if h, err := st.HolderId.Get(); err == nil {
		out["holder_id"] = h
	}
	if st.FencingToken != nil {
		out["fencing_token"] = *st.FencingToken
	}
	if st.ExpiresAt != nil {
		out["expires_at"] = *st.ExpiresAt
	}
	if st.Metadata != nil {
		out["metadata"] = *st.Metadata
	}
	out["max_holders"], out["holder_count"], out["available_at"] = nil, int64(0), nil
	if st.MaxHolders != nil {
		out["max_holders"] = int64(*st.MaxHolders)
	}
	if st.Holders != nil {
		out["holder_count"] = int64(len(*st.Holders))
	}
	if st.AvailableAt != nil {
		out["available_at"] = *st.AvailableAt
	}
	return out, nil
}

func leaderResult(l *octostore.Leader) result {
	if l == nil {
		return result{"elected": false, "value": nil, "holder_id": nil, "fencing_token": nil, "revision": nil}
	}
	return result{"elected": true, "value": l.Value, "holder_id": l.HolderID, "fencing_token": l.FencingToken, "revision": l.Revision}
}

// problem is the typed error of a generated-client response that is not the expected
// one, as the helpers report it.
func problem(res *http.Response, body []byte) error {
	p := &octostore.ProblemError{StatusCode: res.StatusCode}
	if err := json.Unmarshal(body, &p.Problem); err != nil || p.Problem.Code == "" {
		return fmt.Errorf("HTTP %d without a problem document: %q", res.StatusCode, body)
	}
	return p
}

// raw sends a plain HTTP request with the actor's token; any status is a result.
func (r *run) raw(ctx context.Context, s *step) (result, error) {
	var body io.Reader
	contentType := ""
	switch {
	case s.Body != nil:
		body, contentType = bytes.NewReader(s.Body), "application/json"
	case s.BodyText != nil:
		body, contentType = strings.NewReader(*s.BodyText), "application/json"
	}
	if s.CType != nil {
		contentType = *s.CType
	}
	target := r.srv.url + s.Path
	if len(s.Query) > 0 {
		q := url.Values{}
		for k, v := range s.Query {
			q.Set(k, text(v))
		}
		target += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, s.Method, target, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if s.Actor != "" {
		a, ok := r.actors[s.Actor]
		if !ok {
			return nil, fmt.Errorf("unknown actor %s", s.Actor)
		}
		if a.token != "" {
			req.Header.Set("Authorization", "Bearer "+a.token)
		}
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	header := func(name string) any {
		if v := resp.Header.Get(name); v != "" {
			return v
		}
		return nil
	}
	out := result{
		"http_status":      int64(resp.StatusCode),
		"content_type":     nil,
		"www_authenticate": header("WWW-Authenticate"),
		"x_request_id":     header("X-Request-Id"),
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil {
		out["content_type"] = mt
	}
	var doc map[string]any
	if decodeJSON(b, &doc) == nil {
		for k, v := range doc {
			if _, taken := out[k]; !taken {
				out[k] = v
			}
		}
	}
	return out, nil
}
