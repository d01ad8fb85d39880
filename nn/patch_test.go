package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/property"
)

// TestPatch compares the patched network with the patch's formula, computed here apart from the
// network: f(x) + sum_p s_p(x) offset_p with s_p = max(0, 1 - sum_i (max(lo_i - x_i, 0) + max(x_i - hi_i,
// 0)) / band_i). Where every s_p is 0 the outputs must equal the original's bit for bit; on a box, s is 1.
func TestPatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := Random(rng, []int{3, 8, 7, 6, 4}, activation.ReLU, activation.Identity)
	patches := []BoxPatch{
		{Box: property.Box{Lo: []float64{0.1, -0.3, 0.2}, Hi: []float64{0.4, 0.1, 0.5}}, Offset: []float64{0.5, -1, 0, 2}},
		{Box: property.Box{Lo: []float64{-0.8, 0.3, -0.6}, Hi: []float64{-0.5, 0.6, -0.2}}, Offset: []float64{0, 0, 3, 0}},
	}
	band := []float64{0.1, 0.2, 0.05}
	pn, err := Patch(n, patches, band)
	if err != nil {
		t.Fatal(err)
	}
	if err := pn.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := pn.Hidden(), n.Hidden()+2*3*2+2*2; got != want { // 2 x 3 inputs per patch in layer 0, one per patch in the 2 later hidden layers
		t.Errorf("patched network has %d hidden neurons, want %d", got, want)
	}
	indicator := func(p BoxPatch, x []float64) float64 {
		dist := 0.0
		for i := range x {
			dist += (math.Max(p.Box.Lo[i]-x[i], 0) + math.Max(x[i]-p.Box.Hi[i], 0)) / band[i]
		}
		return math.Max(0, 1-dist)
	}
	var outside, inside, fading int
	for range 20000 {
		x := make([]float64, 3)
		for i := range x {
			x[i] = -1 + 2*rng.Float64()
		}
		if rng.IntN(4) == 0 { // a point of a box, so that the boxes are well covered
			b := patches[rng.IntN(2)].Box
			for i := range x {
				x[i] = b.Lo[i] + rng.Float64()*(b.Hi[i]-b.Lo[i])
			}
		}
		y, py := n.Forward(x), pn.Forward(x)
		want := append([]float64(nil), y...)
		all0, in := true, false
		for _, p := range patches {
			s := indicator(p, x)
			if s > 1e-12 {
				all0 = false
			}
			if p.Box.Contains(x) {
				in = true
				if s != 1 {
					t.Fatalf("x %v in a box: indicator %g, want 1", x, s)
				}
			}
			for o := range want {
				want[o] += s * p.Offset[o]
			}
		}
		for o := range want {
			if math.Abs(py[o]-want[o]) > 1e-9 {
				t.Fatalf("x %v: output %d is %.15g, want %.15g", x, o, py[o], want[o])
			}
			if all0 && py[o] != y[o] {
				t.Fatalf("x %v outside every band: output %d is %.17g, the original's %.17g", x, o, py[o], y[o])
			}
		}
		switch {
		case in:
			inside++
		case all0:
			outside++
		default:
			fading++
		}
	}
	if inside < 1000 || outside < 1000 || fading < 100 {
		t.Errorf("samples inside / outside / in the band: %d / %d / %d; the test needs more of each", inside, outside, fading)
	}
}

// TestPatchErrors: what Patch refuses, with the reason in the error.
func TestPatchErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	relu := Random(rng, []int{2, 4, 4, 1}, activation.ReLU, activation.Identity)
	box := property.Box{Lo: []float64{0, 0}, Hi: []float64{1, 1}}
	ok := []BoxPatch{{Box: box, Offset: []float64{1}}}
	for _, tt := range []struct {
		name    string
		net     *Network
		patches []BoxPatch
		band    []float64
		want    string
	}{
		{"one hidden layer", Random(rng, []int{2, 4, 1}, activation.ReLU, activation.Identity), ok, []float64{1, 1}, "needs two"},
		{"tanh", Random(rng, []int{2, 4, 4, 1}, activation.Tanh, activation.Identity), ok, []float64{1, 1}, "relu hidden layers"},
		{"band count", relu, ok, []float64{1}, "band widths"},
		{"zero band", relu, ok, []float64{1, 0}, "positive finite"},
		{"infinite box", relu, []BoxPatch{{Box: property.Box{Lo: []float64{0, math.Inf(-1)}, Hi: []float64{1, 1}}, Offset: []float64{1}}}, []float64{1, 1}, "finite interval"},
		{"offset count", relu, []BoxPatch{{Box: box, Offset: []float64{1, 2}}}, []float64{1, 1}, "offsets"},
		{"NaN offset", relu, []BoxPatch{{Box: box, Offset: []float64{math.NaN()}}}, []float64{1, 1}, "offset 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Patch(tt.net, tt.patches, tt.band)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
