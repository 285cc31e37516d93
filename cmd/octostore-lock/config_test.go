package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := parseConfig(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.BindAddr != "127.0.0.1:3000" || c.DatabaseURL != "./octostore.db" || c.AdminKey != "" || c.MaxLocksPerAccount != 100 || c.ShutdownTimeout != 30*time.Second ||
		c.MaxTokensPerAcct != 100 || c.SessionIdleTimeout != 12*time.Hour || c.MaxSessionsPerAcct != 10 {
		t.Fatalf("%+v", c)
	}
}

func TestFlagsBeatEnvironmentWhichBeatsEnvFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	os.WriteFile(filepath.Join(dir, ".env"), []byte("BIND_ADDR=0.0.0.0:1\nMAX_LOCKS_PER_ACCOUNT=7\nDATABASE_URL=from-file.db\n"), 0o600)
	c, err := parseConfig([]string{"--database-url", "from-flag.db"}, env(map[string]string{"BIND_ADDR": "127.0.0.1:9"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "from-flag.db" || c.BindAddr != "127.0.0.1:9" || c.MaxLocksPerAccount != 7 {
		t.Fatalf("%+v", c)
	}
}

func TestBadValuesAreRefused(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, e := range []map[string]string{
		{"MAX_LOCKS_PER_ACCOUNT": "-1"},
		{"MAX_BODY_BYTES": "10"},
		{"LOG_FORMAT": "xml"},
		{"SHUTDOWN_TIMEOUT": "soon"},
		{"DATABASE_URL": " "},
		{"MAX_TOKENS_PER_ACCOUNT": "0"},
		{"MAX_SESSIONS_PER_ACCOUNT": "0"},
		{"SESSION_IDLE_TIMEOUT": "30s"},
		{"SESSION_IDLE_TIMEOUT": "200h"},
	} {
		if _, err := parseConfig(nil, env(e), io.Discard); err == nil {
			t.Errorf("%v accepted", e)
		}
	}
	if _, err := parseConfig([]string{"extra"}, env(nil), io.Discard); err == nil {
		t.Error("stray argument accepted")
	}
}

func TestMetricsSettings(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := parseConfig(nil, env(map[string]string{"METRICS_ADDR": "127.0.0.1:9100", "PPROF": "true"}), io.Discard)
	if err != nil || c.MetricsAddr != "127.0.0.1:9100" || !c.Pprof {
		t.Fatalf("%+v %v", c, err)
	}
	for _, e := range []map[string]string{
		{"PPROF": "true"}, // profiles need the metrics listener
		{"METRICS_ADDR": "127.0.0.1:3000"},
		{"PPROF": "maybe", "METRICS_ADDR": "127.0.0.1:9100"},
	} {
		if _, err := parseConfig(nil, env(e), io.Discard); err == nil {
			t.Errorf("%v accepted", e)
		}
	}
}

func TestClusterSettings(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := parseConfig(nil, env(nil), io.Discard)
	if err != nil || c.Cluster.NodeID != "" || c.Cluster.Peers != nil {
		t.Fatalf("a single node by default: %+v %v", c.Cluster, err)
	}
	c, err = parseConfig([]string{"--cluster-node-id", "n2"}, env(map[string]string{
		"BIND_ADDR":         "127.0.0.1:3002",
		"CLUSTER_RAFT_ADDR": "127.0.0.1:7002",
		"CLUSTER_PEERS":     "n1=127.0.0.1:7001, n2=127.0.0.1:7002,n3=127.0.0.1:7003",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster.NodeID != "n2" || len(c.Cluster.Peers) != 3 || c.Cluster.Peers[1].RaftAddr != "127.0.0.1:7002" || c.Cluster.AdvertiseHTTP != "http://127.0.0.1:3002" {
		t.Fatalf("%+v", c.Cluster)
	}
	for _, e := range []map[string]string{
		{"CLUSTER_RAFT_ADDR": "127.0.0.1:7001"},                                                                                                                 // no node id
		{"CLUSTER_NODE_ID": "n1", "BIND_ADDR": "127.0.0.1:3000"},                                                                                                // no raft address
		{"CLUSTER_NODE_ID": "bad id", "CLUSTER_RAFT_ADDR": "127.0.0.1:7001", "BIND_ADDR": "127.0.0.1:3000"},                                                     // bad id
		{"CLUSTER_NODE_ID": "n1", "CLUSTER_RAFT_ADDR": "127.0.0.1:7001", "BIND_ADDR": "127.0.0.1:3000", "CLUSTER_PEERS": "n2=127.0.0.1:7002"},                   // peers without this node
		{"CLUSTER_NODE_ID": "n1", "CLUSTER_RAFT_ADDR": "127.0.0.1:7001", "BIND_ADDR": "127.0.0.1:3000", "CLUSTER_PEERS": "n1=127.0.0.1:7001,n1=127.0.0.1:7002"}, // twice
		{"CLUSTER_NODE_ID": "n1", "CLUSTER_RAFT_ADDR": "127.0.0.1:7001", "BIND_ADDR": "127.0.0.1:3000", "CLUSTER_PEERS": "n1"},                                  // no address
		{"CLUSTER_NODE_ID": "n1", "CLUSTER_RAFT_ADDR": "127.0.0.1:7001", "BIND_ADDR": "0.0.0.0:3000"},                                                           // advertise needed
		{"CLUSTER_NODE_ID": "n1", "CLUSTER_RAFT_ADDR": "127.0.0.1:7001", "BIND_ADDR": "127.0.0.1:0"},                                                            // no fixed port
		{"CLUSTER_NODE_ID": "n1", "CLUSTER_RAFT_ADDR": "127.0.0.1:7001", "CLUSTER_ADVERTISE_HTTP": "ftp://x"},                                                   // not http
	} {
		if _, err := parseConfig(nil, env(e), io.Discard); err == nil {
			t.Errorf("%v accepted", e)
		}
	}
}
