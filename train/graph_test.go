package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// allActivations lists one instance of every registered activation, with a non-default parameter where
// there is one so that the parameter is exercised.
func allActivations(t *testing.T) []activation.Activation {
	var out []activation.Activation
	for _, name := range activation.Names() {
		a, err := activation.New(name)
		if err != nil {
			t.Fatal(err)
		}
		if k, _ := a.Kind(); k.Param != "" {
			a.Param = 0.3
		}
		out = append(out, a)
	}
	return out
}

func randVec(rng *rand.Rand, n int, scale float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = (2*rng.Float64() - 1) * scale
	}
	return v
}

// sseOf computes the weighted SSE loss with the plain-Go forward pass: the independent reference.
func sseOf(net *nn.Network, x, target, w []float64) float64 {
	y := net.Forward(x)
	nout := net.Outputs()
	s := 0.0
	for r := range w {
		for c := 0; c < nout; c++ {
			d := y[r*nout+c] - target[r*nout+c]
			s += w[r] * d * d
		}
	}
	return s
}

// checkParamGrads compares the graph's parameter gradients with central finite differences of ref.
func checkParamGrads(t *testing.T, name string, net *nn.Network, gr *Graph, ref func(*nn.Network) float64) {
	t.Helper()
	dW, dB, err := gr.Gradients()
	if err != nil {
		t.Fatal(err)
	}
	const h = 1e-6
	fd := func(p *float64) float64 {
		old := *p
		*p = old + h
		up := ref(net)
		*p = old - h
		down := ref(net)
		*p = old
		return (up - down) / (2 * h)
	}
	check := func(what string, got float64, p *float64) {
		want := fd(p)
		if math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
			t.Errorf("%s: %s: gradient %.9g, finite differences %.9g", name, what, got, want)
		}
	}
	for k := range net.Layers {
		l := &net.Layers[k]
		for i := range l.W {
			check("layer weight", dW[k][i], &l.W[i])
		}
		for j := range l.B {
			check("layer bias", dB[k][j], &l.B[j])
		}
	}
}

func TestGradientsMatchFiniteDifferences(t *testing.T) {
	for _, act := range allActivations(t) {
		t.Run(act.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			net := nn.Random(rng, []int{3, 6, 5, 2}, act, act)
			const batch = 4
			x := randVec(rng, batch*3, 2)
			target := randVec(rng, batch*2, 1)
			w := []float64{0.5, 1, 0.25, 2}
			gr, err := NewGraph(net, batch, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer gr.Close()
			tn := gr.NewInput("target", batch, 2)
			wn := gr.NewInput("w", batch, 1)
			loss, err := gr.WeightedSSE(gr.Out, tn, wn)
			if err != nil {
				t.Fatal(err)
			}
			if err := gr.Compile(loss); err != nil {
				t.Fatal(err)
			}
			must(t, gr.Feed(gr.X, x))
			must(t, gr.Feed(tn, target))
			must(t, gr.Feed(wn, w))
			got, err := gr.Run()
			if err != nil {
				t.Fatal(err)
			}
			if want := sseOf(net, x, target, w); math.Abs(got-want) > 1e-10*math.Max(1, want) {
				t.Fatalf("loss %v, plain forward gives %v", got, want)
			}
			checkParamGrads(t, act.String(), net, gr, func(n *nn.Network) float64 { return sseOf(n, x, target, w) })
		})
	}
}

