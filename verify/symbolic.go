package verify

import (
	"math"

	"gonum.org/v1/gonum/blas"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/internal/gemm"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// symbolic computes pre-activation bounds by forward propagation of linear bounds in the input (symbolic
// intervals, as in ReluVal and Neurify, or CROWN's forward mode): every neuron carries a lower and an
// upper affine function of the input, so a layer costs Out*In*(d+1) multiply-adds for an input of d
// dimensions, where back-substitution for every neuron costs Out*In per layer below. On networks with few
// inputs, such as ACAS Xu (5), it is an order of magnitude cheaper; the objective is then bounded by one
// back-substitution, which is tighter.
//
// A workspace holds every buffer, so bounding a box allocates nothing beyond the relaxations it returns.
type symbolic struct {
	net *nn.Network
	d   int
	// Per layer, the lower and upper functions of the pre-activation (Out rows of d+1: coefficients then
	// constant), and of the post-activation.
	zl, zu, hl, hu [][]float64
	// Magnitudes of the post-activation functions over the box, for the rounding margin.
	mag []float64
	rx  relaxed
	// parallel relaxes sigmoid and tanh across the inflection point with parallel lines
	// (activation.RelaxParallel) instead of Relax's.
	parallel bool
	lo       []float64 // IBP scratch: lower and upper bounds of the previous layer's outputs
	hi       []float64
	nlo      []float64
	nhi      []float64
	// wPos and wNeg are each layer's weights split by sign (W = wPos + wNeg), and pos, neg and sums the
	// matrices of a layer's step (combine).
	wPos, wNeg     [][]float64
	pos, neg, sums []float64
}

func newSymbolic(net *nn.Network) *symbolic {
	d := net.Inputs()
	s := &symbolic{net: net, d: d}
	w := 0
	for k := range net.Layers {
		l := &net.Layers[k]
		for _, m := range []*[][]float64{&s.zl, &s.zu, &s.hl, &s.hu} {
			*m = append(*m, make([]float64, l.Out*(d+1)))
		}
		wp, wn := make([]float64, len(l.W)), make([]float64, len(l.W))
		for i, v := range l.W {
			if v > 0 {
				wp[i] = v
			} else {
				wn[i] = v
			}
		}
		s.wPos, s.wNeg = append(s.wPos, wp), append(s.wNeg, wn)
		s.rx.bounds = append(s.rx.bounds, make([]Interval, l.Out))
		s.rx.relax = append(s.rx.relax, make([]activation.Relaxation, l.Out))
		w = max(w, l.Out, l.In)
	}
	s.mag = make([]float64, w)
	s.lo, s.hi, s.nlo, s.nhi = make([]float64, w), make([]float64, w), make([]float64, w), make([]float64, w)
	return s
}

// bound fills s.rx with sound pre-activation bounds and relaxations for every layer over box: the tighter
// of interval arithmetic and the symbolic bounds at each neuron. The result is valid until the next call.
//
// When parent is not nil it holds bounds that are valid on the box (computed over a box that contains
// it); each neuron keeps the tighter of its own and the parent's, before its relaxation is chosen.
func (s *symbolic) bound(box property.Box, parent [][]Interval) *relaxed {
	d := s.d
	stride := d + 1
	net := s.net
	// xmax[i] = max |x_i| over the box: the size of an input term, for margins.
	var xmaxBuf [16]float64
	xmax := xmaxBuf[:0]
	if d > len(xmaxBuf) {
		xmax = make([]float64, 0, d)
	}
	for i := 0; i < d; i++ {
		xmax = append(xmax, math.Max(math.Abs(box.Lo[i]), math.Abs(box.Hi[i])))
	}
	copy(s.lo, box.Lo)
	copy(s.hi, box.Hi)
	var inl, inu []float64 // the input layer's functions are the identity: handled without a matrix
	cols := 2*stride + 3   // a row of combine's result: fl, fu, ia, ib, mag
	for k := range net.Layers {
		l := &net.Layers[k]
		zl, zu := s.zl[k], s.zu[k]
		bounds := s.rx.bounds[k]
		if k > 0 {
			s.combine(k, inl, inu)
		}
		for j := 0; j < l.Out; j++ {
			fl, fu := zl[j*stride:(j+1)*stride], zu[j*stride:(j+1)*stride]
			var ia, ib, mag float64 // interval arithmetic on the concrete bounds of the layer below, and
			// the size of the terms summed, for the rounding margin
			if k == 0 {
				clear(fl)
				clear(fu)
				fl[d], fu[d] = l.B[j], l.B[j]
				mag = math.Abs(l.B[j])
				for i, wi := range l.W[j*l.In : (j+1)*l.In] {
					fl[i], fu[i] = wi, wi
					mag += math.Abs(wi) * xmax[i]
				}
			} else {
				r := s.sums[j*cols : (j+1)*cols]
				copy(fl, r[:stride])
				copy(fu, r[stride:2*stride])
				fl[d] += l.B[j]
				fu[d] += l.B[j]
				ia, ib = r[2*stride]+l.B[j], r[2*stride+1]+l.B[j]
				mag = r[2*stride+2] + math.Abs(l.B[j])
			}
			// Rounding of the sums above moves each function by at most relMargin*mag over the box.
			e := relMargin*mag*float64(k+2) + absMargin
			fl[d] -= e
			fu[d] += e
			lo, hi, m := concretize(fl, fu, box, xmax)
			lo, hi = widen(lo, m, true), widen(hi, m, false)
			if k > 0 {
				lo = math.Max(lo, widen(ia, mag, true))
				hi = math.Min(hi, widen(ib, mag, false))
			}
			if parent != nil {
				lo, hi = math.Max(lo, parent[k][j].Lo), math.Min(hi, parent[k][j].Hi)
			}
			bounds[j] = Interval{lo, hi}
		}
		// Relax the activations and form the functions of the post-activations.
		hl, hu := s.hl[k], s.hu[k]
		relax := s.rx.relax[k]
		for j := 0; j < l.Out; j++ {
			b := bounds[j]
			var r activation.Relaxation
			if s.parallel {
				r = l.Act.RelaxParallel(b.Lo, b.Hi)
			} else {
				r = relaxOne(l.Act, b.Lo, b.Hi)
			}
			relax[j] = r
			s.nlo[j], s.nhi[j] = postBounds(l, b)
			fl, fu := zl[j*stride:(j+1)*stride], zu[j*stride:(j+1)*stride]
			gl, gu := hl[j*stride:(j+1)*stride], hu[j*stride:(j+1)*stride]
			applyLine(gl, r.LowerSlope, r.LowerIntercept, fl, fu)
			applyLine(gu, r.UpperSlope, r.UpperIntercept, fu, fl)
			// Size of the post-activation functions' values, and the rounding of applying the lines.
			_, _, ml := concretize(gl, gl, box, xmax)
			_, _, mu := concretize(gu, gu, box, xmax)
			mm := math.Max(ml, mu)
			e := relMargin*mm + absMargin
			gl[d] -= e
			gu[d] += e
			s.mag[j] = mm + e
		}
		copy(s.lo, s.nlo[:l.Out])
		copy(s.hi, s.nhi[:l.Out])
		inl, inu = hl, hu
	}
	return &s.rx
}

// combine computes, for every neuron j of layer k (k > 0), a row of s.sums: sum_i w_ji * (lower function
// of input i where w_ji > 0, upper where w_ji < 0), the same with lower and upper exchanged, the
// interval-arithmetic bounds of sum_i w_ji h_i over [s.lo, s.hi], and the magnitude sum_i |w_ji| s.mag[i]
// (rows of 2(d+1) + 3; the bias is left out). With W split by sign, W = P + N, that is two matrix products
// (internal/gemm): sums = P [inl inu lo hi mag] + N [inu inl hi lo -mag], a row of each matrix per input i.
func (s *symbolic) combine(k int, inl, inu []float64) {
	l := &s.net.Layers[k]
	stride := s.d + 1
	cols := 2*stride + 3
	pos, neg, sums := grow(&s.pos, l.In*cols), grow(&s.neg, l.In*cols), grow(&s.sums, l.Out*cols)
	for i := 0; i < l.In; i++ {
		a, b := inl[i*stride:(i+1)*stride], inu[i*stride:(i+1)*stride]
		p, n := pos[i*cols:(i+1)*cols], neg[i*cols:(i+1)*cols]
		copy(p, a)
		copy(p[stride:], b)
		copy(n, b)
		copy(n[stride:], a)
		p[2*stride], p[2*stride+1], p[2*stride+2] = s.lo[i], s.hi[i], s.mag[i]
		n[2*stride], n[2*stride+1], n[2*stride+2] = s.hi[i], s.lo[i], -s.mag[i]
	}
	impl := gemm.Implementation{Serial: true}
	impl.Dgemm(blas.NoTrans, blas.NoTrans, l.Out, cols, l.In, 1, s.wPos[k], l.In, pos, cols, 0, sums, cols)
	impl.Dgemm(blas.NoTrans, blas.NoTrans, l.Out, cols, l.In, 1, s.wNeg[k], l.In, neg, cols, 1, sums, cols)
}

// applyLine sets g to slope*f + intercept, where f is the function that bounds the pre-activation on the
// side the line needs: same (the lower function for a lower line) when slope >= 0, other otherwise.
func applyLine(g []float64, slope, intercept float64, same, other []float64) {
	f := same
	if slope < 0 {
		f = other
	}
	for t := range g {
		g[t] = slope * f[t]
	}
	g[len(g)-1] += intercept
}

// concretize returns the minimum of fl and the maximum of fu over the box, and the magnitude of the terms.
func concretize(fl, fu []float64, box property.Box, xmax []float64) (lo, hi, mag float64) {
	d := len(fl) - 1
	lo, hi = fl[d], fu[d]
	mag = math.Max(math.Abs(fl[d]), math.Abs(fu[d]))
	for i := 0; i < d; i++ {
		a, b := fl[i], fu[i]
		if a >= 0 {
			lo += a * box.Lo[i]
		} else {
			lo += a * box.Hi[i]
		}
		if b >= 0 {
			hi += b * box.Hi[i]
		} else {
			hi += b * box.Lo[i]
		}
		mag += math.Max(math.Abs(a), math.Abs(b)) * xmax[i]
	}
	return lo, hi, mag
}

// relaxOne is Relax with a fast path for relu, the verifier's inner loop.
func relaxOne(a activation.Activation, l, u float64) activation.Relaxation {
	if a.Name == "relu" {
		switch {
		case l >= 0:
			return activation.Relaxation{LowerSlope: 1, UpperSlope: 1}
		case u <= 0:
			return activation.Relaxation{}
		}
		s := u / (u - l)
		lo := 0.0
		if u > -l {
			lo = 1
		}
		return activation.Relaxation{LowerSlope: lo, UpperSlope: s, UpperIntercept: -s * l}
	}
	return a.Relax(l, u)
}
