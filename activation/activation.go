// Package activation is the one registry of the activation functions birdnn networks use: each entry gives
// the function's value, its derivative and its linear relaxations (and, for elu, its gap from relu, by
// which the verifier decides elu networks on relu's linear regions); training graphs compute it with
// Gorgonia's own operation where it has a fast one (relu), else with one pointwise operation built from the
// value and derivative, on every core.
package activation

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	G "gorgonia.org/gorgonia"
)

// Kind describes one activation function. Adding an activation to birdnn is adding one Kind to the
// registry below; everything else (plain forward passes, Gorgonia graphs, formats, the verifier) looks it up
// here.
type Kind struct {
	// Name is the identifier used in configs, files and reports, e.g. "relu".
	Name string
	// Param names the function's parameter ("slope", "alpha"), or is empty when it takes none.
	Param string
	// DefaultParam is the parameter used when none is given.
	DefaultParam float64
	// Value computes the function at x with parameter p.
	Value func(x, p float64) float64
	// Deriv computes the derivative at x. At a kink it returns the right derivative, as Gorgonia does.
	Deriv func(x, p float64) float64
	// DerivOut computes the derivative from the function's value y = f(x), where that is cheaper than from
	// x (tanh: 1 - y*y), or is nil. Training graphs use it in the backward pass.
	DerivOut func(y, p float64) float64
	// Node builds the function as a Gorgonia operation on x, or is nil: then training graphs apply Value
	// and the derivative element by element, on every core (one operation instead of a chain of them).
	Node func(x *G.Node, p float64) (*G.Node, error)
	// Monotone reports that the function is non-decreasing (every entry here is).
	Monotone bool
	// Support, for a convex function, returns a point where s is a subgradient (a derivative, or between
	// the two sides' derivatives at a kink), for s strictly between the derivative's limits at -Inf and
	// +Inf; nil otherwise. The verifier's optimized lower lines of convex activations are the lines of
	// slope s through (Support(s), f(Support(s))) (Tangents).
	Support func(s, p float64) float64
	// ShadowSlope, for a function that is the identity on [0, +Inf) and stays within a bounded distance
	// of a line through 0 below it, returns that line's slope for parameter p: the function's piecewise-
	// linear shadow is the identity above 0 and that line below (relu's slope 0 for elu). nil otherwise.
	// ShadowGap(l, u, p), for l <= u <= 0, returns a line's slope s and bounds lo <= f(z) - s*z <= hi on
	// [l, u], rounding of f's evaluation included; nil when the function is its own shadow (relu,
	// leaky_relu: s is the shadow's slope, lo = hi = 0).
	ShadowSlope func(p float64) float64
	ShadowGap   func(l, u, p float64) (s, lo, hi float64)
}

var registry = map[string]*Kind{}

func register(k *Kind) { registry[k.Name] = k }

