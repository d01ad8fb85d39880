package activation

import (
	"fmt"
	"hash"
	"hash/fnv"
	"runtime"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/birdnn/birdnn/internal/par"
)

// parallelChunk is the number of values from which ApplyAll and the Gorgonia operation below work on
// every core, in chunks of at least this size; below it the goroutines would cost more than they save.
const parallelChunk = 1 << 13

// ApplyAll computes a in place on every element of xs, like Apply, but on every core when xs is large.
// Each value is computed as Apply computes it, so the result is the same to the bit.
func (a Activation) ApplyAll(xs []float64) {
	if a.Name == "identity" {
		return
	}
	forChunks(len(xs), func(lo, hi int) { a.Apply(xs[lo:hi]) })
}

// forChunks calls f on consecutive chunks [lo, hi) covering [0, n), on every core when n is large.
func forChunks(n int, f func(lo, hi int)) {
	chunks := min(runtime.GOMAXPROCS(0), n/parallelChunk)
	if chunks < 2 {
		f(0, n)
		return
	}
	size := (n + chunks - 1) / chunks
	par.For(chunks, func(i int) { f(i*size, min((i+1)*size, n)) })
}

// pointwiseOp is a Gorgonia operation that applies an activation to every element of a tensor with Apply,
// as the plain forward pass does (so the two differ only where their matrix products round differently),
// on every core for large tensors. Its gradient is pointwiseGradOp.
type pointwiseOp struct{ act Activation }

// pointwiseNode applies a to x as one Gorgonia operation, differentiable with respect to x.
func pointwiseNode(x *G.Node, a Activation) (*G.Node, error) {
	return G.ApplyOp(pointwiseOp{a}, x)
}

func (op pointwiseOp) Arity() int { return 1 }

func (op pointwiseOp) Type() hm.Type {
	t := hm.TypeVariable('a')
	return hm.NewFnType(t, t)
}

func (op pointwiseOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	s, ok := in[0].(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("%v: input shape %v is not a tensor shape", op, in[0])
	}
	return s.Clone(), nil
}

func (op pointwiseOp) Do(in ...G.Value) (G.Value, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%v: %d inputs, want 1", op, len(in))
	}
	return mapChunks(op, in, func(v [][]float64, out []float64, lo, hi int) {
		copy(out[lo:hi], v[0][lo:hi])
		op.act.Apply(out[lo:hi])
	})
}

func (op pointwiseOp) ReturnsPtr() bool     { return false }
func (op pointwiseOp) CallsExtern() bool    { return false }
func (op pointwiseOp) OverwritesInput() int { return -1 }
func (op pointwiseOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "activation %s", op.act)
}
func (op pointwiseOp) Hashcode() uint32 { return hashOf(op) }
func (op pointwiseOp) String() string   { return op.act.String() }

func (op pointwiseOp) DiffWRT(inputs int) []bool { return []bool{true} }

// SymDiff returns the gradient with respect to the input: grad times the derivative, taken from the
// output where the registry knows how (tanh, sigmoid, elu, softplus), else from the input.
func (op pointwiseOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("%v: %d inputs, want 1", op, len(inputs))
	}
	d, err := G.ApplyOp(pointwiseGradOp{op.act}, inputs[0], output, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{d}, nil
}

// pointwiseGradOp computes grad * act'(x) from (x, y = act(x), grad). It is not differentiable itself.
type pointwiseGradOp struct{ act Activation }

func (op pointwiseGradOp) Arity() int { return 3 }

func (op pointwiseGradOp) Type() hm.Type {
	t := hm.TypeVariable('a')
	return hm.NewFnType(t, t, t, t)
}

func (op pointwiseGradOp) InferShape(in ...G.DimSizer) (tensor.Shape, error) {
	return pointwiseOp(op).InferShape(in...)
}

func (op pointwiseGradOp) Do(in ...G.Value) (G.Value, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("%v: %d inputs, want 3", op, len(in))
	}
	k, p := op.act.mustKind(), op.act.Param
	if k.DerivOut != nil {
		return mapChunks(op, in, func(v [][]float64, out []float64, lo, hi int) {
			for i := lo; i < hi; i++ {
				out[i] = v[2][i] * k.DerivOut(v[1][i], p)
			}
		})
	}
	return mapChunks(op, in, func(v [][]float64, out []float64, lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = v[2][i] * k.Deriv(v[0][i], p)
		}
	})
}

func (op pointwiseGradOp) ReturnsPtr() bool     { return false }
func (op pointwiseGradOp) CallsExtern() bool    { return false }
func (op pointwiseGradOp) OverwritesInput() int { return -1 }
func (op pointwiseGradOp) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "activation gradient %s", op.act)
}
func (op pointwiseGradOp) Hashcode() uint32 { return hashOf(op) }
func (op pointwiseGradOp) String() string   { return op.act.String() + "'" }

func hashOf(op G.Op) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// mapChunks returns the tensor whose elements f writes, chunk by chunk: f(v, out, lo, hi) sets out[lo:hi]
// from v, the inputs' data as float64 (the inputs are tensors of one shape, float64 or float32; the result
// has their shape and type). Chunks run on every core for large tensors.
func mapChunks(op G.Op, in []G.Value, f func(v [][]float64, out []float64, lo, hi int)) (G.Value, error) {
	first, ok := in[0].(tensor.Tensor)
	if !ok {
		return nil, fmt.Errorf("%v: input is a %T, want a tensor", op, in[0])
	}
	shape, dt := first.Shape(), first.Dtype()
	v := make([][]float64, len(in))
	for j, x := range in {
		t, ok := x.(tensor.Tensor)
		if !ok || !t.Shape().Eq(shape) || t.Dtype() != dt {
			return nil, fmt.Errorf("%v: input %d is %v, want a %v tensor of shape %v", op, j, x, dt, shape)
		}
		switch d := t.Data().(type) {
		case []float64:
			v[j] = d
		case []float32:
			v[j] = make([]float64, len(d))
			for i, e := range d {
				v[j][i] = float64(e)
			}
		default:
			return nil, fmt.Errorf("%v: input %d holds %T, want float64 or float32", op, j, d)
		}
	}
	n := len(v[0])
	out := make([]float64, n)
	forChunks(n, func(lo, hi int) { f(v, out, lo, hi) })
	if dt == tensor.Float32 {
		o32 := make([]float32, n)
		for i, e := range out {
			o32[i] = float32(e)
		}
		return tensor.New(tensor.WithShape(shape.Clone()...), tensor.WithBacking(o32)), nil
	}
	return tensor.New(tensor.WithShape(shape.Clone()...), tensor.WithBacking(out)), nil
}
