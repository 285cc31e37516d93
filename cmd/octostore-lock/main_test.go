package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

var binary string

// TestMain builds the real binary once; the tests run it as a user would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "octostore-lock-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "octostore-lock")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running octostore-lock.
type proc struct {
	cmd     *exec.Cmd
	url     string
	token   string // printed on first start
	stdout  *lockedBuffer
	stderr  *lockedBuffer
	exited  chan struct{} // closed when the process has exited
	waitErr error         // its exit status, set before exited is closed
}

// kill sends sig and waits for the process to exit.
func (p *proc) kill(sig syscall.Signal) {
	p.cmd.Process.Signal(sig)
	<-p.exited
}

var (
	listening = regexp.MustCompile(`msg=listening addr=(\S+)`)
	tokenLine = regexp.MustCompile(`^export OCTOSTORE_TOKEN=(\S+)$`)
)

// lockedBuffer is a bytes.Buffer safe to read while the process writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start runs the binary in dir with env and waits until it listens.
func start(t *testing.T, dir string, wantToken bool, env ...string) *proc {
	t.Helper()
	return startBinary(t, binary, dir, "127.0.0.1:0", wantToken, env...)
}

// startBinary runs bin in dir on addr with env and waits until it listens.
func startBinary(t *testing.T, bin, dir, bindAddr string, wantToken bool, env ...string) *proc {
	t.Helper()
	s := spawnBinary(t, bin, dir, bindAddr, env...)
	if err := s.await(30*time.Second, wantToken); err != nil {
		t.Fatal(err)
	}
	return s.p
}

// spawned is a process started by spawnBinary that may not listen yet.
type spawned struct {
	p     *proc
	addr  chan string
	token chan string
}

// spawnBinary starts bin in dir on addr with env without waiting for it; the process is
// killed (by its PID) when the test ends. Call await from the test's goroutine.
func spawnBinary(t *testing.T, bin, dir, bindAddr string, env ...string) *spawned {
	t.Helper()
	return spawnArgs(t, dir, env, []string{bin, "--bind-addr", bindAddr})
}

// spawnArgs starts the command line argv (which runs the server) in dir with env.
func spawnArgs(t *testing.T, dir string, env, argv []string) *spawned {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	// The workloads here send far more than an honest client's 1,000 requests a second
	// from one account: the per-account limit is off unless a test sets it.
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "RATE_LIMIT_RPS=0"}, env...)
	p := &proc{cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	outPipe, _ := cmd.StdoutPipe()
	errPipe, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill(syscall.SIGKILL) })
	addr := make(chan string, 1)
	token := make(chan string, 1)
	stderrDone := make(chan struct{})
	go func() {
		defer close(stderrDone)
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			p.stderr.Write([]byte(sc.Text() + "\n"))
			if m := tokenLine.FindStringSubmatch(sc.Text()); m != nil {
				token <- m[1]
			}
		}
	}()
	go func() {
		sc := bufio.NewScanner(outPipe)
		for sc.Scan() {
			line := sc.Text()
			p.stdout.Write([]byte(line + "\n"))
			if m := listening.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
		<-stderrDone
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return &spawned{p: p, addr: addr, token: token}
}

// await waits until the process listens (and, with wantToken, printed its token).
func (s *spawned) await(timeout time.Duration, wantToken bool) error {
	p := s.p
	select {
	case a := <-s.addr:
		p.url = "http://" + a
	case <-p.exited:
		// A process that listened and then exited at once (a failpoint armed for the
		// first request) has both ready, and select picks at random: it did start.
		select {
		case a := <-s.addr:
			p.url = "http://" + a
		default:
			return fmt.Errorf("server exited: %v %s %s", p.waitErr, p.stdout, p.stderr)
		}
	case <-time.After(timeout):
		return fmt.Errorf("server did not start: %s %s", p.stdout, p.stderr)
	}
	// A first start prints the token before it listens; the line may still be in the
	// pipe.
	if wantToken {
		select {
		case p.token = <-s.token:
		case <-time.After(timeout):
			return fmt.Errorf("no token line: %s", p.stderr)
		}
	}
	return nil
}

func (p *proc) call(t *testing.T, method, path, token string, body any) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	out["http_status"] = float64(res.StatusCode)
	return out
}

