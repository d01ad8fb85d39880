package diff

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/verify"
)

// Drift is how far a repaired network B moved from its original A over an input domain, proved: a
// certified bound on max |B - A| (every output) outside the repaired boxes and inside them, each beside
// the largest difference seen, and the share of the domain's volume on which the decision (argmin or
// argmax) is proved unchanged.
type Drift struct {
	// Domain names the domain the figures are over.
	Domain string `json:"domain"`
	// Decision is "argmin" or "argmax".
	Decision string `json:"decision"`
	// Outside bounds max |B - A| over the domain outside the repaired boxes (sub-boxes that meet a
	// repaired box without lying in one count on both sides); SampledOutside is the largest difference
	// seen there. The true maximum lies between them.
	Outside        float64 `json:"outside"`
	SampledOutside float64 `json:"sampled_outside"`
	// Inside and SampledInside are the same inside the repaired boxes (nil when none meets the domain,
	// SampledInside also when no sub-box centre fell inside).
	Inside        *float64 `json:"inside,omitempty"`
	SampledInside *float64 `json:"sampled_inside,omitempty"`
	// DecisionProved is the percentage of the domain's volume on which B's decision is proved to be A's;
	// DecisionChanged the percentage on which sub-boxes' centres already differ.
	DecisionProved  float64 `json:"decision_proved"`
	DecisionChanged float64 `json:"decision_changed"`
	// Boxes is the number of sub-boxes bounded, Seconds the time taken, Budget the time allowed.
	Boxes   int     `json:"boxes"`
	Seconds float64 `json:"seconds"`
	Budget  float64 `json:"budget_seconds"`
}

// DriftOptions is DriftOf's budget and decision.
type DriftOptions struct {
	// Timeout and MaxBoxes bound the refinement (at least one of them must be set).
	Timeout  time.Duration
	MaxBoxes int
	// Argmax proves the argmax unchanged (classifiers) instead of the argmin (ACAS Xu's advisory).
	Argmax bool
	// Carve starts the refinement from the domain cut along the repaired boxes' faces (each box and the
	// slabs around it): for a repair known to be local to its boxes (a patch), so that the pieces outside
	// them are bounded apart from the pieces that straddle a face.
	Carve bool
}

