package impl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	middleware "github.com/oapi-codegen/nethttp-middleware"

	"github.com/octostore/octostore/gen"
	"github.com/octostore/octostore/impl/auth"
	"github.com/octostore/octostore/impl/lease"
	"github.com/octostore/octostore/impl/store"
)

// This file is the one place where errors become HTTP responses. Every error response is
// application/problem+json with a stable code; no Go error text reaches a client.

// lockNameRule is the spec's LockName constraint in words: the pattern's character set
// and length, without the dot segments "." and "..", which URL path cleaning (Go's mux
// redirects them) would turn into another path.
const lockNameRule = "Lock names match ^[A-Za-z0-9.-]{1,128}$ and are not . or .."

// problem is an error response before it is written.
type problem struct {
	status int
	code   gen.ProblemCode
	detail string
}

var titles = map[gen.ProblemCode]string{
	gen.ProblemCodeInvalidRequest:       "Invalid request",
	gen.ProblemCodeInvalidLockName:      "Invalid lock name",
	gen.ProblemCodeInvalidTtl:           "Invalid TTL",
	gen.ProblemCodeInvalidCursor:        "Invalid cursor",
	gen.ProblemCodeInvalidLimit:         "Invalid limit",
	gen.ProblemCodeUnauthorized:         "Unauthorized",
	gen.ProblemCodeLeaseNotCurrent:      "Lease not current",
	gen.ProblemCodeLockLimitExceeded:    "Lock limit exceeded",
	gen.ProblemCodeMaxHoldersMismatch:   "max_holders mismatch",
	gen.ProblemCodeSessionNotFound:      "Session not found",
	gen.ProblemCodeSessionLimitExceeded: "Session limit exceeded",
	gen.ProblemCodeSessionMismatch:      "Session mismatch",
	gen.ProblemCodeAccountExists:        "Account exists",
	gen.ProblemCodeAccountNotFound:      "Account not found",
	gen.ProblemCodeAdminDisabled:        "Admin API disabled",
	gen.ProblemCodeNotFound:             "Not found",
	gen.ProblemCodeMethodNotAllowed:     "Method not allowed",
	gen.ProblemCodePayloadTooLarge:      "Payload too large",
	gen.ProblemCodeHeadersTooLarge:      "Request headers too large",
	gen.ProblemCodeUnsupportedMediaType: "Unsupported media type",
	gen.ProblemCodeRateLimited:          "Rate limited",
	gen.ProblemCodeTooManyWaiters:       "Too many waiting requests",
	gen.ProblemCodeUnavailable:          "Service unavailable",
	gen.ProblemCodeInternal:             "Internal server error",
	gen.ProblemCodeSigninNotConfigured:  "Sign-in not configured",
	gen.ProblemCodeSigninFailed:         "Sign-in failed",
	gen.ProblemCodeGithubUnavailable:    "GitHub unavailable",
	gen.ProblemCodeForbidden:            "Forbidden",
	gen.ProblemCodeNoLeader:             "No leader",
	gen.ProblemCodeTokenNotFound:        "Token not found",
	gen.ProblemCodeTokenLimitExceeded:   "Token limit exceeded",
}

// Errors raised while authenticating, before any handler runs.
var (
	errNoBearer       = errors.New("no bearer token")
	errAdminDisabled  = errors.New("admin API disabled")
	errAdminForbidden = errors.New("wrong admin key")
	errSignInOff      = errors.New("github sign-in not configured")
	errNoSession      = errors.New("no dashboard session")
	errCrossSite      = errors.New("cross-site request or wrong csrf token")
	// errNoOperatorSession: no operator session cookie, or it ended.
	errNoOperatorSession = errors.New("no operator session")
	// errWrongToken: a token pasted into the dashboard's sign-in is not a live one.
	errWrongToken = errors.New("wrong token for dashboard sign-in")
	// errNoAvatar: the session has no GitHub user, so no avatar.
	errNoAvatar = errors.New("session has no avatar")
)

