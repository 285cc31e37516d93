package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func newTestGitHub(t *testing.T) *GitHub {
	t.Helper()
	return newTestGitHubWithKey(t, bytes.Repeat([]byte{7}, StateKeySize))
}

func newTestGitHubWithKey(t *testing.T, key []byte) *GitHub {
	t.Helper()
	g, err := NewGitHub(GitHubConfig{ClientID: "id", ClientSecret: "secret", RedirectURL: "https://locks.example.com/auth/github/callback", StateKey: key})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// begin starts a sign-in and returns the state GitHub will send back and the cookie.
func begin(t *testing.T, g *GitHub, now time.Time) (state, cookie string) {
	t.Helper()
	to, cookie := g.Begin(now)
	u, err := url.Parse(to)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("state"), cookie
}

func TestBeginUsesGitHubsOAuthPagesWithPKCE(t *testing.T) {
	g := newTestGitHub(t)
	to, cookie := g.Begin(time.Unix(1_700_000_000, 0))
	u, err := url.Parse(to)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	state := q.Get("state")
	if u.Host != "github.com" || u.Path != "/login/oauth/authorize" || len(state) != 43 ||
		q.Get("code_challenge_method") != "S256" || q.Get("redirect_uri") != "https://locks.example.com/auth/github/callback" {
		t.Fatalf("authorize URL %s", to)
	}
	// The cookie is sealed: neither the state nor the verifier can be read from it.
	if strings.Contains(cookie, state) || len(cookie) > maxSealedState {
		t.Fatalf("cookie %q (%d bytes) shows the state or is too long", cookie, len(cookie))
	}
	if other, _ := begin(t, g, time.Unix(1_700_000_000, 0)); other == state {
		t.Fatal("two sign-ins got one state")
	}
}

func TestSealedStateOpensOnlyUnchangedUnderItsKeyAndWithinItsLifetime(t *testing.T) {
	g := newTestGitHub(t)
	t0 := time.Unix(1_700_000_000, 0)
	state, cookie := begin(t, g, t0)
	raw, _ := base64.RawURLEncoding.DecodeString(cookie)
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	_, foreign := begin(t, newTestGitHubWithKey(t, bytes.Repeat([]byte{8}, StateKeySize)), t0)
	otherApp, err := NewGitHub(GitHubConfig{ClientID: "other", ClientSecret: "secret", RedirectURL: "https://locks.example.com/auth/github/callback",
		StateKey: bytes.Repeat([]byte{7}, StateKeySize)})
	if err != nil {
		t.Fatal(err)
	}
	// Sealed under the same key for the same state, but for another OAuth app.
	otherAppCookie := otherApp.sealer.seal(sealedState{state: state, verifier: "v", issued: t0})
	for name, c := range map[string]string{
		"version changed":        flip(0),
		"salt changed":           flip(1),
		"nonce changed":          flip(1 + sealSaltSize),
		"ciphertext changed":     flip(1 + sealSaltSize + sealNonceSize),
		"tag changed":            flip(len(raw) - 1),
		"truncated":              cookie[:len(cookie)-4],
		"not base64":             cookie[:10] + "*" + cookie[11:],
		"another server's key":   foreign,
		"another OAuth app's":    otherAppCookie,
		"empty":                  "",
		"huge":                   strings.Repeat("A", 1<<20),
		"the state in the clear": state,
	} {
		if _, ok := g.take(state, c, t0); ok {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, ok := g.take(state, cookie, t0.Add(StateLifetime)); ok {
		t.Error("accepted at the end of its lifetime")
	}
	if _, ok := g.take(state, cookie, t0.Add(-stateClockSkew-time.Millisecond)); ok {
		t.Error("accepted a state issued in the future")
	}
	if _, ok := g.take("other", cookie, t0); ok {
		t.Error("accepted for another state")
	}
	if _, ok := g.take(state, cookie, t0.Add(StateLifetime-time.Millisecond)); !ok {
		t.Fatal("refused just inside its lifetime")
	}
	if _, ok := g.take(state, cookie, t0.Add(time.Second)); ok {
		t.Fatal("accepted a second time")
	}
}

func TestStatesKeepNothingPerSignIn(t *testing.T) {
	g := newTestGitHub(t)
	t0 := time.Unix(1_700_000_000, 0)
	state, cookie := begin(t, g, t0)
	const n = 70_000 // more than the 65,536 pending sign-ins the old map held
	for i := 0; i < n; i++ {
		g.Begin(t0.Add(time.Second))
	}
	if len(g.spent.until) != 0 {
		t.Fatalf("%d states remembered after %d sign-ins were started", len(g.spent.until), n)
	}
	if _, ok := g.take(state, cookie, t0.Add(2*time.Second)); !ok {
		t.Fatal("the first sign-in was lost")
	}
}

func TestSpentStatesAreBounded(t *testing.T) {
	var s spentStates
	t0 := time.Unix(1_700_000_000, 0)
	for i := 0; i < 2*maxSpentStates; i++ {
		if !s.spend(strconv.Itoa(i), t0.Add(StateLifetime), t0) {
			t.Fatalf("state %d spent already", i)
		}
	}
	if len(s.until) > maxSpentStates || len(s.order) > maxSpentStates {
		t.Fatalf("%d remembered", len(s.until))
	}
	if s.spend(strconv.Itoa(2*maxSpentStates-1), t0.Add(StateLifetime), t0) {
		t.Fatal("a recent state was spent twice")
	}
	s.spend("late", t0.Add(2*StateLifetime), t0.Add(StateLifetime))
	if len(s.until) != 1 {
		t.Fatalf("%d remembered after they expired", len(s.until))
	}
}

func TestFinishRefusesBeforeTalkingToGitHub(t *testing.T) {
	g := newTestGitHub(t)
	now := time.Unix(1_700_000_000, 0)
	state, cookie := begin(t, g, now)
	_, other := begin(t, g, now)
	ctx := context.Background()
	for name, c := range map[string][2]string{
		"no state":         {"", cookie},
		"another's cookie": {state, other},
		"no cookie":        {state, ""},
		"state as cookie":  {state, state},
		"unknown state":    {"unknown", cookie},
	} {
		if _, err := g.Finish(ctx, now, c[0], c[1], "code"); !errors.Is(err, ErrStateInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := g.Deny(now, state, cookie); !errors.Is(err, ErrSignInDenied) {
		t.Fatalf("deny: %v", err)
	}
	if _, err := g.Finish(ctx, now, state, cookie, "code"); !errors.Is(err, ErrStateInvalid) {
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

func TestAvatarsComeOnlyFromTheAvatarRoot(t *testing.T) {
	g, err := NewGitHub(GitHubConfig{ClientID: "id", ClientSecret: "secret", RedirectURL: "https://locks.example.com/auth/github/callback",
		StateKey: bytes.Repeat([]byte{7}, StateKeySize)})
	if err != nil {
		t.Fatal(err)
	}
	for _, ok := range []string{"https://avatars.githubusercontent.com/u/583231?v=4", "https://AVATARS.githubusercontent.com/u/1"} {
		if !g.avatarAllowed(ok) {
			t.Errorf("%s refused", ok)
		}
	}
	for _, bad := range []string{
		"http://avatars.githubusercontent.com/u/1", "https://avatars.githubusercontent.com.evil.example/u/1",
		"https://evil.example/u/1", "https://avatars.githubusercontent.com:8443/u/1", "https://user@avatars.githubusercontent.com/u/1",
		"ftp://avatars.githubusercontent.com/u/1", "//avatars.githubusercontent.com/u/1", "/u/1", "",
	} {
		if g.avatarAllowed(bad) {
			t.Errorf("%s allowed", bad)
		}
	}
	for _, root := range []string{"http://avatars.example.com/", "https://avatars.example.com/?q=1", "avatars.example.com", "https://u:p@avatars.example.com/"} {
		if _, err := avatarRootURL(root); err == nil {
			t.Errorf("avatar root %s accepted", root)
		}
	}
	for _, root := range []string{"http://127.0.0.1:8080/avatars", "http://[::1]:1/", "https://ghe.example.com/avatars/"} {
		if _, err := avatarRootURL(root); err != nil {
			t.Errorf("avatar root %s: %v", root, err)
		}
	}
}
