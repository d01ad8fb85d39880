package onnx

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
)

// ReadFile reads the ONNX file at path.
func ReadFile(path string) (*nn.Network, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	net, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return net, nil
}

// Read reads a fully connected network from an ONNX model.
func Read(r io.Reader) (*nn.Network, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("larger than %d bytes", maxFileSize)
	}
	m, err := decodeModel(b)
	if err != nil {
		return nil, fmt.Errorf("not a valid ONNX model: %w", err)
	}
	net, err := interpret(m.graph)
	if err != nil {
		return nil, err
	}
	if s, ok := m.metadata[normKey]; ok {
		var norm nn.Normalization
		if err := json.Unmarshal([]byte(s), &norm); err != nil {
			return nil, fmt.Errorf("metadata %s: %w", normKey, err)
		}
		net.Norm = &norm
	}
	if err := net.Validate(); err != nil {
		return nil, err
	}
	return net, nil
}

// chain is the state of the interpreter as it walks the graph's nodes: the name of the one tensor that
// carries the network's data, and what has been built so far.
type chain struct {
	consts map[string]*tensorProto
	cur    string
	// size is the number of values of cur (per batch row).
	size int
	// img, while cur is an image (NCHW), holds its channels, height and width; nil for a vector.
	img []int
	// shift and scale describe an input normalization x' = (x - shift) / scale seen before the first layer.
	shift, scale []float64
	layers       []nn.Layer
	// open is true while the last layer has no activation yet (its bias may still be added).
	open bool
	// biased is true once the open layer has had its bias added.
	biased bool
	// perm, after a Transpose of an image, maps each value's index in the transposed order to its index
	// in the data as it is (the Transpose is not carried out): the next dense layer's weights are
	// permuted by it, and nothing but reshapes and activations may come between.
	perm []int
}

func interpret(g *graphProto) (*nn.Network, error) {
	c := &chain{consts: map[string]*tensorProto{}}
	for _, t := range g.initializers {
		c.consts[t.name] = t
	}
	// The data input is the graph input that is not an initializer.
	var data []valueInfo
	for _, in := range g.inputs {
		if _, ok := c.consts[in.name]; !ok {
			data = append(data, in)
		}
	}
	if len(data) != 1 {
		return nil, fmt.Errorf("the graph has %d data inputs, want 1", len(data))
	}
	if len(g.outputs) != 1 {
		return nil, fmt.Errorf("the graph has %d outputs, want 1", len(g.outputs))
	}
	in := data[0]
	c.cur = in.name
	c.size = 1
	for i, d := range in.dims {
		if d < 0 {
			if i == 0 {
				continue // a symbolic batch dimension
			}
			return nil, fmt.Errorf("input %q: symbolic dimension %d; only the batch dimension may be symbolic", in.name, i)
		}
		if i == 0 && len(in.dims) > 1 {
			continue // batch dimension
		}
		c.size *= int(d)
	}
	if len(in.dims) == 0 || c.size <= 0 {
		return nil, fmt.Errorf("input %q: shape %v is not a batch of vectors", in.name, in.dims)
	}
	switch len(in.dims) {
	case 4: // [batch, channels, height, width]
		c.img = []int{int(in.dims[1]), int(in.dims[2]), int(in.dims[3])}
	case 3: // [batch, height, width]: one channel
		c.img = []int{1, int(in.dims[1]), int(in.dims[2])}
	}
	inputs := c.size
	for i, n := range g.nodes {
		if err := c.apply(n); err != nil {
			name := n.name
			if name == "" && len(n.outputs) > 0 {
				name = n.outputs[0]
			}
			return nil, fmt.Errorf("node %d (%s %q): %w", i, n.opType, name, err)
		}
	}
	if c.cur != g.outputs[0].name {
		return nil, fmt.Errorf("output %q is not the end of the layer chain (%q)", g.outputs[0].name, c.cur)
	}
	if c.perm != nil {
		return nil, fmt.Errorf("a Transpose of the outputs is not supported (only before a dense layer)")
	}
	if len(c.layers) == 0 {
		return nil, fmt.Errorf("no layers found")
	}
	if c.shift != nil || c.scale != nil {
		if err := c.foldNormalization(inputs); err != nil {
			return nil, err
		}
	}
	return &nn.Network{Layers: c.layers}, nil
}

