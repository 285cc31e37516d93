package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/octostore/octostore/cmd/octostore-bench/bench"
)

// cell is the runs of one system, scenario and client count.
type cell struct {
	runs []bench.Result
	cpu  []float64 // server CPU µs per op, -1 unknown
}

func (c cell) cpuPerOp() float64 {
	var known []float64
	for _, v := range c.cpu {
		if v >= 0 {
			known = append(known, v)
		}
	}
	if len(known) == 0 {
		return -1
	}
	return median(known)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// rate is the throughput a scenario is judged by: grants for contended (tries that lose
// are cheap), operations otherwise.
func rate(r bench.Result) float64 {
	if r.Scenario == "contended" {
		return r.GrantsPerSec
	}
	return r.OpsPerSec
}

func (c cell) supported() bool { return len(c.runs) > 0 && c.runs[0].Unsupported == "" }

func (c cell) rates() []float64 {
	out := make([]float64, len(c.runs))
	for i, r := range c.runs {
		out[i] = rate(r)
	}
	return out
}

func (c cell) rate() float64 { return median(c.rates()) }

func (c cell) p99() float64 {
	out := make([]float64, len(c.runs))
	for i, r := range c.runs {
		out[i] = r.LatencyMs.P99
	}
	return median(out)
}

// spread is half the range of the rates as a percentage of their median.
func (c cell) spread() float64 {
	rs := c.rates()
	m := median(rs)
	if m == 0 {
		return 0
	}
	return (slices.Max(rs) - slices.Min(rs)) / 2 / m * 100
}

func (c cell) errors() int64 {
	var n int64
	for _, r := range c.runs {
		n += r.ErrorCount()
	}
	return n
}

func (c cell) safe() bool {
	for _, r := range c.runs {
		if !r.Safety.OK {
			return false
		}
	}
	return true
}

type cellKey struct {
	system, scenario string
	clients          int
}

// writeReport prints the table of medians, the notes on errors and safety, and the
// issue's targets checked against this run.
func writeReport(w io.Writer, o options, results []bench.Result, cpu []float64) {
	cells := map[cellKey]*cell{}
	for i, r := range results {
		k := cellKey{r.System, r.Scenario, r.Concurrency}
		if cells[k] == nil {
			cells[k] = &cell{}
		}
		cells[k].runs = append(cells[k].runs, r)
		cells[k].cpu = append(cells[k].cpu, cpu[i])
	}
	get := func(sys, sc string, n int) *cell { return cells[cellKey{sys, sc, n}] }

	if o.nodes > 1 {
		fmt.Fprintf(w, "\nThree-node clusters on loopback: octostore = three octostore-lock processes (raft), etcd = three etcd members;\nthe clients spread over the nodes.\n")
	}
	fmt.Fprintf(w, "\nMedians of %d runs of %s each (after %s warm-up). Throughput is ops/s (contended: grants/s);\n", o.repeats, o.duration, o.warmup)
	fmt.Fprintf(w, "± is half the range of the runs as %% of the median; p99 in ms; ratio = OctoStore / peer throughput.\n\n")
	header := []string{"scenario", "clients"}
	for _, s := range o.systems {
		if s == "octostore" {
			header = append(header, "octostore", "±", "p99")
			continue
		}
		header = append(header, s, "p99", "ratio")
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(header, " | "))
	fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(header)))
	for _, sc := range o.scenarios {
		for _, n := range o.clients {
			oc := get("octostore", sc, n)
			row := []string{sc, fmt.Sprint(n)}
			any := false
			for _, s := range o.systems {
				c := get(s, sc, n)
				if s == "octostore" {
					if c == nil || !c.supported() {
						row = append(row, "unsupported", "", "")
						continue
					}
					any = true
					row = append(row, fmt.Sprintf("%.0f", c.rate()), fmt.Sprintf("%.0f%%", c.spread()), fmt.Sprintf("%.2f", c.p99()))
					continue
				}
				if c == nil {
					row = append(row, "–", "", "")
					continue
				}
				if !c.supported() {
					row = append(row, "unsupported", "", "")
					continue
				}
				any = true
				ratio := ""
				if oc != nil && oc.supported() && c.rate() > 0 {
					ratio = fmt.Sprintf("%.2f", oc.rate()/c.rate())
				} else if oc != nil && oc.supported() && oc.rate() > 0 {
					ratio = "∞"
				}
				row = append(row, fmt.Sprintf("%.0f", c.rate()), fmt.Sprintf("%.2f", c.p99()), ratio)
			}
			if any {
				fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
			}
		}
	}

	fmt.Fprintf(w, "\nServer CPU per operation, µs (median; the server process's user+system time over the run\nincluding warm-up, divided by measured ops, so a slight overestimate alike for all):\n\n")
	fmt.Fprintf(w, "| scenario | clients | %s |\n|%s\n", strings.Join(o.systems, " | "), strings.Repeat("---|", len(o.systems)+2))
	for _, sc := range o.scenarios {
		for _, n := range o.clients {
			row := []string{sc, fmt.Sprint(n)}
			any := false
			for _, s := range o.systems {
				c := get(s, sc, n)
				if c == nil || !c.supported() || c.cpuPerOp() < 0 {
					row = append(row, "")
					continue
				}
				any = true
				row = append(row, fmt.Sprintf("%.1f", c.cpuPerOp()))
			}
			if any {
				fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
			}
		}
	}

	var notes []string
	keys := make([]cellKey, 0, len(cells))
	for k := range cells {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.system != b.system {
			return a.system < b.system
		}
		if a.scenario != b.scenario {
			return a.scenario < b.scenario
		}
		return a.clients < b.clients
	})
	for _, k := range keys {
		c := cells[k]
		if !c.supported() {
			continue
		}
		if e := c.errors(); e > 0 {
			codes := map[string]int64{}
			for _, r := range c.runs {
				for code, n := range r.Errors {
					codes[code] += n
				}
			}
			parts := []string{}
			for code, n := range codes {
				parts = append(parts, fmt.Sprintf("%s=%d", code, n))
			}
			sort.Strings(parts)
			notes = append(notes, fmt.Sprintf("%s %s c=%d: %d errors over %d runs (%s)", k.system, k.scenario, k.clients, e, len(c.runs), strings.Join(parts, " ")))
		}
		if !c.safe() {
			notes = append(notes, fmt.Sprintf("%s %s c=%d: SAFETY CHECK FAILED", k.system, k.scenario, k.clients))
		}
	}
	unsupported := map[string]string{}
	for _, r := range results {
		if r.Unsupported != "" {
			unsupported[r.System+" "+r.Scenario] = r.Unsupported
		}
	}
	for k, why := range unsupported {
		notes = append(notes, fmt.Sprintf("%s: unsupported (%s)", k, why))
	}
	sort.Strings(notes)
	if len(notes) == 0 {
		notes = append(notes, "no errors; safety check passed in every run")
	}
	fmt.Fprintln(w, "\nNotes:")
	for _, n := range notes {
		fmt.Fprintf(w, "- %s\n", n)
	}

	if o.nodes > 1 {
		return // the targets are the single node's
	}
	fmt.Fprintln(w, "\nTargets (issue 15):")
	target := func(what string, ok bool, detail string) {
		verdict := "MET"
		if !ok {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "- %s: %s (%s)\n", what, verdict, detail)
	}
	for _, t := range []struct {
		n     int
		ratio float64
		p99   bool
	}{{64, 2.5, true}, {16, 2, false}} {
		oc, ec := get("octostore", "cycle", t.n), get("etcd", "cycle", t.n)
		if oc == nil || ec == nil || ec.rate() == 0 {
			continue
		}
		what, ok := fmt.Sprintf("durable cycle at %d clients >= %gx etcd", t.n, t.ratio), oc.rate() >= t.ratio*ec.rate()
		if t.p99 {
			what, ok = what+", p99 <= half of etcd's", ok && oc.p99() <= ec.p99()/2
		}
		detail := fmt.Sprintf("%.2fx etcd; p99 %.2f ms vs etcd %.2f ms", oc.rate()/ec.rate(), oc.p99(), ec.p99())
		if cc := get("ceiling", "cycle", t.n); cc != nil && cc.rate() > 0 {
			detail += fmt.Sprintf("; %.0f%% of the instant-grant ceiling, which is %.2fx etcd", oc.rate()/cc.rate()*100, cc.rate()/ec.rate())
		}
		target(what, ok, detail)
	}
	if oc := get("octostore", "cycle", 64); oc != nil && oc.cpuPerOp() > 0 {
		target("server CPU per durable cycle at 64 clients <= 45 us", oc.cpuPerOp() <= 45, fmt.Sprintf("%.1f us", oc.cpuPerOp()))
	}
	for _, sc := range []string{"status", "tryheld"} {
		oc, cc := get("octostore", sc, 64), get("ceiling", sc, 64)
		if oc == nil || cc == nil || cc.cpuPerOp() <= 0 || oc.cpuPerOp() <= 0 {
			continue
		}
		target(fmt.Sprintf("server CPU per %s at 64 clients <= 1.15x the no-op ceiling's", sc),
			oc.cpuPerOp() <= 1.15*cc.cpuPerOp(), fmt.Sprintf("%.1f us vs %.1f us, %.2fx", oc.cpuPerOp(), cc.cpuPerOp(), oc.cpuPerOp()/cc.cpuPerOp()))
	}
	if oc, ec := get("octostore", "renew", 64), get("etcd", "renew", 64); oc != nil && ec != nil && ec.rate() > 0 {
		target("renew at 64 clients >= 2x etcd", oc.rate() >= 2*ec.rate(), fmt.Sprintf("%.2fx", oc.rate()/ec.rate()))
	}
	if oc, rc := get("octostore", "cycle", 64), get("redis-always", "cycle", 64); oc != nil && rc != nil && rc.rate() > 0 {
		target("stretch: durable cycle at 64 clients >= Redis appendfsync always", oc.rate() >= rc.rate(), fmt.Sprintf("%.2fx", oc.rate()/rc.rate()))
	}
	if oc, bc := get("octostore", "cycle", 64), get("baseline", "cycle", 64); oc != nil && bc != nil && bc.rate() > 0 {
		fmt.Fprintf(w, "- against the baseline binary, cycle at 64 clients: %.2fx the throughput", oc.rate()/bc.rate())
		if oc.cpuPerOp() > 0 && bc.cpuPerOp() > 0 {
			fmt.Fprintf(w, ", %.1f us vs %.1f us of server CPU per cycle (%.2fx)", oc.cpuPerOp(), bc.cpuPerOp(), oc.cpuPerOp()/bc.cpuPerOp())
		}
		fmt.Fprintln(w)
	}
	if oc, uc := get("octostore", "cycle", 64), get("upstream", "cycle", 64); oc != nil && uc != nil && uc.rate() > 0 {
		fmt.Fprintf(w, "- against upstream OctoStore (Rust), cycle at 64 clients: %.2fx the throughput\n", oc.rate()/uc.rate())
	}
	if hc := get("octostore", "handoff", 16); hc != nil {
		if hc.supported() {
			target("handoff p99 under 5 ms at 16 waiters", hc.p99() < 5, fmt.Sprintf("p99 %.2f ms", hc.p99()))
		} else {
			fmt.Fprintf(w, "- handoff p99 under 5 ms at 16 waiters: NOT MEASURED (octostore: %s)\n", hc.runs[0].Unsupported)
		}
	}
}
