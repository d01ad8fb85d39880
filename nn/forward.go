package nn

import (
	"runtime"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/internal/par"
)

// gemmMinBatch is the batch size from which the forward pass uses a matrix product instead of plain loops.
const gemmMinBatch = 16

// Forward evaluates the network on a batch of inputs, stored row-major (one input of n.Inputs() values a
// row), and returns the outputs row-major. It allocates only the result and one scratch buffer.
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
		l.affine(cur, out, batch)
		apply(l.Act, out)
		if acts != nil {
			acts[k] = out
		}
		cur = out
	}
	return cur
}

// applyChunk is the number of values from which the forward pass applies an activation on every core,
// in chunks of at least this size; below it the goroutines would cost more than they save. The matrix
// products run on every core already (gonum's Gemm); without this, tanh and sigmoid layers spend most of
// a large batch's time in one core's calls to math.Tanh and math.Exp.
const applyChunk = 1 << 13

// apply computes act on every value of v, in chunks on every core when v is large. Each value is computed
// as act.Apply computes it, so the result is the same to the bit.
func apply(act activation.Activation, v []float64) {
	chunks := min(runtime.GOMAXPROCS(0), len(v)/applyChunk)
	if chunks < 2 || act.Name == "identity" {
		act.Apply(v)
		return
	}
	size := (len(v) + chunks - 1) / chunks
	par.For(chunks, func(i int) { act.Apply(v[i*size : min((i+1)*size, len(v))]) })
}

// affine writes W*in + B for each of batch rows of in into out.
func (l *Layer) affine(in, out []float64, batch int) {
	if batch >= gemmMinBatch {
		for r := 0; r < batch; r++ {
			copy(out[r*l.Out:(r+1)*l.Out], l.B)
		}
		// out (batch x Out) += in (batch x In) * W^T (In x Out)
		blas64.Gemm(blas.NoTrans, blas.Trans, 1,
			blas64.General{Rows: batch, Cols: l.In, Stride: l.In, Data: in},
			blas64.General{Rows: l.Out, Cols: l.In, Stride: l.In, Data: l.W},
			1, blas64.General{Rows: batch, Cols: l.Out, Stride: l.Out, Data: out})
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

// ForwardFrom runs layers k, k+1, ... on h, a batch of inputs to layer k (row-major), and returns the
// network's outputs. ForwardFrom(0, x) is Forward(x).
func (n *Network) ForwardFrom(k int, h []float64) []float64 { return n.forward(k, h, nil) }
