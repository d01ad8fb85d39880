package activation

import (
	"math"
	"testing"
)

// TestDerivativesMatchFiniteDifferences checks every registered derivative against central differences
// of the registered value, away from the kink at 0.
func TestDerivativesMatchFiniteDifferences(t *testing.T) {
	xs := []float64{-30, -5, -1.3, -0.2, -1e-3, 1e-3, 0.4, 1.7, 6, 40}
	for _, name := range Names() {
		a, _ := New(name)
		if k, _ := a.Kind(); k.Param != "" {
			a.Param = 0.2
		}
		for _, x := range xs {
			const h = 1e-7
			fd := (a.Value(x+h) - a.Value(x-h)) / (2 * h)
			if got := a.Deriv(x); math.Abs(got-fd) > 1e-6 {
				t.Errorf("%s at %v: derivative %v, finite differences %v", a, x, got, fd)
			}
		}
	}
}

// TestValues checks values computed by hand.
func TestValues(t *testing.T) {
	tests := []struct {
		act  string
		x    float64
		want float64
	}{
		{"identity", -2.5, -2.5},
		{"relu", -2, 0},
		{"relu", 3, 3},
		{"leaky_relu(0.1)", -2, -0.2},
		{"leaky_relu(0.1)", 2, 2},
		{"sigmoid", 0, 0.5},
		{"sigmoid", math.Log(3), 0.75},
		{"sigmoid", -800, 0},
		{"tanh", math.Log(2), 0.6},
		{"elu", -math.Log(2), -0.5},
		{"elu(2)", -math.Log(4), -1.5},
		{"elu", 4, 4},
		{"softplus", 0, math.Ln2},
		{"softplus", math.Log(3), 2 * math.Ln2},
		{"softplus", 1000, 1000},
		{"softplus", -1000, 0},
	}
	for _, tt := range tests {
		a, err := Parse(tt.act)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Value(tt.x); math.Abs(got-tt.want) > 1e-15*math.Max(1, math.Abs(tt.want)) {
			t.Errorf("%s(%v) = %v, want %v", tt.act, tt.x, got, tt.want)
		}
		v := []float64{tt.x}
		a.Apply(v)
		if v[0] != a.Value(tt.x) {
			t.Errorf("%s: Apply gives %v, Value %v", tt.act, v[0], a.Value(tt.x))
		}
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"relu", "leaky_relu(0.05)", "elu(1.5)", "sigmoid", " tanh "} {
		a, err := Parse(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		b, err := Parse(a.String())
		if err != nil || a != b {
			t.Errorf("%q: String %q reads back as %v, %v", s, a.String(), b, err)
		}
	}
	if a, _ := Parse("leaky_relu"); a.Param != 0.01 {
		t.Errorf("leaky_relu default slope %v, want 0.01", a.Param)
	}
	for _, s := range []string{"swish", "relu(1)", "leaky_relu(x)", "elu(1", "leaky_relu(NaN)", ""} {
		if _, err := Parse(s); err == nil {
			t.Errorf("%q: no error", s)
		}
	}
}