// TestFloat32Graph runs the same loss in float32 and float64 graphs: they agree to float32 precision.
func TestFloat32Graph(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	net := nn.Random(rng, []int{5, 16, 16, 3}, activation.Sigmoid, activation.Identity)
	const batch = 32
	x, target := randVec(rng, batch*5, 1), randVec(rng, batch*3, 1)
	w := make([]float64, batch)
	for i := range w {
		w[i] = 1.0 / batch
	}
	var losses [2]float64
	var grads [2][][]float64
	for i, f32 := range []bool{false, true} {
		gr, err := NewGraph(net, batch, Options{Float32: f32})
		must(t, err)
		tn, wn := gr.NewInput("t", batch, 3), gr.NewInput("w", batch, 1)
		loss, err := gr.WeightedSSE(gr.Out, tn, wn)
		must(t, err)
		must(t, gr.Compile(loss))
		must(t, gr.Feed(gr.X, x))
		must(t, gr.Feed(tn, target))
		must(t, gr.Feed(wn, w))
		losses[i], err = gr.Run()
		must(t, err)
		grads[i], _, err = gr.Gradients()
		must(t, err)
		gr.Close()
	}
	if math.Abs(losses[0]-losses[1]) > 1e-5*losses[0] {
		t.Errorf("float64 loss %v, float32 loss %v", losses[0], losses[1])
	}
	for k := range grads[0] {
		for i := range grads[0][k] {
			if d := math.Abs(grads[0][k][i] - grads[1][k][i]); d > 1e-5 {
				t.Fatalf("layer %d weight %d gradient: float64 %v, float32 %v", k, i, grads[0][k][i], grads[1][k][i])
			}
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestForwardMatchesPlainGo holds the Gorgonia forward pass and the plain-Go one equal, layer by layer.
func TestForwardMatchesPlainGo(t *testing.T) {
	for _, act := range allActivations(t) {
		rng := rand.New(rand.NewPCG(3, 4))
		net := nn.Random(rng, []int{5, 8, 8, 3}, act, activation.Identity)
		// 2100 rows: layers of 16800 values, which the activation operations split across the cores.
		for _, batch := range []int{1, 7, 40, 2100} {
			x := randVec(rng, batch*5, 3)
			gr, err := NewGraph(net, batch, Options{})
			must(t, err)
			must(t, gr.Compile(nil))
			must(t, gr.Feed(gr.X, x))
			if _, err := gr.Run(); err != nil {
				t.Fatal(err)
			}
			trace := net.Trace(x)
			for k := range trace {
				got := gr.Activations(k)
				for i := range got {
					if d := math.Abs(got[i] - trace[k][i]); d > 1e-12*math.Max(1, math.Abs(trace[k][i])) {
						t.Fatalf("%s batch %d layer %d value %d: gorgonia %v, plain %v", act, batch, k, i, got[i], trace[k][i])
					}
				}
			}
			gr.Close()
		}
	}
}

// TestViolationLossGradient checks the graph's violation loss and its gradients against
// property.Region.Loss evaluated with the plain-Go forward pass.
func TestViolationLossGradient(t *testing.T) {
	// Two conjunctions of the same shape (their constants must stay apart) and one of another.
	// Single-constraint conjunctions interleaved with longer ones (they take different paths).
	region := property.Region{
		{{Coef: []float64{0, 0, 1}, Bound: -0.2}},
		{{Coef: []float64{-1, 1, 0}, Bound: 0.1}, {Coef: []float64{0, 1, -1}, Bound: 0.3}},
		{{Coef: []float64{-1, 0, 1}, Bound: 0}, {Coef: []float64{0, -1, 1}, Bound: 0.2}},
		{{Coef: []float64{1, 0, 0}, Bound: 0.5}},
	}
	p := &property.Property{Inputs: 3, Outputs: 3, Cases: []property.Case{{Unsafe: region}}}
	conjs, idx := Conjunctions(p)
	for _, act := range allActivations(t) {
		rng := rand.New(rand.NewPCG(5, 6))
		net := nn.Random(rng, []int{3, 6, 3}, act, activation.Identity)
		const batch, want = 6, 0.5
		x := randVec(rng, batch*3, 2)
		rowW := []float64{1, 0.5, 2, 1, 0, 3}
		c := make([]float64, batch*len(conjs))
		for r := 0; r < batch; r++ {
			for _, k := range idx[0] {
				c[r*len(conjs)+k] = rowW[r]
			}
		}
		// Distinct weights per conjunction, so that a mix-up of columns shows.
		colW := []float64{0.7, 1, 0.3, 2}
		for r := 0; r < batch; r++ {
			for _, k := range idx[0] {
				c[r*len(conjs)+k] = rowW[r] * colW[k]
			}
		}
		ref := func(n *nn.Network) float64 {
			y := n.Forward(x)
			s := 0.0
			for r := 0; r < batch; r++ {
				for k, conj := range region {
					s += rowW[r] * colW[k] * property.Region{conj}.Loss(y[r*3:r*3+3], want, nil)
				}
			}
			return s
		}
		gr, err := NewGraph(net, batch, Options{InputGrad: true})
		must(t, err)
		cn := gr.NewInput("c", batch, len(conjs))
		loss, err := gr.ViolationLoss(gr.Out, conjs, cn, want)
		must(t, err)
		must(t, gr.Compile(loss))
		must(t, gr.Feed(gr.X, x))
		must(t, gr.Feed(cn, c))
		got, err := gr.Run()
		must(t, err)
		if w := ref(net); math.Abs(got-w) > 1e-10*math.Max(1, w) || w == 0 {
			t.Fatalf("%s: loss %v, reference %v (want a non-zero loss to test)", act, got, w)
		}
		checkParamGrads(t, act.String(), net, gr, ref)
		// Input gradient by finite differences too.
		gx := gr.InputGrad()
		for i := range x {
			old := x[i]
			x[i] = old + 1e-6
			up := ref(net)
			x[i] = old - 1e-6
			down := ref(net)
			x[i] = old
			if fd := (up - down) / 2e-6; math.Abs(gx[i]-fd) > 1e-5*math.Max(1, math.Abs(fd)) {
				t.Errorf("%s: input gradient %d: %v, finite differences %v", act, i, gx[i], fd)
			}
		}
		gr.Close()
	}
}

// TestViolationLossPerGradient checks the violation loss with a margin per row and conjunction against
// property.Region.Loss, row by row and conjunction by conjunction with that margin, and its parameter
// gradients by finite differences; and that conjunctions of more than one constraint are refused.
func TestViolationLossPerGradient(t *testing.T) {
	conjs := property.OrderConjunctions(3)
	rng := rand.New(rand.NewPCG(8, 9))
	net := nn.Random(rng, []int{3, 6, 3}, activation.Tanh, activation.Identity)
	const batch = 5
	x := randVec(rng, batch*3, 2)
	c, want := make([]float64, batch*len(conjs)), make([]float64, batch*len(conjs))
	for i := range c {
		c[i] = float64(i%4) * 0.5 // some zero weights
		want[i] = 2 * rng.Float64()
	}
	ref := func(n *nn.Network) float64 {
		y := n.Forward(x)
		s := 0.0
		for r := 0; r < batch; r++ {
			for k, conj := range conjs {
				i := r*len(conjs) + k
				s += c[i] * property.Region{conj}.Loss(y[r*3:r*3+3], want[i], nil)
			}
		}
		return s
	}
	gr, err := NewGraph(net, batch, Options{})
	must(t, err)
	defer gr.Close()
	cn, wn := gr.NewInput("c", batch, len(conjs)), gr.NewInput("want", batch, len(conjs))
	loss, err := gr.ViolationLossPer(gr.Out, conjs, cn, wn)
	must(t, err)
	must(t, gr.Compile(loss))
	must(t, gr.Feed(gr.X, x))
	must(t, gr.Feed(cn, c))
	must(t, gr.Feed(wn, want))
	got, err := gr.Run()
	must(t, err)
	if w := ref(net); math.Abs(got-w) > 1e-10*math.Max(1, w) || w == 0 {
		t.Fatalf("loss %v, reference %v (want a non-zero loss to test)", got, w)
	}
	checkParamGrads(t, "tanh", net, gr, ref)

	two := []property.Conjunction{{{Coef: []float64{1, 0, 0}}, {Coef: []float64{0, 1, 0}}}}
	g2, err := NewGraph(net, batch, Options{})
	must(t, err)
	defer g2.Close()
	if _, err := g2.ViolationLossPer(g2.Out, two, g2.NewInput("c", batch, 1), g2.NewInput("w", batch, 1)); err == nil {
		t.Error("a conjunction of two constraints: no error")
	}
}

// TestMaskKeepsOtherParameters trains with Adam under a mask and checks that only the chosen neurons'
// incoming weights and biases moved, and that the unchosen ones are bit-identical: for a mask with a
// layer of no chosen neuron, one with a nil layer (none chosen), and a sigmoid network (whose steps have
// factors other than 1).
func TestMaskKeepsOtherParameters(t *testing.T) {
	for _, tc := range []struct {
		name string
		act  activation.Activation
		// Layers 0 and 1 have equal shapes and different masks.
		mask [][]bool
	}{
		{"tanh", activation.Tanh, [][]bool{{false, true, false, false, true, false}, {true, false, false, false, false, false}, {false, false}}},
		{"tanh nil layer", activation.Tanh, [][]bool{nil, {true, false, false, false, false, true}, {false, true}}},
		{"sigmoid nil layer", activation.Sigmoid, [][]bool{{false, true, false, false, true, false}, nil, {true, false}}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkMask(t, tc.act, tc.mask) })
	}
}

func checkMask(t *testing.T, act activation.Activation, mask [][]bool) {
	rng := rand.New(rand.NewPCG(7, 8))
	net := nn.Random(rng, []int{6, 6, 6, 2}, act, activation.Identity)
	const batch = 8
	gr, err := NewGraph(net, batch, Options{Mask: mask})
	must(t, err)
	defer gr.Close()
	tn := gr.NewInput("target", batch, 2)
	wn := gr.NewInput("w", batch, 1)
	loss, err := gr.WeightedSSE(gr.Out, tn, wn)
	must(t, err)
	must(t, gr.Compile(loss))
	opt := NewAdam(0.05)
	x, target := randVec(rng, batch*6, 1), randVec(rng, batch*2, 1)
	w := make([]float64, batch)
	for i := range w {
		w[i] = 1
	}
	must(t, gr.Feed(gr.X, x))
	must(t, gr.Feed(tn, target))
	must(t, gr.Feed(wn, w))
	first := 0.0
	var last float64
	for step := 0; step < 50; step++ {
		l, err := gr.Run()
		must(t, err)
		if step == 0 {
			first = l
		}
		last = l
		must(t, opt.Step(gr))
	}
	if !(last < first) {
		t.Errorf("loss did not fall: %v -> %v", first, last)
	}
	got := gr.Network()
	for k := range net.Layers {
		a, b := &net.Layers[k], &got.Layers[k]
		for j := 0; j < a.Out; j++ {
			chosen := mask[k] != nil && mask[k][j]
			moved := a.B[j] != b.B[j]
			for i := 0; i < a.In; i++ {
				if math.Float64bits(a.Weight(j, i)) != math.Float64bits(b.Weight(j, i)) {
					moved = true
					if !chosen {
						t.Fatalf("layer %d neuron %d weight %d moved but the neuron is not chosen", k, j, i)
					}
				}
			}
			if chosen && !moved {
				t.Errorf("layer %d neuron %d is chosen but did not move", k, j)
			}
			if !chosen && a.B[j] != b.B[j] {
				t.Fatalf("layer %d bias %d moved but the neuron is not chosen", k, j)
			}
		}
	}
	// The graph's network and the plain forward pass agree after training.
	must(t, gr.Feed(gr.X, x))
	_, err = gr.Run()
	must(t, err)
	y, want := gr.Outputs(), got.Forward(x)
	for i := range y {
		if math.Abs(y[i]-want[i]) > 1e-12 {
			t.Fatalf("output %d: graph %v, network %v", i, y[i], want[i])
		}
	}
}

// TestActivationGrads checks the gradient with respect to each layer's activations by finite differences:
// perturbing neuron j of layer k's output by h and running the rest of the network.
func TestActivationGrads(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	net := nn.Random(rng, []int{3, 5, 4, 2}, activation.Tanh, activation.Identity)
	const batch = 3
	x, target := randVec(rng, batch*3, 1), randVec(rng, batch*2, 1)
	w := []float64{1, 2, 0.5}
	gr, err := NewGraph(net, batch, Options{ActivationGrads: true})
	must(t, err)
	defer gr.Close()
	tn, wn := gr.NewInput("t", batch, 2), gr.NewInput("w", batch, 1)
	loss, err := gr.WeightedSSE(gr.Out, tn, wn)
	must(t, err)
	must(t, gr.Compile(loss))
	must(t, gr.Feed(gr.X, x))
	must(t, gr.Feed(tn, target))
	must(t, gr.Feed(wn, w))
	_, err = gr.Run()
	must(t, err)
	trace := net.Trace(x)
	lossFrom := func(k int, h []float64) float64 {
		y := h
		if k+1 < len(net.Layers) {
			y = net.ForwardFrom(k+1, h)
		}
		s := 0.0
		for r := 0; r < batch; r++ {
			for c := 0; c < 2; c++ {
				d := y[r*2+c] - target[r*2+c]
				s += w[r] * d * d
			}
		}
		return s
	}
	for k := range net.Layers {
		g := gr.ActivationGrad(k)
		h := append([]float64(nil), trace[k]...)
		for i := range h {
			old := h[i]
			h[i] = old + 1e-6
			up := lossFrom(k, h)
			h[i] = old - 1e-6
			down := lossFrom(k, h)
			h[i] = old
			if fd := (up - down) / 2e-6; math.Abs(fd-g[i]) > 1e-6*math.Max(1, math.Abs(fd)) {
				t.Fatalf("layer %d value %d: gradient %v, finite differences %v", k, i, g[i], fd)
			}
		}
	}
}