// DriftOf bounds B's drift from A over domain, the repaired boxes given. The domain is split best first,
// the three goals taking turns: the sub-box outside the repaired boxes with the largest bound, the
// largest sub-box whose decision is not yet proved, the sub-box inside with the largest bound. On a
// sub-box the decision is proved unchanged when, for A's choice i at its centre and every other output
// j, a lower bound of A_j - A_i (CROWN) exceeds the most the difference can close the gap, hi(B_i - A_i)
// - lo(B_j - A_j) (argmin; the mirror image for argmax): then B's choice is i on all of it. It is also
// proved, with |B - A| = 0 there, when B differs from A only in weights that leave relu neurons A's
// CROWN bounds prove off on the whole sub-box (below zero by more than rounding): B then computes A's
// outputs, as a patch does away from its boxes.
func DriftOf(ctx context.Context, a, b *nn.Network, domain property.Box, repaired []property.Box, opt DriftOptions) (*Drift, error) {
	start := time.Now()
	if err := check(a, domain, -1); err != nil {
		return nil, err
	}
	if opt.Timeout <= 0 && opt.MaxBoxes <= 0 {
		return nil, fmt.Errorf("diff: drift needs a time or box budget")
	}
	d, err := Network(a, b)
	if err != nil {
		return nil, err
	}
	db := newDeltaBounder(a, b, d)
	offCols, offOK := differingInputs(a, b)
	m := a.Outputs()
	out := &Drift{Decision: "argmin", Budget: opt.Timeout.Seconds()}
	inside, sampledInside := math.NaN(), math.NaN()
	if opt.Argmax {
		out.Decision = "argmax"
	}
	choose := nn.Argmin
	if opt.Argmax {
		choose = nn.Argmax
	}

	type leaf struct {
		box            property.Box
		bound          float64 // max over outputs of |B - A| on the box
		sens           []float64
		share          float64 // of the domain's volume
		inside, meets  bool
		proved, differ bool
		final          bool // too thin to split further
	}
	eval := func(bx property.Box) leaf {
		l := leaf{box: bx, share: volumeShare(bx, domain)}
		for _, r := range repaired {
			if meets(bx, r) {
				l.meets = true
				if within(bx, r) {
					l.inside = true
				}
			}
		}
		var ab [][]verify.Interval // A's bounds on bx, for both proofs of the decision
		if offOK {
			if ab = verify.Crown(a, bx); offOn(a, ab, offCols) {
				l.proved = true // B computes A's outputs on bx: bound 0
				return l
			}
		}
		ivs, sens := db.bounds(bx)
		l.sens = sens
		for _, iv := range ivs {
			l.bound = math.Max(l.bound, math.Max(iv.Hi, -iv.Lo))
		}
		x := probes(bx)[0]
		ya, yb := a.Forward(x), b.Forward(x)
		g := gap(ya, yb, -1)
		in := false
		for _, r := range repaired {
			in = in || r.Contains(x)
		}
		if in {
			sampledInside = nanMax(sampledInside, g)
		} else {
			out.SampledOutside = math.Max(out.SampledOutside, g)
		}
		i := choose(ya)
		if choose(yb) != i {
			l.differ = true
			return l
		}
		if ab == nil {
			ab = verify.Crown(a, bx)
		}
		l.proved = true
		for j := 0; j < m && l.proved; j++ {
			if j == i {
				continue
			}
			coef := make([]float64, m)
			// margin = A_j - A_i (argmin) or A_i - A_j (argmax); B's margin = margin + closing terms.
			var close float64
			if opt.Argmax {
				coef[i], coef[j] = 1, -1
				close = ivs[i].Lo - ivs[j].Hi
			} else {
				coef[j], coef[i] = 1, -1
				close = ivs[j].Lo - ivs[i].Hi
			}
			margin := verify.OutputBound(a, ab, bx, coef, 0, true)
			l.proved = margin+close > 0
		}
		return l
	}
	pieces := []property.Box{domain}
	if opt.Carve {
		for _, r := range repaired {
			var next []property.Box
			for _, b := range pieces {
				next = append(next, carve(b, r)...)
			}
			pieces = next
		}
	}
	var leaves []leaf
	for _, b := range pieces {
		leaves = append(leaves, eval(b))
	}
	out.Boxes = len(leaves)
	for turn := 0; ; turn++ {
		if ctx.Err() != nil || (opt.Timeout > 0 && time.Since(start) > opt.Timeout) || (opt.MaxBoxes > 0 && out.Boxes+2 > opt.MaxBoxes) {
			break
		}
		// This turn's goal; when it has no candidate the next goal's is taken.
		pick := -1
		for k := 0; k < 3 && pick < 0; k++ {
			goal := (turn + k) % 3
			for w := range leaves {
				l := &leaves[w]
				if l.final {
					continue
				}
				var ok bool
				var better bool
				switch goal {
				case 0:
					ok = !l.inside && l.bound > out.SampledOutside
					better = pick < 0 || l.bound > leaves[pick].bound
				case 1:
					ok = !l.proved && !l.differ
					better = pick < 0 || l.share > leaves[pick].share
				case 2:
					ok = l.meets && !(l.bound <= sampledInside)
					better = pick < 0 || l.bound > leaves[pick].bound
				}
				if ok && better {
					pick = w
				}
			}
		}
		if pick < 0 {
			break // every bound meets its sampled end and every decision is settled
		}
		top := leaves[pick]
		sens := top.sens
		if top.meets && !top.inside {
			sens = nil // a piece across a repaired box's face: halve its widest side, to find the face
		}
		dim := splitDim(top.box, domain, sens)
		if dim < 0 {
			leaves[pick].final = true // every side is at the split limit: the others may still split
			continue
		}
		mid := (top.box.Lo[dim] + top.box.Hi[dim]) / 2
		lo, hi := cloneBox(top.box), cloneBox(top.box)
		lo.Hi[dim], hi.Lo[dim] = mid, mid
		leaves[pick] = eval(lo)
		leaves = append(leaves, eval(hi))
		out.Boxes += 2
	}
	for _, l := range leaves {
		if !l.inside {
			out.Outside = math.Max(out.Outside, l.bound)
		}
		if l.meets {
			inside = nanMax(inside, l.bound)
		}
		if l.proved {
			out.DecisionProved += 100 * l.share
		}
		if l.differ {
			out.DecisionChanged += 100 * l.share
		}
	}
	if !math.IsNaN(inside) {
		out.Inside = &inside
		if !math.IsNaN(sampledInside) { // nil when no sub-box centre fell inside
			out.SampledInside = &sampledInside
		}
	}
	out.DecisionProved = math.Min(out.DecisionProved, 100)
	out.Seconds = time.Since(start).Seconds()
	return out, nil
}

// nanMax is the larger of a and b, treating NaN as absent.
func nanMax(a, b float64) float64 {
	if math.IsNaN(a) {
		return b
	}
	return math.Max(a, b)
}

