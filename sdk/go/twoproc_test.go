package octostore_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	octostore "github.com/octostore/octostore/sdk/go"
)

// Two processes of one program, sharing one token and setting no owner, must exclude
// each other: each runs cycles of lock → read a counter file → pause → write it + 1 →
// unlock. Any overlap loses an increment, so the counter is exact only with mutual
// exclusion. The children are this test binary, re-run with OCTOSTORE_TWOPROC set.

const twoProcCycles = 25

func TestTwoProcessesSharingATokenExcludeEachOther(t *testing.T) {
	if os.Getenv("OCTOSTORE_TWOPROC") != "" {
		t.Skip("child process")
	}
	srv := startTestServer(t)
	for _, mode := range []string{"mutex", "election"} {
		t.Run(mode, func(t *testing.T) {
			counter := filepath.Join(t.TempDir(), "counter")
			if err := os.WriteFile(counter, []byte("0"), 0o600); err != nil {
				t.Fatal(err)
			}
			var children []*exec.Cmd
			for i := 0; i < 2; i++ {
				cmd := exec.Command(os.Args[0], "-test.run=^TestTwoProcChild$", "-test.count=1")
				cmd.Env = append(os.Environ(), "OCTOSTORE_TWOPROC="+mode, "OCTOSTORE_TWOPROC_URL="+srv.url,
					"OCTOSTORE_TWOPROC_TOKEN="+srv.token, "OCTOSTORE_COUNTER="+counter)
				out := &strings.Builder{}
				cmd.Stdout, cmd.Stderr = out, out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				children = append(children, cmd)
				t.Cleanup(func() {
					cmd.Process.Kill()
					if t.Failed() {
						t.Logf("child %d: %s", cmd.Process.Pid, out)
					}
				})
			}
			for _, c := range children {
				if err := c.Wait(); err != nil {
					t.Fatalf("child %d: %v", c.Process.Pid, err)
				}
			}
			b, _ := os.ReadFile(counter)
			if got, want := strings.TrimSpace(string(b)), strconv.Itoa(2*twoProcCycles); got != want {
				t.Fatalf("counter %s after 2 × %d exclusive increments, want %s: the two processes held at once", got, twoProcCycles, want)
			}
			t.Logf("%s: counter %s = 2 × %d, exact", mode, b, twoProcCycles)
		})
	}
}

// TestTwoProcChild is the worker of the test above; it runs only as its child.
func TestTwoProcChild(t *testing.T) {
	mode := os.Getenv("OCTOSTORE_TWOPROC")
	if mode == "" {
		t.Skip("runs as a child of TestTwoProcessesSharingATokenExcludeEachOther")
	}
	c, err := octostore.New(os.Getenv("OCTOSTORE_TWOPROC_URL"), os.Getenv("OCTOSTORE_TWOPROC_TOKEN"))
	if err != nil {
		t.Fatal(err)
	}
	counter := os.Getenv("OCTOSTORE_COUNTER")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	increment := func() {
		b, err := os.ReadFile(counter)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		time.Sleep(5 * time.Millisecond) // widen the window an overlap would need
		if err := os.WriteFile(counter, []byte(strconv.Itoa(n+1)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < twoProcCycles; i++ {
		switch mode {
		case "mutex": // no WithOwner: the helper's default owner
			m, err := octostore.NewMutex(c, "twoproc-mutex", octostore.WithTTL(15*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Do(ctx, func(context.Context) error {
				increment()
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		case "election":
			e, err := octostore.NewElection(c, "twoproc-election", octostore.WithTTL(15*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Campaign(ctx, fmt.Sprintf("pid-%d", os.Getpid())); err != nil {
				t.Fatal(err)
			}
			increment()
			if err := e.Resign(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
}
