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

// TestShadowGapBoundsTheFunction checks each activation with a shadow against it: the identity at and
// above 0 (bit for bit), and below 0 the gap f(z) - s*z within ShadowGap's bounds on random intervals, for
// Value and for the exact value computed a second way (alpha*math.Expm1 for elu). The band is checked
// against a dense sampling of the gap: it covers every sample, and is no wider than the sampled band
// plus what sampling can miss (half a step of curvature) and the margin. For elu the line is the chord, so
// both ends of the interval sit on the band's edge. Activations without a shadow report so.
func TestShadowGapBoundsTheFunction(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	for _, tc := range []struct {
		act   Activation
		slope float64                 // the shadow's
		curv  float64                 // the largest |f''| below 0
		exact func(z float64) float64 // the function below 0, computed independently
	}{
		{Activation{Name: "relu"}, 0, 0, func(float64) float64 { return 0 }},
		{Activation{Name: "leaky_relu", Param: 0.1}, 0.1, 0, func(z float64) float64 { return 0.1 * z }},
		{Activation{Name: "elu", Param: 1}, 0, 1, math.Expm1},
		{Activation{Name: "elu", Param: 1.0 / 8192}, 0, 1.0 / 8192, func(z float64) float64 { return math.Expm1(z) / 8192 }},
		{Activation{Name: "elu", Param: 2.5}, 0, 2.5, func(z float64) float64 { return 2.5 * math.Expm1(z) }},
		{Activation{Name: "elu", Param: -0.5}, 0, 0.5, func(z float64) float64 { return -0.5 * math.Expm1(z) }},
	} {
		slope, ok := tc.act.Shadow()
		if !ok || slope != tc.slope {
			t.Fatalf("%s: shadow slope %g, %v; want %g", tc.act, slope, ok, tc.slope)
		}
		for i := 0; i < 200; i++ {
			if z := 40 * rng.Float64(); tc.act.Value(z) != z || tc.act.Value(0) != 0 {
				t.Fatalf("%s is not the identity at %g or 0", tc.act, z)
			}
		}
		for i := 0; i < 2000; i++ {
			l := -30 * rng.Float64() * rng.Float64()
			u := l * rng.Float64()
			switch i % 10 {
			case 0:
				u = 0
			case 1:
				u = l
			}
			s, lo, hi := tc.act.ShadowGap(l, u)
			const n = 2000
			smin, smax := math.Inf(1), math.Inf(-1)
			for k := 0; k <= n; k++ {
				z := math.Min(l+(u-l)*float64(k)/n, u)
				for _, g := range []float64{tc.act.Value(z) - s*z, tc.exact(z) - s*z} {
					if g < lo || g > hi {
						t.Fatalf("%s at %g in [%g, %g]: gap %g outside [%g, %g]", tc.act, z, l, u, g, lo, hi)
					}
					smin, smax = math.Min(smin, g), math.Max(smax, g)
				}
			}
			// Between samples the gap can pass beyond them by curv h^2/8.
			h := (u - l) / n
			tol := tc.curv*h*h/8 + 1e-12*(math.Abs(tc.exact(l))+math.Abs(s)*math.Max(-l, 1)) + 1e-300
			if lo < smin-tol || hi > smax+tol {
				t.Fatalf("%s on [%g, %g]: band [%g, %g] wider than the sampled [%g, %g]", tc.act, l, u, lo, hi, smin, smax)
			}
			if tc.curv > 0 && u > l {
				edge := hi // convex: the chord lies above
				if tc.act.Param < 0 {
					edge = lo
				}
				for _, z := range []float64{l, u} {
					if g := tc.exact(z) - s*z; math.Abs(g-edge) > tol+1e-12*math.Abs(g) {
						t.Fatalf("%s on [%g, %g]: the line is not the chord (gap %g at %g, band edge %g)", tc.act, l, u, g, z, edge)
					}
				}
			}
		}
	}
	for _, name := range []string{"sigmoid", "tanh", "softplus", "identity"} {
		if _, ok := (Activation{Name: name}).Shadow(); ok {
			t.Errorf("%s reports a shadow", name)
		}
	}
}
