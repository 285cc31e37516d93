package impl

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/octostore/octostore/impl/lease"
)

// A stale read (?consistency=stale) is answered by the node that receives it from its own
// materialised state, the leases its commit seam made durable: a cluster follower answers
// it without the leader, never forwarding it, and may lag the leader by the entries it
// has not applied yet. A single node's engine is its durable state, so there a stale read
// is the linearizable one.

// consistencyStale is the query value that asks for a stale read.
const consistencyStale = "stale"

// staleRead reports whether r is a lock read that this node answers itself: GET /locks
// or GET /locks/{name} with a consistency other than linearizable, and no watch or prefix. A value
// outside the spec's enum is answered here too, by the validator's 400, so a bad request
// gets the same answer with or without a leader.
func staleRead(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/locks")
	if !ok || (rest != "" && (rest[0] != '/' || strings.Contains(rest[1:], "/"))) {
		return false
	}
	q := r.URL.Query()
	c := q.Get("consistency")
	return c != "" && c != "linearizable" && !q.Has("wait_seconds") && !q.Has("prefix") && !q.Has("index")
}

// serveStale reports whether a read asking for consistency c is answered from the
// materialised state: a stale read on a cluster node. A single node answers every read
// from its engine.
func (s *Server) serveStale(c *string) bool {
	return s.cfg.Cluster != nil && c != nil && *c == consistencyStale
}

// staleLeases returns the live leases of acct in the materialised state whose names sort
// after after, ordered by name then token, and whether locks beyond the first limit
// names follow. A lease whose stored expiry has passed is left out: nobody holds it,
// whether or not the leader has recorded its expiry yet.
func (s *Server) staleLeases(ctx context.Context, acct, name, after string, limit int) ([]lease.Lease, bool, error) {
	all, _, err := s.commits.Leases(ctx)
	if err != nil {
		return nil, false, err
	}
	now := s.cfg.Clock.Now().Wall
	var out []lease.Lease
	for _, l := range all {
		if l.Account != acct || (name != "" && l.Name != name) || l.Name <= after || !l.ExpiresAt.After(now) {
			continue
		}
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b lease.Lease) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return cmp.Compare(a.Token, b.Token)
	})
	names := 0
	for i, l := range out {
		if i == 0 || l.Name != out[i-1].Name {
			names++
			if names > limit {
				return out[:i], true, nil
			}
		}
	}
	return out, false, nil
}
