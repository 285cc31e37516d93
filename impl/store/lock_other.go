//go:build !unix

package store

import (
	"errors"
	"os"
)

// lockFile refuses: without flock a second process could corrupt the single-writer
// guarantees the server relies on.
func lockFile(string) (*os.File, error) {
	return nil, errors.New("octostore-lock runs on Unix-like systems only")
}
