// Command compare runs octostore-bench's scenarios against OctoStore, etcd and Redis on
// this machine, side by side, and prints one table of medians with OctoStore/peer ratios.
// `make bench-compare` builds and runs it; see BENCHMARKS.md for results.
//
// It starts every server itself, on loopback ports, each in a fresh directory, with its
// durability stated:
//
//   - octostore: SQLite synchronous=FULL, group commit (acknowledged only after fsync)
//   - etcd: single node, default settings (fsync of the WAL before every commit is acked)
//   - redis-always: appendonly yes, appendfsync always (fsync before replying)
//   - redis-none: no AOF, no RDB (nothing survives a crash; the non-durable reference)
//   - ceiling: octostore-bench serve-noop, the API's routes with handlers that do nothing
//
// and stops them all before it exits. It lives in a module of its own so that the server
// module never depends on the etcd and Redis client libraries.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/octostore/octostore/cmd/octostore-bench/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "compare: %v\n", err)
		}
		os.Exit(1)
	}
}

type options struct {
	lockBin, benchBin, etcdBin, redisBin string
	baseBin                              string // the baseline system's octostore-lock
	upstreamBin                          string // upstream OctoStore's server (Rust)
	clients                              []int
	repeats                              int
	duration, warmup                     time.Duration
	scenarios, systems                   []string
	jsonOut                              string
	quiet                                bool
	nodes                                int // 1, or 3: octostore and etcd run as three-node clusters
}

var allSystems = []string{"octostore", "etcd", "redis-always", "redis-none", "ceiling", "baseline", "upstream"}

// ceilingScenarios are the requests that change nothing, the ones measured against the
// no-op server.
// The ceiling grants every acquire at once (but of the lock the scenarios hold), so it
// bounds cycle too: what this machine's HTTP stack and load generator reach at all.
var ceilingScenarios = []string{"cycle", "status", "tryheld"}

