package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/joho/godotenv"

	"github.com/octostore/octostore/impl"
	"github.com/octostore/octostore/impl/auth"
	"github.com/octostore/octostore/impl/cluster"
	"github.com/octostore/octostore/impl/lease"
)

// config is every setting of octostore-lock. Each is a flag with an environment
// fallback; a .env file in the working directory fills in what the environment lacks.
type config struct {
	BindAddr           string
	DatabaseURL        string
	AdminKey           string
	MaxLocksPerAccount int
	MaxLockSessions    int
	MaxBodyBytes       int64
	RateLimitRPS       float64
	ClientRateLimitRPS float64
	MaxWaitersPerAcct  int
	MaxWaiters         int
	MaxWait            time.Duration
	MaxConns           int
	MaxConnsPerClient  int
	MaxTokensPerAcct   int
	SessionIdleTimeout time.Duration
	MaxSessionsPerAcct int
	LogLevel           slog.Level
	LogFormat          string
	ShutdownTimeout    time.Duration
	EnvFile            string
	GitHub             auth.GitHubConfig
	MetricsAddr        string
	Pprof              bool
	AllowNewDatabase   bool
	TLSCertFile        string
	TLSKeyFile         string
	// ShowVersion is --version: print the version and exit, nothing else is read.
	ShowVersion bool
	Cluster     clusterConfig
}

// clusterConfig makes the server one node of a raft cluster; empty NodeID means a
// single node (the default).
type clusterConfig struct {
	NodeID, RaftAddr, AdvertiseHTTP string
	Peers                           []cluster.Peer
}

// setting describes one flag and the environment variable behind it.
type setting struct {
	flag, env, usage string
}

