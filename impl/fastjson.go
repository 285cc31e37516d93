package impl

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/oapi-codegen/nullable"

	"github.com/octostore/octostore/gen"
)

// The answers of the lock operations, written without encoding/json's reflection. The
// generated strict server encodes every answer with json.NewEncoder, which for a lock's
// status or an acquire's result took about a third of the server's own work on such a
// request (reflection over the struct, the marshalers of time.Time and nullable, and the
// compaction of their output). These types are the generated answers with a Visit
// method of their own that writes the very same bytes: fastjson_test.go holds them to
// encoding/json's output on random values.

type (
	acquireAnswer gen.AcquireLock200JSONResponse
	renewAnswer   gen.RenewLock200JSONResponse
	releaseAnswer gen.ReleaseLock200JSONResponse
	statusAnswer  gen.GetLock200JSONResponse
)

func (a acquireAnswer) VisitAcquireLockResponse(w http.ResponseWriter) error {
	return writeJSON(w, func(b []byte) []byte { return appendAcquireResult(b, (*gen.AcquireResult)(&a)) })
}

func (a renewAnswer) VisitRenewLockResponse(w http.ResponseWriter) error {
	return writeJSON(w, func(b []byte) []byte {
		b = append(b, `{"status":`...)
		b = appendString(b, string(a.Status))
		b = append(b, `,"lease_id":"`...)
		b = append(b, a.LeaseId.String()...)
		b = append(b, `","fencing_token":`...)
		b = strconv.AppendInt(b, a.FencingToken, 10)
		b = append(b, `,"expires_at":`...)
		b = appendTime(b, a.ExpiresAt)
		b = append(b, `,"renew_after_ms":`...)
		b = strconv.AppendInt(b, a.RenewAfterMs, 10)
		return append(b, '}')
	})
}

func (a releaseAnswer) VisitReleaseLockResponse(w http.ResponseWriter) error {
	return writeJSON(w, func(b []byte) []byte {
		b = append(b, `{"status":`...)
		b = appendString(b, string(a.Status))
		b = append(b, `,"lease_id":"`...)
		b = append(b, a.LeaseId.String()...)
		b = append(b, `","fencing_token":`...)
		b = strconv.AppendInt(b, a.FencingToken, 10)
		return append(b, '}')
	})
}

func (a statusAnswer) VisitGetLockResponse(w http.ResponseWriter) error {
	return writeJSON(w, func(b []byte) []byte { return appendLockStatus(b, (*gen.LockStatus)(&a)) })
}

var answerBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// writeJSON answers 200 with the JSON body fill appends, and a newline, as
// json.Encoder ends a value.
func writeJSON(w http.ResponseWriter, fill func([]byte) []byte) error {
	bp := answerBuffers.Get().(*[]byte)
	b := append(fill((*bp)[:0]), '\n')
	w.Header()["Content-Type"] = headerJSON
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b)
	if cap(b) <= 64<<10 { // a status with many holders and long metadata stays out of the pool
		*bp = b
		answerBuffers.Put(bp)
	}
	return err
}

func appendAcquireResult(b []byte, r *gen.AcquireResult) []byte {
	b = append(b, `{"status":`...)
	b = appendString(b, string(r.Status))
	if r.LeaseId != nil {
		b = append(b, `,"lease_id":"`...)
		b = append(b, r.LeaseId.String()...)
		b = append(b, '"')
	}
	if r.FencingToken != nil {
		b = append(b, `,"fencing_token":`...)
		b = strconv.AppendInt(b, *r.FencingToken, 10)
	}
	b = appendNullable(b, `,"holder_id":`, r.HolderId)
	b = append(b, `,"expires_at":`...)
	b = appendTime(b, r.ExpiresAt)
	if r.RenewAfterMs != nil {
		b = append(b, `,"renew_after_ms":`...)
		b = strconv.AppendInt(b, *r.RenewAfterMs, 10)
	}
	if r.RetryAfterMs != nil {
		b = append(b, `,"retry_after_ms":`...)
		b = strconv.AppendInt(b, *r.RetryAfterMs, 10)
	}
	if r.AvailableAt != nil {
		b = append(b, `,"available_at":`...)
		b = appendTime(b, *r.AvailableAt)
	}
	return append(b, '}')
}

func appendLockStatus(b []byte, s *gen.LockStatus) []byte {
	b = append(b, `{"name":`...)
	b = appendString(b, s.Name)
	b = append(b, `,"status":`...)
	b = appendString(b, string(s.Status))
	b = append(b, `,"revision":`...)
	b = strconv.AppendInt(b, s.Revision, 10)
	b = appendNullable(b, `,"holder_id":`, s.HolderId)
	if s.FencingToken != nil {
		b = append(b, `,"fencing_token":`...)
		b = strconv.AppendInt(b, *s.FencingToken, 10)
	}
	if s.ExpiresAt != nil {
		b = append(b, `,"expires_at":`...)
		b = appendTime(b, *s.ExpiresAt)
	}
	if s.Metadata != nil {
		b = append(b, `,"metadata":`...)
		b = appendString(b, *s.Metadata)
	}
	if s.MaxHolders != nil {
		b = append(b, `,"max_holders":`...)
		b = strconv.AppendInt(b, int64(*s.MaxHolders), 10)
	}
	if s.Holders != nil {
		if *s.Holders == nil {
			b = append(b, `,"holders":null`...)
		} else {
			b = append(b, `,"holders":[`...)
			for i, h := range *s.Holders {
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"holder_id":`...)
				b = appendString(b, h.HolderId)
				b = append(b, `,"fencing_token":`...)
				b = strconv.AppendInt(b, h.FencingToken, 10)
				b = append(b, `,"expires_at":`...)
				b = appendTime(b, h.ExpiresAt)
				if h.Metadata != nil {
					b = append(b, `,"metadata":`...)
					b = appendString(b, *h.Metadata)
				}
				b = append(b, '}')
			}
			b = append(b, ']')
		}
	}
	if s.AvailableAt != nil {
		b = append(b, `,"available_at":`...)
		b = appendTime(b, *s.AvailableAt)
	}
	return append(b, '}')
}

// appendNullable writes an omitempty nullable field: nothing when unspecified, null, or
// the value.
func appendNullable(b []byte, key string, v nullable.Nullable[string]) []byte {
	if !v.IsSpecified() {
		return b
	}
	b = append(b, key...)
	if v.IsNull() {
		return append(b, "null"...)
	}
	return appendString(b, v.MustGet())
}

// appendTime writes t as time.Time's MarshalJSON does (RFC 3339 with nanoseconds).
// Times outside years 0–9999 are left to it, for its error.
func appendTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		out, _ := t.MarshalJSON()
		return append(b, out...)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendString writes s as a JSON string exactly as encoding/json does (with its HTML
// escaping): directly when every byte is printable ASCII needing no escape, through
// json.Marshal otherwise.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			out, _ := json.Marshal(s)
			return append(b, out...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
