package impl

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/octostore/octostore/gen"
)

// specRouters returns the server's spec router and kin-openapi's gorillamux router of
// the same spec, the reference it must agree with.
func specRouters(t testing.TB) (*specRouter, routers.Router) {
	spec, err := gen.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	spec.Servers = nil
	fast, err := newSpecRouter(spec)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := gorillamux.NewRouter(spec)
	if err != nil {
		t.Fatal(err)
	}
	return fast, ref
}

// sameRoute fails unless both routers give the request the same route, parameters and
// error. target is the request line's target, parsed as net/http parses it.
func sameRoute(t testing.TB, fast *specRouter, ref routers.Router, method, target string) {
	t.Helper()
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return // not a target net/http would accept
	}
	req := &http.Request{Method: method, URL: u, Host: "127.0.0.1", Header: http.Header{}}
	gotR, gotV, gotErr := fast.FindRoute(req)
	wantR, wantV, wantErr := ref.FindRoute(req)
	if gotErr != wantErr {
		t.Fatalf("%s %s: error %v, gorillamux %v", method, target, gotErr, wantErr)
	}
	if wantErr != nil {
		return
	}
	if gotR.Path != wantR.Path || gotR.Method != wantR.Method || gotR.Operation != wantR.Operation || gotR.PathItem != wantR.PathItem || gotR.Spec != wantR.Spec {
		t.Fatalf("%s %s: route %s %s, gorillamux %s %s", method, target, gotR.Method, gotR.Path, wantR.Method, wantR.Path)
	}
	if len(gotV) != len(wantV) || (len(wantV) > 0 && !reflect.DeepEqual(gotV, wantV)) {
		t.Fatalf("%s %s: parameters %v, gorillamux %v", method, target, gotV, wantV)
	}
}

// TestSpecRouterAgreesWithGorillamux routes every operation of the spec, and paths made
// to trip a segment matcher (empty, encoded, dot, extra or missing segments, trailing
// and doubled slashes), with every method, through both routers.
func TestSpecRouterAgreesWithGorillamux(t *testing.T) {
	fast, ref := specRouters(t)
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "BREW", "get"}
	values := []string{"x", "job-1", "a.b", "", ".", "..", "%2F", "%41", "a%20b", "tok_8f3a", "ses_4f9c", "locks", "acquire", strings.Repeat("n", 200)}
	var targets []string
	for _, rt := range fast.routes {
		for _, v := range values {
			path := rt.path
			for _, name := range rt.params {
				if name != "" {
					path = strings.Replace(path, "{"+name+"}", v, 1)
				}
			}
			targets = append(targets, path, path+"/", path+"//", "/"+path, path+"/x", strings.TrimSuffix(path, "/"+lastSegment(path)))
		}
	}
	targets = append(targets, "/", "//", "/nope", "/locks/", "/locks//acquire", "/LOCKS/x", "/locks/x/ACQUIRE", "/sessions/", "/admin/", "/.well-known/x")
	n := 0
	for _, target := range targets {
		for _, m := range methods {
			sameRoute(t, fast, ref, m, target)
			n++
		}
	}
	// Random paths over the spec's own segments, to reach combinations not listed.
	rng := rand.New(rand.NewPCG(1, 2))
	var vocab []string
	for _, rt := range fast.routes {
		vocab = append(vocab, rt.segments...)
	}
	vocab = append(vocab, values...)
	for range 20000 {
		var b strings.Builder
		for range 1 + rng.IntN(8) {
			b.WriteByte('/')
			b.WriteString(vocab[rng.IntN(len(vocab))])
		}
		sameRoute(t, fast, ref, methods[rng.IntN(len(methods))], b.String())
		n++
	}
	t.Logf("%d requests routed alike", n)
}

// FuzzSpecRouter holds the two routers to the same answers on any path.
func FuzzSpecRouter(f *testing.F) {
	for _, s := range []string{"/locks/x/acquire", "/locks//acquire", "/sessions/a/renew", "/admin/accounts/a/locks/b/release", "/x%2Fy", "/"} {
		f.Add("POST", s)
	}
	fast, ref := specRouters(f)
	f.Fuzz(func(t *testing.T, method, path string) {
		if !strings.HasPrefix(path, "/") || method == "" || strings.ContainsAny(method, " \t\r\n") {
			return
		}
		sameRoute(t, fast, ref, method, path)
	})
}

func lastSegment(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// TestValidatorPatternIsTheServeMuxPattern: the metrics label the validator leaves for a
// request (the operation it routed it to) is the pattern the ServeMux serves it with, for
// every operation of the spec and path parameters that look like any literal segment of
// the spec, so that the labels are the ones they were when the ServeMux named them all.
func TestValidatorPatternIsTheServeMuxPattern(t *testing.T) {
	ts := newTestServer(t, Config{})
	router := ts.srv.specRouter
	values := map[string]bool{"x": true}
	for _, rt := range router.routes {
		for i, seg := range rt.segments {
			if rt.params[i] == "" && seg != "" {
				values[seg] = true
			}
		}
	}
	checked := 0
	for _, rt := range router.routes {
		for method, m := range rt.methods {
			for v := range values {
				segs := make([]string, len(rt.segments))
				for i, seg := range rt.segments {
					if rt.params[i] != "" {
						seg = v
					}
					segs[i] = seg
				}
				req := httptest.NewRequest(method, "/"+strings.Join(segs, "/"), nil)
				got, _, err := router.find(req)
				if err != nil {
					t.Fatalf("%s %s: %v", method, req.URL.Path, err)
				}
				_, want := ts.srv.routes.Handler(req)
				if got.pattern != want {
					t.Fatalf("%s %s: the validator's pattern %q, the ServeMux's %q (route %q)", method, req.URL.Path, got.pattern, want, m.pattern)
				}
				checked++
			}
		}
	}
	t.Logf("%d requests, each labelled as the ServeMux labels it", checked)
}
