package train

import (
	"errors"
	"fmt"
	"math"
	"runtime"

	"github.com/birdnn/birdnn/internal/gemm"
	"github.com/birdnn/birdnn/nn"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Gorgonia's matrix products (tensor.MatMul, for every graph of the process) run on gemm's Dgemm, 3-4x
// faster than gonum's on the products of a training step (internal/gemm's BenchmarkDgemm).
func init() { G.Use(gemm.Implementation{}) }

// Options configures a Graph.
type Options struct {
	// Mask, when not nil, restricts training to chosen neurons: Mask[k][j] marks neuron j of layer k, whose
	// incoming weights and bias may move; every other parameter stays exactly at its starting value. A
	// nil Mask trains every parameter.
	Mask [][]bool
	// Float32 builds the graph in float32 (the default is float64).
	Float32 bool
	// ActivationGrads also computes the gradient of the loss with respect to every layer's activations.
	ActivationGrads bool
	// InputGrad also computes the gradient of the loss with respect to the input.
	InputGrad bool
}

// Graph is a network's Gorgonia expression graph over a fixed batch of rows, with a loss built on it.
// Build the loss from the graph's nodes (Out, Post, and inputs made with NewInput), then Compile it once
// and Run it for each batch. A Graph is not safe for concurrent use: use one per goroutine.
type Graph struct {
	// Batch is the number of rows of every run.
	Batch int
	// X is the input node, Batch x inputs.
	X *G.Node
	// Pre and Post are each layer's pre- and post-activation nodes, Batch x neurons.
	Pre, Post []*G.Node
	// Out is the output node (the last Post).
	Out *G.Node

	net  *nn.Network
	opts Options
	g    *G.ExprGraph
	dt   tensor.Dtype
	w, b []*G.Node // effective weights (in x out) and biases (1 x out) of each layer
	dw   []*G.Node // learnable deltas (masked, or with step factors) or the weights themselves; nil when fixed
	db   []*G.Node
	// moving says, per layer with delta learnables, which neurons may move (nil: the layer's learnables
	// are its parameters, or it is fixed).
	moving [][]bool

	learn  G.Nodes // learnables, in a fixed order
	probes G.Nodes // zero inputs added to each layer's activations (ActivationGrads)
	consts int     // constants made so far, for unique names
	inputs map[*G.Node]*tensor.Dense

	// Values read during a run. They live outside the Graph struct on purpose: the machine's read
	// instructions point at them, and a pointer from the machine back into the Graph (which holds the
	// machine) would make a cycle through the machine's finalizer that Go never collects.
	loss    *G.Node
	vm      G.VM
	lossVal *G.Value
	outVals []G.Value // post-activation values read in the forward pass
	actGrad []G.Value
	inGrad  *G.Value
}

// NewGraph builds net's graph over batch rows. The graph starts from a copy of net's parameters.
func NewGraph(net *nn.Network, batch int, opts Options) (*Graph, error) {
	if err := net.Validate(); err != nil {
		return nil, err
	}
	if batch <= 0 {
		return nil, fmt.Errorf("batch size %d must be positive", batch)
	}
	if opts.Mask != nil {
		if len(opts.Mask) != len(net.Layers) {
			return nil, fmt.Errorf("mask has %d layers, network has %d", len(opts.Mask), len(net.Layers))
		}
		for k, m := range opts.Mask {
			if m != nil && len(m) != maskUnits(&net.Layers[k]) {
				return nil, fmt.Errorf("mask of layer %d (%s) has %d entries, want %d", k, net.Layers[k].Kind, len(m), maskUnits(&net.Layers[k]))
			}
		}
	}
	gr := &Graph{Batch: batch, net: net.Clone(), opts: opts, g: G.NewGraph(), dt: tensor.Float64, inputs: map[*G.Node]*tensor.Dense{}}
	if opts.Float32 {
		gr.dt = tensor.Float32
	}
	gr.X = gr.NewInput("x", batch, net.Inputs())
	cur := gr.X
	for k := range gr.net.Layers {
		l := &gr.net.Layers[k]
		pre, err := gr.layer(k, l, cur)
		if err != nil {
			return nil, fmt.Errorf("layer %d (%s): %w", k, l.Kind, err)
		}
		post, err := l.Act.Node(pre)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", k, err)
		}
		if opts.ActivationGrads {
			// Gorgonia differentiates only with respect to input nodes: add a zero probe input to the
			// activations, whose gradient is the activations' gradient.
			probe := gr.newInputShaped(fmt.Sprintf("probe%d", k), pre.Shape().Clone())
			if post, err = G.Add(post, probe); err != nil {
				return nil, fmt.Errorf("layer %d: %w", k, err)
			}
			gr.probes = append(gr.probes, probe)
		}
		gr.Pre = append(gr.Pre, pre)
		gr.Post = append(gr.Post, post)
		cur = post
	}
	gr.Out = cur
	return gr, nil
}

