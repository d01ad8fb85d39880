package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
)

// sseGraph compiles gr with the squared error against fixed targets, each row weighted rowWeight, and
// feeds one batch.
func sseGraph(t *testing.T, net *nn.Network, opts Options, x, target []float64, rowWeight float64) *Graph {
	t.Helper()
	batch := len(x) / net.Inputs()
	gr, err := NewGraph(net, batch, opts)
	must(t, err)
	tn := gr.NewInput("target", batch, net.Outputs())
	wn := gr.NewInput("w", batch, 1)
	loss, err := gr.WeightedSSE(gr.Out, tn, wn)
	must(t, err)
	must(t, gr.Compile(loss))
	w := make([]float64, batch)
	for i := range w {
		w[i] = rowWeight
	}
	must(t, gr.Feed(gr.X, x))
	must(t, gr.Feed(tn, target))
	must(t, gr.Feed(wn, w))
	return gr
}

// layerInputs returns each layer's inputs on x by a plain-Go forward pass, layer by layer.
func layerInputs(net *nn.Network, x []float64) [][]float64 {
	ins := [][]float64{x}
	cur := x
	for k := range net.Layers {
		one := &nn.Network{Layers: net.Layers[k : k+1]}
		cur = one.Forward(cur)
		ins = append(ins, cur)
	}
	return ins
}

func rmsOf(v []float64) float64 {
	ss := 0.0
	for _, x := range v {
		ss += x * x
	}
	return math.Sqrt(ss / float64(len(v)))
}

// TestRelativeAdamFirstStep checks the first step against one worked out by hand: Adam's first step is
// lr * g / (|g| + eps) (the bias-corrected moments are g and g^2), times the layer's weight RMS for a
// weight and times that and the RMS of the layer's inputs for a bias, the scales computed here from the
// network and a plain-Go forward pass. Masked-out neurons must not move.
func TestRelativeAdamFirstStep(t *testing.T) {
	const lr = 0.01
	for _, tc := range []struct {
		name string
		opts Options
		tol  float64
	}{
		{"float64", Options{}, 1e-12},
		{"float32", Options{Float32: true}, 1e-6},
		{"masked", Options{Mask: [][]bool{{true, false, true, false}, nil, {false, true}}}, 1e-12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			net := nn.Random(rng, []int{3, 4, 4, 2}, activation.Tanh, activation.Identity)
			// Layers of different sizes, so that a scale taken from the wrong layer shows.
			for j := range net.Layers[1].W {
				net.Layers[1].W[j] *= 5
			}
			x, target := randVec(rng, 6*3, 2), randVec(rng, 6*2, 1)
			if tc.opts.Float32 { // start from weights float32 holds exactly
				for k := range net.Layers {
					for j, w := range net.Layers[k].W {
						net.Layers[k].W[j] = float64(float32(w))
					}
					for j, b := range net.Layers[k].B {
						net.Layers[k].B[j] = float64(float32(b))
					}
				}
				for j, v := range x {
					x[j] = float64(float32(v))
				}
			}
			gr := sseGraph(t, net, tc.opts, x, target, 1)
			defer gr.Close()
			_, err := gr.Run()
			must(t, err)
			dW, dB, err := gr.Gradients()
			must(t, err)
			must(t, NewRelativeAdam(lr).Step(gr))
			got := gr.Network()
			ins := layerInputs(net, x)
			step := func(g, s float64) float64 { return lr * s * g / (math.Abs(g) + 1e-8) }
			for k := range net.Layers {
				l := &net.Layers[k]
				sw := rmsOf(l.W)
				sb := sw * rmsOf(ins[k])
				for j := 0; j < l.Out; j++ {
					moves := tc.opts.Mask == nil || (tc.opts.Mask[k] != nil && tc.opts.Mask[k][j])
					for i := 0; i < l.In; i++ {
						want := l.Weight(j, i)
						if moves {
							want -= step(dW[k][j*l.In+i], sw)
						}
						if d := math.Abs(got.Layers[k].Weight(j, i) - want); d > tc.tol*math.Max(1, math.Abs(want)) {
							t.Errorf("layer %d weight (%d,%d): got %v, want %v", k, j, i, got.Layers[k].Weight(j, i), want)
						}
					}
					want := l.B[j]
					if moves {
						want -= step(dB[k][j], sb)
					}
					if d := math.Abs(got.Layers[k].B[j] - want); d > tc.tol*math.Max(1, math.Abs(want)) {
						t.Errorf("layer %d bias %d: got %v, want %v", k, j, got.Layers[k].B[j], want)
					}
				}
			}
		})
	}
}

// TestRelativeAdamScaleEquivariant trains a relu network and its twin whose layers are rescaled (layer 0
// by 3, layer 1 by 1/4 over the 3 it reads, the output layer's weights by 4: the same function) on the
// same rows. The relative steps must keep the twin exactly the rescaled network, up to Adam's epsilon
// (1e-8 beside gradients that the heavy row weight keeps far above it); plain Adam must not.
func TestRelativeAdamScaleEquivariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	a := nn.Random(rng, []int{3, 6, 6, 2}, activation.ReLU, activation.Identity)
	wScale := []float64{3, 0.25 / 3, 4} // layer k's weights are multiplied by wScale[k]
	bScale := []float64{3, 0.25, 1}     // and its biases by bScale[k]
	twin := func(n *nn.Network) *nn.Network {
		b := n.Clone()
		for k := range b.Layers {
			for j := range b.Layers[k].W {
				b.Layers[k].W[j] *= wScale[k]
			}
			for j := range b.Layers[k].B {
				b.Layers[k].B[j] *= bScale[k]
			}
		}
		return b
	}
	x, target := randVec(rng, 32*3, 1), randVec(rng, 32*2, 1)
	gap := func(newOpt func() *Optimizer) float64 {
		ga, gb := sseGraph(t, a, Options{}, x, target, 1000), sseGraph(t, twin(a), Options{}, x, target, 1000)
		defer ga.Close()
		defer gb.Close()
		oa, ob := newOpt(), newOpt()
		for step := 0; step < 40; step++ {
			for _, p := range []struct {
				g *Graph
				o *Optimizer
			}{{ga, oa}, {gb, ob}} {
				_, err := p.g.Run()
				must(t, err)
				must(t, p.o.Step(p.g))
			}
		}
		want, got := twin(ga.Network()), gb.Network()
		worst := 0.0
		for k := range want.Layers {
			for j, w := range want.Layers[k].W {
				worst = math.Max(worst, math.Abs(got.Layers[k].W[j]-w)/math.Max(math.Abs(w), 1e-3))
			}
			for j, b := range want.Layers[k].B {
				worst = math.Max(worst, math.Abs(got.Layers[k].B[j]-b)/math.Max(math.Abs(b), 1e-3))
			}
		}
		return worst
	}
	if g := gap(func() *Optimizer { return NewRelativeAdam(0.01) }); g > 1e-6 {
		t.Errorf("relative Adam: the twin is %.3g (relative) away from the rescaled network", g)
	}
	if g := gap(func() *Optimizer { return NewAdam(0.01) }); g < 1e-2 {
		t.Errorf("plain Adam: the twin stays within %.3g of the rescaled network; the test would not tell", g)
	}
}
