package property_test

import (
	"fmt"
	"strings"

	"github.com/birdnn/birdnn/property"
)

func ExampleRead() {
	src := `
(declare-const X_0 Real)
(declare-const Y_0 Real)
(declare-const Y_1 Real)
(assert (>= X_0 0))
(assert (<= X_0 1))
(assert (<= Y_1 Y_0))  ; unsafe when output 1 is at most output 0
`
	p, err := property.Read(strings.NewReader(src))
	if err != nil {
		panic(err)
	}
	region := p.Cases[0].Unsafe
	fmt.Println(p.Cases[0].Box.Lo, p.Cases[0].Box.Hi)
	fmt.Println(region.Unsafe([]float64{1, 0}), region.Margin([]float64{1, 0}))
	fmt.Println(region.Unsafe([]float64{0, 2}), region.Margin([]float64{0, 2}))
	// Output:
	// [0] [1]
	// true -1
	// false 2
}

func ExampleRobustness() {
	// Two pixels, the first near the top of [0, 1]: the ball of radius 0.1 is clipped there.
	p, err := property.Robustness([]float64{0.95, 0.5}, 1, 3, 0.1, 0, 1, -1)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Cases[0].Box.Lo, p.Cases[0].Box.Hi)
	x := []float64{1, 0.45}
	fmt.Println(p.Unsafe(x, []float64{0, 2, 1}), p.Unsafe(x, []float64{0, 2, 3})) // class 1, then class 2
	var b strings.Builder
	if err := p.WriteVNNLIB(&b); err != nil {
		panic(err)
	}
	q, _ := property.Read(strings.NewReader(b.String()))
	fmt.Println(q.Inputs, q.Outputs, len(q.Cases[0].Unsafe))
	// Output:
	// [0.85 0.4] [1 0.6]
	// false true
	// 2 3 2
}
