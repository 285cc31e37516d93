package impl

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/octostore/octostore/gen"
)

// curl as the announcement shows it. `curl -d '{"lease_id":"…"}'` without `-H` sends
// `Content-Type: application/x-www-form-urlencoded`; generic clients send `{}` to POSTs
// that take no body; an SDK given the name "" asks for `/locks//acquire`. acceptCurl
// makes those requests mean what their senders meant before the validator sees them.
//
// Only bearer- and admin-key-authenticated JSON operations are lenient about the media
// type. A browser can send a form-encoded POST to another site without asking, but
// cannot add an Authorization or X-Admin-Key header to it, so reading such a body as JSON
// opens nothing. The cookie-authenticated dashboard routes stay strict: there the media
// type check is part of the CSRF defence.

// lenientMediaType reports whether path belongs to an operation that reads a missing or
// form-encoded Content-Type as JSON.
func lenientMediaType(path string) bool {
	return path == "/locks" || strings.HasPrefix(path, "/locks/") || path == "/sessions" || strings.HasPrefix(path, "/sessions/") ||
		strings.HasPrefix(path, "/auth/token/") || strings.HasPrefix(path, "/admin/")
}

// bodylessPOST reports whether path is a POST operation that takes no parameters: an
// empty body, `{}` or no Content-Type are all accepted there.
func bodylessPOST(path string) bool {
	if path == "/auth/token/rotate" {
		return true
	}
	if rest, ok := strings.CutPrefix(path, "/sessions/"); ok {
		id, ok := strings.CutSuffix(rest, "/renew")
		return ok && id != "" && !strings.Contains(id, "/")
	}
	rest, ok := strings.CutPrefix(path, "/admin/accounts/")
	if !ok {
		return false
	}
	if id, lock, ok := strings.Cut(rest, "/locks/"); ok {
		name, ok := strings.CutSuffix(lock, "/release")
		return ok && id != "" && !strings.Contains(id, "/") && name != "" && !strings.Contains(name, "/")
	}
	id, ok := strings.CutSuffix(rest, "/tokens")
	return ok && id != "" && !strings.Contains(id, "/")
}

// emptyLockName reports whether path names a lock with the empty name.
func emptyLockName(path string) bool {
	return path == "/locks/" || strings.HasPrefix(path, "/locks//")
}

func (s *Server) acceptCurl(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		if emptyLockName(path) {
			s.writeProblem(w, r, problem{http.StatusBadRequest, gen.ProblemCodeInvalidLockName,
				"The lock name is empty. " + lockNameRule + "."})
			return
		}
		if !lenientMediaType(path) || r.Header.Get("Authorization") == "" && r.Header.Get("X-Admin-Key") == "" {
			next.ServeHTTP(w, r)
			return
		}
		ct := r.Header.Get("Content-Type")
		jsonish := ct == ""
		if !jsonish {
			mt, _, err := mime.ParseMediaType(ct)
			jsonish = err == nil && (mt == "application/json" || mt == "application/x-www-form-urlencoded")
		}
		if !jsonish {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodPost && bodylessPOST(path) {
			empty, err := emptyJSONBody(r)
			if err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					s.writeProblem(w, r, problem{http.StatusRequestEntityTooLarge, gen.ProblemCodePayloadTooLarge,
						"The request body is too large."})
					return
				}
				s.writeProblem(w, r, problem{http.StatusBadRequest, gen.ProblemCodeInvalidRequest,
					"The request body could not be read."})
				return
			}
			if empty {
				r.Header.Del("Content-Type")
				next.ServeHTTP(w, r)
				return
			}
		}
		if r.ContentLength != 0 && ct != "application/json" {
			r.Header.Set("Content-Type", "application/json")
		}
		next.ServeHTTP(w, r)
	})
}

// emptyJSONBody reads r's body (already bounded by limitBody) and reports whether it is
// empty, blank or an empty JSON object. Either way the body stays readable for the next
// handler: empty bodies become http.NoBody, others are put back as read.
func emptyJSONBody(r *http.Request) (bool, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return true, nil
	}
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return false, err
	}
	trimmed := bytes.TrimSpace(b)
	empty := len(trimmed) == 0
	if !empty && trimmed[0] == '{' {
		var obj map[string]json.RawMessage
		empty = json.Unmarshal(trimmed, &obj) == nil && len(obj) == 0
	}
	if empty {
		r.Body, r.ContentLength = http.NoBody, 0
		return true, nil
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return false, nil
}
