package main

import (
	"io"
	"net/http"
	"syscall"
	"testing"
)

// TestSIGKILLKeepsSessionsAndTheirLocks: a session and the ephemeral lock bound to it are
// durable like leases; after kill -9 the session renews, still holds the lock, and
// deleting it frees the lock. MAX_LOCK_SESSIONS_PER_ACCOUNT bounds an account's sessions.
func TestSIGKILLKeepsSessionsAndTheirLocks(t *testing.T) {
	dir := t.TempDir()
	p := start(t, dir, true, "MAX_LOCK_SESSIONS_PER_ACCOUNT=2")
	tok := p.token
	s := p.call(t, "POST", "/sessions", tok, map[string]any{"ttl_seconds": 3600})
	id, _ := s["session_id"].(string)
	if s["http_status"] != float64(201) || id == "" {
		t.Fatalf("create session: %v", s)
	}
	held := p.call(t, "POST", "/locks/leader/acquire", tok, map[string]any{"ttl_seconds": 1, "owner": "a", "session_id": id})
	if held["status"] != "acquired" {
		t.Fatalf("acquire through the session: %v", held)
	}
	p.call(t, "POST", "/sessions", tok, map[string]any{"ttl_seconds": 3600})
	if r := p.call(t, "POST", "/sessions", tok, map[string]any{"ttl_seconds": 3600}); r["code"] != "session_limit_exceeded" {
		t.Fatalf("third session: %v", r)
	}

	p.kill(syscall.SIGKILL)
	p = start(t, dir, false, "MAX_LOCK_SESSIONS_PER_ACCOUNT=2")
	if r := p.call(t, "POST", "/sessions/"+id+"/renew", tok, nil); r["http_status"] != float64(200) {
		t.Fatalf("renew after SIGKILL: %v", r)
	}
	if r := p.call(t, "GET", "/locks/leader", tok, nil); r["status"] != "held" || r["fencing_token"] != held["fencing_token"] {
		t.Fatalf("the ephemeral lock after SIGKILL: %v", r)
	}
	req, _ := http.NewRequest("DELETE", p.url+"/sessions/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 204 {
		t.Fatalf("delete: %v %v", res, err)
	}
	res.Body.Close()
	if r := p.call(t, "GET", "/locks/leader", tok, nil); r["status"] != "free" {
		t.Fatalf("after the session's delete: %v", r)
	}
}

func TestMaxSessionsSetting(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := parseConfig([]string{"--max-lock-sessions-per-account", "7"}, env(nil), io.Discard)
	if err != nil || c.MaxLockSessions != 7 {
		t.Fatalf("%+v %v", c, err)
	}
	if c, _ := parseConfig(nil, env(nil), io.Discard); c.MaxLockSessions != 100 {
		t.Fatalf("default %d", c.MaxLockSessions)
	}
	for _, v := range []string{"0", "-1", "many"} {
		if _, err := parseConfig(nil, env(map[string]string{"MAX_LOCK_SESSIONS_PER_ACCOUNT": v}), io.Discard); err == nil {
			t.Errorf("MAX_LOCK_SESSIONS_PER_ACCOUNT=%s accepted", v)
		}
	}
}