// maskUnits is the length of a layer's entry in Options.Mask: its neurons for a dense layer, its
// channels for a convolution (whose units share their channel's kernel), none for pooling.
func maskUnits(l *nn.Layer) int {
	switch l.Kind {
	case nn.Dense:
		return l.Out
	case nn.Conv:
		return l.Geom.OutC
	}
	return 0
}

// layer adds layer k's pre-activation node on input cur: for a dense layer cur (flattened to Batch x In
// when it is an image) times the weights plus the biases; for a convolution Gorgonia's Conv2d of cur
// (shaped Batch x C x H x W) plus a bias a channel; for pooling Gorgonia's MaxPool2D, or an average by a
// fixed convolution.
func (gr *Graph) layer(k int, l *nn.Layer, cur *G.Node) (*G.Node, error) {
	g := l.Geom
	image := func() (*G.Node, error) {
		want := tensor.Shape{gr.Batch, g.InC, g.InH, g.InW}
		if cur.Shape().Eq(want) {
			return cur, nil
		}
		return G.Reshape(cur, want)
	}
	switch l.Kind {
	case nn.Dense:
		if cur.Dims() != 2 {
			var err error
			if cur, err = G.Reshape(cur, tensor.Shape{gr.Batch, l.In}); err != nil {
				return nil, err
			}
		}
		w, b, err := gr.parameters(k, l)
		if err != nil {
			return nil, err
		}
		xw, err := G.Mul(cur, w)
		if err != nil {
			return nil, err
		}
		return G.BroadcastAdd(xw, b, nil, []byte{0})
	case nn.Conv:
		in, err := image()
		if err != nil {
			return nil, err
		}
		w, b, err := gr.convParameters(k, l)
		if err != nil {
			return nil, err
		}
		c, err := G.Conv2d(in, w, tensor.Shape{g.KH, g.KW}, []int{g.Pad, g.Pad}, []int{g.Stride, g.Stride}, nil)
		if err != nil {
			return nil, err
		}
		return G.BroadcastAdd(c, b, nil, []byte{0, 2, 3})
	case nn.MaxPool, nn.AvgPool:
		in, err := image()
		if err != nil {
			return nil, err
		}
		gr.w, gr.b, gr.dw, gr.db, gr.moving = append(gr.w, nil), append(gr.b, nil), append(gr.dw, nil), append(gr.db, nil), append(gr.moving, nil)
		if l.Kind == nn.MaxPool {
			return G.MaxPool2D(in, tensor.Shape{g.KH, g.KW}, []int{0, 0}, []int{g.Stride, g.Stride})
		}
		// Gorgonia v0.9.18's AveragePool2D divides each window's sum by the input's width, not the
		// window's size, and its gradient is wrong as well: average by a convolution with a fixed
		// kernel instead, 1/(KH*KW) from each channel to itself and 0 across channels.
		per := g.KH * g.KW
		kern := make([]float64, g.InC*g.InC*per)
		for c := 0; c < g.InC; c++ {
			for i := 0; i < per; i++ {
				kern[(c*g.InC+c)*per+i] = 1 / float64(per)
			}
		}
		gr.consts++
		shape := tensor.Shape{g.InC, g.InC, g.KH, g.KW}
		kn := G.NewTensor(gr.g, gr.dt, 4, G.WithShape(shape...), G.WithName(fmt.Sprintf("const%d", gr.consts)), G.WithValue(gr.shaped(shape, kern)))
		return G.Conv2d(in, kn, tensor.Shape{g.KH, g.KW}, []int{0, 0}, []int{g.Stride, g.Stride}, nil)
	}
	return nil, fmt.Errorf("unknown layer kind %d", int(l.Kind))
}