func init() {
	register(&Kind{
		Name:     "identity",
		Value:    func(x, _ float64) float64 { return x },
		Deriv:    func(_, _ float64) float64 { return 1 },
		Node:     func(x *G.Node, _ float64) (*G.Node, error) { return x, nil },
		Monotone: true,
	})
	register(&Kind{
		Name: "relu",
		Value: func(x, _ float64) float64 {
			if x > 0 {
				return x
			}
			return 0
		},
		Deriv: func(x, _ float64) float64 {
			if x >= 0 {
				return 1
			}
			return 0
		},
		Node:        func(x *G.Node, _ float64) (*G.Node, error) { return G.Rectify(x) },
		ShadowSlope: func(float64) float64 { return 0 },
		Monotone:    true,
	})
	register(&Kind{
		Name: "leaky_relu", Param: "slope", DefaultParam: 0.01,
		Value: func(x, p float64) float64 {
			if x >= 0 {
				return x
			}
			return p * x
		},
		Deriv: func(x, p float64) float64 {
			if x >= 0 {
				return 1
			}
			return p
		},
		Node:        func(x *G.Node, p float64) (*G.Node, error) { return G.LeakyRelu(x, p) },
		ShadowSlope: func(p float64) float64 { return p },
		Monotone:    true,
	})
	register(&Kind{
		Name:     "sigmoid",
		Value:    func(x, _ float64) float64 { return sigmoid(x) },
		Deriv:    func(x, _ float64) float64 { s := sigmoid(x); return s * (1 - s) },
		DerivOut: func(y, _ float64) float64 { return y * (1 - y) },
		Monotone: true,
	})
	register(&Kind{
		Name:     "tanh",
		Value:    func(x, _ float64) float64 { return tanh(x) },
		Deriv:    func(x, _ float64) float64 { t := tanh(x); return 1 - t*t },
		DerivOut: func(y, _ float64) float64 { return 1 - y*y },
		Monotone: true,
	})
	register(&Kind{
		Name: "elu", Param: "alpha", DefaultParam: 1,
		Value: func(x, p float64) float64 {
			if x > 0 {
				return x
			}
			return p * expm1Neg(x)
		},
		Deriv: func(x, p float64) float64 {
			if x >= 0 {
				return 1
			}
			return p * exp(x)
		},
		// For x >= 0 the value is x >= 0 and the derivative 1; below, the value is p(e^x - 1) < 0 and
		// the derivative p e^x = y + p.
		DerivOut: func(y, p float64) float64 {
			if y >= 0 {
				return 1
			}
			return y + p
		},
		// f'(z) = p e^z below 0 (up to p), 1 above: a kink at 0 for p < 1.
		Support: func(s, p float64) float64 {
			if s < p {
				return math.Log(s / p)
			}
			return 0
		},
		// Below 0, elu is p(e^z - 1), from -p to 0: within |p| of relu.
		ShadowSlope: func(float64) float64 { return 0 },
		ShadowGap:   eluGap,
		Monotone:    true,
	})
	register(&Kind{
		Name:  "softplus",
		Value: softplus,
		Deriv: func(x, _ float64) float64 { return sigmoid(x) },
		// f' = sigmoid, whose inverse is the logit.
		Support:  func(s, _ float64) float64 { return math.Log(s / (1 - s)) },
		Monotone: true,
	})
}

// eluGap is elu's Kind.ShadowGap: on [l, u] (u <= 0) the chord's slope s, and the range of f(z) - s*z,
// which is convex (concave for p < 0) and equal at both ends: its other extreme is where f' = s, at
// t = log(s/p). The chord leaves the narrowest band of any line (for a convex function, the best uniform
// approximation by a line is parallel to the chord). Value's error is at most 3 ulps (expm1Neg's 2 and
// the product's rounding), and t's rounding moves f(t) - s*t by a second-order amount; both lie far inside
// the relative margin smoothMargin.
func eluGap(l, u, p float64) (s, lo, hi float64) {
	u = math.Min(u, 0)
	l = math.Min(l, u)
	f := func(z float64) float64 { return p * expm1Neg(z) }
	fl, fu := f(l), f(u)
	if u > l {
		s = (fu - fl) / (u - l)
	}
	end := math.Max(fl-s*l, fu-s*u) // equal in exact arithmetic
	other := math.Min(fl-s*l, fu-s*u)
	if t := math.Log(s / p); s/p > 0 && t > l && t < u {
		other = f(t) - s*t
	}
	lo, hi = math.Min(end, other), math.Max(end, other)
	m := smoothMargin * (math.Abs(fl) + math.Abs(fu) + math.Abs(s)*math.Max(-l, 1))
	return s, lo - m, hi + m
}

// sigmoid is 1/(1 + e^-x), within 3 ulps for either sign, with no branch: below x = -709.8, e^-x
// overflows to +Inf and the quotient is 0, where the exact value is below 1e-308. In a loop it costs about
// half as much as with math.Exp (BenchmarkApply).
func sigmoid(x float64) float64 { return 1 / (1 + exp(-x)) }

