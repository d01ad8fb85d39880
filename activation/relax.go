package activation

import "math"

// Relaxation bounds an activation f on an interval [l, u] by two lines:
//
//	LowerSlope*z + LowerIntercept <= f(z) <= UpperSlope*z + UpperIntercept  for every z in [l, u].
//
// Verifiers propagate these lines (CROWN / DeepPoly style).
type Relaxation struct {
	LowerSlope, LowerIntercept float64
	UpperSlope, UpperIntercept float64
}

// shape says which relaxation fits a kind.
type shape int

const (
	shapeLinear  shape = iota // identity
	shapeReLU                 // relu, leaky_relu: piecewise linear with a kink at 0
	shapeConvex               // softplus, elu with alpha <= 1: convex and increasing
	shapeSigmoid              // sigmoid, tanh: increasing, convex below 0, concave above
)

func shapeOf(name string, p float64) shape {
	switch name {
	case "identity":
		return shapeLinear
	case "relu", "leaky_relu":
		return shapeReLU
	case "sigmoid", "tanh":
		return shapeSigmoid
	case "elu":
		if p <= 1 {
			return shapeConvex
		}
	case "softplus":
		return shapeConvex
	}
	return -1 // monotone only: min-slope lines
}

// Relax returns a sound linear relaxation of a on [l, u] (l <= u, both finite). The lines are exact in real
// arithmetic; callers add their own floating-point margin.
func (a Activation) Relax(l, u float64) Relaxation {
	k := a.mustKind()
	f := func(z float64) float64 { return k.Value(z, a.Param) }
	df := func(z float64) float64 { return k.Deriv(z, a.Param) }
	if !(u > l) { // a point: the constant f(l)
		v := f(l)
		return Relaxation{0, v, 0, v}
	}
	fl, fu := f(l), f(u)
	chord := (fu - fl) / (u - l)
	tangentAt := func(z float64) (float64, float64) { s := df(z); return s, f(z) - s*z }
	switch shapeOf(a.Name, a.Param) {
	case shapeLinear:
		return Relaxation{1, 0, 1, 0}
	case shapeReLU:
		slope := 0.0 // of the negative side
		if a.Name == "leaky_relu" {
			slope = a.Param
		}
		switch {
		case l >= 0:
			return Relaxation{1, 0, 1, 0}
		case u <= 0:
			return Relaxation{slope, 0, slope, 0}
		}
		// Upper: the chord through (l, f(l)) and (u, f(u)). Lower: a line through the origin with slope
		// between the two sides' slopes, the one closer to the chord (CROWN's adaptive choice). With a
		// slope above 1 (leaky_relu slope > 1) the function is concave and the roles swap.
		lo := slope
		if u > -l {
			lo = 1
		}
		if slope <= 1 {
			return Relaxation{lo, 0, chord, fl - chord*l}
		}
		return Relaxation{chord, fl - chord*l, lo, 0}
	case shapeConvex:
		// Convex: the chord lies above; the tangent at the midpoint lies below.
		s, b := tangentAt((l + u) / 2)
		return Relaxation{s, b, chord, fl - chord*l}
	case shapeSigmoid:
		var r Relaxation
		switch {
		case u <= 0: // convex part
			s, b := tangentAt((l + u) / 2)
			r = Relaxation{s, b, chord, fl - chord*l}
		case l >= 0: // concave part
			s, b := tangentAt((l + u) / 2)
			r = Relaxation{chord, fl - chord*l, s, b}
		default: // across the inflection point
			r.UpperSlope, r.UpperIntercept = sShapedUpper(f, df, l, u)
			// The lower line of f on [l, u] is the upper line of g(z) = -f(-z), also S-shaped, on [-u, -l],
			// reflected: g(z) <= s z + b there gives f(z) >= s z - b.
			g := func(z float64) float64 { return -f(-z) }
			dg := func(z float64) float64 { return df(-z) }
			s, b := sShapedUpper(g, dg, -u, -l)
			r.LowerSlope, r.LowerIntercept = s, -b
		}
		return withSmoothMargin(r, l, u)
	}
	return minSlopeLines(fl, fu, math.Min(df(l), df(u)), l, u)
}

// minSlopeLines returns the lines of slope m through (l, fl) below and (u, fu) above: they bound any
// increasing f whose derivative on [l, u] is at least m. For sigmoid, tanh and elu (alpha > 1) the
// derivative on an interval is smallest at an end point, so m = min(f'(l), f'(u)).
func minSlopeLines(fl, fu, m, l, u float64) Relaxation {
	return Relaxation{m, fl - m*l, m, fu - m*u}
}

