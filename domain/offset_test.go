package domain

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/samplewise"
)

// notLeast is the property "output 2 is never the least" on x in [-1, 1] (property 7's form).
func notLeast() *property.Property {
	return &property.Property{Inputs: 1, Outputs: 3, Cases: []property.Case{{
		Box: property.Box{Lo: []float64{-1}, Hi: []float64{1}},
		Unsafe: property.Region{property.Conjunction{
			{Coef: []float64{-1, 0, 1}, Bound: 0},
			{Coef: []float64{0, -1, 1}, Bound: 0},
		}},
	}}}
}

// TestOffset raises output 2 of y = (tanh x, -tanh x, -0.5). Output 2 is the least where |tanh x| < 0.5,
// and the least raise that keeps it above one of the others everywhere is 0.5 (at x = 0, by hand), so the
// certified shift must exceed 0.5, and branch and bound should get it there. Decisions change only
// where output 2 was the least.
func TestOffset(t *testing.T) {
	net := &nn.Network{Layers: []nn.Layer{
		{In: 1, Out: 1, W: []float64{1}, B: []float64{0}, Act: activation.Tanh},
		{In: 1, Out: 3, W: []float64{1, -1, 0}, B: []float64{0, 0, -0.5}, Act: activation.Identity},
	}}
	p := notLeast()
	shifted, rep, err := Offset(context.Background(), net, p, 8*time.Second, 1)
	if err != nil {
		t.Fatal(err)
	}
	if shifted == nil || rep.Verdict != "certified" {
		t.Fatalf("not certified: %+v", rep)
	}
	if len(rep.Shift) != 1 || rep.Outputs[0] != 2 {
		t.Fatalf("shifted outputs %v by %v, want output 2", rep.Outputs, rep.Shift)
	}
	// No sound bound can be below the exact deficit, 0.5; branch and bound reaches it with one split
	// (each half's best constraint is bounded by -0.5 at x = 0).
	if s := rep.Shift[0]; !(s > 0.5 && s < 0.501) {
		t.Errorf("shift %.6g, want in (0.5, 0.501)", s)
	}
	if s := rep.Sampled[0]; !(s <= 0.5 && s > 0.49) {
		t.Errorf("sampled deficit %.6g, want in (0.49, 0.5]", s)
	}
	if got := shifted.Layers[1].B[2] + 0.5; math.Abs(got-rep.Shift[0]) > 1e-12 {
		t.Errorf("bias raised by %.6g, report says %.6g", got, rep.Shift[0])
	}
	// A grid (x = 0 included): safe everywhere, and the decision kept wherever it was not output 2.
	for i := -1000; i <= 1000; i++ {
		x := []float64{float64(i) / 1000}
		y0, y1 := net.Forward(x), shifted.Forward(x)
		if p.Unsafe(x, y1) {
			t.Fatalf("x = %g: shifted network unsafe, y = %v", x[0], y1)
		}
		if a := nn.Argmin(y0); a != 2 && nn.Argmin(y1) != a {
			t.Fatalf("x = %g: decision moved from %d to %d", x[0], a, nn.Argmin(y1))
		}
	}
}

func TestExclusionsRejects(t *testing.T) {
	box := property.Box{Lo: []float64{0}, Hi: []float64{1}}
	for _, c := range []struct {
		name string
		conj property.Conjunction
		want string
	}{
		{"sum", property.Conjunction{{Coef: []float64{1, 1, 0}, Bound: 0}}, "not c*(y_i - y_j)"},
		{"unequal", property.Conjunction{{Coef: []float64{2, -1, 0}, Bound: 0}}, "not c*(y_i - y_j)"},
		{"mixed", property.Conjunction{{Coef: []float64{1, -1, 0}, Bound: 0}, {Coef: []float64{0, -1, 1}, Bound: 0}}, "different outputs"},
		{"raised and compared", property.Conjunction{{Coef: []float64{1, -1, 0}, Bound: 0}, {Coef: []float64{-1, 0, 1}, Bound: 0}}, "different outputs"},
		{"empty", property.Conjunction{}, "no constraints"},
	} {
		p := &property.Property{Inputs: 1, Outputs: 3, Cases: []property.Case{{Box: box, Unsafe: property.Region{c.conj}}}}
		if _, err := exclusions(p, 3); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
	// Two conjunctions: output 0 raised in one, compared against in the other.
	p := &property.Property{Inputs: 1, Outputs: 3, Cases: []property.Case{{Box: box, Unsafe: property.Region{
		{{Coef: []float64{1, -1, 0}, Bound: 0}},
		{{Coef: []float64{-1, 0, 1}, Bound: 0}},
	}}}}
	if _, err := exclusions(p, 3); err == nil || !strings.Contains(err.Error(), "both raised and compared") {
		t.Errorf("error %v, want one saying the output is both raised and compared against", err)
	}
	// Property 7's form is accepted, with the bound read as a threshold.
	ex, err := exclusions(&property.Property{Inputs: 1, Outputs: 3, Cases: []property.Case{{Box: box, Unsafe: property.Region{
		{{Coef: []float64{-2, 0, 2}, Bound: 1}},
	}}}}, 3)
	if err != nil || len(ex) != 1 || ex[0].out != 2 || !slices.Equal(ex[0].terms[0].coef, []float64{-1, 0, 1}) || ex[0].terms[0].t != 0.5 || !slices.Equal(ex[0].dir, []float64{0, 0, 1}) {
		t.Errorf("exclusions = %+v, %v; want output 2 against 0 with threshold 0.5", ex, err)
	}
}

// TestRepairRejectsOffsetEarly: with finish: offset, a property not of the offset's form is an error
// before any round runs.
func TestRepairRejectsOffsetEarly(t *testing.T) {
	y, err := configs.Get("demo")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.LoadRepair("", y, []string{"mode=domain", "domain.finish=offset"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := samplewise.Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The demo's box with "y_0 <= 0" as the unsafe region: a bound on one output, not a comparison.
	coef := make([]float64, p.Net.Outputs())
	coef[0] = 1
	p.Prop = &property.Property{Inputs: p.Net.Inputs(), Outputs: p.Net.Outputs(), Cases: []property.Case{{
		Box: p.Prop.Cases[0].Box, Unsafe: property.Region{{{Coef: coef, Bound: 0}}},
	}}}
	start := time.Now()
	_, _, err = Repair(context.Background(), cfg, p, nil)
	if err == nil || !strings.Contains(err.Error(), "domain.finish: offset") {
		t.Fatalf("error %v, want one about domain.finish", err)
	}
	if s := time.Since(start); s > time.Second {
		t.Errorf("took %v: the check should come before the rounds", s)
	}
}
