package verify

import (
	"math"
	"slices"
	"sort"

	"github.com/birdnn/birdnn/falsify"
	"github.com/birdnn/birdnn/property"
)

// outcome is what decide learned about a box.
type outcome struct {
	safe   bool
	dim    int // the dimension to split; -1 when none can be split
	cx     []float64
	bounds [][]Interval
	rx     *relaxed // the relaxations behind bounds, while branch needs them
	// neurons are unstable relus worth splitting, the most promising first.
	neurons []neuronRef
	// score is the worst, over the conjunctions not yet excluded, of the best lower bound found on the
	// slack (negative when not safe): how far the box is from a proof.
	score float64
}

// decide bounds the case's unsafe region on box (reusing parent's bounds where they settle a neuron). The
// box is safe when every conjunction has a mix of its constraints whose lower bound is positive;
// otherwise the outcome names the dimension to split (largest smear, or the relatively widest), the
// shortfall, and a counterexample when the box's centre or its worst corner is one.
func decide(bd *bounder, c property.Case, j job, attack, alpha bool, rx *relaxed) outcome {
	box := j.box
	dim := -1
	score := math.Inf(1)
	net := bd.net
	if rx == nil {
		rx = bd.crown(box, j.parent, j.splits)
	}
	if rx.empty {
		// The relu splits contradict each other on this box: no input is left to check.
		return outcome{safe: true, score: 0}
	}
	bounds := rx.bounds
	bestSmear := -1.0
	allExcluded := true
	var worstOpen []float64
	var worstConj property.Conjunction
	var worstLambda []float64
	for _, conj := range c.Unsafe {
		excluded, lb, worstCoef, lambda := boundConjunction(bd, rx, box, conj, alpha, j.splits)
		if !excluded && len(j.splits) == 0 && !bd.quick {
			bd.addParallel(box, rx) // sigmoid and tanh layers: the second relaxation (else a no-op)
		}
		if !excluded && rx.alt != nil {
			// The other relaxation of S-shaped activations: either bound proves the conjunction empty.
			// The score that steers branching is the mean of the two bounds: the larger alone often
			// stays put over the first splits (the parallel lines of wide intervals are flat), which
			// leaves strong branching nothing to choose by.
			ex2, lb2, _, _ := boundConjunction(bd, rx.alt, box, conj, false, j.splits)
			if ex2 {
				excluded = true
			} else {
				lb = (lb + lb2) / 2
			}
		}
		if excluded {
			continue
		}
		if lb < score {
			worstConj, worstLambda = conj, lambda
		}
		score = math.Min(score, lb)
		allExcluded = false
		worstOpen = worstCoef
		for i, a := range worstCoef {
			if !splittable(box, c.Box, i) {
				continue
			}
			if s := math.Abs(a) * (box.Hi[i] - box.Lo[i]); s > bestSmear {
				bestSmear, dim = s, i
			}
		}
	}
	if allExcluded {
		return outcome{safe: true, score: score}
	}
	// The smear (coefficient times width) sees how the bound's linear part varies, not the looseness of
	// the relaxations, which lives in its constant and shrinks with every wide dimension. So when some
	// dimension is far wider, relative to the case's box, than the smear's choice, or no constraint depends
	// on a splittable dimension, halve the relatively widest one instead.
	rel := func(i int) float64 { return (box.Hi[i] - box.Lo[i]) / (c.Box.Hi[i] - c.Box.Lo[i]) }
	wdim, widest := widestDim(box, c.Box)
	if bestSmear <= 0 || dim < 0 || widest > 16*rel(dim) {
		dim = wdim
	}
	var neurons []neuronRef
	if bd.neuronCandidates > 0 {
		neurons = bd.alpha.candidates(rx, box, worstConj, worstLambda, bd.neuronCandidates)
	}
	if !attack {
		return outcome{dim: dim, bounds: bounds, rx: rx, score: score, neurons: neurons}
	}
	// Cheap attack: the box's centre, and the corner that minimizes the linear lower bound of the worst
	// open constraint.
	centre := make([]float64, box.Dim())
	for i := range centre {
		centre[i] = (box.Lo[i] + box.Hi[i]) / 2
	}
	if c.Unsafe.Unsafe(net.Forward(centre)) {
		return outcome{dim: dim, cx: centre, score: score}
	}
	if worstOpen != nil {
		corner := make([]float64, box.Dim())
		for i, a := range worstOpen {
			corner[i] = box.Hi[i]
			if a > 0 {
				corner[i] = box.Lo[i]
			}
		}
		if c.Unsafe.Unsafe(net.Forward(corner)) {
			return outcome{dim: dim, cx: corner, score: score}
		}
	}
	if alpha {
		// Once per box (not for strong branching's candidates): a few steps of signed-gradient descent
		// from the centre, within the box. The corner above follows the relaxed network, which a smooth
		// network's curvature can lead astray.
		if x := falsify.Descend(net, property.Case{Box: box, Unsafe: c.Unsafe}, centre, attackSteps, 0.5); x != nil {
			return outcome{dim: dim, cx: x, score: score}
		}
	}
	return outcome{dim: dim, bounds: bounds, rx: rx, score: score, neurons: neurons}
}

