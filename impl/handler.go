package impl

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/google/uuid"

	"github.com/octostore/octostore/gen"
	"github.com/octostore/octostore/impl/auth"
)

func init() {
	openapi3filter.RegisterBodyDecoder("application/json", decodeJSONBody)
	// Lease ids from crypto/rand 256 bytes at a time instead of one read of 16 per
	// grant. It must be switched on before any id is made (not safe to change
	// concurrently), so here, before the server exists.
	uuid.EnableRandPool()
}

// maxJSONDepth bounds how deeply a request body's arrays and objects nest. It is checked
// by a byte scan before any decoding, so a deep body costs one pass over its bytes.
const maxJSONDepth = 32

var (
	errTooDeep      = errors.New("json nested too deeply")
	errTrailingData = errors.New("data after the JSON value")
)

// decodeJSONBody is the validator's JSON decoder: a depth check, kin-openapi's own
// decoding, plus a refusal of anything after the first JSON value, so
// `{"ttl_seconds":1}{…}` is not half-read.
func decodeJSONBody(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, &openapi3filter.ParseError{Kind: openapi3filter.KindInvalidFormat, Cause: err}
	}
	if jsonDepthExceeds(data, maxJSONDepth) {
		return nil, &openapi3filter.ParseError{Kind: openapi3filter.KindInvalidFormat, Cause: errTooDeep}
	}
	if !utf8.Valid(data) {
		return nil, &openapi3filter.ParseError{Kind: openapi3filter.KindInvalidFormat, Cause: errInvalidUTF8}
	}
	if v, ok := decodeFast(data); ok {
		return v, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &openapi3filter.ParseError{Kind: openapi3filter.KindInvalidFormat, Cause: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &openapi3filter.ParseError{Kind: openapi3filter.KindInvalidFormat, Cause: errTrailingData}
	}
	return v, nil
}

var errInvalidUTF8 = errors.New("body is not valid UTF-8")

// jsonDepthExceeds reports whether data nests arrays or objects deeper than limit,
// skipping brackets inside strings. It does not validate; the decoder does that after.
func jsonDepthExceeds(data []byte, limit int) bool {
	depth := 0
	inString, escaped := false, false
	for _, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
			if depth > limit {
				return true
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return false
}

// Handler returns the server's HTTP handler: request ids and logging, panic recovery,
// rate limits (before any body is read), the body limit, spec validation with
// authentication, then the strict handlers.
func (s *Server) Handler() (http.Handler, error) {
	spec, err := gen.GetSwagger()
	if err != nil {
		return nil, fmt.Errorf("load embedded spec: %w", err)
	}
	spec.Servers = nil
	strict := gen.NewStrictHandlerWithOptions(s, nil, gen.StrictHTTPServerOptions{
		RequestErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			s.writeProblem(w, r, decodeProblem(err))
		},
		ResponseErrorHandlerFunc: s.writeError,
	})
	mux := http.NewServeMux()
	api := gen.HandlerWithOptions(strict, gen.StdHTTPServerOptions{
		BaseRouter: mux,
		ErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, _ error) {
			s.writeProblem(w, r, problem{http.StatusBadRequest, gen.ProblemCodeInvalidRequest, "A path or query parameter is not valid."})
		},
	})
	router, err := newSpecRouter(spec)
	if err != nil {
		return nil, err
	}
	s.specRouter = router
	validate := validator(router, s.validationOptions(), s.validationError)
	s.routes = mux
	return s.observe(s.recoverPanics(s.forward(s.throttle(clearStateCookie(s.sameOriginSignIn(s.limitBody(s.acceptCurl(headAsGet(validate(api)))))))))), nil
}

// validationOptions are kin-openapi's options for checking requests.
func (s *Server) validationOptions() *openapi3filter.Options {
	return &openapi3filter.Options{
		SchemaValidationOptions: []openapi3.SchemaValidationOption{
			// One map for every request: WithStringFormatValidator would make a new one
			// each time kin-openapi applies the options (every parameter and body).
			openapi3.WithStringFormatValidators(map[string]openapi3.StringFormatValidator{"uuid": uuidFormat{}}),
			openapi3.SetSchemaRegexCompiler(compilePattern),
		},
		AuthenticationFunc:                s.authenticate,
		RejectWhenRequestBodyNotSpecified: true,
		KeepValidatedValue:                true, // as nethttp-middleware sets it
	}
}