// tanh is tanh(x) within 2e-16 absolutely, by (1 - e)/(1 + e) with e = e^-2|x| and x's sign (at most 11
// ulps off just above |x| = 1/32, 3.5 above 1/8), and within 1 ulp below 1/32 by its Taylor polynomial:
// a five-hundredth of the least margin the verifier's bounds and relaxations add for rounding (1e-13). It
// is odd, and ±1 beyond |x| = 19.1, as math.Tanh; in a loop it costs two thirds as much (BenchmarkApply).
func tanh(x float64) float64 {
	a := math.Abs(x)
	if a < 1.0/32 {
		return tanhSmall(x)
	}
	e := exp(-2 * a)
	return math.Copysign((1-e)/(1+e), x)
}

// tanhSmall is tanh(x) for |x| < 1/32 by its Taylor polynomial, x - x^3/3 + 2x^5/15 - 17x^7/315 +
// 62x^9/2835; the next term is below 1e-17 of x.
func tanhSmall(x float64) float64 {
	// Products converted explicitly, as in exp: never fused, the same on every build and in tanhVec.
	s := x * x
	q := -17.0/315 + float64(s*(62.0/2835))
	q = 2.0/15 + float64(s*q)
	q = -1.0/3 + float64(s*q)
	return x + float64(float64(x*s)*q)
}

// softplus is log(1 + e^x), computed without overflow.
func softplus(x, _ float64) float64 {
	return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x)))
}

// Activation is an activation function with its parameter, e.g. leaky_relu with slope 0.01. The zero value
// is not valid; use Lookup or Parse.
type Activation struct {
	Name  string
	Param float64
}

// Common activations, ready to use.
var (
	Identity = Activation{Name: "identity"}
	ReLU     = Activation{Name: "relu"}
	Sigmoid  = Activation{Name: "sigmoid"}
	Tanh     = Activation{Name: "tanh"}
)

// Names lists the registered activation names in sorted order.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the registered kind called name.
func Lookup(name string) (*Kind, error) {
	k, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown activation %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return k, nil
}

// New returns the activation called name with its default parameter.
func New(name string) (Activation, error) {
	k, err := Lookup(name)
	if err != nil {
		return Activation{}, err
	}
	return Activation{Name: name, Param: k.DefaultParam}, nil
}

// Parse reads an activation written as "name" or "name(param)", e.g. "leaky_relu(0.1)", the form String
// writes.
func Parse(s string) (Activation, error) {
	s = strings.TrimSpace(s)
	name, arg, hasArg := strings.Cut(s, "(")
	a, err := New(strings.TrimSpace(name))
	if err != nil {
		return Activation{}, err
	}
	if !hasArg {
		return a, nil
	}
	if !strings.HasSuffix(arg, ")") {
		return Activation{}, fmt.Errorf("activation %q: missing closing parenthesis", s)
	}
	k := registry[a.Name]
	if k.Param == "" {
		return Activation{}, fmt.Errorf("activation %q: %s takes no parameter", s, a.Name)
	}
	p, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(arg, ")")), 64)
	if err != nil || math.IsNaN(p) || math.IsInf(p, 0) {
		return Activation{}, fmt.Errorf("activation %q: bad %s", s, k.Param)
	}
	a.Param = p
	return a, nil
}

// String writes the activation so that Parse reads it back.
func (a Activation) String() string {
	k, ok := registry[a.Name]
	if !ok || k.Param == "" {
		return a.Name
	}
	return a.Name + "(" + strconv.FormatFloat(a.Param, 'g', -1, 64) + ")"
}

// Kind returns the registry entry of a, or an error for an unknown name.
func (a Activation) Kind() (*Kind, error) { return Lookup(a.Name) }

func (a Activation) mustKind() *Kind {
	k, ok := registry[a.Name]
	if !ok {
		panic(fmt.Sprintf("activation: unknown activation %q (validate with Kind first)", a.Name))
	}
	return k
}

// Shadow reports whether a follows a piecewise-linear function with a kink at 0 up to a bounded gap (see
// Kind.ShadowSlope), and that function's slope below 0.
func (a Activation) Shadow() (slope float64, ok bool) {
	k, found := registry[a.Name]
	if !found || k.ShadowSlope == nil {
		return 0, false
	}
	return k.ShadowSlope(a.Param), true
}

