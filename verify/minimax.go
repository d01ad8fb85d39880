package verify

import "math"

// minimax solves the small linear program behind the exact decision's certificates: for m affine
// functions g_i(u) = v_i + w_i·u of u in the cube [-1, 1]^d, it finds
//
//	s* = min over u of max_i g_i(u) = max over mu in the simplex of min over u of sum_i mu_i g_i(u)
//
// (the two agree by linear programming duality), with the maximizing multipliers mu and the minimizing
// point u. s* > 0 says the constraints g_i <= 0 have no common solution in the cube, and mu is the
// certificate; s* <= 0 makes u a common solution.
//
// It runs the revised simplex method on the multiplier side, in standard form with d+1 rows:
//
//	minimize  -sum_i v_i mu_i + sum_t (p_t + q_t)
//	s.t.      sum_i mu_i = 1,   p_t - q_t - sum_i w_it mu_i = 0,   mu, p, q >= 0,
//
// since min over u of sum_t c_t u_t is -sum_t |c_t|, and |c_t| is the least p_t + q_t with p_t - q_t =
// c_t. The single best constraint with its p or q gives a feasible basis to start from. The simplex
// prices y of the rows give the point: u_t = -y_{1+t}. With d+1 rows the basis inverse is tiny, so an
// iteration costs about (m + 2d) * (d+1) multiply-adds. Nothing here needs to be exact: callers check
// the multipliers soundly.
type minimax struct {
	d, m  int
	w     []float64 // m rows of d
	v     []float64
	basis []int     // basic variable of each row: i < m is mu_i, m+t is p_t, m+d+t is q_t
	binv  []float64 // (d+1) x (d+1) inverse of the basis, row-major
	col   []float64 // scratch column
	dcol  []float64 // scratch: binv * col
	y     []float64 // simplex prices
	xb    []float64 // basic variable values
	mu, u []float64 // the solution
	isBas []bool    // per variable: basic
	cb    []float64 // costs of the basic variables
}

// minimaxMaxIter bounds the simplex iterations (Bland's rule takes over halfway, against cycling).
const minimaxMaxIter = 400

