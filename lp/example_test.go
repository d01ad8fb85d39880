package lp_test

import (
	"context"
	"fmt"

	"github.com/birdnn/birdnn/lp"
)

// Maximize x + y subject to x + 2y <= 4 and 3x + y <= 6 with x, y >= 0, written as minimize -x - y with
// rows in the >= form. The optimum is the corner (8/5, 6/5); the row multipliers 2/5 and 1/5 prove it.
func ExampleSolve() {
	p := &lp.Problem{
		C:  []float64{-1, -1},
		Lo: []float64{0, 0},
		Rows: []lp.Row{
			{Idx: []int{0, 1}, Val: []float64{-1, -2}, Lo: -4},
			{Idx: []int{0, 1}, Val: []float64{-3, -1}, Lo: -6},
		},
	}
	sol, err := lp.Solve(context.Background(), p, lp.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%v: x = %.4f, y = %.4f, value %.4f, multipliers %.4f %.4f\n", sol.Status, sol.X[0], sol.X[1], sol.Primal, sol.Y[0], sol.Y[1])
	// Output: optimal: x = 1.6000, y = 1.2000, value -2.8000, multipliers 0.4000 0.2000
}
