package octostore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	octostore "github.com/octostore/octostore/sdk/go"
)

// clusterProc is one node of a three-process cluster on loopback.
type clusterProc struct {
	id, url string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// kill ends the node with SIGKILL, by its PID, and waits for it.
func (p *clusterProc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

func loopbackPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startCluster starts three octostore-lock processes as one cluster (the README's
// "Running a cluster"), returns them and an account token once one of them leads, and
// skips the test when the binary has no cluster mode.
func startCluster(t *testing.T) ([]*clusterProc, string) {
	t.Helper()
	const adminKey = "sdk-cluster-admin-0123456789"
	var httpAddrs, raftAddrs, peers []string
	for i := 0; i < 3; i++ {
		httpAddrs, raftAddrs = append(httpAddrs, loopbackPort(t)), append(raftAddrs, loopbackPort(t))
		peers = append(peers, fmt.Sprintf("n%d=%s", i+1, raftAddrs[i]))
	}
	root := t.TempDir()
	var nodes []*clusterProc
	for i := range httpAddrs {
		dir := filepath.Join(root, fmt.Sprintf("n%d", i+1))
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		p := &clusterProc{id: fmt.Sprintf("n%d", i+1), url: "http://" + httpAddrs[i], exited: make(chan struct{})}
		p.cmd = exec.Command(serverBinary, "--bind-addr", httpAddrs[i])
		p.cmd.Dir = dir
		p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "ADMIN_KEY=" + adminKey,
			"CLUSTER_NODE_ID=" + p.id, "CLUSTER_RAFT_ADDR=" + raftAddrs[i], "CLUSTER_PEERS=" + strings.Join(peers, ","),
			"CLUSTER_ADVERTISE_HTTP=" + p.url, "DATABASE_URL=" + filepath.Join(dir, "octostore.db")}
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { p.cmd.Wait(); close(p.exited) }()
		t.Cleanup(p.kill)
		nodes = append(nodes, p)
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	admin := func(method string, p *clusterProc, path string, body any) (int, map[string]any) {
		var b []byte
		if body != nil {
			b, _ = json.Marshal(body)
		}
		req, _ := http.NewRequest(method, p.url+path, bytes.NewReader(b))
		req.Header.Set("X-Admin-Key", adminKey)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := hc.Do(req)
		if err != nil {
			return 0, nil
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, out := admin("GET", nodes[0], "/admin/cluster", nil)
		if code == http.StatusNotFound {
			t.Skip("skipping: this octostore-lock has no cluster mode (GET /admin/cluster answered 404)")
		}
		if code == http.StatusOK && out["leader"] != "" && out["leader"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no leader after 60 s: HTTP %d %v", code, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for {
		for _, p := range nodes {
			if code, out := admin("POST", p, "/admin/accounts", map[string]string{"name": "sdk-cluster"}); code/100 == 2 {
				if tok, _ := out["token"].(string); tok != "" {
					return nodes, tok
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("could not create an account on the cluster")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clusterLeader returns the node that says it leads, among the running ones.
func clusterLeader(t *testing.T, nodes []*clusterProc) *clusterProc {
	t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, p := range nodes {
			req, _ := http.NewRequest("GET", p.url+"/admin/cluster", nil)
			req.Header.Set("X-Admin-Key", "sdk-cluster-admin-0123456789")
			res, err := hc.Do(req)
			if err != nil {
				continue
			}
			var out struct{ Leader string }
			json.NewDecoder(res.Body).Decode(&out)
			res.Body.Close()
			if out.Leader == p.id {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no leader after 60 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMutexAcrossALeaderKill: a client made with NewWithEndpoints over the three nodes
// (the leader's URL first, so its current endpoint is the one that dies) holds a Mutex
// while the leader is SIGKILLed. The Mutex either keeps its lease through the survivors
// (its renewals carry on: a later expiry, the same token) or reports the loss (Done, Err
// wrapping ErrLost); then another holder acquires through the survivors with a larger
// fencing token.
func TestMutexAcrossALeaderKill(t *testing.T) {
	nodes, token := startCluster(t)
	leader := clusterLeader(t, nodes)
	urls := []string{leader.url}
	var survivors []*clusterProc
	for _, p := range nodes {
		if p != leader {
			urls, survivors = append(urls, p.url), append(survivors, p)
		}
	}
	c, err := octostore.NewWithEndpoints(urls, token)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := octostore.NewMutex(c, "sdk-cluster-failover", octostore.WithTTL(6*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Lock(ctx); err != nil {
		t.Fatalf("Lock through the leader: %v", err)
	}
	first, _ := m.Lease()
	leader.kill()
	t.Logf("leader %s killed; token %d", leader.id, first.FencingToken)
	newLeader := clusterLeader(t, survivors)
	t.Logf("%s leads", newLeader.id)

	// Renewals carry on (the lease's expiry moves past the one granted before the kill)
	// or the loss is reported; either within a bound that only catches a stuck helper.
	kept := false
	deadline := time.After(60 * time.Second)
wait:
	for {
		select {
		case <-m.Done():
			if err := m.Err(); !errors.Is(err, octostore.ErrLost) {
				t.Fatalf("the Mutex ended without reporting a loss: %v", err)
			}
			t.Logf("the Mutex reported the loss: %v", m.Err())
			break wait
		case <-deadline:
			t.Fatal("after 60 s the Mutex neither renewed through the survivors nor reported a loss")
		case <-time.After(100 * time.Millisecond):
			if l, ok := m.Lease(); ok && l.ExpiresAt.After(first.ExpiresAt) {
				if l.FencingToken != first.FencingToken {
					t.Fatalf("a renewal changed the fencing token: %d, was %d", l.FencingToken, first.FencingToken)
				}
				kept = true
				break wait
			}
		}
	}
	if kept {
		t.Log("the Mutex's renewals carried on through the survivors")
		if err := m.Unlock(ctx); err != nil {
			t.Fatalf("Unlock through the survivors: %v", err)
		}
	}
	m2, err := octostore.NewMutex(c, "sdk-cluster-failover", octostore.WithTTL(6*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	lockCtx, lockCancel := context.WithTimeout(ctx, 60*time.Second)
	defer lockCancel()
	if err := m2.Lock(lockCtx); err != nil {
		t.Fatalf("Lock through the survivors after the leader was killed: %v", err)
	}
	if m2.Token() <= first.FencingToken {
		t.Fatalf("fencing token after the failover %d, not above %d", m2.Token(), first.FencingToken)
	}
	t.Logf("new holder's token %d > %d", m2.Token(), first.FencingToken)
	if err := m2.Unlock(ctx); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
}
