package nn

import (
	"fmt"
	"math"

	"github.com/birdnn/birdnn/property"
)

// BoxPatch is one local patch: Offset is added to the network's outputs on Box, and fades to nothing
// outside it (see Patch).
type BoxPatch struct {
	Box    property.Box
	Offset []float64
}

// Patch returns n with local patches added beside its neurons: for each patch, a box indicator s(x) that
// is 1 on the patch's box, 0 once an input is Band[i] or more outside it along some input i (summed over
// the inputs: s(x) = relu(1 - sum_i (relu(lo_i - x_i) + relu(x_i - hi_i)) / Band[i])), and linear in
// between; the outputs gain s(x) times the patch's offset. The indicator takes 2 x inputs neurons in the
// first hidden layer and one in each later one (relu passes s, which is in [0, 1], unchanged). Where
// every s is 0 (from Band outside its box on, up to rounding) the patched network computes exactly what n
// does: the original neurons and weights are kept, and the added terms are exact zeros. On a box s is 1
// (the first layer's rows compute x_i*c - lo_i*c, which is 0 or below for x_i >= lo_i up to rounding). n
// must be fully connected with at least two hidden layers, every hidden layer relu; the boxes must be
// finite and Band positive. A verifier checks the patched network as it is; none of this is assumed.
func Patch(n *Network, patches []BoxPatch, band []float64) (*Network, error) {
	d, m, L := n.Inputs(), n.Outputs(), len(n.Layers)
	if L < 3 {
		return nil, fmt.Errorf("patch: the network has %d hidden layers; the box indicator needs two", L-1)
	}
	for k, l := range n.Layers {
		if l.Kind != Dense {
			return nil, fmt.Errorf("patch: layer %d: %w", k, ErrNotDense)
		}
		if k < L-1 && l.Act.Name != "relu" {
			return nil, fmt.Errorf("patch: hidden layer %d is %s; the box indicator needs relu hidden layers", k, l.Act.Name)
		}
	}
	if len(band) != d {
		return nil, fmt.Errorf("patch: %d band widths for %d inputs", len(band), d)
	}
	for i, w := range band {
		if !(w > 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("patch: band width %d is %g; want a positive finite width", i, w)
		}
	}
	for p, pt := range patches {
		if len(pt.Box.Lo) != d || len(pt.Box.Hi) != d {
			return nil, fmt.Errorf("patch %d: its box has %d and %d bounds for %d inputs", p, len(pt.Box.Lo), len(pt.Box.Hi), d)
		}
		if len(pt.Offset) != m {
			return nil, fmt.Errorf("patch %d: %d offsets for %d outputs", p, len(pt.Offset), m)
		}
		for i := range d {
			if lo, hi := pt.Box.Lo[i], pt.Box.Hi[i]; math.IsInf(lo, 0) || math.IsInf(hi, 0) || math.IsNaN(lo) || math.IsNaN(hi) || lo > hi {
				return nil, fmt.Errorf("patch %d: input %d's bounds [%g, %g] are not a finite interval", p, i, lo, hi)
			}
		}
		for o, v := range pt.Offset {
			if math.IsInf(v, 0) || math.IsNaN(v) {
				return nil, fmt.Errorf("patch %d: offset %d is %g", p, o, v)
			}
		}
	}
	P := len(patches)
	out := &Network{Layers: make([]Layer, L), Norm: (&Network{Norm: n.Norm}).Clone().Norm}
	// extra is how many indicator neurons each layer's output gains (2d per patch in layer 0, one later).
	extra := func(k int) int {
		switch {
		case k == 0:
			return 2 * d * P
		case k < L-1:
			return P
		}
		return 0
	}
	for k, l := range n.Layers {
		in, ext := l.In, extra(k)
		if k > 0 {
			in += extra(k - 1)
		}
		nl := Layer{In: in, Out: l.Out + ext, Act: l.Act, W: make([]float64, (l.Out+ext)*in), B: make([]float64, l.Out+ext)}
		for j := range l.Out {
			copy(nl.W[j*in:j*in+l.In], l.W[j*l.In:(j+1)*l.In])
			nl.B[j] = l.B[j]
		}
		for p, pt := range patches {
			switch {
			case k == 0:
				// rows (l.Out + 2d p + 2i, +1): relu((lo_i - x_i)/w_i) and relu((x_i - hi_i)/w_i).
				for i := range d {
					r := l.Out + 2*d*p + 2*i
					c := -1 / band[i]
					nl.W[r*in+i], nl.B[r] = c, -(pt.Box.Lo[i] * c)
					c = 1 / band[i]
					nl.W[(r+1)*in+i], nl.B[r+1] = c, -(pt.Box.Hi[i] * c)
				}
			case k == 1:
				r := l.Out + p
				for t := range 2 * d {
					nl.W[r*in+l.In+2*d*p+t] = -1
				}
				nl.B[r] = 1
			case k < L-1:
				r := l.Out + p
				nl.W[r*in+l.In+p] = 1
			default:
				for o := range m {
					nl.W[o*in+l.In+p] = pt.Offset[o]
				}
			}
		}
		out.Layers[k] = nl
	}
	return out, nil
}
