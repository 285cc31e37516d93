package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run the real binaries as a user would: octostore-lock on a loopback port
// and octostore processes competing for its locks.

var (
	cliBinary    string
	serverBinary string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "octostore-cli-test")
	if err != nil {
		panic(err)
	}
	cliBinary = filepath.Join(dir, "octostore")
	serverBinary = filepath.Join(dir, "octostore-lock")
	for _, b := range []struct{ out, dir string }{{cliBinary, "."}, {serverBinary, "../octostore-lock"}} {
		build := exec.Command("go", "build", "-o", b.out, ".")
		build.Dir = b.dir
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b.dir, err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type server struct {
	cmd    *exec.Cmd
	url    string
	token  string
	exited chan struct{}
}

var (
	listening = regexp.MustCompile(`msg=listening addr=(\S+)`)
	tokenLine = regexp.MustCompile(`^export OCTOSTORE_TOKEN=(\S+)$`)
)

// startServer runs octostore-lock for one test and waits until it listens.
func startServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(serverBinary, "--bind-addr", "127.0.0.1:0")
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, exited: make(chan struct{})}
	t.Cleanup(s.kill)
	addr, token := make(chan string, 1), make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := tokenLine.FindStringSubmatch(sc.Text()); m != nil {
				token <- m[1]
			}
		}
	}()
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		cmd.Wait()
		close(s.exited)
	}()
	timeout := time.After(30 * time.Second)
	for s.url == "" || s.token == "" {
		select {
		case a := <-addr:
			s.url = "http://" + a
		case s.token = <-token:
		case <-s.exited:
			t.Fatal("octostore-lock exited")
		case <-timeout:
			t.Fatal("octostore-lock did not start")
		}
	}
	return s
}

func (s *server) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// proc is a running octostore command.
type proc struct {
	cmd    *exec.Cmd
	stderr *os.File // a file, not a pipe: a leftover grandchild must not hold up Wait
	done   chan struct{}
	code   int
}

func (p *proc) errors() string {
	b, _ := os.ReadFile(p.stderr.Name())
	return string(b)
}

func (s *server) start(t *testing.T, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(cliBinary, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "OCTOSTORE_URL=" + s.url, "OCTOSTORE_TOKEN=" + s.token}
	stderr, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	c := &proc{cmd: cmd, stderr: stderr, done: make(chan struct{})}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		c.code = cmd.ProcessState.ExitCode()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			c.code = 128 + int(ws.Signal())
		}
		close(c.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGKILL)
		<-c.done
	})
	return c
}

func (c *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-c.done:
		return c.code
	case <-time.After(60 * time.Second):
		t.Fatalf("%v still running; stderr %s", c.cmd.Args, c.errors())
	}
	return -1
}

// output runs octostore to the end and returns its exit code and stdout.
func (s *server) output(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(cliBinary, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "OCTOSTORE_URL=" + s.url, "OCTOSTORE_TOKEN=" + s.token}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(out) + stderr.String()
}

func (s *server) status(t *testing.T, lock string) map[string]any {
	t.Helper()
	code, out := s.output(t, "status", lock)
	var st map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("status: %d %s", code, out)
	}
	return st
}

// eventually polls cond until it holds, for at most 30 seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func readInt(t *testing.T, path string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatalf("%s: %q", path, b)
	}
	return n
}

// processGone reports whether pid has exited (a zombie waiting for a reaper counts).
func processGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name in parentheses.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
}

