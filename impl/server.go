// Package impl is OctoStore's HTTP server: it fulfils the strict server interface
// generated from openapi.yaml with the lease engine, the SQLite store and the account
// service. Handlers are thin translators; errors.go is the one place that maps domain
// errors to HTTP.
package impl

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/octostore/octostore/gen"
	"github.com/octostore/octostore/impl/auth"
	"github.com/octostore/octostore/impl/failpoint"
	"github.com/octostore/octostore/impl/lease"
	"github.com/octostore/octostore/impl/store"
	"github.com/octostore/octostore/impl/version"
)

var _ gen.StrictServerInterface = (*Server)(nil)

// Clock gives the server's notion of now. Expiry runs on Instant.Mono.
type Clock interface {
	Now() lease.Instant
}

// SystemClock reads the process's monotonic and wall clocks.
type SystemClock struct{ origin time.Time }

// NewSystemClock returns a clock whose monotonic origin is now.
func NewSystemClock() *SystemClock { return &SystemClock{origin: time.Now()} }

// Now returns the current instant. Mono comes from Go's monotonic clock reading, so
// wall-clock steps (NTP, an operator's date command) never move it.
func (c *SystemClock) Now() lease.Instant {
	t := time.Now()
	return lease.Instant{Mono: t.Sub(c.origin), Wall: t.Round(0).UTC()}
}

// Config is the server's configuration. Zero values mean defaults.
type Config struct {
	// MaxLocksPerAccount caps an account's active locks (default 100).
	MaxLocksPerAccount int
	// MaxLockSessionsPerAccount caps an account's lock sessions (POST /sessions; default
	// lease.DefaultMaxSessions).
	MaxLockSessionsPerAccount int
	// AdminKey enables the admin API when non-empty.
	AdminKey string
	// MaxBodyBytes caps request bodies (default 16 KiB).
	MaxBodyBytes int64
	// MaxHeaderBytes caps a request's header fields (default DefaultMaxHeaderBytes);
	// larger ones get 431 payload_too_large as problem+json. The http.Server in front must
	// read at least this much: see HeaderReadLimit.
	MaxHeaderBytes int
	// SweepInterval is the longest the expiry sweeper sleeps (default 250 ms). It wakes
	// at the next lease's deadline anyway, so an expiry hands a lock to its next waiter
	// at once.
	SweepInterval time.Duration
	// Logger receives structured logs (default slog.Default()).
	Logger *slog.Logger
	// Clock is the time source (default NewSystemClock()).
	Clock Clock
	// RateLimitRPS caps each account's requests per second, with bursts of twice that;
	// 0 means no limit.
	RateLimitRPS float64
	// ClientRateLimitRPS caps, per client IP address (IPv6 per /64), the requests that
	// carry no valid credentials: unauthenticated ones, wrong tokens and wrong admin keys.
	// Bursts are twice that; 0 means no limit.
	ClientRateLimitRPS float64
	// MaxWaitersPerAccount and MaxWaiters bound the waiting requests (blocking acquires
	// and watches) in flight per account and in total; over a bound one is answered at
	// once with 429 too_many_waiters. Zero means the defaults; negative means no bound.
	MaxWaitersPerAccount, MaxWaiters int
	// MaxWait caps how long a blocking acquire or a watch waits, whatever its
	// wait_seconds (Consul's max_query_time); default and at most 60 s.
	MaxWait time.Duration
	// GitHub configures sign-in with GitHub and the dashboard; both are off when its
	// ClientID is empty.
	GitHub auth.GitHubConfig
	// Metrics, when set, are fed by the server (see NewMetrics).
	Metrics *Metrics
	// MaxTokensPerAccount bounds an account's live tokens (default
	// auth.DefaultMaxTokensPerAccount); past it, token creation answers 409
	// token_limit_exceeded.
	MaxTokensPerAccount int
	// Sessions bounds dashboard sessions: idle timeout and sessions per account.
	Sessions auth.SessionConfig
	// RecoveryInterval is how often a server whose storage refuses writes checks whether
	// it accepts them again (default 1 s).
	RecoveryInterval time.Duration
	// Commits is where lease changes become durable (default: the store's own group
	// committer, NewSQLiteCommits). A cluster passes its raft log here.
	Commits Commits
	// AuthStore and SessionStore keep accounts, tokens, GitHub links and sessions
	// (default: the store itself). A cluster passes its replicated ones.
	AuthStore    auth.Store
	SessionStore auth.SessionStore
	// Cluster, when set, makes this server a cluster node: it forwards requests to the
	// leader while it does not lead, and serves the /admin/cluster routes.
	Cluster Cluster
	// Version is the release version reported by /health and in the Server header
	// (default: the running binary's, see package version).
	Version string
}

