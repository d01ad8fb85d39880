package verify

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// TestExactAgreesWithDenseSampling decides whole boxes of small random relu and leaky_relu networks by
// their linear regions alone and compares with a dense grid: a box decided safe has no unsafe grid point,
// and every box where the grid finds one gets a counterexample that a forward pass confirms. The exact
// decision must settle every box (these networks have few enough regions for its budget).
//
// Elu networks are decided on relu's regions with elu's gaps (activation.ShadowGap): a box decided safe
// must still have no unsafe grid point, and a counterexample must be real, but boxes may stay open where
// the gaps are too wide to decide. With alpha 1/8192 nearly every box is settled; with alpha 1 the gaps are
// wide, which is what tests their bookkeeping (leaving them out of the rows' deviation makes boxes with
// unsafe grid points come out safe).
func TestExactAgreesWithDenseSampling(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	acts := []activation.Activation{activation.Activation{Name: "relu"}, {Name: "leaky_relu", Param: 0.1},
		{Name: "elu", Param: 1.0 / 8192}, {Name: "elu", Param: 1}, {Name: "elu", Param: 0.3}}
	safe, violated := 0, 0
	for _, act := range acts {
		gapped := act.Name == "elu"
		open := 0
		for trial := 0; trial < 24; trial++ {
			net := nn.Random(rng, []int{2, 8, 8, 2}, act, activation.Identity)
			box := randomBox(rng, 2, 0.5)
			th := []float64{-0.5, 0, 0.3, 1, 3, 10}[trial%6]
			c := property.Case{Box: box, Unsafe: property.Region{{{Coef: []float64{1, -1}, Bound: -th}}}}
			ex := newExact(net)
			got, cx := ex.decide(box, Crown(net, box), c, nil, 0)
			gridUnsafe := 0
			const n = 300
			for a := 0; a <= n; a++ {
				for b := 0; b <= n; b++ {
					x := []float64{box.Lo[0] + (box.Hi[0]-box.Lo[0])*float64(a)/n, box.Lo[1] + (box.Hi[1]-box.Lo[1])*float64(b)/n}
					if c.Unsafe.Unsafe(net.Forward(x)) {
						gridUnsafe++
					}
				}
			}
			switch {
			case got == exactSafe && gridUnsafe > 0:
				t.Fatalf("%s trial %d: decided safe, but %d grid points are unsafe", act, trial, gridUnsafe)
			case got == exactSafe:
				safe++
			case cx != nil:
				if !box.Contains(cx) || !c.Unsafe.Unsafe(net.Forward(cx)) {
					t.Fatalf("%s trial %d: %v is not a counterexample in the box", act, trial, cx)
				}
				violated++
			case gapped:
				open++
			default:
				t.Errorf("%s trial %d: undecided (outcome %d, grid unsafe %d, %d regions)", act, trial, got, gridUnsafe, ex.regions)
			}
		}
		if gapped {
			t.Logf("%s: %d of 24 boxes left open", act, open)
			if act.Param < 0.001 && open > 2 {
				t.Errorf("%s: %d of 24 boxes left open, want at most 2", act, open)
			}
		}
	}
	if safe == 0 || violated == 0 {
		t.Errorf("%d safe and %d violated boxes: want both", safe, violated)
	}
	t.Logf("%d safe, %d violated", safe, violated)
}

// TestExactZeroSlack: y = relu(x) + relu(-x) = |x| on [-1, 2]. The unsafe set y <= 0 is the single point
// x = 0, of zero slack: the decision must not prove the box safe (a counterexample, if it returns one,
// must be real); y <= 0.5 must give a counterexample; y <= -1e-6 never holds, and the exact decision
// proves it although the slack is only 1e-6 at x = 0 (the rounding margins are about 1e-9 here).
func TestExactZeroSlack(t *testing.T) {
	net := &nn.Network{Layers: []nn.Layer{
		{In: 1, Out: 2, W: []float64{1, -1}, B: []float64{0, 0}, Act: activation.Activation{Name: "relu"}},
		{In: 2, Out: 1, W: []float64{1, 1}, B: []float64{0}, Act: activation.Identity},
	}}
	box := property.Box{Lo: []float64{-1}, Hi: []float64{2}}
	for _, tc := range []struct {
		bound float64
		want  exactOutcome
	}{{0, exactOpen}, {0.5, exactOpen}, {-1e-6, exactSafe}} {
		c := property.Case{Box: box, Unsafe: property.Region{{{Coef: []float64{1}, Bound: tc.bound}}}}
		got, cx := newExact(net).decide(box, Crown(net, box), c, nil, 0)
		if got != tc.want {
			t.Fatalf("y <= %g: outcome %d, want %d", tc.bound, got, tc.want)
		}
		if cx != nil && !c.Unsafe.Unsafe(net.Forward(cx)) {
			t.Fatalf("y <= %g: %v is not a counterexample", tc.bound, cx)
		}
		if tc.bound == 0.5 && cx == nil {
			t.Fatalf("y <= 0.5: no counterexample")
		}
	}
}

// TestExactGapsNearTheMaximum decides random elu networks against thresholds just below the largest
// y1 - y0 on a dense grid, where the unsafe set is a few small patches: a box decided safe there would be a
// wrong proof, which leaving elu's gaps out of the deviation produces (and the test catches). Thresholds
// just above the maximum check that such boxes are still proved, not only left open.
func TestExactGapsNearTheMaximum(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 2))
	proved := 0
	for _, act := range []activation.Activation{{Name: "elu", Param: 1}, {Name: "elu", Param: 0.3}} {
		for trial := 0; trial < 12; trial++ {
			net := nn.Random(rng, []int{2, 8, 8, 2}, act, activation.Identity)
			box := randomBox(rng, 2, 0.5)
			y := net.Forward(gridPoints(box, 300))
			lo, hi := math.Inf(1), math.Inf(-1)
			for r := 0; r < len(y)/2; r++ {
				lo, hi = math.Min(lo, y[2*r+1]-y[2*r]), math.Max(hi, y[2*r+1]-y[2*r])
			}
			for _, q := range []float64{-0.01, 0.001, 0.01} {
				th := hi - q*(hi-lo)
				c := property.Case{Box: box, Unsafe: property.Region{{{Coef: []float64{1, -1}, Bound: -th}}}}
				got, cx := newExact(net).decide(box, Crown(net, box), c, nil, 0)
				gridUnsafe := 0
				for r := 0; r < len(y)/2; r++ {
					if c.Unsafe.Unsafe(y[2*r : 2*r+2]) {
						gridUnsafe++
					}
				}
				if got == exactSafe && gridUnsafe > 0 {
					t.Fatalf("%s trial %d, threshold %g below the maximum: decided safe, but %d grid points are unsafe", act, trial, q, gridUnsafe)
				}
				if cx != nil && (!box.Contains(cx) || !c.Unsafe.Unsafe(net.Forward(cx))) {
					t.Fatalf("%s trial %d: %v is not a counterexample in the box", act, trial, cx)
				}
				if got == exactSafe {
					proved++
				}
			}
		}
	}
	if proved == 0 {
		t.Errorf("no box proved safe above the maximum")
	}
	t.Logf("%d of 24 boxes proved safe above the maximum", proved)
}