var (
	problemInvalidCursor = problem{http.StatusBadRequest, gen.ProblemCodeInvalidCursor,
		"The cursor is not one this list handed out; start again without a cursor."}
	problemInvalidLimit = problem{http.StatusBadRequest, gen.ProblemCodeInvalidLimit,
		fmt.Sprintf("limit must be an integer from 1 to %d.", maxPageSize)}
)

var problemSignInOff = problem{http.StatusNotFound, gen.ProblemCodeSigninNotConfigured,
	"GitHub sign-in is not configured on this server: set GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET and GITHUB_REDIRECT_URI."}

// problemFor maps a domain error to its response.
func (s *Server) problemFor(err error) problem {
	switch {
	case errors.As(err, new(rateLimitedError)):
		return problem{http.StatusTooManyRequests, gen.ProblemCodeRateLimited,
			"This account is over its request rate limit. Retry after the time in Retry-After."}
	case errors.Is(err, errTooManyWaiters):
		return problem{http.StatusTooManyRequests, gen.ProblemCodeTooManyWaiters,
			fmt.Sprintf("Too many waiting requests (blocking acquires and watches): at most %d per account and %d in all. Retry after the time in Retry-After, or without wait_seconds.",
				s.waiters.perAccount, s.waiters.total)}
	case errors.Is(err, errInvalidCursor):
		return problemInvalidCursor
	case errors.Is(err, errInvalidLimit):
		return problemInvalidLimit
	case errors.Is(err, lease.ErrNotCurrent):
		return problem{http.StatusConflict, gen.ProblemCodeLeaseNotCurrent,
			"The lease is not this lock's current lease: it is unknown, released, expired, or another lock's. Acquire the lock again."}
	case errors.Is(err, lease.ErrLimitExceeded):
		return problem{http.StatusConflict, gen.ProblemCodeLockLimitExceeded,
			fmt.Sprintf("This account holds %d active locks, its limit. Release or let some expire first.", s.cfg.MaxLocksPerAccount)}
	case errors.Is(err, lease.ErrMaxHoldersMismatch):
		return problem{http.StatusConflict, gen.ProblemCodeMaxHoldersMismatch,
			"The lock's current holders (or its lock-delay, or its line) agreed on another max_holders; send the same value."}
	case errors.Is(err, lease.ErrSessionNotFound):
		return problem{http.StatusNotFound, gen.ProblemCodeSessionNotFound,
			"The session is unknown, expired or deleted (or another account's). Create a new session."}
	case errors.Is(err, lease.ErrSessionLimitExceeded):
		return problem{http.StatusConflict, gen.ProblemCodeSessionLimitExceeded,
			fmt.Sprintf("This account has %d sessions, its limit. Delete some or let them expire first.", s.maxSessions())}
	case errors.Is(err, lease.ErrSessionMismatch):
		return problem{http.StatusConflict, gen.ProblemCodeSessionMismatch,
			"This holder holds the lock already through another session (or none). Release it first, or acquire with the same session_id."}
	case errors.Is(err, errTTLNeeded):
		return problem{http.StatusBadRequest, gen.ProblemCodeInvalidTtl, "ttl_seconds is required unless the acquire names a session_id."}
	case errors.Is(err, errIndexWithoutPrefix):
		return problem{http.StatusBadRequest, gen.ProblemCodeInvalidRequest, "index and wait_seconds on GET /locks watch a prefix: send prefix too."}
	case errors.Is(err, lease.ErrMetadataTooLarge):
		return problem{http.StatusBadRequest, gen.ProblemCodeInvalidRequest,
			fmt.Sprintf("metadata is limited to %d characters.", lease.MaxMetadataChars)}
	case errors.Is(err, lease.ErrInvalid):
		return problem{http.StatusBadRequest, gen.ProblemCodeInvalidRequest, "The request is not valid."}
	case errors.Is(err, auth.ErrUnauthorized), errors.Is(err, lease.ErrAccountDropped):
		return problem{http.StatusUnauthorized, gen.ProblemCodeUnauthorized, "Send a valid token as Authorization: Bearer <token>."}
	case errors.Is(err, auth.ErrAccountExists):
		return problem{http.StatusConflict, gen.ProblemCodeAccountExists, "An account with that name exists already."}
	case errors.Is(err, auth.ErrAccountNotFound):
		return problem{http.StatusNotFound, gen.ProblemCodeAccountNotFound, "No account has that id."}
	case errors.Is(err, auth.ErrTokenNotFound):
		return problem{http.StatusNotFound, gen.ProblemCodeTokenNotFound, "This account has no live token with that id."}
	case errors.Is(err, auth.ErrTokenLimit):
		return problem{http.StatusConflict, gen.ProblemCodeTokenLimitExceeded,
			fmt.Sprintf("This account has %d live tokens, its limit (MAX_TOKENS_PER_ACCOUNT). Revoke one first.", s.auth.MaxTokensPerAccount())}
	case errors.Is(err, auth.ErrInvalidTokenName):
		return problem{http.StatusBadRequest, gen.ProblemCodeInvalidRequest, "name: must match ^[A-Za-z0-9._-]{1,64}$"}
	case errors.Is(err, errSignInOff):
		return problemSignInOff
	case errors.Is(err, errWrongToken):
		return problem{http.StatusUnauthorized, gen.ProblemCodeUnauthorized,
			"That token is not valid: it is mistyped, revoked, or its account was deleted. No session was started."}
	case errors.Is(err, errAdminDisabled):
		return problem{http.StatusNotFound, gen.ProblemCodeAdminDisabled, "The admin API is off: the server has no ADMIN_KEY."}
	case errors.Is(err, errAdminForbidden):
		return problem{http.StatusUnauthorized, gen.ProblemCodeUnauthorized, "That is not the server's admin key. No session was started."}
	case errors.Is(err, errCrossSite):
		return problem{http.StatusForbidden, gen.ProblemCodeForbidden, "Dashboard sign-in and changes need a same-origin request."}
	case errors.Is(err, errNoAvatar):
		return problem{http.StatusNotFound, gen.ProblemCodeNotFound, "This session signed in with a token, so it has no GitHub avatar."}
	case errors.Is(err, auth.ErrStateInvalid):
		return problem{http.StatusBadRequest, gen.ProblemCodeSigninFailed,
			"This sign-in is not valid for this browser, took longer than 10 minutes, or was used already. Start again at /auth/github."}
	case errors.Is(err, auth.ErrSignInDenied):
		return problem{http.StatusBadRequest, gen.ProblemCodeSigninFailed, "GitHub did not authorize the sign-in. Start again at /auth/github."}
	case errors.Is(err, auth.ErrCodeRejected):
		return problem{http.StatusBadRequest, gen.ProblemCodeSigninFailed, "GitHub refused the sign-in code. Start again at /auth/github."}
	case errors.Is(err, auth.ErrGitHubUnavailable):
		return problem{http.StatusBadGateway, gen.ProblemCodeGithubUnavailable, "GitHub could not be reached or answered unexpectedly. Try again shortly."}
	case errors.Is(err, ErrNoLeader):
		return problem{http.StatusServiceUnavailable, gen.ProblemCodeNoLeader,
			"This cluster node knows no leader now (an election is under way, or it is cut off from a majority). A write that got this answer may or may not have been committed; retry with the same token and owner after Retry-After."}
	case errors.Is(err, errNotACluster):
		return problem{http.StatusNotFound, gen.ProblemCodeNotFound, "This server is a single node, not a cluster node."}
	case errors.Is(err, ErrUnknownNode):
		return problem{http.StatusNotFound, gen.ProblemCodeNotFound, "No node of the cluster has that id."}
	case errors.Is(err, ErrUnavailable), errors.Is(err, store.ErrUnavailable):
		return problem{http.StatusServiceUnavailable, gen.ProblemCodeUnavailable,
			"The database does not accept writes now (disk full, read-only or failing, or its file was replaced); nothing was changed. The server recovers by itself; retry after Retry-After."}
	case errors.Is(err, ErrClosed), errors.Is(err, store.ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return problem{http.StatusServiceUnavailable, gen.ProblemCodeUnavailable, "The server is shutting down or cannot write to its database. Retry shortly."}
	case errors.Is(err, lease.ErrTokensExhausted):
		return problem{http.StatusServiceUnavailable, gen.ProblemCodeUnavailable, "Fencing tokens are exhausted."}
	}
	return problem{http.StatusInternalServerError, gen.ProblemCodeInternal, "The server failed to handle the request; it has been logged."}
}

// writeError writes err as a problem response, logging it when it is the server's fault.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := s.problemFor(err)
	if limited := (rateLimitedError{}); errors.As(err, &limited) {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(limited.retryAfter.Seconds()))))
	}
	if p.status >= 500 && !errors.Is(err, context.Canceled) {
		s.log.ErrorContext(r.Context(), "request failed", "request_id", requestID(r.Context()), "err", err)
	}
	s.writeProblem(w, r, p)
}

