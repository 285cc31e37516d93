package impl

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/octostore/octostore/impl/lease"
	"github.com/octostore/octostore/impl/store"
)

// Metrics are the server's Prometheus collectors. Create them before the store (their
// StoreHooks go into store.Options), hand them to the server in Config, and serve
// Handler on a listener of its own, never on the API's.
//
// Waiters are not exported: the engine has no blocking acquire to count them yet.
type Metrics struct {
	reg *prometheus.Registry

	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	grants        prometheus.Counter
	expiries      prometheus.Counter
	commitRevs    prometheus.Histogram
	commitChanges prometheus.Histogram
	commitSeconds prometheus.Histogram
}

// NewMetrics returns the collectors, registered with a registry of their own together
// with the Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "octostore_http_requests_total",
		Help: "HTTP requests answered, by route (method and path pattern) and status code.",
	}, []string{"route", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "octostore_http_request_duration_seconds",
		Help:    "Time from the request's arrival to its handler's return, by route.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route"})
	m.grants = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "octostore_lock_grants_total",
		Help: "New leases granted (idempotent re-acquires not counted).",
	})
	m.expiries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "octostore_lock_expiries_total",
		Help: "Leases that ended because their TTL ran out.",
	})
	m.commitRevs = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "octostore_commit_batch_revisions",
		Help:    "Engine revisions written by one group commit.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
	})
	m.commitChanges = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "octostore_commit_batch_changes",
		Help:    "Lease changes written by one group commit.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
	})
	m.commitSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "octostore_commit_duration_seconds",
		Help:    "Duration of one group commit, its fsync included.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	})
	m.reg.MustRegister(m.requests, m.latency, m.grants, m.expiries, m.commitRevs, m.commitChanges, m.commitSeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// StoreHooks feed commit sizes and durations to the metrics.
func (m *Metrics) StoreHooks() *store.Hooks {
	return &store.Hooks{Committed: func(revisions, changes int, took time.Duration) {
		m.commitRevs.Observe(float64(revisions))
		m.commitChanges.Observe(float64(changes))
		m.commitSeconds.Observe(took.Seconds())
	}}
}

// watchEngine exports the number of held locks, read from the engine at scrape time.
func (m *Metrics) watchEngine(s *Server) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "octostore_locks_held",
		Help: "Live leases in the engine (expired ones count until the next command or sweep).",
	}, func() float64 {
		s.mu.Lock()
		defer s.mu.Unlock()
		return float64(s.engine.Len())
	}))
}

// applied counts what one engine command did: a grant when an Acquire produced the
// lease it proposed, an expiry for every lease deleted other than by its own release.
func (m *Metrics) applied(cmd lease.Command, res lease.Result) {
	acq, isAcquire := cmd.(lease.Acquire)
	if isAcquire && res.Outcome == lease.Acquired && res.Lease.ID == acq.LeaseID {
		m.grants.Inc()
	}
	rel, isRelease := cmd.(lease.Release)
	if _, dropped := cmd.(lease.DropAccount); dropped {
		return // releases by the operator, not expiries
	}
	for _, ch := range res.Changes {
		if ch.Kind == lease.DeleteLease && !(isRelease && ch.Lease.ID == rel.LeaseID) {
			m.expiries.Inc()
		}
	}
}

// request records one answered request.
func (m *Metrics) request(route string, status int, took time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(took.Seconds())
}

// route names a request's route for metrics: the pattern it matched ("POST
// /locks/{name}/acquire"), or "unmatched", so that label values stay few. The validator
// leaves the pattern of the operation it found in info; a request it did not route is
// matched against the ServeMux here.
func (s *Server) route(r *http.Request, info *requestInfo) string {
	if info != nil && info.pattern != "" {
		return info.pattern
	}
	if s.routes != nil {
		if _, pattern := s.routes.Handler(r); pattern != "" {
			return pattern
		}
	}
	return "unmatched"
}
