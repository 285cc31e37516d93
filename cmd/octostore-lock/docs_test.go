package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// metricName finds the series names a PromQL expression uses: names of the server's
// families (octostore_, go_, process_) and Prometheus' own up.
var metricName = regexp.MustCompile(`\b(?:octostore|go|process)_[a-z0-9_]+\b|\bup\b`)

// TestPrometheusRulesAndDashboard: docs/prometheus-rules.yml and docs/grafana-dashboard.json
// parse, and every metric their expressions use is in the /metrics of a real server
// (after one acquire, so the labelled families have series). With promtool installed
// (Debian package prometheus) the rule file must also pass `promtool check rules`.
func TestPrometheusRulesAndDashboard(t *testing.T) {
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
	if r := p.call(t, "POST", "/locks/docs/acquire", p.token, map[string]any{"ttl_seconds": 60}); r["status"] != "acquired" {
		t.Fatalf("%v", r)
	}
	p.call(t, "POST", "/locks/docs/renew", p.token, map[string]any{"lease_id": "00000000-0000-0000-0000-000000000000", "ttl_seconds": 60})
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	exported := map[string]bool{"up": true} // up is Prometheus' own, per scrape target
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		exported[strings.FieldsFunc(line, func(r rune) bool { return r == '{' || r == ' ' })[0]] = true
	}
	// Every octostore_ family the server exports is in production.md's metrics table.
	guide, err := os.ReadFile("../../docs/production.md")
	if err != nil {
		t.Fatal(err)
	}
	for name := range exported {
		family := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		if strings.HasPrefix(family, "octostore_") && !strings.Contains(string(guide), "`"+family) {
			t.Errorf("docs/production.md does not describe the metric %s", family)
		}
	}
	check := func(where, expr string) {
		t.Helper()
		names := metricName.FindAllString(expr, -1)
		if len(names) == 0 {
			t.Errorf("%s: no metric in %q", where, expr)
		}
		for _, n := range names {
			if !exported[n] {
				t.Errorf("%s: %s is not in the server's /metrics (expr %q)", where, n, expr)
			}
		}
	}

	// The rule file.
	raw, err := os.ReadFile("../../docs/prometheus-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert, Record, Expr string
				Labels              map[string]string
				Annotations         map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatalf("prometheus-rules.yml: %v", err)
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("prometheus-rules.yml: rule %q lacks an alert name, expr, severity or summary", r.Alert)
			}
			check("prometheus-rules.yml "+r.Alert, r.Expr)
		}
	}
	if n == 0 {
		t.Error("prometheus-rules.yml has no rules")
	}

	// The dashboard: every panel's targets and the template queries.
	raw, err = os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
		Templating struct {
			List []struct {
				Name, Type string
				Query      any
			}
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	if dash.Title == "" || len(dash.Panels) == 0 {
		t.Fatal("grafana-dashboard.json: no title or no panels")
	}
	for _, pn := range dash.Panels {
		if len(pn.Targets) == 0 {
			t.Errorf("grafana-dashboard.json: panel %q has no query", pn.Title)
		}
		for _, tg := range pn.Targets {
			check("grafana-dashboard.json "+pn.Title, tg.Expr)
		}
	}
	for _, v := range dash.Templating.List {
		if q, ok := v.Query.(map[string]any); ok && v.Type == "query" {
			check("grafana-dashboard.json variable "+v.Name, q["query"].(string))
		}
	}

	// promtool, when this machine has it.
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not installed (apt-get install prometheus): skipped `promtool check rules`")
		return
	}
	out, err := exec.Command(promtool, "check", "rules", "../../docs/prometheus-rules.yml").CombinedOutput()
	if err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
	used := make([]string, 0, len(exported))
	for k := range exported {
		used = append(used, k)
	}
	sort.Strings(used)
	t.Logf("promtool: %s; %d series names exported", strings.TrimSpace(string(out)), len(used))
}