func TestFirstRunPrintsExactlyOneTokenLine(t *testing.T) {
	dir := t.TempDir()
	startedAt := time.Now().UnixMicro()
	p := start(t, dir, true)
	lines := strings.Split(strings.TrimSpace(p.stderr.String()), "\n")
	if len(lines) != 1 || p.token == "" {
		t.Fatalf("stderr: %q", p.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "octostore.db")); err != nil {
		t.Fatalf("default database: %v", err)
	}
	r := p.call(t, "POST", "/locks/my-service/acquire", p.token, map[string]any{"ttl_seconds": 60})
	// The fencing counter starts above the wall clock in microseconds (DESIGN §3.8).
	if tok, _ := r["fencing_token"].(float64); r["status"] != "acquired" || tok <= float64(startedAt) || tok >= 1<<53 {
		t.Fatalf("%v (want a fencing token above %d)", r, startedAt)
	}
}

func TestSIGKILLKeepsHeldLocksAndFencingGoesOn(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir, true)
	tok := p.token
	held := p.call(t, "POST", "/locks/held/acquire", tok, map[string]any{"ttl_seconds": 3600, "owner": "holder-1"})
	var maxToken float64
	for i := 0; i < 20; i++ {
		r := p.call(t, "POST", "/locks/churn/acquire", tok, map[string]any{"ttl_seconds": 60})
		maxToken = max(maxToken, r["fencing_token"].(float64))
		p.call(t, "POST", "/locks/churn/release", tok, map[string]any{"lease_id": r["lease_id"]})
	}
	released := p.call(t, "POST", "/locks/released/acquire", tok, map[string]any{"ttl_seconds": 3600})
	p.call(t, "POST", "/locks/released/release", tok, map[string]any{"lease_id": released["lease_id"]})

	for round := 0; round < 3; round++ {
		p.kill(syscall.SIGKILL)
		p = start(t, dir, false)
		s := p.call(t, "GET", "/locks/held", tok, nil)
		if s["status"] != "held" || s["fencing_token"] != held["fencing_token"] {
			t.Fatalf("round %d: held lock after SIGKILL: %v", round, s)
		}
		again := p.call(t, "POST", "/locks/held/acquire", tok, map[string]any{"ttl_seconds": 3600, "owner": "holder-1"})
		if again["lease_id"] != held["lease_id"] {
			t.Fatalf("round %d: holder lost its lease: %v", round, again)
		}
		if s := p.call(t, "GET", "/locks/released", tok, nil); s["status"] != "free" {
			t.Fatalf("round %d: released lock came back: %v", round, s)
		}
		r := p.call(t, "POST", "/locks/churn/acquire", tok, map[string]any{"ttl_seconds": 60})
		if r["fencing_token"].(float64) <= maxToken {
			t.Fatalf("round %d: token %v after %v", round, r["fencing_token"], maxToken)
		}
		maxToken = r["fencing_token"].(float64)
		p.call(t, "POST", "/locks/churn/release", tok, map[string]any{"lease_id": r["lease_id"]})
	}
	p.kill(syscall.SIGKILL)
	db, err := sql.Open("sqlite", filepath.Join(dir, "octostore.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var verdict string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&verdict); err != nil || verdict != "ok" {
		t.Fatalf("integrity_check: %q %v", verdict, err)
	}
}

func TestSecondServerOnTheSameDatabaseRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	start(t, dir, true)
	cmd := exec.Command(binary, "--bind-addr", "127.0.0.1:0")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if code := exitCode(err); code != 1 || !strings.Contains(stderr.String(), "in use by another octostore-lock process") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
}

func TestSIGTERMShutsDownCleanly(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir, true)
	p.call(t, "POST", "/locks/x/acquire", p.token, map[string]any{"ttl_seconds": 60})
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.waitErr != nil {
			t.Fatalf("exit: %v\n%s", p.waitErr, p.stdout)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	if !strings.Contains(p.stdout.String(), "stopped cleanly") {
		t.Fatalf("stdout: %s", p.stdout)
	}
	// The WAL was checkpointed and closed: only the database file remains.
	if _, err := os.Stat(filepath.Join(dir, "octostore.db-wal")); !os.IsNotExist(err) {
		t.Fatalf("WAL left behind: %v", err)
	}
}

