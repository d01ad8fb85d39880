package nn

import (
	"fmt"

	"github.com/birdnn/birdnn/activation"
)

// Lower returns a network of dense layers only that computes the same function as n in exact
// arithmetic, for the tools that take dense layers (the verifier's bounds):
//   - a convolution becomes the dense layer of its matrix (mostly zeros), with its activation;
//   - an average pooling, which is linear, is merged into the next layer's weights;
//   - a max pooling becomes ReLU layers, a tournament over each window by
//     max(a, b) = relu(a - b) + relu(b) - relu(-b), one layer a round (ceil(log2(KH*KW)) of them), its
//     last sums merged into the next layer. Where the pooled values cannot be negative (outputs of a
//     ReLU or sigmoid layer, or pools of them) relu(b) = b and the relu(-b) neurons are left out.
//
// A network that ends in a pooling layer gets a final linear layer. The lowered network's weights are
// exact copies or exact sums of n's (a weight times 1/(KH*KW) for average pooling), so bounds proved for
// it hold for n's real-valued function; its float64 outputs may differ from n's in the last bits.
func Lower(n *Network) (*Network, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	lw := &lowering{cur: n.Inputs()}
	for k := range n.Layers {
		l := &n.Layers[k]
		switch l.Kind {
		case Dense:
			lw.affine(l.Out, func(j int, add func(i int, w float64)) float64 {
				for i, w := range l.W[j*l.In : (j+1)*l.In] {
					add(i, w)
				}
				return l.B[j]
			}, l.Act)
		case Conv:
			g := l.Geom
			lw.affine(l.Out, func(j int, add func(i int, w float64)) float64 {
				o, oh, ow := j/(g.OutH*g.OutW), j/g.OutW%g.OutH, j%g.OutW
				for c := 0; c < g.InC; c++ {
					for a := 0; a < g.KH; a++ {
						for b := 0; b < g.KW; b++ {
							ih, iw := oh*g.Stride+a-g.Pad, ow*g.Stride+b-g.Pad
							if ih < 0 || iw < 0 || ih >= g.InH || iw >= g.InW {
								continue
							}
							add((c*g.InH+ih)*g.InW+iw, l.W[((o*g.InC+c)*g.KH+a)*g.KW+b])
						}
					}
				}
				return l.B[o]
			}, l.Act)
		case AvgPool:
			g := l.Geom
			per := 1 / float64(g.KH*g.KW)
			next := make([]form, l.Out)
			for j := range next {
				for _, i := range g.window(j) {
					next[j] = next[j].plus(lw.input(i), per)
				}
			}
			lw.pending = next
		case MaxPool:
			g := l.Geom
			terms := make([][]form, l.Out)
			for j := range terms {
				for _, i := range g.window(j) {
					terms[j] = append(terms[j], lw.input(i))
				}
			}
			lw.tournament(terms)
		default:
			return nil, fmt.Errorf("lower: layer %d: unknown kind %d", k, int(l.Kind))
		}
	}
	if lw.pending != nil {
		lw.emit(lw.pending, activation.Identity)
	}
	out := &Network{Layers: lw.layers, Norm: n.Norm}
	return out, out.Validate()
}

// window lists the input indices of pooling output j's window.
func (g Geom) window(j int) []int {
	c, oh, ow := j/(g.OutH*g.OutW), j/g.OutW%g.OutH, j%g.OutW
	var out []int
	for a := 0; a < g.KH; a++ {
		for b := 0; b < g.KW; b++ {
			out = append(out, (c*g.InH+oh*g.Stride+a)*g.InW+ow*g.Stride+b)
		}
	}
	return out
}

// form is a sparse linear form c + sum_k val[k] * x[idx[k]] over the last emitted layer's outputs.
type form struct {
	idx []int
	val []float64
	c   float64
}

// plus returns f + s*g (a new form; f is not modified).
func (f form) plus(g form, s float64) form {
	out := form{idx: append([]int(nil), f.idx...), val: append([]float64(nil), f.val...), c: f.c + s*g.c}
	for k, i := range g.idx {
		out.idx, out.val = append(out.idx, i), append(out.val, s*g.val[k])
	}
	return out
}