// convParameters makes convolution layer k's kernel (OutC x InC x KH x KW, nn.Layer's own order) and
// bias (1 x OutC x 1 x 1) nodes, as parameters does for dense layers: the learnables themselves, or
// zero deltas masked by channel and scaled by the step factors.
func (gr *Graph) convParameters(k int, l *nn.Layer) (w, b *G.Node, err error) {
	g := l.Geom
	ws, bs := tensor.Shape{g.OutC, g.InC, g.KH, g.KW}, tensor.Shape{1, g.OutC, 1, 1}
	fw, fb := gr.stepFactors(k)
	tensorNode := func(name string, shape tensor.Shape, v []float64) *G.Node {
		return G.NewTensor(gr.g, gr.dt, 4, G.WithShape(shape...), G.WithName(name), G.WithValue(gr.shaped(shape, v)))
	}
	if gr.opts.Mask == nil && fw == 1 && fb == 1 {
		w, b = tensorNode(fmt.Sprintf("w%d", k), ws, l.W), tensorNode(fmt.Sprintf("b%d", k), bs, l.B)
		gr.w, gr.b, gr.dw, gr.db = append(gr.w, w), append(gr.b, b), append(gr.dw, w), append(gr.db, b)
		gr.learn = append(gr.learn, w, b)
		gr.moving = append(gr.moving, nil)
		return w, b, nil
	}
	w0, b0 := tensorNode(fmt.Sprintf("w0_%d", k), ws, l.W), tensorNode(fmt.Sprintf("b0_%d", k), bs, l.B)
	moving := make([]bool, g.OutC)
	any := false
	for j := range moving {
		moving[j] = gr.opts.Mask == nil || gr.opts.Mask[k] != nil && gr.opts.Mask[k][j]
		any = any || moving[j]
	}
	if !any {
		gr.w, gr.b, gr.dw, gr.db, gr.moving = append(gr.w, w0), append(gr.b, b0), append(gr.dw, nil), append(gr.db, nil), append(gr.moving, nil)
		return w0, b0, nil
	}
	per := g.InC * g.KH * g.KW
	wm, bm := make([]float64, len(l.W)), make([]float64, g.OutC)
	for j, on := range moving {
		if on {
			bm[j] = fb
			for i := 0; i < per; i++ {
				wm[j*per+i] = fw
			}
		}
	}
	dw, db := tensorNode(fmt.Sprintf("dw%d", k), ws, make([]float64, len(l.W))), tensorNode(fmt.Sprintf("db%d", k), bs, make([]float64, g.OutC))
	gr.consts += 2
	mw, err := G.HadamardProd(dw, tensorNode(fmt.Sprintf("const%d", gr.consts-1), ws, wm))
	if err != nil {
		return nil, nil, err
	}
	mb, err := G.HadamardProd(db, tensorNode(fmt.Sprintf("const%d", gr.consts), bs, bm))
	if err != nil {
		return nil, nil, err
	}
	if w, err = G.Add(w0, mw); err != nil {
		return nil, nil, err
	}
	if b, err = G.Add(b0, mb); err != nil {
		return nil, nil, err
	}
	gr.w, gr.b, gr.dw, gr.db = append(gr.w, w), append(gr.b, b), append(gr.dw, dw), append(gr.db, db)
	gr.learn = append(gr.learn, dw, db)
	gr.moving = append(gr.moving, moving)
	return w, b, nil
}

