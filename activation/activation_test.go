package activation

import (
	"math"
	"math/rand/v2"
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

// TestApplyAllInChunks: ApplyAll, the activation applied in chunks on every core, gives the serial result
// to the bit, for every activation, on a length no chunk count divides, and changes every value that the
// serial pass changes (no chunk is skipped or done twice: tanh of tanh would differ).
func TestApplyAllInChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 5*parallelChunk + 7
	for _, name := range Names() {
		act, err := New(name)
		if err != nil {
			t.Fatal(err)
		}
		in := make([]float64, n)
		for i := range in {
			in[i] = 8 * (2*rng.Float64() - 1)
		}
		got, want := append([]float64(nil), in...), append([]float64(nil), in...)
		act.ApplyAll(got)
		act.Apply(want)
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("%s: value %d: chunked %v, serial %v (input %v)", name, i, got[i], want[i], in[i])
			}
			// Apply writes some functions' loops out (sigmoid, tanh); they are Value to the bit.
			if v := act.Value(in[i]); math.Float64bits(want[i]) != math.Float64bits(v) {
				t.Fatalf("%s(%v): Apply gives %v, Value %v", name, in[i], want[i], v)
			}
		}
	}
}

// TestDerivOutMatchesDeriv: where a kind gives the derivative from the value, it is the derivative
// (itself checked against finite differences above) at the x that gave the value.
func TestDerivOutMatchesDeriv(t *testing.T) {
	xs := []float64{-30, -5, -1.3, -0.2, -1e-3, 0, 1e-3, 0.4, 1.7, 6, 40}
	for _, name := range Names() {
		k, _ := Lookup(name)
		if k.DerivOut == nil {
			continue
		}
		for _, p := range []float64{k.DefaultParam, 0.3} {
			for _, x := range xs {
				want := k.Deriv(x, p)
				got := k.DerivOut(k.Value(x, p), p)
				if math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
					t.Errorf("%s(p=%v): derivative at %v from the value %v, from x %v", name, p, x, got, want)
				}
			}
		}
	}
}
