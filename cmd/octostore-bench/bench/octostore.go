package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// OctoStore is a System that speaks OctoStore's HTTP API with plain net/http, one kept-
// alive connection per client.
type OctoStore struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:3000. For a cluster it may be
	// a comma-separated list of the nodes' URLs: client i starts on node i modulo their
	// number and moves to the next node after a transport error or a 503, so the load
	// spreads over every node as behind a load balancer.
	URL string
	// Token is every client's bearer token when AdminKey and Tokens are empty; the
	// clients then tell themselves apart with distinct owner values.
	Token string
	// Tokens, when set, are the clients' bearer tokens, one holder each: client i uses
	// Tokens[i], so a run has at most len(Tokens) clients (a server without accounts
	// or owners, such as upstream OctoStore with static tokens).
	Tokens []string
	// AdminKey, when set, is used to create fresh accounts and tokens for each run
	// (POST /admin/accounts), so that the per-account lock limit never caps a run.
	AdminKey string
	// TTL is every lease's length (default 60s). Scenarios assume no lease expires
	// during a run.
	TTL time.Duration
	// Label names the system in results (default "octostore").
	Label string

	runs atomic.Int64
}

// Name returns the label of the system.
func (o *OctoStore) Name() string {
	if o.Label != "" {
		return o.Label
	}
	return "octostore"
}

// Clients returns n clients. With an admin key each gets its own token: in a fresh
// account of its own, or, when shared, all in one fresh account.
func (o *OctoStore) Clients(ctx context.Context, n int, shared bool) ([]Client, error) {
	var bases []string
	for _, u := range strings.Split(o.URL, ",") {
		base, err := url.Parse(strings.TrimRight(strings.TrimSpace(u), "/"))
		if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
			return nil, fmt.Errorf("server url %q: want http://host:port (or several, comma-separated)", u)
		}
		bases = append(bases, base.String())
	}
	ttl := o.TTL
	if ttl <= 0 {
		ttl = time.Minute
	}
	hc := &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        n + 8,
		MaxIdleConnsPerHost: n + 8,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}}
	run := strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.FormatInt(o.runs.Add(1), 10)
	tokens := make([]string, n)
	owners := make([]string, n)
	switch {
	case len(o.Tokens) > 0:
		if n > len(o.Tokens) {
			return nil, fmt.Errorf("%d clients but %d tokens", n, len(o.Tokens))
		}
		copy(tokens, o.Tokens)
	case o.AdminKey == "" && o.Token == "":
		return nil, errors.New("give a token (--token) or an admin key (--admin-key)")
	case o.AdminKey == "":
		for i := range tokens {
			tokens[i] = o.Token
			owners[i] = "bench-" + run + "-" + strconv.Itoa(i)
		}
	case shared:
		acc, tok, err := o.createAccount(ctx, hc, bases, "bench-"+run)
		if err != nil {
			return nil, err
		}
		tokens[0] = tok
		for i := 1; i < n; i++ {
			if tokens[i], err = o.createToken(ctx, hc, bases, acc); err != nil {
				return nil, err
			}
		}
	default:
		for i := range tokens {
			var err error
			if _, tokens[i], err = o.createAccount(ctx, hc, bases, "bench-"+run+"-"+strconv.Itoa(i)); err != nil {
				return nil, err
			}
		}
	}
	clients := make([]Client, n)
	secs := int(math.Ceil(ttl.Seconds()))
	for i := range clients {
		c := &octoClient{hc: hc, bases: bases, cur: i % len(bases), auth: "Bearer " + tokens[i], ttl: secs, owner: owners[i]}
		c.acquireBody = c.body(-1)
		clients[i] = c
	}
	return clients, nil
}

func (o *OctoStore) createAccount(ctx context.Context, hc *http.Client, bases []string, name string) (account, token string, err error) {
	var out struct {
		AccountID string `json:"account_id"`
		Token     string `json:"token"`
	}
	body, _ := json.Marshal(map[string]string{"name": name})
	if err := o.admin(ctx, hc, bases, "/admin/accounts", body, &out); err != nil {
		return "", "", fmt.Errorf("create account: %w", err)
	}
	return out.AccountID, out.Token, nil
}

func (o *OctoStore) createToken(ctx context.Context, hc *http.Client, bases []string, account string) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	if err := o.admin(ctx, hc, bases, "/admin/accounts/"+url.PathEscape(account)+"/tokens", nil, &out); err != nil {
		return "", fmt.Errorf("create token: %w", err)
	}
	return out.Token, nil
}

