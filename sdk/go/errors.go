package octostore

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Errors of the Mutex and Election helpers, for errors.Is.
var (
	// ErrLocked means TryLock found the lock held by someone else.
	ErrLocked = errors.New("octostore: lock is held by someone else")
	// ErrNotHeld means the helper does not hold its lock (Unlock, Resign or Proclaim
	// without a successful Lock or Campaign, or after the lease was lost).
	ErrNotHeld = errors.New("octostore: lock is not held")
	// ErrLost means the lease ended before it was released: the server no longer knew it
	// (lease_not_current) or no renewal succeeded before it expired.
	ErrLost = errors.New("octostore: lease lost")
	// ErrNoLeader means an election has no leader at the moment.
	ErrNoLeader = errors.New("octostore: election has no leader")
)

// LockedError is the error of a TryLock that found the lock held by someone else;
// errors.Is(err, ErrLocked) holds for it.
type LockedError struct {
	// HolderID identifies the holder: its token id, and /owner when it sent one. It is
	// empty while a lock-delay keeps the lock and nobody holds it.
	HolderID string
	// ExpiresAt is when the holder's lease ends unless it is renewed.
	ExpiresAt time.Time
	// RetryAfter is the server's hint for when trying again is worthwhile.
	RetryAfter time.Duration
	// AvailableAt is, while a lock-delay keeps the lock, when the delay ends (zero
	// otherwise).
	AvailableAt time.Time
}

func (e *LockedError) Error() string { return fmt.Sprintf("%v (holder %s)", ErrLocked, e.HolderID) }

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// ProblemError is an error response of the API (application/problem+json).
type ProblemError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Problem is the decoded body; its Code is stable and machine-readable.
	Problem Problem
	// RetryAfter is the Retry-After header of a 429 or 503, zero when absent.
	RetryAfter time.Duration
}

func (e *ProblemError) Error() string {
	msg := fmt.Sprintf("octostore: %d %s", e.StatusCode, e.Problem.Code)
	if e.Problem.Detail != nil {
		msg += ": " + *e.Problem.Detail
	}
	return msg
}

// HasCode reports whether err is a ProblemError with the given code.
func HasCode(err error, code ProblemCode) bool {
	var p *ProblemError
	return errors.As(err, &p) && p.Problem.Code == code
}

// problemFrom turns a response that is not the expected 200 into an error.
func problemFrom(res *http.Response, body []byte) error {
	if res == nil {
		return errors.New("octostore: no response")
	}
	p := &ProblemError{StatusCode: res.StatusCode}
	if err := json.Unmarshal(body, &p.Problem); err != nil || p.Problem.Code == "" {
		p.Problem = Problem{Code: ProblemCodeInternal, Status: int32(res.StatusCode), Title: http.StatusText(res.StatusCode)}
	}
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s >= 0 {
		p.RetryAfter = time.Duration(s) * time.Second
	}
	return p
}

// retryable reports whether the server asked to be tried again later (429, 503), and
// when.
func retryable(err error) (time.Duration, bool) {
	var p *ProblemError
	if !errors.As(err, &p) || (p.StatusCode != http.StatusTooManyRequests && p.StatusCode != http.StatusServiceUnavailable) {
		return 0, false
	}
	return max(p.RetryAfter, 100*time.Millisecond), true
}