var settings = []setting{
	{"bind-addr", "BIND_ADDR", "address to listen on"},
	{"database-url", "DATABASE_URL", "path of the SQLite database file"},
	{"admin-key", "ADMIN_KEY", "enables the admin API (X-Admin-Key header); prefer the environment variable, flags show in ps"},
	{"max-locks-per-account", "MAX_LOCKS_PER_ACCOUNT", "active locks an account may hold"},
	{"max-lock-sessions-per-account", "MAX_LOCK_SESSIONS_PER_ACCOUNT", "lock sessions (POST /sessions) an account may have at a time; beyond it 409 session_limit_exceeded"},
	{"max-body-bytes", "MAX_BODY_BYTES", "largest accepted request body in bytes"},
	{"rate-limit-rps", "RATE_LIMIT_RPS", "requests per second per account, bursts of twice that; 0 = unlimited"},
	{"max-waiters-per-account", "MAX_WAITERS_PER_ACCOUNT", "waiting requests (blocking acquires, watches) one account may have in flight; beyond it 429 too_many_waiters; -1 = unbounded"},
	{"max-waiters", "MAX_WAITERS", "waiting requests the server holds in flight in all; -1 = unbounded"},
	{"max-connections", "MAX_CONNECTIONS", "connections open at once in all; beyond it a new one is answered 429 and closed; 0 = unbounded"},
	{"max-connections-per-client", "MAX_CONNECTIONS_PER_CLIENT", "connections open at once from one client IP (IPv6 per /64); 0 = unbounded"},
	{"max-wait-seconds", "MAX_WAIT_SECONDS", "longest a blocking acquire or watch waits, 1..60; a longer wait_seconds is shortened to it"},
	{"client-rate-limit-rps", "CLIENT_RATE_LIMIT_RPS", "requests per second per client IP (IPv6 per /64) without valid credentials (no token, a wrong token or admin key), bursts of twice that; 0 = unlimited"},
	{"max-tokens-per-account", "MAX_TOKENS_PER_ACCOUNT", "live tokens an account may have; beyond it token creation answers 409 token_limit_exceeded"},
	{"session-idle-timeout", "SESSION_IDLE_TIMEOUT", "a dashboard session unused for this long ends (sessions last 7 days at most)"},
	{"max-sessions-per-account", "MAX_SESSIONS_PER_ACCOUNT", "live dashboard sessions per account; a new sign-in ends the oldest beyond it"},
	{"log-level", "LOG_LEVEL", "debug, info, warn or error (debug logs every request)"},
	{"log-format", "LOG_FORMAT", "text or json"},
	{"shutdown-timeout", "SHUTDOWN_TIMEOUT", "how long in-flight requests may take to finish on SIGTERM"},
	{"github-client-id", "GITHUB_CLIENT_ID", "GitHub OAuth app's client id; enables sign-in with GitHub (/dashboard works without it, by pasted token)"},
	{"github-client-secret", "GITHUB_CLIENT_SECRET", "GitHub OAuth app's client secret; prefer the environment variable, flags show in ps"},
	{"github-redirect-uri", "GITHUB_REDIRECT_URI", "the OAuth app's exact callback URL, https://<your host>/auth/github/callback"},
	{"github-base-url", "GITHUB_BASE_URL", "GitHub's web root, serving /login/oauth/ (GitHub Enterprise: https://<host>)"},
	{"github-api-url", "GITHUB_API_URL", "GitHub's REST API root (GitHub Enterprise: https://<host>/api/v3)"},
	{"github-avatar-url", "GITHUB_AVATAR_URL", "the only place /dashboard/avatar fetches avatars from, https (GitHub Enterprise: https://avatars.<host>/ or https://<host>/avatars/)"},
	{"env-file", "ENV_FILE", "file of KEY=value lines read when present; real environment variables win"},
	{"metrics-addr", "METRICS_ADDR", "address for Prometheus /metrics, a listener apart from the API's; empty means off"},
	{"pprof", "PPROF", "also serve Go profiles at /debug/pprof/ on the metrics address"},
	{"cluster-node-id", "CLUSTER_NODE_ID", "this node's id in a cluster (e.g. n1); empty = a single node, no cluster"},
	{"cluster-raft-addr", "CLUSTER_RAFT_ADDR", "the address raft listens on and the other nodes reach, host:port (e.g. 10.0.0.1:7001)"},
	{"cluster-peers", "CLUSTER_PEERS", "the initial voters, id=host:port,… (e.g. n1=10.0.0.1:7001,n2=10.0.0.2:7001,n3=10.0.0.3:7001); bootstraps the cluster on a node's first start, ignored afterwards"},
	{"cluster-advertise-http", "CLUSTER_ADVERTISE_HTTP", "this node's client URL, where the others forward requests while it leads (default http://<bind-addr>)"},
	{"allow-new-database", "ALLOW_NEW_DATABASE", "start a new, empty database although the marker beside DATABASE_URL says one existed (see README, Backups and restore)"},
	{"tls-cert-file", "TLS_CERT_FILE", "PEM certificate chain: serve HTTPS (TLS 1.2 or later) on the bind address; reloaded on SIGHUP; needs TLS_KEY_FILE"},
	{"tls-key-file", "TLS_KEY_FILE", "PEM private key of TLS_CERT_FILE; reloaded with it on SIGHUP"},
}

// rawFlags holds the flag values that parseConfig checks or converts before they go
// into config.
type rawFlags struct {
	logLevel string
	maxLocks int
	maxBody  int64
	shutdown time.Duration
	peers    string
	// maxWaitSeconds caps wait_seconds.
	maxWaitSeconds int
}

