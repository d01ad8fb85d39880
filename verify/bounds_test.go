package verify

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

func allActs() []activation.Activation {
	var out []activation.Activation
	for _, n := range activation.Names() {
		a, _ := activation.New(n)
		out = append(out, a)
	}
	return append(out, activation.Activation{Name: "leaky_relu", Param: 0.1}, activation.Activation{Name: "elu", Param: 2})
}

func randomBox(rng *rand.Rand, d int, width float64) property.Box {
	b := property.Box{Lo: make([]float64, d), Hi: make([]float64, d)}
	for i := range b.Lo {
		c := 2*rng.Float64() - 1
		w := rng.Float64() * width
		b.Lo[i], b.Hi[i] = c-w, c+w
	}
	return b
}

// TestBoundsContainSamples: on random networks and boxes, every sampled pre-activation lies within the
// IBP and CROWN bounds, CROWN is never looser than IBP, and random linear functions of the output stay
// within OutputBound.
func TestBoundsContainSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, act := range allActs() {
		for trial := 0; trial < 20; trial++ {
			net := nn.Random(rng, []int{3, 8, 8, 4}, act, activation.Identity)
			box := randomBox(rng, 3, []float64{0.01, 0.3, 2}[trial%3])
			ibp, crown := IBP(net, box), Crown(net, box)
			coef := []float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
			lo := OutputBound(net, crown, box, coef, 0.5, true)
			hi := OutputBound(net, crown, box, coef, 0.5, false)
			for k := range crown {
				for j := range crown[k] {
					if crown[k][j].Lo < ibp[k][j].Lo || crown[k][j].Hi > ibp[k][j].Hi {
						t.Fatalf("%s: CROWN looser than IBP at layer %d neuron %d", act, k, j)
					}
				}
			}
			x := box.Sample(rng, 2000)
			for r := 0; r < 2000; r++ {
				xr := x[3*r : 3*r+3]
				for k, zs := range preActivations(net, xr) {
					for j, z := range zs {
						if z < crown[k][j].Lo || z > crown[k][j].Hi {
							t.Fatalf("%s: layer %d neuron %d: %v outside [%v, %v]", act, k, j, z, crown[k][j].Lo, crown[k][j].Hi)
						}
					}
				}
				y := net.Forward(xr)
				v := 0.5
				for i, c := range coef {
					v += c * y[i]
				}
				if v < lo || v > hi {
					t.Fatalf("%s: output function %v outside [%v, %v]", act, v, lo, hi)
				}
			}
		}
	}
}

// TestCrownIsExactForLinearNetworks: with identity activations every bound is the exact range.
func TestCrownIsExactForLinearNetworks(t *testing.T) {
	net := &nn.Network{Layers: []nn.Layer{
		{In: 2, Out: 1, W: []float64{1, -2}, B: []float64{0.5}, Act: activation.Identity},
		{In: 1, Out: 1, W: []float64{3}, B: []float64{-1}, Act: activation.Identity},
	}}
	box := property.Box{Lo: []float64{0, 0}, Hi: []float64{1, 1}}
	// y = 3(x0 - 2 x1 + 0.5) - 1 ranges over [3(-1.5) - 1, 3(1.5) - 1] = [-5.5, 3.5]; the bounds are that,
	// widened outward by no more than the stated floating-point margin.
	b := Crown(net, box)
	if d := -5.5 - b[1][0].Lo; d < 0 || d > 1e-8 {
		t.Errorf("lower bound %v, want -5.5 widened by at most 1e-8", b[1][0].Lo)
	}
	if d := b[1][0].Hi - 3.5; d < 0 || d > 1e-8 {
		t.Errorf("upper bound %v, want 3.5 widened by at most 1e-8", b[1][0].Hi)
	}
}

// preActivations returns every layer's pre-activation values on one input, computed by a plain loop
// independent of the bounding code.
func preActivations(net *nn.Network, x []float64) [][]float64 {
	var out [][]float64
	cur := x
	for k := range net.Layers {
		l := &net.Layers[k]
		z := make([]float64, l.Out)
		h := make([]float64, l.Out)
		for j := range z {
			z[j] = l.B[j]
			for i, v := range cur {
				z[j] += l.W[j*l.In+i] * v
			}
			h[j] = l.Act.Value(z[j])
		}
		out = append(out, z)
		cur = h
	}
	return out
}

