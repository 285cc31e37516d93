package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// soak reports whether the long sizes were asked for (make soak).
func soak() bool { return os.Getenv("OCTOSTORE_SOAK") != "" }

// size picks the CI size or, under make soak, the long one.
func size(ci, long int) int {
	if soak() {
		return long
	}
	return ci
}

// tokenID returns the public id inside a bearer token: "oct_" + "tok_" and 12
// characters + "_" + a base64url secret (which may itself contain "_").
func tokenID(token string) string {
	rest := strings.TrimPrefix(token, "oct_")
	return rest[:min(len(rest), len("tok_")+12)]
}

// workload is a set of clients that acquire, renew, re-acquire, read and release a few
// lock names with short TTLs and random pauses, recording every operation.
type workload struct {
	rec     *recorder
	url     func() string
	token   string
	names   []string
	clients int
	target  int64         // stop once this many operations are recorded
	ttls    []int         // seconds
	stall   float64       // chance that a holder pauses past its TTL before its next step
	fresh   float64       // chance that an acquire is of a new name, then abandoned (expiry work)
	timeout time.Duration // client-side timeout: the outcome is unknown, forever

	// A cluster: the nodes' base URLs. Client c sends to a home node, starting with
	// nodes[c%len(nodes)], and after a 503, a refused connection or a transport error
	// records the attempt (unknown) and retries on the next node, which becomes its home.
	nodes   []string
	homes   []atomic.Int32
	retries int // attempts after the first, in a cluster
	// unknownNever: an unknown outcome may still take effect at any later time. In a
	// cluster an entry a dead or deposed leader wrote to a follower's log can be
	// committed by its successor after the client saw the error.
	unknownNever bool
	servedMu     sync.Mutex
	served       map[string]int64 // answers by node URL, and by X-OctoStore-Via and X-OctoStore-Node

	// epoch, when above 0, gives the workload's names a suffix: a test moves it on to
	// start a fresh set of names (a smaller model partition each).
	epoch atomic.Int64

	http    *http.Client
	count   atomic.Int64 // operations recorded
	refused atomic.Int64 // refused connections (server down): never sent, not recorded
	failed  atomic.Int64 // connections that died mid-request: unknown outcomes
	freshN  atomic.Int64
}

func newWorkload(rec *recorder, url func() string, token string, clients, names int, target int64) *workload {
	w := &workload{
		rec: rec, url: url, token: token, clients: clients, target: target,
		ttls: []int{1, 1, 2}, stall: 0.03, timeout: 20 * time.Second,
	}
	for i := 0; i < names; i++ {
		w.names = append(w.names, fmt.Sprintf("lin-%d", i))
	}
	w.http = &http.Client{
		Timeout:   w.timeout,
		Transport: &http.Transport{MaxIdleConnsPerHost: clients + 2, DisableCompression: true},
	}
	return w
}

func (w *workload) holder(owner string) string { return tokenID(w.token) + "/" + owner }

// onNodes makes w a cluster workload over nodes (base URLs).
func (w *workload) onNodes(nodes []string, retries int) {
	w.nodes, w.retries, w.unknownNever = nodes, retries, true
	w.homes = make([]atomic.Int32, w.clients+16)
	for c := range w.homes {
		w.homes[c].Store(int32(c % len(nodes)))
	}
	w.served = map[string]int64{}
}

// do sends one operation and records it. It reports false when the request was never
// sent (the server is down), so nothing was recorded. In a cluster it retries on the
// other nodes (each attempt recorded) and reports the last attempt.
func (w *workload) do(client int, in lockInput, body any) (lockOutput, bool) {
	if len(w.nodes) == 0 {
		return w.once(client, w.url(), in, body)
	}
	home := &w.homes[client%len(w.homes)]
	for attempt := 0; ; attempt++ {
		node := int(home.Load())
		out, sent := w.once(client, w.nodes[node], in, body)
		if (sent && out.Result != outUnknown) || attempt >= w.retries {
			return out, sent
		}
		home.CompareAndSwap(int32(node), int32((node+1)%len(w.nodes)))
		// Each failed write attempt stays open in the history forever (it may still be
		// committed): back off, so that a failover leaves few of them.
		pause(context.Background(), time.Duration(min(attempt, 5)+1)*50*time.Millisecond)
	}
}

// once sends one operation to the server at base and records it.
func (w *workload) once(client int, base string, in lockInput, body any) (lockOutput, bool) {
	return w.onceWithin(client, base, in, body, 0)
}

