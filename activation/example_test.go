package activation_test

import (
	"fmt"

	"github.com/birdnn/birdnn/activation"
)

// Elu is relu plus a gap below 0: on [-1, 0] elu(z) = e^z - 1 stays within [-0.0779, 0] of its chord
// 0.6321 z (by hand: the chord's slope is 1 - 1/e; the gap is least where e^z equals it, at
// z = log(1 - 1/e) = -0.4587, and 0 at both ends).
func ExampleActivation_ShadowGap() {
	elu := activation.Activation{Name: "elu", Param: 1}
	shadow, _ := elu.Shadow()
	s, lo, hi := elu.ShadowGap(-1, 0)
	fmt.Printf("shadow slope %g; on [-1, 0]: slope %.4f, gap in [%.4f, %.4f]\n", shadow, s, lo, hi)
	// Output: shadow slope 0; on [-1, 0]: slope 0.6321, gap in [-0.0779, 0.0000]
}