// PiecewiseLinear reports whether a is linear on each side of 0 with a kink there: it has a shadow
// (Shadow) and is its own (relu, leaky_relu; not elu, within a gap of relu, nor identity, which has no
// kink).
func (a Activation) PiecewiseLinear() bool {
	k, found := registry[a.Name]
	return found && k.ShadowSlope != nil && k.ShadowGap == nil
}

// ShadowGap returns a slope s and bounds lo <= f(z) - s*z <= hi for every z in [l, u], l <= u <= 0, where
// f is a, exactly or as evaluated: Shadow's slope and 0, 0 for relu and leaky_relu; for elu, the chord's
// slope and the band around it, widened for rounding. a must have a shadow.
func (a Activation) ShadowGap(l, u float64) (s, lo, hi float64) {
	k := a.mustKind()
	if k.ShadowGap == nil {
		return k.ShadowSlope(a.Param), 0, 0
	}
	return k.ShadowGap(l, u, a.Param)
}

// Value computes a at x. a must be a registered activation (see Kind).
func (a Activation) Value(x float64) float64 { return a.mustKind().Value(x, a.Param) }

// Deriv computes the derivative of a at x.
func (a Activation) Deriv(x float64) float64 { return a.mustKind().Deriv(x, a.Param) }

// Node builds a as a Gorgonia operation on x.
func (a Activation) Node(x *G.Node) (*G.Node, error) {
	k, err := a.Kind()
	if err != nil {
		return nil, err
	}
	if k.Node == nil {
		return pointwiseNode(x, a)
	}
	return k.Node(x, a.Param)
}

// vecPrefix computes f in place on xs, four values at a time by vec (sigmoidVec, tanhVec, eluVec: f's operations,
// so f's values to the bit) where the CPU has the vector instructions, f itself for a group of four that
// vec leaves (a value out of its range), and returns where it stopped: fewer than four values before the
// end, or 0 without the vector instructions.
func vecPrefix(xs []float64, vec func(*float64, int, *[vecRows][4]uint64, *[expTableSize]float64) int, f func(float64) float64) int {
	i := 0
	for hasVec && len(xs)-i >= 4 {
		i += vec(&xs[i], len(xs)-i, &vecConsts, &expTable)
		if len(xs)-i >= 4 {
			for j := i; j < i+4; j++ {
				xs[j] = f(xs[j])
			}
			i += 4
		}
	}
	return i
}

// Apply computes a in place on every element of xs.
func (a Activation) Apply(xs []float64) {
	k := a.mustKind()
	switch a.Name {
	case "identity":
	case "relu":
		for i, x := range xs {
			if !(x > 0) {
				xs[i] = 0
			}
		}
	case "sigmoid": // inlined: a call through k.Value costs as much as the function
		xs = xs[vecPrefix(xs, sigmoidVec, sigmoid):]
		for i, x := range xs {
			xs[i] = sigmoid(x)
		}
	case "tanh": // tanh, with its common branch written out (tanh itself is too large to inline)
		xs = xs[vecPrefix(xs, tanhVec, tanh):]
		for i, x := range xs {
			if a := math.Abs(x); a >= 1.0/32 {
				e := exp(-2 * a)
				xs[i] = math.Copysign((1-e)/(1+e), x)
			} else {
				xs[i] = tanhSmall(x)
			}
		}
	case "elu": // inlined, as sigmoid
		alpha := a.Param
		xs = xs[vecPrefix(xs, func(p *float64, n int, c *[vecRows][4]uint64, t *[expTableSize]float64) int {
			return eluVec(p, n, c, t, &alpha)
		}, func(x float64) float64 { return k.Value(x, alpha) }):]
		for i, x := range xs {
			if !(x > 0) {
				xs[i] = a.Param * expm1Neg(x)
			}
		}
	default:
		for i, x := range xs {
			xs[i] = k.Value(x, a.Param)
		}
	}
}
