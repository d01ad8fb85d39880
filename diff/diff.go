// Package diff proves how far two networks of the same inputs and outputs can differ on an input box
// (differential verification, as ReluDiff and NeuroDiff do): certified |B(x) - A(x)| < eps everywhere on
// the box, a violation confirmed by two forward passes, or unknown; and sound bounds on max |B - A|.
//
// The difference is verified as one network: D(x) = B(x) - A(x) stacks A's and B's layers side by side
// (block-diagonal weights over the shared input) and subtracts their outputs in a last linear layer, so
// every bound, split and exact decision of package verify applies, soundly, floating-point rounding
// included. Bounding A and B apart in D loses what ReluDiff's joint propagation of the difference keeps
// (the two networks' neurons move together); that propagation is the next step.
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
	res.Seconds = time.Since(start).Seconds()
	return res, nil
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

// Bound is a sound upper bound on max over the box of |B - A| (at Output, or over every output), from
// CROWN bounds of the stacked difference network, with the largest difference among samples beside it:
// the true maximum lies in [Sampled, Certified].
type Bound struct {
	Certified float64 `json:"certified"`
	Sampled   float64 `json:"sampled"`
	Samples   int     `json:"samples"`
}

// MaxBound bounds max |B - A| over the box (one CROWN pass, no splits) and samples it.
func MaxBound(a, b *nn.Network, box property.Box, output, samples int, seed uint64) (Bound, error) {
	if err := check(a, box, output); err != nil {
		return Bound{}, err
	}
	d, err := Network(a, b)
	if err != nil {
		return Bound{}, err
	}
	bounds := verify.Crown(d, box)
	m := a.Outputs()
	res := Bound{Samples: samples}
	for t := 0; t < m; t++ {
		if output >= 0 && t != output {
			continue
		}
		coef := make([]float64, m)
		coef[t] = 1
		hi := verify.OutputBound(d, bounds, box, coef, 0, false)
		lo := verify.OutputBound(d, bounds, box, coef, 0, true)
		res.Certified = math.Max(res.Certified, math.Max(hi, -lo))
	}
	x := box.Sample(rand.New(rand.NewPCG(seed, 1)), samples)
	ya, yb := a.Forward(x), b.Forward(x)
	for r := 0; r < samples; r++ {
		res.Sampled = math.Max(res.Sampled, gap(ya[r*m:(r+1)*m], yb[r*m:(r+1)*m], output))
	}
	return res, nil
}
