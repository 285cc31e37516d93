//go:build failpoints

package failpoint

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Env names the failpoints to arm: "name=N[,name=N…]" crashes the process
// (SIGKILL, no clean-up of any kind) the Nth time it reaches the named boundary.
const Env = "OCTOSTORE_FAILPOINTS"

type armed struct {
	at   int64
	hits atomic.Int64
}

var failpoints = sync.OnceValue(func() map[string]*armed {
	out := map[string]*armed{}
	for _, spec := range strings.Split(os.Getenv(Env), ",") {
		name, n, ok := strings.Cut(strings.TrimSpace(spec), "=")
		at, err := strconv.ParseInt(n, 10, 64)
		if ok && err == nil && at > 0 {
			out[name] = &armed{at: at}
		}
	}
	return out
})

// Hit crashes the process when name is armed and reached for the Nth time.
func Hit(name string) {
	fp := failpoints()[name]
	if fp == nil || fp.hits.Add(1) != fp.at {
		return
	}
	fmt.Fprintf(os.Stderr, "failpoint %s: crashing at hit %d\n", name, fp.at)
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Kill()
	}
	select {} // the signal is on its way; go no further
}