func TestCompetingRunsTakeTurnsWithIncreasingTokens(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	// The command fails if another instance is inside (noclobber refuses an existing
	// marker file), records its fencing token, and leaves.
	script := `set -C; : > "$D/inside" || exit 99; echo "$OCTOSTORE_FENCING_TOKEN" >> "$D/tokens"; sleep 0.2; rm "$D/inside"`
	var runs []*proc
	for i := 0; i < 3; i++ {
		runs = append(runs, s.start(t, "run", "nightly", "--ttl", "5s", "--wait", "30s", "--", "sh", "-c", strings.ReplaceAll(script, "$D", dir)))
	}
	for i, r := range runs {
		if code := r.wait(t); code != 0 {
			t.Fatalf("run %d exited %d: %s", i, code, r.errors())
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "tokens"))
	lines := strings.Fields(string(b))
	if len(lines) != 3 {
		t.Fatalf("tokens %q", b)
	}
	for i := 1; i < len(lines); i++ {
		a, _ := strconv.Atoi(lines[i-1])
		b, _ := strconv.Atoi(lines[i])
		if b <= a {
			t.Fatalf("tokens not increasing: %v", lines)
		}
	}
	if st := s.status(t, "nightly"); st["status"] != "free" {
		t.Fatalf("lock not released: %v", st)
	}
}

func TestAKilledHoldersCommandDiesAndTheSuccessorStartsAfterTheTTL(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	first := s.start(t, "run", "job", "--ttl", "2s", "--", "sh", "-c",
		fmt.Sprintf(`echo "$OCTOSTORE_FENCING_TOKEN" > %[1]s/token1; echo $$ > %[1]s/pid.tmp; mv %[1]s/pid.tmp %[1]s/pid1; exec sleep 300`, dir))
	eventually(t, "the first command runs", func() bool { return fileExists(filepath.Join(dir, "pid1")) })
	pid := int(readInt(t, filepath.Join(dir, "pid1")))
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) }) // should it have survived
	second := s.start(t, "run", "job", "--ttl", "2s", "--wait", "30s", "--", "sh", "-c",
		fmt.Sprintf(`date +%%s%%3N > %[1]s/start2; echo "$OCTOSTORE_FENCING_TOKEN" > %[1]s/token2`, dir))

	first.cmd.Process.Signal(syscall.SIGKILL)
	<-first.done
	// The lease as the server last extended it: nobody renews it any more.
	st := s.status(t, "job")
	expires, err := time.Parse(time.RFC3339Nano, fmt.Sprint(st["expires_at"]))
	if st["status"] != "held" || err != nil {
		t.Fatalf("after the kill: %v", st)
	}
	// The command did not outlive its supervisor.
	eventually(t, "the orphaned command is gone", func() bool { return processGone(pid) })

	if code := second.wait(t); code != 0 {
		t.Fatalf("second run exited %d: %s", code, second.errors())
	}
	started := time.UnixMilli(readInt(t, filepath.Join(dir, "start2")))
	if started.Before(expires) {
		t.Fatalf("successor started at %v, before the killed holder's lease ended at %v", started, expires)
	}
	if t1, t2 := readInt(t, filepath.Join(dir, "token1")), readInt(t, filepath.Join(dir, "token2")); t2 <= t1 {
		t.Fatalf("successor token %d, killed holder's %d", t2, t1)
	}
}

func TestALostLockStopsTheCommandAndExits76(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	run := s.start(t, "run", "job", "--ttl", "2s", "--", "sh", "-c",
		fmt.Sprintf(`trap 'echo stopped > %[1]s/term; exit 0' TERM; touch %[1]s/started; while :; do sleep 0.05; done`, dir))
	eventually(t, "the command runs", func() bool { return fileExists(filepath.Join(dir, "started")) })
	s.kill() // no renewal can succeed any more
	if code := run.wait(t); code != exitLockLost {
		t.Fatalf("exit %d: %s", code, run.errors())
	}
	if !fileExists(filepath.Join(dir, "term")) || !strings.Contains(run.errors(), "lost") {
		t.Fatalf("command not stopped with SIGTERM; stderr %s", run.errors())
	}
}

