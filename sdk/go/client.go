package octostore

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultRequestTimeout bounds every request a client made by New or NewWithEndpoints
// sends without a deadline of its own. Long-polls (blocking acquires and watches) get
// their wait on top of it. The helpers bound their renewals by what is left of the lease
// instead, so a stalled server ends a lease on time, not after this timeout.
const DefaultRequestTimeout = 10 * time.Second

// New returns a generated client for the server at baseURL that sends token as a
// bearer token on every request, with DefaultRequestTimeout. Passing WithHTTPClient
// replaces the client's transport, its timeout and its endpoint list.
func New(baseURL, token string, opts ...ClientOption) (*ClientWithResponses, error) {
	return NewWithEndpoints([]string{baseURL}, token, opts...)
}

// NewWithEndpoints returns a client for a server reachable at several base URLs (the
// nodes of a cluster, or a primary and a standby address). A request goes to the URL
// that answered last; on a transport error or a 503 it moves on to the next, each URL
// once per request. When none answers, the error names every URL and its cause.
func NewWithEndpoints(baseURLs []string, token string, opts ...ClientOption) (*ClientWithResponses, error) {
	if len(baseURLs) == 0 {
		return nil, errors.New("octostore: no base URL")
	}
	eps := &endpoints{client: &http.Client{}, timeout: DefaultRequestTimeout}
	for _, raw := range baseURLs {
		u, err := url.Parse(strings.TrimRight(raw, "/"))
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("octostore: base URL %q: want scheme://host[:port][/path]", raw)
		}
		eps.urls = append(eps.urls, u)
	}
	auth := func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
	base := []ClientOption{WithHTTPClient(eps), WithRequestEditorFn(auth)}
	return NewClientWithResponses(eps.urls[0].String(), append(base, opts...)...)
}

// WithRequestTimeout sets the timeout of requests without a deadline of their own
// (default DefaultRequestTimeout; 0 disables it). It applies to clients made by New and
// NewWithEndpoints, and must come after WithHTTPClient, if any.
func WithRequestTimeout(d time.Duration) ClientOption {
	return func(c *RawClient) error {
		eps, ok := c.Client.(*endpoints)
		if !ok {
			return errors.New("octostore: WithRequestTimeout needs the client's own transport (no WithHTTPClient before it)")
		}
		eps.timeout = d
		return nil
	}
}

// WithRootCAs makes the client trust the certificate authorities in pool, instead of
// the system's, when it connects to an https URL: for a server whose certificate comes
// from a private CA (TLS_CERT_FILE). It keeps the client's timeouts and endpoints, and
// must come after WithHTTPClient, if any.
//
//	pem, _ := os.ReadFile("ca.pem")
//	pool := x509.NewCertPool()
//	pool.AppendCertsFromPEM(pem)
//	c, err := octostore.New("https://locks.internal:3000", token, octostore.WithRootCAs(pool))
func WithRootCAs(pool *x509.CertPool) ClientOption {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return WithTransport(t)
}

// WithTransport sets the http.RoundTripper the client's requests go through (a custom
// TLS configuration, a proxy, client certificates), keeping its timeouts and endpoints.
// It must come after WithHTTPClient, if any.
func WithTransport(rt http.RoundTripper) ClientOption {
	return func(c *RawClient) error {
		eps, ok := c.Client.(*endpoints)
		if !ok {
			return errors.New("octostore: WithTransport needs the client's own transport (no WithHTTPClient before it)")
		}
		eps.client = &http.Client{Transport: rt}
		return nil
	}
}

// endpoints is the client's HttpRequestDoer: timeouts and moving between base URLs.
type endpoints struct {
	urls    []*url.URL
	current atomic.Int32 // the URL that answered last
	client  *http.Client
	timeout time.Duration
}

func (e *endpoints) Do(req *http.Request) (*http.Response, error) {
	ctx, cancel := req.Context(), context.CancelFunc(func() {})
	if _, ok := ctx.Deadline(); !ok && e.timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, e.timeout+longPoll(req))
	}
	rel := strings.TrimPrefix(req.URL.Path, e.urls[0].Path)
	start := int(e.current.Load())
	var errs []error
	for i := range e.urls {
		idx := (start + i) % len(e.urls)
		u := e.urls[idx]
		out := req.Clone(ctx)
		out.URL.Scheme, out.URL.Host, out.URL.Path, out.URL.RawPath = u.Scheme, u.Host, u.Path+rel, ""
		out.Host = ""
		if i > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				cancel()
				return nil, err
			}
			out.Body = body
		}
		res, err := e.client.Do(out)
		if err != nil {
			if ctx.Err() != nil {
				cancel()
				return nil, err
			}
			errs = append(errs, err) // a *url.Error: names the URL and the cause
			if req.Body != nil && req.GetBody == nil {
				break // the body is spent and cannot be sent again
			}
			continue
		}
		if res.StatusCode == http.StatusServiceUnavailable && i < len(e.urls)-1 && req.GetBody != nil {
			io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
			res.Body.Close()
			errs = append(errs, fmt.Errorf("%s %s: 503 Service Unavailable", req.Method, out.URL))
			continue
		}
		e.current.Store(int32(idx))
		res.Body = &cancelOnClose{ReadCloser: res.Body, cancel: cancel}
		return res, nil
	}
	cancel()
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, fmt.Errorf("octostore: no endpoint answered: %w", errors.Join(errs...))
}

// cancelOnClose releases a request's timeout once its body has been read.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// longPoll is how long the server may hold req open on purpose: the wait_seconds of a
// watch (query) or of a blocking acquire (body).
func longPoll(req *http.Request) time.Duration {
	if v := req.URL.Query().Get("wait_seconds"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return time.Duration(n) * time.Second
		}
	}
	if req.Method != http.MethodPost || req.GetBody == nil || !strings.HasSuffix(req.URL.Path, "/acquire") {
		return 0
	}
	body, err := req.GetBody()
	if err != nil {
		return 0
	}
	defer body.Close()
	b, _ := io.ReadAll(io.LimitReader(body, 64<<10))
	var v struct {
		WaitSeconds int `json:"wait_seconds"`
	}
	if json.NewDecoder(bytes.NewReader(b)).Decode(&v) == nil && v.WaitSeconds > 0 {
		return time.Duration(v.WaitSeconds) * time.Second
	}
	return 0
}
