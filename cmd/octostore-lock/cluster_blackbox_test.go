package main

// Black-box tests of a three-node cluster (issue 14): three real octostore-lock
// processes on loopback, configured as the README's "Running a cluster" says, under a
// concurrent workload spread over all three nodes, with faults injected into the
// processes themselves: SIGKILL of the leader (and a restart on the same data), SIGSTOP
// of the leader for twice the election timeout, and, as root where network namespaces
// work, one node cut off by setting its veth link down. After each test the whole history
// goes through the same fenced-lease model as the single-node tests.
//
// A binary without cluster mode (GET /admin/cluster answers 404) makes every test here
// skip with a message.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// electionTimeout is the cluster's raft election timeout with the default settings,
// impl/cluster's DefaultElectionTimeout (OCTOSTORE_CLUSTER_ELECTION_TIMEOUT overrides it
// for a build with other defaults).
func electionTimeout() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("OCTOSTORE_CLUSTER_ELECTION_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	return 500 * time.Millisecond
}

// clusterNode is one member.
type clusterNode struct {
	id       string
	httpAddr string // host:port the node serves clients on
	raftAddr string
	dir      string
	netns    string // the network namespace it runs in, if any

	mu      sync.Mutex // the term watcher reads these while the test restarts nodes
	p       *proc
	stopped bool // SIGSTOPped
}

func (n *clusterNode) url() string { return "http://" + n.httpAddr }

// proc returns the node's current process.
func (n *clusterNode) proc() *proc {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.p
}

// signal sends sig to the node's process, by its PID, and notes a stop or a resume.
func (n *clusterNode) signal(sig syscall.Signal) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch sig {
	case syscall.SIGSTOP:
		n.stopped = true
	case syscall.SIGCONT:
		n.stopped = false
	}
	return n.p.cmd.Process.Signal(sig)
}

// kill kills the node with SIGKILL and waits until it has exited.
func (n *clusterNode) kill() { n.proc().kill(syscall.SIGKILL) }

func (n *clusterNode) running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.p == nil || n.stopped {
		return false
	}
	select {
	case <-n.p.exited:
		return false
	default:
		return true
	}
}

// procCluster is three (or more) octostore-lock processes configured as one cluster.
type procCluster struct {
	t        *testing.T
	key      string // ADMIN_KEY, the same on every node
	nodes    []*clusterNode
	peers    string
	env      []string
	hc       *http.Client
	ttlFloor int64 // wall-clock microseconds at the start
}

// clusterStatus is GET /admin/cluster.
type clusterStatus struct {
	Leader string `json:"leader"`
	Term   int64  `json:"term"`
	Nodes  []struct {
		ID        string `json:"id"`
		RaftAddr  string `json:"raft_addr"`
		HTTPURL   string `json:"http_url"`
		Suffrage  string `json:"suffrage"`
		State     string `json:"state"`
		LastIndex int64  `json:"last_index"`
	} `json:"nodes"`
}

func (s clusterStatus) lastIndex(id string) (int64, bool) {
	for _, n := range s.Nodes {
		if n.ID == id {
			return n.LastIndex, true
		}
	}
	return 0, false
}

// clusterLayout says where each node listens: loopback ports by default.
type clusterLayout struct {
	httpAddrs, raftAddrs []string
	netns                []string // per node, "" for the host's
}

func loopbackLayout(t *testing.T, n int) clusterLayout {
	var l clusterLayout
	for i := 0; i < n; i++ {
		l.httpAddrs = append(l.httpAddrs, freePort(t))
		l.raftAddrs = append(l.raftAddrs, freePort(t))
		l.netns = append(l.netns, "")
	}
	return l
}

