package diff

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/verify"
)

// Symbolic propagation of the difference (ReluDiff, Paulsen et al. 2020): every neuron of A and every
// neuron's difference delta = z_B - z_A carry a lower and an upper linear function of the input, with a
// slack for rounding. Through a dense layer delta_out = W_B delta_in + (W_B - W_A) z_in + (b_B - b_A), all
// symbolic: where both networks' ReLUs are active the difference stays a linear function of the input and
// the large terms of A and B cancel, which intervals over each network apart cannot see. A ReLU active in
// both passes the difference on, one inactive in both zeroes it, and otherwise the difference is
// concretized: relu(z_B) - relu(z_A) has delta's sign and is no larger (ReLU is monotone and
// 1-Lipschitz), and lies within the gap of the two networks' own bounds.

const (
	relMargin = 1e-10
	absMargin = 1e-12
)

// lin is c·x + k for x in the box, with slack s >= 0 covering rounding: the true function lies within s
// of it.
type lin struct {
	c    []float64
	k, s float64
}

// linExtremes returns the minimum and maximum of f over the box, widened by its slack and the rounding of
// the concretization.
func linExtremes(f lin, box property.Box) (lo, hi float64) {
	lo, hi = f.k, f.k
	mag := math.Abs(f.k)
	for i, c := range f.c {
		if c >= 0 {
			lo, hi = lo+c*box.Lo[i], hi+c*box.Hi[i]
		} else {
			lo, hi = lo+c*box.Hi[i], hi+c*box.Lo[i]
		}
		mag += math.Abs(c) * math.Max(math.Abs(box.Lo[i]), math.Abs(box.Hi[i]))
	}
	m := f.s + relMargin*mag + absMargin
	return lo - m, hi + m
}

// pair is a neuron's lower and upper function.
type pair struct{ lo, hi lin }

// affine returns sum_i w_i v_i + b as a pair, from the pairs v (positive weights take the same side,
// negative ones the other), with the rounding slack of the sum.
func affine(w []float64, v []pair, b float64, d int, mags []float64) pair {
	out := pair{lo: lin{c: make([]float64, d), k: b}, hi: lin{c: make([]float64, d), k: b}}
	mag := math.Abs(b)
	for i, wi := range w {
		if wi == 0 {
			continue
		}
		lo, hi := v[i].lo, v[i].hi
		if wi < 0 {
			lo, hi = hi, lo
		}
		for j := range out.lo.c {
			out.lo.c[j] += wi * lo.c[j]
			out.hi.c[j] += wi * hi.c[j]
		}
		out.lo.k += wi * lo.k
		out.hi.k += wi * hi.k
		out.lo.s += math.Abs(wi) * lo.s
		out.hi.s += math.Abs(wi) * hi.s
		mag += math.Abs(wi) * mags[i]
	}
	r := relMargin*mag + absMargin
	out.lo.s += r
	out.hi.s += r
	return out
}

// magnitude bounds |f| over the box for both of a pair's functions.
func magnitude(p pair, box property.Box) float64 {
	l1, h1 := linExtremes(p.lo, box)
	l2, h2 := linExtremes(p.hi, box)
	return math.Max(math.Max(math.Abs(l1), math.Abs(h1)), math.Max(math.Abs(l2), math.Abs(h2)))
}

func constant(v float64, d int) lin { return lin{c: make([]float64, d), k: v} }

// symbolicDelta returns interval bounds on B(x) - A(x) per output over the box (A and B of one shape,
// ReLU hidden layers, linear outputs; see deltaSupported).
func symbolicDelta(a, b *nn.Network, box property.Box) []verify.Interval {
	out, _ := symbolicDeltaSens(a, b, box)
	return out
}

// symbolicDeltaSens is symbolicDelta that also returns each input's weight in the difference's symbolic
// bounds, over every output, times its width: where a split pays most.
func symbolicDeltaSens(a, b *nn.Network, box property.Box) ([]verify.Interval, []float64) {
	// A's own bounds by CROWN; B's by IBP, tightened below by A's plus the difference's (CROWN for both
	// took a third more time a box for no box saved: N2,1 against its copy, output 0, 12.3 s against 9.5).
	out, sens, _, _ := symbolicDeltaWith(a, b, box, verify.Crown(a, box), verify.IBP(b, box), -1)
	return out, sens
}

