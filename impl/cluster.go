package impl

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/octostore/octostore/gen"
)

// A cluster node (package cluster) serves only while it leads; every other node forwards
// the API to the leader, so clients can use any node, behind one name or a load
// balancer.

// Cluster is what the server needs of the cluster it is a node of.
type Cluster interface {
	// ID is this node's id.
	ID() string
	// LeaderURL is the leader's id and client URL ("" when unknown).
	LeaderURL() (id, url string)
	// LeaderMoved is closed at the next change of the leader this node knows of.
	LeaderMoved() <-chan struct{}
	// Info is the cluster as this node sees it.
	Info(ctx context.Context) (ClusterInfo, error)
	// AddVoter and RemoveServer change the configuration; only the leader can.
	AddVoter(ctx context.Context, id, raftAddr string) error
	RemoveServer(ctx context.Context, id string) error
}

// ClusterInfo is the cluster as one node sees it.
type ClusterInfo struct {
	Leader string
	Term   uint64
	Nodes  []ClusterMember
}

// ClusterMember is one node of the configuration.
type ClusterMember struct {
	ID, RaftAddr, HTTPURL string
	Suffrage              string // voter or nonvoter
	State                 string // leader, follower, candidate, shutdown or unknown
	LastIndex             uint64
}

var (
	// ErrUnknownNode means no node of the cluster has that id.
	ErrUnknownNode = errors.New("no node of the cluster has that id")
	errNotACluster = errors.New("this server is not a cluster node")
	errLeaderMoved = errors.New("the leader changed")
)

// Headers of a cluster node's answers.
const (
	headerNode   = "X-OctoStore-Node"
	headerLeader = "X-OctoStore-Leader"
	headerVia    = "X-OctoStore-Via"
	// headerForwarded marks a request a node forwarded: the leader that gets it never
	// forwards it again, whatever it believes about leadership by then.
	headerForwarded = "X-OctoStore-Forwarded-By"
	// forwardTimeout bounds a forwarded request: above the longest wait (60 s) plus its
	// commit, like the HTTP server's write timeout.
	forwardTimeout = 85 * time.Second
)

// nodeLocal are the routes every node answers itself.
func nodeLocal(r *http.Request) bool {
	switch r.URL.Path {
	case "/health", "/ready", "/docs", "/openapi.yaml":
		return true
	case "/admin/cluster":
		return r.Method == http.MethodGet
	}
	return false
}

// forwarder sends requests to the leader's client URL.
type forwarder struct {
	mu      sync.Mutex
	proxies map[string]*httputil.ReverseProxy
	tr      *http.Transport
}

// forward is the outermost step of a cluster node's handler: a node that does not serve
// passes the request to the leader and its answer back.
func (s *Server) forward(next http.Handler) http.Handler {
	c := s.cfg.Cluster
	if c == nil {
		return next
	}
	self := c.ID()
	f := &forwarder{proxies: map[string]*httputil.ReverseProxy{}, tr: &http.Transport{
		Proxy:                 nil,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       30 * time.Second,
		ResponseHeaderTimeout: forwardTimeout,
	}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, leaderURL := c.LeaderURL()
		if nodeLocal(r) || staleRead(r) || id == "" || id == self || r.Header.Get(headerForwarded) != "" || s.commits.Writable() == nil {
			w.Header().Set(headerNode, self)
			w.Header().Set(headerLeader, id)
			next.ServeHTTP(w, r)
			return
		}
		p := f.proxy(s, self, leaderURL)
		if p == nil {
			w.Header().Set(headerNode, self)
			w.Header().Set(headerLeader, id)
			s.writeError(w, r, ErrNoLeader)
			return
		}
		// A leader that stalls or is cut off keeps the forwarded request's connection
		// open but never answers; once this node learns of another leader (or of an
		// election), the request is given up and answered 503 no_leader, which clients
		// retry. Its outcome on the old leader is unknown, as after a transport error.
		moved := c.LeaderMoved()
		if cur, _ := c.LeaderURL(); cur != id {
			w.Header().Set(headerNode, self)
			s.writeError(w, r, ErrNoLeader)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), forwardTimeout)
		defer cancel()
		ctx, abandon := context.WithCancelCause(ctx)
		defer abandon(nil)
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			select {
			case <-moved:
				abandon(errLeaderMoved)
			case <-stop:
			}
		}()
		p.ServeHTTP(w, r.WithContext(ctx))
	})
}

