package impl

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// TestValidateRequestAgreesWithKinOpenAPI: the validator checks security apart from the
// rest and without the body (validateRequest), and must answer every request exactly as
// openapi3filter.ValidateRequest does on the same route: the same error, of the same
// type with the same text, or none, and the same principal authenticated. Every
// operation of the spec is tried with every combination of path parameters good and
// bad, bodies good, bad, missing and unwanted, and each kind of credential right, wrong
// and missing.
func TestValidateRequestAgreesWithKinOpenAPI(t *testing.T) {
	const adminKey = "split-admin-key-0123456789abcdef"
	ts := newTestServer(t, Config{AdminKey: adminKey})
	token, accountID := ts.newAccountWithID("split")
	router, _ := specRouters(t)
	opts := ts.srv.validationOptions()

	params := []string{"svc", "a.b-c_d", "bad%20name", strings.Repeat("n", 300), "6f1c2a4e-8a7b-4d0c-9f5e-2b3c4d5e6f70",
		accountID, "tok_8f3a1c9d2e7b", "ses_4f9c2b7e1a0d48c6b3e5f7a9c1d2e3f4"}
	bodies := []string{"", "{}", `{"ttl_seconds":30}`, `{"ttl_seconds":"x"}`, `{"lease_id":"nope"}`,
		`{"lease_id":"6f1c2a4e-8a7b-4d0c-9f5e-2b3c4d5e6f70"}`,
		`{"lease_id":"6f1c2a4e-8a7b-4d0c-9f5e-2b3c4d5e6f70","ttl_seconds":30}`, `{"name":"acct"}`, `{`, `[1,2]`}
	creds := [][]string{nil, {"Authorization", "Bearer " + token}, {"Authorization", "Bearer osk_wrong"},
		{"Authorization", "Basic eDp5"}, {"X-Admin-Key", adminKey}, {"X-Admin-Key", "wrong"},
		{"Cookie", sessionCookie + "=forged"}}

	cases, refused := 0, 0
	accepted := map[*routedMethod]bool{}
	for _, rt := range router.routes {
		// Every combination of the values for the path's parameters; a path without
		// any is tried with a query too.
		var slots []int
		for i, name := range rt.params {
			if name != "" {
				slots = append(slots, i)
			}
		}
		combos := [][]string{nil}
		for range slots {
			var next [][]string
			for _, c := range combos {
				for _, p := range params {
					next = append(next, append(append([]string(nil), c...), p))
				}
			}
			combos = next
		}
		var targets []string
		for _, combo := range combos {
			segs := append([]string(nil), rt.segments...)
			for k, i := range slots {
				segs[i] = combo[k]
			}
			targets = append(targets, "/"+strings.Join(segs, "/"))
		}
		if len(slots) == 0 {
			targets = append(targets, targets[0]+"?limit=2", targets[0]+"?limit=x")
		}
		for method, m := range rt.methods {
			for _, target := range targets {
				for _, body := range bodies {
					for _, cred := range creds {
						cases++
						mk := func() *http.Request {
							var r *http.Request
							if body == "" {
								r = httptest.NewRequest(method, target, nil)
							} else {
								r = httptest.NewRequest(method, target, strings.NewReader(body))
								r.Header.Set("Content-Type", "application/json")
							}
							if cred != nil {
								r.Header.Set(cred[0], cred[1])
							}
							return r.WithContext(context.WithValue(r.Context(), infoKey{}, &requestInfo{}))
						}
						got := mk()
						gotM, _, gotErr := validateRequest(router, opts, got)
						want := mk()
						wantRoute, wantParams, findErr := router.FindRoute(want)
						if gotM == nil || findErr != nil {
							if (gotM == nil) != (findErr != nil) || gotErr != findErr {
								t.Fatalf("%s %s: route %v %v, FindRoute %v %v", method, target, gotM, gotErr, wantRoute, findErr)
							}
							continue
						}
						wantErr := openapi3filter.ValidateRequest(want.Context(), &openapi3filter.RequestValidationInput{
							Request: want, PathParams: wantParams, Route: wantRoute, Options: opts})
						g, w := describe(gotErr), describe(wantErr)
						if g != w {
							t.Fatalf("%s %s %q %v:\n got  %s\n want %s", method, target, body, cred, g, w)
						}
						if gp, wp := infoFrom(got.Context()).principal, infoFrom(want.Context()).principal; gp != wp {
							t.Fatalf("%s %s %v: principal %+v, ValidateRequest's %+v", method, target, cred, gp, wp)
						}
						if gotErr != nil {
							refused++
						} else {
							accepted[m] = true
						}
					}
				}
			}
		}
	}
	// Both outcomes are compared for every operation a bearer token or the admin key may
	// call (the cookie-authenticated dashboard needs a GitHub sign-in, and adding a
	// cluster node a body of its own, that the corpus does not make).
	for _, rt := range router.routes {
		for method, m := range rt.methods {
			byToken := false
			for _, req := range m.security {
				_, bearer := req["BearerAuth"]
				_, admin := req["AdminKey"]
				byToken = byToken || bearer || admin
			}
			if byToken && !accepted[m] && m.pattern != "POST /admin/cluster/nodes" {
				t.Errorf("%s %s: no request of the corpus was accepted", method, rt.path)
			}
		}
	}
	t.Logf("%d requests, %d refused, each the same as ValidateRequest; %d operations with a request accepted", cases, refused, len(accepted))
	if cases < 5000 || refused == 0 || refused == cases {
		t.Fatalf("%d cases, %d refused: the corpus does not exercise both outcomes", cases, refused)
	}
}

func describe(err error) string {
	if err == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s: %s", reflect.TypeOf(err), err)
}
