package verify

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/floats"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/internal/gemm"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

const (
	relMargin = 1e-10
	absMargin = 1e-12
)

// widen returns v moved outward (down when down is true) by the margin for a value built from terms of
// total magnitude mag.
func widen(v, mag float64, down bool) float64 {
	d := relMargin*mag + absMargin
	if down {
		return v - d
	}
	return v + d
}

// Interval is a closed interval [Lo, Hi].
type Interval struct{ Lo, Hi float64 }

// IBP returns, for each layer, interval bounds on its pre-activation values over the box, by interval
// arithmetic.
func IBP(net *nn.Network, box property.Box) [][]Interval {
	lo, hi := append([]float64(nil), box.Lo...), append([]float64(nil), box.Hi...)
	out := make([][]Interval, len(net.Layers))
	for k := range net.Layers {
		l := &net.Layers[k]
		nlo, nhi := make([]float64, l.Out), make([]float64, l.Out)
		out[k] = ibpLayer(l, lo, hi, nlo, nhi)
		lo, hi = nlo, nhi
	}
	return out
}

// ibpLayer returns the pre-activation intervals of layer l for inputs in [lo, hi], and writes the
// post-activation bounds into nlo and nhi when they are not nil.
func ibpLayer(l *nn.Layer, lo, hi, nlo, nhi []float64) []Interval {
	pre := make([]Interval, l.Out)
	m := make([]float64, l.In)
	for i := range m {
		m[i] = math.Max(math.Abs(lo[i]), math.Abs(hi[i]))
	}
	for j := 0; j < l.Out; j++ {
		w := l.W[j*l.In : (j+1)*l.In]
		a, b, mag := l.B[j], l.B[j], math.Abs(l.B[j])
		for i, wi := range w {
			if wi >= 0 {
				a += wi * lo[i]
				b += wi * hi[i]
				mag += wi * m[i]
			} else {
				a += wi * hi[i]
				b += wi * lo[i]
				mag -= wi * m[i]
			}
		}
		pre[j] = Interval{widen(a, mag, true), widen(b, mag, false)}
		if nlo != nil {
			nlo[j], nhi[j] = postBounds(l, pre[j])
		}
	}
	return pre
}

// postBounds bounds a neuron's output from its pre-activation interval (every activation is
// non-decreasing), widened for the rounding of the activation itself.
func postBounds(l *nn.Layer, p Interval) (float64, float64) {
	a, b := l.Act.Value(p.Lo), l.Act.Value(p.Hi)
	return widen(a, math.Abs(a)*1e3, true), widen(b, math.Abs(b)*1e3, false)
}

// linear is an affine function of some layer's outputs: sum coef[i]*h[i] + c, one row per bound.
type linear struct {
	coef []float64
	c    float64
}

// Crown computes pre-activation bounds of every layer by back-substitution: each neuron's pre-activation
// is written as a linear function of the layer below, and the activations are replaced by their linear
// relaxations, down to the input box. It starts from IBP and keeps the tighter bound. It returns the
// bounds of every layer (the last is the output layer's pre-activation, i.e. the outputs for an identity
// output layer).
func Crown(net *nn.Network, box property.Box) [][]Interval {
	return crown(net, box).bounds
}

// relaxed holds the bounds of every layer and the relaxations of its activations on them.
type relaxed struct {
	bounds [][]Interval
	relax  [][]activation.Relaxation
	// empty is set when relu splits contradict the bounds (some split neuron cannot take its sign on the
	// box): the restricted input set is empty.
	empty bool
	// alt, for networks with sigmoid or tanh layers, has the same bounds with the other relaxation of
	// those layers (activation.RelaxParallel); nil otherwise.
	alt *relaxed
}

func relaxLayer(l *nn.Layer, b []Interval) []activation.Relaxation {
	r := make([]activation.Relaxation, len(b))
	for j, iv := range b {
		r[j] = l.Act.Relax(iv.Lo, iv.Hi)
	}
	return r
}

