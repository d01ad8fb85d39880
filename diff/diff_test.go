package diff

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/verify"
)

// perturbed returns a copy of net with every weight and bias moved by up to delta (uniformly).
func perturbed(net *nn.Network, rng *rand.Rand, delta float64) *nn.Network {
	b := net.Clone()
	for k := range b.Layers {
		for i := range b.Layers[k].W {
			b.Layers[k].W[i] += delta * (2*rng.Float64() - 1)
		}
		for i := range b.Layers[k].B {
			b.Layers[k].B[i] += delta * (2*rng.Float64() - 1)
		}
	}
	return b
}

// TestNetworkIsTheDifference: the stacked network's outputs are B's minus A's, for networks of different
// widths and a CNN lowered on the way.
func TestNetworkIsTheDifference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := nn.Random(rng, []int{3, 8, 5, 2}, activation.Tanh, activation.Identity)
	b := nn.Random(rng, []int{3, 4, 7, 2}, activation.Tanh, activation.Identity)
	d, err := Network(a, b)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, 3*100)
	for i := range x {
		x[i] = 2*rng.Float64() - 1
	}
	ya, yb, yd := a.Forward(x), b.Forward(x), d.Forward(x)
	for i := range yd {
		if math.Abs(yd[i]-(yb[i]-ya[i])) > 1e-12 {
			t.Fatalf("output %d: %v, want %v", i, yd[i], yb[i]-ya[i])
		}
	}
	for _, bad := range []*nn.Network{
		nn.Random(rng, []int{4, 8, 2}, activation.Tanh, activation.Identity),
		nn.Random(rng, []int{3, 8, 2}, activation.Tanh, activation.Identity),
		nn.Random(rng, []int{3, 8, 5, 2}, activation.ReLU, activation.Identity),
	} {
		if _, err := Network(a, bad); err == nil {
			t.Errorf("%d -> %d network of %d layers: no error", bad.Inputs(), bad.Outputs(), len(bad.Layers))
		}
	}
}

// gridMax is max |B - A| at output (or all outputs) over a 200 x 200 grid of a 2-input box.
func gridMax(a, b *nn.Network, box property.Box, output int) float64 {
	const n = 200
	x := make([]float64, 0, 2*n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			x = append(x, box.Lo[0]+(box.Hi[0]-box.Lo[0])*float64(i)/(n-1), box.Lo[1]+(box.Hi[1]-box.Lo[1])*float64(j)/(n-1))
		}
	}
	ya, yb := a.Forward(x), b.Forward(x)
	m, g := a.Outputs(), 0.0
	for r := 0; r < n*n; r++ {
		g = math.Max(g, gap(ya[r*m:(r+1)*m], yb[r*m:(r+1)*m], output))
	}
	return g
}

// TestVerdictsAgreeWithGrid: on random pairs (B a perturbed copy of A, ReLU and tanh), with eps below
// and above the grid's largest difference, a certified pair has no grid point at eps, a violated one a
// counterexample two forward passes confirm, and the certified bound is never below the grid's maximum.
func TestVerdictsAgreeWithGrid(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	counts := map[verify.Verdict]int{}
	for _, act := range []activation.Activation{activation.ReLU, activation.Tanh} {
		for trial := 0; trial < 6; trial++ {
			a := nn.Random(rng, []int{2, 8, 8, 2}, act, activation.Identity)
			b := perturbed(a, rng, 0.02)
			box := property.Box{Lo: []float64{-0.5 + 0.1*rng.Float64(), -0.3}, Hi: []float64{0.4, 0.2 + 0.3*rng.Float64()}}
			output := trial%3 - 1
			g := gridMax(a, b, box, output)
			bound, err := MaxBound(context.Background(), a, b, box, BoundOptions{Output: output, Samples: 2000, Seed: 1, MaxBoxes: 200})
			if err != nil {
				t.Fatal(err)
			}
			if bound.Certified < g || bound.Sampled > bound.Certified {
				t.Fatalf("%s trial %d: bound %+v, grid max %v", act, trial, bound, g)
			}
			for _, eps := range []float64{0.5 * g, 0.99 * g, 1.5 * g, 3 * g} {
				res, err := Verify(context.Background(), a, b, box, Options{Eps: eps, Output: output, Verify: verify.Options{MaxBoxes: 5000}})
				if err != nil {
					t.Fatal(err)
				}
				counts[res.Verdict]++
				switch res.Verdict {
				case verify.Certified:
					if g >= eps {
						t.Fatalf("%s trial %d eps %v: certified, but the grid reaches %v", act, trial, eps, g)
					}
				case verify.Violated:
					if gap(a.Forward(res.Input), b.Forward(res.Input), output) < eps || !box.Contains(res.Input) {
						t.Fatalf("%s trial %d eps %v: counterexample %v is not one", act, trial, eps, res.Input)
					}
				}
			}
		}
	}
	if counts[verify.Certified] == 0 || counts[verify.Violated] == 0 {
		t.Errorf("verdicts %v: want both", counts)
	}
	t.Logf("verdicts %v", counts)
}

func TestBadInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	a := nn.Random(rng, []int{2, 4, 2}, activation.ReLU, activation.Identity)
	box := property.Box{Lo: []float64{0, 0}, Hi: []float64{1, 1}}
	for _, tt := range []struct {
		box    property.Box
		eps    float64
		output int
	}{
		{property.Box{Lo: []float64{0}, Hi: []float64{1}}, 0.1, -1},
		{property.Box{Lo: []float64{1, 0}, Hi: []float64{0, 1}}, 0.1, -1},
		{box, 0, -1},
		{box, 0.1, 2},
	} {
		if _, err := Verify(context.Background(), a, a, tt.box, Options{Eps: tt.eps, Output: tt.output}); err == nil {
			t.Errorf("%+v: no error", tt)
		}
	}
}

// TestSymbolicDeltaContainsSamples: on random pairs (ReLU, sigmoid, tanh, elu, softplus) of three inputs and three hidden layers, the
// symbolic difference bounds contain B(x) - A(x) at 2,000 random points of random boxes (some with a
// fixed input), and for a
// network against itself they are 0 up to the rounding slack.
func TestSymbolicDeltaContainsSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	acts := []activation.Activation{activation.ReLU, activation.Sigmoid, activation.Tanh, {Name: "elu", Param: 1}, {Name: "softplus"}}
	for trial := 0; trial < 40; trial++ {
		act := acts[trial%len(acts)]
		a := nn.Random(rng, []int{3, 10, 10, 10, 2}, act, activation.Identity)
		if !deltaSupported(a, a) {
			t.Fatalf("%s: the symbolic difference does not apply", act.Name)
		}
		b := perturbed(a, rng, 0.05)
		box := property.Box{Lo: make([]float64, 3), Hi: make([]float64, 3)}
		for i := range box.Lo {
			c, w := 2*rng.Float64()-1, 0.01+rng.Float64()
			box.Lo[i], box.Hi[i] = c-w, c+w
		}
		if trial%3 == 0 {
			box.Hi[trial%2] = box.Lo[trial%2] // a fixed input, a constant of the functions
		}
		checkSampledDelta(t, rng, a, b, box, symbolicDelta(a, b, box), fmt.Sprintf("trial %d (%s)", trial, act.Name))
		for j, iv := range symbolicDelta(a, a, box) {
			if iv.Lo > 0 || iv.Hi < 0 || iv.Hi-iv.Lo > 1e-8 {
				t.Errorf("trial %d output %d: A against itself %+v, want [0, 0] up to rounding", trial, j, iv)
			}
		}
	}
}

