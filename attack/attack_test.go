package attack

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
)

// TestCrossEntropyGrad checks the gradient of the cross-entropy of the softmax against central finite
// differences of -log softmax(y)_label, on a small random tanh network.
func TestCrossEntropyGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	net := nn.Random(rng, []int{4, 6, 3}, activation.Tanh, activation.Identity)
	x := []float64{0.3, -0.2, 0.5, 0.1}
	for _, tt := range []struct{ label, target int }{{1, -1}, {0, 2}} {
		g := crossEntropyGrad(net, x, tt.label, tt.target)
		f := func(x []float64) float64 {
			p := Softmax(net.Forward(x))
			if tt.target >= 0 {
				return math.Log(p[tt.target])
			}
			return -math.Log(p[tt.label])
		}
		checkGrad(t, fmt.Sprintf("%+v", tt), f, g, x)
	}
}

// line is a linear classifier y = (x0, -x0, -1): class 0 for x0 >= 0, class 1 for x0 < 0 (class 2 never
// wins: one of the others is at least 0).
func line() *nn.Network {
	return &nn.Network{Layers: []nn.Layer{{In: 2, Out: 3, W: []float64{1, 0, -1, 0, 0, 0}, B: []float64{0, 0, -1}, Act: activation.Identity}}}
}

// TestFGSMAndPGD works the attacks out by hand on the linear classifier: from x0 = 0.1 (class 0), a step
// of eps moves x0 to 0.1 - eps and x1 not at all (its gradient is 0); eps 0.2 crosses the boundary, eps
// 0.05 does not; every result stays in the ball and in [lo, hi].
func TestFGSMAndPGD(t *testing.T) {
	net := line()
	x := []float64{0.1, 0.5, 0.3, 0.5}
	labels := []int{0, 0}
	for _, tt := range []struct {
		method  string
		eps     float64
		success float64
	}{{"fgsm", 0.2, 0}, {"fgsm", 0.05, 0}, {"pgd", 0.2, 0}, {"pgd", 0.05, 0}} {
		res, err := Run(net, x, labels, Options{Method: tt.method, Eps: tt.eps, Lo: 0, Hi: 1, Target: -1, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if res.Clean != 100 || res.Attacked != 2 {
			t.Fatalf("%s: clean %v, attacked %d", tt.method, res.Clean, res.Attacked)
		}
		for i, v := range res.X {
			if math.Abs(v-x[i]) > tt.eps+1e-15 || v < 0 || v > 1 {
				t.Errorf("%s eps %v: value %d is %v, from %v", tt.method, tt.eps, i, v, x[i])
			}
		}
		// The boundary is at x0 = 0, which clipping to [0, 1] reaches but does not cross (a tie, which
		// argmax gives class 0): within the range no attack succeeds; unbounded, below, it does.
		if res.Success != tt.success {
			t.Errorf("%s eps %v in [0, 1]: success %v, want %v", tt.method, tt.eps, res.Success, tt.success)
		}
	}
	res, err := Run(net, x, labels, Options{Method: "fgsm", Eps: 0.2, Target: -1})
	if err != nil {
		t.Fatal(err)
	}
	if res.X[0] != 0.1-0.2 || res.X[1] != 0.5 || res.Success != 50 || res.Robust != 50 {
		t.Errorf("unbounded FGSM eps 0.2: %v, success %v, robust %v; want x0 -0.1, x1 0.5, 50%%, 50%%", res.X, res.Success, res.Robust)
	}
	// Targeted at class 1: the same move.
	res, err = Run(net, x[:2], labels[:1], Options{Method: "pgd", Eps: 0.2, Target: 1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Success != 100 || nn.Argmax(net.Forward(res.X)) != 1 {
		t.Errorf("targeted PGD: success %v at %v", res.Success, res.X)
	}
	for _, bad := range []Options{{Method: "fgsm", Eps: 0}, {Method: "cw", Eps: 1}, {Method: "fgsm", Eps: 1, Target: 3}} {
		if _, err := Run(net, x, labels, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestMarginGrad checks the margin's gradient against finite differences of the margin itself (away from
// ties, where it is smooth), untargeted and targeted.
func TestMarginGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	net := nn.Random(rng, []int{4, 6, 4}, activation.Tanh, activation.Identity)
	x := []float64{0.3, -0.2, 0.5, 0.1}
	for _, tt := range []struct{ label, target int }{{1, -1}, {0, 2}, {3, 1}} {
		g := marginGrad(net, x, tt.label, tt.target)
		f := func(x []float64) float64 {
			y := net.Forward(x)
			own := tt.label
			if tt.target >= 0 {
				own = tt.target
			}
			other := math.Inf(-1)
			for j, v := range y {
				if j != own {
					other = math.Max(other, v)
				}
			}
			if tt.target >= 0 {
				return y[tt.target] - other
			}
			return other - y[tt.label]
		}
		checkGrad(t, fmt.Sprintf("%+v", tt), f, g, x)
	}
}

// TestSaturatedCrossEntropy: scaled by 1e4, the linear classifier's softmax is exactly one-hot, the
// cross-entropy's gradient is zero, and the attack still crosses the boundary by the margin's gradient.
func TestSaturatedCrossEntropy(t *testing.T) {
	net := line()
	for i := range net.Layers[0].W {
		net.Layers[0].W[i] *= 1e4
	}
	net.Layers[0].B[2] = -1e4
	x := []float64{0.1, 0.5}
	if g := crossEntropyGrad(net, x, 0, -1); g[0] != 0 || g[1] != 0 {
		t.Fatalf("cross-entropy gradient %v, want 0 (saturated)", g)
	}
	for _, loss := range []string{"ce", "margin"} {
		res, err := Run(net, x, []int{0}, Options{Method: "fgsm", Eps: 0.2, Target: -1, Loss: loss})
		if err != nil {
			t.Fatal(err)
		}
		if res.Success != 100 || math.Abs(res.X[0]-(-0.1)) > 1e-15 {
			t.Errorf("%s: success %v%%, x %v, want 100%% at x0 = -0.1", loss, res.Success, res.X)
		}
	}
	if _, err := Run(net, x, []int{0}, Options{Method: "fgsm", Eps: 0.2, Loss: "l2"}); err == nil {
		t.Error("unknown loss: no error")
	}
}

// checkGrad compares the gradient g of f at x with central finite differences.
func checkGrad(t *testing.T, name string, f func([]float64) float64, g, x []float64) {
	t.Helper()
	for i := range x {
		xp, xm := append([]float64(nil), x...), append([]float64(nil), x...)
		xp[i] += 1e-6
		xm[i] -= 1e-6
		fd := (f(xp) - f(xm)) / 2e-6
		if math.Abs(fd-g[i]) > 1e-6*(1+math.Abs(fd)) {
			t.Errorf("%s input %d: %v, finite differences %v", name, i, g[i], fd)
		}
	}
}
