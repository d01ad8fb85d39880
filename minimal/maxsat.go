package minimal

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/birdnn/birdnn/lp"
	"github.com/birdnn/birdnn/nn"
)

// MaxSatOptions bound the branch and bound of MaxSatisfied.
type MaxSatOptions struct {
	// Nodes bounds the programs solved (default 500); Timeout the time (0: none).
	Nodes   int
	Timeout time.Duration
}

// MaxSatResult is the exact (or best found) answer to NNrepair's MaxSMT problem.
type MaxSatResult struct {
	// Satisfied is how many soft inputs the answer satisfies (every row, under a plain forward pass),
	// of Soft. UpperBound is proved: no change within the limits satisfies more soft inputs while every
	// hard row holds. Exact says Satisfied == UpperBound.
	Satisfied  int  `json:"satisfied"`
	Soft       int  `json:"soft"`
	UpperBound int  `json:"upper_bound"`
	Exact      bool `json:"exact"`
	// Relaxation is how many soft inputs the LP relaxation's answer (Solve with the soft rows priced)
	// satisfies: what the fast method gets.
	Relaxation int `json:"relaxation"`
	// Nodes is how many programs the search solved; Seconds its time.
	Nodes   int     `json:"nodes"`
	Seconds float64 `json:"seconds"`
	// Change is the least L1 change that satisfies the chosen soft inputs with the hard rows (Solve with
	// them hard): its network is the answer.
	Change *Result `json:"-"`
}

