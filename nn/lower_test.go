package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/activation"
)

// TestLower checks lowered networks against the originals' plain forward passes on random inputs:
// the CNN of every kind (max pooling of ReLU outputs), max pooling of tanh outputs (signed values,
// windows of 3 x 3 = 9 values, an odd count), padding and strides, and a network ending in a pool.
func TestLower(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	c1, _ := NewConv(2, 7, 7, 3, 3, 3, 2, 1) // 2x7x7 -> 3x4x4
	p1, _ := NewPool(3, 4, 4, 3, 3, 1)       // -> 3x2x2, overlapping windows
	p2, _ := NewPool(3, 2, 2, 2, 2, 2)       // -> 3x1x1
	tanhPool := &Network{Layers: []Layer{
		ConvLayer(c1, randVec(rng, 3*2*9), randVec(rng, 3), activation.Tanh),
		PoolLayer(MaxPool, p1),
		PoolLayer(AvgPool, p2),
		{In: 3, Out: 2, W: randVec(rng, 6), B: randVec(rng, 2), Act: activation.Identity},
	}}
	endsInPool := &Network{Layers: []Layer{
		ConvLayer(c1, randVec(rng, 3*2*9), randVec(rng, 3), activation.ReLU),
		PoolLayer(MaxPool, p1),
	}}
	for name, net := range map[string]*Network{"cnn": cnn(rng), "tanh max pool": tanhPool, "ends in a pool": endsInPool} {
		low, err := Lower(net)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !low.AllDense() || low.Inputs() != net.Inputs() || low.Outputs() != net.Outputs() {
			t.Fatalf("%s: lowered %d -> %d, dense %v", name, low.Inputs(), low.Outputs(), low.AllDense())
		}
		x := randVec(rng, 50*net.Inputs())
		y, z := net.Forward(x), low.Forward(x)
		for i := range y {
			if math.Abs(y[i]-z[i]) > 1e-12*(1+math.Abs(y[i])) {
				t.Fatalf("%s: output %d: %v, lowered %v", name, i, y[i], z[i])
			}
		}
	}
	// A dense network lowers to itself.
	d := Random(rng, []int{3, 4, 2}, activation.ReLU, activation.Identity)
	low, _ := Lower(d)
	for k := range d.Layers {
		for i, w := range d.Layers[k].W {
			if low.Layers[k].W[i] != w {
				t.Fatalf("dense layer %d weight %d changed", k, i)
			}
		}
	}
}
