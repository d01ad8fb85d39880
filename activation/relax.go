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
		switch {
		case u <= 0: // convex part
			s, b := tangentAt((l + u) / 2)
			return Relaxation{s, b, chord, fl - chord*l}
		case l >= 0: // concave part
			s, b := tangentAt((l + u) / 2)
			return Relaxation{chord, fl - chord*l, s, b}
		}
	}
	// Any increasing f whose derivative on [l, u] is at least m: the line of slope m through (l, f(l))
	// stays below f, the one through (u, f(u)) above. For sigmoid, tanh and elu (alpha > 1) the derivative
	// on an interval is smallest at an endpoint.
	m := math.Min(df(l), df(u))
	return Relaxation{m, fl - m*l, m, fu - m*u}
}
