package cluster_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// browserDo sends a same-origin dashboard request to nd with the given cookie (name=value
// or ""), and returns the answer and the cookies it set.
func (nd *node) browserDo(method, path, cookie, body string) (response, []*http.Cookie) {
	nd.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, nd.http.URL+path, rd)
	if err != nil {
		nd.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	res, err := nd.http.Client().Do(req)
	if err != nil {
		nd.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, raw: raw}, res.Cookies()
}

// A token session started through a follower lives on after the leader is lost (it is
// replicated like GitHub sessions), and the operator view shows the cluster.
func TestTokenSessionsAreReplicatedAndTheOperatorViewShowsTheCluster(t *testing.T) {
	tc := newCluster(t, 3, options{servers: true})
	lead := tc.leader()
	follower := tc.follower(lead)
	r, cookies := follower.browserDo("POST", "/dashboard/sign-in", "", `{"token":"`+tc.token+`"}`)
	if r.status != http.StatusNoContent || len(cookies) != 1 {
		t.Fatalf("token sign-in through a follower: %d %s", r.status, r.raw)
	}
	session := cookies[0].Name + "=" + cookies[0].Value
	tc.isolate(lead)
	next := tc.leader(lead)
	if r, _ := next.browserDo("GET", "/dashboard/session", session, ""); r.status != http.StatusOK {
		t.Fatalf("the token session on the next leader: %d %s", r.status, r.raw)
	}

	r, cookies = next.browserDo("POST", "/dashboard/admin/sign-in", "", `{"admin_key":"`+adminKey+`"}`)
	if r.status != http.StatusNoContent || len(cookies) != 1 {
		t.Fatalf("operator sign-in: %d %s", r.status, r.raw)
	}
	op := cookies[0].Name + "=" + cookies[0].Value
	r, _ = next.browserDo("GET", "/dashboard/admin/cluster", op, "")
	if r.status != http.StatusOK || !strings.Contains(string(r.raw), `"leader":"`+next.id+`"`) || strings.Count(string(r.raw), `"raft_addr"`) != 3 {
		t.Fatalf("cluster in the operator view: %d %s", r.status, r.raw)
	}
}
