package falsify

import (
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// A network whose unsafe set is a small corner of the box: y = relu(x0 - 0.95) + relu(x1 - 0.95) - 0.01,
// unsafe when y >= 0. Uniform samples of [-1, 1]^2 rarely land there; the descent must get there.
func cornerProblem() (*nn.Network, *property.Property) {
	net := &nn.Network{Layers: []nn.Layer{
		{In: 2, Out: 2, W: []float64{1, 0, 0, 1}, B: []float64{-0.95, -0.95}, Act: activation.ReLU},
		{In: 2, Out: 1, W: []float64{1, 1}, B: []float64{-0.01}, Act: activation.Identity},
	}}
	p := &property.Property{Inputs: 2, Outputs: 1, Cases: []property.Case{{
		Box:    property.Box{Lo: []float64{-1, -1}, Hi: []float64{1, 1}},
		Unsafe: property.Region{{{Coef: []float64{-1}, Bound: 0}}}, // -y <= 0
	}}}
	return net, p
}

func TestSearchFindsRareCounterexamples(t *testing.T) {
	net, p := cornerProblem()
	// 200 uniform samples: the corner holds about 0.2% of the box, so most runs of sampling alone miss it.
	found := Search(net, p, Options{Samples: 200, Starts: 8, Steps: 50, StepSize: 0.02}, 3)
	if len(found) == 0 {
		t.Fatal("no counterexample found")
	}
	for i := 0; i < len(found)/2; i++ {
		x := found[2*i : 2*i+2]
		if !p.Cases[0].Box.Contains(x) || !p.Unsafe(x, net.Forward(x)) {
			t.Fatalf("%v is not a counterexample in the box", x)
		}
	}
}

func TestSearchFindsNothingOnASafeNetwork(t *testing.T) {
	net, p := cornerProblem()
	net.Layers[1].B[0] = -10 // y <= 0.1 - 10 < 0 everywhere: safe
	if found := Search(net, p, Options{Samples: 500, Starts: 8, Steps: 30, StepSize: 0.05}, 1); len(found) != 0 {
		t.Fatalf("found %v on a safe network", found)
	}
}

func TestAroundStaysInTheBox(t *testing.T) {
	_, p := cornerProblem()
	x := Around(p, []float64{1, 1, -0.5, 0}, 50, 0.1, 1)
	if len(x) != 2*2*50 {
		t.Fatalf("%d values, want 200", len(x))
	}
	for i := 0; i < len(x)/2; i++ {
		if !p.Cases[0].Box.Contains(x[2*i : 2*i+2]) {
			t.Fatalf("%v outside the box", x[2*i:2*i+2])
		}
	}
}
