package nn_test

import (
	"fmt"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
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

// A patch adds 10 to the output of f(x) = relu(x) on the box [0.5, 1], fading out over 0.1 outside it:
// unchanged at 0.2, +10 at 0.75, +5 at 0.45 (halfway through the band).
func ExamplePatch() {
	net := &nn.Network{Layers: []nn.Layer{
		{In: 1, Out: 1, W: []float64{1}, B: []float64{0}, Act: activation.ReLU},
		{In: 1, Out: 1, W: []float64{1}, B: []float64{0}, Act: activation.ReLU},
		{In: 1, Out: 1, W: []float64{1}, B: []float64{0}, Act: activation.Identity},
	}}
	box := property.Box{Lo: []float64{0.5}, Hi: []float64{1}}
	patched, err := nn.Patch(net, []nn.BoxPatch{{Box: box, Offset: []float64{10}}}, []float64{0.1})
	if err != nil {
		panic(err)
	}
	for _, x := range []float64{0.2, 0.75, 0.45} {
		fmt.Printf("f(%.2f) = %.4g, patched %.4g\n", x, net.Forward([]float64{x})[0], patched.Forward([]float64{x})[0])
	}
	fmt.Println("hidden neurons:", net.Hidden(), "->", patched.Hidden())
	// Output:
	// f(0.20) = 0.2, patched 0.2
	// f(0.75) = 0.75, patched 10.75
	// f(0.45) = 0.45, patched 5.45
	// hidden neurons: 2 -> 5
}