// proxy returns the reverse proxy to the leader at target, nil when target is not a
// usable URL (the leader has not recorded one yet).
func (f *forwarder) proxy(s *Server, self, target string) *httputil.ReverseProxy {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.proxies[target]; p != nil {
		return p
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil
	}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.SetXForwarded()
			pr.Out.Header.Set(headerForwarded, self)
		},
		Transport: f.tr,
		ModifyResponse: func(res *http.Response) error {
			res.Header.Set(headerVia, self)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			w.Header().Set(headerNode, self)
			if errors.Is(context.Cause(r.Context()), errLeaderMoved) {
				s.writeError(w, r, fmt.Errorf("%w: the leader changed while the request was forwarded to it; retry", ErrNoLeader))
				return
			}
			if r.Context().Err() != nil {
				return // the client went away
			}
			s.log.Warn("forward to the leader failed", "leader_url", target, "err", err)
			s.writeError(w, r, ErrNoLeader)
		},
	}
	f.proxies[target] = p
	return p
}

// GetCluster reports the cluster as this node sees it.
func (s *Server) GetCluster(ctx context.Context, _ gen.GetClusterRequestObject) (gen.GetClusterResponseObject, error) {
	info, err := s.clusterInfo(ctx)
	if err != nil {
		return nil, err
	}
	return gen.GetCluster200JSONResponse(info), nil
}

// AddClusterNode adds a voter.
func (s *Server) AddClusterNode(ctx context.Context, req gen.AddClusterNodeRequestObject) (gen.AddClusterNodeResponseObject, error) {
	if s.cfg.Cluster == nil {
		return nil, errNotACluster
	}
	if err := s.cfg.Cluster.AddVoter(ctx, req.Body.Id, req.Body.RaftAddr); err != nil {
		return nil, err
	}
	s.log.Info("cluster node added", "node", req.Body.Id, "raft_addr", req.Body.RaftAddr)
	info, err := s.clusterInfo(ctx)
	if err != nil {
		return nil, err
	}
	return gen.AddClusterNode200JSONResponse(info), nil
}

// RemoveClusterNode removes a node.
func (s *Server) RemoveClusterNode(ctx context.Context, req gen.RemoveClusterNodeRequestObject) (gen.RemoveClusterNodeResponseObject, error) {
	if s.cfg.Cluster == nil {
		return nil, errNotACluster
	}
	if err := s.cfg.Cluster.RemoveServer(ctx, req.NodeId); err != nil {
		return nil, err
	}
	s.log.Info("cluster node removed", "node", req.NodeId)
	info, err := s.clusterInfo(ctx)
	if err != nil {
		return nil, err
	}
	return gen.RemoveClusterNode200JSONResponse(info), nil
}

func (s *Server) clusterInfo(ctx context.Context) (gen.ClusterInfo, error) {
	if s.cfg.Cluster == nil {
		return gen.ClusterInfo{}, errNotACluster
	}
	info, err := s.cfg.Cluster.Info(ctx)
	if err != nil {
		return gen.ClusterInfo{}, err
	}
	out := gen.ClusterInfo{Leader: info.Leader, Term: int64(info.Term), Nodes: make([]gen.ClusterNode, len(info.Nodes))}
	for i, m := range info.Nodes {
		out.Nodes[i] = gen.ClusterNode{
			Id: m.ID, RaftAddr: m.RaftAddr, HttpUrl: m.HTTPURL,
			Suffrage: gen.ClusterNodeSuffrage(m.Suffrage), State: gen.ClusterNodeState(m.State), LastIndex: int64(m.LastIndex),
		}
	}
	return out, nil
}
