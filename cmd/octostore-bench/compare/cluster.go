package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/octostore/octostore/cmd/octostore-bench/bench"
)

// clusterSize is the number of members of the --nodes 3 clusters.
const clusterSize = 3

// startOctoStoreCluster starts three octostore-lock processes configured as one raft
// cluster (CLUSTER_* settings, the same ADMIN_KEY), waits until every node is ready (has
// a leader), and returns the system with all three URLs.
func startOctoStoreCluster(ctx context.Context, o options, dir string, ttl time.Duration) (bench.System, []*proc, error) {
	key := randomKey()
	type member struct{ id, http, raft, dir string }
	var members []member
	var peers []string
	for i := 1; i <= clusterSize; i++ {
		hp, err := freePort()
		if err != nil {
			return nil, nil, err
		}
		rp, err := freePort()
		if err != nil {
			return nil, nil, err
		}
		m := member{id: fmt.Sprintf("n%d", i), http: loopback(hp), raft: loopback(rp), dir: filepath.Join(dir, fmt.Sprintf("octostore-n%d", i))}
		if err := os.Mkdir(m.dir, 0o700); err != nil {
			return nil, nil, err
		}
		members = append(members, m)
		peers = append(peers, m.id+"="+m.raft)
	}
	var procs []*proc
	var urls []string
	for _, m := range members {
		// Started one after another without waiting: a node may need its peers to serve.
		p, err := start(ctx, m.dir, "octostore-"+m.id, absBin(o.lockBin),
			[]string{"--bind-addr", m.http, "--database-url", filepath.Join(m.dir, "octostore.db"), "--log-level", "warn", "--rate-limit-rps", "0", "--max-waiters-per-account", "-1", "--max-waiters", "-1", "--max-connections", "0", "--max-connections-per-client", "0"},
			[]string{"ADMIN_KEY=" + key, "CLUSTER_NODE_ID=" + m.id, "CLUSTER_RAFT_ADDR=" + m.raft, "CLUSTER_PEERS=" + strings.Join(peers, ","), "CLUSTER_ADVERTISE_HTTP=http://" + m.http},
			func(context.Context) error { return nil })
		if err != nil {
			return nil, procs, err
		}
		p.sys = "octostore"
		procs = append(procs, p)
		urls = append(urls, "http://"+m.http)
	}
	if err := waitAll(ctx, urls, func(ctx context.Context, u string) error {
		if err := httpStatus(ctx, u+"/admin/cluster", key, http.StatusOK); err != nil {
			return fmt.Errorf("%s/admin/cluster: %w (does this octostore-lock have cluster mode?)", u, err)
		}
		return httpStatus(ctx, u+"/ready", "", http.StatusOK)
	}); err != nil {
		return nil, procs, fmt.Errorf("octostore cluster: %w; logs in %s", err, dir)
	}
	return &bench.OctoStore{URL: strings.Join(urls, ","), AdminKey: key, TTL: ttl}, procs, nil
}

// startEtcdCluster starts a three-member etcd cluster (distinct data dirs and ports) and
// waits until every member reports healthy (it has a leader).
func startEtcdCluster(ctx context.Context, o options, dir string, ttl time.Duration) (bench.System, []*proc, error) {
	type member struct{ name, client, peer, dir string }
	var members []member
	var initial []string
	for i := 1; i <= clusterSize; i++ {
		cp, err := freePort()
		if err != nil {
			return nil, nil, err
		}
		pp, err := freePort()
		if err != nil {
			return nil, nil, err
		}
		m := member{name: fmt.Sprintf("e%d", i), client: loopback(cp), peer: "http://" + loopback(pp), dir: filepath.Join(dir, fmt.Sprintf("etcd-e%d", i))}
		if err := os.Mkdir(m.dir, 0o700); err != nil {
			return nil, nil, err
		}
		members = append(members, m)
		initial = append(initial, m.name+"="+m.peer)
	}
	token := "bench-" + randomKey()[:12]
	var procs []*proc
	var endpoints, health []string
	for _, m := range members {
		p, err := start(ctx, m.dir, "etcd-"+m.name, o.etcdBin, []string{
			"--name", m.name, "--data-dir", filepath.Join(m.dir, "data"),
			"--listen-client-urls", "http://" + m.client, "--advertise-client-urls", "http://" + m.client,
			"--listen-peer-urls", m.peer, "--initial-advertise-peer-urls", m.peer,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new", "--initial-cluster-token", token,
			"--log-level", "error", "--logger", "zap",
		}, nil, func(context.Context) error { return nil })
		if err != nil {
			return nil, procs, err
		}
		p.sys = "etcd"
		procs = append(procs, p)
		endpoints = append(endpoints, m.client)
		health = append(health, "http://"+m.client)
	}
	if err := waitAll(ctx, health, func(ctx context.Context, u string) error {
		return httpStatus(ctx, u+"/health", "", http.StatusOK)
	}); err != nil {
		return nil, procs, fmt.Errorf("etcd cluster: %w; logs in %s", err, dir)
	}
	return &etcdSystem{endpoints: endpoints, ttl: ttl}, procs, nil
}

// waitAll polls check on every URL until all pass, for at most 60 s.
func waitAll(ctx context.Context, urls []string, check func(context.Context, string) error) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		var err error
		for _, u := range urls {
			c, cancel := context.WithTimeout(ctx, 2*time.Second)
			err = check(c, u)
			cancel()
			if err != nil {
				break
			}
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("not ready after 60s: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// httpStatus GETs url (with an admin key when given) and wants the status.
func httpStatus(ctx context.Context, url, adminKey string, want int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if adminKey != "" {
		req.Header.Set("X-Admin-Key", adminKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body json.RawMessage
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != want {
		return errors.New(resp.Status + " " + string(body))
	}
	return nil
}
