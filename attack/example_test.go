package attack_test

import (
	"fmt"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/attack"
	"github.com/birdnn/birdnn/nn"
)

func ExampleRun() {
	// y = (x0, -x0): class 0 for x0 > 0. An FGSM step of 0.2 from x0 = 0.1 crosses the boundary; one of
	// 0.05 does not.
	net := &nn.Network{Layers: []nn.Layer{{In: 1, Out: 2, W: []float64{1, -1}, B: []float64{0, 0}, Act: activation.Identity}}}
	for _, eps := range []float64{0.05, 0.2} {
		res, err := attack.Run(net, []float64{0.1}, []int{0}, attack.Options{Method: "fgsm", Eps: eps, Target: -1})
		if err != nil {
			panic(err)
		}
		fmt.Printf("eps %g: x %.2f, success %.0f%%\n", eps, res.X[0], res.Success)
	}
	// Output:
	// eps 0.05: x 0.05, success 0%
	// eps 0.2: x -0.10, success 100%
}
