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
