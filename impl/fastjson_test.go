package impl

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"

	"github.com/octostore/octostore/gen"
)

// fastJSONStrings are the strings the encoders are tried with: plain, needing JSON or
// HTML escapes, control bytes, non-ASCII, U+2028, invalid UTF-8.
var fastJSONStrings = []string{"", "job", "tok_8f3a1c9d2e7b/worker-7", `a"b`, `back\slash`, "<script>&", "tab\there", "nl\n", "\x00\x1f", "é ß 日本", "\u2028\u2029", "\xff\xfe", "10.0.0.7:8080", "~!#$%^*()"}

func randomValues(rng *rand.Rand) (gen.AcquireResult, gen.LockStatus) {
	str := func() string { return fastJSONStrings[rng.IntN(len(fastJSONStrings))] }
	tm := func() time.Time {
		return time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).In([]*time.Location{time.UTC, time.FixedZone("x", 3600)}[rng.IntN(2)])
	}
	i64 := func() int64 { return []int64{0, 1, -1, 42, 1 << 53, rng.Int64()}[rng.IntN(6)] }
	maybe := func() bool { return rng.IntN(2) == 0 }
	holder := func() nullable.Nullable[string] {
		switch rng.IntN(3) {
		case 0:
			return nil
		case 1:
			return nullable.NewNullNullable[string]()
		}
		return nullable.NewNullableWithValue(str())
	}
	a := gen.AcquireResult{Status: gen.AcquireResultStatus(str()), HolderId: holder(), ExpiresAt: tm()}
	if maybe() {
		id := uuid.New()
		a.LeaseId = &id
	}
	if maybe() {
		v := i64()
		a.FencingToken = &v
	}
	if maybe() {
		v := i64()
		a.RenewAfterMs = &v
	}
	if maybe() {
		v := i64()
		a.RetryAfterMs = &v
	}
	if maybe() {
		v := tm()
		a.AvailableAt = &v
	}
	s := gen.LockStatus{Name: str(), Status: gen.LockStatusStatus(str()), Revision: i64(), HolderId: holder()}
	if maybe() {
		v := i64()
		s.FencingToken = &v
	}
	if maybe() {
		v := tm()
		s.ExpiresAt = &v
	}
	if maybe() {
		v := str()
		s.Metadata = &v
	}
	if maybe() {
		v := int32(rng.IntN(65))
		s.MaxHolders = &v
	}
	switch rng.IntN(4) {
	case 0:
	case 1:
		var none []gen.LockHolder
		s.Holders = &none
	default:
		hs := make([]gen.LockHolder, rng.IntN(4))
		for i := range hs {
			hs[i] = gen.LockHolder{HolderId: str(), FencingToken: i64(), ExpiresAt: tm()}
			if maybe() {
				v := str()
				hs[i].Metadata = &v
			}
		}
		s.Holders = &hs
	}
	if maybe() {
		v := tm()
		s.AvailableAt = &v
	}
	return a, s
}

// TestFastAnswersAreEncodingJSONsBytes holds every hand-written answer to the bytes,
// status and Content-Type the generated encoder gives the same value.
func TestFastAnswersAreEncodingJSONsBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	same := func(what string, fast, want func(http.ResponseWriter) error) {
		t.Helper()
		fr, wr := httptest.NewRecorder(), httptest.NewRecorder()
		if err := fast(fr); err != nil {
			t.Fatal(err)
		}
		if err := want(wr); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fr.Body.Bytes(), wr.Body.Bytes()) || fr.Code != wr.Code || fr.Header().Get("Content-Type") != wr.Header().Get("Content-Type") {
			t.Fatalf("%s:\n fast %d %q %s\n json %d %q %s", what, fr.Code, fr.Header().Get("Content-Type"), fr.Body, wr.Code, wr.Header().Get("Content-Type"), wr.Body)
		}
		var v any
		if err := json.Unmarshal(fr.Body.Bytes(), &v); err != nil {
			t.Fatalf("%s: not JSON: %v", what, err)
		}
	}
	for range 20000 {
		a, s := randomValues(rng)
		same("acquire", acquireAnswer(a).VisitAcquireLockResponse, gen.AcquireLock200JSONResponse(a).VisitAcquireLockResponse)
		same("status", statusAnswer(s).VisitGetLockResponse, gen.GetLock200JSONResponse(s).VisitGetLockResponse)
		id := uuid.New()
		tok, ms := rng.Int64(), rng.Int64N(1e6)
		st := fastJSONStrings[rng.IntN(len(fastJSONStrings))]
		ren := gen.RenewLock200JSONResponse{Status: gen.RenewResultStatus(st), LeaseId: id, FencingToken: tok, ExpiresAt: a.ExpiresAt, RenewAfterMs: ms}
		same("renew", renewAnswer(ren).VisitRenewLockResponse, ren.VisitRenewLockResponse)
		rel := gen.ReleaseLock200JSONResponse{Status: gen.ReleaseResultStatus(st), LeaseId: id, FencingToken: tok}
		same("release", releaseAnswer(rel).VisitReleaseLockResponse, rel.VisitReleaseLockResponse)
	}
}
