package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/activation"
)

// TestInputGrad checks the plain-Go input gradient against central finite differences.
func TestInputGrad(t *testing.T) {
	for _, name := range activation.Names() {
		a, _ := activation.New(name)
		rng := rand.New(rand.NewPCG(1, 3))
		net := Random(rng, []int{4, 7, 6, 3}, a, activation.Identity)
		x := []float64{0.3, -0.7, 1.1, 0.05}
		gy := []float64{1, -2, 0.5}
		f := func(x []float64) float64 {
			y := net.Forward(x)
			return gy[0]*y[0] + gy[1]*y[1] + gy[2]*y[2]
		}
		g := net.InputGrad(x, gy)
		for i := range x {
			old := x[i]
			x[i] = old + 1e-6
			up := f(x)
			x[i] = old - 1e-6
			down := f(x)
			x[i] = old
			if fd := (up - down) / 2e-6; math.Abs(fd-g[i]) > 1e-6*math.Max(1, math.Abs(fd)) {
				t.Errorf("%s: input gradient %d = %v, finite differences %v", name, i, g[i], fd)
			}
		}
	}
}