func attrOf(n *nodeProto, name string) *attributeProto {
	for _, a := range n.attrs {
		if a.name == name {
			return a
		}
	}
	return nil
}

// constant returns the values and shape of the initializer or Constant called name.
func (c *chain) constant(name string) ([]float64, []int64, error) {
	t, ok := c.consts[name]
	if !ok {
		return nil, nil, fmt.Errorf("%q is neither the data tensor nor a constant", name)
	}
	v, err := t.values()
	if err != nil {
		return nil, nil, err
	}
	return v, t.dims, nil
}

// operands splits a binary node's inputs into the constant one and checks the other is the data.
func (c *chain) operands(n *nodeProto, commutative bool) ([]float64, []int64, error) {
	if len(n.inputs) != 2 || len(n.outputs) != 1 {
		return nil, nil, fmt.Errorf("want 2 inputs and 1 output")
	}
	switch {
	case n.inputs[0] == c.cur:
		return c.constant(n.inputs[1])
	case n.inputs[1] == c.cur && commutative:
		return c.constant(n.inputs[0])
	}
	return nil, nil, fmt.Errorf("inputs %v do not continue the layer chain at %q", n.inputs, c.cur)
}

// vectorOf broadcasts a constant to c.size values (it may hold one value or c.size values).
func (c *chain) vectorOf(v []float64) ([]float64, error) {
	switch len(v) {
	case c.size:
		return append([]float64(nil), v...), nil
	case 1:
		out := make([]float64, c.size)
		for i := range out {
			out[i] = v[0]
		}
		return out, nil
	}
	return nil, fmt.Errorf("constant of %d values does not broadcast to %d", len(v), c.size)
}

var activationOps = map[string]string{
	"Relu": "relu", "LeakyRelu": "leaky_relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Elu": "elu", "Softplus": "softplus",
}

func (c *chain) apply(n *nodeProto) error {
	if n.domain != "" && n.domain != "ai.onnx" {
		return fmt.Errorf("operator domain %q is not supported", n.domain)
	}
	if n.opType == "Constant" {
		if len(n.outputs) != 1 || attrOf(n, "value") == nil || attrOf(n, "value").t == nil {
			return fmt.Errorf("only Constant nodes with a tensor value are supported")
		}
		t := attrOf(n, "value").t
		t.name = n.outputs[0]
		c.consts[n.outputs[0]] = t
		return nil
	}
	if len(n.inputs) == 0 || n.inputs[0] != c.cur && !(len(n.inputs) == 2 && n.inputs[1] == c.cur) {
		return fmt.Errorf("inputs %v do not continue the layer chain at %q (only a single chain of layers is supported)", n.inputs, c.cur)
	}
	if len(n.outputs) != 1 {
		return fmt.Errorf("%d outputs, want 1", len(n.outputs))
	}
	next := n.outputs[0]
	var err error
	switch n.opType {
	case "Flatten", "Reshape", "Identity", "Squeeze", "Unsqueeze":
		err = c.reshape(n)
	case "Sub", "Div":
		err = c.normalize(n)
	case "MatMul":
		err = c.matMul(n)
	case "Gemm":
		err = c.gemm(n)
	case "Add":
		err = c.add(n)
	case "Conv":
		err = c.conv(n)
	case "MaxPool", "AveragePool":
		err = c.pool(n)
	case "BatchNormalization":
		err = c.batchNorm(n)
	case "Transpose":
		err = c.transpose(n)
	default:
		err = c.activate(n)
	}
	if err != nil {
		return err
	}
	c.cur = next
	return nil
}

// reshape checks that a shape operation keeps a batch of c.size-vectors (the data stays one vector a row).
func (c *chain) reshape(n *nodeProto) error {
	// The data stays a vector of c.size values per row (NCHW order, as ONNX's Flatten keeps it); after
	// Flatten or a Reshape to two dimensions it is no longer read as an image.
	if n.opType == "Flatten" {
		if a := attrOf(n, "axis"); a != nil && a.i != 1 {
			return fmt.Errorf("Flatten axis %d: only axis 1 (keep the batch) is supported", a.i)
		}
		c.img = nil
	}
	if n.opType == "Reshape" && len(n.inputs) == 2 {
		shape, _, err := c.constant(n.inputs[1])
		if err != nil {
			return err
		}
		prod := 1
		for i, d := range shape {
			if d > 0 && !(i == 0 && len(shape) > 1) {
				prod *= int(d)
			}
		}
		if prod != c.size && !(len(shape) == 2 && (shape[1] == -1 || int(shape[1]) == c.size)) {
			return fmt.Errorf("reshape to %v does not keep a batch of %d-vectors", shape, c.size)
		}
		if len(shape) == 2 {
			c.img = nil
		}
	}
	return nil
}

