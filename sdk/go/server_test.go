package octostore_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The helpers are tested against the real server: TestMain builds octostore-lock from
// this repository, starts it on a free loopback port and exports OCTOSTORE_URL and
// OCTOSTORE_TOKEN, which the examples read as a user's program would.

var serverBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "octostore-sdk-test")
	if err != nil {
		panic(err)
	}
	serverBinary = filepath.Join(dir, "octostore-lock")
	build := exec.Command("go", "build", "-o", serverBinary, ".")
	build.Dir = filepath.Join("..", "..", "cmd", "octostore-lock")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build server: %v\n%s", err, out)
		os.Exit(1)
	}
	srv, err := startServer(filepath.Join(dir, "data"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("OCTOSTORE_URL", srv.url)
	os.Setenv("OCTOSTORE_TOKEN", srv.token)
	code := m.Run()
	srv.kill()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running octostore-lock.
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

// startServer runs octostore-lock with its data in dir and the extra environment env,
// and waits until it listens.
func startServer(dir string, env ...string) (*server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cmd := exec.Command(serverBinary, "--bind-addr", "127.0.0.1:0")
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	scheme := "http://"
	for _, e := range env {
		if strings.HasPrefix(e, "TLS_CERT_FILE=") {
			scheme = "https://"
		}
	}
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, exited: make(chan struct{})}
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
			s.url = scheme + a
		case s.token = <-token:
		case <-s.exited:
			return nil, fmt.Errorf("octostore-lock exited before listening")
		case <-timeout:
			s.kill()
			return nil, fmt.Errorf("octostore-lock did not start")
		}
	}
	return s, nil
}

func (s *server) kill() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// startTestServer starts a server of the test's own, killed when it ends.
func startTestServer(t *testing.T) *server {
	t.Helper()
	s, err := startServer(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.kill)
	return s
}
