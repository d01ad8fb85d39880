package verify

import (
	"math"

	"gonum.org/v1/gonum/floats"

	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// Exact decision of a small box for piecewise-linear networks (relu, leaky_relu, identity), by
// enumerating the network's linear regions that meet the box, as the star-set verifiers (NNV, nnenum) do.
//
// In a region every neuron's sign is fixed, so each pre-activation is an affine function of the input,
// computed by composing the layers; a neuron whose sign the box leaves open splits the region in two,
// adding the constraint z >= 0 or z <= 0. A side is dropped only when a Farkas certificate proves it
// empty, and a region is safe only when a certificate proves that no input of it reaches the unsafe
// conjunction. Certificates come from a small linear program (minimax.go), but only their soundly
// rounded evaluation counts: multipliers mu >= 0 for constraints g_i(x) <= 0 prove the set empty when
// min over the box of sum_i mu_i g_i(x) > 0, and that minimum is computed here with the rounding margin.
// Each composed affine function carries a bound on its own rounding error, by which its constraints are
// loosened. The linear program only has to find good multipliers; when it fails, the region stays open.
//
// Once the box is small enough that a few relus are unstable, this replaces the relaxation's looseness by
// the exact answer: N3,3's property 2 has a long ridge where the slack is about 1e-3, which input splits
// alone would have to cut into boxes of about 1e-4 on a side.
//
// Activations that follow a piecewise-linear shadow up to a bounded gap (activation.Shadow: elu, within
// alpha of relu) are decided the same way on their shadow's regions, with the gaps carried as intervals:
// an inactive neuron's output is s*z plus a gap in [lo, hi] (activation.ShadowGap over the neuron's range
// on the region: for elu, s is the chord's slope), whose midpoint joins the affine function and whose
// half-width joins the row's deviation dev, a bound on how far the network's pre-activation can be from
// the row. Every constraint is loosened by its deviation, so a region proved empty or safe is so for the
// network itself; a point found in a loosened region is only a counterexample if the forward pass
// confirms it. The decision is then no longer exact, but it stays sound, and with elu's alpha 1/8192 (the
// activation suite) the gaps rarely matter.

// exactMaxUnstable is the most unstable relus a box may have for the exact decision to be tried.
const exactMaxUnstable = 24

// exactMaxRegions and exactMaxPrograms are how many regions and linear programs the exact decision may
// use for one box before it gives up.
const (
	exactMaxRegions  = 1024
	exactMaxPrograms = 8192
)

// affineRows holds n affine functions of the d inputs, row-major: row j is a[j*d:(j+1)*d]·x + c[j]; mag[j]
// bounds the magnitude of the terms that made row j, evaluated anywhere on the box (the sum of the
// absolute values of every product that went into it), which bounds its rounding error.
//
// dev[j] bounds how far the network's own value can be from row j on the region, beyond rounding: the
// shadow's gaps below it (0 for piecewise-linear networks).
type affineRows struct {
	a           []float64
	c, mag, dev []float64
}

func newAffineRows(n, d int) affineRows {
	return affineRows{a: make([]float64, n*d), c: make([]float64, n), mag: make([]float64, n), dev: make([]float64, n)}
}

// constraint is a·x + c <= 0, already loosened by the rounding error of its terms.
type constraint struct {
	a []float64
	c float64
}

// exact decides boxes of one piecewise-linear network by region enumeration.
type exact struct {
	net *nn.Network
	// inactive is each layer's slope for negative inputs (0 for relu, the slope for leaky_relu, 1 for
	// identity; the shadow's, activation.Shadow); linear marks layers with no kink (identity), gapped those
	// whose activation is not its own shadow (elu).
	inactive       []float64
	linear, gapped []bool
	d              int
	xmax           []float64 // per input: the largest magnitude over the box
	box            property.Box
	// The budget: boxes with more unstable relus are not tried; a box that needs more regions or
	// programs is left open.
	maxUnstable, maxRegions, maxPrograms int

	// The last box's counts: regions and programs so far, unstable relus, and a counterexample found at
	// a leaf.
	regions, lpCalls, unstable int
	cx                         []float64

	// Workspaces: the linear program, its rows in the box's unit coordinates (x = mid + r*u) and their
	// scales, the combined constraint of a certificate, and per layer the pre-activations and slopes on
	// the current region (the search is depth first, so each layer's buffers serve the next region that
	// reaches it), and for gapped layers each neuron's gap as a midpoint (off) and half-width (rad), and
	// its range on the region (zlo, zhi).
	lp           minimax
	w, v, scale  []float64
	mid, r, comb []float64
	z            []affineRows
	slope        [][]float64
	off, rad     [][]float64
	zlo, zhi     [][]float64
}

// newExact returns an exact decider for net, or nil when some layer is neither linear nor piecewise
// linear with one kink at 0, up to a gap (activation.Shadow).
func newExact(net *nn.Network) *exact {
	e := &exact{net: net, d: net.Inputs(), maxUnstable: exactMaxUnstable, maxRegions: exactMaxRegions, maxPrograms: exactMaxPrograms}
	for _, l := range net.Layers {
		if l.Act.Name == "identity" {
			e.inactive = append(e.inactive, 1)
			e.linear = append(e.linear, true)
			e.gapped = append(e.gapped, false)
		} else if slope, ok := l.Act.Shadow(); ok {
			e.inactive = append(e.inactive, slope)
			e.linear = append(e.linear, false)
			e.gapped = append(e.gapped, !l.Act.PiecewiseLinear())
		} else {
			return nil
		}
		e.z = append(e.z, newAffineRows(l.Out, e.d))
		e.slope = append(e.slope, make([]float64, l.Out))
		e.off = append(e.off, make([]float64, l.Out))
		e.rad = append(e.rad, make([]float64, l.Out))
		e.zlo = append(e.zlo, make([]float64, l.Out))
		e.zhi = append(e.zhi, make([]float64, l.Out))
	}
	return e
}

// exactOutcome is what the exact decision learned about a box.
type exactOutcome int

const (
	exactSafe    exactOutcome = iota // every region meeting the box is proved safe
	exactOpen                        // some region could not be proved safe (or the region budget ran out)
	exactTooHard                     // the box has too many unstable relus to try
)

// decide tries to prove case c on box (restricted by the relu splits), given sound pre-activation bounds
// over it. When a region's unsafe set is not empty, the point the program found there is returned if a
// forward pass confirms it. A box is not tried when it has more unstable relus than the budget allows, or
// (failedAt > 0) at least as many as a box where the budget ran out before.
func (e *exact) decide(box property.Box, bounds [][]Interval, c property.Case, splits []neuronSplit, failedAt int) (exactOutcome, []float64) {
	unstable := e.countUnstable(bounds)
	e.unstable = unstable
	if unstable > e.maxUnstable || (failedAt > 0 && unstable >= failedAt) {
		return exactTooHard, nil
	}
	e.box, e.regions, e.lpCalls, e.cx = box, 0, 0, nil
	e.xmax, e.mid, e.r = resize(e.xmax, e.d), resize(e.mid, e.d), resize(e.r, e.d)
	for i := range e.xmax {
		e.xmax[i] = math.Max(math.Abs(box.Lo[i]), math.Abs(box.Hi[i]))
		e.mid[i] = (box.Lo[i] + box.Hi[i]) / 2
		e.r[i] = (box.Hi[i] - box.Lo[i]) / 2
	}
	// Without splits the box's centre lies in the first region; with them, no point is known yet.
	var wit []float64
	if len(splits) == 0 {
		wit = append([]float64(nil), e.mid...)
	}
	if e.layer(0, nil, wit, bounds, c, splits) {
		return exactSafe, nil
	}
	return exactOpen, e.cx
}

// layer composes layer k onto the previous layer's pre-activations and slopes on the current region (cut
// out by cons; wit is a point of it when one is known), or onto the input for k = 0, and enumerates the
// signs its unstable neurons can take. It reports whether every region below was proved safe.
func (e *exact) layer(k int, cons []constraint, wit []float64, bounds [][]Interval, c property.Case, splits []neuronSplit) bool {
	d := e.d
	z := e.z[k]
	e.compose(k)
	slope := e.slope[k]
	open := e.signs(k, bounds, splits)
	// A split restricts the inputs to where its neuron has the split's sign: a constraint of the region.
	for _, s := range splits {
		if s.k == k {
			cons = append(cons[:len(cons):len(cons)], e.signConstraint(z, s.j, s.active))
			wit = nil
		}
	}
	var rec func(i int, cons []constraint, wit []float64) bool
	rec = func(i int, cons []constraint, wit []float64) bool {
		if i == len(open) {
			if k == len(e.net.Layers)-1 {
				return e.leaf(z, slope, cons, c)
			}
			return e.layer(k+1, cons, wit, bounds, c, splits)
		}
		j := open[i]
		// The side the known point is on needs no program: it is not empty. The other side is dropped
		// when a certificate proves it empty.
		first := true
		if wit != nil {
			first = floats.Dot(z.a[j*d:(j+1)*d], wit)+z.c[j] >= 0
		}
		for _, active := range []bool{first, !first} {
			g := e.signConstraint(z, j, active)
			more := append(cons[:len(cons):len(cons)], g)
			w := wit
			if wit == nil || active != first {
				var empty bool
				if empty, w = e.solve(more); empty {
					continue
				}
			}
			if e.lpCalls > e.maxPrograms {
				return false
			}
			e.setSign(k, j, active)
			if !rec(i+1, more, w) {
				return false
			}
		}
		return true
	}
	return rec(0, cons, wit)
}

// compose writes layer k's pre-activations as affine functions of the input on the current region (with
// their magnitudes and deviations, for the rounding and gap bounds): the layer's weights composed onto
// the previous layer's pre-activations and slopes, or onto the input for k = 0.
func (e *exact) compose(k int) {
	l := &e.net.Layers[k]
	d := e.d
	z := e.z[k]
	for j := 0; j < l.Out; j++ {
		za, w := z.a[j*d:(j+1)*d], l.W[j*l.In:(j+1)*l.In]
		z.c[j], z.mag[j] = l.B[j], math.Abs(l.B[j])
		z.dev[j] = 0
		if k == 0 {
			copy(za, w)
			for t, v := range w {
				z.mag[j] += math.Abs(v) * e.xmax[t]
			}
			continue
		}
		clear(za)
		in, ins := e.z[k-1], e.slope[k-1]
		gapped, off, rad := e.gapped[k-1], e.off[k-1], e.rad[k-1]
		for i, wi := range w {
			if wi == 0 {
				continue
			}
			if gapped { // h_i = s z_i + off_i, up to rad_i
				t := wi * off[i]
				z.c[j] += t
				z.mag[j] += math.Abs(t)
				z.dev[j] += math.Abs(wi) * rad[i]
			}
			s := ins[i]
			if s == 0 {
				continue
			}
			ws := wi * s
			addScaled(za, ws, in.a[i*d:(i+1)*d])
			z.c[j] += ws * in.c[i]
			z.mag[j] += math.Abs(ws) * in.mag[i]
			z.dev[j] += math.Abs(ws) * in.dev[i]
		}
	}
}

// signs fixes the sign of each neuron of layer k that a split, the bounds or the composed function over
// the box decides, and returns the others (open), whose signs the caller enumerates.
func (e *exact) signs(k int, bounds [][]Interval, splits []neuronSplit) []int {
	// Each neuron's sign: fixed by a split, by the bounds, or by the composed function over the box; the
	// rest are open.
	l, z, slope := &e.net.Layers[k], e.z[k], e.slope[k]
	var open []int
	for j := 0; j < l.Out; j++ {
		if e.linear[k] {
			slope[j] = 1
			continue
		}
		sign := 0
		for _, s := range splits {
			if s.k == k && s.j == j {
				sign = -1
				if s.active {
					sign = 1
				}
			}
		}
		// The neuron's range on the region: for its sign when no split fixed it, and on gapped layers for
		// the gap of an inactive neuron (setSign).
		if sign == 0 || e.gapped[k] {
			lo, hi := e.rangeOf(z, j)
			lo, hi = math.Max(lo, bounds[k][j].Lo), math.Min(hi, bounds[k][j].Hi)
			e.zlo[k][j], e.zhi[k][j] = lo, hi
		}
		if sign == 0 {
			lo, hi := e.zlo[k][j], e.zhi[k][j]
			switch {
			case lo >= 0:
				sign = 1
			case hi <= 0:
				sign = -1
			}
		}
		if sign == 0 {
			open = append(open, j)
		} else {
			e.setSign(k, j, sign > 0)
		}
	}
	return open
}

// setSign fixes neuron j of layer k active (slope 1) or inactive on the current region: the shadow's
// slope, or on gapped layers a line with the gap around it over the neuron's range there, below 0.
func (e *exact) setSign(k, j int, active bool) {
	if active {
		e.slope[k][j], e.off[k][j], e.rad[k][j] = 1, 0, 0
		return
	}
	if !e.gapped[k] {
		e.slope[k][j] = e.inactive[k]
		return
	}
	u := math.Min(e.zhi[k][j], 0)
	s, lo, hi := e.net.Layers[k].Act.ShadowGap(math.Min(e.zlo[k][j], u), u)
	e.slope[k][j] = s
	off := lo/2 + hi/2
	r := math.Max(hi-off, off-lo)
	e.off[k][j], e.rad[k][j] = off, r+relMargin*(r+math.Abs(off))
}

// leaf proves one region safe: every conjunction of the case is empty on it.
// The outputs are slope[j] times row j of z, plus the gaps of a gapped output layer.
func (e *exact) leaf(z affineRows, slope []float64, cons []constraint, c property.Case) bool {
	e.regions++
	if e.regions > e.maxRegions {
		return false
	}
	d := e.d
	top := len(e.net.Layers) - 1
	for _, conj := range c.Unsafe {
		more := append([]constraint(nil), cons...)
		for _, con := range conj {
			// con.Coef·y <= con.Bound, with y's rounding error: Coef·ŷ - Bound - err <= 0.
			g := constraint{a: make([]float64, d), c: -con.Bound}
			errs := 0.0
			for j, w := range con.Coef {
				if w == 0 {
					continue
				}
				if e.gapped[top] {
					g.c += w * e.off[top][j]
					errs += math.Abs(w) * e.rad[top][j]
				}
				if w *= slope[j]; w == 0 {
					continue
				}
				addScaled(g.a, w, z.a[j*d:(j+1)*d])
				g.c += w * z.c[j]
				errs += math.Abs(w) * e.slack(z, j)
			}
			g.c -= errs
			more = append(more, g)
		}
		if empty, x := e.solve(more); !empty {
			if x != nil {
				if out := e.net.Forward(x); c.Unsafe.Unsafe(out) {
					e.cx = x
				}
			}
			return false
		}
	}
	return true
}

// addScaled adds a times src to dst (of one length, the input's dimension): a plain loop, since on a
// handful of elements the call into gonum's assembly costs more than the work (18% of an elu student's
// verification went to it).
func addScaled(dst []float64, a float64, src []float64) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += a * v
	}
}

