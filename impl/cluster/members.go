package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"

	"github.com/octostore/octostore/impl"
)

// Membership: voters are added and removed through the leader (raft's configuration
// changes, one at a time).

const membershipTimeout = 10 * time.Second

// Info reports the configuration, the leader and this node's progress.
func (n *Node) Info(ctx context.Context) (impl.ClusterInfo, error) {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return impl.ClusterInfo{}, err
	}
	_, leader := n.raft.LeaderWithID()
	out := impl.ClusterInfo{Leader: string(leader), Term: n.raft.CurrentTerm()}
	for _, s := range f.Configuration().Servers {
		m := impl.ClusterMember{ID: string(s.ID), RaftAddr: string(s.Address), HTTPURL: n.fsm.nodeURL(string(s.ID)), State: "unknown", Suffrage: "nonvoter"}
		if s.Suffrage == raft.Voter {
			m.Suffrage = "voter"
		}
		switch {
		case m.ID == n.cfg.NodeID:
			m.State = stateName(n.raft.State())
			m.LastIndex = n.raft.LastIndex()
		case m.ID == out.Leader:
			m.State = "leader"
		case out.Leader == n.cfg.NodeID:
			m.State = "follower" // the leader replicates to it
		}
		out.Nodes = append(out.Nodes, m)
	}
	return out, nil
}

func stateName(s raft.RaftState) string {
	switch s {
	case raft.Leader:
		return "leader"
	case raft.Follower:
		return "follower"
	case raft.Candidate:
		return "candidate"
	}
	return "shutdown"
}

// LeaderURL returns the current leader's id and client URL ("" when unknown).
func (n *Node) LeaderURL() (id, url string) {
	_, leader := n.raft.LeaderWithID()
	if leader == "" {
		return "", ""
	}
	return string(leader), n.fsm.nodeURL(string(leader))
}

// ID returns this node's id.
func (n *Node) ID() string { return n.cfg.NodeID }

// AddVoter adds a voter (or updates its address). Only the leader can.
func (n *Node) AddVoter(ctx context.Context, id, raftAddr string) error {
	if err := n.Writable(); err != nil {
		return err
	}
	return membershipErr(n.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(raftAddr), 0, membershipTimeout).Error())
}

// RemoveServer removes a node from the configuration. Only the leader can.
func (n *Node) RemoveServer(ctx context.Context, id string) error {
	if err := n.Writable(); err != nil {
		return err
	}
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return membershipErr(err)
	}
	found := false
	for _, s := range f.Configuration().Servers {
		found = found || string(s.ID) == id
	}
	if !found {
		return fmt.Errorf("remove %q: %w", id, impl.ErrUnknownNode)
	}
	return membershipErr(n.raft.RemoveServer(raft.ServerID(id), 0, membershipTimeout).Error())
}

func membershipErr(err error) error {
	if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrLeadershipTransferInProgress) {
		return fmt.Errorf("%w: %w", impl.ErrNoLeader, err)
	}
	return err
}