// inputLinear is an affine function of the input: coef·x + c.
type inputLinear struct {
	coef []float64
	c    float64
}

// bestMix searches the simplex for weights lambda that maximize the minimum over the box of
// sum_j lambda_j f_j(x), by projected supergradient ascent (the objective is concave and piecewise
// linear), and returns the best such minimum found, widened for rounding, with its mixed coefficients.
// Any lambda gives a sound lower bound of min_x max_j f_j(x), so the search needs no convergence proof.
func bestMix(fns []inputLinear, box property.Box) (float64, []float64, []float64) {
	m, d := len(fns), box.Dim()
	lambda := make([]float64, m)
	for j := range lambda {
		lambda[j] = 1 / float64(m)
	}
	mix := make([]float64, d)
	best, bestCoef, bestLambda := math.Inf(-1), make([]float64, d), make([]float64, m)
	vals := make([]float64, m)
	x := make([]float64, d)
	for it := 0; it < 40; it++ {
		clear(mix)
		c, mag := 0.0, 0.0
		for j, f := range fns {
			for i, a := range f.coef {
				mix[i] += lambda[j] * a
			}
			c += lambda[j] * f.c
			mag += lambda[j] * math.Abs(f.c)
		}
		v := c
		for i, a := range mix {
			x[i] = box.Hi[i]
			if a > 0 {
				x[i] = box.Lo[i]
			}
			v += a * x[i]
			mag += math.Abs(a) * math.Max(math.Abs(box.Lo[i]), math.Abs(box.Hi[i]))
		}
		v = widen(v, 4*mag, true)
		if v > best {
			best = v
			copy(bestCoef, mix)
			copy(bestLambda, lambda)
			if v > 0 {
				break
			}
		}
		if m == 1 {
			break
		}
		// Supergradient at lambda: the functions' values at the minimizing corner.
		scale := 0.0
		for j, f := range fns {
			vals[j] = f.c
			for i, a := range f.coef {
				vals[j] += a * x[i]
			}
			scale = math.Max(scale, math.Abs(vals[j]))
		}
		if scale == 0 {
			break
		}
		step := 0.5 / (float64(it) + 1) / scale
		for j := range lambda {
			lambda[j] += step * vals[j]
		}
		projectSimplex(lambda)
	}
	return best, bestCoef, bestLambda
}

