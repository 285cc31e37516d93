package impl

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/octostore/octostore/impl/auth"
)

// TestSecurityCheckReusesOnlyTheSameVerifiedToken: the validator's security check takes
// the principal the throttle verified only for the very token the request carries; any
// other token is verified afresh (and a wrong one refused).
func TestSecurityCheckReusesOnlyTheSameVerifiedToken(t *testing.T) {
	ts := newTestServer(t, Config{})
	good, err := ts.srv.auth.Authenticate(ts.token)
	if err != nil {
		t.Fatal(err)
	}
	check := func(header string, info *requestInfo) error {
		r := httptest.NewRequest("GET", "/locks", nil)
		r.Header.Set("Authorization", "Bearer "+header)
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		return ts.srv.authenticate(r.Context(), &openapi3filter.AuthenticationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r},
			SecuritySchemeName:     "BearerAuth",
		})
	}
	// The throttle verified this request's token: its principal is taken as it is.
	info := &requestInfo{bearer: ts.token, verified: good}
	if err := check(ts.token, info); err != nil || info.principal != good {
		t.Fatalf("same token: %v, principal %+v", err, info.principal)
	}
	// A verified token in the info but another in the header: the header's is checked.
	wrong := ts.token[:len(ts.token)-1] + "x"
	if wrong == ts.token {
		wrong = ts.token[:len(ts.token)-1] + "y"
	}
	info = &requestInfo{bearer: ts.token, verified: good}
	if err := check(wrong, info); !errors.Is(err, auth.ErrUnauthorized) || info.principal != (auth.Principal{}) {
		t.Fatalf("other token: %v, principal %+v", err, info.principal)
	}
	// Nothing verified before: verified here.
	info = &requestInfo{}
	if err := check(ts.token, info); err != nil || info.principal != good {
		t.Fatalf("unverified: %v, principal %+v", err, info.principal)
	}
}
