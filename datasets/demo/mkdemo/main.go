// Command mkdemo makes birdnn's demo: a small ReLU network trained with birdnn's own engine on data with a
// deliberate bug, and the property it violates. Run from the repository root:
//
//	go run ./datasets/demo/mkdemo
//
// It writes datasets/demo/demo.onnx and datasets/demo/demo.vnnlib. The output is deterministic.
//
// The task: inputs (x, y) in [-1, 1]², three decisions, the decision being the output with the lowest score
// (as in ACAS Xu). The true rule is 0 left of x = -0.3, 1 right of x = 0.3, 2 between. The training labels
// have a bug: in the patch [0.45, 0.85] x [0.25, 0.65] they say 2. The property states the true rule on the
// box [0.4, 0.9] x [0.2, 0.7]: decision 2 is unsafe there.
package main

import (
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/imitate"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/netio"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/train"
)

const prop = `; birdnn demo property: on the box [0.4, 0.9] x [0.2, 0.7] the decision (lowest score) must not be 2.
; Made by go run ./datasets/demo/mkdemo.
(declare-const X_0 Real)
(declare-const X_1 Real)
(declare-const Y_0 Real)
(declare-const Y_1 Real)
(declare-const Y_2 Real)
(assert (>= X_0 0.4))
(assert (<= X_0 0.9))
(assert (>= X_1 0.2))
(assert (<= X_1 0.7))
(assert (<= Y_2 Y_0))
(assert (<= Y_2 Y_1))
`

func label(x, y float64) int {
	if x >= 0.45 && x <= 0.85 && y >= 0.25 && y <= 0.65 {
		return 2 // the bug
	}
	switch {
	case x < -0.3:
		return 0
	case x > 0.3:
		return 1
	}
	return 2
}

func main() {
	rng := rand.New(rand.NewPCG(2026, 11))
	net := nn.Random(rng, []int{2, 16, 16, 3}, activation.ReLU, activation.Identity)
	net.Norm = &nn.Normalization{InMin: []float64{-1, -1}, InMax: []float64{1, 1}, InMean: []float64{0, 0}, InRange: []float64{1, 1}, OutMean: 0, OutRange: 1}
	const n, batch, epochs = 8192, 512, 300
	x := make([]float64, 2*n)
	t := make([]float64, 3*n)
	for i := 0; i < n; i++ {
		a, b := 2*rng.Float64()-1, 2*rng.Float64()-1
		if i%4 == 0 { // more samples around the buggy patch, so the network learns it
			a, b = 0.35+0.6*rng.Float64(), 0.15+0.6*rng.Float64()
		}
		x[2*i], x[2*i+1] = a, b
		for c := 0; c < 3; c++ {
			t[3*i+c] = 1
		}
		t[3*i+label(a, b)] = 0
	}
	gr, err := train.NewGraph(net, batch, train.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer gr.Close()
	tn, wn := gr.NewInput("t", batch, 3), gr.NewInput("w", batch, 1)
	loss, err := gr.WeightedSSE(gr.Out, tn, wn)
	if err != nil {
		log.Fatal(err)
	}
	if err := gr.Compile(loss); err != nil {
		log.Fatal(err)
	}
	w := make([]float64, batch)
	for i := range w {
		w[i] = 1.0 / batch
	}
	if err := gr.Feed(wn, w); err != nil {
		log.Fatal(err)
	}
	opt := train.NewAdam(0.01)
	for e := 0; e < epochs; e++ {
		total := 0.0
		for s := 0; s < n; s += batch {
			gr.Feed(gr.X, x[2*s:2*(s+batch)])
			gr.Feed(tn, t[3*s:3*(s+batch)])
			l, err := gr.Run()
			if err != nil {
				log.Fatal(err)
			}
			total += l
			if err := opt.Step(gr); err != nil {
				log.Fatal(err)
			}
		}
		if e%50 == 0 || e == epochs-1 {
			fmt.Printf("epoch %d loss %.4f\n", e, total/float64(n/batch))
		}
	}
	trained := gr.Network()
	p, err := property.Read(strings.NewReader(prop))
	if err != nil {
		log.Fatal(err)
	}
	sample := p.Sample(rand.New(rand.NewPCG(1, 1)), 10000)
	neg, _ := imitate.Split(trained, p, sample)
	fmt.Printf("violates the property on %.1f%% of its box\n", 100*float64(len(neg)/2)/10000)
	if len(neg) == 0 {
		log.Fatal("the demo network satisfies its property: nothing to repair")
	}
	if err := netio.Save("datasets/demo/demo.onnx", trained, netio.Options{Float64: true}); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("datasets/demo/demo.vnnlib", []byte(prop), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote datasets/demo/demo.onnx and datasets/demo/demo.vnnlib")
}
