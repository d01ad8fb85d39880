package train

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	G "gorgonia.org/gorgonia"
)

// acasSizes are the ACAS Xu layer sizes: 5 inputs, six ReLU layers of 50, 5 outputs.
var acasSizes = []int{5, 50, 50, 50, 50, 50, 50, 5}

var benchBatches = []int{1, 256, 4096}

// BenchmarkTrainStep times one forward+backward pass of an ACAS Xu-sized network through the Gorgonia
// engine, with a weighted squared-error loss, and optionally the Adam update.
func BenchmarkTrainStep(b *testing.B) {
	for _, adam := range []bool{false, true} {
		for _, batch := range benchBatches {
			name := fmt.Sprintf("fwdbwd/batch=%d", batch)
			if adam {
				name = fmt.Sprintf("fwdbwd+adam/batch=%d", batch)
			}
			b.Run(name, func(b *testing.B) {
				benchSteps(b, acasSizes, activation.ReLU, batch, adam)
			})
		}
	}
}

// benchSteps times forward+backward passes (and Adam updates, with adam) of a random network of the given
// sizes and hidden activation, with a weighted squared-error loss on random targets.
func benchSteps(b *testing.B, sizes []int, act activation.Activation, batch int, adam bool) {
	rng := rand.New(rand.NewPCG(1, 1))
	net := nn.Random(rng, sizes, act, activation.Identity)
	gr, err := NewGraph(net, batch, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer gr.Close()
	in, out := sizes[0], sizes[len(sizes)-1]
	tn, wn := gr.NewInput("t", batch, out), gr.NewInput("w", batch, 1)
	loss, err := gr.WeightedSSE(gr.Out, tn, wn)
	if err != nil {
		b.Fatal(err)
	}
	if err := gr.Compile(loss); err != nil {
		b.Fatal(err)
	}
	w := make([]float64, batch)
	for i := range w {
		w[i] = 1 / float64(batch)
	}
	for _, f := range []struct {
		n *G.Node
		v []float64
	}{{gr.X, randVec(rng, batch*in, 0.5)}, {tn, randVec(rng, batch*out, 0.5)}, {wn, w}} {
		if err := gr.Feed(f.n, f.v); err != nil {
			b.Fatal(err)
		}
	}
	opt := NewAdam(1e-4)
	for b.Loop() {
		if _, err := gr.Run(); err != nil {
			b.Fatal(err)
		}
		if adam {
			if err := opt.Step(gr); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkGemmReference times the matrix products a forward+backward pass needs, with plain gonum calls
// on the same shapes: per layer Y = X W (forward), dW = X^T dY and dX = dY W^T (backward). It is the
// floor the engine is measured against.
func BenchmarkGemmReference(b *testing.B) {
	for _, batch := range benchBatches {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			type layer struct{ x, w, y, dy, dw, dx blas64.General }
			mk := func(r, c int) blas64.General {
				return blas64.General{Rows: r, Cols: c, Stride: c, Data: randVec(rng, r*c, 1)}
			}
			var ls []layer
			for k := 0; k+1 < len(acasSizes); k++ {
				in, out := acasSizes[k], acasSizes[k+1]
				ls = append(ls, layer{x: mk(batch, in), w: mk(in, out), y: mk(batch, out), dy: mk(batch, out), dw: mk(in, out), dx: mk(batch, in)})
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, l := range ls {
					blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, l.x, l.w, 0, l.y)
				}
				for _, l := range ls {
					blas64.Gemm(blas.Trans, blas.NoTrans, 1, l.x, l.dy, 0, l.dw)
					blas64.Gemm(blas.NoTrans, blas.Trans, 1, l.dy, l.w, 0, l.dx)
				}
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// BenchmarkPlainForward times the plain-Go batched forward pass (no gradients) used for sampling and
// verification.
func BenchmarkPlainForward(b *testing.B) {
	for _, batch := range benchBatches {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			net := nn.Random(rng, acasSizes, activation.ReLU, activation.Identity)
			x := randVec(rng, batch*5, 0.5)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				net.Forward(x)
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

// BenchmarkTrainStepActivation times one forward+backward pass with the Adam update of the activation
// suite's student shape (5 inputs, six layers of 64, 5 outputs) at the repair batch size, for each
// activation: what a smooth activation costs a training step beside relu.
func BenchmarkTrainStepActivation(b *testing.B) {
	for _, name := range []string{"relu", "tanh", "sigmoid", "elu", "softplus"} {
		b.Run(name, func(b *testing.B) {
			act, err := activation.New(name)
			if err != nil {
				b.Fatal(err)
			}
			benchSteps(b, []int{5, 64, 64, 64, 64, 64, 64, 5}, act, 4096, true)
		})
	}
}
