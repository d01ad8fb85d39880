package verify

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// BenchmarkVerifySmooth: the branch and bound on a 5-64x6-5 network (the activation suite's students'
// shape) for a fixed 200 boxes on one worker, against a bound on y0 - y1 that the search neither refutes
// nor proves in 200 boxes (found by bisection between a refuted and a proven one): the cost of bounding
// smooth networks.
func BenchmarkVerifySmooth(b *testing.B) {
	for _, act := range []activation.Activation{activation.Tanh, activation.Sigmoid} {
		b.Run(act.Name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(8, 9))
			net := nn.Random(rng, []int{5, 64, 64, 64, 64, 64, 64, 5}, act, activation.Identity)
			box := property.Box{Lo: []float64{-0.5, -0.5, -0.5, -0.5, -0.5}, Hi: []float64{0.5, 0.5, 0.5, 0.5, 0.5}}
			y := net.Forward(box.Sample(rng, 20000))
			minD, maxD := math.Inf(1), math.Inf(-1)
			for r := 0; r < 20000; r++ {
				minD, maxD = math.Min(minD, y[5*r]-y[5*r+1]), math.Max(maxD, y[5*r]-y[5*r+1])
			}
			opt := Options{MaxBoxes: 200, Workers: 1}
			propAt := func(th float64) *property.Property {
				return &property.Property{Inputs: 5, Outputs: 5, Cases: []property.Case{{Box: box,
					Unsafe: property.Region{{{Coef: []float64{1, -1, 0, 0, 0}, Bound: th}}}}}}
			}
			lo, hi := minD-(maxD-minD), minD // certified at lo, violated at hi
			var prop *property.Property
			for it := 0; it < 40 && prop == nil; it++ {
				mid := (lo + hi) / 2
				switch Verify(context.Background(), net, propAt(mid), opt).Verdict {
				case Certified:
					lo = mid
				case Violated:
					hi = mid
				default:
					prop = propAt(mid)
				}
			}
			if prop == nil {
				b.Fatalf("no bound left undecided after 200 boxes in [%v, %v]", lo, hi)
			}
			var res Result
			for b.Loop() { // b.Loop times only the loop, not the set-up above
				res = Verify(context.Background(), net, prop, opt)
			}
			if res.Verdict != Unknown || res.Boxes < 200 {
				b.Fatalf("verdict %s after %d boxes; the benchmark wants 200 undecided", res.Verdict, res.Boxes)
			}
		})
	}
}