// Server serves the OctoStore API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	store   *store.Store
	commits Commits // the commit path of lease changes (Config.Commits)
	auth    *auth.Service
	limiter *accountLimiter // nil when unlimited
	// ipLimiter throttles requests without valid credentials per client address; nil
	// when unlimited.
	ipLimiter      *accountLimiter
	failedAdmin    atomic.Int64  // wrong admin keys not logged yet
	failedAdminLog *rate.Limiter // paces the warnings about them
	waiters        *waiterGate   // nil when unbounded
	// signin is GitHub sign-in and the dashboard (signin.go).
	signin signIn

	routes *http.ServeMux // the API's routes, to label metrics; set by Handler
	// specRouter finds the spec's operations, to name the allowed methods in a 405's
	// Allow header; set by Handler.
	specRouter *specRouter
	// serverHeaderValue is the Server header of every answer, octostore/<version>, as
	// the header map holds it (shared by every response, never written into).
	serverHeaderValue []string

	mu     sync.Mutex // serialises the engine and the order of submitted revisions
	engine *lease.Engine
	co     coordination   // waiting acquires and watches; guarded by mu
	prefix prefixWatchers // prefix watches (prefix.go); guarded by mu
	// rebuilt is closed, and replaced, whenever the engine is rebuilt after a storage
	// failure (recovery.go); guarded by mu.
	rebuilt chan struct{}
}