func TestRunExitCodes(t *testing.T) {
	s := startServer(t)
	if code, out := s.output(t, "run", "codes", "--", "sh", "-c", "exit 7"); code != 7 {
		t.Fatalf("command's code: %d %s", code, out)
	}
	if code, out := s.output(t, "run", "codes", "--", "sh", "-c", "kill -TERM $$"); code != 128+15 {
		t.Fatalf("killed command: %d %s", code, out)
	}
	if code, out := s.output(t, "run", "codes", "--", "no-such-command-anywhere"); code != exitNotFound {
		t.Fatalf("missing command: %d %s", code, out)
	}
	code, out := s.output(t, "acquire", "codes", "--ttl", "60s", "--owner", "other")
	if code != 0 || !strings.Contains(out, `"status":"acquired"`) {
		t.Fatalf("acquire: %d %s", code, out)
	}
	if code, out := s.output(t, "run", "codes", "--", "true"); code != exitNotAcquired || !strings.Contains(out, "held by someone else") {
		t.Fatalf("held lock, no wait: %d %s", code, out)
	}
	if code, out := s.output(t, "run", "codes", "--wait", "1s", "--", "true"); code != exitNotAcquired {
		t.Fatalf("held lock, short wait: %d %s", code, out)
	}
	for _, args := range [][]string{
		{"run", "codes"},
		{"run", "codes", "--"},
		{"run", "codes", "--ttl", "1500ms", "--", "true"},
		{"run", "codes", "--ttl", "2h", "--", "true"},
		{"run", "codes", "--ttl", "3s", "--grace", "2s", "--", "true"},
		{"nonsense"},
		{"release", "codes", "not-a-uuid"},
	} {
		if code, out := s.output(t, args...); code != exitUsage {
			t.Fatalf("%v: %d %s", args, code, out)
		}
	}
}

func TestAcquireStatusListRelease(t *testing.T) {
	s := startServer(t)
	code, out := s.output(t, "acquire", "svc", "--ttl", "30s", "--metadata", "10.0.0.7:8080")
	var got map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("acquire: %d %s", code, out)
	}
	st := s.status(t, "svc")
	if st["status"] != "held" || st["metadata"] != "10.0.0.7:8080" || st["fencing_token"] != got["fencing_token"] {
		t.Fatalf("status %v", st)
	}
	if code, out := s.output(t, "list"); code != 0 || !strings.Contains(out, `"name":"svc"`) {
		t.Fatalf("list: %d %s", code, out)
	}
	if code, out := s.output(t, "acquire", "svc", "--owner", "someone-else"); code != exitNotAcquired || !strings.Contains(out, `"status":"held"`) {
		t.Fatalf("acquire of a held lock: %d %s", code, out)
	}
	if code, out := s.output(t, "release", "svc", fmt.Sprint(got["lease_id"])); code != 0 || !strings.Contains(out, `"status":"released"`) {
		t.Fatalf("release: %d %s", code, out)
	}
	if code, out := s.output(t, "release", "svc", fmt.Sprint(got["lease_id"])); code != exitError || !strings.Contains(out, "lease_not_current") {
		t.Fatalf("second release: %d %s", code, out)
	}
	if st := s.status(t, "svc"); st["status"] != "free" {
		t.Fatalf("status %v", st)
	}
}

func TestTheTokenComesFromTheEnvironmentOrAFile(t *testing.T) {
	s := startServer(t)
	file := filepath.Join(t.TempDir(), "token")
	os.WriteFile(file, []byte(s.token+"\n"), 0o600)
	cmd := exec.Command(cliBinary, "list")
	cmd.Env = []string{"OCTOSTORE_URL=" + s.url, "OCTOSTORE_TOKEN_FILE=" + file}
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), `"locks"`) {
		t.Fatalf("token file: %v %s", err, out)
	}
	cmd = exec.Command(cliBinary, "list")
	cmd.Env = []string{"OCTOSTORE_URL=" + s.url}
	if out, _ := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != exitUsage || !strings.Contains(string(out), "OCTOSTORE_TOKEN") {
		t.Fatalf("no token: %s", out)
	}
	cmd = exec.Command(cliBinary, "list")
	cmd.Env = []string{"OCTOSTORE_URL=" + s.url, "OCTOSTORE_TOKEN=oct_wrong"}
	if out, _ := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != exitError || !strings.Contains(string(out), "unauthorized") {
		t.Fatalf("wrong token: %s", out)
	}
}