// lowering is the state of Lower: the dense layers emitted so far and, when pending is not nil, the
// linear forms (over the last emitted layer's outputs) that stand for the current values.
type lowering struct {
	layers  []Layer
	cur     int    // outputs of the last emitted layer (the network's inputs at first)
	pending []form // nil: the current values are the last emitted layer's outputs themselves
	nonneg  bool   // the current values cannot be negative
}

// input returns current value i as a form.
func (lw *lowering) input(i int) form {
	if lw.pending != nil {
		return lw.pending[i]
	}
	return form{idx: []int{i}, val: []float64{1}}
}

// affine emits a layer of out neurons with activation act, neuron j being bias + sum of w * current
// value i over the pairs row adds, composed with the pending forms.
func (lw *lowering) affine(out int, row func(j int, add func(i int, w float64)) float64, act activation.Activation) {
	l := Layer{In: lw.cur, Out: out, W: make([]float64, out*lw.cur), B: make([]float64, out), Act: act}
	for j := 0; j < out; j++ {
		w, c := l.W[j*lw.cur:(j+1)*lw.cur], 0.0 // c: the pending forms' constants, weighted
		bias := row(j, func(i int, v float64) {
			if lw.pending == nil {
				w[i] += v
				return
			}
			f := &lw.pending[i]
			for k, idx := range f.idx {
				w[idx] += v * f.val[k]
			}
			c += v * f.c
		})
		l.B[j] = bias + c
	}
	lw.layers = append(lw.layers, l)
	lw.cur, lw.pending = out, nil
	lw.nonneg = act.String() == activation.ReLU.String() || act.String() == activation.Sigmoid.String()
}

// emit appends the dense layer whose neuron j computes act(forms[j]); the current values become its
// outputs.
func (lw *lowering) emit(forms []form, act activation.Activation) {
	l := Layer{In: lw.cur, Out: len(forms), W: make([]float64, len(forms)*lw.cur), B: make([]float64, len(forms)), Act: act}
	for j, f := range forms {
		for k, i := range f.idx {
			l.W[j*lw.cur+i] += f.val[k]
		}
		l.B[j] = f.c
	}
	lw.layers = append(lw.layers, l)
	lw.cur, lw.pending = len(forms), nil
}

// tournament lowers the maxima of the groups of terms: each round emits one ReLU layer that takes the
// maximum of each pair (the odd one out passes through) until one form a group is left, which becomes
// the pending forms.
func (lw *lowering) tournament(groups [][]form) {
	relu := activation.ReLU
	for {
		longest := 0
		for _, g := range groups {
			longest = max(longest, len(g))
		}
		if longest <= 1 {
			break
		}
		var rows []form
		next := make([][]form, len(groups))
		// neuron appends a neuron computing relu(f) and returns its index.
		neuron := func(f form) int {
			rows = append(rows, f)
			return len(rows) - 1
		}
		unit := func(i int, s float64) form { return form{idx: []int{i}, val: []float64{s}} }
		// pass returns a form over the new layer equal to f: relu(f) (- relu(-f)).
		pass := func(f form) form {
			out := unit(neuron(f), 1)
			if !lw.nonneg {
				out = out.plus(unit(neuron(form{}.plus(f, -1)), 1), -1)
			}
			return out
		}
		for gi, g := range groups {
			for p := 0; p+1 < len(g); p += 2 {
				d := neuron(g[p].plus(g[p+1], -1)) // relu(a - b)
				next[gi] = append(next[gi], pass(g[p+1]).plus(unit(d, 1), 1))
			}
			if len(g)%2 == 1 {
				next[gi] = append(next[gi], pass(g[len(g)-1]))
			}
		}
		lw.emit(rows, relu)
		groups = next
	}
	lw.pending = make([]form, len(groups))
	for j, g := range groups {
		lw.pending[j] = g[0]
	}
}
