package impl

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/octostore/octostore/impl/auth"
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

// maxIdleBuckets is how many buckets a limiter keeps before it forgets the full ones, so
// traffic from many addresses cannot grow it without bound.
const maxIdleBuckets = 10000

// prune forgets buckets that have refilled: forgetting one changes nothing for its key.
func (l *accountLimiter) prune(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buckets) <= maxIdleBuckets {
		return
	}
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
}

// clientKey is the throttling key of a request's peer: its IP address, IPv6 grouped by
// /64 since one host commonly holds a whole /64.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	return addrKey(ip)
}

// addrKey is the throttling key of an address: IPv4 as it is, IPv6 by its /64.
func addrKey(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}

// throttle is the first thing a request meets after its id: before any body is read or
// parsed, a request with a valid bearer token spends a token of its account's bucket,
// and every other request (no credentials, a wrong token, a wrong admin key) spends one
// of its client address's bucket. So rejected requests (400, 401) count, and guessing
// tokens or admin keys is throttled per address.
func (s *Server) throttle(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Time{}.Add(s.cfg.Clock.Now().Mono)
		var key string
		var lim *accountLimiter
		adminKey, adminSent := r.Header["X-Admin-Key"]
		if token, ok := auth.ParseBearer(r.Header.Get("Authorization")); ok {
			if p, err := s.auth.Authenticate(token); err == nil {
				key, lim = p.AccountID, s.limiter
				if info := infoFrom(r.Context()); info != nil {
					info.bearer, info.verified = token, p
				}
			}
		}
		if adminSent && s.cfg.AdminKey != "" && (len(adminKey) != 1 || !auth.KeyMatches(adminKey[0], s.cfg.AdminKey)) {
			s.noteFailedAdminKey(r)
			key, lim = "", nil
		} else if adminSent && s.cfg.AdminKey != "" {
			next.ServeHTTP(w, r) // the operator is not throttled
			return
		}
		if lim == nil && key == "" {
			key, lim = clientKey(r), s.ipLimiter
		}
		if lim != nil {
			if wait, ok := lim.allow(key, now); !ok {
				lim.prune(now)
				s.writeError(w, r, rateLimitedError{retryAfter: wait})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// noteFailedAdminKey logs a wrong admin key at warn, at most once a second, with how many
// went unlogged since.
func (s *Server) noteFailedAdminKey(r *http.Request) {
	n := s.failedAdmin.Add(1)
	if !s.failedAdminLog.Allow() {
		return
	}
	s.failedAdmin.Add(-n)
	s.log.WarnContext(r.Context(), "wrong admin key", "client", clientKey(r), "path", r.URL.Path, "attempts_since_last_log", n)
}
