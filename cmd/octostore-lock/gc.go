package main

import (
	"os"
	"runtime"
)

// gcHeadroom is heap the collector counts as live but the process never touches, so it
// stays virtual memory (not resident). With the API's small live heap (a few MiB) and
// its high allocation rate, Go's default collector runs after every few MiB allocated
// and takes about a fifth of the server's CPU; counting this headroom as live makes
// collections several times rarer, at the price of that much more garbage between
// them. A large live heap (a million held locks is about 300 MiB) hardly notices it.
// Setting GOGC in the environment turns it off.
const gcHeadroom = 16 << 20

var ballast []byte

func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	ballast = make([]byte, gcHeadroom)
	runtime.KeepAlive(ballast)
}