// newFlagSet defines every flag, its default and its usage. The configuration reference
// (docs/configuration.md, octostore-lock config-reference) is generated from it.
func newFlagSet(stderr io.Writer) (*flag.FlagSet, *config, *rawFlags) {
	flags := flag.NewFlagSet("octostore-lock", flag.ContinueOnError)
	flags.SetOutput(stderr)
	var (
		c config
		r rawFlags
	)
	flags.StringVar(&c.BindAddr, "bind-addr", "127.0.0.1:3000", "")
	flags.StringVar(&c.DatabaseURL, "database-url", "./octostore.db", "")
	flags.StringVar(&c.AdminKey, "admin-key", "", "")
	flags.IntVar(&r.maxLocks, "max-locks-per-account", 100, "")
	flags.Int64Var(&r.maxBody, "max-body-bytes", 16384, "")
	flags.IntVar(&c.MaxLockSessions, "max-lock-sessions-per-account", lease.DefaultMaxSessions, "")
	flags.Float64Var(&c.RateLimitRPS, "rate-limit-rps", 1000, "")
	flags.Float64Var(&c.ClientRateLimitRPS, "client-rate-limit-rps", 100, "")
	flags.IntVar(&c.MaxWaitersPerAcct, "max-waiters-per-account", impl.DefaultMaxWaitersPerAccount, "")
	flags.IntVar(&c.MaxWaiters, "max-waiters", impl.DefaultMaxWaiters, "")
	flags.IntVar(&r.maxWaitSeconds, "max-wait-seconds", 60, "")
	flags.IntVar(&c.MaxConns, "max-connections", impl.DefaultMaxConnections, "")
	flags.IntVar(&c.MaxConnsPerClient, "max-connections-per-client", impl.DefaultMaxConnectionsPerClient, "")
	flags.IntVar(&c.MaxTokensPerAcct, "max-tokens-per-account", auth.DefaultMaxTokensPerAccount, "")
	flags.DurationVar(&c.SessionIdleTimeout, "session-idle-timeout", auth.DefaultSessionIdleTimeout, "")
	flags.IntVar(&c.MaxSessionsPerAcct, "max-sessions-per-account", auth.DefaultMaxSessionsPerAccount, "")
	flags.StringVar(&r.logLevel, "log-level", "info", "")
	flags.StringVar(&c.LogFormat, "log-format", "text", "")
	flags.DurationVar(&r.shutdown, "shutdown-timeout", 30*time.Second, "")
	flags.StringVar(&c.GitHub.ClientID, "github-client-id", "", "")
	flags.StringVar(&c.GitHub.ClientSecret, "github-client-secret", "", "")
	flags.StringVar(&c.GitHub.RedirectURL, "github-redirect-uri", "", "")
	flags.StringVar(&c.GitHub.BaseURL, "github-base-url", "https://github.com", "")
	flags.StringVar(&c.GitHub.APIURL, "github-api-url", "https://api.github.com", "")
	flags.StringVar(&c.GitHub.AvatarURL, "github-avatar-url", auth.DefaultAvatarURL, "")
	flags.StringVar(&c.EnvFile, "env-file", ".env", "")
	flags.StringVar(&c.MetricsAddr, "metrics-addr", "", "")
	flags.BoolVar(&c.Pprof, "pprof", false, "")
	flags.BoolVar(&c.AllowNewDatabase, "allow-new-database", false, "")
	flags.StringVar(&c.TLSCertFile, "tls-cert-file", "", "")
	flags.StringVar(&c.TLSKeyFile, "tls-key-file", "", "")
	flags.BoolVar(&c.ShowVersion, "version", false, "print the version, commit and build date, and exit")
	flags.StringVar(&c.Cluster.NodeID, "cluster-node-id", "", "")
	flags.StringVar(&c.Cluster.RaftAddr, "cluster-raft-addr", "", "")
	flags.StringVar(&r.peers, "cluster-peers", "", "")
	flags.StringVar(&c.Cluster.AdvertiseHTTP, "cluster-advertise-http", "", "")
	for _, s := range settings {
		f := flags.Lookup(s.flag)
		f.Usage = fmt.Sprintf("%s (env %s)", s.usage, s.env)
	}
	flags.Usage = func() {
		fmt.Fprintf(flags.Output(), "Usage: octostore-lock [flags]\n       octostore-lock healthcheck [--url URL] [--ready] [--timeout 5s]\n       octostore-lock config-reference   (print docs/configuration.md)\n\nOctoStore lock server. Every flag falls back to the environment variable named\nbeside it, then to a .env file in the working directory, then to its default.\nhealthcheck asks a running server's /health (or /ready) and exits 0 when it answers\n200, 1 otherwise (for container HEALTHCHECKs; see --help after it).\n\n")
		flags.PrintDefaults()
	}
	return flags, &c, &r
}

