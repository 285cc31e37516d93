package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGitHubSettingsComeFromTheEnvironment(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := parseConfig(nil, env(map[string]string{
		"GITHUB_CLIENT_ID":     "Iv1.abc",
		"GITHUB_CLIENT_SECRET": "s3cret",
		"GITHUB_REDIRECT_URI":  "https://locks.example.com/auth/github/callback",
		"GITHUB_API_URL":       "https://ghe.example.com/api/v3",
		"GITHUB_AVATAR_URL":    "https://avatars.ghe.example.com/",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	g := c.GitHub
	if g.ClientID != "Iv1.abc" || g.ClientSecret != "s3cret" || g.RedirectURL != "https://locks.example.com/auth/github/callback" ||
		g.BaseURL != "https://github.com" || g.APIURL != "https://ghe.example.com/api/v3" || g.AvatarURL != "https://avatars.ghe.example.com/" {
		t.Fatalf("%+v", g)
	}
}

func TestGitHubSignInIsOffByDefault(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := parseConfig(nil, env(nil), io.Discard)
	if err != nil || c.GitHub.ClientID != "" {
		t.Fatalf("%+v %v", c.GitHub, err)
	}
}

func TestBadGitHubSettingsAreRefused(t *testing.T) {
	t.Chdir(t.TempDir())
	ok := map[string]string{"GITHUB_CLIENT_ID": "id", "GITHUB_CLIENT_SECRET": "secret", "GITHUB_REDIRECT_URI": "https://x.example/auth/github/callback"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range ok {
			m[a] = b
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	for name, e := range map[string]map[string]string{
		"no secret":              with("GITHUB_CLIENT_SECRET", ""),
		"no redirect":            with("GITHUB_REDIRECT_URI", ""),
		"wrong callback path":    with("GITHUB_REDIRECT_URI", "https://x.example/callback"),
		"plain http elsewhere":   with("GITHUB_REDIRECT_URI", "http://x.example/auth/github/callback"),
		"query in redirect":      with("GITHUB_REDIRECT_URI", "https://x.example/auth/github/callback?a=1"),
		"bad base url":           with("GITHUB_BASE_URL", "ftp://github.com"),
		"bad api url":            with("GITHUB_API_URL", "not a url"),
		"plain http avatars":     with("GITHUB_AVATAR_URL", "http://avatars.example.com/"),
		"avatar url with query":  with("GITHUB_AVATAR_URL", "https://avatars.example.com/?x=1"),
		"secret without an id":   {"GITHUB_CLIENT_SECRET": "secret"},
		"redirect without an id": {"GITHUB_REDIRECT_URI": "https://x.example/auth/github/callback"},
	} {
		if _, err := parseConfig(nil, env(e), io.Discard); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for _, loopback := range []string{"http://127.0.0.1:3000/auth/github/callback", "http://localhost:3000/auth/github/callback", "http://[::1]:3000/auth/github/callback"} {
		if _, err := parseConfig(nil, env(with("GITHUB_REDIRECT_URI", loopback)), io.Discard); err != nil {
			t.Errorf("%s refused: %v", loopback, err)
		}
	}
}

func TestEnvExampleDocumentsTheGitHubSettings(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "..", ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings {
		if (strings.HasPrefix(s.env, "GITHUB_") || strings.HasPrefix(s.env, "TLS_")) && !strings.Contains(string(example), s.env+"=") {
			t.Errorf(".env.example lacks %s", s.env)
		}
	}
}
