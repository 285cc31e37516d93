// Package cluster is OctoStore's replicated commit seam: the changes of every lease
// revision go through a hashicorp/raft log (raft-boltdb for the log and stable store,
// raft's file snapshot store), and each node materialises the committed log into its own
// SQLite file. Only the leader serves: it runs the lease engine, stamps its clock into
// what it proposes, and answers nothing before a quorum has the log entry. A node that
// is not the leader, or stops being it, refuses writes (impl.ErrNoLeader) and the
// server's recovery path rebuilds the engine from the materialised state when it leads
// again, exactly as after a restart: every lease gets a fresh full TTL from the new
// leader's now, and the fencing counter is floored through the log (DESIGN §3.8).
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/octostore/octostore/impl"
	"github.com/octostore/octostore/impl/lease"
	"github.com/octostore/octostore/impl/store"
)

// Timeouts of the raft library, chosen for a failover of about a second on a LAN or
// loopback while a busy machine does not flap:
//
//   - HeartbeatTimeout 500 ms: a follower that has not heard from the leader for a random
//     time between 500 ms and 1 s starts an election, so a dead leader is replaced after
//     ~0.75 s on average plus one election round trip. hashicorp/raft's default (1 s) would
//     double that; much lower, and a GC pause or an fsync stall on a shared disk starts
//     needless elections.
//   - ElectionTimeout 500 ms: a candidate that gets no majority retries after as long.
//   - LeaderLeaseTimeout 250 ms: a leader that has not reached a quorum for that long
//     steps down, well before the followers' first election can end at 500 ms, so two
//     nodes rarely both believe they lead. Safety does not depend on it: every write is
//     committed by a quorum and every read confirms leadership with a quorum (Verify).
//   - CommitTimeout 20 ms: the longest an idle follower waits to learn a commit index.
const (
	DefaultHeartbeatTimeout   = 500 * time.Millisecond
	DefaultElectionTimeout    = 500 * time.Millisecond
	DefaultLeaderLeaseTimeout = 250 * time.Millisecond
	DefaultCommitTimeout      = 20 * time.Millisecond
	// applyTimeout bounds how long a proposal waits to enter the leader's queue.
	applyTimeout = 5 * time.Second
	// probeWait is how long Probe waits for this node to become the leader.
	probeWait = 2 * time.Second
)

// Peer is a voter of the initial configuration.
type Peer struct {
	ID, RaftAddr string
}

// Config configures a node. Zero values mean defaults.
type Config struct {
	// NodeID is this node's id (CLUSTER_NODE_ID), unique in the cluster for all time.
	NodeID string
	// RaftAddr is the address raft listens on and advertises (CLUSTER_RAFT_ADDR).
	RaftAddr string
	// HTTPURL is this node's client URL (CLUSTER_ADVERTISE_HTTP), where the other nodes
	// forward requests while it leads.
	HTTPURL string
	// Dir keeps the raft log, stable store and snapshots (<db>.raft/).
	Dir string
	// Peers are the initial voters (CLUSTER_PEERS). A node without raft state bootstraps
	// the cluster with them; afterwards they are ignored.
	Peers []Peer
	// Transport replaces the TCP transport (tests pass raft's InmemTransport).
	Transport raft.Transport
	// Logger receives the node's logs; RaftLog the raft library's (default: discarded
	// below warnings, to Logger's handler).
	Logger  *slog.Logger
	RaftLog io.Writer
	// Timeouts; zero means the defaults above.
	HeartbeatTimeout, ElectionTimeout, LeaderLeaseTimeout, CommitTimeout time.Duration
	// SnapshotThreshold is how many log entries since the last snapshot make the next
	// one (default 8192); SnapshotInterval how often that is checked (default 30 s).
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	// TrailingLogs is how many entries stay in the log after a snapshot (default 10240),
	// so a follower that fell a little behind catches up without a snapshot.
	TrailingLogs uint64
	// Clock gives the wall clock for the fencing floor (default time.Now).
	Clock func() time.Time
	// OnFatal is called when the node cannot materialise a committed entry (its disk
	// fails): the default exits the process, which replays the log after a restart.
	OnFatal func(error)
}

