package e2e

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/octostore/octostore/impl/auth/githubtest"
)

// TestDashboardInChromium starts the real octostore-lock binary and a stand-in GitHub,
// then runs dashboard.test.mjs with node --test. It needs Debian's chromium and the npm
// packages of this directory, which `make test-e2e` installs and which sets
// OCTOSTORE_E2E=1; without that it is skipped.
func TestDashboardInChromium(t *testing.T) {
	if os.Getenv("OCTOSTORE_E2E") == "" {
		t.Skip("browser test: run `make test-e2e`, which installs chromium and playwright-core and sets OCTOSTORE_E2E=1")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("chromium: %v (make test-e2e installs it)", err)
	}
	if _, err := os.Stat(filepath.Join("node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core: %v (run npm ci in this directory, or make test-e2e)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	dir := t.TempDir()
	bin := filepath.Join(dir, "octostore-lock")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "../../../cmd/octostore-lock").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	addr := freeLoopbackAddr(t)
	base := "http://" + addr
	gh := githubtest.NewServer(base + "/auth/github/callback")
	defer gh.Close()
	startServer(t, bin, filepath.Join(dir, "github"), addr,
		"GITHUB_CLIENT_ID="+gh.ClientID,
		"GITHUB_CLIENT_SECRET="+gh.ClientSecret,
		"GITHUB_REDIRECT_URI="+base+"/auth/github/callback",
		"GITHUB_BASE_URL="+gh.URL,
		"GITHUB_API_URL="+gh.APIURL(),
		"GITHUB_AVATAR_URL="+gh.AvatarURL(),
	)
	// A second server as a self-hoster without GitHub runs it: token sign-in and the
	// operator view.
	const adminKey = "e2e-admin-key-0123456789abcdef"
	plainAddr := freeLoopbackAddr(t)
	startServer(t, bin, filepath.Join(dir, "plain"), plainAddr, "ADMIN_KEY="+adminKey)

	shots, err := filepath.Abs("screenshots")
	if err != nil {
		t.Fatal(err)
	}
	node := exec.CommandContext(ctx, "node", "--test", "--test-reporter=spec", "dashboard.test.mjs")
	node.Env = append(os.Environ(),
		"OCTOSTORE_URL="+base,
		"OCTOSTORE_PLAIN_URL=http://"+plainAddr,
		"ADMIN_KEY="+adminKey,
		"GITHUB_URL="+gh.URL,
		"SCREENSHOT_DIR="+shots,
		"CHROMIUM="+chromium,
	)
	out, err := node.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	node.Stderr = node.Stdout
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		t.Log(sc.Text())
	}
	io.Copy(io.Discard, out)
	if err := node.Wait(); err != nil {
		t.Fatalf("node --test: %v", err)
	}
	for _, name := range []string{"dashboard", "signed-out", "token-signed-out", "token-dashboard", "operator"} {
		for _, size := range []string{"desktop", "phone"} {
			if fi, err := os.Stat(filepath.Join(shots, name+"-"+size+".png")); err != nil || fi.Size() == 0 {
				t.Errorf("screenshot %s-%s: %v", name, size, err)
			}
		}
	}
	t.Logf("screenshots in %s", shots)
}

// startServer runs the octostore-lock binary on addr with its data in dir and the given
// settings, waits until it is healthy, and stops it (SIGTERM, by its PID) when the test
// ends.
func startServer(t *testing.T, bin, dir, addr string, env ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	server := exec.Command(bin)
	server.Dir = dir
	server.Env = append([]string{"BIND_ADDR=" + addr, "DATABASE_URL=" + filepath.Join(dir, "octostore.db")}, env...)
	logs := &strings.Builder{}
	server.Stdout, server.Stderr = logs, logs
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- server.Wait() }()
	t.Cleanup(func() {
		server.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("server exit: %v", err)
			}
		case <-time.After(30 * time.Second):
			server.Process.Kill()
			<-exited
			t.Error("server did not stop on SIGTERM")
		}
		if t.Failed() {
			t.Logf("server %s log:\n%s", addr, logs.String())
		}
	})
	waitHealthy(t, "http://"+addr, exited)
}

// freeLoopbackAddr returns a loopback address with a port that was free a moment ago.
// The server needs its port before it starts: it is part of the redirect URI.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitHealthy polls /health until the server answers, it exits, or 30 s pass.
func waitHealthy(t *testing.T, base string, exited <-chan error) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for attempt := 0; time.Now().Before(deadline) && attempt < 600; attempt++ {
		select {
		case err := <-exited:
			t.Fatalf("server exited before serving: %v", err)
		default:
		}
		if res, err := client.Get(base + "/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("server did not become healthy within 30 s")
}
