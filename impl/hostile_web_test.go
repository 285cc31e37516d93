package impl

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/octostore/octostore/impl/auth"
)

// Hostile tests of sign-in and the browser-facing routes (issue 12, findings 6 and 7).
// Part of the hostile suite: go test -run TestHostile -v ./impl.

// Finding 6: 66,000 GET /auth/github used to evict real users' pending sign-ins from a
// 65,536-entry map. The state now travels sealed in the browser's cookie, so 70,000
// sign-ins started by an attacker (from as many addresses, past the per-address limit)
// leave a real user's sign-in in flight intact and the server's memory unchanged.
func TestHostileSignInFlood(t *testing.T) {
	ts, gh := newSignInServer(t)
	victim := newBrowser(ts)
	callback := victim.authorize(victim.start())

	h := ts.http.Config.Handler
	const flood = 70_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	logged := ts.logs.Len() // the test keeps every debug log line in memory; not counted
	t0 := time.Now()
	for i := range flood {
		req := httptest.NewRequest("GET", "/auth/github", nil)
		req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:40000", i>>16&255, i>>8&255, i&255)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusFound {
			t.Fatalf("sign-in %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	took := time.Since(t0)
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc) - int64(ts.logs.Cap()-logged)

	r := victim.do("GET", callback)
	t.Logf("FIGURE sign-in flood: %d GET /auth/github in %s in process; heap %+d KiB after GC (bound 4 MiB); the victim's sign-in started before it: %d",
		flood, took.Round(time.Millisecond), grew>>10, r.status)
	if r.status != http.StatusFound || r.header.Get("Location") != "/dashboard" {
		t.Fatalf("the victim's sign-in was lost: %d %s", r.status, r.raw)
	}
	if grew > 4<<20 {
		t.Fatalf("the server kept %d bytes for %d sign-ins nobody finished", grew, flood)
	}
	if gh.Requests("token") != 1 {
		t.Fatalf("%d code exchanges", gh.Requests("token"))
	}
}

// Unauthenticated GET /auth/github stays limited per client address.
func TestHostileSignInFloodFromOneAddressIsLimited(t *testing.T) {
	ts, _ := newSignInServerWith(t, Config{ClientRateLimitRPS: 10})
	h := ts.http.Config.Handler
	limited := 0
	const n = 200
	for range n {
		req := httptest.NewRequest("GET", "/auth/github", nil)
		req.RemoteAddr = "192.0.2.7:40000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusTooManyRequests {
			limited++
		}
	}
	t.Logf("FIGURE sign-in from one address: %d of %d GET /auth/github refused with 429 (limit 10/s, burst 20)", limited, n)
	if limited < n-40 {
		t.Fatalf("only %d of %d refused", limited, n)
	}
}

// A state cookie that was changed, sealed by another server, or is older than the
// lifetime is refused with 400 signin_failed before GitHub is asked anything.
func TestHostileForgedStateCookies(t *testing.T) {
	ts, gh := newSignInServer(t)
	other, _ := newSignInServer(t) // another deployment: its own database, its own key

	b := newBrowser(ts)
	callback := b.authorize(b.start())
	sealed := b.cookies[stateCookie].Value
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)/2] ^= 0x20
	foreign := newBrowser(other)
	foreign.start()

	for name, value := range map[string]string{
		"tampered":               base64.RawURLEncoding.EncodeToString(flipped),
		"truncated":              sealed[:len(sealed)/2],
		"another server's":       foreign.cookies[stateCookie].Value,
		"the state in the clear": callbackState(t, callback),
		"garbage":                "x",
	} {
		forged := newBrowser(ts)
		forged.cookies[stateCookie] = &http.Cookie{Name: stateCookie, Value: value}
		r := forged.do("GET", callback)
		wantProblem(t, r, http.StatusBadRequest, "signin_failed")
		if r.str("detail") == "" {
			t.Fatalf("%s: no detail", name)
		}
	}
	// Expired: the real cookie, ten minutes on.
	ts.clock.Advance(auth.StateLifetime)
	wantProblem(t, b.do("GET", callback), http.StatusBadRequest, "signin_failed")
	if n := gh.Requests("token"); n != 0 {
		t.Fatalf("%d code exchanges for forged or expired states", n)
	}
	if _, ok := b.cookies[sessionCookie]; ok {
		t.Fatal("a refused callback set a session")
	}
	t.Logf("FIGURE forged state cookies: 5 forgeries and 1 expired cookie refused with 400 signin_failed, 0 code exchanges")
}

func callbackState(t *testing.T, callback string) string {
	t.Helper()
	req := httptest.NewRequest("GET", callback, nil)
	return req.URL.Query().Get("state")
}