// onceWithin is once with a shorter client-side timeout than the workload's (0: none).
func (w *workload) onceWithin(client int, base string, in lockInput, body any, timeout time.Duration) (lockOutput, bool) {
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var path, method = "/locks/" + in.Name, "GET"
	if in.Kind != opGet {
		path, method = path+"/"+in.Kind.String(), "POST"
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(ctx, method, base+path, rd)
	req.Header.Set("Authorization", "Bearer "+w.token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	in.Call = w.rec.now()
	res, err := w.http.Do(req)
	var out lockOutput
	if err == nil {
		var body struct {
			Status       string `json:"status"`
			Code         string `json:"code"`
			LeaseID      string `json:"lease_id"`
			HolderID     string `json:"holder_id"`
			FencingToken int64  `json:"fencing_token"`
		}
		raw, rerr := io.ReadAll(res.Body)
		res.Body.Close()
		out.Return = w.rec.now()
		out.Status = res.StatusCode
		if w.served != nil {
			w.servedMu.Lock()
			w.served[base]++
			w.served["via "+res.Header.Get("X-OctoStore-Via")+" node "+res.Header.Get("X-OctoStore-Node")]++
			w.servedMu.Unlock()
		}
		if rerr != nil {
			err = rerr
		} else {
			json.Unmarshal(raw, &body)
			out.Lease, out.Token, out.Holder = body.LeaseID, body.FencingToken, body.HolderID
			out.Result = classify(in.Kind, res.StatusCode, body.Status, body.Code)
		}
	}
	if err != nil {
		var ne net.Error
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			w.refused.Add(1)
			return lockOutput{}, false
		case errors.As(err, &ne) && ne.Timeout():
			out = lockOutput{Result: outUnknown, Return: never}
		default:
			// The connection died with the server: whatever it did happened before now.
			w.failed.Add(1)
			out = lockOutput{Result: outUnknown, Return: w.rec.now()}
		}
	}
	if out.Result == outUnknown && w.unknownNever {
		if in.Kind == opGet {
			// A read whose answer never came constrains nothing: leave it out, which
			// keeps the cluster histories, with their many failed attempts, small.
			return out, true
		}
		out.Return = never
	}
	if out.Result == outRenewed || out.Result == outReleased {
		out.Lease = in.Lease
	}
	w.rec.add(client, in, out)
	w.count.Add(1)
	return out, true
}

func classify(kind opKind, status int, s, code string) outcome {
	switch {
	case status == http.StatusOK && kind == opAcquire && s == "acquired":
		return outAcquired
	case status == http.StatusOK && (kind == opAcquire || kind == opGet) && s == "held":
		return outHeld
	case status == http.StatusOK && kind == opGet && s == "free":
		return outFree
	case status == http.StatusOK && kind == opRenew && s == "renewed":
		return outRenewed
	case status == http.StatusOK && kind == opRelease && s == "released":
		return outReleased
	case status == http.StatusConflict && code == "lease_not_current":
		return outNotCurrent
	case status == http.StatusServiceUnavailable:
		// The server is failing its commits and about to stop: it may or may not have
		// applied the command in memory, and nothing it did not commit survives.
		return outUnknown
	}
	return outOther
}

func (w *workload) done(ctx context.Context) bool {
	return ctx.Err() != nil || w.count.Load() >= w.target
}

// pause waits d or until ctx ends. The pauses are the workload's think time.
func pause(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// run runs the clients until the target count is reached or ctx ends.
func (w *workload) run(ctx context.Context, seed uint64) {
	var wg sync.WaitGroup
	for c := 0; c < w.clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.client(ctx, c, rand.New(rand.NewPCG(seed, uint64(c))))
		}()
	}
	wg.Wait()
}

func (w *workload) client(ctx context.Context, c int, rnd *rand.Rand) {
	owner := fmt.Sprintf("c%02d", c)
	holder := w.holder(owner)
	think := func() time.Duration { return time.Duration(rnd.IntN(3000)) * time.Microsecond }
	for !w.done(ctx) {
		name := w.names[rnd.IntN(len(w.names))]
		if e := w.epoch.Load(); e > 0 {
			name = fmt.Sprintf("%s-e%d", name, e)
		}
		fresh := rnd.Float64() < w.fresh
		if fresh {
			name = fmt.Sprintf("fresh-%s-%d", owner, w.freshN.Add(1))
		}
		if rnd.IntN(8) == 0 {
			w.do(c, lockInput{Kind: opGet, Name: name, Holder: holder}, nil)
		}
		ttl := w.ttls[rnd.IntN(len(w.ttls))]
		in := lockInput{Kind: opAcquire, Name: name, Holder: holder, TTL: int64(ttl) * int64(time.Second)}
		out, sent := w.do(c, in, map[string]any{"ttl_seconds": ttl, "owner": owner})
		if !sent {
			pause(ctx, 5*time.Millisecond) // the server is restarting
			continue
		}
		if out.Result != outAcquired || fresh {
			pause(ctx, time.Duration(rnd.IntN(15000))*time.Microsecond) // back off while it is held
			continue
		}
		lease := out.Lease
		for steps := rnd.IntN(7); steps > 0 && !w.done(ctx); steps-- {
			if rnd.Float64() < w.stall {
				pause(ctx, time.Duration(ttl)*time.Second+time.Duration(rnd.IntN(300))*time.Millisecond)
			} else {
				pause(ctx, think())
			}
			switch rnd.IntN(3) {
			case 0: // re-acquire: the same lease comes back
				ttl = w.ttls[rnd.IntN(len(w.ttls))]
				w.do(c, lockInput{Kind: opAcquire, Name: name, Holder: holder, TTL: int64(ttl) * int64(time.Second)},
					map[string]any{"ttl_seconds": ttl, "owner": owner})
			case 1:
				w.do(c, lockInput{Kind: opGet, Name: name, Holder: holder}, nil)
			default:
				ttl = w.ttls[rnd.IntN(len(w.ttls))]
				w.do(c, lockInput{Kind: opRenew, Name: name, Holder: holder, Lease: lease, TTL: int64(ttl) * int64(time.Second)},
					map[string]any{"lease_id": lease, "ttl_seconds": ttl})
			}
		}
		if rnd.IntN(5) > 0 { // otherwise abandon it and let it expire
			w.do(c, lockInput{Kind: opRelease, Name: name, Holder: holder, Lease: lease}, map[string]any{"lease_id": lease})
		}
		pause(ctx, think())
	}
}

// freePort returns a loopback address nobody listens on, for a server that must come
// back on the same address after each restart.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
