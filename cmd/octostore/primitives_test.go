package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// run --max-holders N holds one of N places: N commands run at once, the N+1th does not
// get a place, and each has a fencing token of its own.
func TestRunMaxHoldersLetsNCommandsRunAtOnce(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	// Each command says it started, then waits (boundedly) for the test's go-ahead.
	script := `echo "$OCTOSTORE_FENCING_TOKEN" > "$D/started.$$"; i=0; while [ ! -e "$D/go" ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done`
	script = strings.ReplaceAll(script, "$D", dir)
	var runs []*proc
	for range 2 {
		runs = append(runs, s.start(t, "run", "pool", "--max-holders", "2", "--ttl", "10s", "--", "sh", "-c", script))
	}
	started := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, "started.*"))
		return m
	}
	eventually(t, "both commands run at once", func() bool { return len(started()) == 2 })
	if code, out := s.output(t, "run", "pool", "--max-holders", "2", "--", "true"); code != exitNotAcquired {
		t.Fatalf("a third holder: exit %d %s", code, out)
	}
	if code, out := s.output(t, "run", "pool", "--max-holders", "3", "--", "true"); code != exitError || !strings.Contains(out, "max_holders_mismatch") {
		t.Fatalf("another N: exit %d %s", code, out)
	}
	tokens := map[int64]bool{}
	for _, f := range started() {
		tokens[readInt(t, f)] = true
	}
	if len(tokens) != 2 {
		t.Fatalf("fencing tokens %v", tokens)
	}
	os.WriteFile(filepath.Join(dir, "go"), nil, 0o600)
	for i, r := range runs {
		if code := r.wait(t); code != 0 {
			t.Fatalf("run %d exited %d: %s", i, code, r.errors())
		}
	}
	if code, out := s.output(t, "run", "pool", "--max-holders", "65", "--", "true"); code != exitUsage {
		t.Fatalf("--max-holders 65: exit %d %s", code, out)
	}
}

// watch prints each change under the prefix as a JSON line, in order, and nothing for
// other locks.
func TestWatchPrintsChangesUnderThePrefixAsJSONLines(t *testing.T) {
	s := startServer(t)
	out, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cliBinary, "watch", "jobs.", "--index", "0")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "OCTOSTORE_URL=" + s.url, "OCTOSTORE_TOKEN=" + s.token}
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() { cmd.Wait(); done <- cmd.ProcessState.ExitCode() }()
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGKILL) })

	lines := func() []map[string]any {
		b, _ := os.ReadFile(out.Name())
		var got []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("not a JSON line: %q", l)
			}
			got = append(got, m)
		}
		return got
	}
	code, acq := s.output(t, "acquire", "jobs.a", "--ttl", "60s")
	var lease map[string]any
	if code != 0 || json.Unmarshal([]byte(acq), &lease) != nil {
		t.Fatalf("acquire: %d %s", code, acq)
	}
	s.output(t, "acquire", "other", "--ttl", "60s")
	eventually(t, "the grant is printed", func() bool { return len(lines()) >= 1 })
	if code, out := s.output(t, "release", "jobs.a", fmt.Sprint(lease["lease_id"])); code != 0 {
		t.Fatalf("release: %d %s", code, out)
	}
	eventually(t, "the release is printed", func() bool { return len(lines()) >= 2 })
	got := lines()
	if len(got) != 2 || got[0]["name"] != "jobs.a" || got[0]["status"] != "held" || got[1]["name"] != "jobs.a" || got[1]["status"] != "free" ||
		got[1]["revision"].(float64) <= got[0]["revision"].(float64) {
		t.Fatalf("lines %v", got)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if code := <-done; code != 0 {
		t.Fatalf("watch exited %d on SIGTERM", code)
	}
}
