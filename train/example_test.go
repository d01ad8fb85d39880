package train_test

import (
	"fmt"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/train"
)

// Train a one-weight linear network y = w x + b towards y = 2x + 1 with Adam.
func ExampleGraph() {
	net := &nn.Network{Layers: []nn.Layer{{In: 1, Out: 1, W: []float64{0}, B: []float64{0}, Act: activation.Identity}}}
	gr, err := train.NewGraph(net, 4, train.Options{})
	if err != nil {
		panic(err)
	}
	defer gr.Close()
	target := gr.NewInput("target", 4, 1)
	weight := gr.NewInput("weight", 4, 1)
	loss, _ := gr.WeightedSSE(gr.Out, target, weight)
	if err := gr.Compile(loss); err != nil {
		panic(err)
	}
	gr.Feed(gr.X, []float64{-1, 0, 1, 2})
	gr.Feed(target, []float64{-1, 1, 3, 5})
	gr.Feed(weight, []float64{0.25, 0.25, 0.25, 0.25})
	opt := train.NewAdam(0.1)
	for i := 0; i < 500; i++ {
		if _, err := gr.Run(); err != nil {
			panic(err)
		}
		opt.Step(gr)
	}
	l := gr.Network().Layers[0]
	fmt.Printf("w %.2f b %.2f\n", l.W[0], l.B[0])
	// Output: w 2.00 b 1.00
}
