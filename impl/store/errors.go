package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors the store reports, translated from driver errors in this one place.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrClosed means the committer has stopped (shutdown) or failed; nothing more is
	// accepted.
	ErrClosed = errors.New("store is closed")
	// ErrUnavailable means the database does not accept writes now: the disk is full,
	// read-only or failing, or the file was replaced or removed under the running
	// process. Nothing was written; the server recovers when the disk does.
	ErrUnavailable = errors.New("database does not accept writes")
	// ErrMissing means the database file is missing or empty although a marker says a
	// database existed there: it is not silently started afresh.
	ErrMissing = errors.New("database is missing or empty but existed before")
)

// translate maps driver errors to the store's errors, keeping the original wrapped.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return errors.Join(ErrNotFound, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return errors.Join(ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return errors.Join(ErrNotFound, err)
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN:
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	return err
}

// reason names the cause of a refused write in words safe for a public health check.
func reason(err error) string {
	var se *sqlite.Error
	code := 0
	if errors.As(err, &se) {
		code = se.Code() & 0xff
	}
	switch {
	case errors.Is(err, errReplaced):
		return "the database file or its WAL was removed or replaced under the running server; restart it"
	case code == sqlite3.SQLITE_FULL || errors.Is(err, syscall.ENOSPC):
		return "disk full"
	case code == sqlite3.SQLITE_READONLY || errors.Is(err, syscall.EROFS):
		return "read-only file system"
	case errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES):
		return "permission denied"
	case code == sqlite3.SQLITE_IOERR || errors.Is(err, syscall.EIO):
		return "i/o error"
	}
	return "the database does not accept writes"
}