// symbolicDeltaWith is symbolicDeltaSens given sound pre-activation bounds za of A and zb of B on the box
// (those of a box that holds it will do), and returns them tightened by the symbolic functions.
func symbolicDeltaWith(a, b *nn.Network, box property.Box, za, zb [][]verify.Interval, only int) ([]verify.Interval, []float64, [][]verify.Interval, [][]verify.Interval) {
	d := box.Dim()
	ta, tb := make([][]verify.Interval, len(za)), make([][]verify.Interval, len(zb))
	for k := range za {
		ta[k], tb[k] = slices.Clone(za[k]), slices.Clone(zb[k])
	}
	// The functions are of the box's free inputs only: a fixed input (lo = hi, such as the unperturbed
	// pixels of an image) is a constant from the start, so an image with 20 free pixels costs as much as
	// a 20-input network.
	full := box
	var free []int
	for i := range full.Lo {
		if full.Hi[i] > full.Lo[i] {
			free = append(free, i)
		}
	}
	box = property.Box{Lo: make([]float64, len(free)), Hi: make([]float64, len(free))}
	for r, i := range free {
		box.Lo[r], box.Hi[r] = full.Lo[i], full.Hi[i]
	}
	nin := d
	d = len(free)
	// Layer 0's inputs: x itself for A, no difference.
	z := make([]pair, nin)
	dz := make([]pair, nin)
	zm, dm := make([]float64, nin), make([]float64, nin)
	r := 0
	for i := 0; i < nin; i++ {
		id := constant(full.Lo[i], d)
		if r < len(free) && free[r] == i {
			id.k = 0
			id.c[r] = 1
			r++
		}
		z[i] = pair{lo: id, hi: id}
		dz[i] = pair{lo: constant(0, d), hi: constant(0, d)}
		zm[i] = math.Max(math.Abs(full.Lo[i]), math.Abs(full.Hi[i]))
	}
	rel := make([][]relaxed, len(a.Layers)-1)
	var zms, dms [][]float64
	var bin *inputs
	if useBackward && len(a.Layers) > 1 {
		bin = newInputs(a, b, full)
	}
	for k := range a.Layers {
		la, lb := &a.Layers[k], &b.Layers[k]
		last := k == len(a.Layers)-1
		nz, nd := make([]pair, la.Out), make([]pair, la.Out)
		for j := 0; j < la.Out; j++ {
			wa, wb := la.W[j*la.In:(j+1)*la.In], lb.W[j*lb.In:(j+1)*lb.In]
			dw := make([]float64, len(wa))
			for i := range wa {
				dw[i] = wb[i] - wa[i]
			}
			p := affine(wb, dz, lb.B[j]-la.B[j], d, dm)
			q := affine(dw, z, 0, d, zm)
			nd[j] = pair{lo: addLin(p.lo, q.lo), hi: addLin(p.hi, q.hi)}
			if !last {
				nz[j] = affine(wa, z, la.B[j], d, zm)
			}
		}
		if last {
			out := make([]verify.Interval, la.Out)
			sens := make([]float64, d)
			for j := range out {
				lo, _ := linExtremes(nd[j].lo, box)
				_, hi := linExtremes(nd[j].hi, box)
				out[j] = verify.Interval{Lo: math.Max(lo, zb[k][j].Lo-za[k][j].Hi), Hi: math.Min(hi, zb[k][j].Hi-za[k][j].Lo)}
				if k > 0 && useBackward && (only < 0 || only == j) {
					bl, bh := backward(a, b, bin, rel, zms, dms, k, j)
					out[j] = verify.Interval{Lo: math.Max(out[j].Lo, bl), Hi: math.Min(out[j].Hi, bh)}
				}
				// Every output's coefficients steer the split, even when one output is compared (with
				// output 0's alone N2,1 was not proved in 20 s, with all in 11.7 s).
				for i := range sens {
					sens[i] += (math.Abs(nd[j].lo.c[i]) + math.Abs(nd[j].hi.c[i])) * (box.Hi[i] - box.Lo[i])
				}
			}
			all := make([]float64, nin) // back to the box's inputs; fixed ones weigh nothing
			for r, i := range free {
				all[i] = sens[r]
			}
			return out, all, ta, tb
		}
		// Through the activations.
		smooth := la.Act != activation.ReLU
		for j := 0; j < la.Out; j++ {
			l, u := tighten(za[k][j], nz[j], box)
			dl, du := extremes(nd[j], box)
			if k > 0 && useBackward && !(l >= 0 && zb[k][j].Lo >= 0) && !(u <= 0 && zb[k][j].Hi <= 0) {
				bl, bh := backward(a, b, bin, rel, zms, dms, k, j)
				dl, du = math.Max(dl, bl), math.Min(du, bh)
			}
			lb, ub := math.Max(zb[k][j].Lo, l+dl), math.Min(zb[k][j].Hi, u+du)
			ta[k][j], tb[k][j] = verify.Interval{Lo: l, Hi: u}, verify.Interval{Lo: lb, Hi: ub}
			if smooth {
				f := smoothFactsOf(la.Act, l, u, lb, ub)
				rel[k] = append(rel[k], smoothRelax(f, l, u, dl, du))
				nz[j], nd[j] = smoothNeuron(f, nz[j], nd[j], box)
				continue
			}
			rel[k] = append(rel[k], reluRelax(l, u, lb, ub, dl, du))
			// A's neuron: ReluVal's relaxation (the upper line through (l, 0) and (u, u)).
			switch {
			case l >= 0:
			case u <= 0:
				nz[j] = pair{lo: constant(0, d), hi: constant(0, d)}
			default:
				s := u / (u - l)
				up := scaleLin(nz[j].hi, s)
				up.k -= s * l
				up.s += relMargin*(math.Abs(s*l)+magnitude(nz[j], box)) + absMargin
				low := constant(0, d)
				if u > -l { // DeepPoly's choice: relu(z) >= z where that leaves the smaller area
					low = nz[j].lo
				}
				nz[j] = pair{lo: low, hi: up}
			}
			// The difference.
			switch {
			case l >= 0 && lb >= 0:
			case u <= 0 && ub <= 0:
				nd[j] = pair{lo: constant(0, d), hi: constant(0, d)}
			default:
				nd[j] = deltaRelu(nd[j], box, math.Max(lb, 0)-math.Max(u, 0), math.Max(ub, 0)-math.Max(l, 0))
			}
		}
		z, dz = nz, nd
		zm, dm = make([]float64, la.Out), make([]float64, la.Out)
		for j := range zm {
			zm[j], dm[j] = magnitude(z[j], box), magnitude(dz[j], box)
		}
		zms, dms = append(zms, zm), append(dms, dm)
	}
	return nil, nil, nil, nil
}

