package lp

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
	gonumlp "gonum.org/v1/gonum/optimize/convex/lp"
)

// A hand-solved program: minimize -x - y subject to x + 2y <= 4, 3x + y <= 6, x, y >= 0. The optimum is
// at the corner x = 8/5, y = 6/5, value -14/5; the duals of the two rows are 2/5 and 1/5.
func TestHandSolved(t *testing.T) {
	p := &Problem{
		C:  []float64{-1, -1},
		Lo: []float64{0, 0},
		Rows: []Row{
			{Idx: []int{0, 1}, Val: []float64{-1, -2}, Lo: -4},
			{Idx: []int{0, 1}, Val: []float64{-3, -1}, Lo: -6},
		},
	}
	for _, force := range []string{"dense", "woodbury"} {
		sol, err := solveWith(force, p)
		if err != nil {
			t.Fatal(err)
		}
		if sol.Status != Optimal {
			t.Fatalf("%s: status %v after %d iterations", force, sol.Status, sol.Iterations)
		}
		want := []float64{8.0 / 5, 6.0 / 5}
		for j, v := range want {
			if math.Abs(sol.X[j]-v) > 1e-6 {
				t.Errorf("%s: x[%d] = %v, want %v", force, j, sol.X[j], v)
			}
		}
		for i, v := range []float64{2.0 / 5, 1.0 / 5} {
			if math.Abs(sol.Y[i]-v) > 1e-6 {
				t.Errorf("%s: y[%d] = %v, want %v", force, i, sol.Y[i], v)
			}
		}
		if math.Abs(sol.Primal+14.0/5) > 1e-7 || math.Abs(sol.Dual+14.0/5) > 1e-7 {
			t.Errorf("%s: primal %v dual %v, want -2.8", force, sol.Primal, sol.Dual)
		}
	}
}

// toStandard writes p (every variable bounded below) in gonum's standard form: minimize c·x' subject to
// A x' = b, x' >= 0, with x = lo + x', a slack for each row and for each finite upper bound.
func toStandard(p *Problem) (c []float64, a *mat.Dense, b []float64, shift float64) {
	n, m := len(p.C), len(p.Rows)
	var ups []int
	for j := 0; j < n; j++ {
		if !math.IsInf(p.Hi[j], 1) {
			ups = append(ups, j)
		}
	}
	cols := n + m + len(ups)
	rows := m + len(ups)
	a = mat.NewDense(rows, cols, nil)
	b = make([]float64, rows)
	c = make([]float64, cols)
	copy(c, p.C)
	for j := 0; j < n; j++ {
		shift += p.C[j] * p.Lo[j]
	}
	for i, r := range p.Rows {
		rhs := r.Lo
		for k, j := range r.Idx {
			a.Set(i, j, a.At(i, j)+r.Val[k])
			rhs -= r.Val[k] * p.Lo[j]
		}
		a.Set(i, n+i, -1)
		b[i] = rhs
	}
	for u, j := range ups {
		a.Set(m+u, j, 1)
		a.Set(m+u, n+m+u, 1)
		b[m+u] = p.Hi[j] - p.Lo[j]
	}
	return c, a, b, shift
}

// Random feasible programs over bounded variables, against gonum's simplex.
func TestAgainstGonumSimplex(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for trial := 0; trial < 200; trial++ {
		p := randomProblem(r)
		c, a, b, shift := toStandard(p)
		want, _, err := gonumlp.Simplex(c, a, b, 1e-10, nil)
		if err != nil {
			t.Fatalf("trial %d: gonum: %v", trial, err)
		}
		want += shift
		for _, force := range []string{"dense", "woodbury"} {
			sol, err := solveWith(force, p)
			if err != nil {
				t.Fatal(err)
			}
			if sol.Status != Optimal {
				t.Errorf("trial %d (%s, %s): %v after %d iterations (residuals %.2g %.2g gap %.2g)", trial, force, sol.Method, sol.Status, sol.Iterations, sol.PrimalResidual, sol.DualResidual, sol.Gap)
				continue
			}
			if math.Abs(sol.Primal-want) > 1e-7*(1+math.Abs(want)) {
				t.Errorf("trial %d (%s): optimum %v, gonum's simplex %v", trial, force, sol.Primal, want)
			}
		}
	}
}