// writeProblem writes a problem+json response.
func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, p problem) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	switch p.status {
	case http.StatusUnauthorized:
		if p.code == gen.ProblemCodeUnauthorized && !strings.HasPrefix(r.URL.Path, "/admin/") {
			h.Set("WWW-Authenticate", `Bearer realm="octostore"`)
		}
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		if h.Get("Retry-After") == "" {
			h.Set("Retry-After", "1")
		}
	}
	w.WriteHeader(p.status)
	json.NewEncoder(w).Encode(gen.Problem{
		Type:      "urn:octostore:problem:" + string(p.code),
		Title:     titles[p.code],
		Status:    int32(p.status),
		Code:      p.code,
		Detail:    &p.detail,
		RequestId: requestID(r.Context()),
	})
}

// problemTooLarge is the 413 for a body over limit bytes.
func problemTooLarge(limit int64) problem {
	return problem{http.StatusRequestEntityTooLarge, gen.ProblemCodePayloadTooLarge,
		fmt.Sprintf("Request bodies are limited to %d bytes.", limit)}
}

// validationError is the request validator's error handler: it turns kin-openapi's
// findings into problems. A 405 names the path's methods in Allow (RFC 9110).
func (s *Server) validationError(_ context.Context, err error, w http.ResponseWriter, r *http.Request, opts middleware.ErrorHandlerOpts) {
	p := validationProblem(err, opts)
	if p.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", s.allowedMethods(r))
	}
	s.writeProblem(w, r, p)
}