// Node is one member of a cluster and the server's commit seam (impl.Commits).
type Node struct {
	cfg   Config
	log   *slog.Logger
	st    *store.Store
	fsm   *fsm
	raft  *raft.Raft
	trans raft.Transport
	bolt  *raftboltdb.BoltStore

	mu sync.Mutex
	// serving is true while this node leads and its engine was rebuilt for the term it
	// leads in (term, epoch).
	serving     bool
	term, epoch uint64
	// probed is the term and epoch a successful Probe prepared, for Resume.
	probedTerm, probedEpoch uint64
	degraded                error
	since                   time.Time
	failed                  chan struct{}
	closed                  error
	queue                   []pending
	gen                     uint64 // counts the ends of serving; a pending item belongs to one
	durable                 uint64
	lost                    []span
	advanced                chan struct{}
	changed                 chan struct{} // closed and replaced when leadership may have changed
	wake                    chan struct{}
	// moved is closed and replaced whenever the leader this node knows of changes (to
	// another node, or to none during an election); stopObserving ends its observer.
	moved         chan struct{}
	stopObserving chan struct{}
}

type pending struct {
	seq uint64
	gen uint64
	f   raft.ApplyFuture
}

// span is a closed range of revisions; hi 0 means "and every later one".
type span struct{ lo, hi uint64 }

var _ impl.Commits = (*Node)(nil)

// Open starts the raft node of st, bootstrapping the cluster when this node has no raft
// state and Peers are given. Call Run, and Close after it returned.
func Open(ctx context.Context, st *store.Store, cfg Config) (*Node, error) {
	if cfg.NodeID == "" {
		return nil, errors.New("cluster: node id is empty")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.OnFatal == nil {
		log := cfg.Logger
		cfg.OnFatal = func(err error) {
			log.Error("this node cannot materialise the raft log; stopping (a restart replays it)", "err", err)
			os.Exit(1)
		}
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("raft directory: %w", err)
	}
	n := &Node{cfg: cfg, log: cfg.Logger, st: st}
	n.failed = make(chan struct{})
	close(n.failed)
	n.degraded = fmt.Errorf("%w (no leader elected yet)", impl.ErrNoLeader)
	n.since = time.Now()
	n.advanced = make(chan struct{})
	n.changed = make(chan struct{})
	n.wake = make(chan struct{}, 1)
	n.moved = make(chan struct{})
	n.stopObserving = make(chan struct{})

	var err error
	if n.fsm, err = newFSM(ctx, st, cfg.Dir, cfg.OnFatal); err != nil {
		return nil, err
	}
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.HeartbeatTimeout = orDefault(cfg.HeartbeatTimeout, DefaultHeartbeatTimeout)
	rc.ElectionTimeout = orDefault(cfg.ElectionTimeout, DefaultElectionTimeout)
	rc.LeaderLeaseTimeout = orDefault(cfg.LeaderLeaseTimeout, DefaultLeaderLeaseTimeout)
	rc.CommitTimeout = orDefault(cfg.CommitTimeout, DefaultCommitTimeout)
	// Group commit. Submit runs under the server's lock, one proposal at a time; with
	// raft's unbuffered apply channel the leader loop then takes one entry per log write
	// (an fsync and an AppendEntries round each), about 400 lock cycles/s whatever the
	// number of clients. A buffered channel lets proposals queue while the leader writes,
	// and the leader takes up to MaxAppendEntries of them into one write.
	rc.BatchApplyCh = true
	rc.MaxAppendEntries = 512
	if cfg.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = cfg.SnapshotThreshold
	}
	if cfg.SnapshotInterval > 0 {
		rc.SnapshotInterval = cfg.SnapshotInterval
	}
	if cfg.TrailingLogs > 0 {
		rc.TrailingLogs = cfg.TrailingLogs
	}
	// The SQLite file is durable on its own and records the index it holds: a restart
	// goes on from it instead of copying the last snapshot over it.
	rc.NoSnapshotRestoreOnStart = true
	out := cfg.RaftLog
	if out == nil {
		out = os.Stderr
	}
	rc.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: out})

	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, rc.Logger)
	if err != nil {
		return nil, fmt.Errorf("raft snapshots: %w", err)
	}
	n.bolt, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.Dir, "raft.db")})
	if err != nil {
		return nil, fmt.Errorf("raft log: %w", err)
	}
	if err := n.catchUpSnapshot(ctx, snaps); err != nil {
		n.bolt.Close()
		return nil, err
	}
	n.trans = cfg.Transport
	if n.trans == nil {
		addr, err := net.ResolveTCPAddr("tcp", cfg.RaftAddr)
		if err != nil {
			n.bolt.Close()
			return nil, fmt.Errorf("raft address %q: %w", cfg.RaftAddr, err)
		}
		n.trans, err = raft.NewTCPTransportWithLogger(cfg.RaftAddr, addr, 3, 10*time.Second, rc.Logger)
		if err != nil {
			n.bolt.Close()
			return nil, fmt.Errorf("raft transport: %w", err)
		}
	}
	existing, err := raft.HasExistingState(n.bolt, n.bolt, snaps)
	if err != nil {
		n.close()
		return nil, err
	}
	if !existing {
		// A new member must start empty: state in its file that the log does not have
		// would differ from the other nodes' (another node may lead first).
		if err := checkEmpty(ctx, st); err != nil {
			n.close()
			return nil, err
		}
	}
	if !existing && len(cfg.Peers) > 0 {
		var c raft.Configuration
		for _, p := range cfg.Peers {
			c.Servers = append(c.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.RaftAddr)})
		}
		if err := raft.BootstrapCluster(rc, n.bolt, n.bolt, snaps, n.trans, c); err != nil {
			n.close()
			return nil, fmt.Errorf("bootstrap cluster: %w", err)
		}
		n.log.Info("cluster bootstrapped", "voters", len(c.Servers))
	}
	n.raft, err = raft.NewRaft(rc, n.fsm, n.bolt, n.bolt, snaps, n.trans)
	if err != nil {
		n.close()
		return nil, fmt.Errorf("start raft: %w", err)
	}
	n.observeLeader()
	return n, nil
}

