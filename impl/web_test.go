package impl

import (
	"net/http"
	"testing"
)

// Answers that carry tokens, and the dashboard's JSON, must never be kept by a cache.
func TestTokenAndDashboardAnswersAreNotStored(t *testing.T) {
	ts, _ := newSignInServerWith(t, Config{AdminKey: testAdminKey})
	admin := []string{"X-Admin-Key", testAdminKey}
	created := ts.do("POST", "/admin/accounts", "", map[string]any{"name": "ci"}, admin...)
	token, id := created.str("token"), created.str("account_id")
	b := newBrowser(ts)
	b.signIn()
	csrf := b.session().str("csrf_token")

	for name, r := range map[string]response{
		"POST /admin/accounts":                   created,
		"GET /admin/accounts":                    ts.do("GET", "/admin/accounts", "", nil, admin...),
		"POST /admin/accounts/{id}/tokens":       ts.do("POST", "/admin/accounts/"+id+"/tokens", "", nil, admin...),
		"POST /auth/token/rotate":                ts.do("POST", "/auth/token/rotate", token, nil),
		"GET /auth/github":                       b.do("GET", "/auth/github"),
		"GET /dashboard/session":                 b.session(),
		"GET /dashboard/locks":                   b.do("GET", "/dashboard/locks"),
		"POST /dashboard/token/rotate":           b.post("/dashboard/token/rotate", csrf),
		"GET /dashboard/locks without a session": newBrowser(ts).do("GET", "/dashboard/locks"),
	} {
		if r.status >= 300 && r.status != http.StatusFound && r.status != http.StatusUnauthorized {
			t.Fatalf("%s: %d %s", name, r.status, r.raw)
		}
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q", name, cc)
		}
	}
	// The avatar is an image, kept by the browser only.
	if cc := b.do("GET", "/dashboard/avatar").header.Get("Cache-Control"); cc != "private, max-age=3600" {
		t.Errorf("avatar: Cache-Control %q", cc)
	}
}
