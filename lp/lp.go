// Package lp solves linear programs in process by a primal-dual interior-point method (Mehrotra's
// predictor-corrector), exploiting the structure of few dense rows over many variables, and reports how
// well each answer meets the optimality conditions.
//
// A problem is
//
//	minimize c·x  subject to  a_i·x >= b_i for every row i,  lo_j <= x_j <= hi_j for every variable j,
//
// with infinite bounds allowed. A solution is Optimal when its primal residual (the largest row or
// bound violation, relative to 1 + max |b|), its dual residual (the largest violation of
// c - Aᵀy - z_lo + z_hi = 0, relative to 1 + max |c|) and its relative duality gap are all below
// Options.Tol. The duals it returns (row multipliers y >= 0) let a caller prove a lower bound on the
// optimum by weak duality, as package minimal does for its norm-minimal changes.
//
// Each iteration solves the normal equations (AᵀΘA + D) dx = r. When the rows with more than two
// nonzeros are few against the variables, it solves them by the Woodbury identity around the part
// made by the sparse rows and the bounds (a diagonal, bordered by the few columns those rows share),
// at O(k²n + k³) for k dense rows and n variables; otherwise it forms the n x n matrix (O(Σ nnz² + n³/3)).
package lp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Row is the constraint Σ Val[k]·x[Idx[k]] >= Lo.
type Row struct {
	Idx []int
	Val []float64
	Lo  float64
}

// Problem is a linear program: minimize C·x subject to every row and Lo <= x <= Hi. Lo and Hi may be
// nil (every variable free on that side) and may hold infinities.
type Problem struct {
	C      []float64
	Lo, Hi []float64
	Rows   []Row
}

// Status says how a solve ended.
type Status int

const (
	// Optimal: every residual and the duality gap are within the tolerance.
	Optimal Status = iota
	// NotConverged: the iterations ran out (or the context ended) first; the program may be
	// infeasible or unbounded.
	NotConverged
)

func (s Status) String() string {
	if s == Optimal {
		return "optimal"
	}
	return "not converged"
}

// Options tune a solve. The zero value is the defaults.
type Options struct {
	// Tol is the relative tolerance on residuals and gap (default 1e-8).
	Tol float64
	// MaxIter bounds the iterations (default 200).
	MaxIter int
	// Dense solves every normal equation dense, never by Woodbury (the columns that appear in one row
	// only are still eliminated first): slower where there are few dense rows, sturdier at the end of a
	// degenerate program.
	Dense bool
}

// Solution is what a solve found.
type Solution struct {
	Status Status
	// X is the primal point; Y the row multipliers (>= 0); ZLo and ZHi the bound multipliers.
	X, Y, ZLo, ZHi []float64
	// Primal is C·X; Dual the dual objective b·y + lo·z_lo - hi·z_hi.
	Primal, Dual float64
	// PrimalResidual, DualResidual and Gap are the relative measures Optimal is judged by.
	PrimalResidual, DualResidual, Gap float64
	Iterations                        int
	// Method names how the normal equations were solved.
	Method  string
	Seconds float64
}

// ErrShape reports a malformed problem.
var ErrShape = errors.New("lp: malformed problem")

// Solve solves p. It returns an error for a malformed problem only; a program it cannot solve comes back
// with Status NotConverged.
func Solve(ctx context.Context, p *Problem, opt Options) (*Solution, error) {
	t0 := time.Now()
	if opt.Tol <= 0 {
		opt.Tol = 1e-8
	}
	if opt.MaxIter <= 0 {
		opt.MaxIter = 200
	}
	s, err := newSolver(p)
	if err != nil {
		return nil, err
	}
	if opt.Dense {
		s.kkt = chooseNormal(s, true)
	}
	sol := s.run(ctx, opt)
	sol.Seconds = time.Since(t0).Seconds()
	return sol, nil
}

// solver holds a problem in scaled form and the iterate.
type solver struct {
	n, m   int
	c      []float64
	lo, hi []float64
	hasLo  []bool
	hasHi  []bool
	rows   []Row // scaled copies: each row's largest |coefficient| is 1
	scale  []float64
	b      []float64

	x, w, y, zl, zu []float64
	kkt             normalSolver
}

