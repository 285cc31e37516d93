package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var metricsLine = regexp.MustCompile(`msg=metrics addr=(\S+)`)

// TestMetricsAreServedApartFromTheAPI: with METRICS_ADDR set, /metrics answers there
// and counts the API's requests, while the API's own routes stay those of the spec.
func TestMetricsAreServedApartFromTheAPI(t *testing.T) {
	p := start(t, t.TempDir(), true, "METRICS_ADDR=127.0.0.1:0")
	var addr string
	for deadline := time.Now().Add(30 * time.Second); addr == ""; {
		if m := metricsLine.FindStringSubmatch(p.stdout.String()); m != nil {
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no metrics line: %s", p.stdout)
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	r := p.call(t, "POST", "/locks/m/acquire", p.token, map[string]any{"ttl_seconds": 60})
	if r["status"] != "acquired" {
		t.Fatalf("%v", r)
	}
	if r := p.call(t, "GET", "/metrics", p.token, nil); r["http_status"] != float64(404) {
		t.Fatalf("the API serves /metrics: %v", r)
	}
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`octostore_http_requests_total{code="200",route="POST /locks/{name}/acquire"} 1`,
		`octostore_lock_grants_total 1`,
		`octostore_locks_held 1`,
		`octostore_commit_duration_seconds_count`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	if res, err := http.Get("http://" + addr + "/debug/pprof/"); err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("pprof served without PPROF: %d", res.StatusCode)
		}
	}
}
