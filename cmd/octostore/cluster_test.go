package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/octostore/octostore/sdk/go/octostoretest"
)

// TestRunAcrossALeaderKill: `octostore run` with --url listing the three nodes (the
// leader first) holds the lock while its command runs and the leader is SIGKILLed; the
// run either renews through the survivors and exits with the command's code (0), or
// reports the loss (exit 76, the command stopped). Then `octostore acquire` with the same
// list gets the lock through the survivors with a larger fencing token.
func TestRunAcrossALeaderKill(t *testing.T) {
	nodes, token := octostoretest.StartCluster(t, serverBinary, "cli-cluster")
	leader := octostoretest.Leader(t, nodes)
	urls := []string{leader.URL}
	var survivors []*octostoretest.Node
	for _, p := range nodes {
		if p != leader {
			urls, survivors = append(urls, p.URL), append(survivors, p)
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
	leader.Kill()
	newLeader := octostoretest.Leader(t, survivors)
	t.Logf("leader %s killed while run held token %d; %s leads", leader.ID, first, newLeader.ID)
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
