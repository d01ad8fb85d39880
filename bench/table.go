package bench

import (
	"bytes"
	"fmt"
	"math"
	"strings"
)

func pct(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", v)
}

// pct3 is pct with three decimals.
func pct3(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", v)
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.4g", v)
}

// Markdown renders the rows, their average and the published averages.
func Markdown(title string, rows []Row, published []Published) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", title)
	b.WriteString("| task | repair negatives | test negatives | test positives | repair success % | generalization % | drawdown % | domain fidelity % | certified drift | decision proved % | repair s | data s |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range append(append([]Row(nil), rows...), Average(rows)) {
		if r.Err != "" {
			fmt.Fprintf(&b, "| %s | error: %s |||||||||||\n", r.Task, cell(r.Err))
			continue
		}
		name := r.Task
		if name == "average" {
			name = "**birdnn average**"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %.2f | %.2f |\n", name, r.Negatives, r.TestNegatives, r.TestPositives,
			pct(r.Success), pct(r.Generalization), pct(r.Drawdown), pct(r.DomainFidelity), num(r.Drift), pct(r.DecisionProved), r.Seconds, r.DataSeconds)
	}
	for _, p := range published {
		fmt.Fprintf(&b, "| %s (published) | | | | %.2f | %.2f | %.2f | | | | %.2f | |\n", p.Method, p.Success, p.Generalization, p.Drawdown, p.Seconds)
	}
	return b.Bytes()
}

// CSV renders the rows and their average.
func CSV(rows []Row) []byte {
	var b bytes.Buffer
	b.WriteString("task,repair_negatives,test_negatives,test_positives,repair_success,generalization,drawdown,domain_fidelity,drift,decision_proved,seconds,data_seconds,error\n")
	for _, r := range append(append([]Row(nil), rows...), Average(rows)) {
		fmt.Fprintf(&b, "%q,%d,%d,%d,%s,%s,%s,%s,%s,%s,%.3f,%.3f,%q\n", r.Task, r.Negatives, r.TestNegatives, r.TestPositives,
			pct(r.Success), pct(r.Generalization), pct(r.Drawdown), pct(r.DomainFidelity), num(r.Drift), pct(r.DecisionProved), r.Seconds, r.DataSeconds, r.Err)
	}
	return b.Bytes()
}

// cell makes text safe inside a Markdown table cell: a '|' would end the cell, a newline the row.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