// normalize folds a Sub or Div of the input into the input normalization.
func (c *chain) normalize(n *nodeProto) error {
	v, _, err := c.operands(n, false)
	if err != nil {
		return err
	}
	if len(c.layers) > 0 {
		return fmt.Errorf("%s after the first layer is not supported (only input normalization)", n.opType)
	}
	vec, err := c.vectorOf(v)
	if err != nil {
		return err
	}
	if c.scale == nil {
		c.scale = ones(c.size)
		c.shift = make([]float64, c.size)
	}
	// x' = (x - shift)/scale; Sub s gives (x - (shift + s*scale))/scale; Div d gives (x - shift)/(scale*d).
	for i := range vec {
		if n.opType == "Sub" {
			c.shift[i] += vec[i] * c.scale[i]
		} else {
			if vec[i] == 0 {
				return fmt.Errorf("division by zero")
			}
			c.scale[i] *= vec[i]
		}
	}
	return nil
}

// matMul starts a layer from a MatMul by constant weights [in, out].
func (c *chain) matMul(n *nodeProto) error {
	w, dims, err := c.operands(n, false)
	if err != nil {
		return err
	}
	if len(dims) != 2 || int(dims[0]) != c.size {
		return fmt.Errorf("weight shape %v does not take %d inputs (MatMul wants [in, out])", dims, c.size)
	}
	in, out := int(dims[0]), int(dims[1])
	c.startLayer(transpose(w, in, out), in, out)
	return nil
}

// gemm starts a layer from a Gemm: the data as A, constant weights B, an optional constant bias C.
func (c *chain) gemm(n *nodeProto) error {
	if len(n.inputs) < 2 || len(n.inputs) > 3 || n.inputs[0] != c.cur {
		return fmt.Errorf("Gemm must take the data as A, a constant B and an optional constant C")
	}
	if a := attrOf(n, "transA"); a != nil && a.i != 0 {
		return fmt.Errorf("transA=1 is not supported")
	}
	alpha, beta := 1.0, 1.0
	if a := attrOf(n, "alpha"); a != nil {
		alpha = float64(a.f)
	}
	if a := attrOf(n, "beta"); a != nil {
		beta = float64(a.f)
	}
	w, dims, err := c.constant(n.inputs[1])
	if err != nil {
		return err
	}
	if len(dims) != 2 {
		return fmt.Errorf("weight shape %v is not 2-D", dims)
	}
	var in, out int
	if a := attrOf(n, "transB"); a != nil && a.i != 0 {
		out, in = int(dims[0]), int(dims[1])
	} else {
		in, out = int(dims[0]), int(dims[1])
		w = transpose(w, in, out)
	}
	if in != c.size {
		return fmt.Errorf("weight shape %v does not take %d inputs", dims, c.size)
	}
	if alpha != 1 {
		for i := range w {
			w[i] *= alpha
		}
	}
	c.startLayer(w, in, out)
	if len(n.inputs) == 3 && n.inputs[2] != "" {
		b, _, err := c.constant(n.inputs[2])
		if err != nil {
			return err
		}
		if err := c.addBias(b, beta); err != nil {
			return err
		}
	}
	return nil
}

// add adds the bias of the open layer.
func (c *chain) add(n *nodeProto) error {
	b, _, err := c.operands(n, true)
	if err != nil {
		return err
	}
	if !c.open {
		return fmt.Errorf("Add that is not the bias of a layer is not supported")
	}
	if err := c.addBias(b, 1); err != nil {
		return err
	}
	return nil
}

