package onnx

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
)

// model assembles an ONNX model from nodes, float initializers and a data input of shape inShape.
type tensorSpec struct {
	name string
	dims []int64
	vals []float64
}

func model(inShape []int64, out string, nodes [][]byte, inits []tensorSpec) []byte {
	var g bytes.Buffer
	for _, n := range nodes {
		appendMessage(&g, 1, n)
	}
	for _, t := range inits {
		appendMessage(&g, 5, encodeTensor(t.name, t.dims, t.vals, typeFloat))
	}
	// input value info with explicit dims
	var shape, tensor, typ, vi bytes.Buffer
	for _, d := range inShape {
		var dim bytes.Buffer
		appendVarint(&dim, 1, uint64(d))
		appendMessage(&shape, 1, dim.Bytes())
	}
	appendVarint(&tensor, 1, typeFloat)
	appendMessage(&tensor, 2, shape.Bytes())
	appendMessage(&typ, 1, tensor.Bytes())
	appendString(&vi, 1, "x")
	appendMessage(&vi, 2, typ.Bytes())
	appendMessage(&g, 11, vi.Bytes())
	appendMessage(&g, 12, encodeValueInfo(out, typeFloat, 2))
	var m bytes.Buffer
	appendVarint(&m, 1, 7)
	appendMessage(&m, 7, g.Bytes())
	return m.Bytes()
}

// TestReadOps builds small models with the supported operators and checks their outputs against values
// computed by hand.
func TestReadOps(t *testing.T) {
	x := []float64{1, -2}
	tests := []struct {
		name  string
		nodes [][]byte
		inits []tensorSpec
		want  []float64
	}{
		{
			// y = relu(x W + b), W stored [in, out] = [[1,2],[3,4]]: x W = [1-6, 2-8] = [-5, -6]; + b [6, 1] = [1, -5].
			name: "matmul add relu",
			nodes: [][]byte{
				encodeNode("", "MatMul", []string{"x", "W"}, []string{"h"}, nil),
				encodeNode("", "Add", []string{"B", "h"}, []string{"p"}, nil),
				encodeNode("", "Relu", []string{"p"}, []string{"y"}, nil),
			},
			inits: []tensorSpec{{"W", []int64{2, 2}, []float64{1, 2, 3, 4}}, {"B", []int64{2}, []float64{6, 1}}},
			want:  []float64{1, 0},
		},
		{
			// Gemm transB: W [out, in] = [[1,2],[3,4]], alpha 2, beta 0.5: 2*[1-4, 3-8] + 0.5*[2, 2] = [-5, -9];
			// leaky relu slope 0.25: [-1.25, -2.25].
			name: "gemm transB alpha beta leaky",
			nodes: [][]byte{
				encodeNode("", "Gemm", []string{"x", "W", "C"}, []string{"p"}, []attr{
					{name: "transB", i: 1, typ: attrInt}, {name: "alpha", f: 2, typ: attrFloat}, {name: "beta", f: 0.5, typ: attrFloat}}),
				encodeNode("", "LeakyRelu", []string{"p"}, []string{"y"}, []attr{{name: "alpha", f: 0.25, typ: attrFloat}}),
			},
			inits: []tensorSpec{{"W", []int64{2, 2}, []float64{1, 2, 3, 4}}, {"C", []int64{2}, []float64{2, 2}}},
			want:  []float64{-1.25, -2.25},
		},
		{
			// Normalization: x' = (x - [1, 0]) / [2, 4] = [0, -0.5]; Gemm (no transB) W [in,out] = [[1,0],[0,2]]:
			// [0, -1]; tanh.
			name: "sub div flatten gemm tanh",
			nodes: [][]byte{
				encodeNode("", "Sub", []string{"x", "S"}, []string{"s"}, nil),
				encodeNode("", "Div", []string{"s", "D"}, []string{"d"}, nil),
				encodeNode("", "Flatten", []string{"d"}, []string{"f"}, nil),
				encodeNode("", "Gemm", []string{"f", "W"}, []string{"p"}, nil),
				encodeNode("", "Tanh", []string{"p"}, []string{"y"}, nil),
			},
			inits: []tensorSpec{{"S", []int64{1, 2}, []float64{1, 0}}, {"D", []int64{1, 2}, []float64{2, 4}}, {"W", []int64{2, 2}, []float64{1, 0, 0, 2}}},
			want:  []float64{0, math.Tanh(-1)},
		},
		{
			// Two layers, the first with an identity activation, then Elu(alpha 2) and Softplus.
			// Layer 1: W [in,out] = I, so h = x = [1, -2]; layer 2: W [in,out] = [[1,0],[0,1]] + b [0, 1]: [1, -1];
			// elu(2): [1, 2(e^-1 - 1)].
			name: "identity layer then elu",
			nodes: [][]byte{
				encodeNode("", "MatMul", []string{"x", "I"}, []string{"h"}, nil),
				encodeNode("", "MatMul", []string{"h", "I"}, []string{"h2"}, nil),
				encodeNode("", "Add", []string{"h2", "B"}, []string{"p"}, nil),
				encodeNode("", "Elu", []string{"p"}, []string{"y"}, []attr{{name: "alpha", f: 2, typ: attrFloat}}),
			},
			inits: []tensorSpec{{"I", []int64{2, 2}, []float64{1, 0, 0, 1}}, {"B", []int64{2}, []float64{0, 1}}},
			want:  []float64{1, 2 * (math.Exp(-1) - 1)},
		},
	}
	for _, tt := range tests {
		net, err := Read(bytes.NewReader(model([]int64{1, 2}, "y", tt.nodes, tt.inits)))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		got := net.Forward(x)
		for i := range got {
			if math.Abs(got[i]-tt.want[i]) > 1e-6 {
				t.Errorf("%s: output %v, want %v", tt.name, got, tt.want)
				break
			}
		}
	}
}