// smoothMargin is the relative rounding margin of the smooth activations' values and derivatives (a few
// ulps, taken wide).
const smoothMargin = 1e-12

// smoothNeuron passes a neuron of a monotone activation f whose derivative is unimodal with its peak at 0
// or monotone (sigmoid, tanh, elu, softplus, leaky ReLU; see smoothSupported) through: A's function by
// f's linear relaxation on [l, u], and the difference f(z_A + delta) - f(z_A) = f'(ξ) delta (the mean
// value theorem, ξ between z_A and z_B) with f' in [sLo, sHi] over the hull of A's and B's bounds: linear
// in delta where delta keeps one sign (sLo delta and sHi delta), else the chords of the envelopes
// min(sLo delta, sHi delta) (concave) and max(sLo delta, sHi delta) (convex) over delta's range; a side is
// the constant gap of the two networks' own bounds, f(lb) - f(u) to f(ub) - f(l), where that is tighter
// than the line's extreme.
func smoothNeuron(f smoothFacts, z, dz pair, box property.Box) (pair, pair) {
	d := len(z.lo.c)
	if !f.spread {
		z = pair{lo: constant(f.v, d), hi: constant(f.v, d)}
		z.lo.s = smoothMargin*math.Abs(f.v) + absMargin
		z.hi.s = z.lo.s
	} else {
		r := f.relax
		mag := magnitude(z, box)
		side := func(f lin, alt lin, slope, icpt float64) lin {
			src := f
			if slope < 0 {
				src = alt
			}
			out := scaleLin(src, slope)
			out.k += icpt
			out.s += relMargin*(math.Abs(icpt)+math.Abs(slope)*mag) + smoothMargin*(1+math.Abs(icpt)) + absMargin
			return out
		}
		z = pair{lo: side(z.lo, z.hi, r.LowerSlope, r.LowerIntercept), hi: side(z.hi, z.lo, r.UpperSlope, r.UpperIntercept)}
	}
	sLo, sHi, gl, gu := f.sLo, f.sHi, f.gl, f.gu
	dl, du := extremes(dz, box)
	mag := magnitude(dz, box)
	scaled := func(f lin, slope, icpt float64) lin {
		out := scaleLin(f, slope)
		out.k += icpt
		out.s += relMargin*(math.Abs(icpt)+slope*mag) + absMargin
		return out
	}
	var nd pair
	switch {
	case dl >= 0:
		nd = pair{lo: scaled(dz.lo, sLo, 0), hi: scaled(dz.hi, sHi, 0)}
	case du <= 0:
		nd = pair{lo: scaled(dz.lo, sHi, 0), hi: scaled(dz.hi, sLo, 0)}
	default:
		lo, hi := chords(sLo, sHi, dl, du)
		nd = pair{lo: scaled(dz.lo, lo.s, lo.k), hi: scaled(dz.hi, hi.s, hi.k)}
	}
	if l0, _ := linExtremes(nd.lo, box); l0 < gl {
		nd.lo = constant(gl, d)
	}
	if _, h0 := linExtremes(nd.hi, box); h0 > gu {
		nd.hi = constant(gu, d)
	}
	return z, nd
}

