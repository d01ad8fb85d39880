package verify

import (
	"math"

	"gonum.org/v1/gonum/floats"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// Optimized relu slopes (alpha-CROWN, Xu et al. 2021), for the objective only.
//
// An unstable relu (l < 0 < u) may be bounded from below by any line a*z with a in [0, 1]; CROWN fixes a
// to 0 or 1. The lower bound of the objective is then a function L(a, lambda) of those slopes and of the
// weights lambda that mix a conjunction's constraints, and every choice gives a sound bound. With the
// lines fixed, the relaxed network is affine and L is its value at the box corner x* that minimizes it,
// so the gradient is exact and cheap: one forward pass of the relaxed network at x* gives every
// pre-activation value v_kj, and dL/da_kj = A_kj * v_kj, where A_kj is the objective's coefficient on
// h_kj from the backward pass; dL/dlambda_j is constraint j's slack at the relaxed output. alphaOpt runs
// projected gradient ascent on both (Adam on the slopes, the slack-scaled step of bestMix on lambda) and
// keeps the best bound seen. The intermediate bounds stay as CROWN computed them.
//
// Sigmoid and tanh (alpha-CROWN's optimized tangent points): a neuron's line in the objective's bound may
// be any of a family of sound tangent lines (activation.Tangents), indexed by theta in [0, 1]. With the
// line slope(theta)*z + intercept(theta), dL/dtheta_kj = A_kj * (slope' * v_kj + intercept'), v_kj its
// pre-activation at x*. Each side (lower line for A_kj > 0, upper otherwise) has its own theta, starting at
// Relax's line. On a repaired 6 x 64 tanh student's property 2 box the bound of the whole box rises from
// -5.17 (the mix optimized alone) to -3.82 (mean over its conjunctions); a repaired 3 x 64 student is
// certified in 122 boxes instead of 276.
//
// Relu splits (beta-CROWN, Wang et al. 2021): on a job restricted to z_kj >= 0 (or <= 0), the objective
// f may be replaced by f - beta*z_kj (f + beta*z_kj) for any beta >= 0, which is no larger on the
// restricted set, so its lower bound over the whole box bounds f there. dL/dbeta_kj = -z_kj (+z_kj) at
// the relaxed network's x*, and the betas are optimized with the slopes.

// alphaSteps is the number of gradient steps per objective.
const alphaSteps = 12

// alphaOpt holds the buffers of the optimization for one network.
type alphaOpt struct {
	net    *nn.Network
	relu   []bool      // per layer: the activation is relu
	alpha  [][]float64 // per layer: the lower slope of each neuron (used where unstable)
	m, v   [][]float64 // Adam moments of the slopes
	beta   [][]float64 // per layer: the multiplier of each split relu's sign constraint
	sign   [][]float64 // per layer: +1 for a relu split active, -1 inactive, 0 not split
	bm, bv [][]float64 // Adam moments of the betas
	coefs  [][]float64 // per layer: the objective's coefficients on the layer's outputs (backward pass)
	pre    [][]float64 // per layer: pre-activation values of the relaxed network at x*
	post   [][]float64 // per layer: its outputs
	corner []float64
	prev   []float64
	norms  [][]float64 // rowNorms(net), for the rounding margin
	// Layers whose activation has tangent families (sigmoid and tanh; softplus and elu, the lower side
	// only): per side (0 lower, 1 upper), the family of tangent lines of each neuron
	// (made when its coefficient first asks for that side), its theta and Adam moments, and the current
	// line with its derivatives in theta. tuned marks the lines moved from Relax's.
	tangents       []bool
	fam            [2][][]activation.Tangents
	famSet, tuned  [2][][]bool
	theta, tm, tv  [2][][]float64
	ls, lb, ld, lc [2][][]float64 // slope, intercept, dslope/dtheta, dintercept/dtheta
}

func newAlphaOpt(net *nn.Network) *alphaOpt {
	o := &alphaOpt{net: net, norms: rowNorms(net)}
	for k := range net.Layers {
		l := &net.Layers[k]
		o.relu = append(o.relu, l.Act.Name == "relu")
		for _, s := range []*[][]float64{&o.alpha, &o.m, &o.v, &o.coefs, &o.pre, &o.post, &o.beta, &o.sign, &o.bm, &o.bv} {
			*s = append(*s, make([]float64, l.Out))
		}
		o.tangents = append(o.tangents, k < len(net.Layers)-1 && l.Act.HasTangents())
		for side := range 2 {
			o.fam[side] = append(o.fam[side], make([]activation.Tangents, l.Out))
			for _, s := range []*[][]bool{&o.famSet[side], &o.tuned[side]} {
				*s = append(*s, make([]bool, l.Out))
			}
			for _, s := range []*[][]float64{&o.theta[side], &o.tm[side], &o.tv[side], &o.ls[side], &o.lb[side], &o.ld[side], &o.lc[side]} {
				*s = append(*s, make([]float64, l.Out))
			}
		}
		o.prev = make([]float64, max(len(o.prev), l.In, l.Out))
	}
	o.corner = make([]float64, net.Inputs())
	return o
}

// unstable reports whether neuron j of layer k is an unstable relu (its lower slope is free).
func (o *alphaOpt) unstable(rx *relaxed, k, j int) bool {
	b := rx.bounds[k][j]
	return o.relu[k] && b.Lo < 0 && b.Hi > 0
}

// line returns the slope and intercept of the line that replaces neuron j of layer k in a lower bound
// where its coefficient is a: the lower line for a > 0 (the optimized slope through 0 for an unstable
// relu), the upper line otherwise.
func (o *alphaOpt) line(rx *relaxed, k, j int, a float64) (float64, float64) {
	r := rx.relax[k][j]
	if o.tangents[k] {
		if side := sideOf(a); o.tuned[side][k][j] {
			return o.ls[side][k][j], o.lb[side][k][j]
		}
	}
	if a <= 0 {
		return r.UpperSlope, r.UpperIntercept
	}
	if o.unstable(rx, k, j) {
		return o.alpha[k][j], 0
	}
	return r.LowerSlope, r.LowerIntercept
}

// sideOf is the side of the line a neuron with coefficient a takes in a lower bound: 0 the lower line
// (a > 0), 1 the upper.
func sideOf(a float64) int {
	if a > 0 {
		return 0
	}
	return 1
}

// tangentStep moves the tangent line of a sigmoid, tanh or convex neuron j of layer k, on the side its coefficient
// a asks for, one Adam step (step number t) up the bound's gradient a * (dslope * v + dintercept), v the
// neuron's pre-activation at the bound's minimizing corner.
func (o *alphaOpt) tangentStep(rx *relaxed, k, j int, a, v, t float64) {
	side := sideOf(a)
	fam, theta := &o.fam[side][k][j], &o.theta[side][k][j]
	setLine := func() {
		o.ls[side][k][j], o.lb[side][k][j], o.ld[side][k][j], o.lc[side][k][j] = fam.Line(*theta)
	}
	if !o.famSet[side][k][j] {
		b := rx.bounds[k][j]
		*fam = o.net.Layers[k].Act.Tangents(b.Lo, b.Hi, side == 1)
		o.famSet[side][k][j] = true
		if fam.Free {
			*theta = fam.Start
			setLine()
		}
	}
	if !fam.Free {
		return
	}
	g := a * (o.ld[side][k][j]*v + o.lc[side][k][j])
	adamStep(theta, &o.tm[side][k][j], &o.tv[side][k][j], g, tangentRate, t, 0, 1)
	setLine()
	o.tuned[side][k][j] = true
}

// adamStep moves x by one Adam step of rate lr up the gradient g (m and v are its moments, t the step
// number from 1) and clips it to [lo, hi].
func adamStep(x, m, v *float64, g, lr, t, lo, hi float64) {
	const b1, b2 = 0.9, 0.999
	*m = b1**m + (1-b1)*g
	*v = b2**v + (1-b2)*g*g
	mh, vh := *m/(1-math.Pow(b1, t)), *v/(1-math.Pow(b2, t))
	*x = math.Min(hi, math.Max(lo, *x+lr*mh/(math.Sqrt(vh)+1e-12)))
}

// bound returns a sound lower bound, over the box, of the mix sum_j lambda_j (c_j·y - b_j) of the
// conjunction's constraints on the network's output y, and its coefficients on the input, with the
// current slopes; it records the backward pass's coefficients in o.coefs.
func (o *alphaOpt) bound(rx *relaxed, box property.Box, conj property.Conjunction, lambda []float64) (float64, []float64) {
	net := o.net
	top := len(net.Layers) - 1
	coef := o.coefs[top]
	clear(coef)
	c := 0.0
	for j, con := range conj {
		floats.AddScaled(coef, lambda[j], con.Coef)
		c -= lambda[j] * con.Bound
	}
	mag := math.Abs(c)
	var in []float64
	for k := top; k >= 0; k-- {
		l := &net.Layers[k]
		h := rx.inputMax(net, box, k)
		a := o.coefs[k]
		var next []float64
		if k > 0 {
			next = o.coefs[k-1]
		} else {
			next = o.prev[:l.In]
		}
		clear(next)
		for j, aj := range a {
			if aj == 0 && o.sign[k][j] == 0 {
				continue
			}
			s, b := o.line(rx, k, j, aj)
			z := aj * s
			if b != 0 {
				c += aj * b
				mag += math.Abs(aj * b)
			}
			if sg := o.sign[k][j]; sg != 0 {
				z -= sg * o.beta[k][j]
			}
			if z != 0 {
				c += z * l.B[j]
				mag += math.Abs(z) * reach(l.B[j], o.norms[k][j], h)
				floats.AddScaled(next, z, l.W[j*l.In:(j+1)*l.In])
			}
		}
		in = next
	}
	v, m := extreme(in, box, true, o.corner)
	return widen(v+c, finiteOrInf(mag+m)*float64(top+2), true), in
}

// alphaRate, betaRate and tangentRate are the Adam steps of the relu slopes, the betas and the tangent
// points (theta in [0, 1]) of sigmoid and tanh.
const alphaRate, betaRate, tangentRate = 0.2, 0.05, 0.2

// reset starts from CROWN's slopes, zero betas, and the given splits' signs.
func (o *alphaOpt) reset(rx *relaxed, splits []neuronSplit) {
	for k := range o.alpha {
		for j := range o.alpha[k] {
			o.alpha[k][j] = rx.relax[k][j].LowerSlope
		}
		for _, s := range [][]float64{o.m[k], o.v[k], o.beta[k], o.sign[k], o.bm[k], o.bv[k]} {
			clear(s)
		}
		if o.tangents[k] {
			for side := range 2 {
				clear(o.famSet[side][k])
				clear(o.tuned[side][k])
				clear(o.tm[side][k])
				clear(o.tv[side][k])
			}
		}
	}
	for _, s := range splits {
		o.sign[s.k][s.j] = -1
		if s.active {
			o.sign[s.k][s.j] = 1
		}
	}
}

// candidates returns up to n unstable relus whose relaxation costs the conjunction's mixed bound the
// most: |A_kj| * (-l u / (u - l)), the objective's coefficient on the neuron times its relaxation's
// widest gap (the BaBSR score, Bunel et al. 2020), best first.
func (o *alphaOpt) candidates(rx *relaxed, box property.Box, conj property.Conjunction, lambda []float64, n int) []neuronRef {
	if conj == nil {
		return nil
	}
	o.reset(rx, nil)
	o.bound(rx, box, conj, lambda)
	type scored struct {
		ref   neuronRef
		score float64
	}
	var top []scored
	for k := range o.coefs {
		for j, a := range o.coefs[k] {
			if a == 0 || !o.unstable(rx, k, j) {
				continue
			}
			b := rx.bounds[k][j]
			sc := math.Abs(a) * (-b.Lo * b.Hi / (b.Hi - b.Lo))
			if len(top) < n || sc > top[len(top)-1].score {
				top = append(top, scored{neuronRef{k, j}, sc})
				for i := len(top) - 1; i > 0 && top[i].score > top[i-1].score; i-- {
					top[i], top[i-1] = top[i-1], top[i]
				}
				if len(top) > n {
					top = top[:n]
				}
			}
		}
	}
	out := make([]neuronRef, len(top))
	for i, t := range top {
		out[i] = t.ref
	}
	return out
}

// forward runs the relaxed network (the lines bound chose) at the corner bound recorded, filling o.pre
// and o.post, and returns the output.
func (o *alphaOpt) forward(rx *relaxed) []float64 {
	in := o.corner
	for k := range o.net.Layers {
		l := &o.net.Layers[k]
		z, h := o.pre[k], o.post[k]
		for j := range z {
			z[j] = l.B[j] + floats.Dot(l.W[j*l.In:(j+1)*l.In], in)
			s, b := o.line(rx, k, j, o.coefs[k][j])
			h[j] = s*z[j] + b
		}
		in = h
	}
	return in
}

// optimize maximizes the mixed lower bound of the conjunction over the slopes and the mix, starting from
// CROWN's slopes and the given mix, and returns the best bound found (sound whatever the steps did) and
// its coefficients on the input (a copy).
func (o *alphaOpt) optimize(rx *relaxed, box property.Box, conj property.Conjunction, lambda0 []float64, steps int, splits []neuronSplit) (float64, []float64) {
	o.reset(rx, splits)
	lambda := append([]float64(nil), lambda0...)
	g := make([]float64, len(conj))
	best := math.Inf(-1)
	var bestCoef []float64
	for it := 0; it <= steps; it++ {
		v, coef := o.bound(rx, box, conj, lambda)
		if v > best {
			best, bestCoef = v, append(bestCoef[:0], coef...)
			if v > 0 {
				break
			}
		}
		if it == steps {
			break
		}
		y := o.forward(rx)
		// Slopes: Adam ascent, projected on [0, 1].
		t := float64(it + 1)
		for k := range o.alpha {
			for j, a := range o.coefs[k] {
				if a <= 0 || !o.unstable(rx, k, j) {
					continue
				}
				adamStep(&o.alpha[k][j], &o.m[k][j], &o.v[k][j], a*o.pre[k][j], alphaRate, t, 0, 1)
			}
		}
		// Tangent points of sigmoid and tanh, slopes of the convex activations' lower lines: Adam ascent,
		// projected on their ranges.
		for k, on := range o.tangents {
			if !on {
				continue
			}
			for j, a := range o.coefs[k] {
				if a != 0 {
					o.tangentStep(rx, k, j, a, o.pre[k][j], t)
				}
			}
		}
		// Betas: Adam ascent, projected on beta >= 0.
		for _, sp := range splits {
			k, j := sp.k, sp.j
			adamStep(&o.beta[k][j], &o.bm[k][j], &o.bv[k][j], -o.sign[k][j]*o.pre[k][j], betaRate, t, 0, math.Inf(1))
		}
		// Mix: the constraints' slacks at the relaxed output are the gradient.
		if len(conj) > 1 {
			scale := 0.0
			for j, con := range conj {
				g[j] = floats.Dot(con.Coef, y) - con.Bound
				scale = math.Max(scale, math.Abs(g[j]))
			}
			if scale > 0 {
				step := 0.5 / t / scale
				for j := range lambda {
					lambda[j] += step * g[j]
				}
				projectSimplex(lambda)
			}
		}
	}
	return best, bestCoef
}
