package diff

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// TestDriftAgainstGrid: on random 2-input pairs (ReLU, by the symbolic difference, and tanh, by the
// stacked network) with one repaired box, the certified bounds outside and inside the box are at least
// the largest differences on a 200 x 200 grid there, the seen ends at most the certified ones, and the
// grid points whose argmin changed fit in the volume not proved unchanged (up to one grid cell's share
// along the boundary); and 3,000 sub-boxes settle the decision on >= 75% of the volume.
func TestDriftAgainstGrid(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	domain := property.Box{Lo: []float64{-1, -1}, Hi: []float64{1, 1}}
	rbox := property.Box{Lo: []float64{0.2, -0.4}, Hi: []float64{0.7, 0.3}}
	for _, act := range []activation.Activation{activation.ReLU, activation.Tanh} {
		for trial := 0; trial < 4; trial++ {
			a := nn.Random(rng, []int{2, 10, 10, 3}, act, activation.Identity)
			b := perturbed(a, rng, 0.03)
			dr, err := DriftOf(context.Background(), a, b, domain, []property.Box{rbox}, DriftOptions{MaxBoxes: 3000})
			if err != nil {
				t.Fatal(err)
			}
			const n = 200
			x := make([]float64, 0, 2*n*n)
			for i := 0; i < n; i++ {
				for j := 0; j < n; j++ {
					x = append(x, -1+2*float64(i)/(n-1), -1+2*float64(j)/(n-1))
				}
			}
			ya, yb := a.Forward(x), b.Forward(x)
			out, in, changed := 0.0, 0.0, 0
			for r := 0; r < n*n; r++ {
				g := gap(ya[3*r:3*r+3], yb[3*r:3*r+3], -1)
				if rbox.Contains(x[2*r : 2*r+2]) {
					in = math.Max(in, g)
				} else {
					out = math.Max(out, g)
				}
				if nn.Argmin(ya[3*r:3*r+3]) != nn.Argmin(yb[3*r:3*r+3]) {
					changed++
				}
			}
			if dr.Inside == nil || dr.Outside < out || *dr.Inside < in || dr.SampledOutside > dr.Outside || (dr.SampledInside != nil && *dr.SampledInside > *dr.Inside) {
				t.Fatalf("%s trial %d: drift %+v (inside %v), grid outside %v inside %v", act, trial, dr, *dr.Inside, out, in)
			}
			if share := 100 * float64(changed) / (n * n); share > 100-dr.DecisionProved+1 {
				t.Fatalf("%s trial %d: argmin changed on %.2f%% of the grid, but proved unchanged on %.2f%%", act, trial, share, dr.DecisionProved)
			}
			if dr.DecisionProved+dr.DecisionChanged < 75 {
				t.Errorf("%s trial %d: decision settled on %.1f%% + %.1f%% of the volume only", act, trial, dr.DecisionProved, dr.DecisionChanged)
			}
			t.Logf("%s trial %d: outside [%.4g, %.4g] inside %.4g, decision proved %.1f%%, changed %.2f%%", act, trial, dr.SampledOutside, dr.Outside, *dr.Inside, dr.DecisionProved, dr.DecisionChanged)
		}
	}
}

// TestDriftConstantShift: B is A with 0.1 added to every output bias, so B - A = 0.1 everywhere and
// the argmin never changes: the certified drift is 0.1 up to rounding and, with no repaired box, no inside
// figure.
func TestDriftConstantShift(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	a := nn.Random(rng, []int{2, 8, 8, 3}, activation.ReLU, activation.Identity)
	b := a.Clone()
	last := &b.Layers[len(b.Layers)-1]
	for i := range last.B {
		last.B[i] += 0.1
	}
	dr, err := DriftOf(context.Background(), a, b, property.Box{Lo: []float64{-1, -1}, Hi: []float64{1, 1}}, nil, DriftOptions{MaxBoxes: 500})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(dr.Outside-0.1) > 1e-9 || math.Abs(dr.SampledOutside-0.1) > 1e-12 || dr.Inside != nil || dr.DecisionChanged != 0 {
		t.Errorf("drift %+v, want 0.1 outside, nothing inside, nothing changed", dr)
	}
}

// carve's pieces tile the box: their volumes add up to its volume (worked out by hand), the last one is
// the part inside the cut, and no two overlap.
func TestCarve(t *testing.T) {
	b := property.Box{Lo: []float64{0, 0, 0}, Hi: []float64{4, 4, 4}}
	for _, tt := range []struct {
		name   string
		c      property.Box
		pieces int
		inside float64 // volume of the last piece
	}{
		{"inner", property.Box{Lo: []float64{1, 1, 1}, Hi: []float64{2, 3, 2}}, 7, 2},
		{"overhanging", property.Box{Lo: []float64{3, -1, -1}, Hi: []float64{5, 5, 1}}, 3, 4},
		{"apart", property.Box{Lo: []float64{5, 5, 5}, Hi: []float64{6, 6, 6}}, 1, 64},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ps := carve(b, tt.c)
			vol := func(p property.Box) float64 {
				v := 1.0
				for i := range p.Lo {
					v *= p.Hi[i] - p.Lo[i]
				}
				return v
			}
			sum := 0.0
			for k, p := range ps {
				sum += vol(p)
				for _, q := range ps[k+1:] {
					if meets(p, q) {
						t.Fatalf("pieces %v and %v overlap", p, q)
					}
				}
			}
			if len(ps) != tt.pieces || sum != 64 || vol(ps[len(ps)-1]) != tt.inside {
				t.Fatalf("%d pieces of volume %v, the last %v; want %d, 64, %v", len(ps), sum, vol(ps[len(ps)-1]), tt.pieces, tt.inside)
			}
		})
	}
}
