package auth

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"
)

func newTestGitHub(t *testing.T) *GitHub {
	t.Helper()
	g, err := NewGitHub(GitHubConfig{ClientID: "id", ClientSecret: "secret", RedirectURL: "https://locks.example.com/auth/github/callback"})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestBeginUsesGitHubsOAuthPagesWithPKCE(t *testing.T) {
	g := newTestGitHub(t)
	to, state := g.Begin(time.Unix(1_700_000_000, 0))
	u, err := url.Parse(to)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Host != "github.com" || u.Path != "/login/oauth/authorize" || q.Get("state") != state || len(state) != 43 ||
		q.Get("code_challenge_method") != "S256" || q.Get("redirect_uri") != "https://locks.example.com/auth/github/callback" {
		t.Fatalf("authorize URL %s", to)
	}
	if _, other := g.Begin(time.Unix(1_700_000_000, 0)); other == state {
		t.Fatal("two sign-ins got one state")
	}
}

func TestPendingSignInsAreBoundedAndExpire(t *testing.T) {
	g := newTestGitHub(t)
	t0 := time.Unix(1_700_000_000, 0)
	_, first := g.Begin(t0)
	_, second := g.Begin(t0.Add(time.Second))
	for i := 0; i < maxPendingStates-1; i++ {
		g.Begin(t0.Add(2 * time.Second))
	}
	if len(g.pending) != maxPendingStates || len(g.order) != maxPendingStates {
		t.Fatalf("%d pending, %d in order", len(g.pending), len(g.order))
	}
	// When full, the oldest sign-in is dropped first.
	if _, ok := g.take(first, t0.Add(3*time.Second)); ok {
		t.Fatal("the oldest state survived a full table")
	}
	if _, ok := g.take(second, t0.Add(3*time.Second)); !ok {
		t.Fatal("a younger state was dropped")
	}
	// Expired states are pruned on the next Begin.
	g.Begin(t0.Add(2*time.Second + StateLifetime))
	if len(g.pending) != 1 || len(g.order) != 1 {
		t.Fatalf("%d pending after expiry", len(g.pending))
	}
}

func TestFinishRefusesBeforeTalkingToGitHub(t *testing.T) {
	g := newTestGitHub(t)
	now := time.Unix(1_700_000_000, 0)
	_, state := g.Begin(now)
	ctx := context.Background()
	for name, c := range map[string][2]string{
		"no state":       {"", state},
		"cookie differs": {state, state + "x"},
		"no cookie":      {state, ""},
		"unknown state":  {"unknown", "unknown"},
	} {
		if _, err := g.Finish(ctx, now, c[0], c[1], "code"); !errors.Is(err, ErrStateInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := g.Deny(now, state, state); !errors.Is(err, ErrSignInDenied) {
		t.Fatalf("deny: %v", err)
	}
	if _, err := g.Finish(ctx, now, state, state, "code"); !errors.Is(err, ErrStateInvalid) {
		t.Fatalf("a denied state was usable: %v", err)
	}
}

func TestRedirectURLMustBeExactAndSecure(t *testing.T) {
	for _, ok := range []string{
		"https://locks.example.com/auth/github/callback",
		"https://locks.example.com:8443/auth/github/callback",
		"http://localhost:3000/auth/github/callback",
		"http://127.0.0.1:3000/auth/github/callback",
		"http://[::1]:3000/auth/github/callback",
	} {
		if err := CheckRedirectURL(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{
		"", "/auth/github/callback", "https://locks.example.com/", "https://locks.example.com/auth/github/callback/",
		"http://locks.example.com/auth/github/callback", "https://locks.example.com/auth/github/callback?x=1",
		"https://locks.example.com/auth/github/callback#f", "https://u:p@locks.example.com/auth/github/callback",
		"ftp://locks.example.com/auth/github/callback",
	} {
		if err := CheckRedirectURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