// parameters makes layer k's weight (in x out) and bias (1 x out) nodes.
//
// Where the layer's step factors (stepFactors) are 1 and every neuron may move, the weights and biases
// are the learnables themselves. Otherwise the learnables are deltas that start at zero: w = w0 + dw*mw
// and b = b0 + db*mb, the constants mw and mb holding the step factor on the neurons that may move and 0
// elsewhere, so that masked-out entries stay exactly at w0 whatever the solver does, and a solver's step
// of size s in a delta moves the parameter by s times its factor.
func (gr *Graph) parameters(k int, l *nn.Layer) (w, b *G.Node, err error) {
	wt := gr.dense(l.In, l.Out, l.Transposed())
	bt := gr.dense(1, l.Out, l.B)
	fw, fb := gr.stepFactors(k)
	if gr.opts.Mask == nil && fw == 1 && fb == 1 {
		w = G.NewMatrix(gr.g, gr.dt, G.WithShape(l.In, l.Out), G.WithName(fmt.Sprintf("w%d", k)), G.WithValue(wt))
		b = G.NewMatrix(gr.g, gr.dt, G.WithShape(1, l.Out), G.WithName(fmt.Sprintf("b%d", k)), G.WithValue(bt))
		gr.w, gr.b = append(gr.w, w), append(gr.b, b)
		gr.dw, gr.db = append(gr.dw, w), append(gr.db, b)
		gr.learn = append(gr.learn, w, b)
		gr.moving = append(gr.moving, nil)
		return w, b, nil
	}
	w0 := G.NewMatrix(gr.g, gr.dt, G.WithShape(l.In, l.Out), G.WithName(fmt.Sprintf("w0_%d", k)), G.WithValue(wt))
	b0 := G.NewMatrix(gr.g, gr.dt, G.WithShape(1, l.Out), G.WithName(fmt.Sprintf("b0_%d", k)), G.WithValue(bt))
	moving := make([]bool, l.Out)
	any := false
	for j := range moving {
		moving[j] = gr.opts.Mask == nil || gr.opts.Mask[k] != nil && gr.opts.Mask[k][j] // a nil layer mask: none
		any = any || moving[j]
	}
	if !any {
		gr.w, gr.b = append(gr.w, w0), append(gr.b, b0)
		gr.dw, gr.db = append(gr.dw, nil), append(gr.db, nil)
		gr.moving = append(gr.moving, nil)
		return w0, b0, nil
	}
	wm := make([]float64, l.In*l.Out)
	bm := make([]float64, l.Out)
	for j, on := range moving {
		if on {
			bm[j] = fb
			for i := 0; i < l.In; i++ {
				wm[i*l.Out+j] = fw
			}
		}
	}
	dw := G.NewMatrix(gr.g, gr.dt, G.WithShape(l.In, l.Out), G.WithName(fmt.Sprintf("dw%d", k)), G.WithValue(gr.dense(l.In, l.Out, make([]float64, l.In*l.Out))))
	db := G.NewMatrix(gr.g, gr.dt, G.WithShape(1, l.Out), G.WithName(fmt.Sprintf("db%d", k)), G.WithValue(gr.dense(1, l.Out, make([]float64, l.Out))))
	mw, err := G.HadamardProd(dw, gr.Constant(l.In, l.Out, wm))
	if err != nil {
		return nil, nil, err
	}
	mb, err := G.HadamardProd(db, gr.Constant(1, l.Out, bm))
	if err != nil {
		return nil, nil, err
	}
	if w, err = G.Add(w0, mw); err != nil {
		return nil, nil, err
	}
	if b, err = G.Add(b0, mb); err != nil {
		return nil, nil, err
	}
	gr.w, gr.b = append(gr.w, w), append(gr.b, b)
	gr.dw, gr.db = append(gr.dw, dw), append(gr.db, db)
	gr.learn = append(gr.learn, dw, db)
	gr.moving = append(gr.moving, moving)
	return w, b, nil
}