func TestReadErrors(t *testing.T) {
	relu := encodeNode("n0", "Relu", []string{"p"}, []string{"y"}, nil)
	gemm := encodeNode("g", "Gemm", []string{"x", "W"}, []string{"p"}, nil)
	w := []tensorSpec{{"W", []int64{2, 2}, []float64{1, 2, 3, 4}}}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not protobuf", []byte("hello, this is not onnx"), "not a valid ONNX model"},
		{"empty", nil, "no graph"},
		{"unsupported op", model([]int64{1, 2}, "y", [][]byte{gemm, encodeNode("c", "LRN", []string{"p"}, []string{"y"}, nil)}, w), "operator LRN is not supported"},
		{"wrong shape", model([]int64{1, 3}, "y", [][]byte{gemm, relu}, w), "does not take 3 inputs"},
		{"activation first", model([]int64{1, 2}, "y", [][]byte{encodeNode("r", "Relu", []string{"x"}, []string{"y"}, nil)}, nil), "must follow a Gemm"},
		{"missing weight", model([]int64{1, 2}, "y", [][]byte{gemm, relu}, nil), "neither the data tensor nor a constant"},
		{"wrong output", model([]int64{1, 2}, "z", [][]byte{gemm, relu}, w), "not the end of the layer chain"},
		{"branch", model([]int64{1, 2}, "y", [][]byte{gemm, encodeNode("a", "Add", []string{"x", "p"}, []string{"y"}, nil)}, w), ""},
	}
	for _, tt := range tests {
		_, err := Read(bytes.NewReader(tt.data))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

// TestWriteRoundTrip writes networks of every activation and reads them back.
func TestWriteRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range activation.Names() {
		a, _ := activation.New(name)
		if k, _ := a.Kind(); k.Param != "" {
			a.Param = 0.5
		}
		net := nn.Random(rng, []int{3, 4, 2}, a, activation.Identity)
		for _, f64 := range []bool{true, false} {
			var b bytes.Buffer
			if err := Write(&b, net, Options{Float64: f64}); err != nil {
				t.Fatal(err)
			}
			back, err := Read(&b)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for k := range net.Layers {
				if back.Layers[k].Act != net.Layers[k].Act {
					t.Fatalf("%s: layer %d activation %v", name, k, back.Layers[k].Act)
				}
				for i, v := range net.Layers[k].W {
					want := v
					if !f64 {
						want = float64(float32(v))
					}
					if back.Layers[k].W[i] != want {
						t.Fatalf("%s float64=%v: weight %v, want %v", name, f64, back.Layers[k].W[i], want)
					}
				}
			}
		}
	}
}