// roundingError bounds how far row j of f, as computed, can be from the exact composition anywhere on the
// box: the margin of the terms' magnitudes, scaled for the depth of the chain of products.
func (e *exact) roundingError(f affineRows, j int) float64 {
	return relMargin*f.mag[j]*float64(len(e.net.Layers)+2) + absMargin
}

// slack bounds how far the network's value can be from row j of f, as computed, anywhere on the region:
// the rounding error and the gaps' deviation (with a margin for the deviation's own rounding).
func (e *exact) slack(f affineRows, j int) float64 {
	return e.roundingError(f, j) + f.dev[j]*(1+relMargin)
}

// rangeOf returns sound bounds of the network's value that row j of f stands for, over the region's part
// of the box.
func (e *exact) rangeOf(f affineRows, j int) (float64, float64) {
	a := f.a[j*e.d : (j+1)*e.d]
	lo, m := extreme(a, e.box, true, nil)
	hi, _ := extreme(a, e.box, false, nil)
	r := e.slack(f, j) + relMargin*m
	return lo + f.c[j] - r, hi + f.c[j] + r
}

// signConstraint is z_j >= 0 (active) or z_j <= 0, loosened by z_j's rounding error and deviation.
func (e *exact) signConstraint(z affineRows, j int, active bool) constraint {
	r := e.slack(z, j)
	a := append([]float64(nil), z.a[j*e.d:(j+1)*e.d]...)
	if active { // -z <= 0
		for t := range a {
			a[t] = -a[t]
		}
		return constraint{a: a, c: -z.c[j] - r}
	}
	return constraint{a: a, c: z.c[j] - r}
}

