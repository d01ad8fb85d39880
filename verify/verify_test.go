package verify

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// TestVerdictsAgreeWithDenseSampling compares verdicts on small random networks with a dense grid of the
// box: a certified network has no unsafe grid point, a violated one has a confirmed counterexample. It
// runs with the default options, with relu splits (also with bounds alone), and with CROWN's slopes.
func TestVerdictsAgreeWithDenseSampling(t *testing.T) {
	for _, opt := range []Options{{}, {ReluSplits: 3}, {ReluSplits: 3, NoAttack: true}, {NoAlpha: true}} {
		opt.MaxBoxes = 20000
		verdictsAgree(t, opt)
	}
}

func verdictsAgree(t *testing.T, opt Options) {
	rng := rand.New(rand.NewPCG(3, 9))
	counts := map[Verdict]int{}
	for _, act := range allActs() {
		for trial := 0; trial < 6; trial++ {
			net := nn.Random(rng, []int{2, 6, 6, 2}, act, activation.Identity)
			box := randomBox(rng, 2, 0.5)
			// Unsafe when y1 - y0 >= threshold; thresholds spread so that some networks are safe.
			prop := diffProperty(box, []float64{-0.5, 0, 0.3, 1, 3, 10}[trial])
			res := Verify(context.Background(), net, prop, opt)
			counts[res.Verdict]++
			gridUnsafe := checkVerdict(t, net, prop, res, fmt.Sprintf("%+v %s trial %d", opt, act, trial))
			if res.Verdict == Unknown && gridUnsafe > 0 && !opt.NoAttack {
				t.Errorf("%s trial %d: unknown, but the grid has %d unsafe points the search missed", act, trial, gridUnsafe)
			}
		}
	}
	if counts[Certified] == 0 || (counts[Violated] == 0 && !opt.NoAttack) {
		t.Errorf("%+v: verdicts %v: want both certified and violated cases", opt, counts)
	}
	t.Logf("%+v: verdicts %v", opt, counts)
}

// TestDeepSmoothVerdictsAgreeWithDenseSampling: the verdicts on networks deep enough for back-substituted
// child bounds (crownFrom) and with tanh and sigmoid (optimized tangent lines), or elu close to relu (the
// exact decision on relu's regions, with elu's gaps), agree with a dense grid.
func TestDeepSmoothVerdictsAgreeWithDenseSampling(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 10))
	counts := map[Verdict]int{}
	for _, act := range []activation.Activation{activation.Tanh, activation.Sigmoid, {Name: "elu", Param: 1.0 / 8192}} {
		for trial := 0; trial < 8; trial++ {
			net := nn.Random(rng, []int{2, 8, 8, 8, 8, 8, 2}, act, activation.Identity)
			scaleWeights(net, 2)
			box := randomBox(rng, 2, 0.5)
			diffs := sampledDiffs(rng, net, box, 1000)
			// Thresholds from the sampled range of y1 - y0: beyond it (safe, if provable) and inside it.
			prop := diffProperty(box, []float64{diffs[999] + 0.05, diffs[999] + 0.5, diffs[500], diffs[990]}[trial%4])
			res := Verify(context.Background(), net, prop, Options{Timeout: 20 * time.Second})
			counts[res.Verdict]++
			checkVerdict(t, net, prop, res, fmt.Sprintf("%s trial %d", act, trial))
		}
	}
	if counts[Certified] == 0 || counts[Violated] == 0 {
		t.Errorf("verdicts %v: want both certified and violated cases", counts)
	}
	t.Logf("verdicts %v", counts)
}

// sampledDiffs returns y1 - y0 of a 2-output network on n samples of the box, sorted.
func sampledDiffs(rng *rand.Rand, net *nn.Network, box property.Box, n int) []float64 {
	y := net.Forward(box.Sample(rng, n))
	diffs := make([]float64, n)
	for r := range diffs {
		diffs[r] = y[2*r+1] - y[2*r]
	}
	sort.Float64s(diffs)
	return diffs
}

