package train_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/train"
)

// TestSigmoidTwinTakesTanhSteps: a tanh network and the sigmoid network that equals it (train.Convert:
// hidden weights 4x the tanh ones, first and last layer 2x; biases 2x in the hidden layers) take first
// Adam steps of the same size in the tanh network's units. Adam's first step moves every learnable by
// lr g/(|g| + 1e-8), lr for any gradient well above 1e-8, so each sigmoid weight must move by its factor
// times the tanh weight's move. Without step factors both would move by lr, the sigmoid network 2-4x less
// in tanh units.
func TestSigmoidTwinTakesTanhSteps(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tanhNet := nn.Random(rng, []int{4, 7, 7, 3}, activation.Tanh, activation.Identity)
	sigNet, err := train.Convert(tanhNet, activation.Sigmoid)
	if err != nil {
		t.Fatal(err)
	}
	const batch = 16
	x := make([]float64, batch*4)
	target := make([]float64, batch*3)
	for i := range x {
		x[i] = 2*rng.Float64() - 1
	}
	for i := range target {
		target[i] = 2*rng.Float64() - 1
	}
	w := make([]float64, batch)
	for i := range w {
		w[i] = 1.0 / batch
	}
	step := func(net *nn.Network, masked bool) *nn.Network {
		var opts train.Options
		if masked { // every neuron may move: the same learnables as unmasked, through the mask path
			for _, l := range net.Layers {
				opts.Mask = append(opts.Mask, slices.Repeat([]bool{true}, l.Out))
			}
		}
		gr, err := train.NewGraph(net, batch, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer gr.Close()
		tn, wn := gr.NewInput("t", batch, 3), gr.NewInput("w", batch, 1)
		loss, err := gr.WeightedSSE(gr.Out, tn, wn)
		if err == nil {
			err = gr.Compile(loss)
		}
		for _, f := range []struct {
			n *G.Node
			v []float64
		}{{gr.X, x}, {tn, target}, {wn, w}} {
			if err == nil {
				err = gr.Feed(f.n, f.v)
			}
		}
		if err == nil {
			_, err = gr.Run()
		}
		if err == nil {
			err = train.NewAdam(0.01).Step(gr)
		}
		if err != nil {
			t.Fatal(err)
		}
		return gr.Network()
	}
	for _, masked := range []bool{false, true} {
		tanhAfter, sigAfter := step(tanhNet, masked), step(sigNet, masked)
		last := len(tanhNet.Layers) - 1
		for k := range tanhNet.Layers {
			cw, cb := 4.0, 2.0 // a hidden layer reading sigmoid outputs
			switch k {
			case 0:
				cw = 2
			case last:
				cw, cb = 2, 1
			}
			check := func(what string, c float64, t0, t1, s0, s1 []float64) {
				for i := range t0 {
					tm, sm := math.Abs(t1[i]-t0[i]), math.Abs(s1[i]-s0[i])
					if tm < 0.9*0.01 {
						t.Fatalf("layer %d %s %d: the tanh network's moved only %g", k, what, i, tm)
					}
					if math.Abs(sm-c*tm) > 1e-3*c*0.01 { // both are within eps/|g| of lr (times c)
						t.Errorf("masked=%v layer %d %s %d: sigmoid moved %g, want %v times the tanh move %g", masked, k, what, i, sm, c, tm)
					}
				}
			}
			check("weight", cw, tanhNet.Layers[k].W, tanhAfter.Layers[k].W, sigNet.Layers[k].W, sigAfter.Layers[k].W)
			check("bias", cb, tanhNet.Layers[k].B, tanhAfter.Layers[k].B, sigNet.Layers[k].B, sigAfter.Layers[k].B)
		}
	}
}
