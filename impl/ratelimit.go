package impl

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/octostore/octostore/gen"
)

// accountLimiter keeps one token bucket per account, so one noisy account cannot starve
// the others. Buckets run on the server clock's monotonic reading, so wall-clock steps do
// not refill them and tests can drive them.
type accountLimiter struct {
	limit rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

func newAccountLimiter(rps float64) *accountLimiter {
	return &accountLimiter{
		limit:   rate.Limit(rps),
		burst:   max(1, int(math.Ceil(2*rps))),
		buckets: make(map[string]*rate.Limiter),
	}
}

// allow takes a token for account at now, or says how long until one is free.
func (l *accountLimiter) allow(account string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	b := l.buckets[account]
	if b == nil {
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[account] = b
	}
	l.mu.Unlock()
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// rateLimitedError carries how long the caller should wait.
type rateLimitedError struct{ retryAfter time.Duration }

func (e rateLimitedError) Error() string {
	return fmt.Sprintf("rate limited for %s", e.retryAfter)
}

// rateLimit is a strict-handler middleware: after authentication (the validator has
// recorded the caller), every account-scoped operation spends one token of its account.
func (s *Server) rateLimit(next gen.StrictHandlerFunc, _ string) gen.StrictHandlerFunc {
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, req any) (any, error) {
		if p := principal(ctx); p.AccountID != "" {
			now := time.Time{}.Add(s.cfg.Clock.Now().Mono)
			if wait, ok := s.limiter.allow(p.AccountID, now); !ok {
				return nil, rateLimitedError{retryAfter: wait}
			}
		}
		return next(ctx, w, r, req)
	}
}