// stepFactors returns how far layer k's weights and biases move for a solver step of 1 in their
// learnables: 1/sqrt(g_k g_(k-1)) for the weights and 1/sqrt(g_k) for the biases, g_k the gain (the
// derivative at 0) of layer k's activation and g_(-1) = 1 for the inputs. The gain is 1 for relu, tanh,
// elu and identity, so their steps are the solver's own. Sigmoid's is 1/4: sigmoid(z) = (1 + tanh(z/2))/2,
// and the sigmoid network that equals a tanh network has weights 2-4x the tanh network's and hidden
// biases 2x; with these factors it takes steps of the tanh network's size in the tanh network's units
// (the directions differ a little: its outputs are offset, which mixes bias gradients into weight
// gradients). Without them Adam, whose steps are about the learning rate whatever the gradient, moves a
// sigmoid network 2-4x more slowly than its tanh twin.
func (gr *Graph) stepFactors(k int) (w, b float64) {
	gain := func(k int) float64 {
		if k < 0 {
			return 1
		}
		g := gr.net.Layers[k].Act.Deriv(0)
		if !(g > 0) || math.IsInf(g, 0) {
			return 1
		}
		return g
	}
	return 1 / math.Sqrt(gain(k)*gain(k-1)), 1 / math.Sqrt(gain(k))
}

// dense makes a rows x cols tensor of the graph's dtype from float64 values.
func (gr *Graph) dense(rows, cols int, v []float64) *tensor.Dense {
	return gr.shaped(tensor.Shape{rows, cols}, v)
}

// shaped makes a tensor of the given shape and the graph's dtype from float64 values (copied).
func (gr *Graph) shaped(shape tensor.Shape, v []float64) *tensor.Dense {
	if gr.dt == tensor.Float32 {
		f := make([]float32, len(v))
		for i, x := range v {
			f[i] = float32(x)
		}
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(f))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float64(nil), v...)))
}

// NewInput adds a rows x cols input node (targets, row weights, indicators) to be fed at each Run.
func (gr *Graph) NewInput(name string, rows, cols int) *G.Node {
	t := gr.dense(rows, cols, make([]float64, rows*cols))
	n := G.NewMatrix(gr.g, gr.dt, G.WithShape(rows, cols), G.WithName(name), G.WithValue(t))
	gr.inputs[n] = t
	return n
}

// newInputShaped adds an input node of any shape, fed like NewInput's (row-major).
func (gr *Graph) newInputShaped(name string, shape tensor.Shape) *G.Node {
	if len(shape) == 2 {
		return gr.NewInput(name, shape[0], shape[1])
	}
	t := gr.shaped(shape, make([]float64, shape.TotalSize()))
	n := G.NewTensor(gr.g, gr.dt, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(t))
	gr.inputs[n] = t
	return n
}

// Constant adds a node holding a fixed rows x cols matrix (never fed, never learned).
func (gr *Graph) Constant(rows, cols int, v []float64) *G.Node {
	// Every node gets its own name: Gorgonia merges unnamed input nodes of equal shape into one, whatever
	// their values.
	gr.consts++
	return G.NewMatrix(gr.g, gr.dt, G.WithShape(rows, cols), G.WithName(fmt.Sprintf("const%d", gr.consts)), G.WithValue(gr.dense(rows, cols, v)))
}

// scalarValue returns v in the graph's dtype.
func (gr *Graph) scalarValue(v float64) any {
	if gr.dt == tensor.Float32 {
		return float32(v)
	}
	return v
}

// Scalar adds a scalar constant of the graph's dtype.
func (gr *Graph) Scalar(v float64) *G.Node {
	if gr.dt == tensor.Float32 {
		return G.NewConstant(float32(v))
	}
	return G.NewConstant(v)
}

// Learnables returns the nodes the solver updates, in a fixed order.
func (gr *Graph) Learnables() G.Nodes { return gr.learn }

