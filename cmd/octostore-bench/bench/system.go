// Package bench drives lock services with a closed-loop load and measures them: the
// scenarios of octostore-bench, an HDR latency histogram, error counts by code and a
// safety check that no two clients held one lock at once and that fencing tokens only
// grew. A System adapts one lock service (OctoStore here; etcd and Redis in the compare
// module), so every service runs the very same scenario code.
package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// ErrUnsupported means a system has no such operation (for example a blocking acquire);
// a scenario that needs it is reported as unsupported, never emulated.
var ErrUnsupported = errors.New("operation not supported by this system")

// Grant is the outcome of an acquire.
type Grant struct {
	Acquired bool   // false: someone else holds the lock
	Lease    string // the handle to renew or release the lease with
	Token    int64  // the fencing token, when Acquired
}

// Client is one caller of a lock service: one holder identity and one connection's worth
// of requests. A Client is used by one goroutine at a time.
type Client interface {
	// Acquire takes name if it is free and never waits.
	Acquire(ctx context.Context, name string) (Grant, error)
	// AcquireWait waits up to wait for name to become free (a blocking acquire). It
	// returns ErrUnsupported when the system has no blocking acquire.
	AcquireWait(ctx context.Context, name string, wait time.Duration) (Grant, error)
	// Renew extends the lease.
	Renew(ctx context.Context, name, lease string) error
	// Release ends the lease.
	Release(ctx context.Context, name, lease string) error
	// Status reads the lock's state, changing nothing.
	Status(ctx context.Context, name string) error
	// Close releases the client's resources.
	Close() error
}

// System is one lock service under test.
type System interface {
	// Name labels results ("octostore", "etcd", ...).
	Name() string
	// Clients returns n clients that are distinct holders. With shared set they contend
	// for the same lock names (one namespace); otherwise each may get a namespace of its
	// own so that per-namespace quotas never cap a run.
	Clients(ctx context.Context, n int, shared bool) ([]Client, error)
}

// CodeError is a failed request with the service's stable error code.
type CodeError struct {
	Code   string
	Status int // the HTTP status, when there is one
}

func (e *CodeError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("%s (HTTP %d)", e.Code, e.Status)
	}
	return e.Code
}

// ErrorCode names an error for the "errors by code" count: the service's code when it
// gave one, otherwise the kind of failure.
func ErrorCode(err error) string {
	var ce *CodeError
	switch {
	case errors.As(err, &ce):
		return ce.Code
	case errors.Is(err, ErrUnsupported):
		return "unsupported"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection_reset"
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return "network"
	}
	return "other"
}
