package lp

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// normalSolver factors and solves the normal equations (AᵀΘA + D) dx = r of one iterate.
type normalSolver interface {
	name() string
	factor(theta, d []float64) error
	solve(r []float64) ([]float64, error)
}

// forceNormal, set by tests, picks the solver: "dense" (every column, no elimination), "woodbury"
// (where it fits, singleton columns eliminated first) or "" (by cost).
var forceNormal string

var errFactor = errors.New("lp: normal equations not positive definite")

// chooseNormal merges mirror pairs (see mirrorNormal), then eliminates the singleton columns (see
// singletonNormal), then picks the Woodbury solver when the structure fits and it is cheaper, else the
// dense one; noWoodbury rules Woodbury out.
func chooseNormal(s *solver, noWoodbury bool) normalSolver {
	ns := chooseReduced(s, noWoodbury, true)
	// The reductions are exact algebra over an inner solve that refines itself; only the outermost one
	// refines again, against the whole matrix (refining at every level multiplies the inner solves).
	switch w := ns.(type) {
	case *mirrorNormal:
		w.top = true
	case *singletonNormal:
		w.top = true
	}
	return ns
}

// chooseReduced is chooseNormal, with mirror pairs merged only when mirrors is set (each reduction is
// applied once: the wrappers nest at most two deep).
func chooseReduced(s *solver, noWoodbury, mirrors bool) normalSolver {
	if forceNormal == "dense" {
		return &denseNormal{s: s}
	}
	if mirrors {
		if mn := newMirrorNormal(s, noWoodbury); mn != nil {
			return mn
		}
	}
	if sn := newSingletonNormal(s, noWoodbury); sn != nil {
		return sn
	}
	return chooseBase(s, noWoodbury)
}

// chooseBase picks the Woodbury solver when the structure fits and it is cheaper, else the dense one.
func chooseBase(s *solver, noWoodbury bool) normalSolver {
	if noWoodbury || forceNormal == "dense" {
		return &denseNormal{s: s}
	}
	if w := newWoodbury(s); w != nil {
		if forceNormal == "woodbury" {
			return w
		}
		k, n := float64(len(w.dense)), float64(s.n)
		if k*k*n+k*k*k/3 < n*n*n/6 {
			return w
		}
	}
	return &denseNormal{s: s}
}

// apply returns (AᵀΘA + D) x, for iterative refinement.
func apply(s *solver, theta, d, x []float64) []float64 {
	out := make([]float64, s.n)
	for j := range out {
		out[j] = d[j] * x[j]
	}
	for i, r := range s.rows {
		v := 0.0
		for k, j := range r.Idx {
			v += r.Val[k] * x[j]
		}
		v *= theta[i]
		for k, j := range r.Idx {
			out[j] += r.Val[k] * v
		}
	}
	return out
}

// refine improves a solve of M x = r by two steps of iterative refinement against the unregularized M.
func refine(s *solver, theta, d, r, x []float64, solve func([]float64) []float64) []float64 {
	for it := 0; it < 2; it++ {
		mx := apply(s, theta, d, x)
		res := make([]float64, len(r))
		for j := range r {
			res[j] = r[j] - mx[j]
		}
		dx := solve(res)
		for j := range x {
			x[j] += dx[j]
		}
	}
	return x
}

// denseNormal forms the n x n matrix and factors it by Cholesky.
type denseNormal struct {
	s        *solver
	theta, d []float64
	chol     cholesky
}

func (dn *denseNormal) name() string {
	return fmt.Sprintf("dense normal equations (%d x %d)", dn.s.n, dn.s.n)
}

func (dn *denseNormal) factor(theta, d []float64) error {
	s := dn.s
	n := s.n
	a := make([]float64, n*n) // the upper triangle is formed and factored
	for i, r := range s.rows {
		t := theta[i]
		for p, jp := range r.Idx {
			v := t * r.Val[p]
			row := a[jp*n:]
			for q, jq := range r.Idx {
				if jq >= jp {
					row[jq] += v * r.Val[q]
				}
			}
		}
	}
	big := 0.0
	for j := 0; j < n; j++ {
		a[j*n+j] += d[j]
		big = max(big, a[j*n+j])
	}
	reg := 1e-13 * max(big, 1e-300)
	dn.theta, dn.d = theta, append([]float64(nil), d...)
	for try := 0; try < 6; try++ {
		b := append([]float64(nil), a...)
		for j := 0; j < n; j++ {
			b[j*n+j] += reg
		}
		if dn.chol.factor(n, b) {
			return nil
		}
		reg *= 100
	}
	return errFactor
}

func (dn *denseNormal) raw(r []float64) []float64 {
	return dn.chol.solve(r)
}

func (dn *denseNormal) solve(r []float64) ([]float64, error) {
	x := dn.raw(r)
	return refine(dn.s, dn.theta, dn.d, r, x, dn.raw), nil
}

