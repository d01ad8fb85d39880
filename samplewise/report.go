package samplewise

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/birdnn/birdnn/localize"
	"github.com/birdnn/birdnn/minimal"
)

// Report is what a repair measured. Percentages are in [0, 100]; NaN (written as null) where a set is empty.
type Report struct {
	Paradigm  string `json:"paradigm"`
	Optimizer string `json:"optimizer"`
	Network   string `json:"network"`
	Property  string `json:"property"`
	// RepairSuccessRate is the share of repair negatives that now satisfy the property.
	RepairSuccessRate Figure `json:"repair_success_rate"`
	// Generalization is the share of held-out negatives that now satisfy it.
	Generalization Figure `json:"generalization"`
	// Drawdown is the share of held-out positives that no longer satisfy it.
	Drawdown Figure `json:"drawdown"`
	// RepairDrawdown is the same on the repair positives.
	RepairDrawdown Figure   `json:"repair_drawdown"`
	Fidelity       Fidelity `json:"fidelity"`
	// OutputDeviation is ||f' - f|| / ||f|| over the held-out positives' outputs.
	OutputDeviation   Figure            `json:"output_deviation"`
	NeuronsChanged    int               `json:"neurons_changed"`
	ParametersChanged int               `json:"parameters_changed"`
	Localized         []localize.Neuron `json:"localized,omitempty"`
	PSOCost           Figure            `json:"pso_cost,omitempty"`
	Counts            Counts            `json:"counts"`
	// Accuracy, for a classifier (a labelled dataset), is the share of inputs classified as their label
	// (within the dataset's margin) before and after the repair, on the repair and the held-out sets.
	Accuracy *Accuracy `json:"accuracy,omitempty"`
	// Minimal is paradigm minimal's program: its optimum, certified lower bound, size and solve.
	Minimal *minimal.Result `json:"minimal,omitempty"`
	// MaxSat is paradigm constraint's exact search (constraint.solver exact).
	MaxSat  *minimal.MaxSatResult `json:"max_sat,omitempty"`
	Seconds map[string]float64    `json:"seconds"`
	Seed    uint64                `json:"seed"`
}

// Fidelity is decision agreement with the original network, in percent: of the argmin (ACAS Xu's
// advisory), or of the argmax for a classifier (Decision says which).
type Fidelity struct {
	Decision         string `json:"decision"`
	HeldOutPositives Figure `json:"held_out_positives"`
	Domain           Figure `json:"domain"`
	DomainSamples    int    `json:"domain_samples"`
	DomainBox        string `json:"domain_box"`
}

// Accuracy is a classifier's accuracy before and after repair, in percent.
type Accuracy struct {
	RepairBefore  Figure `json:"repair_before"`
	RepairAfter   Figure `json:"repair_after"`
	HeldOutBefore Figure `json:"held_out_before"`
	HeldOutAfter  Figure `json:"held_out_after"`
}

// Counts are the sizes of the sets the figures are measured on.
type Counts struct {
	RepairNegatives int `json:"repair_negatives"`
	RepairPositives int `json:"repair_positives"`
	TestNegatives   int `json:"test_negatives"`
	TestPositives   int `json:"test_positives"`
}

// Figure is a measured number; NaN (a measure over an empty set) is written to JSON as null.
type Figure float64

// MarshalJSON writes NaN and infinities as null.
func (f Figure) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

// Percent renders a percentage with two decimals, or "n/a" for NaN (a measure over an empty set).
func (f Figure) Percent() string {
	if math.IsNaN(float64(f)) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f%%", float64(f))
}

