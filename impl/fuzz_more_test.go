package impl

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/octostore/octostore/impl/auth"
)

// FuzzAuthorizationHeader: any Authorization header on any bearer route yields no 5xx,
// and a request gets past authentication only with the account's own token.
func FuzzAuthorizationHeader(f *testing.F) {
	fs := newFuzzServer(f)
	for _, s := range []string{"", "Bearer", "Bearer ", "bearer " + fs.token, "BEARER  " + fs.token + " ", "Bearer " + fs.token + "x",
		"Basic " + fs.token, "Bearer " + strings.ToUpper(fs.token), "Bearer oct_tok_aaaaaaaaaaaa_", "Bearer " + fs.token[:20], "Bearer\t" + fs.token,
		"Bearer " + fs.token + "\x00", "Token " + fs.token} {
		f.Add(s, uint8(0))
	}
	routes := []struct{ method, path, body string }{
		{"GET", "/locks", ""},
		{"GET", "/locks/fuzz", ""},
		{"POST", "/locks/fuzz/acquire", `{"ttl_seconds":60}`},
		{"POST", "/locks/fuzz/renew", `{"lease_id":"00000000-0000-4000-8000-000000000000","ttl_seconds":60}`},
		{"POST", "/locks/fuzz/release", `{"lease_id":"00000000-0000-4000-8000-000000000000"}`},
	}
	f.Fuzz(func(t *testing.T, header string, route uint8) {
		if !validHeaderValue(header) {
			return // net/http refuses to send such a header at all
		}
		rt := routes[int(route)%len(routes)]
		rec := fs.doHeader(rt.method, rt.path, []byte(rt.body), header)
		checkResponse(t, rec)
		authenticated := rec.Code != http.StatusUnauthorized
		token, ok := auth.ParseBearer(header)
		if authenticated != (ok && token == fs.token) {
			t.Fatalf("header %q on %s %s: status %d %s", header, rt.method, rt.path, rec.Code, rec.Body)
		}
		if !authenticated && rec.Header().Get("WWW-Authenticate") == "" {
			t.Fatalf("401 without WWW-Authenticate for %q", header)
		}
	})
}

// validHeaderValue reports whether net/http would send v as a header value.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// FuzzLeaseID: any lease id in a renew or release body yields no 5xx; only the current
// lease's id (as a UUID) renews it, and nothing releases a lock that is not held.
func FuzzLeaseID(f *testing.F) {
	fs := newFuzzServer(f)
	rec := fs.do("POST", "/locks/fuzz-held/acquire", []byte(`{"ttl_seconds":3600}`), "Bearer "+fs.token)
	var held struct {
		LeaseID string `json:"lease_id"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &held); err != nil || held.LeaseID == "" {
		f.Fatalf("acquire: %d %s", rec.Code, rec.Body)
	}
	current := uuid.MustParse(held.LeaseID)
	for _, s := range []string{held.LeaseID, strings.ToUpper(held.LeaseID), "{" + held.LeaseID + "}", "urn:uuid:" + held.LeaseID,
		strings.ReplaceAll(held.LeaseID, "-", ""), "00000000-0000-0000-0000-000000000000", "", "x", held.LeaseID + " ", " " + held.LeaseID} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		renew, _ := json.Marshal(map[string]any{"lease_id": id, "ttl_seconds": 3600})
		rec := fs.do("POST", "/locks/fuzz-held/renew", renew, "Bearer "+fs.token)
		checkResponse(t, rec)
		parsed, err := uuid.Parse(id)
		if rec.Code == http.StatusOK && (err != nil || parsed != current) {
			t.Fatalf("lease id %q renewed lease %s", id, current)
		}
		if id == held.LeaseID && rec.Code != http.StatusOK {
			t.Fatalf("the current lease id was refused: %d %s", rec.Code, rec.Body)
		}
		release, _ := json.Marshal(map[string]any{"lease_id": id})
		rec = fs.do("POST", "/locks/fuzz-free/release", release, "Bearer "+fs.token)
		checkResponse(t, rec)
		if rec.Code == http.StatusOK {
			t.Fatalf("lease id %q released a lock nobody holds", id)
		}
	})
}

var accountNamePattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// FuzzCreateAccountBody: any admin body yields no 5xx, and an account is created only
// for a body the spec allows.
func FuzzCreateAccountBody(f *testing.F) {
	fs := newFuzzServerWith(f, testAdminKey)
	for _, s := range []string{`{"name":"ci"}`, `{"name":""}`, `{"name":"a b"}`, `{"name":"x","y":1}`, `{}`, `[]`, `{"name":1}`, `{"name":"` + strings.Repeat("n", 65) + `"}`, `{"name":"ok"}{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := fs.doHeader("POST", "/admin/accounts", body, "", "X-Admin-Key", testAdminKey)
		checkResponse(t, req)
		if req.Code != http.StatusCreated {
			return
		}
		var in map[string]any
		if err := json.Unmarshal(body, &in); err != nil || len(in) != 1 {
			t.Fatalf("created an account from %q", body)
		}
		name, _ := in["name"].(string)
		if !accountNamePattern.MatchString(name) {
			t.Fatalf("created an account named %q", name)
		}
	})
}