// headAsGet serves HEAD on every GET operation (RFC 9110 §9.3.2): the request is
// validated and handled as the GET it stands for, with the same status and headers;
// net/http sends no body for a HEAD request whatever the handler writes.
func headAsGet(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			get := r.Clone(r.Context())
			get.Method = http.MethodGet
			r = get
		}
		next.ServeHTTP(w, r)
	})
}

// allowedMethods lists the methods the spec defines for r's path, for the Allow header
// of a 405 (RFC 9110 §15.5.6): HEAD goes with GET. It asks the spec's router once per
// method, so its cost is bounded.
func (s *Server) allowedMethods(r *http.Request) string {
	if s.specRouter == nil {
		return ""
	}
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := m
		if m == http.MethodHead {
			probe = http.MethodGet
		}
		req := r.Clone(r.Context())
		req.Method = probe
		if _, _, err := s.specRouter.FindRoute(req); err == nil {
			allowed = append(allowed, m)
		}
	}
	return strings.Join(allowed, ", ")
}

// authenticate is the validator's AuthenticationFunc: it checks the credentials an
// operation's security requirement names and records the caller in the request.
func (s *Server) authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	r := in.RequestValidationInput.Request
	switch in.SecuritySchemeName {
	case "BearerAuth":
		token, ok := auth.ParseBearer(r.Header.Get("Authorization"))
		if !ok {
			return errNoBearer
		}
		info := infoFrom(r.Context())
		if info != nil && info.bearer != "" && info.bearer == token {
			info.principal = info.verified
			return nil
		}
		p, err := s.auth.Authenticate(token)
		if err != nil {
			return err
		}
		if info != nil {
			info.principal = p
		}
		return nil
	case "AdminKey":
		if s.cfg.AdminKey == "" {
			return errAdminDisabled
		}
		if !auth.KeyMatches(r.Header.Get("X-Admin-Key"), s.cfg.AdminKey) {
			return errAdminForbidden
		}
		return nil
	case "AdminSession":
		sid, op, err := s.authenticateOperator(r)
		if err != nil {
			return err
		}
		if info := infoFrom(r.Context()); info != nil {
			info.operator, info.operatorID = op, sid
		}
		return nil
	case "SessionCookie":
		sess, err := s.authenticateSession(r)
		if err != nil {
			return err
		}
		if info := infoFrom(r.Context()); info != nil {
			info.principal = auth.Principal{AccountID: sess.Link.AccountID, TokenID: sess.Link.TokenID}
			info.session = sess
		}
		return nil
	}
	return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
}

// requestInfo travels with each request.
type requestInfo struct {
	id        string
	principal auth.Principal
	// pattern is the operation the validator routed the request to, as the ServeMux
	// names it (see Server.route).
	pattern string
	// bearer is the bearer token the throttle verified, and verified its principal, so
	// that the validator's security check does not hash and look it up a second time.
	bearer    string
	verified  auth.Principal
	session   auth.Session // dashboard requests only
	stateUsed bool         // the sign-in callback used the browser's state (signin.go)
	header    http.Header  // the request's headers, for content negotiation (asset.go)
	request   *http.Request
	// operator is the operator session of a request made with its cookie, and
	// operatorID the cookie's value (for sign-out).
	operator   auth.OperatorSession
	operatorID string
}

type infoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(infoKey{}).(*requestInfo)
	return info
}

// principal returns the authenticated caller of a request.
func principal(ctx context.Context) auth.Principal {
	if info := infoFrom(ctx); info != nil {
		return info.principal
	}
	return auth.Principal{}
}

// requestID returns the request's id, or "" outside a request.
func requestID(ctx context.Context) string {
	if info := infoFrom(ctx); info != nil {
		return info.id
	}
	return ""
}

var (
	requestPrefix  = newRequestPrefix()
	requestCounter atomic.Uint64
)

func newRequestPrefix() string {
	var b [5]byte
	rand.Read(b[:])
	return base32.StdEncoding.EncodeToString(b[:])
}

// validRequestID accepts a caller's X-Request-Id when it is short and plain, so it is
// safe to log and echo.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// The constant response headers observe sets, as net/http stores them. They are
// shared between responses and must never be written into.
var (
	headerNosniff    = []string{"nosniff"}
	headerDeny       = []string{"DENY"}
	headerNoReferrer = []string{"no-referrer"}
	headerNoStore    = []string{"no-store"}
	headerJSON       = []string{"application/json"}
)

