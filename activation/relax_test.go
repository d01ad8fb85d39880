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

// randomInterval draws an interval of one of four scales, every third one around 0.
func randomInterval(rng *rand.Rand, trial int) (float64, float64) {
	scale := []float64{0.01, 1, 5, 40}[trial%4]
	l := (2*rng.Float64() - 1) * scale
	u := l + rng.Float64()*scale
	if trial%3 == 0 {
		l, u = -rng.Float64()*scale, rng.Float64()*scale
	}
	return l, u
}

// tangentKinds are the activations with tangent families: sigmoid and tanh, and the convex ones (lower
// lines only), elu at alpha 1 and 1/8192 (a kink at 0) and softplus.
var tangentKinds = []Activation{Sigmoid, Tanh, {Name: "elu", Param: 1}, {Name: "elu", Param: 1.0 / 8192}, {Name: "softplus"}}

// TestTangentsAreSound checks every kind of line of the tangent families of sigmoid, tanh and the convex
// activations against the function on a dense grid: random thetas, the ends, Relax's theta, and thetas
// within a few 1e-12 of the point where a tangent starts to cut the curve (where the line's form changes).
func TestTangentsAreSound(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	free := map[string]int{}
	for _, a := range tangentKinds {
		for trial := 0; trial < 3000; trial++ {
			l, u := randomInterval(rng, trial)
			for _, upper := range []bool{true, false} {
				tg := a.Tangents(l, u, upper)
				if !tg.Free {
					continue
				}
				if upper && !a.SShaped() {
					t.Fatalf("%s on [%v, %v]: a free upper family", a, l, u)
				}
				free[a.String()]++
				thetas := []float64{0, 1, tg.Start, rng.Float64(), rng.Float64(), rng.Float64()}
				if tg.convex && tg.sl < a.Param && a.Param < tg.su {
					// elu's kink: the slope alpha, where the line's point reaches 0 and stays.
					th := (a.Param - tg.sl) / (tg.su - tg.sl)
					thetas = append(thetas, th, th-1e-12, th+1e-12)
				}
				if tg.l < 0 && !tg.convex {
					// The root of phi(t(theta)), by bisection: phi >= 0 at lo, < 0 at hi (if at all).
					lo, hi := 0.0, 1.0
					if tg.phi(tg.hi) < 0 {
						for i := 0; i < 80; i++ {
							mid := (lo + hi) / 2
							if tg.phi(tg.lo+mid*(tg.hi-tg.lo)) >= 0 {
								lo = mid
							} else {
								hi = mid
							}
						}
						for k := -3; k <= 3; k++ {
							thetas = append(thetas, lo+float64(k)*1e-12)
						}
					}
				}
				for _, th := range thetas {
					s, b, _, _ := tg.Line(th)
					for i := 0; i <= 400; i++ {
						z := l + (u-l)*float64(i)/400
						f := a.Value(z)
						tol := 1e-14 * (1 + math.Abs(f) + math.Abs(z))
						if v := s*z + b; upper && v < f-tol || !upper && v > f+tol {
							t.Fatalf("%s on [%v, %v], upper %v, theta %v: line %v*z+%v gives %v at z = %v, f = %v", a, l, u, upper, th, s, b, v, z, f)
						}
					}
				}
			}
		}
		if free[a.String()] < 500 {
			t.Errorf("%s: only %d free families", a, free[a.String()])
		}
	}
}

// TestTangentsStartAtRelax checks that the family's Start gives Relax's line, and that the derivatives
// with respect to theta match central differences.
func TestTangentsStartAtRelax(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 1))
	free := 0
	for _, a := range tangentKinds {
		for trial := 0; trial < 2000; trial++ {
			l, u := randomInterval(rng, trial)
			r := a.Relax(l, u)
			for _, upper := range []bool{true, false} {
				tg := a.Tangents(l, u, upper)
				ws, wb := r.LowerSlope, r.LowerIntercept
				if upper {
					ws, wb = r.UpperSlope, r.UpperIntercept
				}
				if !tg.Free {
					continue
				}
				free++
				s, b, _, _ := tg.Line(tg.Start)
				if math.Abs(s-ws) > 1e-9*(1+math.Abs(ws)) || math.Abs(b-wb) > 1e-9*(1+math.Abs(wb)) {
					t.Fatalf("%s on [%v, %v], upper %v: start line %v, %v; Relax %v, %v", a, l, u, upper, s, b, ws, wb)
				}
				th := 0.1 + 0.8*rng.Float64()
				const h = 1e-6
				s0, b0, ds, db := tg.Line(th)
				s1, b1, _, _ := tg.Line(th + h)
				s2, b2, _, _ := tg.Line(th - h)
				if tg.l < 0 && !tg.convex && (tg.phi(tg.lo+(th-h)*(tg.hi-tg.lo)) > 0) != (tg.phi(tg.lo+(th+h)*(tg.hi-tg.lo)) > 0) {
					continue // the line changes form in between
				}
				fs, fb := (s1-s2)/(2*h), (b1-b2)/(2*h)
				// Differences of h = 1e-6 carry the rounding of the line (~1e-16 of its size, more in the
				// saturated tails) times 1e6.
				if math.Abs(fs-ds) > 1e-4*math.Abs(fs)+1e-8*(1+math.Abs(s0)) || math.Abs(fb-db) > 1e-4*math.Abs(fb)+1e-8*(1+math.Abs(b0)) {
					t.Fatalf("%s on [%v, %v], upper %v, theta %v (line %v, %v): derivatives %v, %v; differences %v, %v", a, l, u, upper, th, s0, b0, ds, db, fs, fb)
				}
			}
		}
	}
	if free < 1000 {
		t.Fatalf("only %d free families", free)
	}
}