// startCluster starts the nodes of layout, waits until one of them leads and every node
// knows it, and skips the test when the binary has no cluster mode. Every process is
// killed by its PID when the test ends.
func startCluster(t *testing.T, layout clusterLayout, env ...string) *procCluster {
	t.Helper()
	c := &procCluster{t: t, key: "cluster-admin-" + strconv.FormatUint(rand.Uint64(), 36), hc: &http.Client{Timeout: 5 * time.Second}}
	var peers []string
	root := t.TempDir()
	for i := range layout.httpAddrs {
		n := &clusterNode{id: fmt.Sprintf("n%d", i+1), httpAddr: layout.httpAddrs[i], raftAddr: layout.raftAddrs[i],
			dir: filepath.Join(root, fmt.Sprintf("n%d", i+1)), netns: layout.netns[i]}
		if err := os.Mkdir(n.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, n)
		peers = append(peers, n.id+"="+n.raftAddr)
	}
	c.peers = strings.Join(peers, ",")
	c.env = append([]string{"ADMIN_KEY=" + c.key, "MAX_LOCKS_PER_ACCOUNT=1000000",
		"MAX_WAITERS_PER_ACCOUNT=-1", "MAX_WAITERS=-1", "MAX_CONNECTIONS=0", "MAX_CONNECTIONS_PER_CLIENT=0"}, env...)
	// All at once: a node may wait for its peers before it serves.
	var pending []*spawned
	for _, n := range c.nodes {
		pending = append(pending, c.spawn(n))
	}
	for i, s := range pending {
		if err := s.await(60*time.Second, false); err != nil {
			t.Fatalf("node %s: %v", c.nodes[i].id, err)
		}
	}
	c.requireClusterMode()
	c.waitLeader(60 * time.Second)
	// Every node knows the leader before the test starts: a follower that has not heard
	// from it yet answers a forwarded request 503 no_leader.
	deadline := time.Now().Add(60 * time.Second)
	for _, n := range c.nodes {
		for !c.ready(n) {
			if time.Now().After(deadline) {
				t.Fatalf("node %s is not ready 60 s after a leader was elected", n.id)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return c
}

func (c *procCluster) spawn(n *clusterNode) *spawned {
	c.t.Helper()
	env := append(append([]string(nil), c.env...),
		"CLUSTER_NODE_ID="+n.id, "CLUSTER_RAFT_ADDR="+n.raftAddr, "CLUSTER_PEERS="+c.peers,
		"CLUSTER_ADVERTISE_HTTP="+n.url(), "DATABASE_URL="+filepath.Join(n.dir, "octostore.db"))
	bin := binary
	if b := os.Getenv("OCTOSTORE_CLUSTER_BIN"); b != "" {
		bin = b // another build, e.g. a deliberately broken one, to show a test fails
	}
	var s *spawned
	if n.netns != "" {
		s = spawnCommand(c.t, n.dir, env, "ip", "netns", "exec", n.netns, bin, "--bind-addr", n.httpAddr)
	} else {
		s = spawnBinary(c.t, bin, n.dir, n.httpAddr, env...)
	}
	n.mu.Lock()
	n.p, n.stopped = s.p, false
	n.mu.Unlock()
	return s
}

// restart starts a node that was killed again, on the same addresses and data.
func (c *procCluster) restart(n *clusterNode) {
	c.t.Helper()
	if err := c.spawn(n).await(60*time.Second, false); err != nil {
		c.t.Fatalf("restart %s: %v", n.id, err)
	}
}

// requireClusterMode skips the test unless GET /admin/cluster exists.
func (c *procCluster) requireClusterMode() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := c.admin("GET", c.nodes[0], "/admin/cluster", nil)
		if err == nil {
			res.Body.Close()
			switch res.StatusCode {
			case http.StatusNotFound:
				c.t.Skip("skipping: this octostore-lock has no cluster mode (GET /admin/cluster answered 404; issue 14's raft cluster is not in this build)")
			case http.StatusOK, http.StatusServiceUnavailable:
				return
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("GET /admin/cluster: %v %v", res, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *procCluster) admin(method string, n *clusterNode, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, n.url()+path, rd)
	req.Header.Set("X-Admin-Key", c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.hc.Do(req)
}

// status reads GET /admin/cluster from one node.
func (c *procCluster) status(n *clusterNode) (clusterStatus, error) {
	return c.statusWith(c.hc, n)
}

func (c *procCluster) statusWith(hc *http.Client, n *clusterNode) (clusterStatus, error) {
	var st clusterStatus
	req, _ := http.NewRequest("GET", n.url()+"/admin/cluster", nil)
	req.Header.Set("X-Admin-Key", c.key)
	res, err := hc.Do(req)
	if err != nil {
		return st, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET /admin/cluster on %s: %d", n.id, res.StatusCode)
	}
	return st, json.NewDecoder(res.Body).Decode(&st)
}

func (c *procCluster) ready(n *clusterNode) bool {
	res, err := c.hc.Get(n.url() + "/ready")
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

func (c *procCluster) node(id string) *clusterNode {
	for _, n := range c.nodes {
		if n.id == id {
			return n
		}
	}
	return nil
}

// waitLeader polls the running nodes until one says it leads (its own /admin/cluster
// names itself) and is ready, and returns it with its view.
func (c *procCluster) waitLeader(timeout time.Duration) (*clusterNode, clusterStatus) {
	c.t.Helper()
	return c.waitLeaderAmong(c.nodes, timeout)
}

// waitLeaderAmong is waitLeader asking only the given nodes (not a stopped or cut-off
// one, which may still believe it leads).
func (c *procCluster) waitLeaderAmong(nodes []*clusterNode, timeout time.Duration) (*clusterNode, clusterStatus) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, n := range nodes {
			if !n.running() {
				continue
			}
			st, err := c.status(n)
			if err == nil && st.Leader == n.id && c.ready(n) {
				return n, st
			}
		}
		if time.Now().After(deadline) {
			var views []string
			for _, n := range c.nodes {
				st, err := c.status(n)
				views = append(views, fmt.Sprintf("%s: %+v %v", n.id, st, err))
			}
			c.t.Fatalf("no leader after %s: %s", timeout, strings.Join(views, "; "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// token creates an account through the leader (or any node) and returns its token.
func (c *procCluster) token() string {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, n := range c.nodes {
			if !n.running() {
				continue
			}
			res, err := c.admin("POST", n, "/admin/accounts", map[string]string{"name": "cluster-test"})
			if err != nil {
				continue
			}
			var out struct {
				Token string `json:"token"`
			}
			json.NewDecoder(res.Body).Decode(&out)
			res.Body.Close()
			if res.StatusCode/100 == 2 && out.Token != "" {
				return out.Token
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatal("could not create an account on the cluster")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *procCluster) urls() []string {
	var out []string
	for _, n := range c.nodes {
		out = append(out, n.url())
	}
	return out
}

// waitCaughtUp waits until n's own last_index reaches the leader's last_index as the
// leader reported it after n came back.
func (c *procCluster) waitCaughtUp(n *clusterNode, timeout time.Duration) (int64, time.Duration) {
	c.t.Helper()
	began := time.Now()
	leader, st := c.waitLeader(timeout)
	target, ok := st.lastIndex(leader.id)
	if !ok {
		c.t.Fatalf("the leader %s does not list itself in /admin/cluster: %+v", leader.id, st)
	}
	deadline := began.Add(timeout)
	for {
		if own, err := c.status(n); err == nil {
			if li, ok := own.lastIndex(n.id); ok && li >= target {
				return target, time.Since(began)
			}
		}
		if time.Now().After(deadline) {
			own, err := c.status(n)
			c.t.Fatalf("%s did not catch up within %s: leader %s at last_index %d, %s says %+v %v", n.id, timeout, leader.id, target, n.id, own, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// watchTerms polls every running node's term until ctx ends and records each new term
// in the history as a restart: the new term's leader refreshed every lease to its own
// now + TTL before it served. The record's call is the start of the last poll in which
// every running node still reported an older term (the refresh came after it); its
// return is when a grant through the new leader's cluster came back (the refresh came
// before it). It returns a function that stops it and reports the changes it saw.
func (c *procCluster) watchTerms(w *workload, rec *recorder, client int) func() int {
	ctx, cancel := context.WithCancel(context.Background())
	hc := &http.Client{Timeout: time.Second}
	done := make(chan int, 1)
	go func() {
		var cur int64
		clean := rec.now()
		changes := 0
		for ctx.Err() == nil {
			roundStart := rec.now()
			var top int64
			all := true
			for _, n := range c.nodes {
				if !n.running() {
					continue
				}
				st, err := c.statusWith(hc, n)
				if err != nil {
					all = false
					continue
				}
				top = max(top, st.Term)
			}
			if top > cur && cur != 0 {
				changes++
				ret := c.confirmGrant(ctx, w, client, fmt.Sprintf("term-%d", top))
				rec.add(client, lockInput{Kind: opRestart, Call: clean}, lockOutput{Result: outRestarted, Return: ret})
			}
			cur = max(cur, top)
			if all {
				clean = roundStart
			}
			pause(ctx, 100*time.Millisecond)
		}
		done <- changes
	}()
	return func() int { cancel(); return <-done }
}

// confirmGrant acquires (and releases) name through the running nodes until one grants
// it and returns when the grant came back; never when none did within a minute.
func (c *procCluster) confirmGrant(ctx context.Context, w *workload, client int, name string) int64 {
	holder := w.holder("watch")
	in := lockInput{Kind: opAcquire, Name: name, Holder: holder, TTL: int64(5 * time.Second)}
	body := map[string]any{"ttl_seconds": 5, "owner": "watch"}
	deadline := time.Now().Add(time.Minute)
	for i := 0; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
		n := c.nodes[i%len(c.nodes)]
		if !n.running() {
			pause(ctx, 5*time.Millisecond)
			continue
		}
		out, sent := w.once(client, n.url(), in, body)
		if sent && out.Result == outAcquired {
			w.do(client, lockInput{Kind: opRelease, Name: name, Holder: holder, Lease: out.Lease}, map[string]any{"lease_id": out.Lease})
			return out.Return
		}
		pause(ctx, 20*time.Millisecond)
	}
	return never
}

// clusterWorkload is the shared workload of the cluster tests: clients spread over all
// nodes, retrying on another node after a 503 or a transport error, unknown outcomes
// open forever.
func clusterWorkload(c *procCluster, rec *recorder, token string, clients int) *workload {
	w := newWorkload(rec, nil, token, clients, 6, math.MaxInt64)
	w.timeout = 8 * time.Second
	w.http.Timeout = w.timeout
	w.fresh = 0.02
	w.onNodes(c.urls(), 2*len(c.nodes))
	return w
}

// ledgerLock is an acquire or release that was acknowledged right before a fault.
type ledgerLock struct {
	name  string
	token int64
	held  bool // acquired and never released (TTL one hour); otherwise released
}

// acknowledge takes one lock for an hour and takes and releases another, just before a
// fault, through the workload (so the history holds them); both outcomes must survive.
func acknowledge(t *testing.T, w *workload, client int, round int) []ledgerLock {
	t.Helper()
	holder := w.holder("ledger")
	body := map[string]any{"ttl_seconds": 3600, "owner": "ledger"}
	keep := fmt.Sprintf("keep-%d", round)
	gone := fmt.Sprintf("gone-%d", round)
	var out []ledgerLock
	for _, name := range []string{keep, gone} {
		var g lockOutput
		for i := 0; i < 20 && g.Result != outAcquired; i++ {
			g, _ = w.do(client, lockInput{Kind: opAcquire, Name: name, Holder: holder, TTL: int64(time.Hour)}, body)
		}
		if g.Result != outAcquired {
			t.Fatalf("round %d: acquire %s: %+v", round, name, g)
		}
		if name == gone {
			var r lockOutput
			for i := 0; i < 20 && r.Result != outReleased; i++ {
				r, _ = w.do(client, lockInput{Kind: opRelease, Name: name, Holder: holder, Lease: g.Lease}, map[string]any{"lease_id": g.Lease})
				if r.Result == outNotCurrent && i > 0 {
					break // an earlier attempt with an unknown outcome released it
				}
			}
			if r.Result != outReleased && r.Result != outNotCurrent {
				t.Fatalf("round %d: release %s: %+v", round, name, r)
			}
		}
		out = append(out, ledgerLock{name: name, token: g.Token, held: name == keep})
	}
	return out
}

// verifyLedger reads every lock of the ledger (recorded, so the model checks the
// answers too) and fails on an acknowledged grant or release that was lost.
func verifyLedger(t *testing.T, w *workload, client int, ledger []ledgerLock, when string) {
	t.Helper()
	for _, l := range ledger {
		var st lockOutput
		for i := 0; i < 30 && (st.Result == outUnknown || i == 0); i++ {
			st, _ = w.do(client, lockInput{Kind: opGet, Name: l.name}, nil)
		}
		switch {
		case l.held && (st.Result != outHeld || st.Token != l.token):
			t.Fatalf("%s: the acknowledged grant of %s (token %d) was lost: %+v", when, l.name, l.token, st)
		case !l.held && st.Result != outFree:
			t.Fatalf("%s: the acknowledged release of %s was lost: %+v", when, l.name, st)
		}
	}
}

// probeTimeout bounds one attempt of a probe: a client that gives up on a node after
// that long and tries the next, as a client behind a load balancer would.
const probeTimeout = 2 * time.Second

// probeGrant acquires a fresh lock name through the given nodes, in turn, until one
// grants it, and returns how long after since that grant arrived and its token. The
// attempts are recorded in the history.
func probeGrant(t *testing.T, w *workload, client int, nodes []*clusterNode, name string, since time.Time, bound time.Duration) (time.Duration, lockOutput) {
	t.Helper()
	holder := w.holder("probe")
	in := lockInput{Kind: opAcquire, Name: name, Holder: holder, TTL: int64(5 * time.Second)}
	body := map[string]any{"ttl_seconds": 5, "owner": "probe"}
	for i := 0; ; i++ {
		n := nodes[i%len(nodes)]
		out, sent := w.onceWithin(client, n.url(), in, body, probeTimeout)
		if sent && out.Result == outAcquired {
			took := time.Since(since)
			w.do(client, lockInput{Kind: opRelease, Name: name, Holder: holder, Lease: out.Lease}, map[string]any{"lease_id": out.Lease})
			return took, out
		}
		if sent && out.Result != outUnknown {
			t.Fatalf("probe %s through %s: %+v (status %d)", name, n.id, out, out.Status)
		}
		if time.Since(since) > bound {
			t.Fatalf("no acquire was granted through %v within %s of the fault", nodeIDs(nodes), bound)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func nodeIDs(nodes []*clusterNode) []string {
	var ids []string
	for _, n := range nodes {
		ids = append(ids, n.id)
	}
	return ids
}

func (c *procCluster) others(x *clusterNode) []*clusterNode {
	var out []*clusterNode
	for _, n := range c.nodes {
		if n != x {
			out = append(out, n)
		}
	}
	return out
}

// fencingPerName checks, for every lock name, that a grant whose request began after
// another grant of that name was answered has a larger token, over the whole history
// (every failover included). It returns the number of grants checked.
func fencingPerName(history []porcupine.Operation) (int, []string) {
	type grant struct {
		call, ret, token int64
		lease            string
	}
	byName := map[string]map[string]grant{} // name -> lease -> first grant
	for _, op := range history {
		in, out := op.Input.(lockInput), op.Output.(lockOutput)
		if in.Kind != opAcquire || out.Result != outAcquired {
			continue
		}
		m := byName[in.Name]
		if m == nil {
			m = map[string]grant{}
			byName[in.Name] = m
		}
		if g, ok := m[out.Lease]; !ok || in.Call < g.call {
			m[out.Lease] = grant{in.Call, out.Return, out.Token, out.Lease}
		}
	}
	var bad []string
	n := 0
	for name, m := range byName {
		gs := make([]grant, 0, len(m))
		for _, g := range m {
			gs = append(gs, g)
		}
		n += len(gs)
		byRet := slices.Clone(gs)
		sort.Slice(gs, func(i, j int) bool { return gs[i].call < gs[j].call })
		sort.Slice(byRet, func(i, j int) bool { return byRet[i].ret < byRet[j].ret })
		var maxDone int64
		j := 0
		for _, g := range gs {
			for j < len(byRet) && byRet[j].ret < g.call {
				maxDone = max(maxDone, byRet[j].token)
				j++
			}
			if g.token <= maxDone {
				bad = append(bad, fmt.Sprintf("%s: lease %s got token %d after token %d had been granted", name, g.lease, g.token, maxDone))
			}
		}
	}
	return n, bad
}

// percentile returns the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// checkClusterHistory runs the model and the per-name fencing check over the whole
// history and logs the figures and the SUMMARY line.
func checkClusterHistory(t *testing.T, label string, w *workload, history []porcupine.Operation, faults int) {
	t.Helper()
	grants, bad := fencingPerName(history)
	for i, b := range bad {
		if i == 10 {
			break
		}
		t.Errorf("fencing per name: %s", b)
	}
	t.Logf("%s: fencing tokens strictly increase per name over %d grants (%d violations)", label, grants, len(bad))
	counts := map[outcome]int{}
	for _, op := range history {
		counts[op.Output.(lockOutput).Result]++
	}
	t.Logf("%s: outcomes: %d acquired, %d held, %d renewed, %d released, %d not current, %d free, %d unknown, %d other",
		label, counts[outAcquired], counts[outHeld], counts[outRenewed], counts[outReleased], counts[outNotCurrent], counts[outFree], counts[outUnknown], counts[outOther])
	unknown := map[string]int{}
	for _, op := range history {
		if in, out := op.Input.(lockInput), op.Output.(lockOutput); out.Result == outUnknown {
			unknown[fmt.Sprintf("%s/%d", in.Kind, out.Status)]++
		}
	}
	t.Logf("%s: unknown outcomes by operation/HTTP status (0: no answer): %v", label, unknown)
	w.servedMu.Lock()
	t.Logf("%s: answers by node URL and by X-OctoStore-Via/Node headers: %v; %d refused connections, %d connections died mid-request", label, w.served, w.refused.Load(), w.failed.Load())
	w.servedMu.Unlock()
	requireLinearizable(t, label, history, faults)
	if len(bad) > 0 {
		t.Errorf("%d per-name fencing violations", len(bad))
	}
	// The same checkers must reject this history with one answer forged.
	t.Run("forged double grant is flagged", func(t *testing.T) {
		if v := checkHistory(forgeDoubleGrant(t, history), checkTimeout); v.result != porcupine.Illegal {
			t.Fatalf("checker accepted a double grant: %s", v.result)
		}
	})
	t.Run("forged token regression is flagged", func(t *testing.T) {
		forged := forgeTokenRegression(t, history)
		if _, bad := fencingPerName(forged); len(bad) == 0 {
			t.Fatal("the per-name fencing check accepted a token regression")
		}
		if v := checkHistory(forged, checkTimeout); v.result != porcupine.Illegal || len(v.fencing) == 0 {
			t.Fatalf("checker accepted a token regression: %s, fencing %v", v.result, v.fencing)
		}
	})
}

// requireSpread fails unless every node answered some of the workload's requests.
func requireSpread(t *testing.T, c *procCluster, w *workload) {
	t.Helper()
	w.servedMu.Lock()
	defer w.servedMu.Unlock()
	for _, n := range c.nodes {
		if w.served[n.url()] == 0 {
			t.Errorf("node %s answered none of the workload's requests (answers by node: %v)", n.id, w.served)
		}
	}
}

// TestClusterLeaderKillLoop kills the leader with SIGKILL again and again under a
// concurrent workload through all three nodes, restarts it on the same data each time
// and checks that it catches up. Acknowledged grants and releases made just before each
// kill must survive; fencing tokens must increase per name across every failover and
// exceed the wall clock of the kill (DESIGN §3.8); the whole history must pass the
// fenced lease model. It logs the failover time: SIGKILL to the first granted acquire
// through a surviving node.
func TestClusterLeaderKillLoop(t *testing.T) {
	failovers, clients := size(10, 200), 6
	t.Run(fmt.Sprintf("%dfailovers_%dclients", failovers, clients), func(t *testing.T) {
		c := startCluster(t, loopbackLayout(t, 3))
		token := c.token()
		rec := newRecorder()
		w := clusterWorkload(c, rec, token, clients)
		ledgerClient, probeClient := clients+1, clients+2
		ledger := acknowledge(t, w, ledgerClient, 0)
		stopWatch := c.watchTerms(w, rec, clients+4)
		seed := uint64(time.Now().UnixNano())
		t.Logf("seed %d, election timeout %s", seed, electionTimeout())
		rnd := rand.New(rand.NewPCG(seed, math.MaxUint64))

		ctx, cancel := context.WithCancel(context.Background())
		loadDone := make(chan struct{})
		go func() { defer close(loadDone); w.run(ctx, seed) }()
		defer func() { cancel(); <-loadDone }()

		var took, catchUp []time.Duration
		lastTerm := int64(0)
		for round := 1; round <= failovers; round++ {
			// A new set of names every ten failovers keeps the model's partitions, with
			// their open unknown outcomes, small; each name still spans failovers.
			w.epoch.Store(int64(round / 10))
			waitOps(t, w, w.count.Load()+int64(30+rnd.IntN(200)))
			leader, st := c.waitLeader(30 * time.Second)
			if st.Term <= lastTerm && round > 1 {
				t.Fatalf("round %d: term %d did not grow past %d", round, st.Term, lastTerm)
			}
			lastTerm = st.Term
			ledger = append(ledger, acknowledge(t, w, ledgerClient, round)...)

			killedWall := time.Now()
			leader.kill()
			killed := rec.now()
			d, g := probeGrant(t, w, probeClient, c.others(leader), fmt.Sprintf("failover-%d", round), killedWall, 60*time.Second)
			took = append(took, d)
			// The new leader refreshed every lease when it took over, before this grant.
			rec.add(clients+3, lockInput{Kind: opRestart, Call: killed}, lockOutput{Result: outRestarted, Return: rec.now()})
			if g.Token <= killedWall.UnixMicro() {
				t.Errorf("round %d: the first token after the failover, %d, is not above the wall clock of the kill in microseconds (%d): the new leader did not floor the fencing counter (DESIGN §3.8)",
					round, g.Token, killedWall.UnixMicro())
			}
			verifyLedger(t, w, ledgerClient, ledger[:2], fmt.Sprintf("failover %d", round))

			c.restart(leader)
			target, d2 := c.waitCaughtUp(leader, 60*time.Second)
			catchUp = append(catchUp, d2)
			if round%25 == 0 || round == failovers {
				t.Logf("failover %d: %s was leader (term %d); first grant after %s; restarted, caught up to index %d in %s",
					round, leader.id, st.Term, d.Round(time.Millisecond), target, d2.Round(time.Millisecond))
			}
		}
		waitOps(t, w, w.count.Load()+200)
		cancel()
		<-loadDone
		terms := stopWatch()
		t.Logf("the term watcher saw %d new terms (each recorded as a lease refresh)", terms)
		verifyLedger(t, w, ledgerClient, ledger, "the end")
		t.Logf("%d acknowledged grants and releases made right before a kill all survived", len(ledger))
		t.Logf("failover time (SIGKILL of the leader to the first granted acquire through a surviving node) over %d failovers: median %s, p99 %s, max %s",
			len(took), percentile(took, 50).Round(time.Millisecond), percentile(took, 99).Round(time.Millisecond), percentile(took, 100).Round(time.Millisecond))
		t.Logf("catch-up of the restarted node: median %s, max %s", percentile(catchUp, 50).Round(time.Millisecond), percentile(catchUp, 100).Round(time.Millisecond))
		// Gross bound only: the machine is shared.
		if m := percentile(took, 50); m > 20*time.Second {
			t.Errorf("median failover time %s", m)
		}
		requireSpread(t, c, w)
		checkClusterHistory(t, "cluster-kill-leader", w, rec.history(), failovers)
	})
}

// TestClusterStalledLeader stops the leader with SIGSTOP for twice the election
// timeout while the workload runs, then resumes it: the others elect a new leader, the
// old one must not grant or answer anything that breaks the model after its term ended,
// and it must catch up.
func TestClusterStalledLeader(t *testing.T) {
	rounds, clients := size(3, 30), 6
	t.Run(fmt.Sprintf("%drounds_%dclients_stalled_2xElectionTimeout", rounds, clients), func(t *testing.T) {
		c := startCluster(t, loopbackLayout(t, 3))
		token := c.token()
		rec := newRecorder()
		w := clusterWorkload(c, rec, token, clients)
		ledgerClient, probeClient := clients+1, clients+2
		ledger := acknowledge(t, w, ledgerClient, 0)
		stopWatch := c.watchTerms(w, rec, clients+4)
		seed := uint64(time.Now().UnixNano())
		et := electionTimeout()
		t.Logf("seed %d, election timeout %s, stall %s", seed, et, 2*et)
		ctx, cancel := context.WithCancel(context.Background())
		loadDone := make(chan struct{})
		go func() { defer close(loadDone); w.run(ctx, seed) }()
		defer func() { cancel(); <-loadDone }()

		var took []time.Duration
		changes := 0
		for round := 1; round <= rounds; round++ {
			waitOps(t, w, w.count.Load()+200)
			leader, st := c.waitLeader(30 * time.Second)
			ledger = append(ledger, acknowledge(t, w, ledgerClient, round)...)
			stoppedWall := time.Now()
			if err := leader.signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			stopped := rec.now()
			waitProcState(t, leader.proc().cmd.Process.Pid, 'T')
			d, _ := probeGrant(t, w, probeClient, c.others(leader), fmt.Sprintf("stall-%d", round), stoppedWall, 60*time.Second)
			took = append(took, d)
			// The others elected a leader of a later term: it refreshed every lease when
			// it took over, before the probe's grant.
			_, st2 := c.waitLeaderAmong(c.others(leader), 30*time.Second)
			if st2.Term > st.Term {
				changes++
				rec.add(clients+3, lockInput{Kind: opRestart, Call: stopped}, lockOutput{Result: outRestarted, Return: rec.now()})
			}
			if rest := 2*et - time.Since(stoppedWall); rest > 0 {
				pause(t.Context(), rest) // the stall itself: the scenario, not a wait for a condition
			}
			if err := leader.signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			verifyLedger(t, w, ledgerClient, ledger[:2], fmt.Sprintf("stall %d", round))
			target, d2 := c.waitCaughtUp(leader, 60*time.Second)
			t.Logf("stall %d: %s was leader (term %d), stopped %s; first grant through another node after %s; now term %d; %s caught up to index %d in %s",
				round, leader.id, st.Term, 2*et, d.Round(time.Millisecond), st2.Term, leader.id, target, d2.Round(time.Millisecond))
		}
		waitOps(t, w, w.count.Load()+200)
		cancel()
		<-loadDone
		terms := stopWatch()
		t.Logf("the term watcher saw %d new terms (each recorded as a lease refresh)", terms)
		verifyLedger(t, w, ledgerClient, ledger, "the end")
		if changes == 0 {
			t.Errorf("no stall of %s made the others elect a new leader", 2*et)
		}
		t.Logf("time from SIGSTOP of the leader to the first granted acquire through another node: median %s, max %s",
			percentile(took, 50).Round(time.Millisecond), percentile(took, 100).Round(time.Millisecond))
		requireSpread(t, c, w)
		checkClusterHistory(t, "cluster-sigstop-leader", w, rec.history(), terms)
	})
}

// spawnCommand is spawnBinary for a command line that is not the binary itself (ip
// netns exec … octostore-lock …); name execs the binary, so the PID is the server's.
func spawnCommand(t *testing.T, dir string, env []string, name string, args ...string) *spawned {
	t.Helper()
	return spawnArgs(t, dir, env, append([]string{name}, args...))
}

// netnsRun runs ip with args and fails the test on an error.
func netnsRun(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v %s", strings.Join(args, " "), err, out)
	}
}

// TestClusterNodeCutOff puts one node in a network namespace of its own, joined to the
// host by a veth pair, and cuts it off by setting the link down, then heals it, while
// the workload runs. Before most cuts the leader is killed until the cut-off node leads,
// so that the cut deposes a leader. Needs root and working network namespaces; skips
// with a message otherwise.
func TestClusterNodeCutOff(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("skipping: cutting a node off needs root (network namespaces and a veth pair)")
	}
	rounds, clients := size(3, 20), 6
	suffix := strconv.Itoa(os.Getpid() % 100000)
	ns, hostIf, nsIf := "octo-"+suffix, "octoh"+suffix, "octon"+suffix
	// Link-local /32s: the host's on lo (it must stay reachable from the host while the
	// pair is down), the namespace's on its end of the pair. The traffic never leaves
	// the machine.
	subnet := strconv.Itoa(1 + os.Getpid()%250)
	hostIP, nsIP := "169.254."+subnet+".1", "169.254."+subnet+".2"
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("skipping: network namespaces do not work here: ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", hostIf).Run()
		exec.Command("ip", "netns", "del", ns).Run()
		exec.Command("ip", "addr", "del", hostIP+"/32", "dev", "lo").Run()
	})
	if out, err := exec.Command("ip", "link", "add", hostIf, "type", "veth", "peer", "name", nsIf, "netns", ns).CombinedOutput(); err != nil {
		t.Skipf("skipping: veth pairs do not work here: %v %s", err, out)
	}
	netnsRun(t, "addr", "add", hostIP+"/32", "dev", "lo")
	netnsRun(t, "link", "set", hostIf, "up")
	netnsRun(t, "route", "replace", nsIP+"/32", "dev", hostIf)
	netnsRun(t, "-n", ns, "addr", "add", nsIP+"/32", "dev", nsIf)
	netnsRun(t, "-n", ns, "link", "set", nsIf, "up")
	netnsRun(t, "-n", ns, "link", "set", "lo", "up")
	netnsRun(t, "-n", ns, "route", "replace", hostIP+"/32", "dev", nsIf)

	t.Run(fmt.Sprintf("%dcuts_%dclients", rounds, clients), func(t *testing.T) {
		// The host's nodes listen on the host side of the pair, the third inside.
		port := func() string { _, p, _ := strings.Cut(freePort(t), ":"); return p }
		layout := clusterLayout{
			httpAddrs: []string{hostIP + ":" + port(), hostIP + ":" + port(), nsIP + ":" + port()},
			raftAddrs: []string{hostIP + ":" + port(), hostIP + ":" + port(), nsIP + ":" + port()},
			netns:     []string{"", "", ns},
		}
		c := startCluster(t, layout)
		cut := c.nodes[2]
		token := c.token()
		rec := newRecorder()
		w := clusterWorkload(c, rec, token, clients)
		ledgerClient, probeClient := clients+1, clients+2
		ledger := acknowledge(t, w, ledgerClient, 0)
		stopWatch := c.watchTerms(w, rec, clients+4)
		seed := uint64(time.Now().UnixNano())
		et := electionTimeout()
		t.Logf("seed %d, election timeout %s", seed, et)
		ctx, cancel := context.WithCancel(context.Background())
		loadDone := make(chan struct{})
		go func() { defer close(loadDone); w.run(ctx, seed) }()
		defer func() { cancel(); <-loadDone }()

		faults, cutLeaders := 0, 0
		for round := 1; round <= rounds; round++ {
			waitOps(t, w, w.count.Load()+200)
			leader, st := c.waitLeader(30 * time.Second)
			// Try to make the node to be cut off the leader: kill whoever leads instead.
			for tries := 0; leader != cut && tries < 6; tries++ {
				leader.kill()
				k := rec.now()
				c.waitLeader(60 * time.Second)
				rec.add(clients+3, lockInput{Kind: opRestart, Call: k}, lockOutput{Result: outRestarted, Return: rec.now()})
				faults++
				c.restart(leader)
				c.waitCaughtUp(leader, 60*time.Second)
				leader, st = c.waitLeader(30 * time.Second)
			}
			wasLeader := leader == cut
			if wasLeader {
				cutLeaders++
			}
			ledger = append(ledger, acknowledge(t, w, ledgerClient, round)...)
			cutWall := time.Now()
			netnsRun(t, "link", "set", hostIf, "down")
			cutAt := rec.now()
			d, _ := probeGrant(t, w, probeClient, c.others(cut), fmt.Sprintf("cut-%d", round), cutWall, 60*time.Second)
			_, st2 := c.waitLeaderAmong(c.others(cut), 30*time.Second)
			if st2.Term > st.Term {
				faults++
				rec.add(clients+3, lockInput{Kind: opRestart, Call: cutAt}, lockOutput{Result: outRestarted, Return: rec.now()})
			}
			pause(t.Context(), 2*et) // the partition lasts a while: the scenario, not a wait for a condition
			netnsRun(t, "link", "set", hostIf, "up")
			netnsRun(t, "route", "replace", nsIP+"/32", "dev", hostIf) // gone with the link
			verifyLedger(t, w, ledgerClient, ledger[:2], fmt.Sprintf("cut %d", round))
			target, d2 := c.waitCaughtUp(cut, 60*time.Second)
			t.Logf("cut %d: %s cut off (it was leader: %v, term %d); first grant through the others after %s; healed, term %d; caught up to index %d in %s",
				round, cut.id, wasLeader, st.Term, d.Round(time.Millisecond), st2.Term, target, d2.Round(time.Millisecond))
		}
		waitOps(t, w, w.count.Load()+200)
		cancel()
		<-loadDone
		terms := stopWatch()
		t.Logf("the term watcher saw %d new terms (each recorded as a lease refresh)", terms)
		verifyLedger(t, w, ledgerClient, ledger, "the end")
		t.Logf("%d of %d cuts deposed the leader; %d leader changes made by the test (kills to move the leadership, cuts)", cutLeaders, rounds, faults)
		requireSpread(t, c, w)
		checkClusterHistory(t, "cluster-cut-node", w, rec.history(), terms)
	})
}

// TestClusterFollowersAnswerWhileTheLeaderIsStalled stops the leader with SIGSTOP (its
// connections stay open, nothing answers on them: a hung or partitioned leader) and
// sends one acquire to each follower. The followers elect a new leader within about a
// second, so each must answer — granted, or 503 to retry — well within a gross bound,
// instead of holding the request on the stopped leader: clients behind a load balancer
// see the cluster through whichever node they reach.
func TestClusterFollowersAnswerWhileTheLeaderIsStalled(t *testing.T) {
	const bound, stallAtMost = 10 * time.Second, 20 * time.Second
	c := startCluster(t, loopbackLayout(t, 3))
	token := c.token()
	rec := newRecorder()
	w := clusterWorkload(c, rec, token, 2)
	w.http.Timeout = 0 // each request below carries its own deadline
	leader, _ := c.waitLeader(30 * time.Second)
	followers := c.others(leader)
	// Each follower forwards once while the leader still answers: the forwarding
	// connections exist when it stops.
	for i, f := range followers {
		name := fmt.Sprintf("warm-%d", i)
		in := lockInput{Kind: opAcquire, Name: name, Holder: w.holder("warm"), TTL: int64(time.Minute)}
		if out, _ := w.once(i, f.url(), in, map[string]any{"ttl_seconds": 60, "owner": "warm"}); out.Result != outAcquired {
			t.Fatalf("acquire through %s: %+v", f.id, out)
		}
	}
	if err := leader.signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	waitProcState(t, leader.proc().cmd.Process.Pid, 'T')
	type answer struct {
		node string
		out  lockOutput
		took time.Duration
	}
	answers := make(chan answer, len(followers))
	for i, f := range followers {
		go func() {
			name := fmt.Sprintf("stalled-%d", i)
			in := lockInput{Kind: opAcquire, Name: name, Holder: w.holder("asker"), TTL: int64(time.Minute)}
			out, _ := w.onceWithin(i, f.url(), in, map[string]any{"ttl_seconds": 60, "owner": "asker"}, 30*time.Second)
			answers <- answer{f.id, out, time.Since(stopped)}
		}()
	}
	newLeader, st := c.waitLeaderAmong(followers, 30*time.Second)
	elected := time.Since(stopped)
	t.Logf("leader %s stopped; %s leads term %d after %s", leader.id, newLeader.id, st.Term, elected.Round(time.Millisecond))
	timer := time.NewTimer(stallAtMost)
	defer timer.Stop()
	var got []answer
	for len(got) < len(followers) {
		select {
		case a := <-answers:
			got = append(got, a)
			continue
		case <-timer.C:
		}
		break
	}
	if err := leader.signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	for _, a := range got {
		t.Logf("acquire through %s answered after %s: %s (HTTP %d)", a.node, a.took.Round(time.Millisecond), a.out.Result, a.out.Status)
		if a.took > bound || (a.out.Result != outAcquired && a.out.Status != http.StatusServiceUnavailable) {
			t.Errorf("acquire through follower %s while the leader was stopped: %s (HTTP %d) after %s; a new leader was elected after %s",
				a.node, a.out.Result, a.out.Status, a.took.Round(time.Millisecond), elected.Round(time.Millisecond))
		}
	}
	if len(got) < len(followers) {
		t.Errorf("%d of %d acquires sent to a follower while the leader was stopped got no answer in %s, although %s was elected leader after %s: the followers hold requests on the stopped leader",
			len(followers)-len(got), len(followers), stallAtMost, newLeader.id, elected.Round(time.Millisecond))
	}
	for len(got) < len(followers) { // the leader runs again: they end (at most 30 s)
		got = append(got, <-answers)
	}
	requireLinearizable(t, "cluster-followers-answer", rec.history(), 0)
}