func crown(net *nn.Network, box property.Box) *relaxed {
	return newBounder(net).crown(box, nil, nil)
}

// bounder holds the buffers of back-substitution, so that bounding a box allocates only its result.
type bounder struct {
	net       *nn.Network
	zc        []float64
	bufs      [2][]float64 // coefficient buffers, used in turn
	stablePWL []bool       // per layer: the activation is piecewise linear with one kink at 0 (relu, leaky_relu)
	// alpha optimizes the objective's relu slopes in decide, alphaSteps gradient steps (0: off).
	alpha      *alphaOpt
	alphaSteps int
	// neuronCandidates is how many unstable relus decide proposes for splitting (0: input splits only).
	neuronCandidates int
	// smooth is set when some hidden layer's activation is not piecewise linear (sigmoid, tanh, elu, ...):
	// no neuron is ever settled there, so child boxes take their bounds from sym (forward symbolic
	// bounds, intersected with the parent's) instead of a back-substitution per neuron.
	smooth bool
	sym    *symbolic
	// par, for networks with sigmoid or tanh layers, is a second forward pass with the parallel lines
	// (activation.RelaxParallel) across the inflection point: it tightens the bounds of the first and
	// gives the objective a second relaxation to try (relaxed.alt). Neither relaxation dominates: on a
	// repaired 6 x 64 tanh student the least-area lines prove 98.7% of property 2's box in 120 s where
	// the parallel ones prove 0.7%, and on a 3 x 64 one the parallel lines certify in 0.6 s what the
	// least-area ones leave unknown after 60 s.
	par *symbolic
	// crownFrom: on child boxes of smooth networks, the hidden layers from this index up (3: the fourth
	// hidden layer) also get back-substituted bounds (CROWN's, on the forward pass's bounds below),
	// intersected with the forward pass's. Forward bounds lose most in deep layers: on a 1/16-wide box
	// of a repaired 6 x 64 tanh student the two agree within 2% on hidden layers 1-3, and the forward
	// ones are 2x, 4x and 20x wider on layers 5, 6 and the output. That student's property 2, unknown
	// after 60 s with forward bounds alone (98.0% proven, 12,149 boxes), is certified in 8.9 s (853
	// boxes, 2 workers).
	crownFrom int
	// quick skips crownFrom's back-substitutions and the parallel lines' pass (addParallel): strong
	// branching scores its candidate splits with the forward bounds and least-area lines alone (2d boxes
	// per split), and only the chosen halves get the tighter bounds, on top of the forward ones they have
	// (refine), and the second relaxation. Skipping the parallel pass for candidates: median of 3 runs,
	// 27.57 s -> 21.88 s and 4388 -> 4499 boxes on a domain-repaired 6 x 64 sigmoid student, 5.97 s ->
	// 4.77 s and 847 -> 858 boxes on a repaired 6 x 64 tanh one (property 2, 2 workers).
	quick bool
	// layer holds boundLayer's buffers: the rows' coefficients (two, used in turn), their coefficients on
	// a layer's pre-activations, constants, magnitudes, and the neurons bounded.
	layer struct {
		coef                   [2][]float64
		zc, c, m, lines, reach []float64
		js                     []int
	}
	// norms holds rowNorms(net), for the rounding margins.
	norms [][]float64
}

func newBounder(net *nn.Network) *bounder {
	w := 0
	b := &bounder{net: net}
	for _, l := range net.Layers {
		w = max(w, l.In, l.Out)
		b.stablePWL = append(b.stablePWL, l.Act.PiecewiseLinear())
	}
	b.zc = make([]float64, w)
	b.bufs = [2][]float64{make([]float64, w), make([]float64, w)}
	b.alpha = newAlphaOpt(net)
	b.norms = b.alpha.norms // computed once for both
	for k := 0; k+1 < len(net.Layers); k++ {
		if !b.stablePWL[k] && net.Layers[k].Act.Name != "identity" {
			b.smooth = true
		}
	}
	if b.smooth {
		b.crownFrom = 3
		b.sym = newSymbolic(net)
		for k := 0; k+1 < len(net.Layers); k++ {
			if net.Layers[k].Act.SShaped() {
				b.par = newSymbolic(net)
				b.par.parallel = true
				break
			}
		}
	}
	return b
}