// observeLeader follows raft's leader observations: every change of the leader this node
// knows of (a new one, or none while an election runs) closes and replaces n.moved, so a
// request forwarded to a leader that stalled or was cut off is answered at once instead
// of hanging on its connection (LeaderMoved).
func (n *Node) observeLeader() {
	ch := make(chan raft.Observation, 64)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	n.raft.RegisterObserver(obs)
	go func() {
		defer n.raft.DeregisterObserver(obs)
		for {
			select {
			case <-n.stopObserving:
				return
			case <-ch:
				n.mu.Lock()
				close(n.moved)
				n.moved = make(chan struct{})
				n.mu.Unlock()
			}
		}
	}()
}

// LeaderMoved returns a channel closed at the next change of the leader this node knows
// of.
func (n *Node) LeaderMoved() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.moved
}

// ErrNotEmpty means a node without raft data was given a database that holds accounts
// or leases: it would not match the cluster's log.
var ErrNotEmpty = errors.New("the database holds accounts or leases but this node has no raft data: a new cluster node starts with an empty database (converting a single node's database into a cluster is not supported yet)")

func checkEmpty(ctx context.Context, st *store.Store) error {
	accounts, err := st.Accounts(ctx)
	if err != nil {
		return err
	}
	leases, _, err := st.Leases(ctx)
	if err != nil {
		return err
	}
	if len(accounts) > 0 || len(leases) > 0 {
		return fmt.Errorf("%s: %w", st.Path(), ErrNotEmpty)
	}
	return nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// catchUpSnapshot restores the newest snapshot when the file holds less than it (the
// file was lost or replaced by an older copy): raft only replays the log after it.
func (n *Node) catchUpSnapshot(ctx context.Context, snaps *raft.FileSnapshotStore) error {
	metas, err := snaps.List()
	if err != nil || len(metas) == 0 {
		return err
	}
	applied, _ := n.fsm.state()
	if applied >= metas[0].Index {
		return nil
	}
	_, rc, err := snaps.Open(metas[0].ID)
	if err != nil {
		return fmt.Errorf("open raft snapshot: %w", err)
	}
	n.log.Warn("the database holds less than the newest raft snapshot; restoring the snapshot", "applied", applied, "snapshot_index", metas[0].Index)
	return n.fsm.Restore(rc)
}

func (n *Node) close() {
	if c, ok := n.trans.(io.Closer); ok && n.cfg.Transport == nil {
		c.Close()
	}
	if n.bolt != nil {
		n.bolt.Close()
	}
}

// Close stops raft and closes its files. Call it after Run returned. A leader hands its
// leadership to a follower first (a clean stop, as in a rolling upgrade, then costs the
// cluster no election timeout).
func (n *Node) Close() error {
	if n.raft.State() == raft.Leader {
		if err := n.raft.LeadershipTransfer().Error(); err != nil {
			n.log.Warn("leadership transfer before stopping", "err", err)
		}
	}
	err := n.raft.Shutdown().Error()
	close(n.stopObserving)
	n.close()
	return err
}

// Raft returns the raft node, for membership and tests.
func (n *Node) Raft() *raft.Raft { return n.raft }

// Run tracks the proposals until they are applied and follows leadership, until ctx
// ends; then it refuses new proposals and waits (bounded) for those in flight.
func (n *Node) Run(ctx context.Context) error {
	done := make(chan struct{})
	go func() { defer close(done); n.watch(ctx) }()
	for {
		n.mu.Lock()
		if len(n.queue) == 0 {
			if ctx.Err() != nil {
				n.closed = impl.ErrClosed
				n.broadcastLocked()
				n.mu.Unlock()
				<-done
				return nil
			}
			n.mu.Unlock()
			select {
			case <-n.wake:
			case <-ctx.Done():
			}
			continue
		}
		p := n.queue[0]
		n.queue = n.queue[1:]
		if ctx.Err() != nil {
			n.closed = impl.ErrClosed // Submit refuses from now on
		}
		n.mu.Unlock()
		err := p.f.Error()
		if err == nil {
			if r, ok := p.f.Response().(error); ok {
				err = r
			}
		}
		n.mu.Lock()
		if p.gen == n.gen {
			if err != nil {
				n.degradeLocked(fmt.Errorf("%w: %w", impl.ErrNoLeader, err), p.seq)
			} else {
				n.durable = max(n.durable, p.seq)
				n.broadcastLocked()
			}
		}
		n.mu.Unlock()
	}
}

// watch ends serving as soon as this node stops leading, or leads in another term than
// the one its engine was rebuilt for.
func (n *Node) watch(ctx context.Context) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.raft.LeaderCh():
			n.mu.Lock()
			close(n.changed)
			n.changed = make(chan struct{})
			n.mu.Unlock()
		case <-tick.C:
		}
		n.mu.Lock()
		if n.serving && !n.leadsLocked() {
			n.degradeLocked(fmt.Errorf("%w: leadership lost", impl.ErrNoLeader), 0)
		}
		n.mu.Unlock()
	}
}