// solve reports whether a certificate proves that no input of the box meets every constraint; when
// not, it returns a point of the box that (up to the program's rounding) meets them all, or nil.
func (e *exact) solve(cons []constraint) (bool, []float64) {
	d, m := e.d, len(cons)
	// One constraint alone may do.
	for _, g := range cons {
		if e.lowerBound(g.a, g.c, math.Abs(g.c)) > 0 {
			return true, nil
		}
	}
	e.lpCalls++
	// The program in the box's unit coordinates x = mid + r*u, each constraint scaled to unit size.
	e.w, e.v, e.scale = resize(e.w, m*d), resize(e.v, m), resize(e.scale, m)
	for i, g := range cons {
		v, s := g.c, 0.0
		for t, a := range g.a {
			v += a * e.mid[t]
			e.w[i*d+t] = a * e.r[t]
			s += math.Abs(e.w[i*d+t])
		}
		s += math.Abs(v)
		if s == 0 {
			s = 1
		}
		e.scale[i] = 1 / s
		e.v[i] = v / s
		for t := 0; t < d; t++ {
			e.w[i*d+t] /= s
		}
	}
	val, mu, u, _ := e.lp.solve(e.w, e.v, d)
	if val > 0 {
		for i := range mu {
			mu[i] *= e.scale[i]
		}
		return e.certify(cons, mu) > 0, nil
	}
	x := make([]float64, d)
	for t := range x {
		x[t] = math.Max(e.box.Lo[t], math.Min(e.box.Hi[t], e.mid[t]+e.r[t]*u[t]))
	}
	return false, x
}

