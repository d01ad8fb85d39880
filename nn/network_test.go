package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/property"
)

// TestNormalization checks the .nnet conventions by hand: raw x is clipped, then (x - mean) / range.
func TestNormalization(t *testing.T) {
	m := &Normalization{InMin: []float64{0, -1}, InMax: []float64{100, 1}, InMean: []float64{50, 0}, InRange: []float64{100, 2},
		OutMean: 7.5, OutRange: 2}
	x := make([]float64, 2)
	m.NormalizeInput([]float64{75, 3}, x) // 3 is clipped to 1
	if x[0] != 0.25 || x[1] != 0.5 {
		t.Fatalf("normalized %v, want [0.25 0.5]", x)
	}
	raw := make([]float64, 2)
	m.DenormalizeInput(x, raw)
	if raw[0] != 75 || raw[1] != 1 {
		t.Fatalf("denormalized %v, want [75 1]", raw)
	}
	y := []float64{1, -0.5}
	m.DenormalizeOutput(y)
	if y[0] != 9.5 || y[1] != 6.5 {
		t.Fatalf("outputs %v, want [9.5 6.5]", y)
	}
}

// TestAgreement checks the fidelity measure on rows worked out by hand (ties go to the first output).
func TestAgreement(t *testing.T) {
	for _, tt := range []struct {
		name   string
		ya, yb []float64
		m      int
		want   float64
	}{
		{"all agree", []float64{1, 2, 3, 0}, []float64{0, 5, 9, -1}, 2, 100},
		{"one of two", []float64{1, 2, 3, 0}, []float64{2, 1, 3, 0}, 2, 50},
		{"ties go first", []float64{1, 1, 2}, []float64{0, 0, 9}, 3, 100},
		{"one of four", []float64{0, 1, 0, 1, 0, 1, 0, 1}, []float64{0, 1, 1, 0, 1, 0, 1, 0}, 2, 25},
	} {
		if got := Agreement(tt.ya, tt.yb, tt.m); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	if got := Agreement(nil, nil, 5); !math.IsNaN(got) {
		t.Errorf("no rows: %v, want NaN", got)
	}
}

// TestDomainBox: the normalization's bounds in normalized units when every dimension has width, else the
// property's hull, else nothing.
func TestDomainBox(t *testing.T) {
	net := Random(rand.New(rand.NewPCG(1, 2)), []int{2, 3, 2}, activation.ReLU, activation.Identity)
	prop := &property.Property{Inputs: 2, Outputs: 2, Cases: []property.Case{
		{Box: property.Box{Lo: []float64{0, 0}, Hi: []float64{1, 1}}},
		{Box: property.Box{Lo: []float64{-1, 0.5}, Hi: []float64{0.5, 2}}},
	}}
	box, name, ok := net.DomainBox(prop)
	if !ok || !slices.Equal(box.Lo, []float64{-1, 0}) || !slices.Equal(box.Hi, []float64{1, 2}) || !strings.Contains(name, "hull") {
		t.Errorf("no normalization: %v %q %v, want the hull [-1 0]..[1 2]", box, name, ok)
	}
	// x in [10, 30] x [0, 4], mean (20, 2), range (10, 2): normalized [-1, 1] x [-1, 1].
	net.Norm = &Normalization{InMin: []float64{10, 0}, InMax: []float64{30, 4}, InMean: []float64{20, 2}, InRange: []float64{10, 2}, OutMean: 0, OutRange: 1}
	box, name, ok = net.DomainBox(prop)
	if !ok || !slices.Equal(box.Lo, []float64{-1, -1}) || !slices.Equal(box.Hi, []float64{1, 1}) || !strings.Contains(name, "normalization") {
		t.Errorf("normalization: %v %q %v, want [-1 -1]..[1 1]", box, name, ok)
	}
	net.Norm.InMax[1] = 0 // a dimension without width: the hull again
	if box, _, _ = net.DomainBox(prop); box.Lo[0] != -1 || box.Hi[1] != 2 {
		t.Errorf("zero width: %v, want the hull", box)
	}
	if _, _, ok = net.DomainBox(nil); ok {
		t.Error("zero width and no property: ok")
	}
}

// Between mixes weights and biases layer by layer (values worked out by hand) and refuses networks of
// different shapes.
func TestBetween(t *testing.T) {
	a := &Network{Layers: []Layer{{In: 2, Out: 1, W: []float64{1, 2}, B: []float64{0.5}, Act: activation.Identity}}}
	b := &Network{Layers: []Layer{{In: 2, Out: 1, W: []float64{3, -2}, B: []float64{-0.5}, Act: activation.Identity}}}
	for _, tc := range []struct {
		lambda float64
		w      []float64
		bias   float64
	}{{0, []float64{1, 2}, 0.5}, {1, []float64{3, -2}, -0.5}, {0.25, []float64{1.5, 1}, 0.25}} {
		c, err := Between(a, b, tc.lambda)
		if err != nil {
			t.Fatal(err)
		}
		l := c.Layers[0]
		if l.W[0] != tc.w[0] || l.W[1] != tc.w[1] || l.B[0] != tc.bias {
			t.Errorf("lambda %v: W %v B %v, want %v %v", tc.lambda, l.W, l.B, tc.w, tc.bias)
		}
	}
	if a.Layers[0].W[0] != 1 {
		t.Errorf("a changed: %v", a.Layers[0].W)
	}
	wide := &Network{Layers: []Layer{{In: 3, Out: 1, W: []float64{1, 2, 3}, B: []float64{0}, Act: activation.Identity}}}
	relu := &Network{Layers: []Layer{{In: 2, Out: 1, W: []float64{1, 2}, B: []float64{0}, Act: activation.ReLU}}}
	for _, other := range []*Network{wide, relu, {}} {
		if _, err := Between(a, other, 0.5); err == nil {
			t.Errorf("Between accepted a network of another shape: %+v", other)
		}
	}
}