// MaxSatisfied solves NNrepair's MaxSMT problem exactly: the change of the chosen layer, every entry
// within opt.Limit (required), that satisfies the most soft inputs (an input with Weight > 0 counts as
// satisfied when all its rows hold) while every hard row holds. It is a mixed-integer program, solved by
// branch and bound over which soft inputs are satisfied, each node's bound by an LP relaxation certified
// by weak duality (big-M rows, M exact from the box |Δ| <= Limit), alternately depth first and best
// first; the search stops at mo's budget and
// then reports the best found with the proved upper bound. Among the changes that satisfy the chosen
// inputs it returns the least L1 one.
func MaxSatisfied(ctx context.Context, net *nn.Network, inputs []Input, opt Options, mo MaxSatOptions) (*MaxSatResult, error) {
	t0 := time.Now()
	if !(opt.Limit > 0) {
		return nil, errors.New("max-sat: Options.Limit must bound every change (NNrepair's 0.5)")
	}
	if mo.Nodes <= 0 {
		mo.Nodes = 500
	}
	search := ctx
	if mo.Timeout > 0 {
		var cancel context.CancelFunc
		search, cancel = context.WithTimeout(ctx, mo.Timeout)
		defer cancel()
	}
	pr, err := build(net, inputs, opt)
	if err != nil {
		return nil, err
	}
	// Group the rows: hard ones, and each soft input's.
	var hard []linRow
	var softIdx []int              // the inputs that are soft
	softRows := map[int][]linRow{} // by input
	for _, r := range pr.rows {
		if r.weight > 0 {
			if _, ok := softRows[r.input]; !ok {
				softIdx = append(softIdx, r.input)
			}
			softRows[r.input] = append(softRows[r.input], r)
		} else {
			hard = append(hard, r)
		}
	}
	slices.Sort(softIdx)
	n := len(softIdx)
	res := &MaxSatResult{Soft: n}
	L := opt.Limit
	tol := func(r linRow) float64 { return 1e-9 * (1 + math.Abs(r.rhs)) }
	holds := func(r linRow, delta []float64) bool {
		v := 0.0
		for i, c := range r.coef {
			v += c * delta[i]
		}
		return v >= r.rhs-tol(r)
	}
	// inputHolds says whether every row of soft input in holds at delta.
	inputHolds := func(in int, delta []float64) bool {
		for _, r := range softRows[in] {
			if !holds(r, delta) {
				return false
			}
		}
		return true
	}
	count := func(delta []float64) int {
		for _, r := range hard {
			if !holds(r, delta) {
				return -1
			}
		}
		c := 0
		for _, in := range softIdx {
			if inputHolds(in, delta) {
				c++
			}
		}
		return c
	}
	// freeDelta is a solution's change over the free entries only (the program's variables).
	freeDelta := func(full []float64) []float64 {
		if pr.free == nil {
			return full
		}
		d := make([]float64, pr.nd)
		for t, f := range pr.free {
			d[t] = full[f]
		}
		return d
	}
	// Chinneck's elastic heuristic for the maximum feasible subsystem: solve the relaxation, drop the
	// quarter of the soft inputs it leaves violated that it violates most, and solve again, until what
	// is left is satisfied; every answer on the way is a candidate. Its first round, every soft input
	// kept, is the LP relaxation: the fast method's answer.
	best, bestDelta := -1, []float64(nil)
	remaining := map[int]bool{}
	for _, in := range softIdx {
		remaining[in] = true
	}
	for round := 0; round < 40; round++ {
		rctx := search
		if round == 0 {
			rctx = ctx
		} else if search.Err() != nil {
			break
		}
		var sub []Input
		for i, in := range inputs {
			if in.Weight == 0 || remaining[i] {
				sub = append(sub, in)
			}
		}
		rel, err := Solve(rctx, net, sub, opt)
		if err != nil {
			if round == 0 && errors.Is(err, ErrInfeasible) {
				return nil, err
			}
			break
		}
		d := freeDelta(rel.Delta)
		c := count(d)
		if round == 0 {
			res.Relaxation = c
		}
		if c > best {
			best, bestDelta = c, d
		}
		type miss struct {
			in int
			v  float64
		}
		var missed []miss
		for in := range remaining {
			v := 0.0
			for _, r := range softRows[in] {
				a := 0.0
				for i, c := range r.coef {
					a += c * d[i]
				}
				v += max(0, r.rhs-a)
			}
			if v > 0 && !inputHolds(in, d) {
				missed = append(missed, miss{in, v})
			}
		}
		if len(missed) == 0 {
			break
		}
		slices.SortFunc(missed, func(a, b miss) int {
			if a.v != b.v {
				return cmp.Compare(b.v, a.v)
			}
			return cmp.Compare(a.in, b.in)
		})
		for _, m := range missed[:max(1, len(missed)/4)] {
			delete(remaining, m.in)
		}
	}
	satisfiedBy := func(k int, delta []float64) bool { return inputHolds(softIdx[k], delta) }
	// A node fixes each soft input satisfied (1), dropped (-1) or leaves it undecided (0); bound is its
	// parent's proved bound.
	type node struct {
		state []int8
		bound int
	}
	stack := []node{{state: make([]int8, n), bound: n}}
	var open []int // proved bounds of the nodes the search could not close
	for len(stack) > 0 {
		if res.Nodes >= mo.Nodes || search.Err() != nil {
			break
		}
		// Alternate depth first (the last node: incumbents) and best first (the open node of the highest
		// bound, moved to the top: the proved bound falls).
		if res.Nodes%2 == 1 {
			top := len(stack) - 1
			for i, n := range stack {
				if n.bound > stack[top].bound {
					top = i
				}
			}
			stack[top], stack[len(stack)-1] = stack[len(stack)-1], stack[top]
		}
		nd := stack[len(stack)-1]
		if nd.bound <= best {
			stack = stack[:len(stack)-1]
			continue
		}
		res.Nodes++
		ub, delta, t, err := pr.maxSatNode(search, hard, softIdx, softRows, nd.state, L)
		if err != nil {
			if search.Err() != nil && ctx.Err() == nil {
				break // the budget: nd stays open
			}
			return nil, err
		}
		stack = stack[:len(stack)-1]
		ub = min(ub, nd.bound)
		if c := count(delta); c > best {
			best, bestDelta = c, delta
		}
		if ub <= best {
			continue
		}
		// Branch on the undecided input nearest to satisfied (the smallest t) that delta misses.
		pick := -1
		for k, st := range nd.state {
			if st == 0 && !satisfiedBy(k, delta) && (pick < 0 || t[k] < t[pick]) {
				pick = k
			}
		}
		if pick < 0 {
			// delta satisfies every undecided input yet count says fewer than ub: a fixed or hard row
			// misses (the fixed set may be infeasible). Branch on the first undecided input; a leaf
			// stays open at its bound.
			for k, st := range nd.state {
				if st == 0 {
					pick = k
					break
				}
			}
			if pick < 0 {
				open = append(open, ub)
				continue
			}
		}
		drop, keep := slices.Clone(nd.state), slices.Clone(nd.state)
		drop[pick], keep[pick] = -1, 1
		stack = append(stack, node{drop, ub}, node{keep, ub}) // satisfied first (depth first)
	}
	upper := best
	for _, nd := range stack {
		upper = max(upper, nd.bound)
	}
	for _, b := range open {
		upper = max(upper, b)
	}
	res.UpperBound = upper
	if best < 0 {
		return nil, fmt.Errorf("max-sat: no change within |Δ| <= %g satisfies the hard rows found in %d nodes", L, res.Nodes)
	}
	// The least L1 change that satisfies the chosen inputs, every row hard.
	var chosen []Input
	for i, in := range inputs {
		if in.Weight == 0 {
			chosen = append(chosen, in)
			continue
		}
		if inputHolds(i, bestDelta) {
			in.Weight = 0
			chosen = append(chosen, in)
		}
	}
	o := opt
	o.Norm = L1
	ch, err := Solve(ctx, net, chosen, o)
	if err != nil {
		return nil, fmt.Errorf("max-sat: least change of the %d chosen inputs: %w", best, err)
	}
	res.Change = ch
	// Count on the network itself, as the user will.
	res.Satisfied = 0
	for _, in := range inputs {
		if in.Weight == 0 {
			continue
		}
		acts := ch.Net.Trace(in.X)
		ok := holdsOn(in.Rows, acts[len(acts)-1])
		if len(in.UnitRows) > 0 {
			h := in.X
			if pr.layer > 0 {
				h = acts[pr.layer-1]
			}
			ok = ok && holdsOn(in.UnitRows, preActivation(&ch.Net.Layers[pr.layer], h))
		}
		if ok {
			res.Satisfied++
		}
	}
	res.Exact = res.Satisfied >= res.UpperBound
	res.Seconds = time.Since(t0).Seconds()
	return res, nil
}

