// Command octostore-lock is the OctoStore lock server: the whole API in one binary,
// its state in one SQLite file.
//
// With no configuration it listens on 127.0.0.1:3000, keeps its data in ./octostore.db
// and, on the first run, creates an account named "local" and prints its token to stderr
// as one line, "export OCTOSTORE_TOKEN=…". Logs go to stdout. Run with --help for every
// setting.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/octostore/octostore/impl"
	"github.com/octostore/octostore/impl/auth"
	"github.com/octostore/octostore/impl/cluster"
	"github.com/octostore/octostore/impl/store"
	"github.com/octostore/octostore/impl/tlscert"
	"github.com/octostore/octostore/impl/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr))
}

// run starts the server and blocks until ctx ends (a signal) or it fails. It returns the
// process exit code: 0 after a clean shutdown, 1 on failure, 2 for bad configuration.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(ctx, args[1:], lookupEnv, stdout, stderr)
	}
	if len(args) == 1 && args[0] == "config-reference" {
		if err := writeConfigReference(stdout); err != nil {
			fmt.Fprintf(stderr, "octostore-lock: %v\n", err)
			return 1
		}
		return 0
	}
	cfg, err := parseConfig(args, lookupEnv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "octostore-lock: %v\n", err)
		return 2
	}
	if cfg.ShowVersion {
		fmt.Fprintln(stdout, version.Get().Line("octostore-lock"))
		return 0
	}
	log := newLogger(cfg, stdout)
	tuneGC()
	if err := serve(ctx, cfg, log, stderr); err != nil {
		log.Error("server stopped", "err", err)
		fmt.Fprintf(stderr, "octostore-lock: %v\n", err)
		return 1
	}
	return 0
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serve(ctx context.Context, cfg config, log *slog.Logger, stderr io.Writer) error {
	var (
		metrics   *impl.Metrics
		storeOpts store.Options
	)
	if cfg.MetricsAddr != "" {
		metrics = impl.NewMetrics()
		storeOpts.Hooks = metrics.StoreHooks()
	}
	storeOpts.AllowNew = cfg.AllowNewDatabase
	// A bad certificate is refused before the database is touched.
	var certs *tlscert.Reloader
	if cfg.TLSCertFile != "" {
		var err error
		if certs, err = tlscert.Load(cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
			return err
		}
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, storeOpts)
	if err != nil {
		return err
	}
	defer st.Close()

	icfg := impl.Config{
		MaxLocksPerAccount:        cfg.MaxLocksPerAccount,
		AdminKey:                  cfg.AdminKey,
		MaxBodyBytes:              cfg.MaxBodyBytes,
		RateLimitRPS:              cfg.RateLimitRPS,
		ClientRateLimitRPS:        cfg.ClientRateLimitRPS,
		MaxWaitersPerAccount:      cfg.MaxWaitersPerAcct,
		MaxWaiters:                cfg.MaxWaiters,
		MaxWait:                   cfg.MaxWait,
		MaxTokensPerAccount:       cfg.MaxTokensPerAcct,
		MaxLockSessionsPerAccount: cfg.MaxLockSessions,
		Sessions:                  auth.SessionConfig{IdleTimeout: cfg.SessionIdleTimeout, MaxPerAccount: cfg.MaxSessionsPerAcct},
		Logger:                    log,
		GitHub:                    cfg.GitHub,
		Metrics:                   metrics,
		Version:                   version.Get().Version,
	}
	var node *cluster.Node
	if cfg.Cluster.NodeID != "" {
		node, err = cluster.Open(ctx, st, cluster.Config{
			NodeID:   cfg.Cluster.NodeID,
			RaftAddr: cfg.Cluster.RaftAddr,
			HTTPURL:  cfg.Cluster.AdvertiseHTTP,
			Dir:      st.Path() + ".raft",
			Peers:    cfg.Cluster.Peers,
			Logger:   log,
			RaftLog:  stderr,
		})
		if err != nil {
			return err
		}
		defer node.Close() // after Run returned, before the store closes
		icfg.Commits, icfg.Cluster = node, node
		icfg.AuthStore, icfg.SessionStore = node.AuthStore(), node.AuthStore()
		// A node that wins an election serves as soon as it rebuilt its engine.
		icfg.RecoveryInterval = 10 * time.Millisecond
	}
	srv, err := impl.New(ctx, st, icfg)
	if err != nil {
		return err
	}
	if node != nil {
		node.OnTokensChanged(func() {
			if err := srv.ReloadTokens(context.WithoutCancel(ctx)); err != nil {
				log.Error("reload tokens", "err", err)
			}
		})
		if err := srv.ReloadTokens(ctx); err != nil {
			return err
		}
	}
	handler, err := srv.Handler()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.BindAddr)
	if err != nil {
		return err
	}
	var metricsLn net.Listener
	if metrics != nil {
		if metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("metrics listener: %w", err)
		}
	}
	if node == nil {
		issued, created, err := srv.Bootstrap(ctx)
		if err != nil {
			ln.Close()
			if metricsLn != nil {
				metricsLn.Close()
			}
			return err
		}
		if created {
			fmt.Fprintf(stderr, "export OCTOSTORE_TOKEN=%s\n", issued.Token)
		}
	}

	// The committer and sweeper outlive the HTTP server: in-flight requests wait for
	// their commits while the server drains.
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	bgDone := make(chan error, 1)
	go func() { bgDone <- srv.Run(bgCtx) }()
	if node != nil {
		go bootstrapCluster(bgCtx, srv, node, log, stderr)
	}

	httpServer := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Above the longest wait a request may ask for (60 s, blocking acquire and
		// watch) plus its commit.
		WriteTimeout: 90 * time.Second,
		// Short, so idle keep-alive connections do not pile up against the connection
		// bounds.
		IdleTimeout: 30 * time.Second,
		// Above the handler's own bound (impl.DefaultMaxHeaderBytes), so headers a little
		// over it get a 431 problem+json from the handler rather than net/http's text/plain.
		MaxHeaderBytes: impl.HeaderReadLimit,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Shutdown waits for active requests: end the long-polls at once instead of after
	// their wait.
	httpServer.RegisterOnShutdown(srv.Drain)
	serveDone := make(chan error, 1)
	limited := impl.LimitConnections(ln, cfg.MaxConns, cfg.MaxConnsPerClient)
	if certs != nil {
		httpServer.TLSConfig = certs.Config()
		go func() { serveDone <- httpServer.ServeTLS(limited, "", "") }()
	} else {
		go func() { serveDone <- httpServer.Serve(limited) }()
	}
	stopReload := reloadOnSIGHUP(certs, log)
	defer stopReload()
	info := version.Get()
	log.Info("listening", "addr", ln.Addr().String(), "tls", certs != nil, "database", st.Path(), "admin_api", cfg.AdminKey != "", "github_signin", cfg.GitHub.ClientID != "", "cluster_node", cfg.Cluster.NodeID, "version", info.Version, "commit", info.Commit)
	if metricsLn != nil {
		metricsServer := &http.Server{
			Handler:           metricsHandler(metrics, cfg.Pprof),
			ReadHeaderTimeout: 5 * time.Second,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		go metricsServer.Serve(metricsLn)
		defer metricsServer.Close()
		log.Info("metrics", "addr", metricsLn.Addr().String(), "pprof", cfg.Pprof)
	}

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-serveDone:
		runErr = fmt.Errorf("http server: %w", err)
	case err := <-bgDone:
		runErr = err
		bgDone <- err // Run has returned; let the wait below see it
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		log.Warn("in-flight requests did not finish in time", "err", err)
		httpServer.Close()
	}
	stopBackground()
	if err := <-bgDone; err != nil && runErr == nil {
		runErr = err
	}
	if runErr == nil {
		log.Info("stopped cleanly")
	}
	return runErr
}

// bootstrapCluster prints the zero-config token once per cluster: on the node that leads
// while no account exists (the first leader). It ends when that is decided.
func bootstrapCluster(ctx context.Context, srv *impl.Server, node *cluster.Node, log *slog.Logger, stderr io.Writer) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if accounts, err := node.AuthStore().Accounts(ctx); err == nil && len(accounts) > 0 {
			return // created already, here or on another node, or never needed
		}
		if node.Writable() != nil {
			continue
		}
		issued, created, err := srv.Bootstrap(ctx)
		if err != nil {
			log.Warn("create the local account", "err", err)
			continue
		}
		if created {
			fmt.Fprintf(stderr, "export OCTOSTORE_TOKEN=%s\n", issued.Token)
		}
		return
	}
}

// metricsHandler serves /metrics and, when asked, the Go profiles; it runs on its own
// listener so that the API's routes stay exactly those of openapi.yaml.
func metricsHandler(m *impl.Metrics, profiles bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	if profiles {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}
