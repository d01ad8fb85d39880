package verify

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"
)

// gonumMinimax solves the same program in its primal form with gonum's simplex (a second, independent
// solver), in standard form with a = u + 1 in [0, 2], s = s+ - s-, and slacks:
//
//	minimize s  s.t.  v_i + w_i·u - s <= 0,  -1 <= u_t <= 1.
func gonumMinimax(t *testing.T, w, v []float64, d int) float64 {
	m := len(v)
	// x = (a (d, u = a - 1 so a in [0, 2]), sp, sn, slack_i (m), slackbox_t (d)); rows: m + d.
	n := d + 2 + m + d
	A := mat.NewDense(m+d, n, nil)
	b := make([]float64, m+d)
	c := make([]float64, n)
	c[d], c[d+1] = 1, -1
	for i := 0; i < m; i++ {
		// w·(a - 1) + v - sp + sn + slack = 0  =>  w·a - sp + sn + slack = sum(w) - v
		sum := 0.0
		for k := 0; k < d; k++ {
			A.Set(i, k, w[i*d+k])
			sum += w[i*d+k]
		}
		A.Set(i, d, -1)
		A.Set(i, d+1, 1)
		A.Set(i, d+2+i, 1)
		b[i] = sum - v[i]
	}
	for k := 0; k < d; k++ {
		A.Set(m+k, k, 1)
		A.Set(m+k, d+2+m+k, 1)
		b[m+k] = 2
	}
	f, _, err := lp.Simplex(c, A, b, 1e-12, nil)
	if err != nil {
		t.Fatalf("gonum: %v", err)
	}
	return f
}

// TestMinimaxMatchesGonum checks the value against gonum's simplex on random programs, and checks that
// the multipliers and the point each attain it.
func TestMinimaxMatchesGonum(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var s minimax
	for trial := 0; trial < 300; trial++ {
		d := 1 + r.IntN(6)
		m := 1 + r.IntN(20)
		w, v := make([]float64, m*d), make([]float64, m)
		for i := range w {
			w[i] = r.NormFloat64()
			if r.IntN(5) == 0 {
				w[i] = 0
			}
		}
		for i := range v {
			v[i] = r.NormFloat64()
		}
		got, mu, u, ok := s.solve(w, v, d)
		if !ok {
			t.Fatalf("trial %d: no convergence", trial)
		}
		want := gonumMinimax(t, w, v, d)
		if math.Abs(got-want) > 1e-8 {
			t.Fatalf("trial %d (m=%d d=%d): s* = %g, gonum %g", trial, m, d, got, want)
		}
		// The multipliers' bound: min over the cube of sum mu_i g_i.
		sum, lower := 0.0, 0.0
		for i := range mu {
			if mu[i] < 0 {
				t.Fatalf("negative multiplier")
			}
			sum += mu[i]
			lower += mu[i] * v[i]
		}
		for k := 0; k < d; k++ {
			c := 0.0
			for i := range mu {
				c += mu[i] * w[i*d+k]
			}
			lower -= math.Abs(c)
		}
		// The point's value: max_i g_i(u).
		upper := math.Inf(-1)
		for i := 0; i < m; i++ {
			g := v[i]
			for k := 0; k < d; k++ {
				g += w[i*d+k] * u[k]
			}
			upper = math.Max(upper, g)
		}
		if math.Abs(sum-1) > 1e-9 || math.Abs(lower-want) > 1e-8 || math.Abs(upper-want) > 1e-8 {
			t.Fatalf("trial %d: sum mu %g, mu's bound %g, u's value %g, want %g", trial, sum, lower, upper, want)
		}
	}
}

// BenchmarkMinimax solves a program of the size the exact decision meets on ACAS Xu: 5 inputs and 20
// constraints (region sign constraints plus the unsafe conjunction).
func BenchmarkMinimax(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const m, d = 20, 5
	w, v := make([]float64, m*d), make([]float64, m)
	for i := range w {
		w[i] = r.NormFloat64()
	}
	for i := range v {
		v[i] = r.NormFloat64()
	}
	var s minimax
	for b.Loop() {
		s.solve(w, v, d)
	}
}