func newSolver(p *Problem) (*solver, error) {
	n := len(p.C)
	if n == 0 {
		return nil, fmt.Errorf("%w: no variables", ErrShape)
	}
	if (p.Lo != nil && len(p.Lo) != n) || (p.Hi != nil && len(p.Hi) != n) {
		return nil, fmt.Errorf("%w: %d variables but %d lower and %d upper bounds", ErrShape, n, len(p.Lo), len(p.Hi))
	}
	s := &solver{n: n, m: len(p.Rows), c: p.C}
	s.lo, s.hi = make([]float64, n), make([]float64, n)
	s.hasLo, s.hasHi = make([]bool, n), make([]bool, n)
	for j := 0; j < n; j++ {
		if math.IsNaN(p.C[j]) || math.IsInf(p.C[j], 0) {
			return nil, fmt.Errorf("%w: cost %d is %v", ErrShape, j, p.C[j])
		}
		s.lo[j], s.hi[j] = math.Inf(-1), math.Inf(1)
		if p.Lo != nil {
			s.lo[j] = p.Lo[j]
		}
		if p.Hi != nil {
			s.hi[j] = p.Hi[j]
		}
		if math.IsNaN(s.lo[j]) || math.IsNaN(s.hi[j]) || s.lo[j] > s.hi[j] || math.IsInf(s.lo[j], 1) || math.IsInf(s.hi[j], -1) {
			return nil, fmt.Errorf("%w: variable %d has bounds [%v, %v]", ErrShape, j, s.lo[j], s.hi[j])
		}
		s.hasLo[j], s.hasHi[j] = !math.IsInf(s.lo[j], -1), !math.IsInf(s.hi[j], 1)
	}
	s.rows, s.scale, s.b = make([]Row, s.m), make([]float64, s.m), make([]float64, s.m)
	for i, r := range p.Rows {
		if len(r.Idx) != len(r.Val) {
			return nil, fmt.Errorf("%w: row %d has %d indices and %d values", ErrShape, i, len(r.Idx), len(r.Val))
		}
		if math.IsNaN(r.Lo) || math.IsInf(r.Lo, 0) {
			return nil, fmt.Errorf("%w: row %d has bound %v", ErrShape, i, r.Lo)
		}
		big := 0.0
		for k, j := range r.Idx {
			if j < 0 || j >= n {
				return nil, fmt.Errorf("%w: row %d names variable %d of %d", ErrShape, i, j, n)
			}
			v := r.Val[k]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%w: row %d has coefficient %v", ErrShape, i, v)
			}
			big = max(big, math.Abs(v))
		}
		if big == 0 {
			if r.Lo > 0 {
				return nil, fmt.Errorf("%w: row %d reads 0 >= %v", ErrShape, i, r.Lo)
			}
			big = 1
		}
		sr := Row{Idx: r.Idx, Val: make([]float64, len(r.Val)), Lo: r.Lo / big}
		for k, v := range r.Val {
			sr.Val[k] = v / big
		}
		s.rows[i], s.scale[i], s.b[i] = sr, big, sr.Lo
	}
	s.kkt = chooseNormal(s, false)
	return s, nil
}

// ax returns A·x (scaled rows).
func (s *solver) ax(x []float64) []float64 {
	out := make([]float64, s.m)
	for i, r := range s.rows {
		v := 0.0
		for k, j := range r.Idx {
			v += r.Val[k] * x[j]
		}
		out[i] = v
	}
	return out
}

// aty returns Aᵀ·y.
func (s *solver) aty(y []float64) []float64 {
	out := make([]float64, s.n)
	for i, r := range s.rows {
		if y[i] == 0 {
			continue
		}
		for k, j := range r.Idx {
			out[j] += r.Val[k] * y[i]
		}
	}
	return out
}

