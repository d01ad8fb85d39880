package verify

import (
	"math"

	"github.com/birdnn/birdnn/activation"
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
	net    *nn.Network
	d      int
	absRow [][]float64 // per layer, the row sums of |W| (for the rounding margin)
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
}

func newSymbolic(net *nn.Network) *symbolic {
	d := net.Inputs()
	s := &symbolic{net: net, d: d}
	w := 0
	for k := range net.Layers {
		l := &net.Layers[k]
		row := make([]float64, l.Out)
		for j := range row {
			for _, v := range l.W[j*l.In : (j+1)*l.In] {
				row[j] += math.Abs(v)
			}
		}
		s.absRow = append(s.absRow, row)
		for _, m := range []*[][]float64{&s.zl, &s.zu, &s.hl, &s.hu} {
			*m = append(*m, make([]float64, l.Out*(d+1)))
		}
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
	for k := range net.Layers {
		l := &net.Layers[k]
		zl, zu := s.zl[k], s.zu[k]
		bounds := s.rx.bounds[k]
		for j := 0; j < l.Out; j++ {
			w := l.W[j*l.In : (j+1)*l.In]
			fl, fu := zl[j*stride:(j+1)*stride], zu[j*stride:(j+1)*stride]
			clear(fl)
			clear(fu)
			fl[d], fu[d] = l.B[j], l.B[j]
			ia, ib := l.B[j], l.B[j] // interval arithmetic on the concrete bounds of the layer below
			mag := math.Abs(l.B[j])  // size of the terms summed, for the rounding margin
			if k == 0 {
				for i, wi := range w {
					fl[i], fu[i] = wi, wi
					mag += math.Abs(wi) * xmax[i]
				}
			} else {
				if stride == 6 {
					dia, dib, dm := combine6(fl, fu, w, inl, inu, s.lo, s.hi, s.mag)
					ia, ib, mag = ia+dia, ib+dib, mag+dm
					w = nil // done
				}
				for i, wi := range w {
					if wi == 0 {
						continue
					}
					a, b := inl[i*stride:(i+1)*stride], inu[i*stride:(i+1)*stride]
					if wi < 0 {
						a, b = b, a
					}
					for t := range fl {
						fl[t] += wi * a[t]
						fu[t] += wi * b[t]
					}
					if wi > 0 {
						ia += wi * s.lo[i]
						ib += wi * s.hi[i]
					} else {
						ia += wi * s.hi[i]
						ib += wi * s.lo[i]
					}
					mag += math.Abs(wi) * s.mag[i]
				}
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

// combine6 is the inner loop of bound for functions of 5 inputs (rows of 6, ACAS Xu's shape), with the
// sums in registers (about 1.5x faster than the generic loop): it adds sum_i w_i * (lower or upper function
// of input i) to fl and fu (the lower function takes input i's lower function where w_i > 0 and its upper
// one where w_i < 0, and the other way round for fu), and returns the interval-arithmetic bounds of
// sum_i w_i h_i over [lo, hi] and the magnitude sum_i |w_i| mag_i.
func combine6(fl, fu, w, inl, inu, lo, hi, mag []float64) (ia, ib, m float64) {
	l0, l1, l2, l3, l4, l5 := fl[0], fl[1], fl[2], fl[3], fl[4], fl[5]
	u0, u1, u2, u3, u4, u5 := fu[0], fu[1], fu[2], fu[3], fu[4], fu[5]
	lo, hi, mag = lo[:len(w)], hi[:len(w)], mag[:len(w)]
	for i, wi := range w {
		if wi == 0 {
			continue
		}
		a, b := inl[i*6:i*6+6:i*6+6], inu[i*6:i*6+6:i*6+6]
		if wi > 0 {
			ia += wi * lo[i]
			ib += wi * hi[i]
			m += wi * mag[i]
		} else {
			a, b = b, a
			ia += wi * hi[i]
			ib += wi * lo[i]
			m -= wi * mag[i]
		}
		l0 += wi * a[0]
		l1 += wi * a[1]
		l2 += wi * a[2]
		l3 += wi * a[3]
		l4 += wi * a[4]
		l5 += wi * a[5]
		u0 += wi * b[0]
		u1 += wi * b[1]
		u2 += wi * b[2]
		u3 += wi * b[3]
		u4 += wi * b[4]
		u5 += wi * b[5]
	}
	fl[0], fl[1], fl[2], fl[3], fl[4], fl[5] = l0, l1, l2, l3, l4, l5
	fu[0], fu[1], fu[2], fu[3], fu[4], fu[5] = u0, u1, u2, u3, u4, u5
	return ia, ib, m
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
