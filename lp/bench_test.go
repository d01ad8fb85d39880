package lp

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// linfProblem is the shape of a minimal-change program: minimize t subject to |δ_i| <= t (2n rows of
// two nonzeros) and k dense rows a·δ >= 1 with `dense` nonzeros each.
func linfProblem(n, k, dense int, seed uint64) *Problem {
	r := rand.New(rand.NewPCG(seed, 1))
	p := &Problem{C: make([]float64, n+1), Lo: make([]float64, n+1), Hi: make([]float64, n+1)}
	p.C[n] = 1
	for i := 0; i < n; i++ {
		p.Lo[i], p.Hi[i] = math.Inf(-1), math.Inf(1)
		p.Rows = append(p.Rows, Row{Idx: []int{n, i}, Val: []float64{1, -1}}, Row{Idx: []int{n, i}, Val: []float64{1, 1}})
	}
	p.Hi[n] = math.Inf(1)
	for j := 0; j < k; j++ {
		row := Row{Lo: 1}
		for _, i := range r.Perm(n)[:dense] {
			row.Idx, row.Val = append(row.Idx, i), append(row.Val, r.NormFloat64())
		}
		p.Rows = append(p.Rows, row)
	}
	return p
}

// BenchmarkLInf: the watermark programs' shape (1,500 changes, 300 nonzeros a dense row) as the dense
// rows grow from 1 to 3,000.
func BenchmarkLInf(b *testing.B) {
	for _, k := range []int{1, 10, 100, 300, 1000, 3000} {
		b.Run(fmt.Sprintf("n=1500/k=%d", k), func(b *testing.B) {
			p := linfProblem(1500, k, 300, 1)
			for i := 0; i < b.N; i++ {
				sol, err := Solve(context.Background(), p, Options{})
				if err != nil || sol.Status != Optimal {
					b.Fatalf("%v %v", err, sol.Status)
				}
				b.ReportMetric(float64(sol.Iterations), "iterations")
			}
		})
	}
}

// The synthetic programs solve to optimality, and both ways of solving the normal equations agree.
func TestLInfShapes(t *testing.T) {
	for _, k := range []int{1, 20, 80} {
		p := linfProblem(120, k, 30, uint64(k))
		var vals []float64
		for _, force := range []string{"dense", "woodbury"} {
			sol, err := solveWith(force, p)
			if err != nil || sol.Status != Optimal {
				t.Fatalf("k=%d %s: %v %v", k, force, err, sol.Status)
			}
			vals = append(vals, sol.Primal)
		}
		if math.Abs(vals[0]-vals[1]) > 1e-7*(1+vals[0]) {
			t.Errorf("k=%d: dense %v, Woodbury %v", k, vals[0], vals[1])
		}
	}
}

// l1Problem is the shape of an L1 minimal-change program: minimize Σ p + q subject to k dense rows
// a·(p - q) >= 1 with `dense` nonzeros each (2 dense entries a change), p, q >= 0.
func l1Problem(n, k, dense int, seed uint64) *Problem {
	r := rand.New(rand.NewPCG(seed, 2))
	p := &Problem{C: make([]float64, 2*n), Lo: make([]float64, 2*n), Hi: make([]float64, 2*n)}
	for i := range p.C {
		p.C[i], p.Hi[i] = 1, math.Inf(1)
	}
	for j := 0; j < k; j++ {
		row := Row{Lo: 1}
		for _, i := range r.Perm(n)[:dense] {
			v := r.NormFloat64()
			row.Idx, row.Val = append(row.Idx, i, n+i), append(row.Val, v, -v)
		}
		p.Rows = append(p.Rows, row)
	}
	return p
}

// BenchmarkL1: the L1 watermark programs' shape (1,500 changes as 3,000 split variables, 300 changes a
// dense row); with the mirror pairs merged or not (the full dense path, which merges nothing).
func BenchmarkL1(b *testing.B) {
	for _, k := range []int{25, 300, 1000} {
		for _, force := range []string{"", "dense"} {
			b.Run(fmt.Sprintf("n=1500/k=%d/%s", k, map[string]string{"": "merged", "dense": "split"}[force]), func(b *testing.B) {
				p := l1Problem(1500, k, 300, 1)
				forceNormal = force
				defer func() { forceNormal = "" }()
				for i := 0; i < b.N; i++ {
					sol, err := Solve(context.Background(), p, Options{})
					if err != nil || sol.Status != Optimal {
						b.Fatalf("%v %v", err, sol.Status)
					}
					b.ReportMetric(float64(sol.Iterations), "iterations")
				}
			})
		}
	}
}
