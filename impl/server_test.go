package impl

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octostore/octostore/impl/lease"
	"github.com/octostore/octostore/impl/store"
)

// fakeClock is a settable TimerClock for tests: its timers fire as it is advanced.
type fakeClock struct {
	mu     sync.Mutex
	now    lease.Instant
	timers []*fakeTimer
}

type fakeTimer struct {
	at time.Duration
	f  func()
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: lease.Instant{Mono: time.Hour, Wall: time.Date(2026, 2, 12, 0, 0, 0, 0, time.UTC)}}
}

func (c *fakeClock) Now() lease.Instant {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on and runs the timers that became due, in order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due, rest []*fakeTimer
	for _, t := range c.timers {
		if t.at <= c.now.Mono {
			due = append(due, t)
		} else {
			rest = append(rest, t)
		}
	}
	c.timers = rest
	c.mu.Unlock()
	sort.SliceStable(due, func(i, j int) bool { return due[i].at < due[j].at })
	for _, t := range due {
		t.f()
	}
}

// AfterFunc runs f once the clock has been advanced by d.
func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	if d <= 0 {
		go f()
		return func() bool { return false }
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Mono + d, f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, x := range c.timers {
			if x == t {
				c.timers = append(c.timers[:i], c.timers[i+1:]...)
				return true
			}
		}
		return false
	}
}

// pendingTimers counts the timers waiting to fire.
func (c *fakeClock) pendingTimers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// testServer is a real server stack (handlers, validator, engine, group committer) on a
// real SQLite file in a temporary directory.
type testServer struct {
	t      *testing.T
	dbPath string
	cfg    Config
	clock  *fakeClock
	logs   *bytes.Buffer

	srv    *Server
	st     *store.Store
	http   *httptest.Server
	cancel context.CancelFunc
	done   chan error
	token  string // the bootstrap "local" account's token
	minted bool   // the last start minted it
	floor  int64  // the fencing floor of the last start: its first grant gets floor+1
}

func newTestServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	ts := &testServer{t: t, dbPath: filepath.Join(t.TempDir(), "octostore.db"), cfg: cfg, clock: newFakeClock(), logs: &bytes.Buffer{}}
	ts.start()
	t.Cleanup(ts.stop)
	return ts
}

// syncBuffer guards the log buffer shared with server goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (ts *testServer) start() {
	t := ts.t
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, ts.dbPath, store.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	cfg := ts.cfg
	cfg.Clock = ts.clock
	cfg.Logger = slog.New(slog.NewTextHandler(&syncWriter{w: ts.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.SweepInterval = time.Hour // tests sweep through requests, deterministically
	srv, err := New(ctx, st, cfg)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	srv.mu.Lock()
	ts.floor = srv.engine.LastToken()
	srv.mu.Unlock()
	h, err := srv.Handler()
	if err != nil {
		t.Fatalf("handler: %v", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	ts.done = make(chan error, 1)
	go func() { ts.done <- srv.Run(runCtx) }()
	issued, created, err := srv.Bootstrap(ctx)
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	ts.minted = created
	if created {
		ts.token = issued.Token
	}
	ts.srv, ts.st, ts.cancel = srv, st, cancel
	ts.http = httptest.NewServer(h)
}

func (ts *testServer) stop() {
	if ts.http == nil {
		return
	}
	ts.srv.Drain()
	ts.http.Close()
	ts.cancel()
	if err := <-ts.done; err != nil {
		ts.t.Errorf("run: %v", err)
	}
	if err := ts.st.Close(); err != nil {
		ts.t.Errorf("close store: %v", err)
	}
	ts.http = nil
}

// restart stops the server cleanly and starts a new one on the same database.
func (ts *testServer) restart() {
	ts.stop()
	ts.start()
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (r response) str(key string) string {
	s, _ := r.body[key].(string)
	return s
}

func (r response) num(key string) int64 {
	f, _ := r.body[key].(float64)
	return int64(f)
}

// do sends a request; body may be nil, a string (sent raw) or a value (sent as JSON).
func (ts *testServer) do(method, path, token string, body any, headers ...string) response {
	ts.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			ts.t.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, ts.http.URL+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := ts.http.Client().Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, raw: raw}
	if strings.Contains(res.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			ts.t.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	return out
}

// wantProblem checks an error response: status, problem+json, code and request id.
func wantProblem(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.str("code") != code {
		t.Fatalf("got %d %s, want %d %s", r.status, r.raw, status, code)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q", ct)
	}
	if id := r.header.Get("X-Request-Id"); id == "" || r.str("request_id") != id {
		t.Fatalf("request id header %q body %q", id, r.str("request_id"))
	}
	if r.num("status") != int64(status) || r.str("title") == "" || r.str("type") != "urn:octostore:problem:"+code {
		t.Fatalf("problem fields: %s", r.raw)
	}
}

func (ts *testServer) acquire(token, name string, ttl int, owner string) response {
	ts.t.Helper()
	body := map[string]any{"ttl_seconds": ttl}
	if owner != "" {
		body["owner"] = owner
	}
	return ts.do("POST", "/locks/"+name+"/acquire", token, body)
}

// newAccount creates an account through the admin API and returns its token.
func (ts *testServer) newAccount(name string) string {
	ts.t.Helper()
	token, _ := ts.newAccountWithID(name)
	return token
}

// newAccountWithID creates an account and returns its token and id.
func (ts *testServer) newAccountWithID(name string) (token, accountID string) {
	ts.t.Helper()
	r := ts.do("POST", "/admin/accounts", "", map[string]any{"name": name}, "X-Admin-Key", ts.cfg.AdminKey)
	if r.status != http.StatusCreated {
		ts.t.Fatalf("create account: %d %s", r.status, r.raw)
	}
	return r.str("token"), r.str("account_id")
}