// New restores the engine from st and returns a server. Start Run before serving.
func New(ctx context.Context, st *store.Store, cfg Config) (*Server, error) {
	if cfg.MaxLocksPerAccount <= 0 {
		cfg.MaxLocksPerAccount = 100
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 16 << 10
	}
	if cfg.MaxWait <= 0 || cfg.MaxWait > maxWait {
		cfg.MaxWait = maxWait
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = 250 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = NewSystemClock()
	}
	if cfg.RecoveryInterval <= 0 {
		cfg.RecoveryInterval = time.Second
	}
	if cfg.Version == "" {
		cfg.Version = version.Get().Version
	}
	if cfg.Commits == nil {
		cfg.Commits = NewSQLiteCommits(st)
	}
	state, err := cfg.Commits.State(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.AuthStore == nil {
		cfg.AuthStore = st
	}
	if cfg.SessionStore == nil {
		cfg.SessionStore = st
	}
	svc, err := auth.NewService(ctx, cfg.AuthStore, func() time.Time { return cfg.Clock.Now().Wall }, cfg.MaxTokensPerAccount)
	if err != nil {
		return nil, err
	}
	signin, err := newSignIn(ctx, cfg.GitHub, svc, st, cfg.SessionStore, cfg.Clock, cfg.Sessions, cfg.AdminKey)
	if err != nil {
		return nil, err
	}
	now := cfg.Clock.Now()
	engine := restoreEngine(cfg, state, fencingFloor(state.Reserved, now), now)
	cfg.Logger.Info("state restored", "leases", len(state.Leases), "sessions", len(state.Sessions), "lock_delays", len(state.Delays),
		"fencing_from", engine.LastToken(), "stored_high_water_mark", state.Reserved)
	s := &Server{cfg: cfg, log: cfg.Logger, store: st, commits: cfg.Commits, auth: svc, signin: signin, engine: engine, rebuilt: make(chan struct{}), serverHeaderValue: []string{serverHeader(cfg.Version)}}
	s.co.init()
	if cfg.Metrics != nil {
		cfg.Metrics.watchEngine(s)
	}
	if cfg.RateLimitRPS > 0 {
		s.limiter = newAccountLimiter(cfg.RateLimitRPS)
	}
	if cfg.ClientRateLimitRPS > 0 {
		s.ipLimiter = newAccountLimiter(cfg.ClientRateLimitRPS)
	}
	s.failedAdminLog = rate.NewLimiter(1, 1)
	if cfg.MaxWaitersPerAccount >= 0 && cfg.MaxWaiters >= 0 {
		s.waiters = newWaiterGate(cmp.Or(cfg.MaxWaitersPerAccount, DefaultMaxWaitersPerAccount), cmp.Or(cfg.MaxWaiters, DefaultMaxWaiters))
	}
	return s, nil
}

// Run commits lease changes and sweeps expiries until ctx ends; then it ends every
// waiting request (Drain), commits what was accepted and returns. Stop serving requests
// before cancelling ctx.
func (s *Server) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.commits.Run(gctx) })
	g.Go(func() error { s.sweep(gctx); return nil })
	g.Go(func() error { s.recoverStorage(gctx); return nil })
	g.Go(func() error {
		s.auth.Run(gctx, func(err error) { s.log.Warn("record tokens' last use", "err", err) })
		return nil
	})
	g.Go(func() error { <-gctx.Done(); s.Drain(); return nil })
	return g.Wait()
}

// sweep expires leases as their deadlines pass: it sleeps until the engine's next
// deadline (at most SweepInterval), and is woken early when a command brings that
// deadline forward.
func (s *Server) sweep(ctx context.Context) {
	fire := make(chan struct{}, 1)
	for {
		s.mu.Lock()
		now := s.cfg.Clock.Now()
		wake := now.Mono + s.cfg.SweepInterval
		if d, ok := s.engine.NextDeadline(); ok && d < wake {
			wake = d
		}
		s.co.armed = wake
		s.mu.Unlock()
		stop := s.afterFunc(wake-now.Mono, func() {
			select {
			case fire <- struct{}{}:
			default:
			}
		})
		select {
		case <-ctx.Done():
			stop()
			return
		case <-s.co.rearm:
			stop()
			continue
		case <-fire:
		}
		res, err := s.apply(ctx, lease.Sweep{})
		if err == nil && len(res.Changes) > 0 {
			failpoint.Hit("sweep/committed")
		}
		if errors.Is(err, ErrUnavailable) {
			// Expiries wait for the storage (recoverStorage rebuilds the engine).
			select {
			case <-ctx.Done():
				return
			case <-s.recovered():
			}
			continue
		}
		if err != nil && !errors.Is(err, ErrClosed) && ctx.Err() == nil {
			s.log.Error("expiry sweep", "err", err)
		}
	}
}

// ReloadTokens reloads the tokens the server authenticates from its store: a cluster
// node calls it after another node's token change reached its store.
func (s *Server) ReloadTokens(ctx context.Context) error { return s.auth.Reload(ctx) }

// Bootstrap gives a newcomer a working token: when neither the admin API nor GitHub
// sign-in is on and no account exists, it creates the account "local" and returns its
// token.
func (s *Server) Bootstrap(ctx context.Context) (auth.Issued, bool, error) {
	if s.cfg.AdminKey != "" || s.signin.configured() {
		return auth.Issued{}, false, nil
	}
	accounts, err := s.auth.Accounts(ctx)
	if err != nil || len(accounts) > 0 {
		return auth.Issued{}, false, err
	}
	_, issued, err := s.auth.CreateAccount(ctx, "local", "")
	if err != nil {
		return auth.Issued{}, false, fmt.Errorf("create local account: %w", err)
	}
	return issued, true, nil
}