// boundConjunction bounds from below, over the box and with rx's relaxations, how far the conjunction
// conj of output constraints is from holding: excluded when the bound proves it empty on the box;
// otherwise the best lower bound found (negative), its coefficients on the input, and the mix of the
// constraints behind it.
func boundConjunction(bd *bounder, rx *relaxed, box property.Box, conj property.Conjunction, alpha bool, splits []neuronSplit) (bool, float64, []float64, []float64) {
	net := bd.net
	top := len(net.Layers) - 1
	// The conjunction {c_j·y <= b_j for all j} is empty on the box if some combination
	// sum_j lambda_j (c_j·y - b_j), lambda >= 0, is positive everywhere on it.
	// Bound each constraint's slack c_j·y - b_j from below by a linear function of the input, then look
	// for weights on the simplex whose mix is positive on the whole box (by the minimax theorem, such
	// weights exist exactly when the pointwise maximum of the functions is positive on the box).
	fns := make([]inputLinear, len(conj))
	for j, con := range conj {
		lb, coef := rx.backSubstituteBuf(net, box, top, linear{coef: con.Coef, c: -con.Bound}, true, bd)
		if lb > 0 {
			return true, lb, nil, nil
		}
		coef = slices.Clone(coef)
		low, _ := extreme(coef, box, true, nil)
		fns[j] = inputLinear{coef: coef, c: lb - low}
	}
	lb, worstCoef, lambda := bestMix(fns, box)
	if lb > 0 {
		return true, lb, nil, nil
	}
	if len(conj) > 1 {
		// One back-substitution of the mix itself: its relaxations are chosen for the mix's own
		// coefficients, which is tighter than mixing the separate bounds.
		f := linear{coef: make([]float64, net.Outputs())}
		for j, con := range conj {
			for i, a := range con.Coef {
				f.coef[i] += lambda[j] * a
			}
			f.c -= lambda[j] * con.Bound
		}
		if lb2, coef := rx.backSubstituteBuf(net, box, top, f, true, bd); lb2 > 0 {
			return true, lb2, nil, nil
		} else if lb2 > lb {
			lb, worstCoef = lb2, slices.Clone(coef)
		}
	}
	if alpha && bd.alphaSteps > 0 {
		if lb2, coef := bd.alpha.optimize(rx, box, conj, lambda, bd.alphaSteps, splits); lb2 > 0 {
			return true, lb2, nil, nil
		} else if lb2 > lb {
			lb, worstCoef = lb2, coef
		}
	}
	return false, lb, worstCoef, lambda
}

// projectSimplex replaces v by its Euclidean projection on the probability simplex.
func projectSimplex(v []float64) {
	u := append([]float64(nil), v...)
	sort.Sort(sort.Reverse(sort.Float64Slice(u)))
	css, theta := 0.0, 0.0
	for i, ui := range u {
		css += ui
		if t := (css - 1) / float64(i+1); ui-t > 0 {
			theta = t
		}
	}
	for i := range v {
		v[i] = math.Max(v[i]-theta, 0)
	}
}

// highDim is the number of inputs beyond which strong branching tries one input split only (the smear
// heuristic's dimension) beside the relu splits, and relu splits are on by default (highDimReluSplits
// of them): over an image's 784 pixels, bounding both halves of every dimension costs 1568 bounds a
// split (NNrepair's CNN: about 0.3 s each), and halving one pixel of an L-infinity ball rarely pays.
const (
	highDim           = 64
	highDimReluSplits = 4
)