// Compile differentiates loss (a scalar node of this graph) with respect to the learnables and prepares
// the machine that runs forward and backward passes. A nil loss compiles a forward-only graph.
func (gr *Graph) Compile(loss *G.Node) error {
	if gr.vm != nil {
		return errors.New("graph already compiled")
	}
	gr.loss = loss
	// Read the forward values before the backward pass can overwrite them.
	gr.outVals = make([]G.Value, len(gr.Post))
	for k, p := range gr.Post {
		G.Read(p, &gr.outVals[k])
	}
	var bind []*G.Node
	if loss != nil {
		if !loss.IsScalar() {
			return fmt.Errorf("loss has shape %v, want a scalar", loss.Shape())
		}
		gr.lossVal = new(G.Value)
		G.Read(loss, gr.lossVal)
		wrt := append(G.Nodes(nil), gr.learn...)
		if gr.opts.ActivationGrads {
			wrt = append(wrt, gr.probes...)
		}
		if gr.opts.InputGrad {
			wrt = append(wrt, gr.X)
		}
		if len(wrt) == 0 {
			return errors.New("nothing to differentiate: the mask selects no neuron")
		}
		// G.Grad would seed the backward pass with a package-level constant node that keeps a reference to
		// every graph ever differentiated (a leak of the whole graph and its values, tens of MB a graph);
		// seed it with a unit node of this graph instead.
		one := G.NewScalar(gr.g, gr.dt, G.WithName("grad_seed"), G.WithValue(gr.scalarValue(1)))
		grads, err := G.Backpropagate(G.Nodes{loss}, G.Nodes{one}, wrt)
		if err != nil {
			return fmt.Errorf("differentiate loss: %w", err)
		}
		rest := grads[len(gr.learn):]
		if gr.opts.ActivationGrads {
			gr.actGrad = make([]G.Value, len(gr.Post))
			for k := range gr.Post {
				G.Read(rest[k], &gr.actGrad[k])
			}
			rest = rest[len(gr.Post):]
		}
		if gr.opts.InputGrad {
			gr.inGrad = new(G.Value)
			G.Read(rest[0], gr.inGrad)
		}
		bind = gr.learn
	}
	if len(bind) > 0 {
		gr.vm = G.NewTapeMachine(gr.g, G.BindDualValues(bind...))
	} else {
		gr.vm = G.NewTapeMachine(gr.g)
	}
	return nil
}

// Close releases the machine. Use the Graph no more after it.
func (gr *Graph) Close() error {
	if gr.vm == nil {
		return nil
	}
	err := gr.vm.Close()
	// Gorgonia sets a finalizer on its tape machine (a no-op without CUDA); an object with a finalizer is
	// never collected while it sits in a reference cycle, and the machine does sit in one through its
	// graph. Clearing it lets the garbage collector free the graph and every value it computed.
	runtime.SetFinalizer(gr.vm, nil)
	gr.vm = nil
	return err
}

// Feed copies values (rows x cols, row-major) into an input node made by NewInput, or into X.
func (gr *Graph) Feed(n *G.Node, v []float64) error {
	t, ok := gr.inputs[n]
	if !ok {
		return fmt.Errorf("node %s is not an input of this graph", n.Name())
	}
	if len(v) != t.Shape().TotalSize() {
		return fmt.Errorf("input %s: %d values, want %d", n.Name(), len(v), t.Shape().TotalSize())
	}
	switch d := t.Data().(type) {
	case []float64:
		copy(d, v)
	case []float32:
		for i, x := range v {
			d[i] = float32(x)
		}
	}
	return nil
}

// Run runs one forward pass (and a backward pass when a loss was compiled) on the fed inputs and
// returns the loss (0 without one). Gradients accumulate into the learnables until a solver steps.
func (gr *Graph) Run() (float64, error) {
	if gr.vm == nil {
		return 0, errors.New("graph not compiled")
	}
	defer gr.vm.Reset()
	if err := gr.vm.RunAll(); err != nil {
		return 0, fmt.Errorf("run graph: %w", err)
	}
	if gr.loss == nil {
		return 0, nil
	}
	return scalarOf(*gr.lossVal), nil
}

func scalarOf(v G.Value) float64 {
	switch x := v.Data().(type) {
	case float64:
		return x
	case float32:
		return float64(x)
	case []float64:
		return x[0]
	case []float32:
		return float64(x[0])
	}
	return 0
}

// valuesOf copies a value's data into a new float64 slice.
func valuesOf(v G.Value) []float64 {
	if v == nil {
		return nil
	}
	switch x := v.Data().(type) {
	case []float64:
		return append([]float64(nil), x...)
	case []float32:
		out := make([]float64, len(x))
		for i, f := range x {
			out[i] = float64(f)
		}
		return out
	case float64:
		return []float64{x}
	case float32:
		return []float64{float64(x)}
	}
	return nil
}

