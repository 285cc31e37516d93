package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable prints results as an aligned table, one row per result, followed by the
// error codes of any run that had errors.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "system\tscenario\tclients\tops/s\tgrants/s\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\terrors\tsafety\t")
	for _, r := range results {
		if r.Unsupported != "" {
			fmt.Fprintf(tw, "%s\t%s\t%d\tunsupported\t\t\t\t\t\t\t\t\t\n", r.System, r.Scenario, r.Concurrency)
			continue
		}
		safety := "ok"
		if !r.Safety.OK {
			safety = fmt.Sprintf("FAIL %d double, %d fencing", r.Safety.DoubleGrants, r.Safety.FencingRegressions)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%s\t\n",
			r.System, r.Scenario, r.Concurrency, r.OpsPerSec, r.GrantsPerSec,
			r.LatencyMs.P50, r.LatencyMs.P90, r.LatencyMs.P99, r.LatencyMs.P999, r.LatencyMs.Max,
			r.ErrorCount(), safety)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range results {
		if r.Unsupported != "" {
			fmt.Fprintf(w, "%s %s: unsupported: %s\n", r.System, r.Scenario, r.Unsupported)
		}
		if len(r.Errors) == 0 {
			continue
		}
		parts := make([]string, 0, len(r.Errors))
		for _, code := range r.SortedCodes() {
			parts = append(parts, fmt.Sprintf("%s=%d", code, r.Errors[code]))
		}
		fmt.Fprintf(w, "%s %s c=%d errors: %s\n", r.System, r.Scenario, r.Concurrency, strings.Join(parts, " "))
	}
	return nil
}