// transpose records a Transpose of an image (perm [0, a, b, c]: the batch stays first) as a
// permutation of its values, which the next dense layer's weights absorb (Keras models flatten NHWC).
func (c *chain) transpose(n *nodeProto) error {
	a := attrOf(n, "perm")
	if c.img == nil || a == nil || len(a.ints) != 4 || a.ints[0] != 0 {
		return fmt.Errorf("only a Transpose of an image that keeps the batch first (perm [0, ...] of 4 axes) is supported")
	}
	p := []int{int(a.ints[1]) - 1, int(a.ints[2]) - 1, int(a.ints[3]) - 1}
	if seen := map[int]bool{p[0]: true, p[1]: true, p[2]: true}; len(seen) != 3 || !seen[0] || !seen[1] || !seen[2] {
		return fmt.Errorf("perm %v is not a permutation of the axes", a.ints)
	}
	old := c.img
	shape := []int{old[p[0]], old[p[1]], old[p[2]]}
	perm := make([]int, c.size)
	var idx [3]int // an index in the old axes
	for i := range perm {
		// i = (n0*shape[1] + n1)*shape[2] + n2 in the new order; new axis k is old axis p[k].
		n0, n1, n2 := i/(shape[1]*shape[2]), i/shape[2]%shape[1], i%shape[2]
		idx[p[0]], idx[p[1]], idx[p[2]] = n0, n1, n2
		o := (idx[0]*old[1]+idx[1])*old[2] + idx[2]
		if c.perm != nil {
			o = c.perm[o]
		}
		perm[i] = o
	}
	c.perm, c.img = perm, shape
	return nil
}

// batchNorm folds an inference-mode BatchNormalization into the open Conv, Gemm or MatMul layer before
// it: y = gamma (z - mean) / sqrt(var + epsilon) + beta per channel (a conv layer's kernel, a dense
// layer's neuron) is the layer with its unit's weights times s = gamma / sqrt(var + epsilon) and bias
// (b - mean) s + beta.
func (c *chain) batchNorm(n *nodeProto) error {
	if len(n.inputs) != 5 || n.inputs[0] != c.cur {
		return fmt.Errorf("BatchNormalization must take the data and four constants (scale, B, mean, var)")
	}
	if c.perm != nil {
		return fmt.Errorf("BatchNormalization after a Transpose is not supported")
	}
	if a := attrOf(n, "training_mode"); a != nil && a.i != 0 {
		return fmt.Errorf("BatchNormalization in training mode is not supported")
	}
	if !c.open || len(c.layers) == 0 || (c.layers[len(c.layers)-1].Kind != nn.Conv && c.layers[len(c.layers)-1].Kind != nn.Dense) {
		return fmt.Errorf("BatchNormalization must follow a Conv, Gemm or MatMul (before its activation), into which it is folded")
	}
	eps := 1e-5
	if a := attrOf(n, "epsilon"); a != nil {
		eps = float64(a.f)
	}
	l := &c.layers[len(c.layers)-1]
	units := l.Out
	if l.Kind == nn.Conv {
		units = l.Geom.OutC
	}
	var p [4][]float64
	for i, name := range []string{"scale", "B", "mean", "var"} {
		v, _, err := c.constant(n.inputs[i+1])
		if err != nil {
			return fmt.Errorf("BatchNormalization %s: %w", name, err)
		}
		if len(v) != units {
			return fmt.Errorf("BatchNormalization %s has %d values, the layer before has %d channels", name, len(v), units)
		}
		p[i] = v
	}
	if len(l.B) == 0 {
		l.B = make([]float64, units)
	}
	per := len(l.W) / units
	for j := 0; j < units; j++ {
		if !(p[3][j]+eps > 0) {
			return fmt.Errorf("BatchNormalization var[%d] + epsilon = %v is not positive", j, p[3][j]+eps)
		}
		s := p[0][j] / math.Sqrt(p[3][j]+eps)
		for i := j * per; i < (j+1)*per; i++ {
			l.W[i] *= s
		}
		l.B[j] = (l.B[j]-p[2][j])*s + p[1][j]
	}
	c.biased = true
	return nil
}

// activate sets the open layer's activation.
func (c *chain) activate(n *nodeProto) error {
	name, ok := activationOps[n.opType]
	if !ok {
		return fmt.Errorf("operator %s is not supported (supported: Conv, MaxPool, AveragePool, BatchNormalization, Transpose, Gemm, MatMul, Add, Sub, Div, Flatten, Reshape, Relu, LeakyRelu, Sigmoid, Tanh, Elu, Softplus)", n.opType)
	}
	if !c.open {
		return fmt.Errorf("%s must follow a Gemm, MatMul, Conv or pooling layer", n.opType)
	}
	a, _ := activation.New(name)
	if attr := attrOf(n, "alpha"); attr != nil && (name == "leaky_relu" || name == "elu") {
		a.Param = float64(attr.f)
	}
	c.layers[len(c.layers)-1].Act = a
	c.open = false
	return nil
}