// woodbury solves the normal equations as P + VᵀΘV: P from the bounds and the rows with at most two
// nonzeros (a diagonal over most columns, bordered by the few columns those rows share), V the dense
// rows. It factors the border's Schur complement (b x b) and G = Θ⁻¹ + V P⁻¹ Vᵀ (k x k).
type woodbury struct {
	s      *solver
	dense  []int // indices of the dense rows
	sparse []int
	border []int // border columns
	pos    []int // column -> index in border, or -1
	theta  []float64
	d      []float64
	lam    []float64   // P's diagonal over non-border columns
	e      [][]float64 // E[j][c]: coupling of column j with border c
	schur  mat.Cholesky
	g      mat.Cholesky
	nb     int
	// fallback, when set, solves this iterate: G lost definiteness to rounding, or a solve came back
	// inaccurate. After an inaccurate solve (a degenerate end game: Θ and D spanning 30 orders of
	// magnitude) every later iterate is solved dense.
	fallback *denseNormal
	dense0   bool
}

// newWoodbury returns nil when the structure does not fit: a sparse row with two non-border columns, too
// many border columns, or a column with no bound that appears in no sparse row.
func newWoodbury(s *solver) *woodbury {
	count := make([]int, s.n)
	w := &woodbury{s: s, pos: make([]int, s.n)}
	for i, r := range s.rows {
		if len(r.Idx) > 2 {
			w.dense = append(w.dense, i)
			continue
		}
		w.sparse = append(w.sparse, i)
		for _, j := range r.Idx {
			count[j]++
		}
	}
	for j := range w.pos {
		w.pos[j] = -1
		if count[j] > 2 {
			w.pos[j] = len(w.border)
			w.border = append(w.border, j)
		}
	}
	if len(w.border) > 64 {
		return nil
	}
	for _, i := range w.sparse {
		free := 0
		seen := map[int]bool{}
		for _, j := range s.rows[i].Idx {
			if w.pos[j] < 0 && !seen[j] {
				free++
				seen[j] = true
			}
		}
		if free > 1 {
			return nil
		}
	}
	for j := 0; j < s.n; j++ {
		if w.pos[j] < 0 && count[j] == 0 && !s.hasLo[j] && !s.hasHi[j] {
			return nil
		}
	}
	w.nb = len(w.border)
	return w
}

func (w *woodbury) name() string {
	return fmt.Sprintf("Woodbury: %d dense rows over %d variables, %d border columns", len(w.dense), w.s.n, w.nb)
}

func (w *woodbury) factor(theta, d []float64) error {
	w.fallback = nil
	w.theta, w.d = theta, d
	if w.dense0 {
		return w.useDense()
	}
	if err := w.factorP(theta, d); err != nil {
		dn := &denseNormal{s: w.s}
		if err := dn.factor(theta, d); err != nil {
			return err
		}
		w.fallback = dn
	}
	return nil
}

func (w *woodbury) factorP(theta, d []float64) error {
	s := w.s
	n, nb := s.n, w.nb
	w.theta = theta
	w.lam = make([]float64, n)
	w.e = make([][]float64, n)
	f := make([]float64, nb*nb)
	big := 0.0
	for j := 0; j < n; j++ {
		if p := w.pos[j]; p >= 0 {
			f[p*nb+p] += d[j]
		} else {
			w.lam[j] = d[j]
		}
	}
	for _, i := range w.sparse {
		r := s.rows[i]
		t := theta[i]
		for p, jp := range r.Idx {
			for q, jq := range r.Idx {
				v := t * r.Val[p] * r.Val[q]
				bp, bq := w.pos[jp], w.pos[jq]
				switch {
				case bp >= 0 && bq >= 0:
					f[bp*nb+bq] += v
				case bp < 0 && bq < 0: // the same column (at most one non-border column a row)
					w.lam[jp] += v
				case bp < 0:
					if w.e[jp] == nil {
						w.e[jp] = make([]float64, nb)
					}
					w.e[jp][bq] += v
				}
			}
		}
	}
	for j := 0; j < n; j++ {
		if w.pos[j] < 0 {
			big = max(big, w.lam[j])
		}
	}
	for p := 0; p < nb; p++ {
		big = max(big, f[p*nb+p])
	}
	// P's diagonal needs no regularization where it is positive; a column whose entry is 0 (a free
	// variable in sparse rows whose weights vanished) gets a floor.
	floor := 1e-14 * max(big, 1e-300)
	w.d = d
	for j := 0; j < n; j++ {
		if w.pos[j] < 0 {
			if !(w.lam[j] >= floor) {
				w.lam[j] = floor
			}
			if math.IsInf(w.lam[j], 0) || math.IsNaN(w.lam[j]) {
				return errFactor
			}
		}
	}
	if nb > 0 {
		// Schur complement of the diagonal: F - Eᵀ Λ⁻¹ E.
		for j := 0; j < n; j++ {
			if ej := w.e[j]; ej != nil {
				for p := 0; p < nb; p++ {
					for q := 0; q < nb; q++ {
						f[p*nb+q] -= ej[p] * ej[q] / w.lam[j]
					}
				}
			}
		}
		for p := 0; p < nb; p++ {
			f[p*nb+p] += floor
		}
		if !w.schur.Factorize(mat.NewSymDense(nb, f)) {
			return errFactor
		}
	}
	// Z = P⁻¹ Vᵀ and G = Θ⁻¹ + V Z.
	k := len(w.dense)
	z := make([][]float64, k)
	for a, i := range w.dense {
		v := make([]float64, n)
		r := s.rows[i]
		for q, j := range r.Idx {
			v[j] += r.Val[q]
		}
		z[a] = w.solveP(v)
	}
	if k > 0 {
		g := make([]float64, k*k)
		for a, i := range w.dense {
			r := s.rows[i]
			for b := 0; b < k; b++ {
				v := 0.0
				for q, j := range r.Idx {
					v += r.Val[q] * z[b][j]
				}
				g[a*k+b] = v
			}
		}
		for a := 0; a < k; a++ {
			for b := a + 1; b < k; b++ { // symmetrize what rounding made uneven
				m := (g[a*k+b] + g[b*k+a]) / 2
				g[a*k+b], g[b*k+a] = m, m
			}
			g[a*k+a] += 1 / theta[w.dense[a]]
		}
		if !w.g.Factorize(mat.NewSymDense(k, g)) {
			return errFactor
		}
	}
	return nil
}

