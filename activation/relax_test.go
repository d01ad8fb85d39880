package activation

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestRelaxationsAreSound samples random intervals for every activation and checks, on a dense grid and
// at the end points, that the lines bound the function (Relax's and RelaxParallel's).
func TestRelaxationsAreSound(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	acts := []Activation{}
	for _, name := range Names() {
		a, _ := New(name)
		acts = append(acts, a)
	}
	acts = append(acts, Activation{"leaky_relu", 0.2}, Activation{"leaky_relu", 3}, Activation{"elu", 0.5}, Activation{"elu", 2.5})
	for _, a := range acts {
		for trial := 0; trial < 2000; trial++ {
			scale := []float64{0.01, 1, 5, 40}[trial%4]
			l := (2*rng.Float64() - 1) * scale
			u := l + rng.Float64()*scale
			if trial%7 == 0 {
				l, u = -u, -l // intervals around 0 too
			}
			if l > u {
				l, u = u, l
			}
			for _, r := range []Relaxation{a.Relax(l, u), a.RelaxParallel(l, u)} {
				for i := 0; i <= 200; i++ {
					z := l + (u-l)*float64(i)/200
					f := a.Value(z)
					tol := 1e-12 * (1 + math.Abs(f) + math.Abs(z))
					if lo := r.LowerSlope*z + r.LowerIntercept; lo > f+tol {
						t.Fatalf("%s on [%v, %v]: lower line %v above f(%v) = %v", a, l, u, lo, z, f)
					}
					if hi := r.UpperSlope*z + r.UpperIntercept; hi < f-tol {
						t.Fatalf("%s on [%v, %v]: upper line %v below f(%v) = %v", a, l, u, hi, z, f)
					}
				}
			}
		}
	}
}

// TestReluRelaxationByHand checks the relu relaxation against the textbook one.
func TestReluRelaxationByHand(t *testing.T) {
	r := ReLU.Relax(-1, 3) // chord slope 3/4 through (-1, 0): 0.75 z + 0.75; lower slope 1 (u > -l)
	if r != (Relaxation{1, 0, 0.75, 0.75}) {
		t.Errorf("relu on [-1, 3]: %+v", r)
	}
	r = ReLU.Relax(-3, 1)
	if r != (Relaxation{0, 0, 0.25, 0.75}) {
		t.Errorf("relu on [-3, 1]: %+v", r)
	}
}

// TestSShapedRelaxationsTouch checks that the lines of sigmoid and tanh are tight: each touches the
// function somewhere on the interval (a line that does not could be moved closer), including across the
// inflection point, where CROWN's tangent lines through an end point replace the chord.
func TestSShapedRelaxationsTouch(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, a := range []Activation{Sigmoid, Tanh} {
		for trial := 0; trial < 500; trial++ {
			scale := []float64{0.1, 1, 5, 20}[trial%4]
			l, u := -rng.Float64()*scale, rng.Float64()*scale
			if trial%3 == 0 { // one side of 0 too
				l, u = math.Abs(l), math.Abs(l)+u
			}
			r := a.Relax(l, u)
			const n = 20000
			h := (u - l) / n
			lowGap, upGap := math.Inf(1), math.Inf(1)
			for i := 0; i <= n; i++ {
				z := l + h*float64(i)
				f := a.Value(z)
				lowGap = math.Min(lowGap, f-(r.LowerSlope*z+r.LowerIntercept))
				upGap = math.Min(upGap, r.UpperSlope*z+r.UpperIntercept-f)
			}
			// Between grid points a touching line may be off by |f''| h^2 / 8 (|f''| <= 1 here), plus the
			// rounding margins.
			tol := h*h/8 + 1e-9
			if lowGap > tol || upGap > tol {
				t.Fatalf("%s on [%v, %v]: gaps %g (lower), %g (upper) exceed %g", a, l, u, lowGap, upGap, tol)
			}
		}
	}
}

// TestTanhAcrossZeroByHand checks the tangent line through an end point against a root found by hand:
// on [-1, 1] the upper line of tanh passes through (-1, tanh(-1)) and touches tanh at d with
// tanh'(d)(d + 1) = tanh(d) + tanh(1), d = 0.4583... (Newton's method on that equation, by hand).
func TestTanhAcrossZeroByHand(t *testing.T) {
	d := 0.5
	for i := 0; i < 50; i++ { // Newton on g(d) = (1 - tanh²d)(d+1) - tanh d - tanh 1
		th := math.Tanh(d)
		g := (1-th*th)*(d+1) - th - math.Tanh(1)
		dg := -2 * th * (1 - th*th) * (d + 1)
		d -= g / dg
	}
	th := math.Tanh(d)
	want := 1 - th*th
	r := Tanh.Relax(-1, 1)
	// Bisection stops within u/2^14 of the tangent point, on the side of the steeper (sound) slope.
	ok := func(s float64) bool { return s >= want && s-want < 1e-4 }
	if !ok(r.UpperSlope) {
		t.Errorf("upper slope %v, want %v or a little more (tangent at %v)", r.UpperSlope, want, d)
	}
	if !ok(r.LowerSlope) { // tanh is odd: the lower line mirrors the upper one
		t.Errorf("lower slope %v, want %v or a little more", r.LowerSlope, want)
	}
	// The line passes through (-1, tanh(-1)).
	if b := r.UpperIntercept - r.UpperSlope; math.Abs(b-math.Tanh(-1)) > 1e-12 {
		t.Errorf("upper line at -1: %v, want %v", b, math.Tanh(-1))
	}
}
