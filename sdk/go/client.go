package octostore

import (
	"context"
	"net/http"
	"strings"
)

// New returns a generated client for the server at baseURL that sends token as a
// bearer token on every request.
func New(baseURL, token string, opts ...ClientOption) (*ClientWithResponses, error) {
	auth := func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
	return NewClientWithResponses(strings.TrimRight(baseURL, "/"), append([]ClientOption{WithRequestEditorFn(auth)}, opts...)...)
}