func (s *solver) start() {
	n, m := s.n, s.m
	s.x, s.zl, s.zu = make([]float64, n), make([]float64, n), make([]float64, n)
	for j := 0; j < n; j++ {
		switch {
		case s.hasLo[j] && s.hasHi[j]:
			s.x[j] = (s.lo[j] + s.hi[j]) / 2
			if s.hi[j]-s.lo[j] < 1e-12 { // a fixed variable: keep it strictly inside by a hair
				s.x[j] = s.lo[j]
			}
		case s.hasLo[j]:
			s.x[j] = s.lo[j] + 1
		case s.hasHi[j]:
			s.x[j] = s.hi[j] - 1
		}
		if s.hasLo[j] {
			s.zl[j] = 1
		}
		if s.hasHi[j] {
			s.zu[j] = 1
		}
	}
	ax := s.ax(s.x)
	s.w, s.y = make([]float64, m), make([]float64, m)
	for i := range s.w {
		s.w[i] = max(ax[i]-s.b[i], 1)
		s.y[i] = 1
	}
}

// slacks returns the bound slacks x - lo and hi - x (0 where there is no bound).
func (s *solver) slacks(x []float64) (sl, su []float64) {
	sl, su = make([]float64, s.n), make([]float64, s.n)
	for j := range x {
		// A slack that rounding took to 0 is kept at a hair above it, so that z/s stays finite.
		if s.hasLo[j] {
			sl[j] = max(x[j]-s.lo[j], 1e-15*(1+math.Abs(s.lo[j])))
		}
		if s.hasHi[j] {
			su[j] = max(s.hi[j]-x[j], 1e-15*(1+math.Abs(s.hi[j])))
		}
	}
	return sl, su
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(x))
	}
	return m
}

// direction is one Newton direction.
type direction struct{ dx, dw, dy, dzl, dzu []float64 }

// solveNewton computes the direction for the complementarity right-hand sides rcW (rows), rcL and rcU
// (bounds), given the residuals rp = b - Ax + w and rd = c - Aᵀy - zl + zu and the factored normal
// equations.
func (s *solver) solveNewton(rp, rd, sl, su, rcW, rcL, rcU []float64) (*direction, error) {
	n, m := s.n, s.m
	h := make([]float64, m)
	for i := 0; i < m; i++ {
		theta := s.y[i] / s.w[i]
		h[i] = rcW[i]/s.w[i] + theta*rp[i]
	}
	rhs := s.aty(h)
	for j := 0; j < n; j++ {
		if s.hasLo[j] {
			rhs[j] += rcL[j] / sl[j]
		}
		if s.hasHi[j] {
			rhs[j] -= rcU[j] / su[j]
		}
		rhs[j] -= rd[j]
	}
	dx, err := s.kkt.solve(rhs)
	if err != nil {
		return nil, err
	}
	adx := s.ax(dx)
	d := &direction{dx: dx, dw: make([]float64, m), dy: make([]float64, m), dzl: make([]float64, n), dzu: make([]float64, n)}
	for i := 0; i < m; i++ {
		d.dw[i] = adx[i] - rp[i]
		d.dy[i] = (rcW[i] - s.y[i]*d.dw[i]) / s.w[i]
	}
	for j := 0; j < n; j++ {
		if s.hasLo[j] {
			d.dzl[j] = (rcL[j] - s.zl[j]*dx[j]) / sl[j]
		}
		if s.hasHi[j] {
			d.dzu[j] = (rcU[j] + s.zu[j]*dx[j]) / su[j]
		}
	}
	return d, nil
}

// stepTo returns the largest alpha in (0, 1] keeping v + alpha*dv >= 0 (where used[k]).
func stepTo(v, dv []float64, used []bool, alpha float64) float64 {
	for k := range v {
		if (used == nil || used[k]) && dv[k] < 0 {
			alpha = min(alpha, -v[k]/dv[k])
		}
	}
	return alpha
}

// steps returns the primal and dual step lengths to the boundary for direction d.
func (s *solver) steps(d *direction, sl, su []float64) (ap, ad float64) {
	ap = stepTo(s.w, d.dw, nil, 1)
	dsu := make([]float64, s.n)
	for j := range dsu {
		dsu[j] = -d.dx[j]
	}
	ap = stepTo(sl, d.dx, s.hasLo, ap)
	ap = stepTo(su, dsu, s.hasHi, ap)
	ad = stepTo(s.y, d.dy, nil, 1)
	ad = stepTo(s.zl, d.dzl, s.hasLo, ad)
	ad = stepTo(s.zu, d.dzu, s.hasHi, ad)
	return ap, ad
}