// addParallel tightens rx's bounds by the forward pass with parallel lines and sets rx.alt: the bounds of
// both passes hold, so does their intersection, and each relaxation is chosen on it. decide calls it
// only for boxes that the first relaxation does not prove, and not for strong branching's candidates
// (quick).
func (bd *bounder) addParallel(box property.Box, rx *relaxed) {
	if bd.par == nil || rx.empty || rx.alt != nil {
		return
	}
	r := bd.par.bound(box, rx.bounds) // intersected with rx's bounds
	alt := &relaxed{bounds: make([][]Interval, len(r.bounds)), relax: make([][]activation.Relaxation, len(r.relax))}
	for k := range r.bounds {
		alt.bounds[k] = append([]Interval(nil), r.bounds[k]...)
		alt.relax[k] = append([]activation.Relaxation(nil), r.relax[k]...)
		act := bd.net.Layers[k].Act
		for j, b := range alt.bounds[k] {
			if b != rx.bounds[k][j] { // tightened: relax again (most neurons keep their bounds)
				rx.relax[k][j] = act.Relax(b.Lo, b.Hi)
			}
		}
		rx.bounds[k] = alt.bounds[k]
	}
	rx.alt = alt
}

// crown bounds every layer over box. When parent holds bounds computed over a box that contains this
// one, a relu or leaky_relu neuron that was stable there is stable here too, so its relaxation is exact
// whatever its bounds: it keeps the parent's (sound, since they hold on the larger box) and skips its
// back-substitution. After a few splits most neurons are stable, so a child box costs a fraction of its
// parent.
//
// splits restrict the inputs to those where some relus have a given sign: their pre-activation bounds
// are clipped at 0 (sound on the restricted set, which is all the caller asks about), so they are stable,
// their relaxation exact, and the layers above are bounded with that.
func (bd *bounder) crown(box property.Box, parent [][]Interval, splits []neuronSplit) *relaxed {
	net := bd.net
	if bd.smooth && parent != nil && len(splits) == 0 {
		// Forward symbolic bounds cost a back-substitution's share per layer instead of one per neuron
		// (about 8x less on the 6 x 64 tanh students), and the parent's CROWN bounds still hold here.
		r := bd.sym.bound(box, parent)
		rx := &relaxed{bounds: make([][]Interval, len(r.bounds)), relax: make([][]activation.Relaxation, len(r.relax))}
		for k := range r.bounds {
			rx.bounds[k] = append([]Interval(nil), r.bounds[k]...)
			rx.relax[k] = append([]activation.Relaxation(nil), r.relax[k]...)
		}
		if !bd.quick {
			bd.refine(box, rx)
		}
		return rx
	}
	var bounds [][]Interval
	if parent == nil {
		bounds = IBP(net, box)
	} else {
		// The parent's bounds hold here; interval arithmetic would rarely tighten them further, and the
		// first layer is exact: recompute only it.
		bounds = make([][]Interval, len(net.Layers))
		for k := range bounds {
			bounds[k] = append([]Interval(nil), parent[k]...)
		}
		bounds[0] = ibpLayer(&net.Layers[0], box.Lo, box.Hi, nil, nil)
	}
	rx := &relaxed{bounds: bounds, relax: make([][]activation.Relaxation, len(net.Layers))}
	clip := func(k int) {
		for _, s := range splits {
			if s.k != k {
				continue
			}
			b := &bounds[k][s.j]
			if s.active {
				b.Lo = math.Max(b.Lo, 0)
			} else {
				b.Hi = math.Min(b.Hi, 0)
			}
			if b.Lo > b.Hi {
				rx.empty = true
			}
		}
	}
	clip(0)
	rx.relax[0] = relaxLayer(&net.Layers[0], rx.bounds[0])
	for k := 1; k < len(net.Layers); k++ {
		l := &net.Layers[k]
		b := rx.bounds[k]
		clip(k)
		js := bd.layer.js[:0]
		for j := 0; j < l.Out; j++ {
			if parent != nil && bd.stablePWL[k] && (b[j].Lo >= 0 || b[j].Hi <= 0) {
				continue
			}
			js = append(js, j)
		}
		bd.layer.js = js
		bd.boundLayer(box, rx, k, js)
		rx.relax[k] = relaxLayer(l, b)
	}
	return rx
}

