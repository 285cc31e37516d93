package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Scenario describes one workload.
type Scenario struct {
	Name string
	// About is the one-line description shown by --help and in reports.
	About string
	// Shared says the clients contend for names in one namespace.
	Shared bool
	// Holder says the run needs one extra client that holds a lock for the others.
	Holder bool
}

// Scenarios are the workloads octostore-bench runs, in report order.
var Scenarios = []Scenario{
	{Name: "cycle", About: "acquire then release, each client its own lock name; one op = the pair"},
	{Name: "contended", Shared: true, About: "every client tries one name; one op = a try (plus the release when it won)"},
	{Name: "renew", About: "each client renews its own lease; one op = a renew"},
	{Name: "status", Shared: true, Holder: true, About: "status of a held lock, a request that changes nothing; one op = a read"},
	{Name: "tryheld", Shared: true, Holder: true, About: "try-acquire of a lock another client holds, answered \"held\"; one op = a try"},
	{Name: "handoff", Shared: true, About: "every client waits on one name (blocking acquire) and releases at once; one op = a grant, latency = release sent to next grant received"},
	{Name: "mixed", About: "per client: 50% status, 25% renew, 25% acquire+release cycle of its own locks; one op = one of those"},
}

// LookupScenario returns the scenario called name.
func LookupScenario(name string) (Scenario, bool) {
	for _, s := range Scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// Config is one run. Zero values mean defaults.
type Config struct {
	Scenario    string
	Concurrency int           // clients, each a goroutine with one request in flight (default 16)
	Duration    time.Duration // measured time (default 10s)
	Warmup      time.Duration // unmeasured time before it (default 1s; negative means none)
	Wait        time.Duration // handoff: how long a blocking acquire waits (default 10s)
	Prefix      string        // lock names start with it (default a fresh "bench-…")
	Seed        uint64        // mixed: the operation mix's random seed
	// Progress, when set, gets a progress line every second; with ProgressTTY the line
	// is redrawn in place.
	Progress    io.Writer
	ProgressTTY bool
}

// Result is what one run measured.
type Result struct {
	System       string           `json:"system"`
	Scenario     string           `json:"scenario"`
	Concurrency  int              `json:"concurrency"`
	Seconds      float64          `json:"seconds"`
	Ops          int64            `json:"ops"`
	OpsPerSec    float64          `json:"ops_per_sec"`
	Grants       int64            `json:"grants"`
	GrantsPerSec float64          `json:"grants_per_sec"`
	Held         int64            `json:"held"`
	LatencyMs    Latency          `json:"latency_ms"`
	Errors       map[string]int64 `json:"errors"`
	Safety       Safety           `json:"safety"`
	Unsupported  string           `json:"unsupported,omitempty"`
}

// Latency is a latency distribution in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// ErrorCount is the total of Errors.
func (r Result) ErrorCount() int64 {
	var n int64
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// Run runs one scenario against sys and returns what it measured. It fails only when
// the run could not start (bad config, clients could not be set up); request errors
// during the run are counted in Result.Errors.
func Run(ctx context.Context, sys System, cfg Config) (Result, error) {
	sc, ok := LookupScenario(cfg.Scenario)
	if !ok {
		return Result{}, fmt.Errorf("unknown scenario %q", cfg.Scenario)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 16
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Warmup == 0 {
		cfg.Warmup = time.Second
	}
	cfg.Warmup = max(cfg.Warmup, 0)
	if cfg.Wait <= 0 {
		cfg.Wait = 10 * time.Second
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	r := &run{cfg: cfg, sc: sc, check: newChecker()}
	res := Result{System: sys.Name(), Scenario: sc.Name, Concurrency: cfg.Concurrency, Errors: map[string]int64{}}

	n := cfg.Concurrency
	if sc.Holder {
		n++
	}
	clients, err := sys.Clients(ctx, n, sc.Shared)
	if err != nil {
		return res, fmt.Errorf("set up %d clients: %w", n, err)
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	if sc.Holder {
		r.holder, clients = clients[0], clients[1:]
	}
	r.workers = make([]*worker, len(clients))
	for i, c := range clients {
		r.workers[i] = &worker{id: i, c: c, run: r, hist: newHistogram(), errors: map[string]int64{},
			rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i)))}
	}
	if err := r.setup(ctx); err != nil {
		if errors.Is(err, ErrUnsupported) {
			res.Unsupported = strings.TrimPrefix(err.Error(), "blocking acquire: ")
			res.Safety.OK = true // nothing ran, nothing to doubt
			return res, nil
		}
		return res, err
	}
	defer r.teardown(context.WithoutCancel(ctx))

	r.execute(ctx)

	hist := newHistogram()
	for _, w := range r.workers {
		hist.Merge(w.hist)
		res.Grants += w.grants
		res.Held += w.held
		for code, c := range w.errors {
			res.Errors[code] += c
		}
	}
	res.Seconds = r.measured.Seconds()
	res.Ops = hist.TotalCount()
	res.OpsPerSec = float64(res.Ops) / res.Seconds
	res.GrantsPerSec = float64(res.Grants) / res.Seconds
	res.LatencyMs = latencyOf(hist)
	res.Safety = r.check.safety()
	return res, nil
}

const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

type run struct {
	cfg      Config
	sc       Scenario
	check    *checker
	holder   Client
	held     Grant // the holder's lease
	workers  []*worker
	phase    atomic.Int32
	measured time.Duration
	ops      atomic.Int64 // for the progress line
	errs     atomic.Int64

	// handoff: when the last holder started its release.
	released atomic.Int64
}

type worker struct {
	id     int
	c      Client
	run    *run
	hist   *hdrhistogram.Histogram
	errors map[string]int64
	grants int64
	held   int64
	rng    *rand.Rand

	// outcomes of the operation in progress, added to grants and held if it counts
	opGrants, opHeld int64

	// the worker's own leases, by lock name
	own map[string]string
}

func (r *run) name(kind string, worker int) string {
	if worker < 0 {
		return r.cfg.Prefix + "-" + kind
	}
	return r.cfg.Prefix + "-" + kind + strconv.Itoa(worker)
}

// setup takes the locks a scenario starts from.
func (r *run) setup(ctx context.Context) error {
	switch r.sc.Name {
	case "status", "tryheld":
		g, err := r.holder.Acquire(ctx, r.name("held", -1))
		if err != nil {
			return fmt.Errorf("holder acquire: %w", err)
		}
		// Held by someone else (a leftover, or a ceiling server that grants nothing)
		// serves as well: the clients probe a lock none of them holds.
		r.held = g
	case "renew", "mixed":
		for _, w := range r.workers {
			name := r.name("r", w.id)
			g, err := w.c.Acquire(ctx, name)
			if err != nil {
				return fmt.Errorf("client %d acquire: %w", w.id, err)
			}
			if !g.Acquired {
				return fmt.Errorf("client %d acquire: the lock is held already", w.id)
			}
			w.own = map[string]string{name: g.Lease}
		}
	case "handoff":
		// Probe once, so a server without blocking acquire is reported, not faked.
		c := r.workers[0].c
		name := r.name("probe", -1)
		g, err := c.AcquireWait(ctx, name, time.Second)
		if err != nil {
			return fmt.Errorf("blocking acquire: %w", err)
		}
		if g.Acquired {
			if err := c.Release(ctx, name, g.Lease); err != nil {
				return fmt.Errorf("probe release: %w", err)
			}
		}
	}
	return nil
}

// teardown gives back what setup took.
func (r *run) teardown(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if r.holder != nil && r.held.Acquired {
		r.holder.Release(ctx, r.name("held", -1), r.held.Lease)
	}
	for _, w := range r.workers {
		for name, lease := range w.own {
			w.c.Release(ctx, name, lease)
		}
	}
}

// execute runs the workers through warm-up and the measured window.
func (r *run) execute(ctx context.Context) {
	// Requests in flight at the end finish normally; the hard bound below only cuts
	// off a server that stopped answering.
	hard, cancel := context.WithTimeout(ctx, r.cfg.Warmup+r.cfg.Duration+r.cfg.Wait+30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, w := range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(hard)
		}()
	}
	stopProgress := r.progress()
	if r.cfg.Warmup > 0 {
		sleep(ctx, r.cfg.Warmup)
	}
	r.phase.Store(phaseMeasure)
	start := time.Now()
	sleep(ctx, r.cfg.Duration)
	r.phase.Store(phaseStop)
	r.measured = time.Since(start)
	stopProgress()
	wg.Wait()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// progress prints a line a second until the returned function is called.
func (r *run) progress() func() {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		began := time.Now()
		var lastOps int64
		for {
			select {
			case <-done:
				if r.cfg.ProgressTTY {
					fmt.Fprint(r.cfg.Progress, "\r\033[K")
				}
				return
			case <-t.C:
			}
			ops := r.ops.Load()
			phase := "warm-up"
			if r.phase.Load() == phaseMeasure {
				phase = "measuring"
			}
			line := fmt.Sprintf("%s c=%d %s %3.0fs  %8d ops/s  %d errors",
				r.sc.Name, r.cfg.Concurrency, phase, time.Since(began).Seconds(), ops-lastOps, r.errs.Load())
			lastOps = ops
			if r.cfg.ProgressTTY {
				fmt.Fprintf(r.cfg.Progress, "\r\033[K%s", line)
			} else {
				fmt.Fprintln(r.cfg.Progress, line)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// loop runs operations until the run stops. An operation counts when it started and
// ended inside the measured window (handoff: when its grant arrived inside it).
func (w *worker) loop(ctx context.Context) {
	for ctx.Err() == nil {
		began := w.run.phase.Load()
		if began == phaseStop {
			return
		}
		start := time.Now()
		w.opGrants, w.opHeld = 0, 0
		lat, err := w.op(ctx)
		ended := w.run.phase.Load()
		counted := ended == phaseMeasure && (began == phaseMeasure || w.run.sc.Name == "handoff")
		if counted {
			w.grants += w.opGrants
			w.held += w.opHeld
		}
		if err != nil {
			if counted {
				w.errors[ErrorCode(err)]++
				w.run.errs.Add(1)
			}
			continue
		}
		if lat == 0 {
			lat = time.Since(start)
		}
		if lat < 0 || !counted {
			continue
		}
		w.hist.RecordValue(lat.Microseconds())
		w.run.ops.Add(1)
	}
}

// op runs one operation of the scenario. It returns the latency to record, 0 for "the
// time op took", or a negative value for "nothing to record".
func (w *worker) op(ctx context.Context) (time.Duration, error) {
	r := w.run
	switch r.sc.Name {
	case "cycle":
		return 0, w.cycle(ctx, r.name("c", w.id))
	case "contended":
		return 0, w.try(ctx, r.name("contended", -1))
	case "renew":
		name := r.name("r", w.id)
		return 0, w.renew(ctx, name)
	case "status":
		return 0, w.c.Status(ctx, r.name("held", -1))
	case "tryheld":
		g, err := w.c.Acquire(ctx, r.name("held", -1))
		if err == nil {
			if g.Acquired {
				return 0, &CodeError{Code: "unexpected_grant"}
			}
			w.count(g)
		}
		return 0, err
	case "handoff":
		return w.handoff(ctx)
	case "mixed":
		switch x := w.rng.IntN(4); {
		case x < 2:
			return 0, w.c.Status(ctx, r.name("r", w.id))
		case x == 2:
			return 0, w.renew(ctx, r.name("r", w.id))
		default:
			return 0, w.cycle(ctx, r.name("c", w.id))
		}
	}
	return -1, ErrUnsupported
}

func (w *worker) count(g Grant) {
	if g.Acquired {
		w.opGrants++
	} else {
		w.opHeld++
	}
}

// cycle acquires name and releases it.
func (w *worker) cycle(ctx context.Context, name string) error {
	g, err := w.c.Acquire(ctx, name)
	if err != nil {
		return err
	}
	w.count(g)
	if !g.Acquired {
		return &CodeError{Code: "unexpected_held"}
	}
	return w.release(ctx, name, g)
}

// try acquires name if it is free and then releases it.
func (w *worker) try(ctx context.Context, name string) error {
	g, err := w.c.Acquire(ctx, name)
	if err != nil {
		return err
	}
	w.count(g)
	if !g.Acquired {
		return nil
	}
	return w.release(ctx, name, g)
}

// release records the grant with the checker and gives the lease back.
func (w *worker) release(ctx context.Context, name string, g Grant) error {
	w.run.check.granted(name, w.id, g.Token)
	w.run.check.releasing(name, w.id)
	if err := w.c.Release(ctx, name, g.Lease); err != nil {
		// The lease may still be ours; a retried acquire gets it back.
		w.run.check.kept(name, w.id)
		return err
	}
	return nil
}

func (w *worker) renew(ctx context.Context, name string) error {
	lease, ok := w.own[name]
	if !ok {
		return &CodeError{Code: "no_lease"}
	}
	return w.c.Renew(ctx, name, lease)
}

// handoff waits for the shared lock, records the time since the previous holder began
// its release, and releases at once.
func (w *worker) handoff(ctx context.Context) (time.Duration, error) {
	r := w.run
	name := r.name("handoff", -1)
	g, err := w.c.AcquireWait(ctx, name, r.cfg.Wait)
	got := time.Now()
	if err != nil {
		return -1, err
	}
	if !g.Acquired {
		return -1, nil // the wait ran out; wait again
	}
	w.count(g)
	r.check.granted(name, w.id, g.Token)
	lat := time.Duration(-1)
	if prev := r.released.Load(); prev != 0 {
		lat = max(got.Sub(time.Unix(0, prev)), time.Microsecond)
	}
	r.check.releasing(name, w.id)
	r.released.Store(time.Now().UnixNano())
	if err := w.c.Release(ctx, name, g.Lease); err != nil {
		r.released.Store(0)
		return -1, err
	}
	return lat, nil
}

func newHistogram() *hdrhistogram.Histogram {
	// 1 µs to 5 min at 3 significant figures.
	return hdrhistogram.New(1, int64(5*time.Minute/time.Microsecond), 3)
}

func latencyOf(h *hdrhistogram.Histogram) Latency {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	if h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{
		P50:  ms(h.ValueAtQuantile(50)),
		P90:  ms(h.ValueAtQuantile(90)),
		P99:  ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)),
		Max:  ms(h.Max()),
		Mean: h.Mean() / 1000,
	}
}

// SortedCodes returns the error codes of r, most frequent first.
func (r Result) SortedCodes() []string {
	codes := make([]string, 0, len(r.Errors))
	for c := range r.Errors {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool {
		if r.Errors[codes[i]] != r.Errors[codes[j]] {
			return r.Errors[codes[i]] > r.Errors[codes[j]]
		}
		return codes[i] < codes[j]
	})
	return codes
}