// meets reports whether boxes a and b overlap in more than a boundary (where one of them is flat in a
// dimension, touching counts).
func meets(a, b property.Box) bool {
	for i := range a.Lo {
		lo, hi := math.Max(a.Lo[i], b.Lo[i]), math.Min(a.Hi[i], b.Hi[i])
		if hi < lo || (hi == lo && a.Lo[i] < a.Hi[i] && b.Lo[i] < b.Hi[i]) {
			return false
		}
	}
	return true
}

// differingInputs returns, per layer, the inputs (neurons of the layer below) whose outgoing weights
// differ between a and b, and whether those are the only differences: same biases, no difference in the
// first layer's weights (the network's inputs are never off).
func differingInputs(a, b *nn.Network) ([][]int, bool) {
	cols := make([][]int, len(a.Layers))
	for k := range a.Layers {
		la, lb := &a.Layers[k], &b.Layers[k]
		if la.Kind != nn.Dense || !slices.Equal(la.B, lb.B) {
			return nil, false
		}
		seen := make([]bool, la.In)
		for r := range la.Out {
			for j := range la.In {
				if la.W[r*la.In+j] != lb.W[r*la.In+j] && !seen[j] {
					if k == 0 {
						return nil, false
					}
					seen[j] = true
					cols[k] = append(cols[k], j)
				}
			}
		}
	}
	return cols, true
}

// offOn reports whether every neuron in cols (per layer, of the layer below) is an exact 0 on the box
// bounds are of: a relu whose pre-activation lies below zero by more than rounding (1e-9 of the bounds'
// size), or a relu with no bias whose nonzero weights all come from exact zeros. The weights leaving such
// neurons do not count.
func offOn(a *nn.Network, bounds [][]verify.Interval, cols [][]int) bool {
	need := false
	for _, cs := range cols {
		need = need || len(cs) > 0
	}
	if !need {
		return true
	}
	zero := make([][]bool, len(a.Layers))
	for k := range a.Layers[:len(a.Layers)-1] {
		l := &a.Layers[k]
		zero[k] = make([]bool, l.Out)
		if l.Act.Name != "relu" {
			continue
		}
		for j := range l.Out {
			iv := bounds[k][j]
			if iv.Hi < -1e-9*math.Max(1, math.Abs(iv.Lo)) {
				zero[k][j] = true
				continue
			}
			if k == 0 || l.B[j] != 0 {
				continue
			}
			fed := true
			for i, w := range l.W[j*l.In : (j+1)*l.In] {
				if w != 0 && !zero[k-1][i] {
					fed = false
					break
				}
			}
			zero[k][j] = fed
		}
	}
	for k, cs := range cols {
		for _, j := range cs {
			if !zero[k-1][j] {
				return false
			}
		}
	}
	return true
}

// carve cuts b along c's faces: the part of b inside c and up to two slabs per dimension outside it (b
// itself when the two do not meet).
func carve(b, c property.Box) []property.Box {
	if !meets(b, c) {
		return []property.Box{b}
	}
	var out []property.Box
	rest := cloneBox(b)
	for i := range rest.Lo {
		if rest.Lo[i] < c.Lo[i] {
			s := cloneBox(rest)
			s.Hi[i] = c.Lo[i]
			out = append(out, s)
			rest.Lo[i] = c.Lo[i]
		}
		if rest.Hi[i] > c.Hi[i] {
			s := cloneBox(rest)
			s.Lo[i] = c.Hi[i]
			out = append(out, s)
			rest.Hi[i] = c.Hi[i]
		}
	}
	return append(out, rest)
}

// within reports whether a lies in b.
func within(a, b property.Box) bool { return a.Within(b) }

// Markdown renders the drift as a report section.
func (d *Drift) Markdown() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "## Drift (certified by differential verification)\n\nOver the %s, %d sub-boxes, %.1f s of a %.0f s budget:\n\n", d.Domain, d.Boxes, d.Seconds, d.Budget)
	fmt.Fprintf(&b, "| | certified max \\|f' - f\\| | largest seen |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| outside the repaired boxes | %.4g | %.4g |\n", d.Outside, d.SampledOutside)
	if d.Inside != nil {
		seen := "none fell inside"
		if d.SampledInside != nil {
			seen = fmt.Sprintf("%.4g", *d.SampledInside)
		}
		fmt.Fprintf(&b, "| inside them | %.4g | %s |\n", *d.Inside, seen)
	}
	fmt.Fprintf(&b, "\n%s proved unchanged on %.2f%% of the domain's volume (changed at sub-box centres on %.2f%%; the rest undecided in the budget).\n\n", d.Decision, d.DecisionProved, d.DecisionChanged)
	return b.Bytes()
}