// backSubstitute bounds f = coef·h_top + c, where h_top is the output of layer top, from below (lower) or
// above over the box, using the relaxations of layers top, top-1, ..., 0 and the pre-activation bounds.
// It also returns the function's coefficients on the input.
func (rx *relaxed) backSubstitute(net *nn.Network, box property.Box, top int, f linear, lower bool) (float64, []float64) {
	v, coef := rx.backSubstituteBuf(net, box, top, f, lower, nil)
	return v, append([]float64(nil), coef...)
}

// backSubstituteBuf is backSubstitute working in bd's buffers when bd is not nil; the coefficients it
// returns are then only valid until bd's next use.
func (rx *relaxed) backSubstituteBuf(net *nn.Network, box property.Box, top int, f linear, lower bool, bd *bounder) (float64, []float64) {
	coef, c := f.coef, f.c
	mag := math.Abs(c)
	var norms [][]float64
	if bd != nil {
		norms = bd.norms
	} else {
		norms = rowNorms(net)
	}
	for k := top; k >= 0; k-- {
		l := &net.Layers[k]
		h := rx.inputMax(net, box, k)
		// Replace h_k = act(z_k) by its relaxation: for a lower bound, a positive coefficient takes the lower
		// line and a negative one the upper line (the other way round for an upper bound).
		var zc, prev []float64
		if bd != nil {
			zc, prev = bd.zc[:l.Out], bd.bufs[k%2][:l.In]
			clear(zc)
			clear(prev)
		} else {
			zc, prev = make([]float64, l.Out), make([]float64, l.In)
		}
		relax := rx.relax[k]
		for j, a := range coef {
			if a == 0 {
				continue
			}
			r := relax[j]
			s, b := r.UpperSlope, r.UpperIntercept
			if (a > 0) == lower {
				s, b = r.LowerSlope, r.LowerIntercept
			}
			zc[j] = a * s
			if b != 0 {
				c += a * b
				mag += math.Abs(a * b)
			}
		}
		// z_k = W_k h_{k-1} + B_k: the terms of c and of the next coefficients (see reach).
		for j, a := range zc {
			if a == 0 {
				continue
			}
			c += a * l.B[j]
			mag += math.Abs(a) * reach(l.B[j], norms[k][j], h)
			floats.AddScaled(prev, a, l.W[j*l.In:(j+1)*l.In])
		}
		coef = prev
	}
	// Bound coef·x + c over the box.
	v, m := extreme(coef, box, lower, nil)
	v += c
	mag = finiteOrInf(mag + m)
	// Back-substitution multiplies and adds many terms: widen by the margin scaled to their size, with a
	// factor for the depth of the chain of products.
	return widen(v, mag*float64(top+2), lower), coef
}

// extreme returns the minimum (lower) or maximum of coef·x over the box, rounded to nearest, and the
// magnitude of its terms (for the rounding margin); it writes the corner that attains it into corner
// when that is not nil.
func extreme(coef []float64, box property.Box, lower bool, corner []float64) (v, mag float64) {
	for i, a := range coef {
		x := box.Hi[i]
		if (a > 0) == lower {
			x = box.Lo[i]
		}
		if corner != nil {
			corner[i] = x
		}
		v += a * x
		mag += math.Abs(a) * math.Max(math.Abs(box.Lo[i]), math.Abs(box.Hi[i]))
	}
	return v, mag
}

