package octostore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	octostore "github.com/octostore/octostore/sdk/go"
)

// The conformance harness, as sdk/conformance/README.md prescribes it for every SDK: one
// octostore-lock per distinct server.env, started lazily in a fresh directory with an
// environment of its own, and accounts and tokens made through the admin API.

// conformanceBinary is $OCTOSTORE_BIN, or the server TestMain built from this repository.
func conformanceBinary() (string, error) {
	bin := os.Getenv("OCTOSTORE_BIN")
	if bin == "" {
		bin = serverBinary
	}
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("conformance: server binary %q is not an executable file (set OCTOSTORE_BIN, e.g. to bin/octostore-lock from make build)", bin)
	}
	return bin, nil
}

// servers starts one server per distinct server.env on first use and stops them all.
type servers struct {
	bin string

	mu    sync.Mutex
	byEnv map[string]*lazyServer
}

type lazyServer struct {
	once sync.Once
	srv  *confServer
	err  error
}

func newServers(bin string) *servers {
	return &servers{bin: bin, byEnv: map[string]*lazyServer{}}
}

// get returns the server for env, starting it if it is the first to ask.
func (s *servers) get(env map[string]string) (*confServer, error) {
	var key strings.Builder
	for _, k := range slices.Sorted(maps.Keys(env)) {
		fmt.Fprintf(&key, "%s=%s\n", k, env[k])
	}
	s.mu.Lock()
	l := s.byEnv[key.String()]
	if l == nil {
		l = &lazyServer{}
		s.byEnv[key.String()] = l
	}
	s.mu.Unlock()
	l.once.Do(func() { l.srv, l.err = startConfServer(s.bin, env) })
	return l.srv, l.err
}

// stopAll stops every server that was started; it reports the first failure.
func (s *servers) stopAll() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, l := range s.byEnv {
		l.once.Do(func() {}) // none is being started any more
		if l.srv != nil {
			errs = append(errs, l.srv.stop())
		}
	}
	return errors.Join(errs...)
}

// confServer is one running octostore-lock.
type confServer struct {
	dir      string
	url      string
	adminKey string
	cmd      *exec.Cmd
	exited   chan struct{}
	admin    *octostore.ClientWithResponses
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func startConfServer(bin string, env map[string]string) (*confServer, error) {
	dir, err := os.MkdirTemp("", "octostore-conformance-")
	if err != nil {
		return nil, err
	}
	s := &confServer{dir: dir, adminKey: randomHex(16), exited: make(chan struct{})}
	emptyEnv := filepath.Join(dir, "empty.env")
	if err := os.WriteFile(emptyEnv, nil, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	stdout, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer stderr.Close()

	cmd := exec.Command(bin, "--bind-addr", "127.0.0.1:0")
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"ADMIN_KEY=" + s.adminKey,
		"DATABASE_URL=" + filepath.Join(dir, "octostore.db"),
		"ENV_FILE=" + emptyEnv,
		"LOG_LEVEL=info",
		"LOG_FORMAT=text",
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s.cmd = cmd
	go func() {
		cmd.Wait()
		close(s.exited)
	}()

	addr, err := s.waitListening(15 * time.Second)
	if err != nil {
		logs := s.logs()
		s.stop()
		return nil, fmt.Errorf("octostore-lock did not start: %w\n%s", err, logs)
	}
	s.url = "http://" + addr
	s.admin, err = octostore.NewClientWithResponses(s.url, octostore.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("X-Admin-Key", s.adminKey)
		return nil
	}))
	if err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// waitListening polls the stdout file for the listening line.
func (s *confServer) waitListening(limit time.Duration) (string, error) {
	deadline := time.Now().Add(limit)
	for {
		out, _ := os.ReadFile(filepath.Join(s.dir, "stdout.log"))
		if m := listening.FindSubmatch(out); m != nil {
			return string(m[1]), nil
		}
		select {
		case <-s.exited:
			return "", errors.New("the process exited")
		default:
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no listening line in %v", limit)
		}
		time.Sleep(20 * time.Millisecond) // the poll interval the harness convention sets
	}
}

func (s *confServer) logs() string {
	out, _ := os.ReadFile(filepath.Join(s.dir, "stdout.log"))
	errOut, _ := os.ReadFile(filepath.Join(s.dir, "stderr.log"))
	return fmt.Sprintf("--- stdout\n%s--- stderr\n%s", out, errOut)
}

// stop sends SIGTERM, waits up to 10 s, then SIGKILL; it removes the directory.
func (s *confServer) stop() error {
	defer os.RemoveAll(s.dir)
	select {
	case <-s.exited:
		return nil
	default:
	}
	s.cmd.Process.Signal(syscall.SIGCONT) // a scenario may have left it paused
	s.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-s.exited:
		return nil
	case <-t.C:
		s.cmd.Process.Kill()
		<-s.exited
		return errors.New("octostore-lock ignored SIGTERM for 10 s: killed")
	}
}

// createAccount makes the account "<label>-<12 random hex>" and returns it with its
// first token.
func (s *confServer) createAccount(ctx context.Context, label string) (*octostore.CreatedAccount, error) {
	res, err := s.admin.CreateAccountWithResponse(ctx, octostore.CreateAccountRequest{Name: label + "-" + randomHex(6)})
	if err != nil {
		return nil, fmt.Errorf("create account: %w", err)
	}
	if res.JSON201 == nil {
		return nil, fmt.Errorf("create account: HTTP %d %s", res.StatusCode(), res.Body)
	}
	return res.JSON201, nil
}

// createToken issues another token (another holder) in the account.
func (s *confServer) createToken(ctx context.Context, accountID string) (*octostore.IssuedToken, error) {
	res, err := s.admin.CreateTokenWithResponse(ctx, accountID, octostore.CreateTokenJSONRequestBody{})
	if err != nil {
		return nil, fmt.Errorf("create token: %w", err)
	}
	if res.JSON201 == nil {
		return nil, fmt.Errorf("create token: HTTP %d %s", res.StatusCode(), res.Body)
	}
	return res.JSON201, nil
}
