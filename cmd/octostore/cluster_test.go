package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The three-process cluster of the Go SDK's cluster test, for the CLI.

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
	const adminKey = "cli-cluster-admin-0123456789"
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
			if code, out := admin("POST", p, "/admin/accounts", map[string]string{"name": "cli-cluster"}); code/100 == 2 {
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
			req.Header.Set("X-Admin-Key", "cli-cluster-admin-0123456789")
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

// TestRunAcrossALeaderKill: `octostore run` with --url listing the three nodes (the
// leader first) holds the lock while its command runs and the leader is SIGKILLed; the
// run either renews through the survivors and exits with the command's code (0), or
// reports the loss (exit 76, the command stopped). Then `octostore acquire` with the same
// list gets the lock through the survivors with a larger fencing token.
func TestRunAcrossALeaderKill(t *testing.T) {
	nodes, token := startCluster(t)
	leader := clusterLeader(t, nodes)
	urls := []string{leader.url}
	var survivors []*clusterProc
	for _, p := range nodes {
		if p != leader {
			urls, survivors = append(urls, p.url), append(survivors, p)
		}
	}
	cluster := &server{url: strings.Join(urls, ","), token: token}
	dir := t.TempDir()
	started, goOn := filepath.Join(dir, "started"), filepath.Join(dir, "go")
	// The command records its token, then waits (at most 120 s) for the test's go-ahead.
	script := fmt.Sprintf(`echo "$OCTOSTORE_FENCING_TOKEN" > %[1]s.tmp && mv %[1]s.tmp %[1]s; i=0; while [ ! -e %[2]s ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done`, started, goOn)
	run := cluster.start(t, "run", "cli-cluster-failover", "--ttl", "6s", "--", "sh", "-c", script)
	var first int64
	deadline := time.Now().Add(60 * time.Second)
	for {
		if b, err := os.ReadFile(started); err == nil {
			first, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
			break
		}
		select {
		case <-run.done:
			t.Fatalf("run ended before its command started: exit %d, stderr %s", run.code, run.errors())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the command did not start in 60 s; stderr %s", run.errors())
		}
		time.Sleep(50 * time.Millisecond)
	}
	leader.kill()
	newLeader := clusterLeader(t, survivors)
	t.Logf("leader %s killed while run held token %d; %s leads", leader.id, first, newLeader.id)
	// Two TTLs after the new leader: renewals had to go through the survivors by now.
	time.Sleep(12 * time.Second)
	if err := os.WriteFile(goOn, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	switch code := run.wait(t); code {
	case 0:
		t.Log("run renewed through the survivors and exited with its command's code")
	case 76:
		t.Logf("run reported the lock lost: %s", run.errors())
	default:
		t.Fatalf("run across the leader kill: exit %d, stderr %s", code, run.errors())
	}
	code, out := cluster.output(t, "acquire", "cli-cluster-failover", "--ttl", "30s", "--wait", "30s")
	var got struct {
		Status       string `json:"status"`
		FencingToken int64  `json:"fencing_token"`
	}
	if code != 0 || json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &got) != nil || got.Status != "acquired" {
		t.Fatalf("acquire through the survivors: exit %d, %s", code, out)
	}
	if got.FencingToken <= first {
		t.Fatalf("fencing token after the failover %d, not above %d", got.FencingToken, first)
	}
	t.Logf("acquire through the survivors: token %d > %d", got.FencingToken, first)
}
