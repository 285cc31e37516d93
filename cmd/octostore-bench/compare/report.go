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
	fmt.Fprintln(w, "\nTargets (issue 4):")
	target := func(what string, ok bool, detail string) {
		verdict := "MET"
		if !ok {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "- %s: %s (%s)\n", what, verdict, detail)
	}
	max := slices.Max(o.clients)
	oc, ec, rc := get("octostore", "cycle", max), get("etcd", "cycle", max), get("redis-always", "cycle", max)
	if oc != nil && ec != nil && ec.rate() > 0 {
		target(fmt.Sprintf("durable cycle at %d clients >= 3x etcd, p99 <= half of etcd's", max),
			oc.rate() >= 3*ec.rate() && oc.p99() <= ec.p99()/2,
			fmt.Sprintf("%.2fx etcd; p99 %.2f ms vs etcd %.2f ms", oc.rate()/ec.rate(), oc.p99(), ec.p99()))
	}
	if oc != nil && rc != nil && rc.rate() > 0 {
		target(fmt.Sprintf("durable cycle at %d clients >= Redis appendfsync always", max),
			oc.rate() >= rc.rate(), fmt.Sprintf("%.2fx", oc.rate()/rc.rate()))
	}
	for _, sc := range ceilingScenarios {
		for _, n := range o.clients {
			oc, cc := get("octostore", sc, n), get("ceiling", sc, n)
			if oc == nil || cc == nil || cc.rate() == 0 {
				continue
			}
			target(fmt.Sprintf("%s at %d clients >= 80%% of the no-op ceiling", sc, n),
				oc.rate() >= 0.8*cc.rate(), fmt.Sprintf("%.0f%%", oc.rate()/cc.rate()*100))
		}
	}
	if hc := get("octostore", "handoff", 16); hc != nil {
		if hc.supported() {
			target("handoff p99 under 5 ms at 16 waiters", hc.p99() < 5, fmt.Sprintf("p99 %.2f ms", hc.p99()))
		} else {
			fmt.Fprintf(w, "- handoff p99 under 5 ms at 16 waiters: NOT MEASURED (octostore: %s)\n", hc.runs[0].Unsupported)
		}
	}
}