// TestReadConv reads a small CNN (Conv with padding and stride, Relu, MaxPool, Conv, AveragePool,
// Flatten, Gemm) and checks its outputs against the same network built directly in package nn, whose
// layers are tested against naive loops there; and refuses what it does not support.
func TestReadConv(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	vec := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(float32(rng.NormFloat64())) // float32 initializers hold them exactly
		}
		return v
	}
	k1, b1, k2, w3, b3 := vec(2*1*3*3), vec(2), vec(3*2*2*2), vec(4*12), vec(4)
	ints := func(name string, v ...int64) attr { return attr{name: name, ints: v, typ: attrInts} }
	nodes := [][]byte{
		encodeNode("c1", "Conv", []string{"x", "k1", "b1"}, []string{"h1"}, []attr{ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1), ints("strides", 1, 1)}),
		encodeNode("r1", "Relu", []string{"h1"}, []string{"h2"}, nil),
		encodeNode("p1", "MaxPool", []string{"h2"}, []string{"h3"}, []attr{ints("kernel_shape", 2, 2), ints("strides", 2, 2)}),
		encodeNode("c2", "Conv", []string{"h3", "k2"}, []string{"h4"}, nil),
		encodeNode("t2", "Tanh", []string{"h4"}, []string{"h5"}, nil),
		encodeNode("p2", "AveragePool", []string{"h5"}, []string{"h6"}, []attr{ints("kernel_shape", 2, 2)}),
		encodeNode("f", "Flatten", []string{"h6"}, []string{"h7"}, nil),
		encodeNode("g", "Gemm", []string{"h7", "w3", "b3"}, []string{"y"}, []attr{{name: "transB", i: 1, typ: attrInt}}),
	}
	inits := []tensorSpec{{"k1", []int64{2, 1, 3, 3}, k1}, {"b1", []int64{2}, b1}, {"k2", []int64{3, 2, 2, 2}, k2}, {"w3", []int64{4, 12}, w3}, {"b3", []int64{4}, b3}}
	net, err := Read(bytes.NewReader(model([]int64{1, 1, 8, 8}, "y", nodes, inits)))
	if err != nil {
		t.Fatal(err)
	}
	g1, _ := nn.NewConv(1, 8, 8, 2, 3, 3, 1, 1)
	q1, _ := nn.NewPool(2, 8, 8, 2, 2, 2)
	g2, _ := nn.NewConv(2, 4, 4, 3, 2, 2, 1, 0)
	q2, _ := nn.NewPool(3, 3, 3, 2, 2, 1)
	want := &nn.Network{Layers: []nn.Layer{
		nn.ConvLayer(g1, k1, b1, activation.ReLU), nn.PoolLayer(nn.MaxPool, q1),
		nn.ConvLayer(g2, k2, make([]float64, 3), activation.Tanh), nn.PoolLayer(nn.AvgPool, q2),
		{In: 12, Out: 4, W: w3, B: b3, Act: activation.Identity},
	}}
	if len(net.Layers) != len(want.Layers) {
		t.Fatalf("%d layers, want %d", len(net.Layers), len(want.Layers))
	}
	x := vec(3 * 64)
	got, exp := net.Forward(x), want.Forward(x)
	for i := range exp {
		if got[i] != exp[i] {
			t.Fatalf("output %d: %v, want %v", i, got[i], exp[i])
		}
	}
	for _, tt := range []struct {
		name string
		node []byte
		want string
	}{
		{"dilation", encodeNode("c1", "Conv", []string{"x", "k1", "b1"}, []string{"y"}, []attr{ints("dilations", 2, 2)}), "dilations"},
		{"group", encodeNode("c1", "Conv", []string{"x", "k1", "b1"}, []string{"y"}, []attr{{name: "group", i: 2, typ: attrInt}}), "group 2"},
		{"missing weight", encodeNode("c1", "Conv", []string{"x", "nope"}, []string{"y"}, nil), "neither the data tensor nor a constant"},
		{"channels", encodeNode("c2", "Conv", []string{"x", "k2"}, []string{"y"}, nil), "take 2 channels, the data has 1"},
		{"asymmetric pads", encodeNode("c1", "Conv", []string{"x", "k1"}, []string{"y"}, []attr{ints("pads", 0, 0, 1, 1)}), "one padding for every side"},
		{"ceil mode", encodeNode("p", "MaxPool", []string{"x"}, []string{"y"}, []attr{ints("kernel_shape", 2, 2), {name: "ceil_mode", i: 1, typ: attrInt}}), "ceil_mode"},
	} {
		_, err := Read(bytes.NewReader(model([]int64{1, 1, 8, 8}, "y", [][]byte{tt.node}, inits)))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := Read(bytes.NewReader(model([]int64{1, 64}, "y", [][]byte{nodes[0]}, inits))); err == nil || !strings.Contains(err.Error(), "not an image") {
		t.Errorf("Conv of a vector: %v", err)
	}
	// Written in doubles and read back, the network is the same to the last bit.
	var buf bytes.Buffer
	if err := Write(&buf, net, Options{Float64: true}); err != nil {
		t.Fatal(err)
	}
	back, err := Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for k := range net.Layers {
		a, b := net.Layers[k], back.Layers[k]
		if a.Kind != b.Kind || a.Geom != b.Geom || a.Act.Name != b.Act.Name || !slices.Equal(a.W, b.W) || !slices.Equal(a.B, b.B) {
			t.Fatalf("layer %d differs after a round trip: %+v / %+v", k, a, b)
		}
	}
}