// JSON renders the report as indented JSON.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Markdown renders the report for people; the extra sections (e.g. domain-wise repair's rounds) go in
// before the closing line of seconds.
func (r *Report) Markdown(extra ...[]byte) []byte {
	var b bytes.Buffer
	f := Figure.Percent
	fmt.Fprintf(&b, "# birdnn repair report\n\n")
	fmt.Fprintf(&b, "- network: `%s`\n- property: `%s`\n- paradigm: %s (%s)\n- seed: %d\n\n", r.Network, r.Property, r.Paradigm, r.Optimizer, r.Seed)
	fmt.Fprintf(&b, "| measure | value | on |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| repair success | %s | %d repair negatives |\n", f(r.RepairSuccessRate), r.Counts.RepairNegatives)
	fmt.Fprintf(&b, "| generalization | %s | %d held-out negatives |\n", f(r.Generalization), r.Counts.TestNegatives)
	fmt.Fprintf(&b, "| drawdown | %s | %d held-out positives |\n", f(r.Drawdown), r.Counts.TestPositives)
	if a := r.Accuracy; a != nil {
		fmt.Fprintf(&b, "| accuracy before -> after | %s -> %s | %d repair inputs |\n", f(a.RepairBefore), f(a.RepairAfter), r.Counts.RepairNegatives+r.Counts.RepairPositives)
		fmt.Fprintf(&b, "| accuracy before -> after | %s -> %s | %d held-out inputs |\n", f(a.HeldOutBefore), f(a.HeldOutAfter), r.Counts.TestNegatives+r.Counts.TestPositives)
	}
	dec := r.Fidelity.Decision
	if dec == "" {
		dec = "argmin"
	}
	fmt.Fprintf(&b, "| fidelity (%s agreement) | %s | held-out positives |\n", dec, f(r.Fidelity.HeldOutPositives))
	if r.Fidelity.DomainSamples > 0 {
		fmt.Fprintf(&b, "| fidelity (%s agreement) | %s | %d uniform samples of the %s |\n", dec, f(r.Fidelity.Domain), r.Fidelity.DomainSamples, r.Fidelity.DomainBox)
	}
	fmt.Fprintf(&b, "| output deviation ‖f'−f‖/‖f‖ | %.4g | held-out positives |\n", float64(r.OutputDeviation))
	fmt.Fprintf(&b, "| neurons changed | %d | |\n| parameters changed | %d | |\n\n", r.NeuronsChanged, r.ParametersChanged)
	if len(r.Localized) > 0 {
		fmt.Fprintf(&b, "Localized neurons (layer:index score): ")
		for i, n := range r.Localized {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%d:%d %.3g", n.Layer, n.Index, n.Score)
		}
		b.WriteString("\n\n")
	}
	if mr := r.Minimal; mr != nil {
		if ms := r.MaxSat; ms != nil {
			fmt.Fprintf(&b, "## Constraint-based repair of layer %d (localized entries, MaxSMT solved by branch and bound)\n\n", mr.Layer)
			verdict := "optimal: no change of the localized entries within the limit satisfies more"
			if !ms.Exact {
				verdict = fmt.Sprintf("not proved optimal within the budget: at most %d can be", ms.UpperBound)
			}
			fmt.Fprintf(&b, "- negatives satisfied (every row, plain forward pass): %d of %d (the LP relaxation's answer: %d); %s; %d programs, %.2f s\n", ms.Satisfied, ms.Soft, ms.Relaxation, verdict, ms.Nodes, ms.Seconds)
			fmt.Fprintf(&b, "- the least L1 change that satisfies those negatives with the hard rows: %.10g, certified lower bound %.10g\n", mr.Objective, mr.LowerBound)
		} else if r.Paradigm == "constraint" {
			fmt.Fprintf(&b, "## Constraint-based repair of layer %d (localized entries, LP relaxation)\n\n", mr.Layer)
			fmt.Fprintf(&b, "- objective (L1 change + priced violation of the negatives' soft rows) %.10g, certified lower bound %.10g (gap %.2g): no change of the localized entries within the limit does better\n", mr.Objective, mr.LowerBound, mr.Gap)
		} else {
			fmt.Fprintf(&b, "## Minimal change of layer %d (%s)\n\n", mr.Layer, mr.Norm)
			fmt.Fprintf(&b, "- optimum %.10g, certified lower bound %.10g (gap %.2g): no smaller %s change of this layer satisfies these rows\n", mr.Objective, mr.LowerBound, mr.Gap, mr.Norm)
		}
		fmt.Fprintf(&b, "- change: largest |Δ| %.6g, sum of |Δ| %.6g, %d entries moved; soft slack %.4g\n", mr.MaxChange, mr.L1Change, mr.Changed, mr.Slack)
		fmt.Fprintf(&b, "- program: %d of %d rows x %d columns, %d nonzeros, %d rounds, %d iterations (%s), %.2f s; residuals %.2g primal, %.2g dual\n",
			mr.Rows, mr.AllRows, mr.Cols, mr.Nonzeros, mr.Rounds, mr.Iterations, mr.Method, mr.Seconds, mr.PrimalResidual, mr.DualResidual)
		fmt.Fprintf(&b, "- plain forward pass: %d hard rows violated", mr.Violated)
		if mr.PatternMoved > 0 {
			fmt.Fprintf(&b, "; the activation pattern after the layer moved on %d inputs (the program held it fixed)", mr.PatternMoved)
		}
		b.WriteString("\n\n")
	}
	for _, x := range extra {
		b.Write(x)
	}
	var phases []string
	for k := range r.Seconds {
		phases = append(phases, k)
	}
	sort.Strings(phases)
	b.WriteString("Seconds: ")
	for i, k := range phases {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %.2f", k, r.Seconds[k])
	}
	b.WriteString("\n")
	return b.Bytes()
}