// leadsLocked reports whether raft still has this node lead in the term it serves.
func (n *Node) leadsLocked() bool {
	return n.raft.State() == raft.Leader && n.raft.CurrentTerm() == n.term
}

func (n *Node) broadcastLocked() {
	close(n.advanced)
	n.advanced = make(chan struct{})
}

// degradeLocked stops serving because of cause; the revisions from lo on are lost (lo 0:
// those not durable yet). n.mu is held.
func (n *Node) degradeLocked(cause error, lo uint64) {
	if n.serving {
		n.serving = false
		n.degraded = cause
		n.since = time.Now()
		n.gen++
		close(n.failed)
		if lo == 0 {
			lo = n.durable + 1
		}
		n.lost = append(n.lost, span{lo: lo})
		n.log.Warn("this node stopped serving writes", "err", cause)
	}
	n.queue = nil
	n.broadcastLocked()
}

func (n *Node) lostLocked(rev uint64) bool {
	for _, sp := range n.lost {
		if rev >= sp.lo && (sp.hi == 0 || rev <= sp.hi) {
			return true
		}
	}
	return false
}

// writableLocked is nil while this node serves. n.mu is held.
func (n *Node) writableLocked() error {
	if n.closed != nil {
		return n.closed
	}
	if !n.serving {
		return n.degraded
	}
	if !n.leadsLocked() {
		n.degradeLocked(fmt.Errorf("%w: leadership lost", impl.ErrNoLeader), 0)
		return n.degraded
	}
	return nil
}

// Writable is nil while this node leads and serves.
func (n *Node) Writable() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.writableLocked()
}

// Submit proposes the changes of revision seq to the log.
func (n *Node) Submit(seq uint64, changes []lease.Change) error {
	n.mu.Lock()
	if err := n.writableLocked(); err != nil {
		if k := len(n.lost); n.closed == nil && (k == 0 || n.lost[k-1].hi != 0) {
			n.lost = append(n.lost, span{lo: seq})
		}
		n.mu.Unlock()
		return err
	}
	epoch, gen := n.epoch, n.gen
	n.mu.Unlock()
	data, err := json.Marshal(entry{Kind: kindChanges, Epoch: epoch, Changes: changes})
	if err != nil {
		return err
	}
	// Proposals enter raft in the order of Submit calls (the server serialises them), so
	// they are committed and applied in revision order.
	f := n.raft.Apply(data, applyTimeout)
	n.mu.Lock()
	n.queue = append(n.queue, pending{seq: seq, gen: gen, f: f})
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
	return nil
}