// randomProblem returns a feasible program over variables bounded below (most also above) whose costs
// keep it bounded.
func randomProblem(r *rand.Rand) *Problem {
	n, m := 2+r.IntN(7), 1+r.IntN(8)
	p := &Problem{C: make([]float64, n), Lo: make([]float64, n), Hi: make([]float64, n)}
	x0 := make([]float64, n)
	for j := 0; j < n; j++ {
		p.C[j] = r.NormFloat64()
		p.Lo[j] = -1 - 2*r.Float64()
		p.Hi[j] = 1 + 2*r.Float64()
		if r.IntN(4) == 0 {
			p.Hi[j] = math.Inf(1)
			p.C[j] = math.Abs(p.C[j]) // bounded below, so the program stays bounded
		}
		x0[j] = p.Lo[j] + r.Float64()*(min(p.Hi[j], p.Lo[j]+3)-p.Lo[j])
	}
	for i := 0; i < m; i++ {
		row := Row{}
		v := 0.0
		for j := 0; j < n; j++ {
			if r.IntN(3) > 0 {
				a := r.NormFloat64()
				row.Idx, row.Val = append(row.Idx, j), append(row.Val, a)
				v += a * x0[j]
			}
		}
		row.Lo = v - r.Float64()
		p.Rows = append(p.Rows, row)
	}
	used := make([]bool, n)
	for _, row := range p.Rows {
		for _, j := range row.Idx {
			used[j] = true
		}
	}
	for j := range used {
		if !used[j] && math.IsInf(p.Hi[j], 1) {
			p.Hi[j] = p.Lo[j] + 1 // gonum refuses a column of zeros
		}
	}
	return p
}

// solveWith solves p with the normal equations forced to force ("dense" or "woodbury").
func solveWith(force string, p *Problem) (*Solution, error) {
	forceNormal = force
	defer func() { forceNormal = "" }()
	return Solve(context.Background(), p, Options{})
}

// Elastic programs (each row with one or two slack columns of its own, the shape of package minimal's
// infeasibility report and soft rows), against gonum's simplex: a row's lone slack is eliminated from the
// normal equations on every path but the full dense one; two slacks in a row stay columns.
func TestSingletonColumns(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	eliminated := 0
	defer func() {
		if eliminated < 100 { // of 200 solves by the two eliminating paths
			t.Errorf("only %d of 200 solves eliminated a singleton column", eliminated)
		}
	}()
	for trial := 0; trial < 100; trial++ {
		p := randomProblem(r)
		for i := range p.Rows {
			p.Rows[i].Lo += 3 * r.Float64() // often infeasible without the slacks
			for s := 0; s < 1+r.IntN(2); s++ {
				p.Rows[i].Idx = append(p.Rows[i].Idx, len(p.C))
				p.Rows[i].Val = append(p.Rows[i].Val, 0.5+r.Float64())
				p.C = append(p.C, 1+r.Float64())
				p.Lo = append(p.Lo, 0)
				p.Hi = append(p.Hi, math.Inf(1))
			}
		}
		eliminated += againstSimplex(t, trial, p, "singleton")
	}
}

// Programs with split free variables (x_j = p_j - q_j, p, q >= 0, the shape of package minimal's L1
// norm) beside bounded ones, against gonum's simplex: the pairs are merged on every path but the full
// dense one.
func TestMirrorPairs(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 4))
	merged := 0
	for trial := 0; trial < 100; trial++ {
		p := randomProblem(r)
		n := len(p.C)
		pairs := 1 + r.IntN(n)
		for s := 0; s < pairs; s++ {
			j := r.IntN(n) // the mirror of column j, turning p_j - q_j into a change with an L1 price
			used := false
			for _, row := range p.Rows {
				used = used || slices.Contains(row.Idx, j)
			}
			if !used {
				continue
			}
			q := len(p.C)
			p.C = append(p.C, math.Abs(p.C[j])+0.1+r.Float64())
			p.Lo, p.Hi = append(p.Lo, 0), append(p.Hi, math.Inf(1))
			for i := range p.Rows {
				for k, c := range p.Rows[i].Idx {
					if c == j {
						p.Rows[i].Idx = append(p.Rows[i].Idx, q)
						p.Rows[i].Val = append(p.Rows[i].Val, -p.Rows[i].Val[k])
						break
					}
				}
			}
		}
		merged += againstSimplex(t, trial, p, "mirror")
	}
	if merged < 100 {
		t.Errorf("only %d of 200 solves merged a mirror pair", merged)
	}
}

// againstSimplex solves p on the full dense path, by Woodbury and by cost, checks each optimum against
// gonum's simplex, and returns how many of the two reducing paths name reduction in their method.
func againstSimplex(t *testing.T, trial int, p *Problem, reduction string) int {
	t.Helper()
	c, a, b, shift := toStandard(p)
	want, _, err := gonumlp.Simplex(c, a, b, 1e-10, nil)
	if err != nil {
		t.Fatalf("trial %d: gonum: %v", trial, err)
	}
	want += shift
	reduced := 0
	for _, force := range []string{"dense", "woodbury", ""} {
		sol, err := solveWith(force, p)
		if err != nil {
			t.Fatal(err)
		}
		if force != "dense" && strings.Contains(sol.Method, reduction) {
			reduced++
		}
		if sol.Status != Optimal {
			t.Errorf("trial %d (%s, %s): %v after %d iterations", trial, force, sol.Method, sol.Status, sol.Iterations)
			continue
		}
		if math.Abs(sol.Primal-want) > 1e-7*(1+math.Abs(want)) {
			t.Errorf("trial %d (%s, %s): optimum %v, gonum's simplex %v", trial, force, sol.Method, sol.Primal, want)
		}
	}
	return reduced
}