// TestSymbolicDeltaByHand: A(x) = relu(x), B(x) = relu(1.1 x) + 0.1. On [0.5, 1] both ReLUs are active
// and B - A = 0.1 x + 0.1 lies in [0.15, 0.2] exactly; on [-1, -0.5] both are inactive and it is 0.1.
func TestSymbolicDeltaByHand(t *testing.T) {
	a := &nn.Network{Layers: []nn.Layer{
		{In: 1, Out: 1, W: []float64{1}, B: []float64{0}, Act: activation.ReLU},
		{In: 1, Out: 1, W: []float64{1}, B: []float64{0}, Act: activation.Identity},
	}}
	b := a.Clone()
	b.Layers[0].W[0], b.Layers[1].B[0] = 1.1, 0.1
	for _, tt := range []struct{ lo, hi, want0, want1 float64 }{{0.5, 1, 0.15, 0.2}, {-1, -0.5, 0.1, 0.1}} {
		iv := symbolicDelta(a, b, property.Box{Lo: []float64{tt.lo}, Hi: []float64{tt.hi}})[0]
		if math.Abs(iv.Lo-tt.want0) > 1e-9 || math.Abs(iv.Hi-tt.want1) > 1e-9 || iv.Lo > tt.want0 || iv.Hi < tt.want1 {
			t.Errorf("[%v, %v]: %+v, want [%v, %v]", tt.lo, tt.hi, iv, tt.want0, tt.want1)
		}
	}
}