// smoothFacts is what both passes through a smooth neuron use, computed once: A's relaxation on [l, u]
// (its value v when the interval is a point, spread false), the range [sLo, sHi] of f' over the hull of
// A's and B's pre-activations (widened for rounding), and the gap [gl, gu] of the two networks' values.
type smoothFacts struct {
	spread           bool
	v                float64
	relax            activation.Relaxation
	sLo, sHi, gl, gu float64
}

// smoothFactsOf computes a neuron's smoothFacts from A's bounds [l, u] and B's [lb, ub].
func smoothFactsOf(act activation.Activation, l, u, lb, ub float64) smoothFacts {
	f := smoothFacts{spread: u > l}
	if f.spread {
		f.relax = act.Relax(l, u)
	} else {
		f.v = act.Value(l)
	}
	lo, hi := math.Min(l, lb), math.Max(u, ub)
	dlo, dhi := act.Deriv(lo), act.Deriv(hi)
	f.sLo, f.sHi = math.Min(dlo, dhi), math.Max(dlo, dhi)
	if lo < 0 && 0 < hi { // the derivative of sigmoid and tanh peaks at 0
		f.sHi = math.Max(f.sHi, act.Deriv(0))
	}
	f.sLo = math.Max(0, f.sLo-smoothMargin*f.sLo-absMargin)
	f.sHi += smoothMargin*f.sHi + absMargin
	fl, fu, fbl, fbu := act.Value(l), act.Value(u), act.Value(lb), act.Value(ub)
	gm := smoothMargin*(math.Abs(fl)+math.Abs(fu)+math.Abs(fbl)+math.Abs(fbu)) + absMargin
	f.gl, f.gu = fbl-fu-gm, fbu-fl+gm
	return f
}

// chords returns the chord below min(sLo delta, sHi delta) (concave) and the one above max(sLo delta,
// sHi delta) (convex) over [dl, du], for dl < 0 < du.
func chords(sLo, sHi, dl, du float64) (lo, hi line) {
	ml := (sLo*du - sHi*dl) / (du - dl)
	mu := (sHi*du - sLo*dl) / (du - dl)
	return line{ml, sHi*dl - ml*dl}, line{mu, sLo*dl - mu*dl}
}

