// Package diff proves how far two networks of the same inputs and outputs can differ on an input box
// (differential verification, as ReluDiff and NeuroDiff do): certified |B(x) - A(x)| < eps everywhere on
// the box, a violation confirmed by two forward passes, or unknown; and sound bounds on max |B - A|.
//
// Two methods race on the budget. The stacked network D(x) = B(x) - A(x) puts A's and B's layers side by
// side (block-diagonal weights over the shared input) and subtracts their outputs in a last linear layer,
// so every bound, split and exact decision of package verify applies, for any activation. For ReLU pairs
// of one shape, the symbolic difference (ReluDiff's joint propagation, symbolic.go) also bounds B - A
// directly, keeping the correlation of the two networks' neurons that bounding them apart in D loses,
// and back-substitutes it (backward.go) for the outputs and the neurons not stable in both networks.
// Both are sound, floating-point rounding included.
package diff

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/verify"
)

// Network returns D with D(x) = B(x) - A(x) for every x (in exact arithmetic). A and B must take the
// same inputs, give the same number of outputs, have the same depth and the same activation layer by
// layer (their widths may differ) and the same input normalization; convolutional networks are lowered
// to dense ones first (nn.Lower).
func Network(a, b *nn.Network) (*nn.Network, error) {
	if a.Inputs() != b.Inputs() || a.Outputs() != b.Outputs() {
		return nil, fmt.Errorf("diff: the networks have %d -> %d and %d -> %d values; want the same inputs and outputs", a.Inputs(), a.Outputs(), b.Inputs(), b.Outputs())
	}
	if !sameInputNorm(a.Norm, b.Norm) {
		return nil, errors.New("diff: the networks normalize their inputs differently (their inputs would not mean the same)")
	}
	var err error
	if !a.AllDense() {
		if a, err = nn.Lower(a); err != nil {
			return nil, err
		}
	}
	if !b.AllDense() {
		if b, err = nn.Lower(b); err != nil {
			return nil, err
		}
	}
	if len(a.Layers) != len(b.Layers) {
		return nil, fmt.Errorf("diff: %d and %d layers; want the same depth", len(a.Layers), len(b.Layers))
	}
	d := &nn.Network{}
	for k := range a.Layers {
		la, lb := &a.Layers[k], &b.Layers[k]
		if la.Act != lb.Act {
			return nil, fmt.Errorf("diff: layer %d: activations %s and %s differ", k, la.Act, lb.Act)
		}
		in := la.In + lb.In
		if k == 0 {
			in = la.In // both read the input
		}
		l := nn.Layer{In: in, Out: la.Out + lb.Out, W: make([]float64, (la.Out+lb.Out)*in), B: append(slices.Clone(la.B), lb.B...), Act: la.Act}
		for j := 0; j < la.Out; j++ {
			copy(l.W[j*in:], la.W[j*la.In:(j+1)*la.In])
		}
		off := la.In // B's inputs follow A's in the stacked layer below
		if k == 0 {
			off = 0
		}
		for j := 0; j < lb.Out; j++ {
			copy(l.W[(la.Out+j)*in+off:], lb.W[j*lb.In:(j+1)*lb.In])
		}
		d.Layers = append(d.Layers, l)
	}
	// The difference: output j is B's j minus A's j.
	m, na := a.Outputs(), a.Outputs()
	sub := nn.Layer{In: 2 * m, Out: m, W: make([]float64, 2*m*m), B: make([]float64, m), Act: activation.Identity}
	for j := 0; j < m; j++ {
		sub.W[j*2*m+j] = -1
		sub.W[j*2*m+na+j] = 1
	}
	d.Layers = append(d.Layers, sub)
	d.Norm = a.Norm
	return d, d.Validate()
}

func sameInputNorm(a, b *nn.Normalization) bool {
	if a == nil || b == nil {
		return a == b
	}
	return slices.Equal(a.InMin, b.InMin) && slices.Equal(a.InMax, b.InMax) && slices.Equal(a.InMean, b.InMean) && slices.Equal(a.InRange, b.InRange)
}

// Options says what to prove.
type Options struct {
	// Eps is the bound the difference must stay strictly below.
	Eps float64
	// Output is the output compared, or -1 for every output.
	Output int
	// Verify configures the search (Timeout, Workers, ...).
	Verify verify.Options
}

// Result is a differential verification's outcome. A Violated verdict's input has |B(x) - A(x)| >= Eps
// at Output (or some output) by two plain forward passes.
type Result struct {
	Verdict verify.Verdict `json:"verdict"`
	Seconds float64        `json:"seconds"`
	Boxes   int            `json:"boxes"`
	Proven  float64        `json:"proven"`
	// Input, A and B are the counterexample and the two networks' outputs on it.
	Input []float64 `json:"input,omitempty"`
	A     []float64 `json:"a,omitempty"`
	B     []float64 `json:"b,omitempty"`
	// Difference is max |B - A| over the compared outputs at Input.
	Difference float64 `json:"difference,omitempty"`
	// Method is what settled the verdict: "symbolic" (the symbolic difference) or "stacked" (the
	// stacked network); empty for unknown.
	Method string `json:"method,omitempty"`
}