// diffProperty is the 2-input property whose unsafe set is y1 - y0 >= th on the box.
func diffProperty(box property.Box, th float64) *property.Property {
	return &property.Property{Inputs: 2, Outputs: 2, Cases: []property.Case{{Box: box,
		Unsafe: property.Region{{{Coef: []float64{1, -1}, Bound: -th}}}}}}
}

// checkVerdict compares a verdict on a 2-input property with a 200 x 200 grid of its box, and returns the
// number of unsafe grid points.
func checkVerdict(t *testing.T, net *nn.Network, prop *property.Property, res Result, name string) int {
	t.Helper()
	x := gridPoints(prop.Cases[0].Box, 200)
	y := net.Forward(x)
	unsafe := 0
	for r := 0; r < len(x)/2; r++ {
		if prop.Unsafe(x[2*r:2*r+2], y[2*r:2*r+2]) {
			unsafe++
		}
	}
	switch res.Verdict {
	case Certified:
		if unsafe > 0 {
			t.Fatalf("%s: certified, but %d grid points are unsafe", name, unsafe)
		}
	case Violated:
		if cx := res.Counterexample; !prop.Unsafe(cx.Input, net.Forward(cx.Input)) {
			t.Fatalf("%s: counterexample %v is not one", name, cx.Input)
		}
	}
	return unsafe
}

// gridPoints returns the (n+1) x (n+1) grid of a 2-dimensional box, row-major.
func gridPoints(box property.Box, n int) []float64 {
	x := make([]float64, 0, 2*(n+1)*(n+1))
	for a := 0; a <= n; a++ {
		for b := 0; b <= n; b++ {
			x = append(x, box.Lo[0]+(box.Hi[0]-box.Lo[0])*float64(a)/float64(n), box.Lo[1]+(box.Hi[1]-box.Lo[1])*float64(b)/float64(n))
		}
	}
	return x
}

// TestCollectedCounterexamples: a search that collects counterexamples (with CollectFor limiting it
// after the first) returns only real ones.
func TestCollectedCounterexamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 1))
	net := nn.Random(rng, []int{2, 60, 60, 60, 2}, activation.ReLU, activation.Identity)
	box := randomBox(rng, 2, 1)
	// Unsafe where y1 - y0 >= the median of y1 - y0 over samples: about half the box.
	prop := diffProperty(box, sampledDiffs(rng, net, box, 2000)[1000])
	// Without the attacks, the counterexamples come from the exact decision of small boxes, one box at a
	// time (the up-front search would return its first at once).
	for _, tc := range []struct {
		name string
		opt  Options
		want int // at least this many distinct counterexamples
	}{
		{"exact decisions", Options{Collect: 1 << 30, CollectFor: 200 * time.Millisecond, NoAttack: true}, 2},
		// With the attacks the up-front search finds some at once; the boxes that hold one are split
		// further, so the collection goes on until it has as many as asked.
		{"attacks", Options{Collect: 50}, 50},
	} {
		tc.opt.Timeout = time.Minute
		res := Verify(context.Background(), net, prop, tc.opt)
		checkVerdict(t, net, prop, res, "relu")
		if res.Verdict != Violated || len(res.More) < tc.want*2 {
			t.Fatalf("%s: verdict %s with %d counterexamples, want %d", tc.name, res.Verdict, len(res.More)/2, tc.want)
		}
		seen := map[[2]float64]bool{}
		for r := 0; r < len(res.More)/2; r++ {
			x := res.More[2*r : 2*r+2]
			if !prop.Unsafe(x, net.Forward(x)) {
				t.Fatalf("%s: %v is not a counterexample", tc.name, x)
			}
			if seen[[2]float64(x)] {
				t.Fatalf("%s: %v collected twice", tc.name, x)
			}
			seen[[2]float64(x)] = true
		}
	}
}