// solve finds s*, mu and u for the m functions whose coefficients are w (m rows of d) and constants v.
// ok is false when the iteration limit was reached (the returned mu is then still feasible).
func (lp *minimax) solve(w, v []float64, d int) (s float64, mu, u []float64, ok bool) {
	m := len(v)
	R := d + 1
	n := m + 2*d
	lp.d, lp.m, lp.w, lp.v = d, m, w, v
	lp.basis = resize(lp.basis, R)
	lp.binv = resize(lp.binv, R*R)
	lp.col, lp.dcol, lp.y, lp.xb, lp.cb = resize(lp.col, R), resize(lp.dcol, R), resize(lp.y, R), resize(lp.xb, R), resize(lp.cb, R)
	lp.mu, lp.u = resize(lp.mu, m), resize(lp.u, d)
	lp.isBas = resize(lp.isBas, n)
	clear(lp.isBas)

	// Start: the constraint whose own minimum over the cube is largest.
	k, best := 0, math.Inf(-1)
	for i := 0; i < m; i++ {
		g := v[i]
		for t := 0; t < d; t++ {
			g -= math.Abs(w[i*d+t])
		}
		if g > best {
			k, best = i, g
		}
	}
	lp.basis[0] = k
	for t := 0; t < d; t++ {
		if w[k*d+t] >= 0 {
			lp.basis[1+t] = m + t
		} else {
			lp.basis[1+t] = m + d + t
		}
	}
	for _, j := range lp.basis {
		lp.isBas[j] = true
	}
	lp.invert()
	ok = false
	for it := 0; it < minimaxMaxIter; it++ {
		// Basic values (b = e_0) and prices y = c_B B^-1.
		for r := 0; r < R; r++ {
			lp.xb[r] = lp.binv[r*R]
			lp.cb[r] = lp.cost(lp.basis[r])
		}
		for r := 0; r < R; r++ {
			y := 0.0
			for i := 0; i < R; i++ {
				y += lp.cb[i] * lp.binv[i*R+r]
			}
			lp.y[r] = y
		}
		// Entering variable: most negative reduced cost (Dantzig), or the first negative one (Bland)
		// in the second half of the budget.
		bland := it >= minimaxMaxIter/2
		enter, most := -1, -1e-12
		for j := 0; j < n; j++ {
			if lp.isBas[j] {
				continue
			}
			rc := lp.reducedCost(j)
			if rc < most {
				enter, most = j, rc
				if bland {
					break
				}
			}
		}
		if enter < 0 {
			ok = true
			break
		}
		// Ratio test on B^-1 a_enter.
		lp.column(enter)
		for r := 0; r < R; r++ {
			s := 0.0
			for i := 0; i < R; i++ {
				s += lp.binv[r*R+i] * lp.col[i]
			}
			lp.dcol[r] = s
		}
		leave, ratio := -1, math.Inf(1)
		for r := 0; r < R; r++ {
			if lp.dcol[r] > 1e-12 {
				q := lp.xb[r] / lp.dcol[r]
				if q < ratio || (q == ratio && bland && lp.basis[r] < lp.basis[leave]) {
					leave, ratio = r, q
				}
			}
		}
		if leave < 0 {
			break // unbounded: cannot happen for this program (its objective is bounded below)
		}
		// Pivot.
		piv := lp.dcol[leave]
		for i := 0; i < R; i++ {
			lp.binv[leave*R+i] /= piv
		}
		for r := 0; r < R; r++ {
			if r == leave || lp.dcol[r] == 0 {
				continue
			}
			f := lp.dcol[r]
			for i := 0; i < R; i++ {
				lp.binv[r*R+i] -= f * lp.binv[leave*R+i]
			}
		}
		lp.isBas[lp.basis[leave]] = false
		lp.basis[leave] = enter
		lp.isBas[enter] = true
	}
	clear(lp.mu)
	obj := 0.0
	for r := 0; r < R; r++ {
		x := math.Max(lp.binv[r*R], 0)
		if j := lp.basis[r]; j < m {
			lp.mu[j] = x
		}
		obj += lp.cost(lp.basis[r]) * x
	}
	for t := 0; t < d; t++ {
		lp.u[t] = math.Max(-1, math.Min(1, -lp.y[1+t]))
	}
	return -obj, lp.mu, lp.u, ok
}

// cost is variable j's objective coefficient.
func (lp *minimax) cost(j int) float64 {
	if j < lp.m {
		return -lp.v[j]
	}
	return 1
}

// reducedCost is c_j - y·a_j.
func (lp *minimax) reducedCost(j int) float64 {
	m, d := lp.m, lp.d
	switch {
	case j < m:
		rc := -lp.v[j] - lp.y[0]
		for t := 0; t < d; t++ {
			rc += lp.y[1+t] * lp.w[j*d+t]
		}
		return rc
	case j < m+d:
		return 1 - lp.y[1+j-m]
	default:
		return 1 + lp.y[1+j-m-d]
	}
}

// column writes variable j's constraint column into lp.col.
func (lp *minimax) column(j int) {
	m, d := lp.m, lp.d
	clear(lp.col)
	switch {
	case j < m:
		lp.col[0] = 1
		for t := 0; t < d; t++ {
			lp.col[1+t] = -lp.w[j*d+t]
		}
	case j < m+d:
		lp.col[1+j-m] = 1
	default:
		lp.col[1+j-m-d] = -1
	}
}

// invert sets binv to the inverse of the starting basis: row 0 is mu_k's (1, -w_k), row 1+t is p_t's or
// q_t's (+-1 on row 1+t), so the matrix is B = [[1, 0], [-w_k, D]] with D diagonal +-1, and B^-1 =
// [[1, 0], [D w_k, D]].
func (lp *minimax) invert() {
	R, d := lp.d+1, lp.d
	clear(lp.binv)
	k := lp.basis[0]
	lp.binv[0] = 1
	for t := 0; t < d; t++ {
		s := 1.0
		if lp.basis[1+t] >= lp.m+d {
			s = -1
		}
		lp.binv[(1+t)*R+1+t] = s
		lp.binv[(1+t)*R] = s * lp.w[k*d+t]
	}
}

// resize returns s with length n, reallocated only when its capacity is short (the contents are not
// kept).
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