func TestBadConfigurationExits2WithAClearMessage(t *testing.T) {
	cases := map[string][]string{
		"MAX_LOCKS_PER_ACCOUNT=abc": {"MAX_LOCKS_PER_ACCOUNT=abc"},
		"MAX_LOCKS_PER_ACCOUNT=0":   {"MAX_LOCKS_PER_ACCOUNT=0"},
		"LOG_LEVEL=loud":            {"LOG_LEVEL=loud"},
		"ADMIN_KEY too short":       {"ADMIN_KEY=short"},
		"missing env file":          {"ENV_FILE=does-not-exist.env"},
	}
	for name, env := range cases {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(binary)
			cmd.Dir = t.TempDir()
			cmd.Env = env
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if code := exitCode(cmd.Run()); code != 2 || !strings.HasPrefix(stderr.String(), "octostore-lock: ") {
				t.Fatalf("exit %d, stderr %q", code, stderr.String())
			}
		})
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// Long-polls must not hold up a shutdown: SIGTERM answers a 60-second watch and a
// 60-second waiting acquire at once (with the current state), then the server stops
// cleanly, well within the 30-second shutdown timeout.
func TestSIGTERMEndsLongPollsAndShutsDownCleanly(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir, true)
	p.call(t, "POST", "/locks/x/acquire", p.token, map[string]any{"ttl_seconds": 3600, "owner": "a"})
	rev := p.call(t, "GET", "/locks/x", p.token, nil)["revision"].(float64)
	type answer struct {
		body map[string]any
		err  error
	}
	// Fresh connections: a request written on an idle keep-alive connection could meet
	// the shutdown before the server reads it.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	written := make(chan struct{}, 2)
	poll := func(method, path string, body any) <-chan answer {
		out := make(chan answer, 1)
		go func() {
			var rd io.Reader
			if body != nil {
				b, _ := json.Marshal(body)
				rd = bytes.NewReader(b)
			}
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { written <- struct{}{} }}
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), method, p.url+path, rd)
			req.Header.Set("Authorization", "Bearer "+p.token)
			req.Header.Set("Content-Type", "application/json")
			res, err := fresh.Do(req)
			if err != nil {
				out <- answer{err: err}
				return
			}
			defer res.Body.Close()
			var m map[string]any
			err = json.NewDecoder(res.Body).Decode(&m)
			out <- answer{m, err}
		}()
		return out
	}
	watch := poll("GET", fmt.Sprintf("/locks/x?index=%d&wait_seconds=60", int64(rev)), nil)
	wait := poll("POST", "/locks/x/acquire", map[string]any{"ttl_seconds": 60, "owner": "b", "wait_seconds": 60})
	// Once both requests are written and a later connection has been answered, the
	// server has accepted their connections (it accepts in order), and Shutdown waits
	// for them rather than dropping them.
	for range 2 {
		<-written
	}
	req, _ := http.NewRequest("GET", p.url+"/health", nil)
	if res, err := fresh.Do(req); err != nil {
		t.Fatal(err)
	} else {
		res.Body.Close()
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	for name, ch := range map[string]<-chan answer{"watch": watch, "acquire": wait} {
		select {
		case a := <-ch:
			if a.err != nil || a.body["status"] != "held" {
				t.Fatalf("%s: %v %v", name, a.body, a.err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s still waiting after SIGTERM", name)
		}
	}
	select {
	case <-p.exited:
		if p.waitErr != nil || !strings.Contains(p.stdout.String(), "stopped cleanly") {
			t.Fatalf("exit: %v\n%s", p.waitErr, p.stdout)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}

// A server that listened and exited at once (armed to crash at its first request, which
// the running load sends immediately) has started: await must not report it as a server
// that never came up, whichever of the two it sees first.
func TestAwaitCountsAListenedServerAsStartedEvenIfItExited(t *testing.T) {
	for i := 0; i < 200; i++ {
		p := &proc{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan struct{})}
		s := &spawned{p: p, addr: make(chan string, 1), token: make(chan string, 1)}
		s.addr <- "127.0.0.1:1"
		close(p.exited)
		if err := s.await(time.Second, false); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		if p.url != "http://127.0.0.1:1" {
			t.Fatalf("attempt %d: url %q", i, p.url)
		}
	}
}
