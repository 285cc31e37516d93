package bench

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octostore/octostore/impl"
	"github.com/octostore/octostore/impl/noop"
	"github.com/octostore/octostore/impl/store"
)

func TestCheckerSeesDoubleGrantsAndFencingRegressions(t *testing.T) {
	c := newChecker()
	c.granted("a", 1, 10)
	c.granted("a", 1, 10) // the same holder again: an idempotent re-acquire
	c.releasing("a", 1)
	c.granted("a", 2, 11)
	if s := c.safety(); !s.OK {
		t.Fatalf("a correct history flagged: %+v", s)
	}
	c.granted("a", 3, 12) // 2 has not begun to release
	if s := c.safety(); s.DoubleGrants != 1 || s.OK {
		t.Fatalf("double grant missed: %+v", s)
	}
	c.releasing("a", 3)
	c.granted("a", 4, 12) // not larger than 12
	if s := c.safety(); s.FencingRegressions != 1 {
		t.Fatalf("regression missed: %+v", s)
	}
}

// startServer runs the real server stack on loopback with an admin key.
func startServer(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "bench.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := impl.New(ctx, st, impl.Config{AdminKey: "bench-test-admin-key", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h, err := srv.Handler()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	hs := httptest.NewServer(h)
	t.Cleanup(func() {
		hs.Close()
		cancel()
		<-done
		st.Close()
	})
	return hs.URL
}

// TestEveryScenarioRunsCleanAgainstTheServer: each scenario, with fresh accounts made
// through the admin API, sees no error and passes the safety check. handoff is either
// measured or, on a server without blocking acquire, reported unsupported.
func TestEveryScenarioRunsCleanAgainstTheServer(t *testing.T) {
	sys := &OctoStore{URL: startServer(t), AdminKey: "bench-test-admin-key"}
	for _, sc := range Scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			var progress bytes.Buffer
			res, err := Run(context.Background(), sys, Config{Scenario: sc.Name, Concurrency: 3, Duration: 300 * time.Millisecond, Warmup: -1, Wait: time.Second, Progress: &progress})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Safety.OK {
				t.Fatalf("safety: %+v", res.Safety)
			}
			if res.Unsupported != "" {
				if sc.Name != "handoff" || !strings.Contains(res.Unsupported, "wait_seconds") {
					t.Fatalf("unsupported: %s", res.Unsupported)
				}
				return
			}
			if len(res.Errors) > 0 || res.Ops == 0 {
				t.Fatalf("ops %d, errors %v", res.Ops, res.Errors)
			}
			if res.LatencyMs.P50 <= 0 || res.LatencyMs.P99 < res.LatencyMs.P50 || res.LatencyMs.P999 < res.LatencyMs.P99 {
				t.Fatalf("latency %+v", res.LatencyMs)
			}
			var table bytes.Buffer
			if err := WriteTable(&table, []Result{res}); err != nil || !strings.Contains(table.String(), sc.Name) {
				t.Fatalf("table %q: %v", table.String(), err)
			}
		})
	}
}

// TestTheNoopCeilingAnswersTheReadScenarios: the ceiling server serves status and
// try-acquire (always "held") without auth, so the same command measures it.
func TestTheNoopCeilingAnswersTheReadScenarios(t *testing.T) {
	hs := httptest.NewServer(noop.Handler())
	defer hs.Close()
	sys := &OctoStore{URL: hs.URL, Token: "unused"}
	for _, sc := range []string{"status", "tryheld"} {
		res, err := Run(context.Background(), sys, Config{Scenario: sc, Concurrency: 2, Duration: 200 * time.Millisecond, Warmup: -1})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Errors) > 0 || res.Ops == 0 || !res.Safety.OK {
			t.Fatalf("%s: %+v", sc, res)
		}
	}
}

// brokenSystem grants every acquire with the same fencing token: a lock service that
// is wrong in both ways the safety check looks for.
type brokenSystem struct{}

func (brokenSystem) Name() string { return "broken" }

func (brokenSystem) Clients(_ context.Context, n int, _ bool) ([]Client, error) {
	out := make([]Client, n)
	for i := range out {
		out[i] = &brokenClient{}
	}
	return out, nil
}

