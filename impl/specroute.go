package impl

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	middleware "github.com/oapi-codegen/nethttp-middleware"
)

// specRouter finds a request's operation in the spec: the same answers as kin-openapi's
// gorillamux router (the same routes, tried in the same order, the same path parameters,
// still percent-encoded, and the same errors), without its cost. gorillamux tries one
// regular expression per path of the spec, about 60, on every request: 8 % of the
// server's CPU in a durable lock cycle. This compares path segments instead.
//
// It relies on what the spec's paths are: every template segment is a literal or one
// whole `{parameter}`, which matches one non-empty segment (gorilla/mux's `[^/]+`).
// newSpecRouter refuses a spec with any other template.
type specRouter struct {
	spec   *openapi3.T
	routes []specRoute // in the spec's matching order, as gorillamux tries them
}

type specRoute struct {
	path     string
	item     *openapi3.PathItem
	segments []string                 // after the leading "/"; a parameter is "" with its name in params
	params   []string                 // the parameter name of each segment, "" for a literal
	methods  map[string]*routedMethod // the path's operations by method, built once
}

// routedMethod is one operation of a path, built once and only ever read: the route
// FindRoute answers, and what the validator needs to check its security apart from the
// rest (see validateRequest).
type routedMethod struct {
	route routers.Route
	// security is what kin-openapi checks for the operation: its own requirements, or
	// the spec's when it names none.
	security openapi3.SecurityRequirements
	// unsecured is route with an operation that is a copy without security
	// requirements, for kin-openapi to check everything else.
	unsecured routers.Route
	// pattern is the route as the ServeMux names it ("POST /locks/{name}/acquire"), the
	// metrics' label.
	pattern string
}

func newSpecRouter(spec *openapi3.T) (*specRouter, error) {
	if len(spec.Servers) > 0 {
		return nil, fmt.Errorf("spec router: the spec names servers; only the server-less spec is routed")
	}
	r := &specRouter{spec: spec}
	for _, path := range spec.Paths.InMatchingOrder() {
		if !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("spec router: path %q does not start with /", path)
		}
		rt := specRoute{path: path, item: spec.Paths.Value(path)}
		if len(rt.item.Servers) > 0 {
			return nil, fmt.Errorf("spec router: path %q names servers of its own", path)
		}
		for _, seg := range strings.Split(path[1:], "/") {
			name := ""
			if strings.ContainsAny(seg, "{}") {
				if !strings.HasPrefix(seg, "{") || !strings.HasSuffix(seg, "}") || strings.Count(seg, "{") != 1 || strings.Contains(seg, ":") || len(seg) < 3 {
					return nil, fmt.Errorf("spec router: path %q: segment %q is neither a literal nor one whole parameter", path, seg)
				}
				name, seg = seg[1:len(seg)-1], ""
			}
			rt.segments = append(rt.segments, seg)
			rt.params = append(rt.params, name)
		}
		rt.methods = map[string]*routedMethod{}
		for method, op := range rt.item.Operations() {
			m := &routedMethod{route: routers.Route{Spec: spec, Path: path, PathItem: rt.item, Method: method, Operation: op},
				security: spec.Security, pattern: method + " " + path}
			if op.Security != nil {
				m.security = *op.Security
			}
			bare := *op
			bare.Security = &openapi3.SecurityRequirements{}
			m.unsecured = m.route
			m.unsecured.Operation = &bare
			rt.methods[method] = m
		}
		r.routes = append(r.routes, rt)
	}
	return r, nil
}

// FindRoute implements routers.Router. The route it answers is shared by every request
// and must not be changed.
func (r *specRouter) FindRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	m, params, err := r.find(req)
	if err != nil {
		return nil, nil, err
	}
	return &m.route, params, nil
}