// withSmoothMargin moves r's intercepts out by a margin of their size: f and its derivative are rounded
// (a few ulps), and the lines must hold for the exact function too. A slope off by e from the derivative
// it stands for moves its line by up to 2ew on [l, u] (w = max(-l, u)); where a derivative is small, its
// error is not (sigmoid's s(1 - s) and tanh's 1 - t^2 cancel there, to 5e-16), so that part of the margin
// is absolute: derivMargin w.
func withSmoothMargin(r Relaxation, l, u float64) Relaxation {
	w := math.Max(-l, u)
	r.LowerIntercept -= smoothMargin*(1+math.Abs(r.LowerIntercept)+math.Abs(r.LowerSlope)*w) + derivMargin*w
	r.UpperIntercept += smoothMargin*(1+math.Abs(r.UpperIntercept)+math.Abs(r.UpperSlope)*w) + derivMargin*w
	return r
}

// RelaxParallel is Relax, except on intervals of sigmoid or tanh across the inflection point (l < 0 < u),
// where it returns the two parallel lines of the smallest slope on [l, u], min(f'(l), f'(u)), through
// (l, f(l)) below and (u, f(u)) above. They enclose more area than Relax's lines, but give the neuron one
// slope both ways, so a bound does not switch between two linear parts as coefficients change sign; on
// some networks they prove boxes that Relax's lines do not, and the verifier tries both.
func (a Activation) RelaxParallel(l, u float64) Relaxation {
	if shapeOf(a.Name, a.Param) != shapeSigmoid || !(l < 0 && 0 < u) {
		return a.Relax(l, u)
	}
	k := a.mustKind()
	m := math.Min(k.Deriv(l, a.Param), k.Deriv(u, a.Param))
	return withSmoothMargin(minSlopeLines(k.Value(l, a.Param), k.Value(u, a.Param), m, l, u), l, u)
}

// SShaped reports whether Relax and RelaxParallel can differ: the activation is sigmoid or tanh.
func (a Activation) SShaped() bool { return shapeOf(a.Name, a.Param) == shapeSigmoid }

// HasTangents reports whether Tangents may give a free family of lines on some interval: sigmoid and tanh
// (both sides), and the convex activations, softplus and elu with alpha <= 1 (the lower side).
func (a Activation) HasTangents() bool {
	sh := shapeOf(a.Name, a.Param)
	return sh == shapeSigmoid || sh == shapeConvex
}

// smoothMargin is the relative margin by which the lines of smooth activations are moved out, to cover
// the rounding of their values, derivatives and tangent points (a few ulps, far below this).
const smoothMargin = 1e-13

// derivMargin bounds, with ten times room, the absolute error of the derivatives of smooth activations
// (withSmoothMargin).
const derivMargin = 1e-14

// sShapedUpper returns an upper line of an S-shaped f (increasing, convex below 0, concave above) on
// [l, u] with l < 0 < u: of the valid lines, the one lowest at the midpoint m, which minimizes the area
// between line and f (DeepPoly's criterion). Valid upper lines are the chord, when its slope is at most
// f'(u) (then it is the lowest at m, since every upper line is >= f at l and u); otherwise the tangents
// at the points t in [d*, u], where the tangent at d* passes through (l, f(l)) (Zhang et al. 2018): the
// tangent at m when m >= d*, else the one through (l, f(l)).
//
// Soundness: phi(t) = f(l) + f'(t)(t - l) - f(t) decreases on t > 0 (phi'(t) = f”(t)(t - l) < 0), is >= 0
// at 0 (mean value theorem) and vanishes at d*. A tangent at t > 0 is above f on the concave part, and
// above (l, f(l)) iff phi(t) <= 0, i.e. t >= d*; then above f on the convex part too (f lies below its
// chord from l to 0 there). A line through (l, f(l)) with slope f'(t), t <= d* (phi(t) >= 0), has slope at
// least f'(d*), so lies above the tangent through (l, f(l)) on [l, u]. Bisection keeps phi >= 0 at its
// left end and returns the slope there.
func sShapedUpper(f, df func(float64) float64, l, u float64) (slope, intercept float64) {
	fl, fu := f(l), f(u)
	chord := (fu - fl) / (u - l)
	if chord <= df(u) {
		return chord, fl - chord*l
	}
	phi := func(t float64) float64 { return fl + df(t)*(t-l) - f(t) }
	t, tangent := sShapedStart(phi, l, u, 1e-12*(1+math.Abs(fl)))
	slope = df(t)
	if tangent {
		return slope, f(t) - slope*t
	}
	return slope, fl - slope*l
}

