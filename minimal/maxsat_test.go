package minimal

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
	gonumlp "gonum.org/v1/gonum/optimize/convex/lp"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
)

// feasibleBySimplex says whether some change of the free output-layer entries, each within limit, makes
// every given input's rows hold: gonum's simplex on the rows written out here by hand (y = (W + Δ) h + b,
// h the hidden output), independently of build.
func feasibleBySimplex(t *testing.T, net *nn.Network, ins []Input, free []int, limit float64) bool {
	t.Helper()
	out := &net.Layers[len(net.Layers)-1]
	k := len(free)
	type row struct {
		a []float64
		r float64
	}
	var rows []row
	for _, in := range ins {
		acts := net.Trace(in.X)
		h, y := acts[len(acts)-2], acts[len(acts)-1]
		for _, r := range in.Rows {
			a := make([]float64, k)
			cur := 0.0
			for j, c := range r.Coef {
				cur += c * y[j]
			}
			for e, f := range free {
				a[e] = r.Coef[f/out.In] * h[f%out.In]
			}
			rows = append(rows, row{a, r.Bound - cur})
		}
	}
	// Variables: p (k), q (k), surplus s (a row each), u, v (k each): p+u = q+v = limit.
	nv := 4*k + len(rows)
	var A [][]float64
	var b []float64
	for ri, r := range rows {
		eq := make([]float64, nv)
		for e := 0; e < k; e++ {
			eq[e], eq[k+e] = r.a[e], -r.a[e]
		}
		eq[2*k+ri] = -1
		A, b = append(A, eq), append(b, r.r)
	}
	for e := 0; e < k; e++ {
		for _, off := range []int{0, k} {
			eq := make([]float64, nv)
			eq[off+e] = 1
			eq[2*k+len(rows)+off+e] = 1
			A, b = append(A, eq), append(b, limit)
		}
	}
	c := make([]float64, nv)
	for e := 0; e < 2*k; e++ {
		c[e] = 1
	}
	var flat []float64
	for _, r := range A {
		flat = append(flat, r...)
	}
	dense := mat.NewDense(len(A), nv, flat)
	_, _, err := gonumlp.Simplex(c, dense, b, 1e-10, nil)
	if err != nil && !errors.Is(err, gonumlp.ErrInfeasible) {
		t.Fatalf("simplex: %v", err)
	}
	return err == nil
}

// TestMaxSatisfiedBruteForce checks the branch and bound on tiny networks against every subset of the soft
// inputs, each subset's feasibility settled by gonum's simplex: the answer satisfies the most any subset
// can, and the bound it proves is that number.
func TestMaxSatisfiedBruteForce(t *testing.T) {
	var gained, nodes int
	for seed := uint64(1); seed <= 12; seed++ {
		rng := rand.New(rand.NewPCG(seed, 9))
		net := nn.Random(rng, []int{3, 5, 3}, activation.ReLU, activation.Identity)
		var soft, hardIns []Input
		for i := 0; i < 13; i++ {
			x := []float64{rng.Float64()*2 - 1, rng.Float64()*2 - 1, rng.Float64()*2 - 1}
			c := nn.Argmax(net.Forward(x))
			if i < 3 {
				hardIns = append(hardIns, Input{X: x, Rows: DecisionRows(3, c, true, 0)})
				continue
			}
			// The second-best class (often within reach) or a random other one.
			y := net.Forward(x)
			want := (c + 1) % 3
			if y[(c+2)%3] > y[want] || rng.IntN(3) == 0 {
				want = (c + 2) % 3
			}
			soft = append(soft, Input{X: x, Rows: DecisionRows(3, want, true, 0.01), Weight: 1})
		}
		free := []int{rng.IntN(5), 5 + rng.IntN(5), 10 + rng.IntN(5), 5 + rng.IntN(5)}
		free = slices.Compact(slices.Sorted(slices.Values(free)))
		const limit = 0.5
		want := 0
		for mask := 0; mask < 1<<len(soft); mask++ {
			ins := append([]Input(nil), hardIns...)
			n := 0
			for i := range soft {
				if mask>>i&1 == 1 {
					ins = append(ins, soft[i])
					n++
				}
			}
			if n > want && feasibleBySimplex(t, net, ins, free, limit) {
				want = n
			}
		}
		res, err := MaxSatisfied(context.Background(), net, append(append([]Input(nil), hardIns...), soft...),
			Options{Layer: -1, Free: free, Limit: limit}, MaxSatOptions{Nodes: 5000})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if res.Satisfied != want || res.UpperBound != want || !res.Exact {
			t.Errorf("seed %d: satisfied %d, bound %d, exact %v in %d nodes; every subset checked: %d (the LP relaxation %d)",
				seed, res.Satisfied, res.UpperBound, res.Exact, res.Nodes, want, res.Relaxation)
		}
		if res.Change.Violated != 0 {
			t.Errorf("seed %d: the answer breaks %d hard rows", seed, res.Change.Violated)
		}
		t.Logf("seed %d: %d of %d soft inputs (LP relaxation %d), %d nodes", seed, res.Satisfied, len(soft), res.Relaxation, res.Nodes)
		gained += res.Satisfied - res.Relaxation
		nodes += res.Nodes
	}
	if gained == 0 {
		t.Errorf("the exact search never beat the LP relaxation: the instances test nothing the relaxation does not")
	}
	t.Logf("the exact search satisfied %d more soft inputs than the LP relaxation over the 12 instances, %d nodes", gained, nodes)
}
