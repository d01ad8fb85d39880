package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
)

// smallCNN is a network of every image kind: conv-relu (padded), max pool, conv-tanh (stride 2), average
// pool, then dense layers; act is the activation of the second convolution.
func smallCNN(rng *rand.Rand, act activation.Activation) *nn.Network {
	c1, _ := nn.NewConv(2, 8, 8, 3, 3, 3, 1, 1)
	p1, _ := nn.NewPool(3, 8, 8, 2, 2, 2)
	c2, _ := nn.NewConv(3, 4, 4, 4, 2, 2, 2, 0)
	p2, _ := nn.NewPool(4, 2, 2, 2, 2, 1)
	return &nn.Network{Layers: []nn.Layer{
		nn.ConvLayer(c1, randVec(rng, 3*2*9, 0.5), randVec(rng, 3, 0.2), activation.ReLU),
		nn.PoolLayer(nn.MaxPool, p1),
		nn.ConvLayer(c2, randVec(rng, 4*3*4, 0.5), randVec(rng, 4, 0.2), act),
		nn.PoolLayer(nn.AvgPool, p2),
		{In: 4, Out: 5, W: randVec(rng, 20, 0.5), B: randVec(rng, 5, 0.2), Act: activation.ReLU},
		{In: 5, Out: 3, W: randVec(rng, 15, 0.5), B: randVec(rng, 3, 0.2), Act: activation.Identity},
	}}
}

// TestImageGraph checks the Gorgonia graph of a CNN against the plain-Go forward pass (which the nn tests
// check against naive loops) and its parameter gradients against finite differences of that pass.
func TestImageGraph(t *testing.T) {
	for _, act := range []activation.Activation{activation.Tanh, activation.Sigmoid} {
		t.Run(act.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, 6))
			net := smallCNN(rng, act)
			must(t, net.Validate())
			const batch = 3
			x := randVec(rng, batch*net.Inputs(), 1)
			target := randVec(rng, batch*3, 1)
			w := []float64{1, 0.5, 2}
			gr, err := NewGraph(net, batch, Options{})
			must(t, err)
			defer gr.Close()
			tn := gr.NewInput("target", batch, 3)
			wn := gr.NewInput("w", batch, 1)
			loss, err := gr.WeightedSSE(gr.Out, tn, wn)
			must(t, err)
			must(t, gr.Compile(loss))
			must(t, gr.Feed(gr.X, x))
			must(t, gr.Feed(tn, target))
			must(t, gr.Feed(wn, w))
			got, err := gr.Run()
			must(t, err)
			// Each layer's activations, flattened NCHW per row, are the plain pass's.
			acts := net.Trace(x)
			for k := range net.Layers {
				g, p := gr.Activations(k), acts[k]
				for i := range p {
					if math.Abs(g[i]-p[i]) > 1e-12 {
						t.Fatalf("layer %d activation %d: graph %v, plain %v", k, i, g[i], p[i])
					}
				}
			}
			if want := sseOf(net, x, target, w); math.Abs(got-want) > 1e-10*math.Max(1, want) {
				t.Fatalf("loss %v, plain forward gives %v", got, want)
			}
			checkParamGrads(t, act.String(), net, gr, func(n *nn.Network) float64 { return sseOf(n, x, target, w) })
		})
	}
}

// TestImageMask trains a CNN with a mask on channel 1 of the first convolution and neuron 2 of the first
// dense layer: every other parameter keeps its bits.
func TestImageMask(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	net := smallCNN(rng, activation.Sigmoid)
	mask := [][]bool{{false, true, false}, nil, nil, nil, {false, false, true, false, false}, nil}
	const batch = 4
	gr, err := NewGraph(net, batch, Options{Mask: mask})
	must(t, err)
	defer gr.Close()
	tn := gr.NewInput("target", batch, 3)
	wn := gr.NewInput("w", batch, 1)
	loss, err := gr.WeightedSSE(gr.Out, tn, wn)
	must(t, err)
	must(t, gr.Compile(loss))
	x := randVec(rng, batch*net.Inputs(), 1)
	must(t, gr.Feed(gr.X, x))
	must(t, gr.Feed(tn, randVec(rng, batch*3, 1)))
	must(t, gr.Feed(wn, []float64{1, 1, 1, 1}))
	opt := NewAdam(0.05)
	for step := 0; step < 20; step++ {
		_, err := gr.Run()
		must(t, err)
		must(t, opt.Step(gr))
	}
	got := gr.Network()
	per := 2 * 9
	for k, l := range net.Layers {
		for i := range l.W {
			unit := i / max(l.In, 1)
			if l.Kind == nn.Conv {
				unit = i / per
			}
			chosen := mask[k] != nil && mask[k][unit]
			moved := math.Float64bits(l.W[i]) != math.Float64bits(got.Layers[k].W[i])
			if moved && !chosen {
				t.Fatalf("layer %d weight %d (unit %d) moved but is not chosen", k, i, unit)
			}
		}
	}
	if got.Layers[0].W[per] == net.Layers[0].W[per] || got.Layers[4].B[2] == net.Layers[4].B[2] {
		t.Error("the chosen channel or neuron did not move")
	}
	if _, err := NewGraph(net, batch, Options{Mask: [][]bool{make([]bool, 8*8*3), nil, nil, nil, nil, nil}}); err == nil {
		t.Error("a conv mask by unit instead of channel: no error")
	}
}

// crossEntropyOf is the weighted cross-entropy by the plain-Go pass, log-sum-exp shifted by the maximum:
// the independent reference.
func crossEntropyOf(net *nn.Network, x, t []float64) float64 {
	y := net.Forward(x)
	m := net.Outputs()
	s := 0.0
	for r := 0; r < len(y)/m; r++ {
		row := y[r*m : (r+1)*m]
		top := row[nn.Argmax(row)]
		lse := 0.0
		for _, v := range row {
			lse += math.Exp(v - top)
		}
		lse = top + math.Log(lse)
		for j, v := range row {
			s -= t[r*m+j] * (v - lse)
		}
	}
	return s
}

// TestCrossEntropy checks the graph's cross-entropy of a CNN's scores, and its gradients, against the
// plain-Go computation, with scores large enough (x 30) that an unshifted softmax would lose digits.
func TestCrossEntropy(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	net := smallCNN(rng, activation.Tanh)
	last := &net.Layers[len(net.Layers)-1]
	for i := range last.W {
		last.W[i] *= 30
	}
	const batch = 4
	x := randVec(rng, batch*net.Inputs(), 1)
	target := make([]float64, batch*3)
	for r, c := range []int{0, 2, 1, 2} {
		target[r*3+c] = 1.0 / batch
	}
	gr, err := NewGraph(net, batch, Options{})
	must(t, err)
	defer gr.Close()
	tn := gr.NewInput("target", batch, 3)
	loss, err := gr.CrossEntropy(gr.Out, tn)
	must(t, err)
	must(t, gr.Compile(loss))
	must(t, gr.Feed(gr.X, x))
	must(t, gr.Feed(tn, target))
	got, err := gr.Run()
	must(t, err)
	if want := crossEntropyOf(net, x, target); math.Abs(got-want) > 1e-12*math.Max(1, want) {
		t.Fatalf("cross-entropy %v, plain %v", got, want)
	}
	checkParamGrads(t, "cross-entropy", net, gr, func(n *nn.Network) float64 { return crossEntropyOf(n, x, target) })
}
