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
// operation of the spec is tried with path parameters good and bad, bodies good, bad,
// missing and unwanted, and each kind of credential right, wrong and missing.
func TestValidateRequestAgreesWithKinOpenAPI(t *testing.T) {
	const adminKey = "split-admin-key-0123456789abcdef"
	ts := newTestServer(t, Config{AdminKey: adminKey})
	router, _ := specRouters(t)
	opts := ts.srv.validationOptions()

	params := []string{"svc", "a.b-c_d", "bad%20name", strings.Repeat("n", 300), "6f1c2a4e-8a7b-4d0c-9f5e-2b3c4d5e6f70"}
	bodies := []string{"", "{}", `{"ttl_seconds":30}`, `{"ttl_seconds":"x"}`, `{"lease_id":"nope"}`,
		`{"lease_id":"6f1c2a4e-8a7b-4d0c-9f5e-2b3c4d5e6f70","ttl_seconds":30}`, `{"name":"acct"}`, `{`, `[1,2]`}
	creds := [][]string{nil, {"Authorization", "Bearer " + ts.token}, {"Authorization", "Bearer osk_wrong"},
		{"Authorization", "Basic eDp5"}, {"X-Admin-Key", adminKey}, {"X-Admin-Key", "wrong"},
		{"Cookie", sessionCookie + "=forged"}}

	cases, refused := 0, 0
	for _, rt := range router.routes {
		for method := range rt.methods {
			for pi := range params {
				segs := make([]string, len(rt.segments))
				for i, seg := range rt.segments {
					if rt.params[i] != "" {
						seg = params[(pi+i)%len(params)]
					}
					segs[i] = seg
				}
				target := "/" + strings.Join(segs, "/")
				if pi == 0 && rt.params == nil {
					target += "?limit=2"
				}
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
						gotRoute, _, gotErr := validateRequest(router, opts, got)
						want := mk()
						wantRoute, wantParams, findErr := router.FindRoute(want)
						if gotRoute == nil || findErr != nil {
							if (gotRoute == nil) != (findErr != nil) || gotErr != findErr {
								t.Fatalf("%s %s: route %v %v, FindRoute %v %v", method, target, gotRoute, gotErr, wantRoute, findErr)
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
						}
					}
				}
			}
		}
	}
	t.Logf("%d requests, %d refused, each the same as ValidateRequest", cases, refused)
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
