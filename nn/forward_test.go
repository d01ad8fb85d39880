package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/activation"
)

// BenchmarkForward: a 5-64x6-5 network (the activation suite's students) on a batch of 4096 rows, the
// size of a repair batch.
func BenchmarkForward(b *testing.B) {
	for _, act := range []activation.Activation{activation.ReLU, activation.Tanh, activation.Sigmoid} {
		b.Run(act.Name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 4))
			net := Random(rng, []int{5, 64, 64, 64, 64, 64, 64, 5}, act, activation.Identity)
			x := make([]float64, 4096*5)
			for i := range x {
				x[i] = rng.Float64() - 0.5
			}
			for b.Loop() {
				net.Forward(x)
			}
		})
	}
}

// TestForwardBatchPaths checks the forward pass against a plain evaluation written here, row by row, for
// batches that take each of its paths: plain loops (below gemmMinBatch rows) and the matrix product (gonum's
// for small products, gemm's kernel with its edge blocks for larger ones: 1000 rows is not a multiple of 8).
func TestForwardBatchPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	net := Random(rng, []int{5, 64, 48, 64, 5}, activation.Tanh, activation.Identity)
	for _, batch := range []int{1, gemmMinBatch - 1, gemmMinBatch, 255, 256, 1000} {
		x := make([]float64, batch*5)
		for i := range x {
			x[i] = 2*rng.Float64() - 1
		}
		got := net.Forward(x)
		for r := 0; r < batch; r++ {
			h := x[r*5 : (r+1)*5]
			for _, l := range net.Layers {
				next := make([]float64, l.Out)
				for j := range next {
					z := l.B[j]
					for i, v := range h {
						z += l.W[j*l.In+i] * v
					}
					next[j] = l.Act.Value(z)
				}
				h = next
			}
			for j, want := range h {
				if g := got[r*5+j]; math.Abs(g-want) > 1e-12*(1+math.Abs(want)) {
					t.Fatalf("batch %d, row %d, output %d: %v, want %v", batch, r, j, g, want)
				}
			}
		}
	}
}
