package imitate

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// TestNearestMatchesSorting compares Nearest with a full sort of the distances.
func TestNearestMatchesSorting(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const dim, nq, np = 3, 40, 300
	q := make([]float64, nq*dim)
	p := make([]float64, np*dim)
	for i := range q {
		q[i] = rng.Float64()
	}
	for i := range p {
		p[i] = rng.Float64()
	}
	for _, k := range []int{1, 4} {
		got := Nearest(q, p, dim, k)
		for i := 0; i < nq; i++ {
			idx := make([]int, np)
			d := make([]float64, np)
			for j := range idx {
				idx[j] = j
				for c := 0; c < dim; c++ {
					x := q[i*dim+c] - p[j*dim+c]
					d[j] += x * x
				}
			}
			sort.SliceStable(idx, func(a, b int) bool { return d[idx[a]] < d[idx[b]] })
			for r := 0; r < k; r++ {
				if got[i][r] != idx[r] {
					t.Fatalf("k=%d query %d: rank %d is %d, want %d", k, i, r, got[i][r], idx[r])
				}
			}
		}
	}
}

func TestExpectedAverages(t *testing.T) {
	pos := &Behaviour{N: 3, Sizes: []int{2}, Layers: [][]float64{{1, 2, 3, 4, 5, 6}}}
	e := Expected(pos, [][]int{{2}, {0, 1}})
	want := []float64{5, 6, 2, 3} // row 0 = positive 2; row 1 = mean of positives 0 and 1
	for i, v := range want {
		if e.Layers[0][i] != v {
			t.Fatalf("expected %v, want %v", e.Layers[0], want)
		}
	}
}

// TestFindPositives checks that every positive found satisfies the property, lies in the box and near
// its negative.
func TestFindPositives(t *testing.T) {
	// y = x0 - x1; unsafe when y >= 0 on [-1, 1]^2.
	net := &nn.Network{Layers: []nn.Layer{{In: 2, Out: 1, W: []float64{1, -1}, B: []float64{0}, Act: activation.Identity}}}
	p := &property.Property{Inputs: 2, Outputs: 1, Cases: []property.Case{{
		Box:    property.Box{Lo: []float64{-1, -1}, Hi: []float64{1, 1}},
		Unsafe: property.Region{{{Coef: []float64{-1}, Bound: 0}}},
	}}}
	neg := []float64{0.1, 0, 0.9, -0.9, 1, 0.95}
	found, missing, err := FindPositives(net, p, neg, SearchOptions{PerNegative: 2, Radius: 0.01, MaxRadius: 1, Draws: 16}, 7)
	if err != nil {
		t.Fatal(err)
	}
	if missing != 0 || len(found) != 3*2*2 {
		t.Fatalf("found %d values, %d negatives without positives", len(found), missing)
	}
	for i := 0; i < len(found)/2; i++ {
		x := found[2*i : 2*i+2]
		if !p.Cases[0].Box.Contains(x) || p.Unsafe(x, net.Forward(x)) {
			t.Fatalf("positive %v is not a safe input of the box", x)
		}
		n := neg[2*(i/2) : 2*(i/2)+2]
		if math.Abs(x[0]-n[0]) > 2 || math.Abs(x[1]-n[1]) > 2 {
			t.Fatalf("positive %v far from its negative %v", x, n)
		}
	}
	// The first negative is 0.1 from the boundary: its positives are found within a small radius.
	for i := 0; i < 2; i++ {
		if d := math.Hypot(found[2*i]-0.1, found[2*i+1]); d > 0.5 {
			t.Errorf("positive %d of the first negative is %v away", i, d)
		}
	}
}
