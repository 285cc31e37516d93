package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func noEnv(string) (string, bool) { return "", false }

func TestFlagsAsTheProductDocumentsThem(t *testing.T) {
	o, err := parse([]string{"--token", "t", "--admin-key", "k", "--concurrency", "100", "--duration", "30"}, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.token != "t" || o.adminKey != "k" || o.concurrency != 100 || o.duration != 30*time.Second || o.url != "http://127.0.0.1:3000" {
		t.Fatalf("%+v", o)
	}
	if len(o.scenarios) != 1 || o.scenarios[0] != "cycle" {
		t.Fatalf("default scenario %v", o.scenarios)
	}
	o, err = parse([]string{"--scenario", "all", "--duration", "1m"}, func(k string) (string, bool) {
		v, ok := map[string]string{"OCTOSTORE_TOKEN": "env-token", "OCTOSTORE_URL": "http://127.0.0.1:9"}[k]
		return v, ok
	}, io.Discard)
	if err != nil || o.token != "env-token" || o.url != "http://127.0.0.1:9" || o.duration != time.Minute || len(o.scenarios) < 7 {
		t.Fatalf("%+v %v", o, err)
	}
}

func TestBadFlagsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{},                                     // no credentials
		{"--token", "t", "--scenario", "nope"}, // unknown scenario
		{"--token", "t", "--concurrency", "0"},
		{"--token", "t", "--duration", "soon"},
		{"--token", "t", "--wait", "2m"},
		{"--token", "t", "stray"},
	} {
		if _, err := parse(args, noEnv, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

func TestUsageListsEveryScenario(t *testing.T) {
	var out strings.Builder
	if code := run(t.Context(), []string{"--help"}, noEnv, io.Discard, &out); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, s := range []string{"cycle", "contended", "renew", "handoff", "mixed", "-admin-key", "-json", "serve-noop"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("usage lacks %q", s)
		}
	}
}

func TestVersionNeedsNoToken(t *testing.T) {
	var out strings.Builder
	if code := run(t.Context(), []string{"--version"}, noEnv, &out, io.Discard); code != 0 || !strings.HasPrefix(out.String(), "octostore-bench (devel) (commit ") {
		t.Fatalf("exit %d, %q", code, out.String())
	}
}