// rowNorms returns, per layer, the L1 norm of each neuron's weights: sum_i |W_ji|.
func rowNorms(net *nn.Network) [][]float64 {
	norms := make([][]float64, len(net.Layers))
	for k := range net.Layers {
		l := &net.Layers[k]
		norms[k] = make([]float64, l.Out)
		for j := range norms[k] {
			norms[k][j] = floats.Norm(l.W[j*l.In:(j+1)*l.In], 1)
		}
	}
	return norms
}

// inputMax returns a bound on the magnitude of every input of layer k over the box: of x for k = 0, of
// the outputs of layer k-1 above, from rx's bounds on its pre-activations z and |act(z)| <= c|z| + d
// (c = 1, d = 0 for relu and tanh; sigmoid's outputs are at most 1); +Inf when some bound is not a
// number. No activation is evaluated: this runs once a layer in every back-substitution.
func (rx *relaxed) inputMax(net *nn.Network, box property.Box, k int) float64 {
	var m maxAbs
	if k == 0 {
		for i := range box.Lo {
			m.add(box.Lo[i])
			m.add(box.Hi[i])
		}
		return m.bound(1, 0)
	}
	l := &net.Layers[k-1]
	scale, shift := 1.0, 0.0
	switch l.Act.Name {
	case "sigmoid":
		return 1
	case "relu": // outputs in [0, max(hi, 0)]
		for _, b := range rx.bounds[k-1] {
			m.add(b.Hi)
		}
		return m.bound(1, 0)
	case "identity", "tanh":
	case "leaky_relu", "elu": // |slope z|, or |alpha (e^z - 1)| <= |alpha z|, for z < 0
		scale = math.Max(1, math.Abs(l.Act.Param))
	case "softplus": // log(1 + e^z) <= max(z, 0) + log 2
		shift = math.Ln2
	default:
		for _, b := range rx.bounds[k-1] {
			lo, hi := postBounds(l, b)
			m.add(lo)
			m.add(hi)
		}
		return m.bound(1, 0)
	}
	for _, b := range rx.bounds[k-1] {
		m.add(b.Lo)
		m.add(b.Hi)
	}
	return m.bound(scale, shift)
}

// maxAbs is the largest magnitude of the values added, and whether one was not a number. (math.Max's
// NaN handling cost a tenth of a ReLU network's search here.)
type maxAbs struct {
	h   float64
	bad bool
}

func (m *maxAbs) add(v float64) {
	v = math.Abs(v)
	if v > m.h {
		m.h = v
	}
	m.bad = m.bad || v != v
}

// bound returns scale times the largest magnitude plus shift, rounded up, or +Inf after a NaN.
func (m *maxAbs) bound(scale, shift float64) float64 {
	if m.bad {
		return math.Inf(1)
	}
	return m.h*scale*(1+1e-15) + shift
}

// reach bounds, for a neuron z_j = W_j·h + B_j with sum_i |W_ji| = norm and every |h_i| <= h, the
// magnitude of its value and of the products W_ji h_i: a coefficient a on z_j becomes the coefficients
// a W_j on h, whose rounding moves the function by up to u sum_i |a W_ji| |h_i| (u the unit roundoff),
// and the constant gains a B_j. Back-substitution adds |a| times this to the magnitude of the terms, so
// that the margin covers the rounding of the coefficients however much they cancel.
func reach(bias, norm, h float64) float64 {
	return math.Abs(bias) + norm*h
}

// finiteOrInf returns m, or +Inf when m is not a finite number (an infinite bound times a zero
// coefficient): a margin of +Inf makes the bound infinite, which is sound.
func finiteOrInf(m float64) float64 {
	if m <= math.MaxFloat64 {
		return m
	}
	return math.Inf(1)
}

