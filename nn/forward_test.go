package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/activation"
)

// TestApplyInChunks: the activation applied in chunks on every core gives the serial result to the bit,
// for every activation, on a length no chunk count divides, and changes every value that the serial pass
// changes (no chunk is skipped or done twice: tanh of tanh would differ).
func TestApplyInChunks(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 5*applyChunk + 7
	for _, name := range activation.Names() {
		act, err := activation.New(name)
		if err != nil {
			t.Fatal(err)
		}
		in := make([]float64, n)
		for i := range in {
			in[i] = 8 * (2*rng.Float64() - 1)
		}
		got, want := append([]float64(nil), in...), append([]float64(nil), in...)
		apply(act, got)
		act.Apply(want)
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("%s: value %d: chunked %v, serial %v (input %v)", name, i, got[i], want[i], in[i])
			}
		}
	}
}

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