// window reads a Conv's or a pooling's window attributes: the kernel shape (kh, kw), one stride and one
// padding for both axes; dilations, groups, asymmetric padding, auto_pad and ceil_mode are refused.
func window(n *nodeProto, kh, kw int) (stride, pad int, err error) {
	if a := attrOf(n, "kernel_shape"); a != nil && (len(a.ints) != 2 || int(a.ints[0]) != kh || int(a.ints[1]) != kw) {
		return 0, 0, fmt.Errorf("kernel_shape %v, want [%d %d]", a.ints, kh, kw)
	}
	if a := attrOf(n, "dilations"); a != nil {
		for _, d := range a.ints {
			if d != 1 {
				return 0, 0, fmt.Errorf("dilations %v: only 1 is supported", a.ints)
			}
		}
	}
	if a := attrOf(n, "group"); a != nil && a.i != 1 {
		return 0, 0, fmt.Errorf("group %d: only 1 is supported", a.i)
	}
	if a := attrOf(n, "auto_pad"); a != nil && len(a.s) > 0 && string(a.s) != "NOTSET" && string(a.s) != "VALID" {
		return 0, 0, fmt.Errorf("auto_pad %s is not supported (give pads)", a.s)
	}
	if a := attrOf(n, "ceil_mode"); a != nil && a.i != 0 {
		return 0, 0, fmt.Errorf("ceil_mode 1 is not supported")
	}
	if a := attrOf(n, "storage_order"); a != nil && a.i != 0 {
		return 0, 0, fmt.Errorf("storage_order 1 is not supported")
	}
	stride = 1
	if a := attrOf(n, "strides"); a != nil {
		if len(a.ints) != 2 || a.ints[0] != a.ints[1] || a.ints[0] < 1 {
			return 0, 0, fmt.Errorf("strides %v: one positive stride for both axes is supported", a.ints)
		}
		stride = int(a.ints[0])
	}
	if a := attrOf(n, "pads"); a != nil {
		if len(a.ints) != 4 || a.ints[0] != a.ints[1] || a.ints[1] != a.ints[2] || a.ints[2] != a.ints[3] || a.ints[0] < 0 {
			return 0, 0, fmt.Errorf("pads %v: one padding for every side is supported", a.ints)
		}
		pad = int(a.ints[0])
	}
	return stride, pad, nil
}

// conv appends a convolution layer: the data as X, constant kernels W [out, in, kh, kw], an optional
// constant bias B.
func (c *chain) conv(n *nodeProto) error {
	if c.perm != nil {
		return fmt.Errorf("%s after a Transpose is not supported (only reshapes and a dense layer may follow one)", n.opType)
	}
	if c.img == nil {
		return fmt.Errorf("Conv of data that is not an image (an input of shape [batch, channels, height, width] is needed)")
	}
	if len(c.layers) == 0 && (c.shift != nil || c.scale != nil) {
		return fmt.Errorf("an input normalization (Sub, Div) before a Conv is not supported")
	}
	if len(n.inputs) < 2 || len(n.inputs) > 3 || n.inputs[0] != c.cur {
		return fmt.Errorf("Conv must take the data as X, constant weights W and an optional constant bias B")
	}
	w, dims, err := c.constant(n.inputs[1])
	if err != nil {
		return err
	}
	if len(dims) != 4 {
		return fmt.Errorf("Conv weights of shape %v: want [out, in, kh, kw]", dims)
	}
	if int(dims[1]) != c.img[0] {
		return fmt.Errorf("Conv weights %v take %d channels, the data has %d", dims, dims[1], c.img[0])
	}
	stride, pad, err := window(n, int(dims[2]), int(dims[3]))
	if err != nil {
		return err
	}
	g, err := nn.NewConv(c.img[0], c.img[1], c.img[2], int(dims[0]), int(dims[2]), int(dims[3]), stride, pad)
	if err != nil {
		return err
	}
	b := make([]float64, g.OutC)
	if len(n.inputs) == 3 && n.inputs[2] != "" {
		bv, _, err := c.constant(n.inputs[2])
		if err != nil {
			return err
		}
		if len(bv) != g.OutC {
			return fmt.Errorf("Conv bias of %d values for %d kernels", len(bv), g.OutC)
		}
		copy(b, bv)
	}
	c.layers = append(c.layers, nn.ConvLayer(g, w, b, activation.Identity))
	c.img, c.size, c.open, c.biased = []int{g.OutC, g.OutH, g.OutW}, g.Outs(), true, true
	return nil
}

