package domain

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// TestFixes: the directions that undo each ACAS Xu form (the one that raises every constraint first),
// and its terms scaled so that coef.dir is 1, worked out by hand; a conjunction no direction undoes is
// refused.
func TestFixes(t *testing.T) {
	box := property.Box{Lo: []float64{0}, Hi: []float64{1}}
	c := func(coef []float64, b float64) property.Constraint { return property.Constraint{Coef: coef, Bound: b} }
	for _, tt := range []struct {
		name  string
		conj  property.Conjunction
		dir   []float64
		terms []excludedTerm
		more  [][]float64 // the single-output directions after dir
	}{
		// property 1: y0 >= 4, i.e. -y0 <= -4: all outputs down, the slack -y0 + 4 rises by 1 per unit.
		{"bound", property.Conjunction{c([]float64{-1, 0, 0}, -4)}, []float64{-1, -1, -1}, []excludedTerm{{coef: []float64{-1, 0, 0}, t: -4}},
			[][]float64{{-1, 0, 0}}},
		// property 2: y1 <= y0 and y2 <= y0: y0 down.
		{"largest", property.Conjunction{c([]float64{-1, 1, 0}, 0), c([]float64{-1, 0, 1}, 0)}, []float64{-1, 0, 0},
			[]excludedTerm{{coef: []float64{-1, 1, 0}, t: 0}, {coef: []float64{-1, 0, 1}, t: 0}},
			[][]float64{{0, 1, 0}, {0, 0, 1}}},
		// properties 3 and 4: 2 y0 <= 2 y1 + 1, y0 <= y2: y0 up; the first term halved.
		{"least", property.Conjunction{c([]float64{2, -2, 0}, 1), c([]float64{1, 0, -1}, 0)}, []float64{1, 0, 0},
			[]excludedTerm{{coef: []float64{1, -1, 0}, t: 0.5}, {coef: []float64{1, 0, -1}, t: 0}},
			[][]float64{{0, -1, 0}, {0, 0, -1}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			all, err := fixes(&property.Property{Inputs: 1, Outputs: 3, Cases: []property.Case{{Box: box, Unsafe: property.Region{tt.conj}}}}, 3)
			if err != nil || len(all) != 1 || len(all[0]) != 1+len(tt.more) {
				t.Fatalf("fixes: %v, %v; want one conjunction with %d directions", all, err, 1+len(tt.more))
			}
			ex := all[0]
			if !slices.Equal(ex[0].dir, tt.dir) || ex[0].out != -1 {
				t.Errorf("direction %v (out %d), want %v", ex[0].dir, ex[0].out, tt.dir)
			}
			for k, want := range tt.terms {
				if got := ex[0].terms[k]; !slices.Equal(got.coef, want.coef) || got.t != want.t || got.neutral {
					t.Errorf("term %d: %+v, want %+v", k, got, want)
				}
			}
			for k, want := range tt.more {
				if !slices.Equal(ex[k+1].dir, want) {
					t.Errorf("direction %d: %v, want %v", k+1, ex[k+1].dir, want)
				}
			}
		})
	}
	// Property 2's second candidate, y1 up: the first term rises by 1, the second is neutral.
	all, _ := fixes(&property.Property{Inputs: 1, Outputs: 3, Cases: []property.Case{{Box: box, Unsafe: property.Region{{c([]float64{-1, 1, 0}, 0), c([]float64{-1, 0, 1}, 0)}}}}}, 3)
	if e := all[0][1]; e.terms[0].neutral || !e.terms[1].neutral || e.slack([]float64{1, 0, 2}) != math.Inf(1) || e.slack([]float64{1, 0.25, 0.5}) != -0.75 {
		t.Errorf("y1 up: terms %+v, slack where y2 > y0 %v (want +Inf), where y0 is the largest %v (want -0.75)", e.terms, e.slack([]float64{1, 0, 2}), e.slack([]float64{1, 0.25, 0.5}))
	}
	// y0 = y1 (y0 <= y1 and y1 <= y0): every move raises one and lowers the other.
	tie := property.Conjunction{c([]float64{1, -1, 0}, 0), c([]float64{-1, 1, 0}, 0)}
	_, err := fixes(&property.Property{Inputs: 1, Outputs: 3, Cases: []property.Case{{Box: box, Unsafe: property.Region{tie}}}}, 3)
	if err == nil || !strings.Contains(err.Error(), "no move of the outputs") {
		t.Errorf("error %v, want one saying no move undoes the conjunction", err)
	}
}

// TestDemoPatch repairs the demo network with a local patch. The verifier's certificate is checked on a
// dense grid of the box; outside the box widened by the band, on a grid of the whole domain, the patched
// network must give the original's outputs bit for bit; inside the box (the demo's property forbids y2
// as the least score, and the patch raises y2) the decision may change only where the original violated.
func TestDemoPatch(t *testing.T) {
	res, d, p := repairDemo(t, "paradigm=patch", "domain.verify_seconds=20", "domain.patch_band=0.01")
	if d == nil || !d.Certified || d.Patch == nil || d.Original == nil {
		t.Fatalf("not certified, or no patch: %+v", d)
	}
	if pr := d.Patch; len(pr.Boxes) != 1 || pr.AddedNeurons != 2*2+1 || !(pr.Untouched > 90 && pr.Untouched < 100) {
		t.Fatalf("patch report %+v: want one box, 5 neurons added, untouched in (90, 100)", pr)
	}
	assertGridSafe(t, res.Repaired, p.Prop)
	box := p.Prop.Cases[0].Box
	const n = 201
	var x []float64
	for i := range n {
		for j := range n {
			x = append(x, -1+2*float64(i)/(n-1), -1+2*float64(j)/(n-1))
		}
	}
	y0, y1, yt := p.Net.Forward(x), res.Repaired.Forward(x), d.Original.Forward(x)
	m := p.Net.Outputs()
	var inBox, changed, outside int
	for r := range n * n {
		xr, a, b := x[2*r:2*r+2], y0[r*m:(r+1)*m], y1[r*m:(r+1)*m]
		if !slices.Equal(a, yt[r*m:(r+1)*m]) {
			t.Fatalf("x %v: the zero patch gives %v, the original %v", xr, yt[r*m:(r+1)*m], a)
		}
		far := false
		for i := range xr {
			w := 0.01 * 2 * 1.001 // band times the domain's width [-1, 1], and a little more
			far = far || xr[i] < box.Lo[i]-w || xr[i] > box.Hi[i]+w
		}
		switch {
		case far:
			outside++
			if !slices.Equal(a, b) {
				t.Fatalf("x %v outside the band: patched %v, original %v", xr, b, a)
			}
		case box.Contains(xr):
			inBox++
			if nn.Argmin(a) != nn.Argmin(b) {
				changed++
				if !p.Prop.Unsafe(xr, a) {
					t.Fatalf("x %v: the decision changed from %d to %d where the original was safe", xr, nn.Argmin(a), nn.Argmin(b))
				}
			}
		}
	}
	if inBox < 1000 || outside < 30000 || changed == 0 {
		t.Fatalf("grid points in the box %d, outside the band %d, changed %d: the test needs more", inBox, outside, changed)
	}
	if f := float64(res.Report.Fidelity.Domain); math.IsNaN(f) || f < 90 {
		t.Errorf("domain fidelity %.2f%%", f)
	}
	t.Logf("patch %+v; %d of %d box grid points changed decision; fidelity %.2f%% (domain)", d.Patch.Boxes, changed, inBox, res.Report.Fidelity.Domain)
}
