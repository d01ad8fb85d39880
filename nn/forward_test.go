package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/activation"
)

// BenchmarkForward: a 5-64x6-5 network (the activation suite's students) on a batch of 4096 rows, the
// size of a repair batch.
func BenchmarkForward(b *testing.B) {
	for _, act := range []activation.Activation{activation.ReLU, activation.Tanh, activation.Sigmoid} {
		b.Run(act.Name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 4))
			net := Random(rng, []int{5, 64, 64, 64, 64, 64, 64, 5}, act, activation.Identity)
			x := make([]float64, 4096*5)
			for i := range x {
				x[i] = rng.Float64() - 0.5
			}
			for b.Loop() {
				net.Forward(x)
			}
		})
	}
}