// pairs counts the complementary pairs.
func (s *solver) pairs() int {
	c := s.m
	for j := 0; j < s.n; j++ {
		if s.hasLo[j] {
			c++
		}
		if s.hasHi[j] {
			c++
		}
	}
	return c
}

// complementarity returns the sum of the products of the pairs after steps ap, ad along d (d nil: now).
func (s *solver) complementarity(d *direction, sl, su []float64, ap, ad float64) float64 {
	sum := 0.0
	for i := 0; i < s.m; i++ {
		w, y := s.w[i], s.y[i]
		if d != nil {
			w, y = w+ap*d.dw[i], y+ad*d.dy[i]
		}
		sum += w * y
	}
	for j := 0; j < s.n; j++ {
		if s.hasLo[j] {
			a, z := sl[j], s.zl[j]
			if d != nil {
				a, z = a+ap*d.dx[j], z+ad*d.dzl[j]
			}
			sum += a * z
		}
		if s.hasHi[j] {
			a, z := su[j], s.zu[j]
			if d != nil {
				a, z = a-ap*d.dx[j], z+ad*d.dzu[j]
			}
			sum += a * z
		}
	}
	return sum
}

func (s *solver) run(ctx context.Context, opt Options) *Solution {
	s.start()
	n, m := s.n, s.m
	np := s.pairs()
	sol := &Solution{Status: NotConverged, Method: s.kkt.name()}
	var best *Solution // the iterate with the smallest worst measure, returned when none is optimal
	bestAt := 0        // the last iteration that halved the best worst measure
	worst := func(v *Solution) float64 {
		w := max(v.PrimalResidual, v.DualResidual, v.Gap)
		if math.IsNaN(w) {
			return math.Inf(1)
		}
		return w
	}
	defer func() {
		if sol.Status != Optimal && best != nil && worst(best) < worst(sol) {
			*sol = *best
		}
	}()
	for it := 0; it <= opt.MaxIter; it++ {
		sl, su := s.slacks(s.x)
		ax := s.ax(s.x)
		rp := make([]float64, m)
		for i := range rp {
			rp[i] = s.b[i] - ax[i] + s.w[i]
		}
		aty := s.aty(s.y)
		rd := make([]float64, n)
		for j := range rd {
			rd[j] = s.c[j] - aty[j] - s.zl[j] + s.zu[j]
		}
		s.fill(sol, it)
		if best == nil || worst(sol) < worst(best)/2 {
			bestAt = it
		}
		if best == nil || worst(sol) < worst(best) {
			c := *sol
			c.X, c.Y, c.ZLo, c.ZHi = append([]float64(nil), sol.X...), append([]float64(nil), sol.Y...), append([]float64(nil), sol.ZLo...), append([]float64(nil), sol.ZHi...)
			best = &c
		}
		if sol.PrimalResidual <= opt.Tol && sol.DualResidual <= opt.Tol && sol.Gap <= opt.Tol {
			sol.Status = Optimal
			return sol
		}
		if it == opt.MaxIter || ctx.Err() != nil || it-bestAt > 40 { // out of iterations, or stalled
			return sol
		}
		mu := 0.0
		if np > 0 {
			mu = s.complementarity(nil, sl, su, 0, 0) / float64(np)
		}
		// Factor the normal equations for this iterate.
		theta := make([]float64, m)
		for i := range theta {
			theta[i] = s.y[i] / s.w[i]
		}
		dcol := make([]float64, n)
		for j := range dcol {
			if s.hasLo[j] {
				dcol[j] += s.zl[j] / sl[j]
			}
			if s.hasHi[j] {
				dcol[j] += s.zu[j] / su[j]
			}
		}
		if err := s.kkt.factor(theta, dcol); err != nil {
			return sol
		}
		// Predictor: the affine-scaling direction.
		rcW, rcL, rcU := make([]float64, m), make([]float64, n), make([]float64, n)
		for i := range rcW {
			rcW[i] = -s.w[i] * s.y[i]
		}
		for j := 0; j < n; j++ {
			if s.hasLo[j] {
				rcL[j] = -sl[j] * s.zl[j]
			}
			if s.hasHi[j] {
				rcU[j] = -su[j] * s.zu[j]
			}
		}
		aff, err := s.solveNewton(rp, rd, sl, su, rcW, rcL, rcU)
		if err != nil {
			return sol
		}
		ap, ad := s.steps(aff, sl, su)
		sigma := 0.0
		if np > 0 && mu > 0 {
			muAff := s.complementarity(aff, sl, su, ap, ad) / float64(np)
			sigma = math.Pow(muAff/mu, 3)
		}
		// Corrector: centring plus the second-order term.
		for i := range rcW {
			rcW[i] = sigma*mu - s.w[i]*s.y[i] - aff.dw[i]*aff.dy[i]
		}
		for j := 0; j < n; j++ {
			if s.hasLo[j] {
				rcL[j] = sigma*mu - sl[j]*s.zl[j] - aff.dx[j]*aff.dzl[j]
			}
			if s.hasHi[j] {
				rcU[j] = sigma*mu - su[j]*s.zu[j] + aff.dx[j]*aff.dzu[j]
			}
		}
		d, err := s.solveNewton(rp, rd, sl, su, rcW, rcL, rcU)
		if err != nil {
			return sol
		}
		ap, ad = s.steps(d, sl, su)
		ap, ad = min(1, 0.995*ap), min(1, 0.995*ad)
		for j := 0; j < n; j++ {
			s.x[j] += ap * d.dx[j]
			s.zl[j] += ad * d.dzl[j]
			s.zu[j] += ad * d.dzu[j]
		}
		for i := 0; i < m; i++ {
			s.w[i] += ap * d.dw[i]
			s.y[i] += ad * d.dy[i]
		}
	}
	return sol
}