// TestReadBatchNorm reads Conv-BatchNormalization-Relu and compares the folded layer with the batch
// normalization applied by hand to the convolution's outputs.
func TestReadBatchNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	vec := func(n int, lo float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(float32(lo + rng.Float64()))
		}
		return v
	}
	k, b := vec(3*1*3*3, -0.5), vec(3, -0.5)
	gamma, beta, mean, variance := vec(3, 0.5), vec(3, -0.5), vec(3, -0.5), vec(3, 0.1)
	ints := func(name string, v ...int64) attr { return attr{name: name, ints: v, typ: attrInts} }
	conv := encodeNode("c", "Conv", []string{"x", "k", "b"}, []string{"h"}, []attr{ints("kernel_shape", 3, 3)})
	nodes := [][]byte{conv,
		encodeNode("bn", "BatchNormalization", []string{"h", "g", "be", "m", "v"}, []string{"h2"}, []attr{{name: "epsilon", f: 0.001, typ: attrFloat}}),
		encodeNode("r", "Relu", []string{"h2"}, []string{"y"}, nil)}
	inits := []tensorSpec{{"k", []int64{3, 1, 3, 3}, k}, {"b", []int64{3}, b}, {"g", []int64{3}, gamma}, {"be", []int64{3}, beta}, {"m", []int64{3}, mean}, {"v", []int64{3}, variance}}
	net, err := Read(bytes.NewReader(model([]int64{1, 1, 5, 5}, "y", nodes, inits)))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Read(bytes.NewReader(model([]int64{1, 1, 5, 5}, "h", [][]byte{conv}, inits)))
	if err != nil {
		t.Fatal(err)
	}
	x := vec(2*25, -1)
	got, z := net.Forward(x), plain.Forward(x)
	eps := float64(float32(0.001))
	for i, v := range z {
		c := i % 27 / 9 // 3 channels of 3 x 3 outputs
		want := max(0, gamma[c]*(v-mean[c])/math.Sqrt(variance[c]+eps)+beta[c])
		if math.Abs(got[i]-want) > 1e-12 {
			t.Fatalf("output %d: %v, by hand %v", i, got[i], want)
		}
	}
	bad := [][]byte{encodeNode("bn", "BatchNormalization", []string{"x", "g", "be", "m", "v"}, []string{"y"}, nil)}
	if _, err := Read(bytes.NewReader(model([]int64{1, 3}, "y", bad, inits))); err == nil || !strings.Contains(err.Error(), "must follow") {
		t.Errorf("BatchNormalization of the input: %v", err)
	}
}

