package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/activation"
)

// nnrepairShape is a CNN of the shape of NNrepair's MNIST models, random weights: conv 2 3x3 - relu -
// conv 4 3x3 - relu - maxpool 2 - dense 128 - relu - dense 10.
func nnrepairShape(rng *rand.Rand) *Network {
	c1, _ := NewConv(1, 28, 28, 2, 3, 3, 1, 0)
	c2, _ := NewConv(2, 26, 26, 4, 3, 3, 1, 0)
	p, _ := NewPool(4, 24, 24, 2, 2, 2)
	return &Network{Layers: []Layer{
		ConvLayer(c1, randVec(rng, 18), randVec(rng, 2), activation.ReLU),
		ConvLayer(c2, randVec(rng, 72), randVec(rng, 4), activation.ReLU),
		PoolLayer(MaxPool, p),
		{In: 576, Out: 128, W: randVec(rng, 576*128), B: randVec(rng, 128), Act: activation.ReLU},
		{In: 128, Out: 10, W: randVec(rng, 1280), B: randVec(rng, 10), Act: activation.Identity},
	}}
}

// cnnFLOPs is the multiply-adds (times 2) of one example's forward pass through net's conv and dense
// layers.
func cnnFLOPs(net *Network) float64 {
	f := 0.0
	for _, l := range net.Layers {
		switch l.Kind {
		case Conv:
			g := l.Geom
			f += 2 * float64(g.OutC*g.OutH*g.OutW*g.InC*g.KH*g.KW)
		case Dense:
			f += 2 * float64(l.In*l.Out)
		}
	}
	return f
}

// naiveForward is the reference the benchmark compares with: naiveConv, max pooling and dense layers by
// plain loops, one example at a time.
func naiveForward(net *Network, x []float64) []float64 {
	var out []float64
	d := net.Inputs()
	for r := 0; r < len(x)/d; r++ {
		h := x[r*d : (r+1)*d]
		for _, l := range net.Layers {
			g := l.Geom
			var next []float64
			switch l.Kind {
			case Conv:
				next = naiveConv(h, g.InC, g.InH, g.InW, l.W, l.B, g.OutC, g.KH, g.KW, g.Stride, g.Pad)
			case MaxPool:
				next = make([]float64, l.Out)
				for j := range next {
					win := g.window(j)
					m := h[win[0]]
					for _, i := range win[1:] {
						m = max(m, h[i])
					}
					next[j] = m
				}
			default:
				next = make([]float64, l.Out)
				for j := range next {
					s := l.B[j]
					for i, w := range l.W[j*l.In : (j+1)*l.In] {
						s += w * h[i]
					}
					next[j] = s
				}
			}
			for j := range next {
				next[j] = l.Act.Value(next[j])
			}
			h = next
		}
		out = append(out, h...)
	}
	return out
}

// BenchmarkCNNForward measures the forward pass of an NNrepair-shaped CNN on 1024 images (Forward: im2col
// and gemm on every core) against naiveForward, and reports the rate in images and GFLOP/s.
func BenchmarkCNNForward(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	net := nnrepairShape(rng)
	const batch = 1024
	x := randVec(rng, batch*784)
	// A dense 784-160-10 network does about the CNN's work (254 kFLOP an image against 257): the rate the
	// project's gemm reaches on plain matrix products of this size.
	dense := Random(rng, []int{784, 160, 10}, activation.ReLU, activation.Identity)
	for _, bm := range []struct {
		name string
		f    func([]float64) []float64
	}{{"im2col-gemm", net.Forward}, {"naive", func(x []float64) []float64 { return naiveForward(net, x) }},
		{"dense-same-flops", dense.Forward}} {
		b.Run(bm.name, func(b *testing.B) {
			for b.Loop() {
				bm.f(x)
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(batch/sec, "images/s")
			f := cnnFLOPs(net)
			if bm.name == "dense-same-flops" {
				f = cnnFLOPs(dense)
			}
			b.ReportMetric(f*batch/sec/1e9, "GFLOP/s")
		})
	}
}

// TestNaiveForwardAgrees keeps the benchmark's reference honest: it matches Forward.
func TestNaiveForwardAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	net := nnrepairShape(rng)
	x := randVec(rng, 3*784)
	y, z := net.Forward(x), naiveForward(net, x)
	for i := range y {
		if d := y[i] - z[i]; d > 1e-9 || d < -1e-9 {
			t.Fatalf("output %d: %v, naive %v", i, y[i], z[i])
		}
	}
}
