package lp

import "fmt"

// singletonNormal eliminates from the normal equations, before an inner solver sees them, every bounded
// column that appears in one row only and is that row's only such column (the slack of an elastic or
// soft row). For row i with singleton column k (coefficient v, bound barrier D), the Schur complement of
// k is the same matrix over the other columns with Θ_i replaced by Θ_i D/(D + Θ_i v²), so the inner solver
// works on n - |S| columns: an elastic program with a slack a row costs what the program without the
// slacks does. Every quantity is formed without dividing by D, which the end game drives toward 0.
type singletonNormal struct {
	s     *solver // the full program
	inner normalSolver
	top   bool    // the outermost solver: refine against the full matrix
	red   *solver // the program over the kept columns (rows re-indexed)
	keep  []int   // reduced column -> full column
	col   []int   // row -> its singleton column, or -1
	val   []float64
	theta []float64 // the full Θ and D of the current iterate
	d     []float64
	g     []float64 // Θ_i/(D + Θ_i v²) for rows with a singleton
}

// newSingletonNormal returns nil when the program has no singleton column, or nothing but.
func newSingletonNormal(s *solver, noWoodbury bool) *singletonNormal {
	count := make([]int, s.n)
	for _, r := range s.rows {
		for _, j := range r.Idx {
			count[j]++
		}
	}
	sn := &singletonNormal{s: s, col: make([]int, len(s.rows)), val: make([]float64, len(s.rows))}
	single := make([]bool, s.n)
	for i, r := range s.rows {
		sn.col[i] = -1
		k := -1
		for q, j := range r.Idx {
			if count[j] == 1 && (s.hasLo[j] || s.hasHi[j]) && r.Val[q] != 0 {
				if k >= 0 {
					k = -2 // two singletons in one row: keep both
					break
				}
				k = q
			}
		}
		if k >= 0 {
			sn.col[i], sn.val[i] = r.Idx[k], r.Val[k]
			single[r.Idx[k]] = true
		}
	}
	pos := make([]int, s.n)
	for j := 0; j < s.n; j++ {
		pos[j] = -1
		if !single[j] {
			pos[j] = len(sn.keep)
			sn.keep = append(sn.keep, j)
		}
	}
	if len(sn.keep) == s.n || len(sn.keep) == 0 {
		return nil
	}
	red := reducedProgram(s, sn.keep, pos)
	sn.red = red
	sn.inner = chooseBase(red, noWoodbury)
	return sn
}

func (sn *singletonNormal) name() string {
	return fmt.Sprintf("%s, %d singleton columns eliminated", sn.inner.name(), sn.s.n-len(sn.keep))
}

func (sn *singletonNormal) factor(theta, d []float64) error {
	sn.theta, sn.d = theta, d
	sn.g = make([]float64, len(theta))
	th := append([]float64(nil), theta...)
	for i, j := range sn.col {
		if j >= 0 {
			v := sn.val[i]
			sn.g[i] = theta[i] / (d[j] + theta[i]*v*v)
			th[i] = sn.g[i] * d[j]
		}
	}
	rd := make([]float64, len(sn.keep))
	for rj, j := range sn.keep {
		rd[rj] = d[j]
	}
	return sn.inner.factor(th, rd)
}

// raw solves the full system once by block elimination: the reduced system for the kept columns
// (right side less a_i Θ_i v r_k/(D + Θ_i v²) for each row's singleton k), then each singleton from its
// own equation, (D + Θ_i v²) dx_k = r_k - v Θ_i a_i·dx.
func (sn *singletonNormal) raw(r []float64) ([]float64, error) {
	rr := make([]float64, len(sn.keep))
	for rj, j := range sn.keep {
		rr[rj] = r[j]
	}
	for i, j := range sn.col {
		if j < 0 {
			continue
		}
		f := sn.g[i] * sn.val[i] * r[j]
		red := sn.red.rows[i]
		for q, rj := range red.Idx {
			rr[rj] -= red.Val[q] * f
		}
	}
	dxr, err := sn.inner.solve(rr)
	if err != nil {
		return nil, err
	}
	x := make([]float64, sn.s.n)
	for rj, j := range sn.keep {
		x[j] = dxr[rj]
	}
	for i, j := range sn.col {
		if j < 0 {
			continue
		}
		red := sn.red.rows[i]
		u := 0.0
		for q, rj := range red.Idx {
			u += red.Val[q] * dxr[rj]
		}
		v, t := sn.val[i], sn.theta[i]
		x[j] = (r[j] - v*t*u) / (sn.d[j] + t*v*v)
	}
	return x, nil
}

func (sn *singletonNormal) solve(r []float64) ([]float64, error) {
	return reducedSolve(sn.s, sn.theta, sn.d, r, sn.top, sn.raw)
}

// reducedSolve solves with raw, then, for the outermost solver only, refines twice against the full
// matrix of s (the inner solve already refined itself against the reduced one).
func reducedSolve(s *solver, theta, d, r []float64, top bool, raw func([]float64) ([]float64, error)) ([]float64, error) {
	x, err := raw(r)
	if err != nil || !top {
		return x, err
	}
	var serr error
	x = refine(s, theta, d, r, x, func(res []float64) []float64 {
		dx, err := raw(res)
		if err != nil {
			serr = err
			return make([]float64, len(res))
		}
		return dx
	})
	return x, serr
}

// reducedProgram is s over the kept columns only (reduced column rj is full column keep[rj]; pos maps a
// full column to its reduced index, or -1 when dropped): each row keeps its kept entries, re-indexed.
func reducedProgram(s *solver, keep, pos []int) *solver {
	red := &solver{n: len(keep), m: s.m, rows: make([]Row, len(s.rows)), hasLo: make([]bool, len(keep)), hasHi: make([]bool, len(keep))}
	for rj, j := range keep {
		red.hasLo[rj], red.hasHi[rj] = s.hasLo[j], s.hasHi[j]
	}
	for i, r := range s.rows {
		var rr Row
		for k, j := range r.Idx {
			if pos[j] >= 0 {
				rr.Idx = append(rr.Idx, pos[j])
				rr.Val = append(rr.Val, r.Val[k])
			}
		}
		red.rows[i] = rr
	}
	return red
}