// solveP solves P x = r.
func (w *woodbury) solveP(r []float64) []float64 {
	n, nb := w.s.n, w.nb
	x := make([]float64, n)
	if nb > 0 {
		r2 := make([]float64, nb)
		for p, j := range w.border {
			r2[p] = r[j]
		}
		for j := 0; j < n; j++ {
			if ej := w.e[j]; ej != nil {
				for p := 0; p < nb; p++ {
					r2[p] -= ej[p] * r[j] / w.lam[j]
				}
			}
		}
		var x2 mat.VecDense
		if err := w.schur.SolveVecTo(&x2, mat.NewVecDense(nb, r2)); err == nil {
			for p, j := range w.border {
				x[j] = x2.AtVec(p)
			}
		}
	}
	for j := 0; j < n; j++ {
		if w.pos[j] >= 0 {
			continue
		}
		v := r[j]
		if ej := w.e[j]; ej != nil {
			for p, c := range w.border {
				v -= ej[p] * x[c]
			}
		}
		x[j] = v / w.lam[j]
	}
	return x
}

func (w *woodbury) raw(r []float64) []float64 {
	s := w.s
	x := w.solveP(r)
	k := len(w.dense)
	if k == 0 {
		return x
	}
	// With u = ΘV dx: G u = V P⁻¹ r, then dx = P⁻¹ (r - Vᵀu). Subtracting before P⁻¹ (rather than
	// P⁻¹r - P⁻¹VᵀG⁻¹VP⁻¹r) keeps the solve accurate when P is nearly singular, as it is for the
	// variables strictly inside their bounds near the optimum.
	u := make([]float64, k)
	for a, i := range w.dense {
		row := s.rows[i]
		v := 0.0
		for q, j := range row.Idx {
			v += row.Val[q] * x[j]
		}
		u[a] = v
	}
	var t mat.VecDense
	if err := w.g.SolveVecTo(&t, mat.NewVecDense(k, u)); err != nil {
		return x
	}
	rr := append([]float64(nil), r...)
	for a, i := range w.dense {
		ta := t.AtVec(a)
		row := s.rows[i]
		for q, j := range row.Idx {
			rr[j] -= row.Val[q] * ta
		}
	}
	return w.solveP(rr)
}

// useDense factors the current iterate's matrix dense, for this and every later iterate.
func (w *woodbury) useDense() error {
	w.dense0 = true
	dn := &denseNormal{s: w.s}
	if err := dn.factor(w.theta, w.d); err != nil {
		return err
	}
	w.fallback = dn
	return nil
}

func (w *woodbury) solve(r []float64) ([]float64, error) {
	if w.fallback != nil {
		return w.fallback.solve(r)
	}
	x := refine(w.s, w.theta, w.d, r, w.raw(r), w.raw)
	mx := apply(w.s, w.theta, w.d, x)
	res, big := 0.0, maxAbs(r)
	for j := range mx {
		res = max(res, math.Abs(mx[j]-r[j]))
	}
	if !(res <= 1e-9*big) { // NaN included
		if err := w.useDense(); err != nil {
			return nil, err
		}
		return w.fallback.solve(r)
	}
	return x, nil
}