func validationProblem(err error, opts middleware.ErrorHandlerOpts) problem {
	if opts.MatchedRoute == nil {
		if errors.Is(err, routers.ErrMethodNotAllowed) {
			return problem{http.StatusMethodNotAllowed, gen.ProblemCodeMethodNotAllowed, "This path does not support that method."}
		}
		return problem{http.StatusNotFound, gen.ProblemCodeNotFound, "No such endpoint. The API reference is at /docs."}
	}
	// The body limit can trip while the validator reads the body, even during
	// authentication.
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return problemTooLarge(tooLarge.Limit)
	}
	var secErr *openapi3filter.SecurityRequirementsError
	if errors.As(err, &secErr) {
		for _, e := range secErr.Errors {
			if errors.Is(e, errAdminDisabled) {
				return problem{http.StatusNotFound, gen.ProblemCodeAdminDisabled, "The admin API is off: the server has no ADMIN_KEY."}
			}
		}
		for _, e := range secErr.Errors {
			switch {
			case errors.Is(e, errSignInOff):
				return problemSignInOff
			case errors.Is(e, errNoSession):
				return problem{http.StatusUnauthorized, gen.ProblemCodeUnauthorized, "Not signed in, or the session ended. Sign in again at /dashboard."}
			case errors.Is(e, errCrossSite):
				return problem{http.StatusForbidden, gen.ProblemCodeForbidden,
					"Dashboard changes need a same-origin request carrying the session's X-CSRF-Token."}
			}
		}
		for _, e := range secErr.Errors {
			if errors.Is(e, errAdminForbidden) {
				return problem{http.StatusUnauthorized, gen.ProblemCodeUnauthorized, "Send the operator's key in the X-Admin-Key header."}
			}
			if errors.Is(e, errNoOperatorSession) {
				return problem{http.StatusUnauthorized, gen.ProblemCodeUnauthorized, "No operator session, or it ended (after 15 minutes). Paste the admin key again at /dashboard."}
			}
		}
		return problem{http.StatusUnauthorized, gen.ProblemCodeUnauthorized, "Send a valid token as Authorization: Bearer <token>."}
	}
	var reqErr *openapi3filter.RequestError
	if !errors.As(err, &reqErr) {
		return problem{http.StatusBadRequest, gen.ProblemCodeInvalidRequest, "The request does not match the API."}
	}
	if reqErr.Parameter != nil {
		if reqErr.Parameter.Name == "name" && reqErr.Parameter.In == openapi3.ParameterInPath {
			return problem{http.StatusBadRequest, gen.ProblemCodeInvalidLockName, lockNameRule + "."}
		}
		if reqErr.Parameter.In == openapi3.ParameterInQuery {
			switch reqErr.Parameter.Name {
			case "cursor":
				return problemInvalidCursor
			case "limit":
				return problemInvalidLimit
			}
		}
		return problem{http.StatusBadRequest, gen.ProblemCodeInvalidRequest,
			fmt.Sprintf("Parameter %q (in %s) is not valid.", reqErr.Parameter.Name, reqErr.Parameter.In)}
	}
	if reqErr.RequestBody == nil {
		return problem{http.StatusBadRequest, gen.ProblemCodeInvalidRequest, "This endpoint takes no request body."}
	}
	return bodyProblem(reqErr)
}

