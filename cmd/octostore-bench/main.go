// Command octostore-bench measures an OctoStore server: a closed-loop load of concurrent
// clients running one or more scenarios, reporting throughput, latency percentiles (HDR
// histogram), errors by code and a safety check (no double grant, no fencing-token
// regression).
//
//	octostore-bench --admin-key "$ADMIN_KEY" --concurrency 64 --duration 10s --scenario cycle
//	octostore-bench --token "$OCTOSTORE_TOKEN" --scenario all --json
//	octostore-bench serve-noop --addr 127.0.0.1:3099   # the ceiling to compare with
//
// Run with --help for every flag.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/octostore/octostore/cmd/octostore-bench/bench"
	"github.com/octostore/octostore/impl/noop"
	"github.com/octostore/octostore/impl/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// options are octostore-bench's flags.
type options struct {
	url, token, adminKey string
	concurrency          int
	duration, warmup     time.Duration
	ttl, wait            time.Duration
	scenarios            []string
	json, quiet, version bool
}

// seconds is a duration flag that also takes a plain number of seconds ("30").
type seconds struct{ d *time.Duration }

func (s seconds) String() string {
	if s.d == nil {
		return ""
	}
	return s.d.String()
}

func (s seconds) Set(v string) error {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		*s.d = time.Duration(n * float64(time.Second))
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return errors.New("want a duration such as 30s or a number of seconds")
	}
	*s.d = d
	return nil
}

func env(lookup func(string) (string, bool), names ...string) string {
	for _, n := range names {
		if v, ok := lookup(n); ok && v != "" {
			return v
		}
	}
	return ""
}

func parse(args []string, lookup func(string) (string, bool), stderr io.Writer) (options, error) {
	o := options{duration: 10 * time.Second, warmup: time.Second, ttl: time.Minute, wait: 10 * time.Second}
	fs := flag.NewFlagSet("octostore-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var scenario string
	fs.StringVar(&o.url, "url", env(lookup, "OCTOSTORE_URL"), "server base URL (env OCTOSTORE_URL; default http://127.0.0.1:3000); a cluster's nodes as a comma-separated list spread the clients over them")
	fs.StringVar(&o.token, "token", "", "bearer token every client uses, told apart by owner (env OCTOSTORE_TOKEN)")
	fs.StringVar(&o.adminKey, "admin-key", "", "admin key: create fresh accounts and a token per client, so the per-account lock limit never caps a run (env ADMIN_KEY)")
	fs.IntVar(&o.concurrency, "concurrency", 16, "concurrent clients, each with one request in flight")
	fs.Var(seconds{&o.duration}, "duration", "measured time per scenario (30s, or 30 for seconds)")
	fs.Var(seconds{&o.warmup}, "warmup", "unmeasured time before each measurement (0 for none)")
	fs.Var(seconds{&o.ttl}, "ttl", "lease TTL the clients ask for; keep it longer than a run")
	fs.Var(seconds{&o.wait}, "wait", "handoff: how long a blocking acquire waits (the request's wait_seconds, at most 60s)")
	fs.StringVar(&scenario, "scenario", "cycle", "scenario, a comma-separated list, or all")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON (an array) instead of a table")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress line on stderr")
	fs.BoolVar(&o.version, "version", false, "print the version, commit and build date, and exit")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprint(w, "Usage: octostore-bench [flags]\n       octostore-bench serve-noop [--addr 127.0.0.1:3099]\n\n"+
			"Closed-loop load on an OctoStore server. Prints ops/s, grants/s, latency percentiles\n"+
			"(p50/p90/p99/p99.9, HDR histogram), errors by code and a safety check; exits 1 when\n"+
			"the safety check fails. serve-noop serves the API's routes with handlers that do\n"+
			"nothing: the ceiling of this machine's HTTP stack, to measure against.\n\nScenarios:\n")
		for _, s := range bench.Scenarios {
			fmt.Fprintf(w, "  %-10s %s\n", s.Name, s.About)
		}
		fmt.Fprint(w, "\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.version {
		return o, nil
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["token"] {
		o.token = env(lookup, "OCTOSTORE_TOKEN")
	}
	if !set["admin-key"] {
		o.adminKey = env(lookup, "ADMIN_KEY")
	}
	if o.url == "" {
		o.url = "http://127.0.0.1:3000"
	}
	if scenario == "all" {
		for _, s := range bench.Scenarios {
			o.scenarios = append(o.scenarios, s.Name)
		}
	} else {
		for _, name := range strings.Split(scenario, ",") {
			name = strings.TrimSpace(name)
			if _, ok := bench.LookupScenario(name); !ok {
				return o, fmt.Errorf("unknown scenario %q (see --help)", name)
			}
			o.scenarios = append(o.scenarios, name)
		}
	}
	switch {
	case o.concurrency < 1 || o.concurrency > 10000:
		return o, fmt.Errorf("concurrency %d: want 1..10000", o.concurrency)
	case o.duration <= 0:
		return o, errors.New("duration: want more than 0")
	case o.warmup < 0:
		return o, errors.New("warmup: want 0 or more")
	case o.ttl < time.Second || o.ttl > time.Hour:
		return o, errors.New("ttl: want 1s..1h")
	case o.wait < time.Second || o.wait > time.Minute:
		return o, errors.New("wait: want 1s..60s")
	case o.token == "" && o.adminKey == "":
		return o, errors.New("give --token (or OCTOSTORE_TOKEN) or --admin-key (or ADMIN_KEY)")
	}
	return o, nil
}

func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "serve-noop" {
		return serveNoop(ctx, args[1:], stdout, stderr)
	}
	o, err := parse(args, lookup, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "octostore-bench: %v\n", err)
		return 2
	}
	if o.version {
		fmt.Fprintln(stdout, version.Get().Line("octostore-bench"))
		return 0
	}
	sys := &bench.OctoStore{URL: o.url, Token: o.token, AdminKey: o.adminKey, TTL: o.ttl}
	var progress io.Writer
	tty := false
	if !o.quiet {
		progress = stderr
		if f, ok := stderr.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				tty = true
			}
		}
	}
	var results []bench.Result
	failed := false
	for _, name := range o.scenarios {
		res, err := bench.Run(ctx, sys, bench.Config{
			Scenario: name, Concurrency: o.concurrency, Duration: o.duration, Warmup: warmupOrNone(o.warmup),
			Wait: o.wait, Progress: progress, ProgressTTY: tty,
		})
		if err != nil {
			fmt.Fprintf(stderr, "octostore-bench: %s: %v\n", name, err)
			return 1
		}
		failed = failed || !res.Safety.OK
		results = append(results, res)
		if ctx.Err() != nil {
			break
		}
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return 1
		}
	} else if err := bench.WriteTable(stdout, results); err != nil {
		return 1
	}
	if failed {
		fmt.Fprintln(stderr, "octostore-bench: SAFETY CHECK FAILED: a double grant or a fencing-token regression was seen")
		return 1
	}
	return 0
}

// warmupOrNone maps the flag's 0 ("none") to the Config's negative value.
func warmupOrNone(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// serveNoop serves the no-op handler until ctx ends.
func serveNoop(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("octostore-bench serve-noop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:3099", "address to listen on")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "octostore-bench: %v\n", err)
		return 1
	}
	srv := &http.Server{Handler: noop.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	fmt.Fprintf(stdout, "no-op API on http://%s (every request answers a constant)\n", ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "octostore-bench: %v\n", err)
		return 1
	}
	return 0
}
