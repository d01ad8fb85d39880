package repair

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/birdnn/birdnn/localize"
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
	OutputDeviation   Figure             `json:"output_deviation"`
	NeuronsChanged    int                `json:"neurons_changed"`
	ParametersChanged int                `json:"parameters_changed"`
	Localized         []localize.Neuron  `json:"localized,omitempty"`
	PSOCost           Figure             `json:"pso_cost,omitempty"`
	Counts            Counts             `json:"counts"`
	Seconds           map[string]float64 `json:"seconds"`
	Seed              uint64             `json:"seed"`
	// Domain reports domain-wise repair (mode: domain); nil for sample-wise repair.
	Domain *DomainReport `json:"domain,omitempty"`
}

// DomainReport is what domain-wise repair adds: whether the verifier proved the property on every box,
// and the rounds it took.
type DomainReport struct {
	// Certified is true only when the verifier proved the repaired network safe on every box.
	Certified bool `json:"certified"`
	// Verdict is the last verification's verdict (certified, violated or unknown).
	Verdict string `json:"verdict"`
	// VerifierSeconds is the verifier's time over all rounds; FinalVerifySeconds that of the last round.
	VerifierSeconds    float64 `json:"verifier_seconds"`
	FinalVerifySeconds float64 `json:"final_verify_seconds"`
	Rounds             int     `json:"rounds"`
	// InitialCounterexamples is how many violations of the original network the first search found.
	InitialCounterexamples int           `json:"initial_counterexamples"`
	Log                    []DomainRound `json:"log"`
	// Offset reports the output offset that finished the repair (domain.finish: offset), if one was tried.
	Offset *OffsetReport `json:"offset,omitempty"`
}

// OffsetReport says how an output offset went: the output layer's biases of the outputs a property
// forbids as the decision, raised until the verifier certifies it (domain.Offset).
type OffsetReport struct {
	// Outputs are the raised outputs, Shift how much each one's bias was raised.
	Outputs []int     `json:"outputs"`
	Shift   []float64 `json:"shift"`
	// Sampled is the least shift that samples showed necessary, Bounded the shift the whole box's bounds
	// proved enough, per raised output.
	Sampled []float64 `json:"sampled"`
	Bounded []float64 `json:"bounded"`
	// OutputRMS is the RMS of the network's outputs on the box samples, to size the shift against.
	OutputRMS float64 `json:"output_rms"`
	// Verdict is certified when the verifier proved the shifted network safe; Tries counts verifier runs.
	Verdict string  `json:"verdict"`
	Tries   int     `json:"tries"`
	Seconds float64 `json:"seconds"`
}

// DomainRound is one round of domain-wise repair.
type DomainRound struct {
	Round         int     `json:"round"`
	Negatives     int     `json:"negatives"`
	Positives     int     `json:"positives"`
	RepairSeconds float64 `json:"repair_seconds"`
	Verdict       string  `json:"verdict"`
	VerifySeconds float64 `json:"verify_seconds"`
	Boxes         int     `json:"boxes"`
	// Proven is the share of the boxes' volume the bounds proved safe.
	Proven float64 `json:"proven"`
	// Stalled says the verifier stopped before its budget, its proof falling behind (configs.Domain.Stall).
	Stalled bool `json:"stalled,omitempty"`
	// Added is how many inputs joined the repair set after this round.
	Added int `json:"added"`
}

// Outcome is the round's verdict, marked when the verifier stalled: "unknown (stalled)".
func (l DomainRound) Outcome() string {
	if l.Stalled {
		return l.Verdict + " (stalled)"
	}
	return l.Verdict
}

// Fidelity is argmin agreement with the original network, in percent.
type Fidelity struct {
	HeldOutPositives Figure `json:"held_out_positives"`
	Domain           Figure `json:"domain"`
	DomainSamples    int    `json:"domain_samples"`
	DomainBox        string `json:"domain_box"`
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

// Markdown renders the report for people.
func (r *Report) Markdown() []byte {
	var b bytes.Buffer
	f := Figure.Percent
	fmt.Fprintf(&b, "# birdnn repair report\n\n")
	fmt.Fprintf(&b, "- network: `%s`\n- property: `%s`\n- paradigm: %s (%s)\n- seed: %d\n\n", r.Network, r.Property, r.Paradigm, r.Optimizer, r.Seed)
	fmt.Fprintf(&b, "| measure | value | on |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| repair success | %s | %d repair negatives |\n", f(r.RepairSuccessRate), r.Counts.RepairNegatives)
	fmt.Fprintf(&b, "| generalization | %s | %d held-out negatives |\n", f(r.Generalization), r.Counts.TestNegatives)
	fmt.Fprintf(&b, "| drawdown | %s | %d held-out positives |\n", f(r.Drawdown), r.Counts.TestPositives)
	fmt.Fprintf(&b, "| fidelity (argmin agreement) | %s | held-out positives |\n", f(r.Fidelity.HeldOutPositives))
	fmt.Fprintf(&b, "| fidelity (argmin agreement) | %s | %d uniform samples of the %s |\n", f(r.Fidelity.Domain), r.Fidelity.DomainSamples, r.Fidelity.DomainBox)
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
	if d := r.Domain; d != nil {
		fmt.Fprintf(&b, "Domain-wise repair: **%s** after %d round(s); verifier %.2f s in all, %.2f s on the last round.\n\n", d.Verdict, d.Rounds, d.VerifierSeconds, d.FinalVerifySeconds)
		fmt.Fprintf(&b, "| round | negatives | positives | repair s | verdict | verify s | boxes | proven | added |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, l := range d.Log {
			fmt.Fprintf(&b, "| %d | %d | %d | %.2f | %s | %.2f | %d | %.2f%% | %d |\n", l.Round, l.Negatives, l.Positives, l.RepairSeconds, l.Outcome(), l.VerifySeconds, l.Boxes, 100*l.Proven, l.Added)
		}
		b.WriteString("\n")
		if o := d.Offset; o != nil {
			fmt.Fprintf(&b, "Output offset: **%s** after %d verifier run(s), %.2f s; outputs %v raised by %.4g (samples showed at least %.4g necessary, branch and bound %.4g enough; the outputs' RMS is %.4g).\n\n", o.Verdict, o.Tries, o.Seconds, o.Outputs, o.Shift, o.Sampled, o.Bounded, o.OutputRMS)
		}
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
