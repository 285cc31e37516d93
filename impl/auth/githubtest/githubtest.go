// Package githubtest is a stand-in for the parts of GitHub that sign-in uses, for tests:
// the OAuth authorize page and token endpoint under /login/oauth/, the REST API's
// /user under /api/v3 (as on GitHub Enterprise Server), and avatar images.
//
// It checks what GitHub checks: the client id and secret, the exact redirect URI, that a
// code is used once and within its lifetime, and PKCE S256. Like GitHub it answers token
// errors with HTTP 200 and an error field, form-encoded unless JSON is asked for. The
// authorize page approves at once as the current user, as GitHub does for an app the user
// has authorized before. Faults can be switched on to test the error paths.
package githubtest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// User is a GitHub user as the stand-in serves it.
type User struct {
	ID    int64
	Login string
	// AvatarURL replaces the stand-in's own avatar URL in /user, when set.
	AvatarURL string
}

// Server is a running stand-in.
type Server struct {
	*httptest.Server
	ClientID     string
	ClientSecret string
	RedirectURI  string

	mu       sync.Mutex
	user     User
	codes    map[string]grant
	tokens   map[string]User
	faults   Faults
	requests map[string]int
}

// Faults make the stand-in misbehave. The zero value is a well-behaved GitHub.
type Faults struct {
	// Deny makes the authorize page send the user back with error=access_denied.
	Deny bool
	// TokenError makes the token endpoint answer 200 with this OAuth error code.
	TokenError string
	// TokenStatus makes the token endpoint answer with this HTTP status and no token.
	TokenStatus int
	// UserStatus makes /user answer with this HTTP status.
	UserStatus int
	// UserBody replaces /user's JSON body.
	UserBody string
}

type grant struct {
	user        User
	challenge   string
	redirectURI string
	used        bool
}

// NewServer starts a stand-in for an OAuth app with the given redirect URI.
func NewServer(redirectURI string) *Server {
	s := &Server{
		ClientID:     "Iv1.stand-in-client",
		ClientSecret: "stand-in-secret-" + random(8),
		RedirectURI:  redirectURI,
		user:         User{ID: 583231, Login: "octocat"},
		codes:        map[string]grant{},
		tokens:       map[string]User{},
		requests:     map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", s.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", s.accessToken)
	mux.HandleFunc("GET /api/v3/user", s.userInfo)
	mux.HandleFunc("GET /avatars/{id}", s.avatar)
	s.Server = httptest.NewServer(mux)
	return s
}

// APIURL is the REST API root to configure as GITHUB_API_URL.
func (s *Server) APIURL() string { return s.URL + "/api/v3" }

// AvatarURL is the root of the avatar images, to configure as GITHUB_AVATAR_URL.
func (s *Server) AvatarURL() string { return s.URL + "/avatars/" }

// SetUser sets who is signed in to the stand-in GitHub.
func (s *Server) SetUser(u User) {
	s.mu.Lock()
	s.user = u
	s.mu.Unlock()
}

// SetFaults switches faults on (or off, with the zero value).
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// Requests returns how many requests an endpoint ("authorize", "token", "user",
// "avatar") has had.
func (s *Server) Requests(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[endpoint]
}

// AccessTokens returns every access token the stand-in has issued.
func (s *Server) AccessTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for t := range s.tokens {
		out = append(out, t)
	}
	return out
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests["authorize"]++
	q := r.URL.Query()
	switch {
	case q.Get("client_id") != s.ClientID:
		http.Error(w, "unknown client_id", http.StatusNotFound)
		return
	case q.Get("redirect_uri") != s.RedirectURI:
		http.Error(w, "The redirect_uri MUST match the registered callback URL for this application.", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code" || q.Get("state") == "":
		http.Error(w, "response_type=code and a state are expected", http.StatusBadRequest)
		return
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		http.Error(w, "PKCE S256 is expected", http.StatusBadRequest)
		return
	}
	back, _ := url.Parse(s.RedirectURI)
	v := url.Values{"state": {q.Get("state")}}
	if s.faults.Deny {
		v.Set("error", "access_denied")
		v.Set("error_description", "The user has denied your application access.")
	} else {
		code := random(10)
		s.codes[code] = grant{user: s.user, challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri")}
		v.Set("code", code)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (s *Server) accessToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests["token"]++
	if s.faults.TokenStatus != 0 {
		http.Error(w, "stand-in failure", s.faults.TokenStatus)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f := r.PostForm
	g, known := s.codes[f.Get("code")]
	verifier := sha256.Sum256([]byte(f.Get("code_verifier")))
	switch {
	case s.faults.TokenError != "":
		s.tokenError(w, r, s.faults.TokenError)
	case f.Get("client_id") != s.ClientID || f.Get("client_secret") != s.ClientSecret:
		s.tokenError(w, r, "incorrect_client_credentials")
	case !known || g.used:
		s.tokenError(w, r, "bad_verification_code")
	case f.Get("redirect_uri") != g.redirectURI:
		s.tokenError(w, r, "redirect_uri_mismatch")
	case f.Get("code_verifier") == "" || base64.RawURLEncoding.EncodeToString(verifier[:]) != g.challenge:
		s.tokenError(w, r, "bad_verification_code")
	default:
		g.used = true
		s.codes[f.Get("code")] = g
		token := "gho_" + random(18)
		s.tokens[token] = g.user
		s.tokenReply(w, r, url.Values{"access_token": {token}, "token_type": {"bearer"}, "scope": {""}})
	}
}

func (s *Server) tokenError(w http.ResponseWriter, r *http.Request, code string) {
	s.tokenReply(w, r, url.Values{"error": {code}, "error_description": {"stand-in: " + code}})
}

// tokenReply answers 200 like GitHub: JSON when asked for, form-encoded otherwise.
func (s *Server) tokenReply(w http.ResponseWriter, r *http.Request, v url.Values) {
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		m := map[string]string{}
		for k := range v {
			m[k] = v.Get(k)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(m)
		return
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	fmt.Fprint(w, v.Encode())
}

func (s *Server) userInfo(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests["user"]++
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if s.faults.UserStatus != 0 {
		w.WriteHeader(s.faults.UserStatus)
		fmt.Fprint(w, `{"message":"stand-in failure"}`)
		return
	}
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	u, ok := s.tokens[token]
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"message":"Bad credentials"}`)
		return
	}
	if s.faults.UserBody != "" {
		fmt.Fprint(w, s.faults.UserBody)
		return
	}
	avatar := u.AvatarURL
	if avatar == "" {
		avatar = s.AvatarURL() + strconv.FormatInt(u.ID, 10) + "?v=4"
	}
	json.NewEncoder(w).Encode(map[string]any{
		"id":         u.ID,
		"login":      u.Login,
		"avatar_url": avatar,
		"type":       "User",
		"name":       "The " + u.Login,
	})
}

// avatar serves a small PNG: a ring in a colour chosen by the user id.
func (s *Server) avatar(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests["avatar"]++
	s.mu.Unlock()
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	const n = 96
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	fg := color.RGBA{uint8(60 + id%150), uint8(80 + id/7%120), 216, 255}
	bg := color.RGBA{236, 239, 250, 255}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			dx, dy := x-n/2, y-n/2
			d := dx*dx + dy*dy
			c := bg
			if d < 30*30 && d > 17*17 || (d <= 9*9) {
				c = fg
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	w.Header().Set("Content-Type", "image/png")
	w.Write(buf.Bytes())
}

func random(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