func parse(args []string, stderr io.Writer) (options, error) {
	o := options{}
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var clients, scenarios, systems string
	fs.StringVar(&o.lockBin, "octostore-lock", "bin/octostore-lock", "the octostore-lock binary")
	fs.StringVar(&o.benchBin, "octostore-bench", "bin/octostore-bench", "the octostore-bench binary (serves the no-op ceiling)")
	fs.StringVar(&o.baseBin, "baseline", "", "an older octostore-lock binary, run as system \"baseline\" with the same settings, to measure a change side by side")
	fs.StringVar(&o.upstreamBin, "upstream", "", "upstream OctoStore's server binary (the Rust octostore 0.14), run as system \"upstream\" on SQLite with one static token per client")
	fs.StringVar(&o.etcdBin, "etcd", "etcd", "the etcd server binary")
	fs.StringVar(&o.redisBin, "redis-server", "redis-server", "the redis-server binary")
	fs.StringVar(&clients, "clients", "1,16,64", "client counts")
	fs.IntVar(&o.repeats, "repeats", 3, "runs of each cell; the table shows medians")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured time of each run")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured time before each run")
	fs.StringVar(&scenarios, "scenarios", "cycle,contended,renew,status,tryheld,handoff", "scenarios")
	fs.StringVar(&systems, "systems", strings.Join(allSystems, ","), "systems")
	fs.StringVar(&o.jsonOut, "json", "", "also write every run's result to this file")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress lines")
	fs.IntVar(&o.nodes, "nodes", 1, "1, or 3: run octostore (raft) and etcd as three-node clusters on loopback, the clients spread over the nodes")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, c := range strings.Split(clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 || n > 1000 {
			return o, fmt.Errorf("clients %q: want numbers 1..1000", c)
		}
		o.clients = append(o.clients, n)
	}
	for _, s := range strings.Split(scenarios, ",") {
		if _, ok := bench.LookupScenario(s); !ok {
			return o, fmt.Errorf("unknown scenario %q", s)
		}
		o.scenarios = append(o.scenarios, s)
	}
	for _, s := range strings.Split(systems, ",") {
		if !slices.Contains(allSystems, s) {
			return o, fmt.Errorf("unknown system %q (want %s)", s, strings.Join(allSystems, ", "))
		}
		if s == "baseline" && o.baseBin == "" {
			return o, errors.New("system baseline needs --baseline BIN")
		}
		if s == "upstream" && o.upstreamBin == "" {
			return o, errors.New("system upstream needs --upstream BIN")
		}
		o.systems = append(o.systems, s)
	}
	if o.baseBin != "" && !slices.Contains(o.systems, "baseline") {
		o.systems = append(o.systems, "baseline")
	}
	if o.upstreamBin != "" && !slices.Contains(o.systems, "upstream") {
		o.systems = append(o.systems, "upstream")
	}
	if o.repeats < 1 || o.repeats > 20 || o.duration <= 0 || o.duration > 5*time.Minute {
		return o, errors.New("want 1..20 repeats of 0s..5m")
	}
	switch o.nodes {
	case 1:
	case 3:
		for _, s := range o.systems {
			if s != "octostore" && s != "etcd" {
				return o, fmt.Errorf("--nodes 3: only octostore and etcd run as clusters, not %s", s)
			}
		}
	default:
		return o, errors.New("--nodes: want 1 or 3")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "octostore-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	systems, procs, err := startAll(ctx, o, dir, stderr)
	pids := map[string][]int{} // a cluster's CPU is its members' together
	for _, p := range procs {
		pids[p.system()] = append(pids[p.system()], p.cmd.Process.Pid)
	}
	defer func() {
		for _, p := range procs {
			p.stop()
		}
	}()
	if err != nil {
		return err
	}

	var (
		results []bench.Result
		cpu     []float64 // server CPU µs per op of each result, -1 when unknown
	)
	progress := stderr
	if o.quiet {
		progress = nil
	}
	// Systems are interleaved within each cell so that the machine's drift and the other
	// load on it spread over all of them alike.
	for _, sc := range o.scenarios {
		for _, n := range o.clients {
			for rep := range o.repeats {
				for _, name := range o.systems {
					sys := systems[name]
					if sys == nil || (name == "ceiling" && !slices.Contains(ceilingScenarios, sc)) {
						continue
					}
					if sc == "handoff" && n < 2 {
						continue // a hand-off needs a waiter
					}
					if ctx.Err() != nil {
						return ctx.Err()
					}
					before, cpuOK := cpuTimes(pids[name])
					res, err := bench.Run(ctx, sys, bench.Config{Scenario: sc, Concurrency: n, Duration: o.duration, Warmup: o.warmup})
					if err != nil {
						return fmt.Errorf("%s %s c=%d: %w", name, sc, n, err)
					}
					after, _ := cpuTimes(pids[name])
					perOp := -1.0
					if cpuOK && res.Ops > 0 {
						// The server's CPU over warm-up, run and set-up, per measured op: an
						// upper bound, comparable between systems, that other load on the
						// machine does not inflate the way it inflates latency.
						perOp = float64((after - before).Microseconds()) / float64(res.Ops) * res.Seconds / (res.Seconds + o.warmup.Seconds())
					}
					results = append(results, res)
					cpu = append(cpu, perOp)
					if progress != nil {
						fmt.Fprintf(progress, "%-13s %-9s c=%-3d run %d/%d: %9.0f ops/s  p99 %7.2f ms  errors %d%s\n",
							name, sc, n, rep+1, o.repeats, res.OpsPerSec, res.LatencyMs.P99, res.ErrorCount(), unsupported(res))
					}
				}
			}
		}
	}
	if o.jsonOut != "" {
		type row struct {
			bench.Result
			ServerCPUMicrosPerOp float64 `json:"server_cpu_us_per_op"`
		}
		rows := make([]row, len(results))
		for i, r := range results {
			rows[i] = row{r, cpu[i]}
		}
		data, _ := json.MarshalIndent(rows, "", "  ")
		if err := os.WriteFile(o.jsonOut, data, 0o644); err != nil {
			return err
		}
	}
	writeReport(stdout, o, results, cpu)
	return nil
}

// cpuTimes is cpuTime summed over a system's processes.
func cpuTimes(pids []int) (time.Duration, bool) {
	var sum time.Duration
	for _, pid := range pids {
		d, ok := cpuTime(pid)
		if !ok {
			return 0, false
		}
		sum += d
	}
	return sum, len(pids) > 0
}

func unsupported(r bench.Result) string {
	if r.Unsupported != "" {
		return "  (unsupported: " + r.Unsupported + ")"
	}
	return ""
}