// Outputs returns the outputs of the last Run, Batch x outputs row-major.
func (gr *Graph) Outputs() []float64 { return valuesOf(gr.outVals[len(gr.outVals)-1]) }

// Activations returns layer k's post-activation values of the last Run, Batch x neurons row-major.
func (gr *Graph) Activations(k int) []float64 { return valuesOf(gr.outVals[k]) }

// ActivationGrad returns the gradient of the loss with respect to layer k's activations in the last
// Run (requires Options.ActivationGrads).
func (gr *Graph) ActivationGrad(k int) []float64 {
	if gr.actGrad == nil {
		return nil
	}
	return valuesOf(gr.actGrad[k])
}

// InputGrad returns the gradient of the loss with respect to the inputs in the last Run (requires
// Options.InputGrad).
func (gr *Graph) InputGrad() []float64 {
	if gr.inGrad == nil {
		return nil
	}
	return valuesOf(*gr.inGrad)
}

// Gradients returns the gradient of the loss from the last Run with respect to every layer's weights
// (row-major, out x in, as nn.Layer stores them) and biases. Parameters that cannot move (masked out)
// get zero gradients.
func (gr *Graph) Gradients() (dW, dB [][]float64, err error) {
	dW = make([][]float64, len(gr.net.Layers))
	dB = make([][]float64, len(gr.net.Layers))
	for k := range gr.net.Layers {
		l := &gr.net.Layers[k]
		dW[k] = make([]float64, len(l.W))
		dB[k] = make([]float64, len(l.B))
		if gr.dw[k] == nil {
			continue
		}
		gw, err := gr.dw[k].Grad()
		if err != nil {
			return nil, nil, fmt.Errorf("layer %d weights: %w", k, err)
		}
		gb, err := gr.db[k].Grad()
		if err != nil {
			return nil, nil, fmt.Errorf("layer %d biases: %w", k, err)
		}
		// A delta's gradient is the parameter's times its factor (and 0 where the neuron cannot move).
		w, b := valuesOf(gw), valuesOf(gb)
		fw, fb := gr.stepFactors(k)
		if l.Kind == nn.Conv { // the kernels are in nn.Layer's order already
			for i, v := range w {
				dW[k][i] = v / fw
			}
			for j, v := range b {
				dB[k][j] = v / fb
			}
			continue
		}
		for j := 0; j < l.Out; j++ {
			for i := 0; i < l.In; i++ {
				dW[k][j*l.In+i] = w[i*l.Out+j] / fw
			}
			dB[k][j] = b[j] / fb
		}
	}
	return dW, dB, nil
}

// Network returns the network with the graph's current parameters.
func (gr *Graph) Network() *nn.Network {
	out := gr.net.Clone()
	for k := range out.Layers {
		l := &out.Layers[k]
		if gr.dw[k] == nil {
			continue
		}
		w, b := valuesOf(gr.dw[k].Value()), valuesOf(gr.db[k].Value())
		m := gr.moving[k]
		if l.Kind == nn.Conv {
			fw, fb := gr.stepFactors(k)
			per := len(l.W) / len(l.B)
			for j := range l.B {
				switch {
				case m == nil:
					copy(l.W[j*per:(j+1)*per], w[j*per:(j+1)*per])
					l.B[j] = b[j]
				case m[j]:
					for i := j * per; i < (j+1)*per; i++ {
						l.W[i] += w[i] * fw
					}
					l.B[j] += b[j] * fb
				}
			}
			continue
		}
		if m == nil {
			for j := 0; j < l.Out; j++ {
				for i := 0; i < l.In; i++ {
					l.W[j*l.In+i] = w[i*l.Out+j]
				}
			}
			copy(l.B, b)
			continue
		}
		// What the graph computes: w0 + delta*factor.
		fw, fb := gr.stepFactors(k)
		for j := 0; j < l.Out; j++ {
			if !m[j] {
				continue
			}
			for i := 0; i < l.In; i++ {
				l.W[j*l.In+i] += w[i*l.Out+j] * fw
			}
			l.B[j] += b[j] * fb
		}
	}
	return out
}
