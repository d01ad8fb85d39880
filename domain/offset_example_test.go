package domain_test

import (
	"context"
	"fmt"
	"time"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/domain"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// Output 2 of y = (tanh x, -tanh x, -0.5) must never be the least on [-1, 1]; it is where |tanh x| < 0.5.
// Raising its bias by a little over 0.5 repairs that, and the verifier certifies it.
func ExampleOffset() {
	net := &nn.Network{Layers: []nn.Layer{
		{In: 1, Out: 1, W: []float64{1}, B: []float64{0}, Act: activation.Tanh},
		{In: 1, Out: 3, W: []float64{1, -1, 0}, B: []float64{0, 0, -0.5}, Act: activation.Identity},
	}}
	p := &property.Property{Inputs: 1, Outputs: 3, Cases: []property.Case{{
		Box: property.Box{Lo: []float64{-1}, Hi: []float64{1}},
		Unsafe: property.Region{{
			{Coef: []float64{-1, 0, 1}, Bound: 0}, // y2 <= y0
			{Coef: []float64{0, -1, 1}, Bound: 0}, // y2 <= y1
		}},
	}}}
	shifted, rep, err := domain.Offset(context.Background(), net, p, 5*time.Second, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s: output %v raised by %.3f\n", rep.Verdict, rep.Outputs, rep.Shift)
	fmt.Printf("at x = 0: %.3f\n", shifted.Forward([]float64{0}))
	// Output:
	// certified: output [2] raised by [0.500]
	// at x = 0: [0.000 0.000 0.000]
}
