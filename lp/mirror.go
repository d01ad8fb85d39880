package lp

import (
	"fmt"
	"math"
	"slices"
)

// mirrorNormal merges mirror columns before an inner solver sees them: a pair p, q whose columns are
// negatives of each other in every row (a free change split as p - q, package minimal's L1 norm). With
// d = dx_p - dx_q the normal equations over the pair reduce to one column with barrier
// E = D_p D_q/(D_p + D_q) and right side (D_q r_p - D_p r_q)/(D_p + D_q); the halves come back as
// dx_p = (r_p + r_q + D_q d)/(D_p + D_q) and dx_q = (r_p + r_q - D_p d)/(D_p + D_q), with no division by
// a barrier alone. An L1 program of n changes then costs what an n-column program does, not 2n.
type mirrorNormal struct {
	s      *solver
	inner  normalSolver
	top    bool // the outermost solver: refine against the full matrix
	red    *solver
	col    []int // reduced column -> full column (p of a pair)
	mirror []int // reduced column -> q of its pair, or -1
	theta  []float64
	d      []float64
}

// newMirrorNormal returns nil when the program has no mirror pair.
func newMirrorNormal(s *solver, noWoodbury bool) *mirrorNormal {
	type entry struct {
		row int
		val float64
	}
	cols := make([][]entry, s.n)
	for i, r := range s.rows {
		for k, j := range r.Idx {
			cols[j] = append(cols[j], entry{i, r.Val[k]})
		}
	}
	hash := func(es []entry, sign float64) uint64 {
		h := uint64(14695981039346656037)
		for _, e := range es {
			for _, b := range []uint64{uint64(e.row), math.Float64bits(sign*e.val + 0)} {
				h ^= b
				h *= 1099511628211
			}
		}
		return h
	}
	byHash := map[uint64][]int{}
	for j, es := range cols {
		if len(es) > 0 && (s.hasLo[j] || s.hasHi[j]) {
			byHash[hash(es, 1)] = append(byHash[hash(es, 1)], j)
		}
	}
	pair := make([]int, s.n)
	for j := range pair {
		pair[j] = -1
	}
	found := 0
	for j, es := range cols {
		if pair[j] >= 0 || len(es) == 0 || !(s.hasLo[j] || s.hasHi[j]) {
			continue
		}
		for _, q := range byHash[hash(es, -1)] {
			if q == j || pair[q] >= 0 || !slices.EqualFunc(es, cols[q], func(a, b entry) bool { return a.row == b.row && a.val == -b.val }) {
				continue
			}
			pair[j], pair[q] = q, j
			found++
			break
		}
	}
	if found == 0 {
		return nil
	}
	mn := &mirrorNormal{s: s}
	pos := make([]int, s.n)
	for j := 0; j < s.n; j++ {
		pos[j] = -1
		if pair[j] >= 0 && pair[j] < j {
			continue // the q of a pair already placed
		}
		pos[j] = len(mn.col)
		mn.col = append(mn.col, j)
		mn.mirror = append(mn.mirror, pair[j])
	}
	red := reducedProgram(s, mn.col, pos)
	for rj := range mn.col {
		if mn.mirror[rj] >= 0 {
			red.hasLo[rj] = true // the merged column's barrier E is positive
		}
	}
	mn.red = red
	mn.inner = chooseReduced(red, noWoodbury, false)
	return mn
}

func (mn *mirrorNormal) name() string {
	return fmt.Sprintf("%s, %d mirror pairs merged", mn.inner.name(), mn.s.n-len(mn.col))
}

func (mn *mirrorNormal) factor(theta, d []float64) error {
	mn.d = d
	rd := make([]float64, len(mn.col))
	for rj, j := range mn.col {
		rd[rj] = d[j]
		if q := mn.mirror[rj]; q >= 0 {
			rd[rj] = d[j] * d[q] / max(d[j]+d[q], 1e-300)
		}
	}
	mn.theta = theta
	return mn.inner.factor(theta, rd)
}

func (mn *mirrorNormal) raw(r []float64) ([]float64, error) {
	d := mn.d
	rr := make([]float64, len(mn.col))
	for rj, j := range mn.col {
		rr[rj] = r[j]
		if q := mn.mirror[rj]; q >= 0 {
			rr[rj] = (d[q]*r[j] - d[j]*r[q]) / max(d[j]+d[q], 1e-300)
		}
	}
	dr, err := mn.inner.solve(rr)
	if err != nil {
		return nil, err
	}
	x := make([]float64, mn.s.n)
	for rj, j := range mn.col {
		x[j] = dr[rj]
		if q := mn.mirror[rj]; q >= 0 {
			den := max(d[j]+d[q], 1e-300)
			x[j] = (r[j] + r[q] + d[q]*dr[rj]) / den
			x[q] = (r[j] + r[q] - d[j]*dr[rj]) / den
		}
	}
	return x, nil
}

func (mn *mirrorNormal) solve(r []float64) ([]float64, error) {
	return reducedSolve(mn.s, mn.theta, mn.d, r, mn.top, mn.raw)
}