// holdsOn says whether every row holds on values y, to a rounding tolerance of 1e-7 relative.
func holdsOn(rows []Row, y []float64) bool {
	for _, r := range rows {
		v := 0.0
		for j, c := range r.Coef {
			v += c * y[j]
		}
		if v < r.Bound-1e-7*(1+math.Abs(r.Bound)) {
			return false
		}
	}
	return true
}

// maxSatNode solves one node's relaxation: δ in the box |δ| <= limit, each undecided soft input i with
// t_i in [0, 1] and rows a·δ + M t_i >= r (M = max(0, r + limit ||a||_1) makes the row void at t_i = 1),
// the inputs fixed satisfied with their rows, the hard rows, both with a slack priced big (so the
// program is always feasible); minimize Σ t + big Σ slack. The bound on the satisfied inputs is
// fixed + floor(undecided - LB), LB the program's optimum bounded below by weak duality at the solver's
// multipliers (rigorous whatever the solver's accuracy). It returns the bound, the node's δ and t (by
// soft input; 0 for decided ones).
func (pr *program) maxSatNode(ctx context.Context, hard []linRow, softIdx []int, softRows map[int][]linRow, state []int8, limit float64) (int, []float64, []float64, error) {
	nd := pr.nd
	undecided, fixed := 0, 0
	for _, s := range state {
		switch s {
		case 0:
			undecided++
		case 1:
			fixed++
		}
	}
	big := 1e4 * float64(undecided+1)
	p := &lp.Problem{C: make([]float64, nd), Lo: make([]float64, nd), Hi: make([]float64, nd)}
	for i := 0; i < nd; i++ {
		p.Lo[i], p.Hi[i] = -limit, limit
	}
	addVar := func(c, lo, hi float64) int {
		p.C, p.Lo, p.Hi = append(p.C, c), append(p.Lo, lo), append(p.Hi, hi)
		return len(p.C) - 1
	}
	// row r with an extra variable v of coefficient m (v < 0: none).
	addRow := func(r linRow, v int, m float64) {
		row := lp.Row{Lo: r.rhs}
		for i, c := range r.coef {
			if c != 0 {
				row.Idx, row.Val = append(row.Idx, i), append(row.Val, c)
			}
		}
		if v >= 0 {
			row.Idx, row.Val = append(row.Idx, v), append(row.Val, m)
		}
		p.Rows = append(p.Rows, row)
	}
	norm1 := func(r linRow) float64 {
		s := 0.0
		for _, c := range r.coef {
			s += math.Abs(c)
		}
		return s
	}
	tvar := make([]int, len(state))
	// A hard or fixed row's slack needs at most M (the row's worst violation in the box); a row the box
	// cannot violate is left out.
	elastic := func(r linRow) {
		if m := r.rhs + limit*norm1(r); m > 0 {
			addRow(r, addVar(big, 0, m), 1)
		}
	}
	for _, r := range hard {
		elastic(r)
	}
	for k, s := range state {
		tvar[k] = -1
		switch s {
		case 1:
			for _, r := range softRows[softIdx[k]] {
				elastic(r)
			}
		case 0:
			tvar[k] = addVar(1, 0, 1)
			for _, r := range softRows[softIdx[k]] {
				if m := r.rhs + limit*norm1(r); m > 0 {
					addRow(r, tvar[k], m)
				}
			}
		}
	}
	sol, err := lp.Solve(ctx, p, lp.Options{Tol: 1e-9})
	if err == nil && sol.Status != lp.Optimal && ctx.Err() == nil {
		// Woodbury's end game can stall: dense normal equations throughout (the bound below is valid
		// at any multipliers, so a stalled answer only weakens it).
		if sd, e := lp.Solve(ctx, p, lp.Options{Tol: 1e-9, Dense: true}); e == nil && (sd.Status == lp.Optimal || sd.Dual > sol.Dual) {
			sol = sd
		}
	}
	if err != nil {
		return 0, nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, nil, err
	}
	// Weak duality: for y >= 0, min over the box of c·x - y·(Ax - b) <= the optimum. A variable with
	// an infinite upper bound (a slack) needs a nonnegative reduced cost: clip its row's y.
	y := make([]float64, len(p.Rows))
	for k := range p.Rows {
		y[k] = max(sol.Y[k], 0)
		row := p.Rows[k]
		for q, j := range row.Idx {
			if math.IsInf(p.Hi[j], 1) && row.Val[q] > 0 {
				y[k] = min(y[k], p.C[j]/row.Val[q])
			}
		}
	}
	red := slices.Clone(p.C)
	lb := 0.0
	for k, row := range p.Rows {
		lb += y[k] * row.Lo
		for q, j := range row.Idx {
			red[j] -= y[k] * row.Val[q]
		}
	}
	terms := math.Abs(lb)
	for j, d := range red {
		// The minimizing end of the box; a slack (no upper end) has d >= 0 exactly (its one row's
		// coefficient is 1 and y was clipped to its price), so its end is 0.
		x := p.Lo[j]
		if d < 0 && !math.IsInf(p.Hi[j], 1) {
			x = p.Hi[j]
		}
		lb += d * x
		terms += math.Abs(d * x)
	}
	lb -= 1e-9*terms + 1e-12
	ub := fixed + int(math.Floor(float64(undecided)-max(lb, 0)+1e-9))
	delta := slices.Clone(sol.X[:nd])
	t := make([]float64, len(state))
	for k, v := range tvar {
		if v >= 0 {
			t[k] = sol.X[v]
		}
	}
	return ub, delta, t, nil
}