func (r *specRouter) find(req *http.Request) (*routedMethod, map[string]string, error) {
	path := req.URL.EscapedPath()
	if !strings.HasPrefix(path, "/") {
		return nil, nil, routers.ErrPathNotFound
	}
	var segs [12]string // the spec's deepest path has 7 segments
	n, ok := splitPath(path[1:], segs[:])
	if !ok {
		return nil, nil, routers.ErrPathNotFound
	}
	for i := range r.routes {
		rt := &r.routes[i]
		if !rt.matches(segs[:n]) {
			continue
		}
		m := rt.methods[req.Method]
		if m == nil {
			return nil, nil, routers.ErrMethodNotAllowed
		}
		vars := make(map[string]string, 2)
		for j, name := range rt.params {
			if name != "" {
				vars[name] = segs[j]
			}
		}
		return m, vars, nil
	}
	return nil, nil, routers.ErrPathNotFound
}

// splitPath splits p at "/" into out, reporting false when it has more segments than out
// holds (no route has that many).
func splitPath(p string, out []string) (int, bool) {
	n := 0
	for {
		if n == len(out) {
			return 0, false
		}
		i := strings.IndexByte(p, '/')
		if i < 0 {
			out[n] = p
			return n + 1, true
		}
		out[n], p = p[:i], p[i+1:]
		n++
	}
}

func (rt *specRoute) matches(segs []string) bool {
	if len(segs) != len(rt.segments) {
		return false
	}
	for i, s := range segs {
		if rt.params[i] != "" {
			if s == "" {
				return false
			}
		} else if s != rt.segments[i] {
			return false
		}
	}
	return true
}

// validator checks every request against the spec (route, parameters, body and
// security, which authenticates) with kin-openapi, and answers what fails through
// onError; what passes goes to next. It is nethttp-middleware's
// OapiRequestValidatorWithOptions with the route found by router instead of a
// gorillamux router of its own, and the same statuses for onError.
func validator(router *specRouter, opts *openapi3filter.Options, onError func(context.Context, error, http.ResponseWriter, *http.Request, middleware.ErrorHandlerOpts)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m, params, err := validateRequest(router, opts, r)
			if m == nil {
				onError(r.Context(), err, w, r, middleware.ErrorHandlerOpts{StatusCode: http.StatusNotFound})
				return
			}
			if info := infoFrom(r.Context()); info != nil {
				info.pattern = m.pattern
			}
			route := &m.route
			if err == nil {
				next.ServeHTTP(w, r)
				return
			}
			eo := middleware.ErrorHandlerOpts{MatchedRoute: &middleware.ErrorHandlerOptsMatchedRoute{Route: route, PathParams: params}}
			switch e := err.(type) {
			case openapi3.MultiError: // only with Options.MultiError, which the server does not set
				eo.StatusCode = http.StatusInternalServerError
			case *openapi3filter.RequestError:
				eo.StatusCode = http.StatusBadRequest
			case *openapi3filter.SecurityRequirementsError:
				eo.StatusCode = http.StatusUnauthorized
			default:
				err = fmt.Errorf("error validating route: %w", e)
				eo.StatusCode = http.StatusInternalServerError
			}
			onError(r.Context(), err, w, r, eo)
		})
	}
}

// validateRequest is openapi3filter.ValidateRequest on the operation router finds for r
// (nil when it finds none, with its error), with one difference in how, not in what: the
// security requirements are checked first, as ValidateRequest checks them, but without
// the body. kin-openapi reads the whole body into memory before calling the
// authentication function, in case it reads the body; none of the server's does. The
// rest is ValidateRequest's on the route without its security requirements.
func validateRequest(router *specRouter, opts *openapi3filter.Options, r *http.Request) (*routedMethod, map[string]string, error) {
	m, params, err := router.find(r)
	if err != nil {
		return nil, nil, err
	}
	input := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: &m.unsecured, Options: opts}
	body := r.Body
	r.Body = http.NoBody
	err = openapi3filter.ValidateSecurityRequirements(r.Context(), input, m.security)
	r.Body = body
	if err == nil {
		err = openapi3filter.ValidateRequest(r.Context(), input)
	}
	return m, params, err
}
