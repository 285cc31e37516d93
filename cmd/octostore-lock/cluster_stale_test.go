package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// staleGet sends GET path to n with the token and returns the status code and the body.
func staleGet(t *testing.T, hc *http.Client, n *clusterNode, token, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", n.url()+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := hc.Do(req)
	if err != nil {
		return 0, map[string]any{"error": err.Error()}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	var out map[string]any
	json.Unmarshal(b, &out)
	if out == nil {
		out = map[string]any{"body": string(b)}
	}
	return res.StatusCode, out
}

// awaitStale polls a stale read of path on n until ok accepts it (at most 30 s; the
// bound only catches a follower that never catches up).
func awaitStale(t *testing.T, hc *http.Client, n *clusterNode, token, path, what string, ok func(int, map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := staleGet(t, hc, n, token, path)
		if ok(code, body) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s on %s: after 30 s still HTTP %d %v", what, n.id, code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClusterStaleReadOnAFollowerWithoutALeader: a follower answers ?consistency=stale
// from its own SQLite file, catching up with the leader's writes, and keeps answering once
// there is no leader at all (the leader and the other follower SIGKILLed), while a
// linearizable read there gets 503 no_leader; a bad value is a 400 on that node too.
func TestClusterStaleReadOnAFollowerWithoutALeader(t *testing.T) {
	c := startCluster(t, loopbackLayout(t, 3))
	token := c.token()
	hc := &http.Client{Timeout: 10 * time.Second}
	leader, _ := c.waitLeader(30 * time.Second)
	others := c.others(leader)
	follower, other := others[0], others[1]

	acquire := func(name string, ttl int) float64 {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			req, _ := http.NewRequest("POST", leader.url()+"/locks/"+name+"/acquire", strings.NewReader(fmt.Sprintf(`{"ttl_seconds":%d}`, ttl)))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			res, err := hc.Do(req)
			if err == nil {
				var out map[string]any
				json.NewDecoder(res.Body).Decode(&out)
				res.Body.Close()
				if res.StatusCode == 200 && out["status"] == "acquired" {
					return out["fencing_token"].(float64)
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("acquire %s through the leader: %v", name, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	held := func(token float64) func(int, map[string]any) bool {
		return func(code int, b map[string]any) bool {
			return code == 200 && b["status"] == "held" && b["fencing_token"] == token
		}
	}

	// Never taken: free on the follower.
	// (The account's token reaches the follower through the log too: until then, 401.)
	awaitStale(t, hc, follower, token, "/locks/stale-a?consistency=stale", "stale read of a lock never taken",
		func(code int, b map[string]any) bool { return code == 200 && b["status"] == "free" })
	// A write through the leader reaches the follower's stale read.
	ta := acquire("stale-a", 300)
	awaitStale(t, hc, follower, token, "/locks/stale-a?consistency=stale", "stale read after the write", held(ta))
	tb := acquire("stale-b", 2) // expires soon; nobody renews it
	awaitStale(t, hc, follower, token, "/locks/stale-b?consistency=stale", "stale read after the second write", held(tb))

	// No leader anywhere: only the follower runs.
	leader.kill()
	other.kill()
	if code, b := staleGet(t, hc, follower, token, "/locks/stale-a?consistency=stale"); !held(ta)(code, b) {
		t.Fatalf("stale read on the follower without a leader: HTTP %d %v, want held with token %v", code, b, ta)
	}
	code, list := staleGet(t, hc, follower, token, "/locks?consistency=stale")
	if code != 200 {
		t.Fatalf("stale list on the follower without a leader: HTTP %d %v", code, list)
	}
	if locks, _ := list["locks"].([]any); len(locks) == 0 || locks[0].(map[string]any)["name"] != "stale-a" {
		t.Fatalf("stale list: %v, want stale-a first", list)
	}
	// A linearizable read there cannot be answered.
	for _, path := range []string{"/locks/stale-a", "/locks/stale-a?consistency=linearizable", "/locks"} {
		if code, b := staleGet(t, hc, follower, token, path); code != http.StatusServiceUnavailable || b["code"] != "no_leader" {
			t.Errorf("GET %s on the follower without a leader: HTTP %d %v, want 503 no_leader", path, code, b)
		}
	}
	// A bad value is refused by the node itself.
	if code, b := staleGet(t, hc, follower, token, "/locks/stale-a?consistency=eventual"); code != http.StatusBadRequest {
		t.Errorf("consistency=eventual: HTTP %d %v, want 400", code, b)
	}
	// The 2 s lease's stored expiry passes: the stale read says free, from stored state.
	awaitStale(t, hc, follower, token, "/locks/stale-b?consistency=stale", "stale read of an expired lease",
		func(code int, b map[string]any) bool { return code == 200 && b["status"] == "free" })
}
