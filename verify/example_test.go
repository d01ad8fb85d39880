package verify_test

import (
	"context"
	"fmt"
	"time"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/verify"
)

// A tanh network with two outputs, y0 = tanh(x0 + x1) + tanh(x0 - x1) and y1 = 0, and the property
// "y0 >= threshold never happens" on [-1, 1]^2. The largest y0 is 2 tanh(1) = 1.523, at x = (1, 0).
func example(threshold float64) (*nn.Network, *property.Property) {
	net := &nn.Network{Layers: []nn.Layer{
		{In: 2, Out: 2, W: []float64{1, 1, 1, -1}, B: []float64{0, 0}, Act: activation.Tanh},
		{In: 2, Out: 2, W: []float64{1, 1, 0, 0}, B: []float64{0, 0}, Act: activation.Identity},
	}}
	box := property.Box{Lo: []float64{-1, -1}, Hi: []float64{1, 1}}
	prop := &property.Property{Inputs: 2, Outputs: 2, Cases: []property.Case{{Box: box,
		// Unsafe: -y0 <= -threshold.
		Unsafe: property.Region{{{Coef: []float64{-1, 0}, Bound: -threshold}}}}}}
	return net, prop
}

func ExampleVerify() {
	for _, threshold := range []float64{1.53, 1.5} {
		net, prop := example(threshold)
		res := verify.Verify(context.Background(), net, prop, verify.Options{Timeout: 10 * time.Second})
		fmt.Printf("y0 >= %.2f: %s\n", threshold, res.Verdict)
	}
	// Output:
	// y0 >= 1.53: certified
	// y0 >= 1.50: violated
}