type brokenClient struct{}

func (c *brokenClient) Acquire(context.Context, string) (Grant, error) {
	return Grant{Acquired: true, Lease: "l", Token: 7}, nil
}

func (c *brokenClient) AcquireWait(ctx context.Context, name string, _ time.Duration) (Grant, error) {
	return c.Acquire(ctx, name)
}
func (c *brokenClient) Renew(context.Context, string, string) error   { return nil }
func (c *brokenClient) Release(context.Context, string, string) error { return nil }
func (c *brokenClient) Status(context.Context, string) error          { return nil }
func (c *brokenClient) Close() error                                  { return nil }

func TestABrokenLockServiceFailsTheSafetyCheck(t *testing.T) {
	res, err := Run(context.Background(), brokenSystem{}, Config{Scenario: "contended", Concurrency: 4, Duration: 100 * time.Millisecond, Warmup: -1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Safety.OK || res.Safety.FencingRegressions == 0 {
		t.Fatalf("broken service passed: %+v", res.Safety)
	}
}

// TestSeveralURLsSpreadTheClientsAndMoveOffADeadNode: with a comma-separated URL the
// clients start on different nodes, and a client whose node refuses connections moves
// to the next one after one error instead of failing for the whole run.
func TestSeveralURLsSpreadTheClientsAndMoveOffADeadNode(t *testing.T) {
	target, _ := url.Parse(startServer(t))
	var counts [2]atomic.Int64
	var fronts []string
	for i := range counts {
		rp := httputil.NewSingleHostReverseProxy(target)
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			counts[i].Add(1)
			rp.ServeHTTP(w, r)
		}))
		t.Cleanup(hs.Close)
		fronts = append(fronts, hs.URL)
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // nothing listens there any more
	sys := &OctoStore{URL: strings.Join([]string{fronts[0], fronts[1], dead.URL}, ","), AdminKey: "bench-test-admin-key"}
	res, err := Run(context.Background(), sys, Config{Scenario: "cycle", Concurrency: 3, Duration: 300 * time.Millisecond, Warmup: -1})
	if err != nil {
		t.Fatal(err)
	}
	if counts[0].Load() == 0 || counts[1].Load() == 0 {
		t.Fatalf("requests per node: %d, %d", counts[0].Load(), counts[1].Load())
	}
	if res.ErrorCount() > 1 || res.Ops == 0 || !res.Safety.OK {
		t.Fatalf("ops %d, errors %v, safety %+v", res.Ops, res.Errors, res.Safety)
	}
}

// A server without accounts (upstream OctoStore with static tokens): every client sends
// its own token, a run cannot have more clients than tokens, and a 409 whose body says
// "held" is a held lock, while any other 409 stays an error.
func TestTokensPerClientAndHeldAsConflict(t *testing.T) {
	var seen sync.Map
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Get("Authorization"), true)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		if strings.Contains(r.URL.Path, "/busy/") {
			io.WriteString(w, `{"status":"held","holder_id":"6f1c2a4e-8a7b-4d0c-9f5e-2b3c4d5e6f70","retry_after_ms":100}`)
			return
		}
		io.WriteString(w, `{"code":"conflict","message":"ACL already exists"}`)
	}))
	defer ts.Close()
	o := &OctoStore{URL: ts.URL, Tokens: []string{"t0", "t1"}}
	if _, err := o.Clients(context.Background(), 3, false); err == nil {
		t.Fatal("3 clients from 2 tokens")
	}
	cs, err := o.Clients(context.Background(), 2, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		g, err := c.Acquire(context.Background(), "busy")
		if err != nil || g.Acquired {
			t.Fatalf("held answered as 409: %+v %v", g, err)
		}
		if _, err := c.Acquire(context.Background(), "other"); err == nil {
			t.Fatal("a 409 that is not held was taken as held")
		}
	}
	for _, tok := range []string{"Bearer t0", "Bearer t1"} {
		if _, ok := seen.Load(tok); !ok {
			t.Fatalf("no request with %q", tok)
		}
	}
}