// parseConfig reads flags, then the environment, then the env file, then defaults.
func parseConfig(args []string, lookupEnv func(string) (string, bool), stderr io.Writer) (config, error) {
	flags, c, r := newFlagSet(stderr)
	if err := flags.Parse(args); err != nil {
		return config{}, err
	}
	if flags.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", flags.Arg(0))
	}
	if c.ShowVersion {
		return *c, nil
	}
	set := map[string]bool{}
	flags.Visit(func(f *flag.Flag) { set[f.Name] = true })

	// The default .env may be absent; one named explicitly must exist.
	envFile, named := c.EnvFile, set["env-file"]
	if v, ok := lookupEnv("ENV_FILE"); ok && !named {
		envFile, named = v, true
	}
	dotenv, err := godotenv.Read(envFile)
	if err != nil && (named || !errors.Is(err, fs.ErrNotExist)) {
		return config{}, fmt.Errorf("read env file %s: %w", envFile, err)
	}
	for _, s := range settings {
		if set[s.flag] || s.flag == "env-file" {
			continue
		}
		v, ok := lookupEnv(s.env)
		if !ok {
			if v, ok = dotenv[s.env]; !ok {
				continue
			}
		}
		if err := flags.Set(s.flag, v); err != nil {
			return config{}, fmt.Errorf("%s=%q: %w", s.env, v, err)
		}
	}
	if err := c.LogLevel.UnmarshalText([]byte(r.logLevel)); err != nil {
		return config{}, fmt.Errorf("log level %q: want debug, info, warn or error", r.logLevel)
	}
	switch {
	case r.maxLocks < 1:
		return config{}, fmt.Errorf("max locks per account %d: want at least 1", r.maxLocks)
	case c.MaxLockSessions < 1:
		return config{}, fmt.Errorf("max lock sessions per account %d: want at least 1", c.MaxLockSessions)
	case r.maxBody < 256:
		return config{}, fmt.Errorf("max body bytes %d: want at least 256", r.maxBody)
	case c.RateLimitRPS < 0 || math.IsNaN(c.RateLimitRPS) || math.IsInf(c.RateLimitRPS, 0):
		return config{}, fmt.Errorf("rate limit %v: want 0 (unlimited) or a positive number", c.RateLimitRPS)
	case c.MaxWaitersPerAcct == 0 || c.MaxWaitersPerAcct < -1 || c.MaxWaiters == 0 || c.MaxWaiters < -1:
		return config{}, fmt.Errorf("max waiters %d per account, %d in all: want a positive number or -1 (unbounded)", c.MaxWaitersPerAcct, c.MaxWaiters)
	case c.MaxConns < 0 || c.MaxConnsPerClient < 0:
		return config{}, fmt.Errorf("max connections %d, %d per client: want 0 (unbounded) or a positive number", c.MaxConns, c.MaxConnsPerClient)
	case c.ClientRateLimitRPS < 0 || math.IsNaN(c.ClientRateLimitRPS) || math.IsInf(c.ClientRateLimitRPS, 0):
		return config{}, fmt.Errorf("client rate limit %v: want 0 (unlimited) or a positive number", c.ClientRateLimitRPS)
	case r.maxWaitSeconds < 1 || r.maxWaitSeconds > 60:
		return config{}, fmt.Errorf("max wait seconds %d: want 1 to 60", r.maxWaitSeconds)
	case c.MaxTokensPerAcct < 1 || c.MaxSessionsPerAcct < 1:
		return config{}, fmt.Errorf("max tokens %d, max sessions %d per account: want at least 1", c.MaxTokensPerAcct, c.MaxSessionsPerAcct)
	case c.SessionIdleTimeout < time.Minute || c.SessionIdleTimeout > auth.SessionLifetime:
		return config{}, fmt.Errorf("session idle timeout %s: want from 1m to %s", c.SessionIdleTimeout, auth.SessionLifetime)
	case r.shutdown < 0:
		return config{}, fmt.Errorf("shutdown timeout %s: want a positive duration", r.shutdown)
	case c.LogFormat != "text" && c.LogFormat != "json":
		return config{}, fmt.Errorf("log format %q: want text or json", c.LogFormat)
	case strings.TrimSpace(c.DatabaseURL) == "":
		return config{}, errors.New("database url is empty")
	case c.AdminKey != "" && len(c.AdminKey) < 16:
		return config{}, errors.New("admin key is shorter than 16 characters")
	case c.Pprof && c.MetricsAddr == "":
		return config{}, errors.New("pprof needs a metrics address (METRICS_ADDR)")
	case c.MetricsAddr != "" && c.MetricsAddr == c.BindAddr && !strings.HasSuffix(c.BindAddr, ":0"):
		return config{}, errors.New("metrics address must differ from the bind address: /metrics is not part of the API")
	case (c.TLSCertFile == "") != (c.TLSKeyFile == ""):
		return config{}, errors.New("TLS needs both TLS_CERT_FILE and TLS_KEY_FILE")
	}
	if c.GitHub.ClientID != "" {
		// Checks the settings only; the server reads its state key from the database.
		check := c.GitHub
		check.StateKey = make([]byte, auth.StateKeySize)
		if _, err := auth.NewGitHub(check); err != nil {
			return config{}, err
		}
	} else if c.GitHub.ClientSecret != "" || c.GitHub.RedirectURL != "" {
		return config{}, errors.New("github client secret or redirect uri set without GITHUB_CLIENT_ID")
	}
	if err := c.Cluster.parse(r.peers, c.BindAddr, c.TLSCertFile != ""); err != nil {
		return config{}, err
	}
	c.MaxLocksPerAccount, c.MaxBodyBytes, c.ShutdownTimeout = r.maxLocks, r.maxBody, r.shutdown
	c.MaxWait = time.Duration(r.maxWaitSeconds) * time.Second
	return *c, nil
}

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// parse checks the cluster settings and fills in the defaults.
func (cc *clusterConfig) parse(peers, bindAddr string, tls bool) error {
	if cc.NodeID == "" {
		if cc.RaftAddr != "" || peers != "" || cc.AdvertiseHTTP != "" {
			return errors.New("cluster settings without CLUSTER_NODE_ID: set it, or none of them for a single node")
		}
		return nil
	}
	if !nodeIDPattern.MatchString(cc.NodeID) {
		return fmt.Errorf("cluster node id %q: want 1-64 of A-Z a-z 0-9 . _ -", cc.NodeID)
	}
	if _, _, err := net.SplitHostPort(cc.RaftAddr); err != nil {
		return fmt.Errorf("cluster raft address %q: want host:port", cc.RaftAddr)
	}
	seen := map[string]bool{}
	for _, p := range strings.Split(peers, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		id, addr, ok := strings.Cut(p, "=")
		if !ok || !nodeIDPattern.MatchString(id) {
			return fmt.Errorf("cluster peer %q: want id=host:port", p)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("cluster peer %q: want id=host:port", p)
		}
		if seen[id] {
			return fmt.Errorf("cluster peers: %s appears twice", id)
		}
		seen[id] = true
		cc.Peers = append(cc.Peers, cluster.Peer{ID: id, RaftAddr: addr})
	}
	if len(cc.Peers) > 0 && !seen[cc.NodeID] {
		return fmt.Errorf("cluster peers do not include this node (%s)", cc.NodeID)
	}
	if cc.AdvertiseHTTP == "" {
		host, _, err := net.SplitHostPort(bindAddr)
		if err != nil || host == "" || net.ParseIP(host) != nil && net.ParseIP(host).IsUnspecified() {
			return fmt.Errorf("bind address %q listens on every interface: set CLUSTER_ADVERTISE_HTTP to the URL the other nodes reach this one at", bindAddr)
		}
		if _, port, _ := net.SplitHostPort(bindAddr); port == "0" {
			return fmt.Errorf("bind address %q has no fixed port: set CLUSTER_ADVERTISE_HTTP, or a port", bindAddr)
		}
		cc.AdvertiseHTTP = "http://" + bindAddr
		if tls {
			cc.AdvertiseHTTP = "https://" + bindAddr
		}
	}
	u, err := url.Parse(cc.AdvertiseHTTP)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("cluster advertise http %q: want an http(s) URL", cc.AdvertiseHTTP)
	}
	return nil
}