var problemUnsupportedMedia = problem{http.StatusUnsupportedMediaType, gen.ProblemCodeUnsupportedMediaType, "Send the request body as application/json."}

// bodyProblem maps a request body's validation error by its type and structure, never by
// its message: kin-openapi's messages render the offending value, so their cost and size
// grow with the input.
func bodyProblem(reqErr *openapi3filter.RequestError) problem {
	if reqErr.Err == nil {
		// The only body finding without a cause: no content type of the operation matches.
		return problemUnsupportedMedia
	}
	if errors.Is(reqErr.Err, openapi3filter.ErrInvalidRequired) || errors.Is(reqErr.Err, openapi3filter.ErrInvalidEmptyValue) {
		return problem{http.StatusBadRequest, gen.ProblemCodeInvalidRequest, "A JSON request body is required."}
	}
	var parseErr *openapi3filter.ParseError
	if errors.As(reqErr.Err, &parseErr) {
		switch {
		case errors.Is(parseErr, errTooDeep):
			return problem{http.StatusBadRequest, gen.ProblemCodeInvalidRequest,
				fmt.Sprintf("JSON request bodies nest at most %d arrays or objects deep.", maxJSONDepth)}
		case parseErr.Kind == openapi3filter.KindUnsupportedFormat, parseErr.Kind == openapi3filter.KindOther:
			return problemUnsupportedMedia
		}
		return problem{http.StatusBadRequest, gen.ProblemCodeInvalidRequest, "The request body is not valid JSON: " + jsonSyntaxDetail(parseErr)}
	}
	var schemaErr *openapi3.SchemaError
	if errors.As(reqErr.Err, &schemaErr) {
		field := fieldName(schemaErr.JSONPointer())
		if field == "ttl_seconds" {
			return problem{http.StatusBadRequest, gen.ProblemCodeInvalidTtl, "ttl_seconds must be an integer from 1 to 3600."}
		}
		return problem{http.StatusBadRequest, gen.ProblemCodeInvalidRequest, field + ": " + schemaExpectation(schemaErr)}
	}
	return problem{http.StatusBadRequest, gen.ProblemCodeInvalidRequest, "The request body is not valid JSON for this endpoint."}
}

// maxFieldName bounds the field path echoed in a problem's detail.
const maxFieldName = 64