// OutputBound returns a sound lower bound (lower=true) or upper bound of coef·y + c over the box, where y
// is the network's output, given pre-activation bounds from Crown or IBP.
func OutputBound(net *nn.Network, bounds [][]Interval, box property.Box, coef []float64, c float64, lower bool) float64 {
	rx := &relaxed{bounds: bounds, relax: make([][]activation.Relaxation, len(net.Layers))}
	for k := range net.Layers {
		rx.relax[k] = relaxLayer(&net.Layers[k], bounds[k])
	}
	v, _ := rx.backSubstitute(net, box, len(net.Layers)-1, linear{coef: coef, c: c}, lower)
	return v
}

// refine tightens rx's bounds on the hidden layers from crownFrom up by back-substitution, layer by layer
// (each on the layers below as already tightened), and relaxes those layers again.
func (bd *bounder) refine(box property.Box, rx *relaxed) {
	net := bd.net
	for k := bd.crownFrom; k < len(net.Layers)-1; k++ {
		l := &net.Layers[k]
		js := bd.layer.js[:0]
		for j := 0; j < l.Out; j++ {
			js = append(js, j)
		}
		bd.layer.js = js
		bd.boundLayer(box, rx, k, js)
		rx.relax[k] = relaxLayer(l, rx.bounds[k])
	}
}

// relaxRow replaces h = act(z) in the function cr·h + cv of one row of boundLayer by its relaxation, z
// = W h' + bias by its definition: it sets zr to the coefficients on z, and returns cv plus the lines'
// intercepts and the bias's terms, and mv plus their magnitudes, a coefficient a on z_j counting |a|
// reach[j] (see reach). A positive coefficient takes the line (posS, posB), a negative one (negS, negB).
// No branch but the choice of line, which compiles to conditional moves: the signs are random, and a
// branch on them was mispredicted half the time.
func relaxRow(cr, zr, bias, reach, posS, posB, negS, negB []float64, cv, mv float64) (float64, float64) {
	zr, bias, reach = zr[:len(cr)], bias[:len(cr)], reach[:len(cr)]
	posS, posB, negS, negB = posS[:len(cr)], posB[:len(cr)], negS[:len(cr)], negB[:len(cr)]
	var c1, c2, m1, m2 float64 // separate sums: four chains of additions instead of two
	for j, a := range cr {
		s, b := negS[j], negB[j]
		if a > 0 {
			s, b = posS[j], posB[j]
		}
		z := a * s
		zr[j] = z
		t, u := a*b, z*bias[j]
		c1 += t
		c2 += u
		m1 += math.Abs(t)
		m2 += math.Abs(z) * reach[j]
	}
	return cv + (c1 + c2), mv + (m1 + m2)
}

