package verify

import (
	"context"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// cancellingLayers returns a 3 -> 8 identity layer with weights near ±1e8 and an 8 -> 1 identity layer whose
// product with it nearly cancels: the last row of the first layer is set so that sum_j v_j W_ji is
// about the rounding residue of the sum, so the coefficients on the input, computed in float64, are
// mostly rounding error of terms of size 1e8.
func cancellingLayers(rng *rand.Rand) (nn.Layer, nn.Layer) {
	const d, n = 3, 8
	first := nn.Layer{In: d, Out: n, W: make([]float64, n*d), B: make([]float64, n), Act: activation.Identity}
	second := nn.Layer{In: n, Out: 1, W: make([]float64, n), B: []float64{rng.Float64() - 0.5}, Act: activation.Identity}
	for j := range second.W {
		second.W[j] = 0.5 + rng.Float64()
		first.B[j] = rng.Float64() - 0.5
	}
	for i := 0; i < d; i++ {
		s := 0.0
		for j := 0; j < n-1; j++ {
			w := (2*rng.Float64() - 1) * 1e8
			first.W[j*d+i] = w
			s += second.W[j] * w
		}
		first.W[(n-1)*d+i] = -s / second.W[n-1]
	}
	return first, second
}

// exactRange returns the exact range over the box of z = v·(W x + B) + c, the second layer's
// pre-activation, in rational arithmetic on the float64 weights (the function is affine, so its extremes
// are at corners given by the signs of its exact coefficients), rounded outward to float64.
func exactRange(first, second nn.Layer, box property.Box) (lo, hi float64) {
	r := func(v float64) *big.Rat { return new(big.Rat).SetFloat64(v) }
	mul := func(a, b *big.Rat) *big.Rat { return new(big.Rat).Mul(a, b) }
	c := r(second.B[0])
	coef := make([]*big.Rat, first.In)
	for i := range coef {
		coef[i] = new(big.Rat)
	}
	for j := 0; j < first.Out; j++ {
		v := r(second.W[j])
		c.Add(c, mul(v, r(first.B[j])))
		for i := range coef {
			coef[i].Add(coef[i], mul(v, r(first.W[j*first.In+i])))
		}
	}
	low, high := new(big.Rat).Set(c), new(big.Rat).Set(c)
	for i, a := range coef {
		l, h := r(box.Lo[i]), r(box.Hi[i])
		if a.Sign() < 0 {
			l, h = h, l
		}
		low.Add(low, mul(a, l))
		high.Add(high, mul(a, h))
	}
	lo, _ = low.Float64()
	hi, _ = high.Float64()
	return math.Nextafter(lo, math.Inf(-1)), math.Nextafter(hi, math.Inf(1))
}

// TestBoundsCoverCancellation: where the coefficients of back-substitution cancel (terms of 1e8 summing
// to about 1e-8), their rounding error far exceeds the magnitude of the final coefficients and the
// constant; the bounds of every back-substitution path (one function, a layer's functions together,
// the optimized objective) and the forward symbolic bounds still contain the exact range, computed in
// rational arithmetic, and the search never certifies a threshold the exact minimum reaches.
func TestBoundsCoverCancellation(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for trial := 0; trial < 200; trial++ {
		box := randomBox(rng, 3, 1)
		first, second := cancellingLayers(rng)
		lo, hi := exactRange(first, second, box)

		// One function at a time, and the objective's optimized bound, on a linear network.
		linearNet := &nn.Network{Layers: []nn.Layer{first, second}}
		bounds := IBP(linearNet, box)
		if got := OutputBound(linearNet, bounds, box, []float64{1}, 0, true); got > lo {
			t.Fatalf("trial %d: lower bound %v above the exact minimum %v", trial, got, lo)
		}
		if got := OutputBound(linearNet, bounds, box, []float64{1}, 0, false); got < hi {
			t.Fatalf("trial %d: upper bound %v below the exact maximum %v", trial, got, hi)
		}
		rx := crown(linearNet, box)
		conj := property.Conjunction{{Coef: []float64{1}, Bound: 0}} // y <= 0: the mix is y itself
		if got, _ := newAlphaOpt(linearNet).optimize(rx, box, conj, []float64{1}, 3, nil); got > lo {
			t.Fatalf("trial %d: optimized lower bound %v above the exact minimum %v", trial, got, lo)
		}

		// A layer's functions together (boundLayer, the path of smooth networks) on the tanh layer's
		// pre-activation.
		tanhLayer := second
		tanhLayer.Act = activation.Tanh
		out := nn.Layer{In: 1, Out: 1, W: []float64{1}, B: []float64{0}, Act: activation.Identity}
		net := &nn.Network{Layers: []nn.Layer{first, tanhLayer, out}}
		bd := newBounder(net)
		ibp := IBP(net, box)
		rx = &relaxed{bounds: ibp, relax: make([][]activation.Relaxation, len(net.Layers))}
		for k := range net.Layers {
			rx.relax[k] = relaxLayer(&net.Layers[k], ibp[k])
		}
		rx.bounds[1][0] = Interval{math.Inf(-1), math.Inf(1)}
		bd.boundLayer(box, rx, 1, []int{0})
		if b := rx.bounds[1][0]; b.Lo > lo || b.Hi < hi {
			t.Fatalf("trial %d: layer bounds [%v, %v] do not contain the exact range [%v, %v]", trial, b.Lo, b.Hi, lo, hi)
		}
		// The forward symbolic bounds, which count the products' magnitudes as they go.
		if b := newSymbolic(net).bound(box, nil).bounds[1][0]; b.Lo > lo || b.Hi < hi {
			t.Fatalf("trial %d: symbolic bounds [%v, %v] do not contain the exact range [%v, %v]", trial, b.Lo, b.Hi, lo, hi)
		}
		// The whole search, on the tanh network (no exact decision there): the output tanh(z) reaches
		// tanh(min z) <= th, with min z below loUp, so the unsafe set y <= th holds the minimizing
		// corner and certified would be wrong.
		loUp := lo
		for range 4 {
			loUp = math.Nextafter(loUp, math.Inf(1))
		}
		th := math.Tanh(loUp)
		th += 4 * (math.Nextafter(th, math.Inf(1)) - th)
		prop := &property.Property{Inputs: 3, Outputs: 1, Cases: []property.Case{{Box: box,
			Unsafe: property.Region{{{Coef: []float64{1}, Bound: th}}}}}}
		if res := Verify(context.Background(), net, prop, Options{Timeout: 2 * time.Second}); res.Verdict == Certified {
			t.Fatalf("trial %d: certified tanh(z) > %v, whose minimum is at most that", trial, th)
		}
	}
}

// TestInputMaxBoundsOutputs: inputMax bounds every sampled input of every layer, for every activation
// (elu and leaky relu with parameters 2 and 0.1), where the pre-activation bounds (CROWN's) hold.
func TestInputMaxBoundsOutputs(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, act := range allActs() {
		net := nn.Random(rng, []int{3, 10, 10, 2}, act, activation.Identity)
		scaleWeights(net, 3)
		// A second network whose first layer is negative and narrow on the boxes (z near -0.5), where
		// elu's and leaky relu's outputs outgrow |z| when their parameter is above 1.
		neg := nn.Random(rng, []int{3, 10, 10, 2}, act, activation.Identity)
		for i := range neg.Layers[0].W {
			neg.Layers[0].W[i] *= 0.05
		}
		for j := range neg.Layers[0].B {
			neg.Layers[0].B[j] = -0.5
		}
		for trial := 0; trial < 10; trial++ {
			if trial == 5 {
				net = neg
			}
			box := randomBox(rng, 3, 1.5)
			rx := crown(net, box)
			x := box.Sample(rng, 300)
			for r := 0; r < 300; r++ {
				in := x[3*r : 3*r+3]
				for k, zs := range preActivations(net, in) {
					h := rx.inputMax(net, box, k)
					for _, v := range in {
						if math.Abs(v) > h {
							t.Fatalf("%s: layer %d input %v above the bound %v", act, k, v, h)
						}
					}
					in = make([]float64, len(zs))
					for j, z := range zs {
						in[j] = act.Value(z)
					}
				}
			}
		}
	}
}