// admin POSTs an admin request. A cluster may be between leaders for a moment (503) or
// lose a node: it tries the next node, for at most about ten seconds. The calls it makes
// create accounts and tokens, so a retried one at worst leaves an unused extra.
func (o *OctoStore) admin(ctx context.Context, hc *http.Client, bases []string, path string, body []byte, out any) error {
	var err error
	for attempt := 0; attempt < 40; attempt++ {
		var retry bool
		if retry, err = o.adminOnce(ctx, hc, bases[attempt%len(bases)]+path, body, out); !retry {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return err
}

func (o *OctoStore) adminOnce(ctx context.Context, hc *http.Client, url string, body []byte, out any) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("X-Admin-Key", o.AdminKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return ctx.Err() == nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return ctx.Err() == nil, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode == http.StatusServiceUnavailable, problemError(resp.StatusCode, data)
	}
	return false, json.Unmarshal(data, out)
}

// octoClient is one holder: a token (and owner) with its own kept-alive connection.
type octoClient struct {
	hc          *http.Client
	bases       []string // the nodes; cur is the one this client sends to
	cur         int
	auth        string
	owner       string
	ttl         int
	acquireBody []byte
	buf         bytes.Buffer
}

var jsonHeader = []string{"application/json"}

// body renders an acquire body; wait < 0 leaves wait_seconds out.
func (c *octoClient) body(wait int) []byte {
	var b strings.Builder
	b.WriteString(`{"ttl_seconds":`)
	b.WriteString(strconv.Itoa(c.ttl))
	if c.owner != "" {
		b.WriteString(`,"owner":"`)
		b.WriteString(c.owner)
		b.WriteString(`"`)
	}
	if wait >= 0 {
		b.WriteString(`,"wait_seconds":`)
		b.WriteString(strconv.Itoa(wait))
	}
	b.WriteString("}")
	return []byte(b.String())
}

// do sends one request and decodes a 200 answer into out (when not nil).
func (c *octoClient) do(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.bases[c.cur]+path, rd)
	if err != nil {
		return err
	}
	req.Header["Authorization"] = []string{c.auth}
	if body != nil {
		req.Header["Content-Type"] = jsonHeader
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.next()
		return err
	}
	if resp.StatusCode == http.StatusServiceUnavailable {
		c.next()
	}
	c.buf.Reset()
	_, err = c.buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return problemError(resp.StatusCode, c.buf.Bytes())
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(c.buf.Bytes(), out)
}

// next moves the client to the next node (a cluster: this one failed or has no leader).
func (c *octoClient) next() {
	if len(c.bases) > 1 {
		c.cur = (c.cur + 1) % len(c.bases)
	}
}

func problemError(status int, body []byte) error {
	var p struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(body, &p) != nil || p.Code == "" {
		p.Code = "http_" + strconv.Itoa(status)
	}
	return &CodeError{Code: p.Code, Status: status}
}

type acquireResult struct {
	Status       string `json:"status"`
	LeaseID      string `json:"lease_id"`
	FencingToken int64  `json:"fencing_token"`
}

func (c *octoClient) acquire(ctx context.Context, name string, body []byte) (Grant, error) {
	var out acquireResult
	if err := c.do(ctx, http.MethodPost, "/locks/"+name+"/acquire", body, &out); err != nil {
		// Upstream OctoStore answers a lock held by another with 409 and the same body
		// (status "held"); this server answers 200.
		var ce *CodeError
		if errors.As(err, &ce) && ce.Status == http.StatusConflict &&
			json.Unmarshal(c.buf.Bytes(), &out) == nil && out.Status == "held" {
			return Grant{}, nil
		}
		return Grant{}, err
	}
	switch out.Status {
	case "acquired":
		return Grant{Acquired: true, Lease: out.LeaseID, Token: out.FencingToken}, nil
	case "held":
		return Grant{}, nil
	}
	return Grant{}, &CodeError{Code: "bad_response"}
}

func (c *octoClient) Acquire(ctx context.Context, name string) (Grant, error) {
	return c.acquire(ctx, name, c.acquireBody)
}

// AcquireWait sends wait_seconds (0..60). A server that refuses the field with
// invalid_request has no blocking acquire: that is ErrUnsupported, not an error to
// count.
func (c *octoClient) AcquireWait(ctx context.Context, name string, wait time.Duration) (Grant, error) {
	secs := min(max(int(math.Ceil(wait.Seconds())), 0), 60)
	g, err := c.acquire(ctx, name, c.body(secs))
	var ce *CodeError
	if errors.As(err, &ce) && ce.Code == "invalid_request" {
		return Grant{}, fmt.Errorf("%w: the server answered invalid_request to wait_seconds (no blocking acquire)", ErrUnsupported)
	}
	return g, err
}

func (c *octoClient) Renew(ctx context.Context, name, lease string) error {
	body := `{"lease_id":"` + lease + `","ttl_seconds":` + strconv.Itoa(c.ttl) + `}`
	return c.do(ctx, http.MethodPost, "/locks/"+name+"/renew", []byte(body), nil)
}

func (c *octoClient) Release(ctx context.Context, name, lease string) error {
	return c.do(ctx, http.MethodPost, "/locks/"+name+"/release", []byte(`{"lease_id":"`+lease+`"}`), nil)
}

func (c *octoClient) Status(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodGet, "/locks/"+name, nil, nil)
}

func (c *octoClient) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}
