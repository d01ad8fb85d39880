package nn

import (
	"math"
	"math/rand/v2"

	"github.com/birdnn/birdnn/activation"
)

// Random returns a network with the given layer sizes (inputs first), hidden activation act and output
// activation out, with Glorot-uniform weights and small biases drawn from rng.
func Random(rng *rand.Rand, sizes []int, act, out activation.Activation) *Network {
	n := &Network{}
	for k := 0; k+1 < len(sizes); k++ {
		in, o := sizes[k], sizes[k+1]
		l := Layer{In: in, Out: o, W: make([]float64, in*o), B: make([]float64, o), Act: act}
		if k+2 == len(sizes) {
			l.Act = out
		}
		lim := math.Sqrt(6 / float64(in+o))
		for i := range l.W {
			l.W[i] = (2*rng.Float64() - 1) * lim
		}
		for i := range l.B {
			l.B[i] = (2*rng.Float64() - 1) * 0.1
		}
		n.Layers = append(n.Layers, l)
	}
	return n
}