// certify returns a sound lower bound of min over the box of sum_i mu_i g_i(x): positive proves the
// constraints have no common solution in the box.
func (e *exact) certify(cons []constraint, mu []float64) float64 {
	e.comb = resize(e.comb, e.d)
	a := e.comb
	clear(a)
	c, mag := 0.0, 0.0
	for i, g := range cons {
		if mu[i] <= 0 {
			continue
		}
		for t, v := range g.a {
			a[t] += mu[i] * v
			mag += mu[i] * math.Abs(v) * e.xmax[t]
		}
		c += mu[i] * g.c
		mag += mu[i] * math.Abs(g.c)
	}
	return e.lowerBound(a, c, mag)
}

// lowerBound returns a sound lower bound of a·x + c over the box, where mag is the magnitude of the terms
// that made a and c.
func (e *exact) lowerBound(a []float64, c, mag float64) float64 {
	v, m := extreme(a, e.box, true, nil)
	return widen(v+c, 4*(mag+m), true)
}

// countUnstable counts the neurons of the network's kinked layers whose bounds straddle 0.
func (e *exact) countUnstable(bounds [][]Interval) int {
	n := 0
	for k := range bounds[:len(bounds)-1] {
		for _, iv := range bounds[k] {
			if iv.Lo < 0 && iv.Hi > 0 && !e.linear[k] {
				n++
			}
		}
	}
	return n
}