// boundLayer intersects the bounds of layer k's pre-activations z_k[j] = W_k[j]·h_{k-1} + B_k[j], j in
// js, with their lower and upper bounds by back-substitution through layers k-1, ..., 0 (setting rx.empty
// when a neuron's bounds cross), computed as backSubstituteBuf computes each, rounding margin included:
// the 2·len(js) functions go down together, so that a layer's step is one matrix product (internal/gemm)
// instead of one vector-matrix product a function.
func (bd *bounder) boundLayer(box property.Box, rx *relaxed, k int, js []int) {
	if len(js) == 0 || k == 0 {
		return
	}
	net := bd.net
	l := &net.Layers[k]
	if !bd.smooth {
		// Piecewise-linear networks: most coefficients are zero (stable inactive neurons), which the
		// one-by-one path skips, and a child box bounds few neurons; the matrix path was slower there
		// (N3,3's property 2: 10.3 s against 12.2 s, medians of 3).
		for _, j := range js {
			row := linear{coef: l.W[j*l.In : (j+1)*l.In], c: l.B[j]}
			lo, _ := rx.backSubstituteBuf(net, box, k-1, row, true, bd)
			hi, _ := rx.backSubstituteBuf(net, box, k-1, row, false, bd)
			intersect(rx, k, j, lo, hi)
		}
		return
	}
	rows := 2 * len(js) // row 2i bounds z_k[js[i]] from below, row 2i+1 from above
	buf := &bd.layer
	coef, c, mag := grow(&buf.coef[0], rows*l.In), grow(&buf.c, rows), grow(&buf.m, rows)
	for i, j := range js {
		w := l.W[j*l.In : (j+1)*l.In]
		copy(coef[2*i*l.In:], w)
		copy(coef[(2*i+1)*l.In:], w)
		c[2*i], c[2*i+1] = l.B[j], l.B[j]
		mag[2*i], mag[2*i+1] = math.Abs(l.B[j]), math.Abs(l.B[j])
	}
	for m := k - 1; m >= 0; m-- {
		lm := &net.Layers[m]
		out, in := lm.Out, lm.In
		zc := grow(&buf.zc, rows*out)
		lines := grow(&buf.lines, 4*out) // the lines' slopes and intercepts, lower then upper
		ls, li, us, ui := lines[:out], lines[out:2*out], lines[2*out:3*out], lines[3*out:]
		for j, r := range rx.relax[m] {
			ls[j], li[j], us[j], ui[j] = r.LowerSlope, r.LowerIntercept, r.UpperSlope, r.UpperIntercept
		}
		h, rch := rx.inputMax(net, box, m), grow(&buf.reach, out)
		for j := range rch {
			rch[j] = reach(lm.B[j], bd.norms[m][j], h)
		}
		for r := 0; r < rows; r++ {
			// h_m = act(z_m) by its relaxation: for a lower bound, a positive coefficient takes the lower
			// line and a negative one the upper line (the other way round for an upper bound).
			cr, zr := coef[r*out:(r+1)*out], zc[r*out:(r+1)*out]
			if r%2 == 0 {
				c[r], mag[r] = relaxRow(cr, zr, lm.B, rch, ls, li, us, ui, c[r], mag[r])
			} else {
				c[r], mag[r] = relaxRow(cr, zr, lm.B, rch, us, ui, ls, li, c[r], mag[r])
			}
		}
		// z_m = W_m h_{m-1} + B_m: the coefficients on h_{m-1} are zc W_m.
		next := grow(&buf.coef[(k-m)%2], rows*in)
		gemm.Implementation{Serial: true}.Dgemm(blas.NoTrans, blas.NoTrans, rows, in, out, 1, zc, out, lm.W, in, 0, next, in)
		coef = next
	}
	d := net.Inputs()
	for i, j := range js {
		var v [2]float64
		for side := range 2 {
			r := 2*i + side
			lower := side == 0
			e, m := extreme(coef[r*d:(r+1)*d], box, lower, nil)
			// As in backSubstituteBuf: the margin for the products' rounding, with the chain's depth.
			v[side] = widen(e+c[r], finiteOrInf(mag[r]+m)*float64(k+1), lower)
		}
		intersect(rx, k, j, v[0], v[1])
	}
}

// grow returns the first n values of *v, reallocated when it holds fewer (contents not kept).
func grow(v *[]float64, n int) []float64 {
	if cap(*v) < n {
		*v = make([]float64, n)
	}
	return (*v)[:n]
}

// intersect tightens the bounds of neuron j of layer k to [lo, hi], and sets rx.empty if they cross.
func intersect(rx *relaxed, k, j int, lo, hi float64) {
	b := &rx.bounds[k][j]
	b.Lo, b.Hi = math.Max(b.Lo, lo), math.Min(b.Hi, hi)
	if b.Lo > b.Hi {
		rx.empty = true
	}
}

// refines reports whether child boxes get back-substituted bounds on some layer (crownFrom).
func (bd *bounder) refines() bool { return bd.smooth && bd.crownFrom < len(bd.net.Layers)-1 }