// apply runs one command on the engine and waits until the state it reports is durable.
func (s *Server) apply(ctx context.Context, cmd lease.Command) (lease.Result, error) {
	if err := s.commits.Writable(); err != nil {
		return lease.Result{}, err
	}
	s.mu.Lock()
	res, err := s.applyLocked(cmd)
	s.mu.Unlock()
	return s.settle(ctx, res, err)
}

// settle finishes what applyLocked started, after s.mu was released: it waits until the
// revision res was decided on is durable, then returns applyLocked's answer. Every
// answer of a command goes through here, so none is reported before it is durable.
func (s *Server) settle(ctx context.Context, res lease.Result, err error) (lease.Result, error) {
	if errors.Is(err, ErrClosed) || errors.Is(err, ErrUnavailable) {
		return lease.Result{}, err
	}
	failpoint.Hit("apply/submitted")
	if werr := s.commits.WaitDurable(ctx, res.Rev); werr != nil {
		return lease.Result{}, werr
	}
	failpoint.Hit("apply/durable")
	return res, err
}

// applyLocked runs cmd on the engine, queues its changes for the group commit, and hands
// its grants to waiting requests (which answer once the grant is durable). s.mu is held.
func (s *Server) applyLocked(cmd lease.Command) (lease.Result, error) {
	// A request authenticated just before its token was revoked (or its account deleted)
	// takes no lock after the revocation: the revoker's DropAccount runs under s.mu too.
	if a, ok := cmd.(lease.Acquire); ok && !s.auth.Active(a.Holder.TokenID) {
		return lease.Result{}, auth.ErrUnauthorized
	}
	res, err := s.engine.Apply(cmd, s.cfg.Clock.Now())
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.applied(cmd, res)
	}
	var serr error
	if len(res.Changes) > 0 {
		serr = s.commits.Submit(res.Rev, res.Changes)
	}
	s.dispatch(res)
	if serr != nil {
		return lease.Result{}, serr
	}
	return res, err
}

// read sweeps (the caller's account first), runs fn on the engine and waits until the revision fn's answer depends
// on is durable, so a reader never sees state that a crash could take back.
func (s *Server) read(ctx context.Context, fn func(*lease.Engine) uint64) error {
	s.mu.Lock()
	if err := s.sweepLocked(lease.Sweep{Account: principal(ctx).AccountID}); err != nil {
		s.mu.Unlock()
		return err
	}
	rev := fn(s.engine)
	s.mu.Unlock()
	return s.durableRead(ctx, rev)
}

// durableRead waits until the revision a read's answer depends on is durable and, in a
// cluster, until this node has confirmed it still leads: a deposed leader answers no
// read from state a newer leader may have changed.
func (s *Server) durableRead(ctx context.Context, rev uint64) error {
	if err := s.commits.WaitDurable(ctx, rev); err != nil {
		return err
	}
	return s.commits.Verify(ctx)
}

// sweepLocked expires what is due before a read. While the storage refuses writes the
// expiries cannot be persisted and the read goes on: what it reports depends on
// revisions that are durable, or it fails when they are not. s.mu is held.
func (s *Server) sweepLocked(sw lease.Sweep) error {
	if s.commits.Writable() != nil {
		return nil
	}
	_, err := s.applyLocked(sw)
	if errors.Is(err, ErrUnavailable) {
		return nil
	}
	return err
}

// serverHeader is octostore/<version>. A version that is not an HTTP token (the
// "(devel)" of a build that is not a release) becomes "devel".
func serverHeader(v string) string {
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return "octostore/devel"
		}
	}
	return "octostore/" + v
}
