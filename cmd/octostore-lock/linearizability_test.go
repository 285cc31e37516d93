package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/google/uuid"

	"github.com/octostore/octostore/impl/lease"
)

// TestLinearizableUnderConcurrentClients drives the real binary over loopback with many
// clients contending for a few names and checks the whole history against the fenced
// lease model. Then it proves the checker can fail: forged double grants and token
// regressions in that same history are flagged.
func TestLinearizableUnderConcurrentClients(t *testing.T) {
	t.Parallel()
	ops, clients, names := size(20000, 200000), 16, 8
	t.Run(fmt.Sprintf("%dops_%dclients_%dnames", ops, clients, names), func(t *testing.T) {
		p := start(t, t.TempDir(), true)
		rec := newRecorder()
		w := newWorkload(rec, func() string { return p.url }, p.token, clients, names, int64(ops))
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(size(3, 30))*time.Minute)
		defer cancel()
		seed := uint64(time.Now().UnixNano())
		t.Logf("seed %d", seed)
		w.run(ctx, seed)
		history := rec.history()
		if len(history) < ops {
			t.Fatalf("only %d of %d operations ran before the deadline", len(history), ops)
		}
		requireLinearizable(t, "linearizability", history, 0)
		counts := map[outcome]int{}
		for _, op := range history {
			counts[op.Output.(lockOutput).Result]++
		}
		t.Logf("outcomes: %d acquired, %d held, %d renewed, %d released, %d not current, %d free, %d unknown",
			counts[outAcquired], counts[outHeld], counts[outRenewed], counts[outReleased], counts[outNotCurrent], counts[outFree], counts[outUnknown])
		if counts[outNotCurrent] == 0 || counts[outHeld] == 0 || counts[outReleased] == 0 {
			t.Fatalf("the workload did not exercise contention, expiry and release: %v", counts)
		}

		t.Run("forged double grant is flagged", func(t *testing.T) {
			forged := forgeDoubleGrant(t, history)
			if v := checkHistory(forged, checkTimeout); v.result != porcupine.Illegal {
				t.Fatalf("checker accepted a double grant: %s", v.result)
			}
		})
		t.Run("forged token regression is flagged", func(t *testing.T) {
			forged := forgeTokenRegression(t, history)
			v := checkHistory(forged, checkTimeout)
			if v.result != porcupine.Illegal || len(v.fencing) == 0 {
				t.Fatalf("checker accepted a token regression: %s, fencing %v", v.result, v.fencing)
			}
		})
	})
}

// partition returns the operations on one name.
func partition(history []porcupine.Operation, name string) []porcupine.Operation {
	var out []porcupine.Operation
	for _, op := range history {
		if in := op.Input.(lockInput); in.Name == name || in.Kind == opRestart {
			out = append(out, op)
		}
	}
	return out
}

// forgeDoubleGrant turns a "held" answer that came back well inside the holder's TTL
// into a grant to the asker.
func forgeDoubleGrant(t *testing.T, history []porcupine.Operation) []porcupine.Operation {
	t.Helper()
	for i, op := range history {
		in, out := op.Input.(lockInput), op.Output.(lockOutput)
		if in.Kind != opAcquire || out.Result != outHeld {
			continue
		}
		// The holder's latest grant that returned before this call.
		var grant *porcupine.Operation
		for j := range history {
			g := &history[j]
			gi, gout := g.Input.(lockInput), g.Output.(lockOutput)
			if gi.Kind == opAcquire && gi.Name == in.Name && gi.Holder == out.Holder && gout.Result == outAcquired &&
				g.Return < op.Call && (grant == nil || g.Return > grant.Return) {
				grant = g
			}
		}
		if grant == nil || op.Return >= grant.Call+grant.Input.(lockInput).TTL/2 {
			continue
		}
		part := partition(history, in.Name)
		for k := range part {
			if part[k].Call == op.Call && part[k].ClientId == op.ClientId {
				out.Result, out.Lease, out.Token, out.Holder = outAcquired, uuid.NewString(), 1<<50+int64(i), ""
				part[k].Output = out
				return part
			}
		}
	}
	t.Fatal("no held answer inside a TTL to forge")
	return nil
}

// forgeTokenRegression gives a later grant of a name the token of an earlier one.
func forgeTokenRegression(t *testing.T, history []porcupine.Operation) []porcupine.Operation {
	t.Helper()
	first := map[string]*porcupine.Operation{}
	for i := range history {
		op := &history[i]
		in, out := op.Input.(lockInput), op.Output.(lockOutput)
		if in.Kind != opAcquire || out.Result != outAcquired {
			continue
		}
		f, ok := first[in.Name]
		if !ok {
			first[in.Name] = op
			continue
		}
		fo := f.Output.(lockOutput)
		if out.Lease == fo.Lease || op.Call <= f.Return {
			continue
		}
		part := partition(history, in.Name)
		for k := range part {
			if part[k].Call == op.Call && part[k].ClientId == op.ClientId {
				out.Token = fo.Token
				part[k].Output = out
				// Every later answer about this lease repeats the forged token.
				for m := k + 1; m < len(part); m++ {
					if o := part[m].Output.(lockOutput); o.Lease == out.Lease {
						o.Token = fo.Token
						part[m].Output = o
					}
				}
				return part
			}
		}
	}
	t.Fatal("no second grant to forge")
	return nil
}