// fieldName renders a JSON pointer as a field path of bounded length.
func fieldName(ptr []string) string {
	f := strings.Join(ptr, "/")
	if f == "" {
		return "body"
	}
	if len(f) > maxFieldName {
		f = strings.ToValidUTF8(f[:maxFieldName], "") + "…"
	}
	return f
}

// schemaExpectation says what the schema expected, built from the schema (the spec's
// size), not from the value or kin-openapi's message.
func schemaExpectation(e *openapi3.SchemaError) string {
	sc := e.Schema
	if sc == nil {
		return "is not valid"
	}
	switch e.SchemaField {
	case "type", "nullable":
		if sc.Type != nil && len(*sc.Type) > 0 {
			return "must be " + article(strings.Join(*sc.Type, " or "))
		}
	case "format":
		if sc.Format == "uuid" {
			return "must be a UUID"
		}
		return "must be in the format " + sc.Format
	case "pattern":
		return "must match " + sc.Pattern
	case "minLength":
		return fmt.Sprintf("must be at least %d characters", sc.MinLength)
	case "maxLength":
		if sc.MaxLength != nil {
			return fmt.Sprintf("must be at most %d characters", *sc.MaxLength)
		}
	case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
		if sc.Min != nil && sc.Max != nil {
			return fmt.Sprintf("must be from %v to %v", *sc.Min, *sc.Max)
		}
		return "is out of range"
	case "enum":
		vals := make([]string, 0, len(sc.Enum))
		for _, v := range sc.Enum {
			vals = append(vals, fmt.Sprint(v))
		}
		return "must be one of " + strings.Join(vals, ", ")
	case "required":
		names := append([]string(nil), sc.Required...)
		return "must have the fields " + strings.Join(names, ", ")
	case "additionalProperties":
		names := make([]string, 0, len(sc.Properties))
		for n := range sc.Properties {
			names = append(names, n)
		}
		slices.Sort(names)
		return "has an unknown field; the fields are " + strings.Join(names, ", ")
	}
	return "does not match the schema"
}

func article(typ string) string {
	switch typ {
	case "integer", "object", "array":
		return "an " + typ
	}
	return "a " + typ
}

// jsonSyntaxDetail says where the JSON went wrong, in a bounded sentence.
func jsonSyntaxDetail(e *openapi3filter.ParseError) string {
	var syn *json.SyntaxError
	if errors.As(e, &syn) {
		return fmt.Sprintf("syntax error at byte %d.", syn.Offset)
	}
	if errors.Is(e, io.ErrUnexpectedEOF) || errors.Is(e, io.EOF) {
		return "it ends too early."
	}
	if errors.Is(e, errInvalidUTF8) {
		return "it is not valid UTF-8."
	}
	if errors.Is(e, errTrailingData) {
		return "data follows the JSON value."
	}
	return "it could not be parsed."
}

// decodeProblem maps the strict handler's body decoding error (the validator accepted the
// body, the Go type did not, e.g. ttl_seconds 5.0) to a detail naming the field.
func decodeProblem(err error) problem {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		field := fieldName(strings.Split(typeErr.Field, "."))
		if field == "ttl_seconds" {
			return problem{http.StatusBadRequest, gen.ProblemCodeInvalidTtl, "ttl_seconds must be an integer from 1 to 3600."}
		}
		expect := "is not valid"
		if typeErr.Type != nil {
			switch typeErr.Type.Kind() {
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				expect = "must be an integer"
			case reflect.String:
				expect = "must be a string"
			}
		}
		return problem{http.StatusBadRequest, gen.ProblemCodeInvalidRequest, field + ": " + expect}
	}
	return problem{http.StatusBadRequest, gen.ProblemCodeInvalidRequest, "The request body could not be decoded."}
}

// maxSessions is the per-account session limit in force.
func (s *Server) maxSessions() int {
	if s.cfg.MaxLockSessionsPerAccount > 0 {
		return s.cfg.MaxLockSessionsPerAccount
	}
	return lease.DefaultMaxSessions
}