// property is |D_t| >= eps as an unsafe region on the box, for each compared output t.
func diffProperty(box property.Box, m, output int, eps float64) *property.Property {
	var region property.Region
	for t := 0; t < m; t++ {
		if output >= 0 && t != output {
			continue
		}
		up, down := make([]float64, m), make([]float64, m)
		up[t], down[t] = -1, 1
		region = append(region, property.Conjunction{{Coef: up, Bound: -eps}}, property.Conjunction{{Coef: down, Bound: -eps}})
	}
	return &property.Property{Name: fmt.Sprintf("|B - A| < %g", eps), Inputs: box.Dim(), Outputs: m, Cases: []property.Case{{Box: box, Unsafe: region}}}
}

// gap is max over the compared outputs of |yb - ya|.
func gap(ya, yb []float64, output int) float64 {
	g := 0.0
	for t := range ya {
		if output < 0 || t == output {
			g = math.Max(g, math.Abs(yb[t]-ya[t]))
		}
	}
	return g
}

// Verify decides whether |B(x) - A(x)| < opt.Eps for every x in box.
func Verify(ctx context.Context, a, b *nn.Network, box property.Box, opt Options) (Result, error) {
	start := time.Now()
	if err := check(a, box, opt.Output); err != nil {
		return Result{}, err
	}
	if !(opt.Eps > 0) || math.IsInf(opt.Eps, 0) {
		return Result{}, fmt.Errorf("diff: eps %v, want a positive number", opt.Eps)
	}
	d, err := Network(a, b)
	if err != nil {
		return Result{}, err
	}
	if !deltaSupported(a, b) {
		res := stacked(ctx, a, b, d, box, opt)
		if res.Verdict != verify.Unknown {
			res.Method = "stacked"
		}
		res.Seconds = time.Since(start).Seconds()
		return res, nil
	}
	// Both methods race, each on the whole budget: the symbolic difference (one core) and the stacked
	// network (verify's workers). The first verdict wins and stops the other; an unknown waits for the
	// other's answer.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var deadline time.Time
	if opt.Verify.Timeout > 0 {
		deadline = start.Add(opt.Verify.Timeout)
	}
	symbolic := make(chan Result, 1)
	go func() {
		r := deltaSearch(ctx, a, b, box, opt, deadline, opt.Verify.MaxBoxes)
		if r.Verdict != verify.Unknown {
			cancel()
		}
		symbolic <- r
	}()
	res := stacked(ctx, a, b, d, box, opt)
	if res.Verdict != verify.Unknown {
		cancel()
		s := <-symbolic
		res.Boxes += s.Boxes
		res.Method = "stacked"
	} else {
		s := <-symbolic
		s.Boxes += res.Boxes
		s.Proven = math.Max(s.Proven, res.Proven)
		res = s
		if res.Verdict != verify.Unknown {
			res.Method = "symbolic"
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// stacked decides the difference as one network, D (see Network), by verify.Verify.
func stacked(ctx context.Context, a, b, d *nn.Network, box property.Box, opt Options) Result {
	r := verify.Verify(ctx, d, diffProperty(box, a.Outputs(), opt.Output, opt.Eps), opt.Verify)
	res := Result{Verdict: r.Verdict, Boxes: r.Boxes, Proven: r.Proven}
	if r.Verdict == verify.Violated {
		x := r.Counterexample.Input
		ya, yb := a.Forward(x), b.Forward(x)
		if g := gap(ya, yb, opt.Output); g >= opt.Eps {
			res.Input, res.A, res.B, res.Difference = x, ya, yb, g
		} else {
			res.Verdict = verify.Unknown // the stacked network's rounding, not the networks'
		}
	}
	return res
}

func check(a *nn.Network, box property.Box, output int) error {
	if box.Dim() != a.Inputs() {
		return fmt.Errorf("diff: a box of %d inputs for networks of %d", box.Dim(), a.Inputs())
	}
	for i := range box.Lo {
		if !(box.Lo[i] <= box.Hi[i]) || math.IsInf(box.Lo[i], 0) || math.IsInf(box.Hi[i], 0) {
			return fmt.Errorf("diff: input %d's range [%v, %v] is not a finite interval", i, box.Lo[i], box.Hi[i])
		}
	}
	if output < -1 || output >= a.Outputs() {
		return fmt.Errorf("diff: output %d of %d", output, a.Outputs())
	}
	return nil
}

// Bound is a sound upper bound on max over the box of |B - A| (at Output, or over every output), with the
// largest difference among samples beside it: the true maximum lies in [Sampled, Certified].
type Bound struct {
	Certified float64 `json:"certified"`
	Sampled   float64 `json:"sampled"`
	Samples   int     `json:"samples"`
	// Boxes is the number of sub-boxes bounded; Seconds the time taken.
	Boxes   int     `json:"boxes"`
	Seconds float64 `json:"seconds"`
}

// BoundOptions is MaxBound's budget.
type BoundOptions struct {
	// Output is the output bounded, or -1 for every output.
	Output int
	// Samples is the number of uniform samples for the lower end; Seed seeds them.
	Samples int
	Seed    uint64
	// Timeout and MaxBoxes stop the refinement (0: no limit of that kind; with neither, one pass).
	Timeout  time.Duration
	MaxBoxes int
}

// MaxBound bounds max |B - A| over the box and samples it. The bound is refined best first: the sub-box
// with the largest bound is halved (where the difference's bound depends most on the input, for the
// symbolic difference; along the relatively widest side otherwise) until the budget runs out or the
// bound meets the sampled maximum; each box is bounded by the symbolic difference where it applies
// (ReLU pairs of one shape), by CROWN on the stacked network otherwise, and its centre is evaluated.
func MaxBound(ctx context.Context, a, b *nn.Network, box property.Box, opt BoundOptions) (Bound, error) {
	start := time.Now()
	output := opt.Output
	if err := check(a, box, output); err != nil {
		return Bound{}, err
	}
	d, err := Network(a, b)
	if err != nil {
		return Bound{}, err
	}
	m := a.Outputs()
	db := newDeltaBounder(a, b, d)
	res := Bound{Samples: opt.Samples}
	bound := func(bx property.Box) (float64, []float64) {
		ivs, sens := db.bounds(bx)
		g := 0.0
		for t, iv := range ivs {
			if output < 0 || t == output {
				g = math.Max(g, math.Max(iv.Hi, -iv.Lo))
			}
		}
		return g, sens
	}
	if opt.Samples > 0 {
		x := box.Sample(rand.New(rand.NewPCG(opt.Seed, 1)), opt.Samples)
		ya, yb := a.Forward(x), b.Forward(x)
		for r := 0; r < opt.Samples; r++ {
			res.Sampled = math.Max(res.Sampled, gap(ya[r*m:(r+1)*m], yb[r*m:(r+1)*m], output))
		}
	}
	type leaf struct {
		box   property.Box
		bound float64
		sens  []float64
	}
	g, sens := bound(box)
	leaves := []leaf{{box, g, sens}}
	res.Boxes = 1
	for opt.Timeout > 0 || opt.MaxBoxes > 0 {
		if ctx.Err() != nil || (opt.Timeout > 0 && time.Since(start) > opt.Timeout) || (opt.MaxBoxes > 0 && res.Boxes+2 > opt.MaxBoxes) {
			break
		}
		// The leaf with the largest bound; the bound is the maximum over leaves.
		w := 0
		for i := range leaves {
			if leaves[i].bound > leaves[w].bound {
				w = i
			}
		}
		top := leaves[w]
		if top.bound <= res.Sampled {
			break // the bound meets the sampled maximum
		}
		dim := splitDim(top.box, box, top.sens)
		if dim < 0 {
			break
		}
		mid := (top.box.Lo[dim] + top.box.Hi[dim]) / 2
		lo, hi := cloneBox(top.box), cloneBox(top.box)
		lo.Hi[dim], hi.Lo[dim] = mid, mid
		leaves[w] = leaves[len(leaves)-1]
		leaves = leaves[:len(leaves)-1]
		for _, c := range []property.Box{lo, hi} {
			g, s := bound(c)
			leaves = append(leaves, leaf{c, g, s})
			x := probes(c)[0]
			res.Sampled = math.Max(res.Sampled, gap(a.Forward(x), b.Forward(x), output))
		}
		res.Boxes += 2
	}
	for _, l := range leaves {
		res.Certified = math.Max(res.Certified, l.bound)
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// deltaBounder bounds B - A per output on boxes: by the symbolic difference where it applies, by CROWN on
// the stacked network d otherwise.
type deltaBounder struct {
	a, b, d  *nn.Network
	symbolic bool
}

func newDeltaBounder(a, b, d *nn.Network) *deltaBounder {
	return &deltaBounder{a: a, b: b, d: d, symbolic: deltaSupported(a, b)}
}

// bounds returns B - A's interval per output over bx and, for the symbolic difference, each input's
// weight in the bounds times its width (nil otherwise).
func (db *deltaBounder) bounds(bx property.Box) ([]verify.Interval, []float64) {
	if db.symbolic {
		return symbolicDeltaSens(db.a, db.b, bx)
	}
	m := db.a.Outputs()
	bounds := verify.Crown(db.d, bx)
	out := make([]verify.Interval, m)
	for t := range out {
		coef := make([]float64, m)
		coef[t] = 1
		out[t] = verify.Interval{Lo: verify.OutputBound(db.d, bounds, bx, coef, 0, true), Hi: verify.OutputBound(db.d, bounds, bx, coef, 0, false)}
	}
	return out, nil
}