// TestSymbolicDeltaSmoothByHand: A(x) = sigmoid(x), B(x) = sigmoid(x + 0.1) on [0.5, 1]: B - A is
// decreasing there (sigmoid' falls past 0), from sigmoid(0.6) - sigmoid(0.5) = 0.0231 to sigmoid(1.1) -
// sigmoid(1) = 0.0191 (by hand); the bounds contain that range and are within 0.01 of it. A tanh pair whose
// difference reaches eps inside the box is never certified.
func TestSymbolicDeltaSmoothByHand(t *testing.T) {
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	a := &nn.Network{Layers: []nn.Layer{
		{In: 1, Out: 1, W: []float64{1}, B: []float64{0}, Act: activation.Sigmoid},
		{In: 1, Out: 1, W: []float64{1}, B: []float64{0}, Act: activation.Identity},
	}}
	b := a.Clone()
	b.Layers[0].B[0] = 0.1
	iv := symbolicDelta(a, b, property.Box{Lo: []float64{0.5}, Hi: []float64{1}})[0]
	lo, hi := sig(1.1)-sig(1), sig(0.6)-sig(0.5)
	if iv.Lo > lo || iv.Hi < hi || lo-iv.Lo > 0.01 || iv.Hi-hi > 0.01 {
		t.Errorf("bounds %+v, true range [%v, %v]", iv, lo, hi)
	}
	// B = 1.05 tanh(x) against A = tanh(x) on [0, 1]: B - A = 0.05 tanh(x) reaches 0.05 tanh(1) at x = 1.
	ta := &nn.Network{Layers: []nn.Layer{
		{In: 1, Out: 1, W: []float64{1}, B: []float64{0}, Act: activation.Tanh},
		{In: 1, Out: 1, W: []float64{1}, B: []float64{0}, Act: activation.Identity},
	}}
	tb := ta.Clone()
	tb.Layers[1].W[0] = 1.05
	res, err := Verify(context.Background(), ta, tb, property.Box{Lo: []float64{0}, Hi: []float64{1}}, Options{Eps: 0.05 * math.Tanh(1), Output: -1, Verify: verify.Options{Timeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict == verify.Certified {
		t.Errorf("certified |B - A| < %v, but it reaches it at x = 1", 0.05*math.Tanh(1))
	}
	res, err = Verify(context.Background(), ta, tb, property.Box{Lo: []float64{0}, Hi: []float64{1}}, Options{Eps: 0.05*math.Tanh(1) + 1e-3, Output: -1, Verify: verify.Options{Timeout: 5 * time.Second}})
	if err != nil || res.Verdict != verify.Certified {
		t.Errorf("eps just above the maximum: %v, %v", res.Verdict, err)
	}
}

// TestBackwardContainsSamples: the back-substituted difference (backward.go) on random deeper pairs of
// every activation contains 2,000 sampled differences, and is tighter than the forward functions alone
// (a second method on the same box) on most outputs.
func TestBackwardContainsSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	acts := []activation.Activation{activation.ReLU, activation.Sigmoid, activation.Tanh, {Name: "elu", Param: 1}, {Name: "softplus"}, {Name: "leaky_relu", Param: 0.1}}
	tighter, outputs := 0, 0
	for trial := 0; trial < 24; trial++ {
		act := acts[trial%len(acts)]
		a := nn.Random(rng, []int{3, 12, 12, 12, 12, 3}, act, activation.Identity)
		b := perturbed(a, rng, 0.02)
		box := property.Box{Lo: make([]float64, 3), Hi: make([]float64, 3)}
		for i := range box.Lo {
			c, w := 2*rng.Float64()-1, 0.05+rng.Float64()
			box.Lo[i], box.Hi[i] = c-w, c+w
		}
		bounds := symbolicDelta(a, b, box)
		useBackward = false
		fwd := symbolicDelta(a, b, box)
		useBackward = true
		checkSampledDelta(t, rng, a, b, box, bounds, fmt.Sprintf("trial %d (%s)", trial, act.Name))
		for j := range bounds {
			outputs++
			if bounds[j].Hi-bounds[j].Lo < 0.99*(fwd[j].Hi-fwd[j].Lo) {
				tighter++
			}
		}
	}
	if tighter*2 < outputs {
		t.Errorf("back-substitution tighter on %d of %d outputs, want most", tighter, outputs)
	}
	t.Logf("back-substitution tighter than the forward functions on %d of %d outputs", tighter, outputs)
}

// Folding the fixed inputs into layer 0's constants changes the back-substituted bounds by rounding only,
// and they still hold the sampled differences.
func TestBackwardFoldsFixedInputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for trial := 0; trial < 6; trial++ {
		act := []activation.Activation{activation.ReLU, activation.Tanh}[trial%2]
		a := nn.Random(rng, []int{12, 16, 16, 3}, act, activation.Identity)
		b := perturbed(a, rng, 0.02)
		box := property.Box{Lo: make([]float64, 12), Hi: make([]float64, 12)}
		for i := range box.Lo {
			c := 2*rng.Float64() - 1
			box.Lo[i], box.Hi[i] = c, c
			if i%4 == 0 { // three free inputs, nine fixed
				box.Lo[i], box.Hi[i] = c-0.3, c+0.3
			}
		}
		folded := symbolicDelta(a, b, box)
		foldFixed = false
		plain := symbolicDelta(a, b, box)
		foldFixed = true
		for j := range folded {
			for _, p := range [][2]float64{{folded[j].Lo, plain[j].Lo}, {folded[j].Hi, plain[j].Hi}} {
				if math.Abs(p[0]-p[1]) > 1e-8 {
					t.Errorf("trial %d output %d: folded bound %v, unfolded %v", trial, j, p[0], p[1])
				}
			}
		}
		checkSampledDelta(t, rng, a, b, box, folded, fmt.Sprintf("trial %d (%s)", trial, act.Name))
	}
}

// checkSampledDelta fails the test unless B(x) - A(x) lies within bounds at every output for 2,000
// uniform samples x of the box.
func checkSampledDelta(t *testing.T, rng *rand.Rand, a, b *nn.Network, box property.Box, bounds []verify.Interval, what string) {
	t.Helper()
	n, m := box.Dim(), a.Outputs()
	x := make([]float64, n*2000)
	for i := range x {
		x[i] = box.Lo[i%n] + (box.Hi[i%n]-box.Lo[i%n])*rng.Float64()
	}
	ya, yb := a.Forward(x), b.Forward(x)
	for r := 0; r < 2000; r++ {
		for j, iv := range bounds {
			if d := yb[m*r+j] - ya[m*r+j]; d < iv.Lo || d > iv.Hi {
				t.Fatalf("%s output %d: difference %v outside %+v", what, j, d, iv)
			}
		}
	}
}
