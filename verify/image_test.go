package verify

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/falsify"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

func uniform(rng *rand.Rand, n int, scale float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = (2*rng.Float64() - 1) * scale
	}
	return v
}

// randomCNN is a small classifier of side x side images: conv (act, padded) - max or average pool -
// conv (relu) - dense (relu) - dense, 3 classes.
func randomCNN(rng *rand.Rand, side int, act activation.Activation, pool nn.Kind) *nn.Network {
	c1, _ := nn.NewConv(1, side, side, 2, 3, 3, 1, 1)
	p1, _ := nn.NewPool(2, side, side, 2, 2, 2)
	h := p1.OutH
	c2, _ := nn.NewConv(2, h, h, 3, 2, 2, 1, 0)
	flat := c2.Outs()
	return &nn.Network{Layers: []nn.Layer{
		nn.ConvLayer(c1, uniform(rng, 2*9, 0.6), uniform(rng, 2, 0.2), act),
		nn.PoolLayer(pool, p1),
		nn.ConvLayer(c2, uniform(rng, 3*2*4, 0.6), uniform(rng, 3, 0.2), activation.ReLU),
		{In: flat, Out: 6, W: uniform(rng, flat*6, 0.5), B: uniform(rng, 6, 0.2), Act: activation.ReLU},
		{In: 6, Out: 3, W: uniform(rng, 18, 0.5), B: uniform(rng, 3, 0.2), Act: activation.Identity},
	}}
}

// TestImageBoundsContainSamples: IBP and CROWN bounds of the lowered network hold every output of the
// network itself on samples of random boxes (corners and the centre included), for max and average
// pooling of ReLU and tanh convolutions.
func TestImageBoundsContainSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, act := range []activation.Activation{activation.ReLU, activation.Tanh} {
		for _, pool := range []nn.Kind{nn.MaxPool, nn.AvgPool} {
			for trial := 0; trial < 4; trial++ {
				net := randomCNN(rng, 6, act, pool)
				low, err := nn.Lower(net)
				if err != nil {
					t.Fatal(err)
				}
				box := randomBox(rng, 36, []float64{0.01, 0.1, 0.5, 2}[trial])
				last := len(low.Layers) - 1
				ibp, crown := IBP(low, box)[last], Crown(low, box)[last]
				x := box.Sample(rng, 2000)
				x = append(x, box.Lo...)
				x = append(x, box.Hi...)
				for i := range box.Lo {
					x = append(x, (box.Lo[i]+box.Hi[i])/2)
				}
				y := net.Forward(x)
				for r := 0; r < len(y)/3; r++ {
					for j := 0; j < 3; j++ {
						v := y[r*3+j]
						if v < ibp[j].Lo || v > ibp[j].Hi || v < crown[j].Lo || v > crown[j].Hi {
							t.Fatalf("%s %s trial %d: output %d = %v outside IBP %v or CROWN %v", act, pool, trial, j, v, ibp[j], crown[j])
						}
					}
				}
			}
		}
	}
}

// TestImageVerdictsAgreeWithSearch verifies L-infinity robustness of random CNNs around random images,
// of 6 x 6 pixels (input splits) and 9 x 9 (81 inputs: relu splits), with radii from tiny to large: a
// certified network has no counterexample among 20000 samples and a gradient search of the box, and a
// violated one has a counterexample the network itself confirms.
func TestImageVerdictsAgreeWithSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	counts := map[Verdict]int{}
	for _, side := range []int{6, 9} {
		for trial := 0; trial < 8; trial++ {
			act := []activation.Activation{activation.ReLU, activation.Tanh}[trial%2]
			pool := []nn.Kind{nn.MaxPool, nn.AvgPool}[trial/2%2]
			net := randomCNN(rng, side, act, pool)
			img := make([]float64, side*side)
			for i := range img {
				img[i] = rng.Float64()
			}
			label := nn.Argmax(net.Forward(img))
			eps := []float64{0.001, 0.01, 0.05, 0.2}[trial/2%4]
			prop, err := property.Robustness(img, label, 3, eps, 0, 1, -1)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("%dx%d %s %s eps %g", side, side, act, pool, eps)
			res := Verify(context.Background(), net, prop, Options{MaxBoxes: 400})
			counts[res.Verdict]++
			switch res.Verdict {
			case Certified:
				if cx := falsify.Search(net, prop, falsify.Options{Samples: 20000, Starts: 32, Steps: 50, StepSize: 0.05, Want: 1}, 7); len(cx) > 0 {
					t.Fatalf("%s: certified, but %v is a counterexample", name, cx[:side*side])
				}
			case Violated:
				x := res.Counterexample.Input
				if !prop.Cases[0].Box.Contains(x) || !prop.Unsafe(x, net.Forward(x)) {
					t.Fatalf("%s: counterexample is not one", name)
				}
				for i, v := range net.Forward(x) {
					if math.Float64bits(v) != math.Float64bits(res.Counterexample.Output[i]) {
						t.Fatalf("%s: counterexample outputs are not the network's own", name)
					}
				}
			}
		}
	}
	if counts[Certified] == 0 || counts[Violated] == 0 {
		t.Errorf("verdicts %v: want certified and violated cases", counts)
	}
	t.Logf("verdicts %v", counts)
}