// sShapedStart returns the point t of sShapedUpper's line when the chord does not hold: the midpoint,
// with tangent true, when its tangent holds (phi(m) < 0); else the left end of a bisection for phi's root,
// whose slope f'(t) through (l, f(l)) is the line. A small tolerance tol keeps the bisection's invariant,
// phi(lo) >= 0 > phi(hi), safe from the rounding of phi near its root.
func sShapedStart(phi func(float64) float64, l, u, tol float64) (t float64, tangent bool) {
	if m := (l + u) / 2; m > 0 && phi(m) < 0 {
		return m, true
	}
	lo, hi := 0.0, u
	for i := 0; i < 14 && hi-lo > 1e-9*(hi+1); i++ {
		mid := (lo + hi) / 2
		if phi(mid) > tol {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, false
}

// Tangents is a family of sound upper (or lower) lines of a sigmoid or tanh on [l, u], indexed by theta
// in [0, 1], among which an optimizer may choose the line that suits its objective best (alpha-CROWN's
// optimized tangent points, Xu et al. 2021). The lines are the tangents at the points t of an interval
// (the family's upper line on the concave part t in [l, u]; across the inflection point t in [0, u],
// where a tangent that would cut the curve below 0 is replaced by the line through (l, f(l)) with slope
// f'(t), which lies above it), and the lower lines their reflections (g(z) = -f(-z)). Where one line is
// best for every objective (the chord: on the convex part from above, the concave part from below, and
// across the inflection point when the chord does not cut the curve), Free is false and Relax's line
// stands.
type Tangents struct {
	a       Activation
	k       *Kind   // a's registry entry, looked up once (f and df run in the verifier's inner loops)
	reflect bool    // a lower family: the upper family of g(z) = -f(-z) on [-u, -l]
	l, u    float64 // the interval, in g's coordinates when reflect
	lo, hi  float64 // the range of the tangent point t
	// Free says the family has more than one line; Start is the theta of Relax's line.
	Free  bool
	Start float64
	// convex marks the lower family of a convex activation, indexed by slope: theta runs the slope from
	// f'(l) to f'(u) (sl, su), and the line of slope s passes through (t, f(t)), t = Support(s) clamped
	// to [l, u] (here l and u are not reflected).
	convex bool
	sl, su float64
}

// Tangents returns the family of upper lines of a on [l, u] when upper is true, else of lower lines.
func (a Activation) Tangents(l, u float64, upper bool) Tangents {
	tg := Tangents{a: a, k: a.mustKind(), reflect: !upper, l: l, u: u}
	if !upper {
		tg.l, tg.u = -u, -l
	}
	if shapeOf(a.Name, a.Param) == shapeConvex && !upper && u > l && tg.k.Support != nil {
		// Every supporting line of a convex function lies below it; the chord above is best, so only the
		// lower side is free. Relax's line is the tangent at the midpoint.
		tg.l, tg.u, tg.reflect = l, u, false
		tg.sl, tg.su = tg.k.Deriv(l, a.Param), tg.k.Deriv(u, a.Param)
		if tg.su > tg.sl {
			tg.convex, tg.Free = true, true
			tg.Start = math.Min(1, math.Max(0, (tg.k.Deriv((l+u)/2, a.Param)-tg.sl)/(tg.su-tg.sl)))
		}
		return tg
	}
	if shapeOf(a.Name, a.Param) != shapeSigmoid || !(u > l) {
		return tg
	}
	l, u = tg.l, tg.u
	f, df := tg.f, tg.df
	switch {
	case u <= 0: // convex: the chord is best
		return tg
	case l >= 0: // concave: every tangent; Relax takes the midpoint's
		tg.lo, tg.hi, tg.Free, tg.Start = l, u, true, 0.5
		return tg
	}
	fl := f(l)
	if (f(u)-fl)/(u-l) <= df(u) { // the chord holds and is best
		return tg
	}
	tg.lo, tg.hi, tg.Free = 0, u, true
	// Relax's line (sShapedUpper): the midpoint's tangent if it holds, else the line through (l, f(l))
	// with the bisection's slope; Line gives either at its point.
	t, _ := sShapedStart(tg.phi, l, u, tg.tol())
	tg.Start = t / u
	return tg
}

func (tg Tangents) f(z float64) float64 {
	if tg.reflect {
		return -tg.k.Value(-z, tg.a.Param)
	}
	return tg.k.Value(z, tg.a.Param)
}

func (tg Tangents) df(z float64) float64 {
	if tg.reflect {
		return tg.k.Deriv(-z, tg.a.Param)
	}
	return tg.k.Deriv(z, tg.a.Param)
}

// convexLine is Line for a convex activation's lower family: slope s = sl + theta (su - sl) through
// (t, f(t)), t = Support(s) clamped to [l, u]. For s a subgradient at t the line is below f everywhere;
// where the clamp moves t to l (s <= f'(l)) or u (s >= f'(u)), it is below f on [l, u], which is what a
// relaxation needs. The intercept's derivative is -t ds/dtheta (the envelope theorem: b(s) = min f(z) - s z).
func (tg Tangents) convexLine(theta float64) (slope, intercept, dSlope, dIntercept float64) {
	w := tg.su - tg.sl
	s := tg.sl + theta*w
	t := tg.u
	switch {
	case s <= tg.sl:
		s, t = tg.sl, tg.l
	case s < tg.su:
		t = math.Min(tg.u, math.Max(tg.l, tg.k.Support(s, tg.a.Param)))
	default:
		s = tg.su
	}
	r := withSmoothMargin(Relaxation{LowerSlope: s, LowerIntercept: tg.k.Value(t, tg.a.Param) - s*t}, tg.l, tg.u)
	return r.LowerSlope, r.LowerIntercept, w, -t * w
}

// d2f is the second derivative (of sigmoid or tanh, or g's).
func (tg Tangents) d2f(z float64) float64 {
	x := z
	if tg.reflect {
		x = -z
	}
	var v float64
	if tg.a.Name == "tanh" {
		th := tanh(x)
		v = -2 * th * (1 - th*th)
	} else {
		s := sigmoid(x)
		v = s * (1 - s) * (1 - 2*s)
	}
	if tg.reflect {
		return -v
	}
	return v
}

// phi(t) = f(l) + f'(t)(t - l) - f(t): how far below (l, f(l)) the tangent at t passes (<= 0: above).
func (tg Tangents) phi(t float64) float64 { return tg.f(tg.l) + tg.df(t)*(t-tg.l) - tg.f(t) }

// tol is the band around phi's root inside which its sign is left to rounding.
func (tg Tangents) tol() float64 { return 1e-12 * (1 + math.Abs(tg.f(tg.l))) }

// Line returns the family's line at theta (clamped to [0, 1]): slope*z + intercept bounds f on [l, u]
// from above (upper family) or below, margin for rounding included, and the derivatives of slope and
// intercept with respect to theta (for gradient steps; the margin's own derivative is left out).
func (tg Tangents) Line(theta float64) (slope, intercept, dSlope, dIntercept float64) {
	theta = math.Min(1, math.Max(0, theta))
	if tg.convex {
		return tg.convexLine(theta)
	}
	t := tg.lo + theta*(tg.hi-tg.lo)
	s := tg.df(t)
	d2 := tg.d2f(t)
	var b, db float64
	switch p := tg.phi(t); {
	case tg.l >= 0 || p < -tg.tol(): // the tangent at t holds
		b, db = tg.f(t)-s*t, -d2*t
	case p <= tg.tol(): // at the root, within rounding: the tangent, raised by twice the band
		b, db = tg.f(t)-s*t+2*tg.tol(), -d2*t
	default: // the tangent would cut the curve: the line through (l, f(l)) with slope f'(t)
		b, db = tg.f(tg.l)-s*tg.l, -d2*tg.l
	}
	ds := d2
	w := tg.hi - tg.lo
	r := withSmoothMargin(Relaxation{UpperSlope: s, UpperIntercept: b}, tg.l, tg.u)
	if !tg.reflect {
		return r.UpperSlope, r.UpperIntercept, ds * w, db * w
	}
	// g(z) <= s z + b on [-u, -l] gives f(z) >= s z - b on [l, u]; theta runs the same way in t = -z.
	return r.UpperSlope, -r.UpperIntercept, ds * w, -db * w
}