// pool appends a max or average pooling layer.
func (c *chain) pool(n *nodeProto) error {
	if c.perm != nil {
		return fmt.Errorf("%s after a Transpose is not supported (only reshapes and a dense layer may follow one)", n.opType)
	}
	if c.img == nil {
		return fmt.Errorf("%s of data that is not an image", n.opType)
	}
	if len(n.inputs) != 1 {
		return fmt.Errorf("%s must take the data only", n.opType)
	}
	a := attrOf(n, "kernel_shape")
	if a == nil || len(a.ints) != 2 {
		return fmt.Errorf("%s needs a 2-D kernel_shape", n.opType)
	}
	stride, pad, err := window(n, int(a.ints[0]), int(a.ints[1]))
	if err != nil {
		return err
	}
	if pad != 0 {
		return fmt.Errorf("%s with padding is not supported", n.opType)
	}
	if ci := attrOf(n, "count_include_pad"); ci != nil && ci.i != 0 {
		return fmt.Errorf("count_include_pad 1 is not supported")
	}
	g, err := nn.NewPool(c.img[0], c.img[1], c.img[2], int(a.ints[0]), int(a.ints[1]), stride)
	if err != nil {
		return err
	}
	kind := nn.MaxPool
	if n.opType == "AveragePool" {
		kind = nn.AvgPool
	}
	c.layers = append(c.layers, nn.PoolLayer(kind, g))
	c.img, c.size, c.open, c.biased = []int{g.OutC, g.OutH, g.OutW}, g.Outs(), true, true
	return nil
}

func (c *chain) startLayer(w []float64, in, out int) {
	if c.perm != nil {
		// The layer reads the values in the transposed order: weight (j, i) multiplies value perm[i].
		pw := make([]float64, len(w))
		for j := 0; j < out; j++ {
			for i, o := range c.perm {
				pw[j*in+o] = w[j*in+i]
			}
		}
		w, c.perm = pw, nil
	}
	c.img = nil
	c.open = true
	c.biased = false
	c.layers = append(c.layers, nn.Layer{In: in, Out: out, W: w, B: make([]float64, out), Act: activation.Identity})
	c.size = out
}

func (c *chain) addBias(b []float64, beta float64) error {
	if c.biased {
		return fmt.Errorf("a second bias for one layer is not supported")
	}
	vec, err := c.vectorOf(b)
	if err != nil {
		return err
	}
	l := &c.layers[len(c.layers)-1]
	for j := range vec {
		l.B[j] += beta * vec[j]
	}
	c.biased = true
	return nil
}

// foldNormalization rewrites the first layer so that it takes normalized inputs directly:
// W((x - s)/d) + b = (W/d)x + (b - (W/d)s).
func (c *chain) foldNormalization(inputs int) error {
	l := &c.layers[0]
	if l.In != inputs || len(c.shift) != inputs {
		return fmt.Errorf("input normalization of %d values for %d inputs", len(c.shift), inputs)
	}
	for j := 0; j < l.Out; j++ {
		for i := 0; i < l.In; i++ {
			if c.scale[i] != 1 {
				l.W[j*l.In+i] /= c.scale[i]
			}
			if c.shift[i] != 0 {
				l.B[j] -= l.W[j*l.In+i] * c.shift[i]
			}
		}
	}
	return nil
}

// transpose turns an [in, out] row-major matrix into [out, in].
func transpose(w []float64, in, out int) []float64 {
	t := make([]float64, len(w))
	for i := 0; i < in; i++ {
		for j := 0; j < out; j++ {
			t[j*in+i] = w[i*out+j]
		}
	}
	return t
}

func ones(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = 1
	}
	return v
}
