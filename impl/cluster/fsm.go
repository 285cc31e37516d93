package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"

	"github.com/octostore/octostore/impl/lease"
	"github.com/octostore/octostore/impl/store"
)

// The replicated state machine. The leader runs the lease engine and proposes the
// deterministic results of each revision (its changes, with the leader's clock already
// stamped into them); every node, the leader included, only materialises those results
// into its own SQLite file. No node runs the engine on a follower's behalf.

// kind says what a log entry does.
type kind uint8

const (
	// kindChanges carries the changes of one engine revision of the leader.
	kindChanges kind = iota + 1
	// kindLeaderStart opens a new leader epoch: it floors the fencing counter (DESIGN
	// §3.8) and records the leader's client URL.
	kindLeaderStart
	// kindAuth is a write of accounts, tokens, GitHub links or sessions (auth.go).
	kindAuth
)

// entry is one command in the log. It is JSON: small, and readable when debugging.
type entry struct {
	Kind kind `json:"k"`
	// Epoch is the leader epoch the changes were decided in (kindChanges): entries of an
	// epoch that ended are refused by every node alike.
	Epoch   uint64         `json:"e,omitempty"`
	Changes []lease.Change `json:"c,omitempty"`
	Floor   int64          `json:"f,omitempty"`
	NodeID  string         `json:"n,omitempty"`
	HTTPURL string         `json:"u,omitempty"`
	// Op and Args are an auth operation (kindAuth).
	Op   string          `json:"o,omitempty"`
	Args json.RawMessage `json:"a,omitempty"`
}

// errStaleEpoch answers an entry decided by a leader whose epoch had ended when it was
// committed: no node applies it.
var errStaleEpoch = errors.New("the entry was decided by a leader whose term had ended")

// fsm materialises the log into the node's store. raft calls it from one goroutine;
// mu guards what other goroutines read.
type fsm struct {
	st       *store.Store
	tmpDir   string
	onFatal  func(error)
	onTokens atomic.Pointer[func()]

	mu      sync.Mutex
	applied uint64            // the last log index materialised
	epoch   uint64            // the log index of the current leader's start
	nodes   map[string]string // client URL by node id
}

var _ raft.BatchingFSM = (*fsm)(nil)

func newFSM(ctx context.Context, st *store.Store, tmpDir string, onFatal func(error)) (*fsm, error) {
	f := &fsm{st: st, tmpDir: tmpDir, onFatal: onFatal}
	return f, f.load(ctx)
}

// load reads the replication state from the store.
func (f *fsm) load(ctx context.Context) error {
	applied, epoch, err := f.st.ReplicaState(ctx)
	if err != nil {
		return err
	}
	nodes, err := f.st.ClusterNodes(ctx)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.applied, f.epoch, f.nodes = applied, epoch, nodes
	f.mu.Unlock()
	return nil
}

func (f *fsm) state() (applied, epoch uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied, f.epoch
}

func (f *fsm) nodeURL(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nodes[id]
}

// Apply materialises one entry.
func (f *fsm) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch materialises a batch of committed entries in one transaction. Entries at or
// below the index the file already holds are skipped: raft replays its log after a
// restart, and the file is durable on its own.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	f.mu.Lock()
	applied, epoch := f.applied, f.epoch
	f.mu.Unlock()
	var (
		rows   []store.Replicated
		last   uint64 // the last index in rows (or skipped without a row)
		nodes  = map[string]string{}
		tokens bool
	)
	// flush materialises rows up to last in one transaction.
	flush := func() bool {
		if last == 0 || last <= applied {
			return true
		}
		if err := f.st.ApplyReplicated(context.Background(), last, rows); err != nil {
			// The log is committed and this node cannot materialise it: going on would
			// let its file diverge. Stop; after a restart the entries are applied again.
			f.onFatal(fmt.Errorf("materialise raft log up to index %d: %w", last, err))
			for i := range out {
				out[i] = err
			}
			return false
		}
		applied, rows = last, nil
		f.mu.Lock()
		f.applied, f.epoch = applied, epoch
		for id, u := range nodes {
			f.nodes[id] = u
		}
		f.mu.Unlock()
		return true
	}
	for i, l := range logs {
		if l.Index <= applied {
			continue
		}
		last = l.Index
		if l.Type != raft.LogCommand {
			continue
		}
		var e entry
		if err := json.Unmarshal(l.Data, &e); err != nil {
			out[i] = fmt.Errorf("decode log entry %d: %w", l.Index, err)
			continue
		}
		switch e.Kind {
		case kindLeaderStart:
			epoch = l.Index
			rows = append(rows, store.Replicated{Floor: e.Floor, Epoch: l.Index, NodeID: e.NodeID, HTTPURL: e.HTTPURL})
			if e.NodeID != "" {
				nodes[e.NodeID] = e.HTTPURL
			}
		case kindChanges:
			if e.Epoch != epoch {
				out[i] = errStaleEpoch
				continue
			}
			rows = append(rows, store.Replicated{Changes: e.Changes})
		case kindAuth:
			// Auth writes run the store's own transaction: first what came before.
			last = l.Index - 1
			if !flush() {
				return out
			}
			var a authArgs
			if err := json.Unmarshal(e.Args, &a); err != nil {
				out[i] = fmt.Errorf("decode auth operation %d: %w", l.Index, err)
			} else {
				changed, err := applyAuth(context.Background(), f.st, e.Op, a)
				if errors.Is(err, store.ErrUnavailable) {
					// The disk failed, not the operation: this node cannot go on.
					f.onFatal(fmt.Errorf("materialise raft log entry %d: %w", l.Index, err))
					for j := range out {
						out[j] = err
					}
					return out
				}
				// Any other error is the operation's answer (an existing name, …), the
				// same on every node.
				out[i] = err
				tokens = tokens || (changed && err == nil)
			}
			last = l.Index
			if !flush() {
				return out
			}
		default:
			out[i] = fmt.Errorf("log entry %d: unknown kind %d", l.Index, e.Kind)
		}
	}
	if !flush() {
		return out
	}
	if tokens {
		if fn := f.onTokens.Load(); fn != nil {
			(*fn)()
		}
	}
	return out
}

// Snapshot captures the file. The copy itself is taken in Persist, concurrently with
// later applies, so it may hold entries after the snapshot's index; it records the index
// it holds, so whoever restores it skips those entries when raft replays them.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) { return &snapshot{f: f}, nil }

// Restore replaces the node's whole state by a snapshot (a SQLite copy).
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	tmp, err := os.CreateTemp(f.tmpDir, "restore-*.db")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, rc); err != nil {
		tmp.Close()
		return fmt.Errorf("receive snapshot: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	ctx := context.Background()
	if err := f.st.RestoreFrom(ctx, tmp.Name()); err != nil {
		return err
	}
	if err := f.load(ctx); err != nil {
		return err
	}
	// Every token may have changed.
	if fn := f.onTokens.Load(); fn != nil {
		(*fn)()
	}
	return nil
}

type snapshot struct{ f *fsm }

// Persist writes a consistent copy of the file (the online backup) into the sink.
func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	err := func() error {
		path, err := s.f.st.Backup(context.Background(), s.f.tmpDir)
		if err != nil {
			return err
		}
		defer os.Remove(path)
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(sink, src)
		return err
	}()
	if err != nil {
		sink.Cancel()
		return fmt.Errorf("snapshot: %w", err)
	}
	return sink.Close()
}

func (s *snapshot) Release() {}
