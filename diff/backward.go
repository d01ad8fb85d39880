package diff

import (
	"math"

	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// Back-substitution of the difference (CROWN's backward pass over the joint system of A and the difference
// delta = z_B - z_A): an output's delta_t = W_B[t] delta + (W_B - W_A)[t] z_A + (b_B - b_A)[t] is carried
// back layer by layer to a linear function of the input, each hidden neuron's post-activation delta and
// z_A replaced by the side of its linear relaxation the coefficient's sign asks for, then through the
// layer below by delta = W_B delta' + (W_B - W_A) z_A' + (b_B - b_A) and z_A = W_A z_A' + b_A. The
// forward pass (symbolic.go) supplies every neuron's bounds; the backward pass only bounds the outputs,
// and is tighter than the forward functions because a neuron's relaxation is chosen for the output it
// serves and the errors of several neurons are never concretized on the way. Floating-point rounding: each
// step adds relMargin times the sum of the magnitudes it combines (every product's rounding is far
// smaller), so the bound holds for the computer's arithmetic as well as for exact arithmetic.

// line is s*v + k.
type line struct{ s, k float64 }

// relaxed is one hidden neuron's linear relaxations in its pre-activation values: A's activation between
// aLo and aHi in z_A, the difference of the two activations between dLo and dHi in delta; zMag and dMag
// bound |z_A| and |delta| before the activation.
type relaxed struct {
	aLo, aHi, dLo, dHi line
	zMag, dMag         float64
}

// reluRelax is a ReLU neuron's relaxations from A's bounds [l, u], B's [lb, ub] and delta's [dl, du]. A's
// is DeepPoly's. The difference relu(z_A + delta) - relu(z_A) is exact where both are stable; otherwise it
// lies between min(delta, 0) and max(delta, 0), and is at least delta where A is active (relu(z_B) >=
// z_B) and at most delta where B is (z_A <= relu(z_A)); the envelopes are replaced by their chords over
// [dl, du] (NeuroDiff's convex approximation), or by the gap of the two networks' own bounds where that
// is tighter at the line's worst.
func reluRelax(l, u, lb, ub, dl, du float64) relaxed {
	r := relaxed{zMag: math.Max(math.Abs(l), math.Abs(u)), dMag: math.Max(math.Abs(dl), math.Abs(du))}
	switch {
	case l >= 0:
		r.aLo, r.aHi = line{1, 0}, line{1, 0}
	case u <= 0:
	default:
		s := u / (u - l)
		r.aHi = line{s, -s*l + relMargin*(math.Abs(s*l)+u) + absMargin}
		if u > -l {
			r.aLo = line{1, 0}
		}
	}
	switch {
	case l >= 0 && lb >= 0:
		r.dLo, r.dHi = line{1, 0}, line{1, 0}
		return r
	case u <= 0 && ub <= 0:
		return r
	}
	m := relMargin*(math.Abs(dl)+math.Abs(du)) + absMargin
	switch {
	case l >= 0 || du <= 0:
		r.dLo = line{1, 0}
	case dl >= 0:
	default:
		s := -dl / (du - dl)
		r.dLo = line{s, dl*du/(du-dl) - m}
	}
	switch {
	case lb >= 0 || dl >= 0:
		r.dHi = line{1, 0}
	case du <= 0:
	default:
		s := du / (du - dl)
		r.dHi = line{s, -du*dl/(du-dl) + m}
	}
	gl, gu := math.Max(lb, 0)-math.Max(u, 0), math.Max(ub, 0)-math.Max(l, 0)
	r.dLo, r.dHi = capLines(r.dLo, r.dHi, dl, du, gl, gu)
	return r
}

// capLines replaces a side by the constant gl (below) or gu (above) where the line is worse than that
// constant at its worst over [dl, du].
func capLines(lo, hi line, dl, du, gl, gu float64) (line, line) {
	if lo.k+math.Min(lo.s*dl, lo.s*du) < gl {
		lo = line{0, gl}
	}
	if hi.k+math.Max(hi.s*dl, hi.s*du) > gu {
		hi = line{0, gu}
	}
	return lo, hi
}

// smoothRelax is smoothNeuron's relaxations as lines (see there): A's through act.Relax, the difference
// f'(ξ) delta with f' in [sLo, sHi].
func smoothRelax(f smoothFacts, l, u, dl, du float64) relaxed {
	r := relaxed{zMag: math.Max(math.Abs(l), math.Abs(u)), dMag: math.Max(math.Abs(dl), math.Abs(du))}
	if !f.spread {
		m := smoothMargin*math.Abs(f.v) + absMargin
		r.aLo, r.aHi = line{0, f.v - m}, line{0, f.v + m}
	} else {
		r.aLo, r.aHi = line{f.relax.LowerSlope, f.relax.LowerIntercept}, line{f.relax.UpperSlope, f.relax.UpperIntercept}
	}
	sLo, sHi := f.sLo, f.sHi
	switch {
	case dl >= 0:
		r.dLo, r.dHi = line{sLo, 0}, line{sHi, 0}
	case du <= 0:
		r.dLo, r.dHi = line{sHi, 0}, line{sLo, 0}
	default:
		lo, hi := chords(sLo, sHi, dl, du)
		m := relMargin*(math.Abs(lo.k)+math.Abs(hi.k)+(lo.s+hi.s)*r.dMag) + absMargin
		lo.k -= m
		hi.k += m
		r.dLo, r.dHi = lo, hi
	}
	r.dLo, r.dHi = capLines(r.dLo, r.dHi, dl, du, f.gl, f.gu)
	return r
}

// inputs is what back-substitution needs of a box's inputs: their magnitudes, the free ones (hi > lo),
// and, when some are fixed, layer 0's fixed part of each neuron folded into a constant once a box, so
// that an image with 20 free pixels costs 20 columns at layer 0, not 784.
type inputs struct {
	box  property.Box
	xm   []float64 // max |x_i| over the box
	free []int     // the columns back-substitution carries to the input (all unless some are folded)
	// Per layer-0 neuron j: sum over fixed i of W_A[j,i] x_i and W_B[j,i] x_i, and of |W_A[j,i]| |x_i|
	// and |W_B[j,i]| |x_i| (the rounding of the products and sums they replace is charged on these); nil
	// when nothing is folded.
	fa, fb, ma, mb []float64
}

// foldFixed folds the fixed inputs into layer 0's constants (a test turns it off to compare).
var foldFixed = true

// newInputs prepares the box's inputs for back-substitution through a and b.
func newInputs(a, b *nn.Network, box property.Box) *inputs {
	in := &inputs{box: box, xm: make([]float64, box.Dim())}
	var fixed []int
	for i := range in.xm {
		in.xm[i] = math.Max(math.Abs(box.Lo[i]), math.Abs(box.Hi[i]))
		if box.Hi[i] > box.Lo[i] {
			in.free = append(in.free, i)
		} else {
			fixed = append(fixed, i)
		}
	}
	if len(fixed) == 0 || !foldFixed {
		in.free = in.free[:0]
		for i := range in.xm {
			in.free = append(in.free, i)
		}
		return in
	}
	la, lb := &a.Layers[0], &b.Layers[0]
	n := la.In
	in.fa, in.fb = make([]float64, la.Out), make([]float64, la.Out)
	in.ma, in.mb = make([]float64, la.Out), make([]float64, la.Out)
	for j := 0; j < la.Out; j++ {
		wa, wb := la.W[j*n:(j+1)*n], lb.W[j*n:(j+1)*n]
		for _, i := range fixed {
			x := box.Lo[i]
			in.fa[j] += wa[i] * x
			in.fb[j] += wb[i] * x
			in.ma[j] += math.Abs(wa[i]) * in.xm[i]
			in.mb[j] += math.Abs(wb[i]) * in.xm[i]
		}
	}
	return in
}

// backward bounds the pre-activation difference B - A of neuron t of layer k (output t when k is the last
// layer) over the box of in by back-substitution through the relaxations rel of the hidden layers below
// it (rel[k][j] for hidden layer k's neuron j), given bounds on the magnitudes of every hidden layer's
// post-activation values (zm[k][j] for z_A, dm[k][j] for delta).
func backward(a, b *nn.Network, in *inputs, rel [][]relaxed, zm, dm [][]float64, k, t int) (lo, hi float64) {
	return backwardSide(a, b, in, rel, zm, dm, k, t, 1), -backwardSide(a, b, in, rel, zm, dm, k, t, -1)
}

// backwardSide returns a lower bound of sign * delta over the box for neuron t of layer top.
func backwardSide(a, b *nn.Network, in *inputs, rel [][]relaxed, zm, dm [][]float64, top, t int, sign float64) float64 {
	L := top + 1
	la, lb := &a.Layers[L-1], &b.Layers[L-1]
	n := la.In
	gD, gA := make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		wb := lb.W[t*n+i]
		gD[i] = sign * wb
		gA[i] = sign * (wb - la.W[t*n+i])
	}
	c := sign * (lb.B[t] - la.B[t])
	slack := relMargin*(math.Abs(lb.B[t])+math.Abs(la.B[t])) + absMargin
	for i := 0; i < n; i++ {
		slack += relMargin * (math.Abs(lb.W[t*n+i]) + math.Abs(la.W[t*n+i])) * zm[L-2][i]
	}
	for k := L - 2; k >= 0; k-- {
		// Post-activation to pre-activation values of hidden layer k.
		for j, r := range rel[k] {
			d := r.dLo
			if gD[j] < 0 {
				d = r.dHi
			}
			z := r.aLo
			if gA[j] < 0 {
				z = r.aHi
			}
			c += gD[j]*d.k + gA[j]*z.k
			slack += relMargin * (math.Abs(gD[j]*d.s)*r.dMag + math.Abs(gA[j]*z.s)*r.zMag + math.Abs(gD[j]*d.k) + math.Abs(gA[j]*z.k))
			gD[j] *= d.s
			gA[j] *= z.s
		}
		// Through layer k: delta = W_B delta' + (W_B - W_A) z' + (b_B - b_A), z = W_A z' + b_A.
		la, lb := &a.Layers[k], &b.Layers[k]
		n := la.In
		nD, nA := make([]float64, n), make([]float64, n)
		// Layer 0 carries the free columns only (every column unless the fixed ones are folded into the
		// constant); the layers above carry every neuron.
		first := k == 0
		for j := 0; j < la.Out; j++ {
			ed, ea := gD[j], gA[j]
			if ed == 0 && ea == 0 {
				continue
			}
			c += ed*(lb.B[j]-la.B[j]) + ea*la.B[j]
			slack += relMargin * (math.Abs(ed)*(math.Abs(lb.B[j])+math.Abs(la.B[j])) + math.Abs(ea*la.B[j]))
			wa, wb := la.W[j*n:(j+1)*n], lb.W[j*n:(j+1)*n]
			if first {
				if in.fa != nil {
					c += ed*(in.fb[j]-in.fa[j]) + ea*in.fa[j]
					slack += relMargin * (math.Abs(ed)*(in.mb[j]+in.ma[j]) + math.Abs(ea)*in.ma[j])
				}
				for _, i := range in.free {
					nD[i] += ed * wb[i]
					nA[i] += ed*(wb[i]-wa[i]) + ea*wa[i]
				}
				continue
			}
			for i := range nD {
				nD[i] += ed * wb[i]
				nA[i] += ed*(wb[i]-wa[i]) + ea*wa[i]
			}
		}
		// The rounding of those sums: every product's magnitude, times the value it multiplies (the layer
		// below's post-activation values and differences, or the input, which has no difference; the
		// fixed inputs' share is charged above).
		for j := 0; j < la.Out; j++ {
			ed, ea := math.Abs(gD[j]), math.Abs(gA[j])
			if ed == 0 && ea == 0 {
				continue
			}
			wa, wb := la.W[j*n:(j+1)*n], lb.W[j*n:(j+1)*n]
			s := 0.0
			if first {
				for _, i := range in.free {
					s += (ed*(math.Abs(wb[i])+math.Abs(wa[i])) + ea*math.Abs(wa[i])) * in.xm[i]
				}
			} else {
				pz, pd := zm[k-1], dm[k-1]
				for i := range wa {
					s += (ed*(math.Abs(wb[i])+math.Abs(wa[i])) + ea*math.Abs(wa[i])) * pz[i]
					s += ed * math.Abs(wb[i]) * pd[i]
				}
			}
			slack += relMargin * s
		}
		gD, gA = nD, nA
	}
	// The input: no difference, z_A = x (only the free columns are nonzero when the fixed ones are folded).
	v := c
	mag := math.Abs(c)
	for i, g := range gA {
		if g == 0 {
			continue
		}
		x := in.box.Lo[i]
		if g < 0 {
			x = in.box.Hi[i]
		}
		v += g * x
		mag += math.Abs(g) * in.xm[i]
	}
	return v - slack - relMargin*mag - absMargin
}
