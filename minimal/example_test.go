package minimal_test

import (
	"context"
	"fmt"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/minimal"
	"github.com/birdnn/birdnn/nn"
)

// The identity network y = x gives (1, 1) at x = (1, 1). Asking y1 to beat y0 by 1 there needs the
// output weights to move by at least 1/4 each (L-infinity): the change is spread over the four weights,
// and the dual bound proves nothing smaller works.
func ExampleSolve() {
	net := &nn.Network{Layers: []nn.Layer{{In: 2, Out: 2, W: []float64{1, 0, 0, 1}, B: []float64{0, 0}, Act: activation.Identity}}}
	in := []minimal.Input{{X: []float64{1, 1}, Rows: []minimal.Row{{Coef: []float64{-1, 1}, Bound: 1}}}}
	res, err := minimal.Solve(context.Background(), net, in, minimal.Options{Layer: -1, Norm: minimal.LInf})
	if err != nil {
		fmt.Println(err)
		return
	}
	y := res.Net.Forward([]float64{1, 1})
	fmt.Printf("change %.4f, proved >= %.4f, y = (%.2f, %.2f)\n", res.Change, res.LowerBound, y[0], y[1])
	// Output: change 0.2500, proved >= 0.2500, y = (0.50, 1.50)
}