// fill writes the current iterate into sol in the caller's units.
func (s *solver) fill(sol *Solution, it int) {
	n, m := s.n, s.m
	sol.Iterations = it
	sol.X = append(sol.X[:0], s.x...)
	sol.Y = make([]float64, m)
	for i := range sol.Y {
		sol.Y[i] = s.y[i] / s.scale[i]
	}
	sol.ZLo, sol.ZHi = append(sol.ZLo[:0], s.zl...), append(sol.ZHi[:0], s.zu...)
	primal, dual := 0.0, 0.0
	for j := 0; j < n; j++ {
		primal += s.c[j] * s.x[j]
		if s.hasLo[j] {
			dual += s.lo[j] * s.zl[j]
		}
		if s.hasHi[j] {
			dual -= s.hi[j] * s.zu[j]
		}
	}
	for i := 0; i < m; i++ {
		dual += s.b[i] * s.y[i]
	}
	sol.Primal, sol.Dual = primal, dual
	// Residuals of the point itself (rows violated by x, not by the slack bookkeeping).
	ax := s.ax(s.x)
	pr := 0.0
	bn := 1.0
	for i := 0; i < m; i++ {
		pr = max(pr, s.b[i]-ax[i])
		bn = max(bn, 1+math.Abs(s.b[i]))
	}
	for j := 0; j < n; j++ {
		if s.hasLo[j] {
			pr = max(pr, s.lo[j]-s.x[j])
		}
		if s.hasHi[j] {
			pr = max(pr, s.x[j]-s.hi[j])
		}
	}
	sol.PrimalResidual = max(pr, 0) / bn
	aty := s.aty(s.y)
	dr := 0.0
	for j := 0; j < n; j++ {
		dr = max(dr, math.Abs(s.c[j]-aty[j]-s.zl[j]+s.zu[j]))
	}
	sol.DualResidual = dr / (1 + maxAbs(s.c))
	sol.Gap = math.Abs(primal-dual) / (1 + math.Abs(primal))
}
