package domain

import (
	"bytes"
	"fmt"

	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// Report is what domain-wise repair adds to a sample-wise report: whether the verifier proved the property on every box,
// and the rounds it took.
type Report struct {
	// Certified is true only when the verifier proved the repaired network safe on every box.
	Certified bool `json:"certified"`
	// Verdict is the last verification's verdict (certified, violated or unknown).
	Verdict string `json:"verdict"`
	// VerifierSeconds is the verifier's time over all rounds; FinalVerifySeconds that of the last round.
	VerifierSeconds    float64 `json:"verifier_seconds"`
	FinalVerifySeconds float64 `json:"final_verify_seconds"`
	Rounds             int     `json:"rounds"`
	// InitialCounterexamples is how many violations of the original network the first search found.
	InitialCounterexamples int     `json:"initial_counterexamples"`
	Log                    []Round `json:"log"`
	// Offset reports the output offset that finished the repair (domain.finish: offset), if one was tried.
	Offset *OffsetReport `json:"offset,omitempty"`
	// Shrink reports the pull back toward the original (domain.shrink_steps), if one was tried.
	Shrink *ShrinkReport `json:"shrink,omitempty"`
	// Patch reports the local patch (paradigm patch).
	Patch *PatchReport `json:"patch,omitempty"`
	// Original, when not nil, is the original network in the repaired network's shape (a patch's
	// indicators with zero offsets): what differential verification compares the repair with. Changed,
	// when not nil, are the boxes the repair may change (a patch's boxes widened by their bands), for
	// the drift's inside and outside.
	Original *nn.Network    `json:"-"`
	Changed  []property.Box `json:"-"`
	// BelowFloor, when not empty, warns that a certified repair's domain fidelity is below
	// domain.fidelity_floor.
	BelowFloor string `json:"below_floor,omitempty"`
}

// ShrinkReport says how the pull of a certified repair back toward the original went: the network kept
// is original + Lambda (repaired - original) (1: the repair as it was).
type ShrinkReport struct {
	Lambda float64 `json:"lambda"`
	// Tries counts verifier runs; VerifierSeconds is their time, Seconds the whole step's.
	Tries           int     `json:"tries"`
	VerifierSeconds float64 `json:"verifier_seconds"`
	Seconds         float64 `json:"seconds"`
	// SelectionBefore and SelectionAfter are the argmin (argmax) agreement with the original, percent,
	// on the domain samples that chose lambda (drawn apart from the reported fidelity's).
	SelectionBefore float64 `json:"selection_before"`
	SelectionAfter  float64 `json:"selection_after"`
	Error           string  `json:"error,omitempty"`
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

// Round is one round of domain-wise repair.
type Round struct {
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
func (l Round) Outcome() string {
	if l.Stalled {
		return l.Verdict + " (stalled)"
	}
	return l.Verdict
}

// Markdown renders the report's section of a repair report: the verdict, a table of the rounds (none for
// a local patch), and the output offset, shrink or patch, where there was one.
func (d *Report) Markdown() []byte {
	var b bytes.Buffer
	if d.BelowFloor != "" {
		fmt.Fprintf(&b, "**Warning: %s.**\n\n", d.BelowFloor)
	}
	if d.Patch == nil {
		fmt.Fprintf(&b, "Domain-wise repair: **%s** after %d round(s); verifier %.2f s in all, %.2f s on the last round.\n\n", d.Verdict, d.Rounds, d.VerifierSeconds, d.FinalVerifySeconds)
		fmt.Fprintf(&b, "| round | negatives | positives | repair s | verdict | verify s | boxes | proven | added |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, l := range d.Log {
			fmt.Fprintf(&b, "| %d | %d | %d | %.2f | %s | %.2f | %d | %.2f%% | %d |\n", l.Round, l.Negatives, l.Positives, l.RepairSeconds, l.Outcome(), l.VerifySeconds, l.Boxes, 100*l.Proven, l.Added)
		}
		b.WriteString("\n")
	}
	if o := d.Offset; o != nil {
		fmt.Fprintf(&b, "Output offset: **%s** after %d verifier run(s), %.2f s; outputs %v raised by %.4g (samples showed at least %.4g necessary, branch and bound %.4g enough; the outputs' RMS is %.4g).\n\n", o.Verdict, o.Tries, o.Seconds, o.Outputs, o.Shift, o.Sampled, o.Bounded, o.OutputRMS)
	}
	if pt := d.Patch; pt != nil {
		fmt.Fprintf(&b, "Local patch: **%s** after %d verifier run(s), %.2f s (verifier %.2f s); %d box(es) patched, %d hidden neurons added, band %.3g of the domain's width; the network computes the original's outputs bit for bit on at least %.4f%% of the domain (outside the widened boxes).\n\n", pt.Verdict, pt.Tries, pt.Seconds, pt.VerifierSeconds, len(pt.Boxes), pt.AddedNeurons, pt.Band, pt.Untouched)
		if len(pt.Boxes) > 0 {
			b.WriteString("| box | output offset |\n|---|---|\n")
			for _, bx := range pt.Boxes {
				fmt.Fprintf(&b, "| %.4g .. %.4g | %.4g |\n", bx.Lo, bx.Hi, bx.Offset)
			}
			b.WriteString("\n")
		}
	}
	if s := d.Shrink; s != nil {
		fmt.Fprintf(&b, "Shrink toward the original: lambda %.4g after %d verifier run(s), %.2f s; fidelity on the selection samples %.2f%% -> %.2f%%.\n\n", s.Lambda, s.Tries, s.Seconds, s.SelectionBefore, s.SelectionAfter)
	}
	return b.Bytes()
}
