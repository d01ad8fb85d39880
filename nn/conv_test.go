package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/activation"
)

// naiveConv is a convolution written straight from its definition, independently of im2col:
// out[o][y][x] = b[o] + sum over c, i, j of w[o][c][i][j] * in[c][y*s+i-p][x*s+j-p] (zero outside).
func naiveConv(in []float64, c, h, w int, k []float64, b []float64, o, kh, kw, s, p int) []float64 {
	oh, ow := (h+2*p-kh)/s+1, (w+2*p-kw)/s+1
	out := make([]float64, o*oh*ow)
	for f := 0; f < o; f++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				sum := b[f]
				for ch := 0; ch < c; ch++ {
					for i := 0; i < kh; i++ {
						for j := 0; j < kw; j++ {
							yy, xx := y*s+i-p, x*s+j-p
							if yy >= 0 && yy < h && xx >= 0 && xx < w {
								sum += k[((f*c+ch)*kh+i)*kw+j] * in[(ch*h+yy)*w+xx]
							}
						}
					}
				}
				out[(f*oh+y)*ow+x] = sum
			}
		}
	}
	return out
}

func randVec(rng *rand.Rand, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

// TestConvForward checks the im2col + gemm convolution against naiveConv, for strides, paddings and
// batch sizes on both sides of the forward pass's gemm threshold.
func TestConvForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tt := range []struct{ c, h, w, o, kh, kw, s, p, batch int }{
		{1, 28, 28, 2, 3, 3, 1, 0, 3},
		{2, 7, 9, 3, 3, 2, 2, 1, 20},
		{3, 5, 5, 4, 5, 5, 1, 2, 1},
		{1, 4, 4, 1, 1, 1, 3, 0, 2},
	} {
		g, err := NewConv(tt.c, tt.h, tt.w, tt.o, tt.kh, tt.kw, tt.s, tt.p)
		if err != nil {
			t.Fatal(err)
		}
		k, b := randVec(rng, tt.o*tt.c*tt.kh*tt.kw), randVec(rng, tt.o)
		net := &Network{Layers: []Layer{ConvLayer(g, k, b, activation.Identity)}}
		if err := net.Validate(); err != nil {
			t.Fatal(err)
		}
		x := randVec(rng, tt.batch*g.Ins())
		y := net.Forward(x)
		for r := 0; r < tt.batch; r++ {
			want := naiveConv(x[r*g.Ins():(r+1)*g.Ins()], tt.c, tt.h, tt.w, k, b, tt.o, tt.kh, tt.kw, tt.s, tt.p)
			for i, v := range want {
				if d := math.Abs(y[r*g.Outs()+i] - v); d > 1e-12*(1+math.Abs(v)) {
					t.Fatalf("%+v row %d output %d: %v, naive %v", tt, r, i, y[r*g.Outs()+i], v)
				}
			}
		}
	}
}

// TestPoolForward works two 2x2 poolings of a 1x4x4 image out by hand.
func TestPoolForward(t *testing.T) {
	x := []float64{
		1, 2, 5, 0,
		3, 4, -1, -2,
		0, 0, 7, 7,
		-9, 1, 7, 8,
	}
	for _, tt := range []struct {
		kind Kind
		want []float64
	}{{MaxPool, []float64{4, 5, 1, 8}}, {AvgPool, []float64{2.5, 0.5, -2, 7.25}}} {
		g, err := NewPool(1, 4, 4, 2, 2, 2)
		if err != nil {
			t.Fatal(err)
		}
		net := &Network{Layers: []Layer{PoolLayer(tt.kind, g)}}
		if err := net.Validate(); err != nil {
			t.Fatal(err)
		}
		y := net.Forward(x)
		for i := range tt.want {
			if y[i] != tt.want[i] {
				t.Errorf("%s: %v, want %v", tt.kind, y, tt.want)
				break
			}
		}
	}
}

// cnn is a small network of every kind: conv-relu, max pool, conv-tanh, average pool, dense.
func cnn(rng *rand.Rand) *Network {
	c1, _ := NewConv(1, 8, 8, 2, 3, 3, 1, 1)
	p1, _ := NewPool(2, 8, 8, 2, 2, 2)
	c2, _ := NewConv(2, 4, 4, 3, 2, 2, 1, 0)
	p2, _ := NewPool(3, 3, 3, 2, 2, 1)
	return &Network{Layers: []Layer{
		ConvLayer(c1, randVec(rng, 2*9), randVec(rng, 2), activation.ReLU),
		PoolLayer(MaxPool, p1),
		ConvLayer(c2, randVec(rng, 3*2*4), randVec(rng, 3), activation.Tanh),
		PoolLayer(AvgPool, p2),
		{In: 12, Out: 4, W: randVec(rng, 48), B: randVec(rng, 4), Act: activation.Identity},
	}}
}

// TestImageInputGrad checks the backward pass through conv and pooling layers by central finite
// differences.
func TestImageInputGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	net := cnn(rng)
	if err := net.Validate(); err != nil {
		t.Fatal(err)
	}
	x := randVec(rng, 64)
	gy := []float64{0.3, -1, 0.5, 2}
	g := net.InputGrad(x, gy)
	f := func(x []float64) float64 {
		y := net.Forward(x)
		s := 0.0
		for i := range y {
			s += gy[i] * y[i]
		}
		return s
	}
	const h = 1e-6
	for i := range x {
		xp, xm := append([]float64(nil), x...), append([]float64(nil), x...)
		xp[i] += h
		xm[i] -= h
		fd := (f(xp) - f(xm)) / (2 * h)
		if math.Abs(fd-g[i]) > 1e-5*(1+math.Abs(fd)) {
			t.Errorf("input %d: gradient %v, finite differences %v", i, g[i], fd)
		}
	}
}

func TestImageLayerErrors(t *testing.T) {
	if _, err := NewConv(1, 2, 2, 1, 3, 3, 1, 0); err == nil {
		t.Error("a 3x3 window on a 2x2 image accepted")
	}
	if _, err := NewPool(1, 4, 4, 2, 2, 0); err == nil {
		t.Error("stride 0 accepted")
	}
	g, _ := NewConv(1, 4, 4, 2, 3, 3, 1, 0)
	bad := &Network{Layers: []Layer{ConvLayer(g, make([]float64, 17), make([]float64, 2), activation.ReLU)}}
	if err := bad.Validate(); err == nil {
		t.Error("a conv layer with 17 weights for 2 kernels of 3x3 accepted")
	}
	if cnn(rand.New(rand.NewPCG(1, 1))).AllDense() {
		t.Error("AllDense of a CNN")
	}
}