// observe gives every request an id (echoed in X-Request-Id and problem bodies) and logs
// it: server errors at error level, the rest at debug. Bodies and headers are never
// logged, so neither tokens nor lease ids reach the log.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = requestPrefix + "-" + strconv.FormatUint(requestCounter.Add(1), 36)
		}
		info := &requestInfo{id: id, header: r.Header, request: r}
		h := w.Header()
		h.Set("X-Request-Id", id)
		// Every answer: no MIME sniffing, no framing (the API reference and the
		// dashboard included), no referrer to other sites. The values are shared
		// read-only slices (set under canonical keys), not one allocation each per
		// request: Set and Add replace or grow a value, never write into it.
		h["X-Content-Type-Options"] = headerNosniff
		h["X-Frame-Options"] = headerDeny
		h["Referrer-Policy"] = headerNoReferrer
		h["Server"] = s.serverHeaderValue
		if noStore(r.URL.Path) {
			h["Cache-Control"] = headerNoStore // a handler may set its own (the avatar)
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), infoKey{}, info)))
		if m := s.cfg.Metrics; m != nil {
			m.request(s.route(r, info), sw.status, time.Since(start))
		}
		level, gone := slog.LevelDebug, r.Context().Err() != nil
		if sw.status >= 500 && !gone {
			level = slog.LevelError
		}
		if s.log.Enabled(r.Context(), level) {
			s.log.LogAttrs(r.Context(), level, "request",
				slog.String("request_id", id),
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", sw.status),
				slog.Duration("took", time.Since(start)),
				slog.String("account_id", info.principal.AccountID),
				slog.Bool("client_gone", gone),
			)
		}
	})
}

// noStore reports whether answers to path must never be kept by a cache: the sign-in
// and token routes, whose answers carry tokens or set cookies, the admin API, and the
// dashboard's JSON.
func noStore(path string) bool {
	return strings.HasPrefix(path, "/auth/") || strings.HasPrefix(path, "/admin/") || strings.HasPrefix(path, "/dashboard/")
}

// recoverPanics turns a panicking handler into a 500 problem and a logged stack.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "panic", "request_id", requestID(r.Context()), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			s.writeProblem(w, r, problem{http.StatusInternalServerError, gen.ProblemCodeInternal, "The server failed to handle the request; it has been logged."})
		}()
		next.ServeHTTP(w, r)
	})
}

// DefaultMaxHeaderBytes is the default bound on a request's header fields.
const DefaultMaxHeaderBytes = 16 << 10

// HeaderReadLimit is what the http.Server in front of Handler should set as its
// MaxHeaderBytes: more than the server's own bound, so that requests with headers a
// little over it reach limitBody and get a 431 problem+json, and URLs longer than that
// bound reach the validator. Beyond this (plus the 4 KiB
// net/http adds), net/http itself answers 431 in text/plain and closes the connection
// before any handler runs; that cannot be changed without parsing HTTP ourselves.
const HeaderReadLimit = 64 << 10

// headerBytes is the size of r's header fields as sent, which is what MaxHeaderBytes
// bounds. The request line is not counted: a long query is the validator's to judge (400
// for a parameter over its maxLength), and net/http bounds the whole at HeaderReadLimit.
func headerBytes(r *http.Request) int {
	n := 0
	if r.Host != "" {
		n += len("Host: ") + len(r.Host) + 2
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n
}

// limitBody bounds what a request may send: headers over MaxHeaderBytes get 431, bodies
// over MaxBodyBytes 413 (at once when Content-Length says so, while reading otherwise).
// A body of unknown length (chunked) is read here, within the bound, so that the
// validator sees its length: a body sent to an operation that takes none is then refused
// with 400 whatever its framing.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if headerBytes(r) > s.cfg.MaxHeaderBytes {
			s.writeProblem(w, r, problem{http.StatusRequestHeaderFieldsTooLarge, gen.ProblemCodeHeadersTooLarge,
				fmt.Sprintf("Request header fields are limited to %d bytes in all.", s.cfg.MaxHeaderBytes)})
			return
		}
		if r.ContentLength > s.cfg.MaxBodyBytes {
			s.writeProblem(w, r, problemTooLarge(s.cfg.MaxBodyBytes))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		if r.ContentLength < 0 {
			body, err := io.ReadAll(r.Body)
			r.Body.Close()
			if err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					s.writeProblem(w, r, problemTooLarge(s.cfg.MaxBodyBytes))
					return
				}
				s.writeProblem(w, r, problem{http.StatusBadRequest, gen.ProblemCodeInvalidRequest, "The request body could not be read."})
				return
			}
			r.Body, r.ContentLength = http.NoBody, 0
			if len(body) > 0 {
				r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			}
		}
		next.ServeHTTP(w, r)
	})
}
