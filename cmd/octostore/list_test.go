package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// list prints the whole list: it follows next_cursor through every page the server
// hands out, asking for the largest pages.
func TestListFollowsEveryPage(t *testing.T) {
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		lock := func(name string) map[string]any {
			return map[string]any{"name": name, "status": "held", "revision": 1, "holder_id": "tok_aaaaaaaaaaaa", "fencing_token": 1, "expires_at": "2026-02-12T01:00:00Z"}
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Query().Get("cursor") {
		case "":
			json.NewEncoder(w).Encode(map[string]any{"locks": []any{lock("a"), lock("b")}, "next_cursor": "c1"})
		case "c1":
			json.NewEncoder(w).Encode(map[string]any{"locks": []any{lock("c")}})
		default:
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"OCTOSTORE_URL": srv.URL, "OCTOSTORE_TOKEN": "oct_tok_x"}[k]
		return v, ok
	}
	var stdout, stderr bytes.Buffer
	if code := cli([]string{"list"}, env, nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var out struct {
		Locks []struct{ Name string }
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if got := fmt.Sprint(out.Locks); got != "[{a} {b} {c}]" || fmt.Sprint(queries) != "[limit=1000 cursor=c1&limit=1000]" {
		t.Fatalf("printed %s after %v", stdout.String(), queries)
	}
}
