package nn_test

import (
	"fmt"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
)

// A 2-2-1 network: hidden relu(x0 - x1), relu(x0 + x1); output their sum plus 0.5.
func ExampleNetwork_Forward() {
	net := &nn.Network{Layers: []nn.Layer{
		{In: 2, Out: 2, W: []float64{1, -1, 1, 1}, B: []float64{0, 0}, Act: activation.ReLU},
		{In: 2, Out: 1, W: []float64{1, 1}, B: []float64{0.5}, Act: activation.Identity},
	}}
	if err := net.Validate(); err != nil {
		panic(err)
	}
	// Two inputs, row-major: (1, 2) and (3, 1).
	y := net.Forward([]float64{1, 2, 3, 1})
	fmt.Println(y)
	// Output: [3.5 6.5]
}