// TestCheckerCatchesBrokenEngines runs the same workload against lock servers built on
// the real engine: a correct one, which must pass, and deliberately broken ones, which
// the checker must reject.
func TestCheckerCatchesBrokenEngines(t *testing.T) {
	t.Parallel()
	for _, bug := range []string{"none", "double-grant", "token-regression"} {
		t.Run(bug, func(t *testing.T) {
			b := &brokenServer{bug: bug, origin: time.Now(), e: lease.New(lease.Config{MaxLocksPerAccount: 1 << 20})}
			srv := httptest.NewServer(b)
			defer srv.Close()
			rec := newRecorder()
			const token = "oct_tok_brokenbroken_secret"
			w := newWorkload(rec, func() string { return srv.URL }, token, 8, 3, 1500)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			w.run(ctx, uint64(time.Now().UnixNano()))
			v := checkHistory(rec.history(), checkTimeout)
			t.Logf("engine with bug %q: %d operations checked, model verdict %s, %d fencing violations", bug, v.ops, v.result, len(v.fencing))
			switch {
			case bug == "none" && v.violations() > 0:
				t.Fatalf("the correct engine was flagged: %s %v", v.result, v.fencing)
			case bug != "none" && v.violations() == 0:
				t.Fatalf("the checker did not notice the %s engine", bug)
			}
		})
	}
}

// brokenServer serves the lock API from a real lease.Engine with one deliberate bug:
//
//   - double-grant: every fifth acquire that finds the lock held takes it from the holder;
//   - token-regression: every tenth release "restarts" the engine without its fencing
//     reservation, as if the high-water mark had not been persisted.
type brokenServer struct {
	bug    string
	origin time.Time

	mu       sync.Mutex
	e        *lease.Engine
	n        int
	releases int
}

func (b *brokenServer) now() lease.Instant {
	t := time.Now()
	return lease.Instant{Mono: t.Sub(b.origin), Wall: t.UTC()}
}

func (b *brokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/locks/"), "/")
	key := lease.Key{Account: "acc", Name: parts[0]}
	var body struct {
		TTL     int    `json:"ttl_seconds"`
		Owner   string `json:"owner"`
		LeaseID string `json:"lease_id"`
	}
	json.NewDecoder(r.Body).Decode(&body)
	holder := lease.Holder{TokenID: tokenID(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")), Owner: body.Owner}
	ttl := time.Duration(body.TTL) * time.Second
	b.mu.Lock()
	defer b.mu.Unlock()
	reply := func(status int, v map[string]any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	op := ""
	if len(parts) > 1 {
		op = parts[1]
	}
	switch op {
	case "":
		b.e.Apply(lease.Sweep{}, b.now())
		l, held, _ := b.e.Get(key)
		if !held {
			reply(200, map[string]any{"name": key.Name, "status": "free"})
			return
		}
		reply(200, map[string]any{"name": key.Name, "status": "held", "holder_id": l.Holder.String(), "fencing_token": l.Token})
	case "acquire":
		cmd := lease.Acquire{Key: key, Holder: holder, TTL: ttl, LeaseID: uuid.NewString()}
		res, _ := b.e.Apply(cmd, b.now())
		if res.Outcome == lease.Held && b.bug == "double-grant" {
			if b.n++; b.n%5 == 0 {
				b.e.Apply(lease.Release{Key: key, LeaseID: res.Lease.ID}, b.now())
				res, _ = b.e.Apply(cmd, b.now())
			}
		}
		if res.Outcome == lease.Held {
			reply(200, map[string]any{"status": "held", "holder_id": res.Lease.Holder.String()})
			return
		}
		reply(200, map[string]any{"status": "acquired", "lease_id": res.Lease.ID, "fencing_token": res.Lease.Token})
	case "renew", "release":
		var cmd lease.Command = lease.Renew{Key: key, LeaseID: body.LeaseID, TTL: ttl}
		status := "renewed"
		if op == "release" {
			cmd, status = lease.Release{Key: key, LeaseID: body.LeaseID}, "released"
		}
		res, err := b.e.Apply(cmd, b.now())
		if err != nil {
			reply(409, map[string]any{"code": "lease_not_current"})
			return
		}
		if op == "release" && b.bug == "token-regression" {
			if b.releases++; b.releases%10 == 0 {
				live, _ := b.e.List("acc")
				b.e = lease.Restore(lease.Config{MaxLocksPerAccount: 1 << 20}, live, 0, b.now())
			}
		}
		reply(200, map[string]any{"status": status, "lease_id": body.LeaseID, "fencing_token": res.Lease.Token})
	}
}