// startAll starts the servers of the chosen systems.
func startAll(ctx context.Context, o options, dir string, stderr io.Writer) (map[string]bench.System, []*proc, error) {
	systems := map[string]bench.System{}
	var procs []*proc
	ttl := time.Minute
	for _, name := range o.systems {
		if o.nodes == 3 {
			var ps []*proc
			var err error
			switch name {
			case "octostore":
				systems[name], ps, err = startOctoStoreCluster(ctx, o, dir, ttl)
			case "etcd":
				systems[name], ps, err = startEtcdCluster(ctx, o, dir, ttl)
			}
			procs = append(procs, ps...)
			if err != nil {
				return systems, procs, err
			}
			fmt.Fprintf(stderr, "started %s as a three-node cluster\n", name)
			continue
		}
		port, err := freePort()
		if err != nil {
			return systems, procs, err
		}
		addr := loopback(port)
		sdir := filepath.Join(dir, name)
		if err := os.Mkdir(sdir, 0o700); err != nil {
			return systems, procs, err
		}
		var p *proc
		switch name {
		case "octostore", "baseline":
			key, bin := randomKey(), o.lockBin
			if name == "baseline" {
				bin = o.baseBin
			}
			p, err = start(ctx, sdir, name, absBin(bin),
				[]string{"--bind-addr", addr, "--database-url", filepath.Join(sdir, "octostore.db"), "--log-level", "warn", "--rate-limit-rps", "0", "--max-waiters-per-account", "-1", "--max-waiters", "-1", "--max-connections", "0", "--max-connections-per-client", "0"},
				[]string{"ADMIN_KEY=" + key}, httpReady("http://"+addr+"/health"))
			systems[name] = &bench.OctoStore{URL: "http://" + addr, AdminKey: key, TTL: ttl, Label: name}
		case "upstream":
			// No accounts to create: every client gets a static token of its own (a
			// holder of its own), as many as the largest client count and the holders some
			// scenarios add.
			tokens := make([]string, slices.Max(o.clients)+16)
			entries := make([]string, len(tokens))
			for i := range tokens {
				tokens[i] = randomKey()
				entries[i] = "bench-" + strconv.Itoa(i) + ":" + tokens[i]
			}
			p, err = start(ctx, sdir, name, absBin(o.upstreamBin), nil, []string{
				"BIND_ADDR=" + addr, "DATABASE_URL=" + filepath.Join(sdir, "octostore.db"),
				"STATIC_TOKENS=" + strings.Join(entries, ","), "RUST_LOG=warn",
			}, httpReady("http://"+addr+"/health"))
			systems[name] = &bench.OctoStore{URL: "http://" + addr, Tokens: tokens, TTL: ttl, Label: name}
		case "ceiling":
			p, err = start(ctx, sdir, name, absBin(o.benchBin), []string{"serve-noop", "--addr", addr}, nil, httpReady("http://"+addr+"/health"))
			systems[name] = &bench.OctoStore{URL: "http://" + addr, Token: "none", TTL: ttl, Label: "ceiling"}
		case "etcd":
			peer, perr := freePort()
			if perr != nil {
				return systems, procs, perr
			}
			peerURL := "http://" + loopback(peer)
			p, err = start(ctx, sdir, name, o.etcdBin, []string{
				"--name", "bench", "--data-dir", filepath.Join(sdir, "data"),
				"--listen-client-urls", "http://" + addr, "--advertise-client-urls", "http://" + addr,
				"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
				"--initial-cluster", "bench=" + peerURL, "--log-level", "error", "--logger", "zap",
			}, nil, httpReady("http://"+addr+"/health"))
			systems[name] = &etcdSystem{endpoints: []string{addr}, ttl: ttl}
		case "redis-always", "redis-none":
			persist := []string{"--appendonly", "yes", "--appendfsync", "always", "--save", ""}
			if name == "redis-none" {
				persist = []string{"--appendonly", "no", "--save", ""}
			}
			p, err = start(ctx, sdir, name, o.redisBin, append([]string{
				"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", sdir, "--daemonize", "no",
				"--protected-mode", "yes", "--loglevel", "warning",
			}, persist...), nil, dialReady(addr))
			systems[name] = &redisSystem{label: name, addr: addr, ttl: ttl}
		}
		if err != nil {
			return systems, procs, err
		}
		procs = append(procs, p)
		fmt.Fprintf(stderr, "started %s on %s\n", name, addr)
	}
	return systems, procs, nil
}

func absBin(path string) string {
	if strings.ContainsRune(path, filepath.Separator) {
		if abs, err := filepath.Abs(path); err == nil {
			return abs
		}
	}
	return path
}

func randomKey() string {
	var b [24]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func httpReady(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return errNotReady
		}
		return nil
	}
}