// smoothSupported reports whether smoothNeuron's derivative range holds for the activation: f' is
// unimodal with its peak at 0 (sigmoid, tanh) or non-decreasing (elu with alpha <= 1, softplus, leaky
// ReLU with slope <= 1), so its extremes over an interval are at the ends or at 0.
func smoothSupported(act activation.Activation) bool {
	switch act.Name {
	case "sigmoid", "tanh", "softplus":
		return true
	case "elu", "leaky_relu":
		return act.Param <= 1
	}
	return false
}

// deltaRelu bounds relu(z_A + delta) - relu(z_A) given delta's pair p and the gap [gl, gu] of the two
// networks' own bounds: the value lies between min(delta, 0) and max(delta, 0) (ReLU is monotone and
// 1-Lipschitz) and within the gap. The bounds are constants: keeping delta's own functions, or the chords
// of min(., 0) and max(., 0) (NeuroDiff's convex approximation), gave tighter bounds box by box but
// steered the input splits worse (docs/history.md).
func deltaRelu(p pair, box property.Box, gl, gu float64) pair {
	d := len(p.lo.c)
	dl, du := extremes(p, box)
	return pair{lo: constant(math.Max(math.Min(dl, 0), gl), d), hi: constant(math.Min(math.Max(du, 0), gu), d)}
}

// extremes returns the least value of p's lower function and the greatest of its upper one over the box.
func extremes(p pair, box property.Box) (lo, hi float64) {
	lo, _ = linExtremes(p.lo, box)
	_, hi = linExtremes(p.hi, box)
	return lo, hi
}

// tighten intersects an interval with the extremes of a pair.
func tighten(iv verify.Interval, p pair, box property.Box) (lo, hi float64) {
	l, h := extremes(p, box)
	return math.Max(iv.Lo, l), math.Min(iv.Hi, h)
}

func addLin(p, q lin) lin {
	out := lin{c: make([]float64, len(p.c)), k: p.k + q.k, s: p.s + q.s + relMargin*(math.Abs(p.k)+math.Abs(q.k))}
	for i := range out.c {
		out.c[i] = p.c[i] + q.c[i]
		out.s += relMargin * (math.Abs(p.c[i]) + math.Abs(q.c[i]))
	}
	return out
}

func scaleLin(p lin, s float64) lin {
	out := lin{c: make([]float64, len(p.c)), k: s * p.k, s: math.Abs(s) * p.s}
	for i, c := range p.c {
		out.c[i] = s * c
	}
	return out
}

// deltaSupported reports whether the symbolic difference applies: dense layers of equal shapes, hidden
// layers of ReLU or of an activation smoothNeuron handles (the same in both networks), and a linear
// output layer.
func deltaSupported(a, b *nn.Network) bool {
	if !a.AllDense() || !b.AllDense() || len(a.Layers) != len(b.Layers) {
		return false
	}
	for k := range a.Layers {
		la, lb := &a.Layers[k], &b.Layers[k]
		last := k == len(a.Layers)-1
		if la.In != lb.In || la.Out != lb.Out || la.Act != lb.Act || (last && la.Act != activation.Identity) || (!last && la.Act != activation.ReLU && !smoothSupported(la.Act)) {
			return false
		}
	}
	return true
}