// TestReadTranspose reads Conv-Relu-Transpose(NHWC)-Flatten-Gemm, as Keras exports flatten channels last,
// and compares it with the network whose dense weights are permuted by hand: NHWC value (h*W + w)*C + c
// is NCHW value (c*H + h)*W + w.
func TestReadTranspose(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	vec := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(float32(rng.NormFloat64()))
		}
		return v
	}
	const C, H, W = 2, 4, 3 // conv 2 3x3 with pad 1 on a 1x4x3 image
	k, b, w, bias := vec(C*9), vec(C), vec(5*C*H*W), vec(5)
	ints := func(name string, v ...int64) attr { return attr{name: name, ints: v, typ: attrInts} }
	nodes := [][]byte{
		encodeNode("c", "Conv", []string{"x", "k", "b"}, []string{"h"}, []attr{ints("kernel_shape", 3, 3), ints("pads", 1, 1, 1, 1)}),
		encodeNode("r", "Relu", []string{"h"}, []string{"h2"}, nil),
		encodeNode("t", "Transpose", []string{"h2"}, []string{"h3"}, []attr{ints("perm", 0, 2, 3, 1)}),
		encodeNode("f", "Flatten", []string{"h3"}, []string{"h4"}, nil),
		encodeNode("g", "Gemm", []string{"h4", "w", "bias"}, []string{"y"}, []attr{{name: "transB", i: 1, typ: attrInt}}),
	}
	inits := []tensorSpec{{"k", []int64{C, 1, 3, 3}, k}, {"b", []int64{C}, b}, {"w", []int64{5, C * H * W}, w}, {"bias", []int64{5}, bias}}
	net, err := Read(bytes.NewReader(model([]int64{1, 1, H, W}, "y", nodes, inits)))
	if err != nil {
		t.Fatal(err)
	}
	g, _ := nn.NewConv(1, H, W, C, 3, 3, 1, 1)
	pw := make([]float64, len(w))
	for j := 0; j < 5; j++ {
		for h := 0; h < H; h++ {
			for x := 0; x < W; x++ {
				for c := 0; c < C; c++ {
					pw[j*C*H*W+(c*H+h)*W+x] = w[j*C*H*W+(h*W+x)*C+c]
				}
			}
		}
	}
	want := &nn.Network{Layers: []nn.Layer{nn.ConvLayer(g, k, b, activation.ReLU), {In: C * H * W, Out: 5, W: pw, B: bias, Act: activation.Identity}}}
	x := vec(3 * H * W)
	got, exp := net.Forward(x), want.Forward(x)
	for i := range exp {
		if got[i] != exp[i] {
			t.Fatalf("output %d: %v, want %v", i, got[i], exp[i])
		}
	}
	bad := [][]byte{nodes[0], encodeNode("t", "Transpose", []string{"h"}, []string{"h3"}, []attr{ints("perm", 0, 2, 3, 1)}),
		encodeNode("p", "MaxPool", []string{"h3"}, []string{"y"}, []attr{ints("kernel_shape", 2, 2)})}
	if _, err := Read(bytes.NewReader(model([]int64{1, 1, H, W}, "y", bad, inits))); err == nil || !strings.Contains(err.Error(), "after a Transpose") {
		t.Errorf("MaxPool after a Transpose: %v", err)
	}
}
