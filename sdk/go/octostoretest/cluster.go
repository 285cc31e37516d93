// Package octostoretest starts real octostore-lock servers for tests: a three-node
// cluster on loopback (the README's "Running a cluster"), every process stopped by its
// PID when the test ends. It is used by the SDK's and the CLI's cluster tests and can be
// used by an application's own.
package octostoretest

import (
	"bytes"
	"encoding/json"
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
)

// adminKey is the admin key of every node of a test cluster.
const adminKey = "octostoretest-cluster-admin-key"

// Node is one octostore-lock process of a cluster.
type Node struct {
	ID, URL string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// Kill ends the node with SIGKILL, by its PID, and waits for it.
func (p *Node) Kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

func loopbackAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// StartCluster starts three processes of binary (an octostore-lock) as one cluster on
// loopback and returns them with the token of a new account named account, once one of
// them leads. It skips the test when the binary has no cluster mode, and fails it when
// no node leads within 60 s.
func StartCluster(t testing.TB, binary, account string) ([]*Node, string) {
	t.Helper()
	var httpAddrs, raftAddrs, peers []string
	for i := 0; i < 3; i++ {
		httpAddrs, raftAddrs = append(httpAddrs, loopbackAddr(t)), append(raftAddrs, loopbackAddr(t))
		peers = append(peers, fmt.Sprintf("n%d=%s", i+1, raftAddrs[i]))
	}
	root := t.TempDir()
	var nodes []*Node
	for i := range httpAddrs {
		dir := filepath.Join(root, fmt.Sprintf("n%d", i+1))
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		p := &Node{ID: fmt.Sprintf("n%d", i+1), URL: "http://" + httpAddrs[i], exited: make(chan struct{})}
		p.cmd = exec.Command(binary, "--bind-addr", httpAddrs[i])
		p.cmd.Dir = dir
		p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "ADMIN_KEY=" + adminKey,
			"CLUSTER_NODE_ID=" + p.ID, "CLUSTER_RAFT_ADDR=" + raftAddrs[i], "CLUSTER_PEERS=" + strings.Join(peers, ","),
			"CLUSTER_ADVERTISE_HTTP=" + p.URL, "DATABASE_URL=" + filepath.Join(dir, "octostore.db")}
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { p.cmd.Wait(); close(p.exited) }()
		t.Cleanup(p.Kill)
		nodes = append(nodes, p)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, out := admin("GET", nodes[0], "/admin/cluster", nil)
		if code == http.StatusNotFound {
			t.Skip("skipping: this octostore-lock has no cluster mode (GET /admin/cluster answered 404)")
		}
		if leader, _ := out["leader"].(string); code == http.StatusOK && leader != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no leader after 60 s: HTTP %d %v", code, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for {
		for _, p := range nodes {
			if code, out := admin("POST", p, "/admin/accounts", map[string]string{"name": account}); code/100 == 2 {
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

// Leader returns the node that says it leads, among nodes (the running ones); it fails
// the test when none does within 60 s.
func Leader(t testing.TB, nodes []*Node) *Node {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, p := range nodes {
			if _, out := admin("GET", p, "/admin/cluster", nil); out["leader"] == p.ID {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no leader after 60 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var client = &http.Client{Timeout: 5 * time.Second}

// admin sends an admin request to p; status 0 when it got no answer.
func admin(method string, p *Node, path string, body any) (int, map[string]any) {
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req, err := http.NewRequest(method, p.URL+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil
	}
	req.Header.Set("X-Admin-Key", adminKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}
