package diff_test

import (
	"context"
	"fmt"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/diff"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// A(x) = relu(x) and B(x) = relu(1.1 x) + 0.1 on [0.5, 1]: both ReLUs are active, so B - A = 0.1 x + 0.1,
// which runs from 0.15 to 0.2. Below 0.25 everywhere: certified; below 0.18: violated (for x >= 0.8).
func ExampleVerify() {
	a := &nn.Network{Layers: []nn.Layer{
		{In: 1, Out: 1, W: []float64{1}, B: []float64{0}, Act: activation.ReLU},
		{In: 1, Out: 1, W: []float64{1}, B: []float64{0}, Act: activation.Identity},
	}}
	b := a.Clone()
	b.Layers[0].W[0], b.Layers[1].B[0] = 1.1, 0.1
	box := property.Box{Lo: []float64{0.5}, Hi: []float64{1}}
	for _, eps := range []float64{0.25, 0.18} {
		res, err := diff.Verify(context.Background(), a, b, box, diff.Options{Eps: eps, Output: -1})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("eps %.2f: %s", eps, res.Verdict)
		if res.Input != nil {
			// Which input is found depends on which method answers first; it always has B - A = 0.1 x + 0.1.
			fmt.Printf(": B - A = 0.1 x + 0.1 at the input found: %t", res.Difference >= eps && res.Difference-(0.1*res.Input[0]+0.1) < 1e-12)
		}
		fmt.Println()
	}
	bd, _ := diff.MaxBound(context.Background(), a, b, box, diff.BoundOptions{Output: -1, Samples: 1000, MaxBoxes: 100})
	fmt.Printf("max |B - A| certified %.4f\n", bd.Certified)
	// Output:
	// eps 0.25: certified
	// eps 0.18: violated: B - A = 0.1 x + 0.1 at the input found: true
	// max |B - A| certified 0.2000
}
