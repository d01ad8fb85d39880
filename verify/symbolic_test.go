package verify

import (
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// TestSymbolicBoundsContainSamples: on random networks of every activation, the forward symbolic bounds
// (alone, and intersected with CROWN bounds of a box containing this one) contain every sampled
// pre-activation, and the output bound of a random objective built on them holds on the samples.
func TestSymbolicBoundsContainSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	for _, act := range allActs() {
		for trial := 0; trial < 12; trial++ {
			net := nn.Random(rng, []int{3, 8, 8, 8, 2}, act, activation.Identity)
			outer := randomBox(rng, 3, []float64{0.05, 0.4, 1.5}[trial%3])
			// A box inside outer: the parent's bounds hold on it.
			box := outer
			box.Lo, box.Hi = append([]float64(nil), outer.Lo...), append([]float64(nil), outer.Hi...)
			for i := range box.Lo {
				a, b := rng.Float64(), rng.Float64()
				if a > b {
					a, b = b, a
				}
				w := outer.Hi[i] - outer.Lo[i]
				box.Lo[i], box.Hi[i] = outer.Lo[i]+a*w, outer.Lo[i]+b*w
			}
			parent := Crown(net, outer)
			for _, par := range [][][]Interval{nil, parent} {
				rx := newSymbolic(net).bound(box, par)
				f := linear{coef: []float64{rng.NormFloat64(), rng.NormFloat64()}, c: rng.NormFloat64()}
				lo, _ := rx.backSubstitute(net, box, len(net.Layers)-1, f, true)
				hi, _ := rx.backSubstitute(net, box, len(net.Layers)-1, f, false)
				x := box.Sample(rng, 1000)
				y2 := net.Forward(x)
				for r := 0; r < 1000; r++ {
					for k, zs := range preActivations(net, x[3*r:3*r+3]) {
						for j, z := range zs {
							if b := rx.bounds[k][j]; z < b.Lo || z > b.Hi {
								t.Fatalf("%s trial %d (parent %v): layer %d neuron %d: %g outside [%g, %g]", act, trial, par != nil, k, j, z, b.Lo, b.Hi)
							}
						}
					}
					y := y2[2*r : 2*r+2]
					v := f.c + f.coef[0]*y[0] + f.coef[1]*y[1]
					if v < lo || v > hi {
						t.Fatalf("%s trial %d: objective %g outside [%g, %g]", act, trial, v, lo, hi)
					}
				}
			}
		}
	}
}

// BenchmarkSymbolicBound bounds boxes of a 6 x 64 tanh network on 5 inputs (the shape of the activation
// suite's students): Out*In*(d+1) multiply-adds per layer for each of the two functions, about 250k in
// all per box, plus a relaxation per neuron.
func BenchmarkSymbolicBound(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	net := nn.Random(rng, []int{5, 64, 64, 64, 64, 64, 64, 5}, activation.Tanh, activation.Identity)
	s := newSymbolic(net)
	boxes := make([]property.Box, 64)
	for i := range boxes {
		boxes[i] = randomBox(rng, 5, 0.05)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.bound(boxes[i%len(boxes)], nil)
	}
}
