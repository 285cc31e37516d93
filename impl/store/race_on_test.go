//go:build race

package store

// raceEnabled: SQLite under the race detector is some ten times slower, so the
// model test runs a small sample there; `make test` also runs it in full without -race.
const raceEnabled = true
