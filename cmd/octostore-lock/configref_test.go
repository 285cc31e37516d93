package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// envLine is a setting's line in .env.example: "KEY=value", or "# KEY=value" for one
// left commented out.
var envLine = regexp.MustCompile(`^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$`)

// TestConfigurationReferenceIsCurrent: --help, .env.example and docs/configuration.md
// describe the same settings with the same defaults, and the committed reference is
// exactly what the flag definitions generate.
func TestConfigurationReferenceIsCurrent(t *testing.T) {
	flags, _, _ := newFlagSet(io.Discard)
	bySetting := map[string]setting{}
	withEnv := map[string]bool{}
	for _, s := range settings {
		if flags.Lookup(s.flag) == nil {
			t.Errorf("setting %s names no flag --%s", s.env, s.flag)
		}
		if _, dup := bySetting[s.env]; dup {
			t.Errorf("%s appears twice in settings", s.env)
		}
		bySetting[s.env], withEnv[s.flag] = s, true
	}
	// Every flag but --version has an environment variable.
	flags.VisitAll(func(f *flag.Flag) {
		if !withEnv[f.Name] && f.Name != "version" {
			t.Errorf("flag --%s has no environment variable in settings", f.Name)
		}
	})

	// --help names every flag with its environment variable.
	var help bytes.Buffer
	if _, err := parseConfig([]string{"--help"}, env(nil), &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, s := range settings {
		if !regexp.MustCompile(`(?m)^  -` + regexp.QuoteMeta(s.flag) + `\b[^\n]*\n(\s+[^\n]*\n)*?\s+[^\n]*\(env ` + s.env + `\)`).Match(help.Bytes()) {
			t.Errorf("--help lacks -%s with (env %s)", s.flag, s.env)
		}
	}

	// .env.example: every setting, each once; a line left in force carries the default;
	// a setting with a default that is not empty or false is left in force (ENV_FILE
	// cannot be set from inside the file, so it stays commented); no unknown variable.
	example, err := os.ReadFile("../../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(example))
	for sc.Scan() {
		m := envLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		commented, key, value := m[1] != "", m[2], m[3]
		s, ok := bySetting[key]
		if !ok {
			t.Errorf(".env.example: %s is no setting of octostore-lock", key)
			continue
		}
		if seen[key] {
			t.Errorf(".env.example: %s appears twice", key)
		}
		seen[key] = true
		f := flags.Lookup(s.flag)
		if !commented || value == f.DefValue {
			check, _, _ := newFlagSet(io.Discard)
			if err := check.Set(s.flag, value); err != nil {
				t.Errorf(".env.example: %s=%s: %v", key, value, err)
			} else if got := check.Lookup(s.flag).Value.String(); !commented && got != f.DefValue {
				t.Errorf(".env.example: %s=%s, but the default is %q", key, value, f.DefValue)
			}
		}
		if commented && f.DefValue != "" && f.DefValue != "false" && key != "ENV_FILE" {
			t.Errorf(".env.example: %s is commented out, but its default %q is in force: leave it in as %s=%s", key, f.DefValue, key, f.DefValue)
		}
		if key == "ENV_FILE" && value != f.DefValue {
			t.Errorf(".env.example: # ENV_FILE=%s, want its default %s", value, f.DefValue)
		}
	}
	for _, s := range settings {
		if !seen[s.env] {
			t.Errorf(".env.example lacks %s (as %s=<default> or # %s=<example>)", s.env, s.env, s.env)
		}
	}

	// The committed reference is the generated one.
	var want bytes.Buffer
	if err := writeConfigReference(&want); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("docs/configuration.md is stale: run 'go generate ./cmd/octostore-lock' (or 'make docs') and commit")
	}
	for _, s := range settings {
		if !bytes.Contains(got, []byte("| `"+s.env+"` | `--"+s.flag+"` |")) {
			t.Errorf("docs/configuration.md lacks %s", s.env)
		}
	}
}