// TestChildBoundsOfDeepSmoothNetworks: on child boxes of deep smooth networks (forward bounds from the
// parent's, and back-substituted bounds from layer crownFrom up), with and without quick, every sampled
// pre-activation lies within the bounds, and the back-substituted bounds are never looser than quick's.
func TestChildBoundsOfDeepSmoothNetworks(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, act := range []activation.Activation{activation.Tanh, activation.Sigmoid, {Name: "elu", Param: 1}} {
		for trial := 0; trial < 12; trial++ {
			net := nn.Random(rng, []int{3, 8, 8, 8, 8, 8, 8, 4}, act, activation.Identity)
			scaleWeights(net, 1.5)
			box := randomBox(rng, 3, []float64{0.05, 0.3, 1}[trial%3])
			bd := newBounder(net)
			if !bd.refines() {
				t.Fatalf("%s: a 6-hidden-layer network is not refined", act)
			}
			parent := bd.crown(box, nil, nil)
			child, _ := split(box, trial%3)
			bd.quick = true
			quick := bd.crown(child, parent.bounds, nil)
			bd.quick = false
			full := bd.crown(child, parent.bounds, nil)
			for k := range full.bounds {
				for j, b := range full.bounds[k] {
					if q := quick.bounds[k][j]; b.Lo < q.Lo || b.Hi > q.Hi {
						t.Fatalf("%s: layer %d neuron %d: refined [%v, %v] looser than forward [%v, %v]", act, k, j, b.Lo, b.Hi, q.Lo, q.Hi)
					}
				}
			}
			x := child.Sample(rng, 1000)
			for r := 0; r < 1000; r++ {
				for k, zs := range preActivations(net, x[3*r:3*r+3]) {
					for j, z := range zs {
						if b := full.bounds[k][j]; z < b.Lo || z > b.Hi {
							t.Fatalf("%s: layer %d neuron %d: %v outside [%v, %v]", act, k, j, z, b.Lo, b.Hi)
						}
					}
				}
			}
		}
	}
}

// TestBoundLayerMatchesOneByOne: boundLayer, which takes a layer's neurons down together with matrix
// products, gives the bounds that backSubstituteBuf gives each neuron alone (the same margins; the sums
// round differently, so within 1e-12 of the bounds' size), on layers of 64 (the kernel's path) and 7.
// TestChildBoundsOfDeepSmoothNetworks and the soundness tests cover symbolic.combine's matrix products.
func TestBoundLayerMatchesOneByOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, act := range allActs() {
		for _, width := range []int{7, 64} {
			net := nn.Random(rng, []int{5, width, width, width, 5}, act, activation.Identity)
			for trial := 0; trial < 3; trial++ {
				box := randomBox(rng, 5, []float64{0.01, 0.3, 2}[trial])
				bd := newBounder(net)
				bd.smooth = true // the matrix path, which piecewise-linear networks do not take, for every activation
				ibp := IBP(net, box)
				rx := &relaxed{bounds: ibp, relax: make([][]activation.Relaxation, len(net.Layers))}
				for k := range net.Layers {
					rx.relax[k] = relaxLayer(&net.Layers[k], ibp[k])
				}
				for k := 1; k < len(net.Layers); k++ {
					l := &net.Layers[k]
					want := make([]Interval, l.Out)
					var js []int
					for j := range want {
						row := linear{coef: l.W[j*l.In : (j+1)*l.In], c: l.B[j]}
						lo, _ := rx.backSubstitute(net, box, k-1, row, true)
						hi, _ := rx.backSubstitute(net, box, k-1, row, false)
						want[j] = Interval{lo, hi}
						js = append(js, j)
					}
					// From unbounded intervals, boundLayer's intersection is its own bounds.
					saved := rx.bounds[k]
					rx.bounds[k] = make([]Interval, l.Out)
					for j := range rx.bounds[k] {
						rx.bounds[k][j] = Interval{math.Inf(-1), math.Inf(1)}
					}
					bd.boundLayer(box, rx, k, js)
					for j, w := range want {
						g := rx.bounds[k][j]
						tol := 1e-12 * (1 + math.Abs(w.Lo) + math.Abs(w.Hi))
						if math.Abs(g.Lo-w.Lo) > tol || math.Abs(g.Hi-w.Hi) > tol {
							t.Fatalf("%s, width %d, layer %d, neuron %d: [%v, %v], one by one [%v, %v]", act, width, k, j, g.Lo, g.Hi, w.Lo, w.Hi)
						}
					}
					rx.bounds[k] = saved
				}
			}
		}
	}
}

// TestSymbolicContainsSamplesWide: the forward symbolic bounds of networks with layers of 64 (whose
// combine step runs on gemm's kernel, not gonum's small-product path as on narrow layers) contain every
// sampled pre-activation, and are no looser than interval arithmetic.
func TestSymbolicContainsSamplesWide(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, act := range []activation.Activation{activation.Tanh, activation.Sigmoid, {Name: "elu", Param: 1}} {
		net := nn.Random(rng, []int{5, 64, 64, 64, 64, 5}, act, activation.Identity)
		for trial := 0; trial < 6; trial++ {
			box := randomBox(rng, 5, []float64{0.02, 0.3, 1}[trial%3])
			got := newSymbolic(net).bound(box, nil).bounds
			ibp := IBP(net, box)
			x := box.Sample(rng, 500)
			for r := 0; r < 500; r++ {
				for k, zs := range preActivations(net, x[5*r:5*r+5]) {
					for j, z := range zs {
						if b := got[k][j]; z < b.Lo || z > b.Hi {
							t.Fatalf("%s: layer %d neuron %d: %v outside [%v, %v]", act, k, j, z, b.Lo, b.Hi)
						}
					}
				}
			}
			for k := range got {
				for j, b := range got[k] {
					if b.Lo < ibp[k][j].Lo-1e-9 || b.Hi > ibp[k][j].Hi+1e-9 {
						t.Fatalf("%s: layer %d neuron %d: [%v, %v] looser than IBP's [%v, %v]", act, k, j, b.Lo, b.Hi, ibp[k][j].Lo, ibp[k][j].Hi)
					}
				}
			}
		}
	}
}