// deltaSearch decides |B - A| < eps on the box by branch and bound over input splits with symbolicDelta:
// a box is proved when every compared output's difference bound lies within (-eps, eps), refuted when its
// centre or a corner reaches eps by the two forward passes, and otherwise halved along its relatively
// widest dimension. It stops (unknown) at the deadline or after maxBoxes boxes.
func deltaSearch(ctx context.Context, a, b *nn.Network, box property.Box, opt Options, deadline time.Time, maxBoxes int) Result {
	res := Result{Verdict: verify.Certified}
	// A box inherits its parent's tightened bounds, and computes CROWN's anew every crownEvery levels.
	type item struct {
		box    property.Box
		za, zb [][]verify.Interval
		depth  int
	}
	stack := []item{{box: box}}
	proven := 0.0
	for len(stack) > 0 {
		if ctx.Err() != nil || (!deadline.IsZero() && time.Now().After(deadline)) || (maxBoxes > 0 && res.Boxes >= maxBoxes) {
			res.Verdict = verify.Unknown
			break
		}
		it := stack[len(stack)-1]
		bx := it.box
		stack = stack[:len(stack)-1]
		res.Boxes++
		safe := true
		za, zb := it.za, it.zb
		if za == nil || it.depth%crownEvery == 0 {
			za, zb = verify.Crown(a, bx), verify.IBP(b, bx)
			if it.za != nil {
				za, zb = meet(za, it.za), meet(zb, it.zb)
			}
		}
		bounds, sens, ta, tb := symbolicDeltaWith(a, b, bx, za, zb, opt.Output)
		for t, iv := range bounds {
			if (opt.Output < 0 || t == opt.Output) && !(iv.Lo > -opt.Eps && iv.Hi < opt.Eps) {
				safe = false
				break
			}
		}
		if safe {
			proven += volumeShare(bx, box)
			continue
		}
		for _, x := range probes(bx) {
			ya, yb := a.Forward(x), b.Forward(x)
			if g := gap(ya, yb, opt.Output); g >= opt.Eps {
				return Result{Verdict: verify.Violated, Boxes: res.Boxes, Input: x, A: ya, B: yb, Difference: g}
			}
		}
		dim := splitDim(bx, box, sens)
		if dim < 0 {
			res.Verdict = verify.Unknown // a point the bounds cannot settle
			break
		}
		mid := (bx.Lo[dim] + bx.Hi[dim]) / 2
		lo, hi := cloneBox(bx), cloneBox(bx)
		lo.Hi[dim], hi.Lo[dim] = mid, mid
		stack = append(stack, item{lo, ta, tb, it.depth + 1}, item{hi, ta, tb, it.depth + 1})
	}
	res.Proven = math.Min(proven, 1)
	if res.Verdict == verify.Certified {
		res.Proven = 1
	}
	return res
}

// splitDim is the dimension to halve bx along: where the difference's bounds depend most on the input
// (sens, its coefficients times the width), the relatively widest (against whole) when sens is nil or
// zero; -1 when bx is a point.
func splitDim(bx, whole property.Box, sens []float64) int {
	dim, w, best := -1, 0.0, 0.0
	for i := range bx.Lo {
		r := (bx.Hi[i] - bx.Lo[i]) / math.Max(whole.Hi[i]-whole.Lo[i], 1e-300)
		if r < 1e-12 {
			continue
		}
		s := 0.0
		if sens != nil {
			s = sens[i]
		}
		if s > best || (best == 0 && r > w) {
			dim, w, best = i, r, s
		}
	}
	return dim
}

// meet intersects two sound sets of bounds of the same neurons.
func meet(x, y [][]verify.Interval) [][]verify.Interval {
	for k := range x {
		for j := range x[k] {
			x[k][j] = verify.Interval{Lo: math.Max(x[k][j].Lo, y[k][j].Lo), Hi: math.Min(x[k][j].Hi, y[k][j].Hi)}
		}
	}
	return x
}

// crownEvery is how many levels of splits a box's CROWN bounds serve: in between, children reuse their
// parent's bounds tightened by its symbolic functions (N2,1 against its copy, output 0: 9.3 s every
// level, 8.7 s every 2, 9.8 s every 4, not proved in 20 s with the root's alone).
const crownEvery = 2

// useBackward turns on the back-substitution of the difference (backward.go) for the outputs and for the
// hidden neurons not stable in both networks; off, the forward functions alone bound them (the tests
// compare the two).
var useBackward = true

func cloneBox(b property.Box) property.Box {
	return property.Box{Lo: append([]float64(nil), b.Lo...), Hi: append([]float64(nil), b.Hi...)}
}

// volumeShare is box's share of whole's volume (flat dimensions count 1).
func volumeShare(box, whole property.Box) float64 { return box.Share(whole) }

// probes are the points of a box a violation is looked for at: its centre and its two extreme corners.
func probes(b property.Box) [][]float64 {
	c := make([]float64, len(b.Lo))
	for i := range c {
		c[i] = (b.Lo[i] + b.Hi[i]) / 2
	}
	return [][]float64{c, append([]float64(nil), b.Lo...), append([]float64(nil), b.Hi...)}
}