// branch splits the open box j in two. With strong branching it bounds the two halves of every
// splittable dimension and keeps the split that leaves the fewest halves open, or, when unstable is not
// nil (it counts a box's unstable relus for the exact decision), whose open halves have the fewest
// unstable relus, the halves' shortfalls breaking ties (the halves' outcomes travel with them, so nothing
// is bounded twice); otherwise it halves o.dim.
func branch(bd *bounder, c property.Case, j job, o *outcome, opt Options, unstable func([][]Interval) int) []job {
	attack := !opt.NoAttack
	halves := func(d int) []job {
		a, b := split(j.box, d)
		return []job{j.child(a, j.share/2, o, nil), j.child(b, j.share/2, o, nil)}
	}
	if opt.SmearOnly {
		return halves(o.dim)
	}
	var best []job
	bestScore := math.Inf(-1)
	refine := bd.refines() // candidates get the forward bounds alone (bounder.quick)
	// consider scores a candidate pair of kids; it reports true when a kid holds a counterexample.
	consider := func(kids []job) bool {
		for i := range kids {
			bd.quick = refine
			oo := decide(bd, c, kids[i], attack, false, nil)
			bd.quick = false
			kids[i].known = &oo
			if oo.cx != nil {
				best = kids
				return true
			}
		}
		// The split that leaves the least to prove: first the least left open, then the least sum of the
		// halves' shortfalls (a proved half counts zero). An open half counts one, or, when the exact
		// decision is on, its unstable relus: that is what brings boxes within its reach, and on the ACAS
		// Xu benchmark it pays even far from it (N4,2 property 2: certified in 11 s, where the shortfalls
		// alone left it unknown after 300 s). Without it, counting open halves matters because the
		// candidates' shortfalls come from the quick bounds, which the chosen halves' tighter ones can
		// beat by far: on a domain-repaired N3,5 sigmoid student, a split proved one half and left the
		// other 0.294 short (both proved with the tighter bounds) while the others left 0.146 + 0.146, so
		// the sum alone never chose it; the proof stood at all but 2e-8 of the box after 150 s, and is
		// certified in 24.2 s with the count first.
		open, short := 0, 0.0
		for _, k := range kids {
			switch {
			case k.known.safe:
				continue
			case unstable == nil:
				open++
			case k.known.bounds != nil:
				open += unstable(k.known.bounds)
			}
			short += k.known.score
		}
		score := -float64(open) + math.Atan(short)/4
		if score > bestScore || best == nil {
			bestScore, best = score, kids
		}
		return false
	}
	// Only dimensions within a factor 64 of the relatively widest are candidates: the bounds' looseness
	// shrinks with every wide dimension, which the halves' scores do not always show. Candidates are
	// scored with CROWN's slopes; only the chosen halves get optimized ones (below).
	rel := func(i int) float64 { return (j.box.Hi[i] - j.box.Lo[i]) / (c.Box.Hi[i] - c.Box.Lo[i]) }
	_, widest := widestDim(j.box, c.Box)
	for d := range j.box.Lo {
		if !splittable(j.box, c.Box, d) || rel(d) < widest/64 || (len(j.box.Lo) > highDim && d != o.dim) {
			continue
		}
		if consider(halves(d)) {
			return dropRelaxed(best)
		}
	}
	// Relu splits: the same box, with one unstable relu's sign fixed either way.
	for _, n := range o.neurons {
		on, off := neuronSplit{n.k, n.j, true}, neuronSplit{n.k, n.j, false}
		if consider([]job{j.child(j.box, j.share/2, o, &on), j.child(j.box, j.share/2, o, &off)}) {
			return dropRelaxed(best)
		}
	}
	if best == nil { // no candidate qualified (cannot happen while o.dim >= 0); halve o.dim
		return halves(o.dim)
	}
	if bd.alphaSteps > 0 || refine {
		for i := range best {
			if k := best[i].known; !k.safe && k.cx == nil {
				rx := k.rx
				if refine && rx != nil {
					// Scored on the forward bounds alone: tighten them where they were left loose.
					bd.refine(best[i].box, rx)
				}
				o2 := decide(bd, c, best[i], attack, bd.alphaSteps > 0, rx)
				best[i].known = &o2
			}
		}
	}
	return dropRelaxed(best)
}

// dropRelaxed releases the relaxations the kids' outcomes hold (only their bounds travel on).
func dropRelaxed(kids []job) []job {
	for _, k := range kids {
		if k.known != nil {
			k.known.rx = nil
		}
	}
	return kids
}

// halveWidest returns j's box halved along its relatively widest splittable dimension, as two jobs
// without parent bounds; none when no dimension can be split.
func halveWidest(j job, whole property.Box) []job {
	dim, _ := widestDim(j.box, whole)
	if dim < 0 {
		return nil
	}
	a, b := split(j.box, dim)
	return []job{j.child(a, j.share/2, &outcome{}, nil), j.child(b, j.share/2, &outcome{}, nil)}
}

// widestDim returns the splittable dimension of box that is widest relative to whole, and that relative
// width; -1 and 0 when none can be split.
func widestDim(box, whole property.Box) (int, float64) {
	dim, widest := -1, 0.0
	for i := range box.Lo {
		if r := (box.Hi[i] - box.Lo[i]) / (whole.Hi[i] - whole.Lo[i]); splittable(box, whole, i) && r > widest {
			dim, widest = i, r
		}
	}
	return dim, widest
}

// splittable reports whether box can usefully be halved along dimension i: it is still wider than a
// millionth of a millionth of the case's box there (below that, floating point cannot split it further).
func splittable(box, whole property.Box, i int) bool {
	w := box.Hi[i] - box.Lo[i]
	return w > 0 && w > 1e-12*(whole.Hi[i]-whole.Lo[i])
}

// split halves box along dim.
func split(box property.Box, dim int) (property.Box, property.Box) {
	mid := (box.Lo[dim] + box.Hi[dim]) / 2
	a := property.Box{Lo: append([]float64(nil), box.Lo...), Hi: append([]float64(nil), box.Hi...)}
	b := property.Box{Lo: append([]float64(nil), box.Lo...), Hi: append([]float64(nil), box.Hi...)}
	a.Hi[dim], b.Lo[dim] = mid, mid
	return a, b
}