// WaitDurable blocks until revision seq is committed by a quorum and applied here, was
// lost (the leader lost its term first: its outcome is unknown, and a retry is safe), the
// node stopped, or ctx ended.
func (n *Node) WaitDurable(ctx context.Context, seq uint64) error {
	for {
		n.mu.Lock()
		durable, closed, advanced, degraded := n.durable, n.closed, n.advanced, n.degraded
		lost := n.lostLocked(seq)
		n.mu.Unlock()
		if lost {
			if degraded == nil {
				degraded = fmt.Errorf("%w: the leader's term ended before this change was committed", impl.ErrNoLeader)
			}
			return degraded
		}
		if durable >= seq {
			return nil
		}
		if closed != nil {
			return closed
		}
		select {
		case <-advanced:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Verify confirms with a quorum that this node still leads, in the term its engine
// serves: only then may a read be answered from the engine.
func (n *Node) Verify(ctx context.Context) error {
	if err := n.Writable(); err != nil {
		return err
	}
	if err := n.raft.VerifyLeader().Error(); err != nil {
		return fmt.Errorf("%w: %w", impl.ErrNoLeader, err)
	}
	return n.Writable()
}

// Failed is closed once this node stops serving.
func (n *Node) Failed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.failed
}

// Probe waits (briefly) until this node leads; then it commits every entry of earlier
// terms (a barrier) and writes the start of its epoch through the log, which floors the
// fencing counter at max(the replicated mark, the wall clock in µs). The server then
// rebuilds its engine from the materialised state (Leases) and calls Resume.
func (n *Node) Probe(ctx context.Context) error {
	wait := time.NewTimer(probeWait)
	defer wait.Stop()
	for n.raft.State() != raft.Leader {
		n.mu.Lock()
		changed := n.changed
		n.mu.Unlock()
		select {
		case <-changed:
		case <-wait.C:
			return n.noLeader()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	term := n.raft.CurrentTerm()
	if err := n.raft.Barrier(applyTimeout).Error(); err != nil {
		return fmt.Errorf("%w: barrier: %w", impl.ErrNoLeader, err)
	}
	_, reserved, err := n.st.Leases(ctx)
	if err != nil {
		return err
	}
	floor := min(max(reserved, n.cfg.Clock().UnixMicro()), lease.MaxFencingToken)
	data, err := json.Marshal(entry{Kind: kindLeaderStart, Floor: floor, NodeID: n.cfg.NodeID, HTTPURL: n.cfg.HTTPURL})
	if err != nil {
		return err
	}
	f := n.raft.Apply(data, applyTimeout)
	if err := f.Error(); err != nil {
		return fmt.Errorf("%w: leader start: %w", impl.ErrNoLeader, err)
	}
	if r, ok := f.Response().(error); ok {
		return fmt.Errorf("leader start: %w", r)
	}
	if n.raft.State() != raft.Leader || n.raft.CurrentTerm() != term {
		return n.noLeader()
	}
	n.mu.Lock()
	n.probedTerm, n.probedEpoch = term, f.Index()
	n.mu.Unlock()
	return nil
}

func (n *Node) noLeader() error {
	if _, id := n.raft.LeaderWithID(); id != "" {
		return fmt.Errorf("%w: node %s leads", impl.ErrNoLeader, id)
	}
	return fmt.Errorf("%w: no leader elected", impl.ErrNoLeader)
}

// Leases returns the materialised leases and fencing mark.
func (n *Node) Leases(ctx context.Context) ([]lease.Lease, int64, error) { return n.st.Leases(ctx) }

// State returns the materialised leases, sessions, lock-delays and fencing mark.
func (n *Node) State(ctx context.Context) (lease.State, error) { return n.st.State(ctx) }

// Resume starts serving in the term the last Probe prepared. The revisions up to last
// that are not durable stay lost.
func (n *Node) Resume(last uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.serving || n.closed != nil {
		return
	}
	if k := len(n.lost); k > 0 && n.lost[k-1].hi == 0 {
		if last < n.lost[k-1].lo {
			n.lost = n.lost[:k-1]
		} else {
			n.lost[k-1].hi = last
		}
	}
	n.durable = max(n.durable, last)
	n.term, n.epoch = n.probedTerm, n.probedEpoch
	n.serving, n.degraded, n.since = true, nil, time.Time{}
	n.failed = make(chan struct{})
	n.broadcastLocked()
	if !n.leadsLocked() {
		n.degradeLocked(fmt.Errorf("%w: leadership lost", impl.ErrNoLeader), 0)
		return
	}
	n.log.Info("this node leads and serves writes", "term", n.term, "epoch", n.epoch)
}

// Health is the storage's state: a node's file takes writes unless it failed, which
// stops the process (OnFatal); not leading is not a storage fault.
func (n *Node) Health() impl.Health { return impl.Health{} }
