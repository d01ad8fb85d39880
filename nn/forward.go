package nn

import (
	"math"

	"gonum.org/v1/gonum/blas"

	"github.com/birdnn/birdnn/internal/gemm"
)

// gemmMinBatch is the batch size from which the forward pass uses a matrix product instead of plain loops.
const gemmMinBatch = 16

// Forward evaluates the network on a batch of inputs, stored row-major (one input of n.Inputs() values a
// row), and returns the outputs row-major. It allocates one buffer a layer, the last being the result.
func (n *Network) Forward(x []float64) []float64 {
	return n.forward(0, x, nil)
}

// Trace evaluates the network on a batch and returns every layer's post-activation values: Trace(x)[k]
// holds layer k's outputs row-major, and the last entry is the network's output.
func (n *Network) Trace(x []float64) [][]float64 {
	acts := make([][]float64, len(n.Layers))
	n.forward(0, x, acts)
	return acts
}

// forward runs layers k, k+1, ... on h, a batch of inputs to layer k, saving each layer's output in
// acts[layer] when acts is not nil, and returns the network's outputs.
func (n *Network) forward(k int, h []float64, acts [][]float64) []float64 {
	batch := len(h) / n.Layers[k].In
	cur := h
	for ; k < len(n.Layers); k++ {
		l := &n.Layers[k]
		out := make([]float64, batch*l.Out)
		l.apply(cur, out, batch, nil)
		l.Act.ApplyAll(out) // on every core for large batches
		if acts != nil {
			acts[k] = out
		}
		cur = out
	}
	return cur
}

// apply writes the layer's pre-activation outputs for each of batch rows of in into out: W*in + B, the
// convolution plus bias, or the pooling; arg records max pooling's winners when not nil.
func (l *Layer) apply(in, out []float64, batch int, arg []int) {
	switch l.Kind {
	case Conv:
		l.conv(in, out, batch)
	case MaxPool, AvgPool:
		l.pool(in, out, batch, arg)
	default:
		l.affine(in, out, batch)
	}
}

// affine writes W*in + B for each of batch rows of in into out.
func (l *Layer) affine(in, out []float64, batch int) {
	if batch >= gemmMinBatch {
		for r := 0; r < batch; r++ {
			copy(out[r*l.Out:(r+1)*l.Out], l.B)
		}
		// out (batch x Out) += in (batch x In) * W^T (In x Out); the product packs W^T itself.
		gemm.Implementation{}.Dgemm(blas.NoTrans, blas.Trans, batch, l.Out, l.In, 1, in, l.In, l.W, l.In, 1, out, l.Out)
		return
	}
	for r := 0; r < batch; r++ {
		xin := in[r*l.In : (r+1)*l.In]
		o := out[r*l.Out : (r+1)*l.Out]
		for j := 0; j < l.Out; j++ {
			w := l.W[j*l.In : (j+1)*l.In]
			s := l.B[j]
			for i, v := range xin {
				s += w[i] * v
			}
			o[j] = s
		}
	}
}

// Argmin returns the index of the smallest value (the ACAS Xu advisory); the first on ties.
func Argmin(y []float64) int {
	best := 0
	for i, v := range y {
		if v < y[best] {
			best = i
		}
	}
	return best
}

// Argmax returns the index of the largest value (a classifier's class); the first on ties.
func Argmax(y []float64) int {
	best := 0
	for i, v := range y {
		if v > y[best] {
			best = i
		}
	}
	return best
}

// ClassAgreement is Agreement for classifiers: the percentage of rows whose classes (argmax) agree.
func ClassAgreement(ya, yb []float64, m int) float64 {
	n := min(len(ya), len(yb)) / m
	if n == 0 {
		return math.NaN()
	}
	same := 0
	for i := 0; i < n; i++ {
		if Argmax(ya[i*m:(i+1)*m]) == Argmax(yb[i*m:(i+1)*m]) {
			same++
		}
	}
	return 100 * float64(same) / float64(n)
}

// Agreement is the percentage of rows (m outputs each) of ya and yb whose decisions (argmin) agree; NaN
// when there are no rows. It is birdnn's fidelity measure.
func Agreement(ya, yb []float64, m int) float64 {
	n := min(len(ya), len(yb)) / m
	if n == 0 {
		return math.NaN()
	}
	same := 0
	for i := 0; i < n; i++ {
		if Argmin(ya[i*m:(i+1)*m]) == Argmin(yb[i*m:(i+1)*m]) {
			same++
		}
	}
	return 100 * float64(same) / float64(n)
}

// ForwardFrom runs layers k, k+1, ... on h, a batch of inputs to layer k (row-major), and returns the
// network's outputs. ForwardFrom(0, x) is Forward(x).
func (n *Network) ForwardFrom(k int, h []float64) []float64 { return n.forward(k, h, nil) }

// Softmax returns exp(y_i - max) / sum_j exp(y_j - max).
func Softmax(y []float64) []float64 {
	top := y[Argmax(y)]
	p := make([]float64, len(y))
	s := 0.0
	for i, v := range y {
		p[i] = math.Exp(v - top)
		s += p[i]
	}
	for i := range p {
		p[i] /= s
	}
	return p
}
