// Package minimal changes one dense layer of a network by the least amount (L-infinity or L1 norm of the
// change) that makes given inputs behave, by linear programming (Goldberger et al., LPAR 2020), and
// certifies from the program's duals that no smaller change of that layer does.
//
// With the layers before it fixed, a layer's input h is fixed for each input x, and its pre-activations
// z = (W + ΔW) h + b + Δb are affine in the change. The last layer's outputs are z (it must be linear);
// for a hidden layer, the layers after it are linear too once the activation pattern on each input is
// fixed (exactly, for ReLU networks, while the pattern holds), so every constraint c·y >= d on an input's
// outputs is one linear row in the change. Minimizing the norm subject to the rows is the program; rows
// may be soft (a slack variable priced by a weight in the objective).
//
// The optimum is certified by weak duality: for multipliers λ >= 0 of the rows (λ at most the weight
// on a soft row) and u = Σ λ_k a_k, every feasible change has objective at least Σ λ_k r_k / max(1,
// ||u||_q), q the dual norm. Result.LowerBound is that bound at the solver's multipliers, computed
// independently of the solver's own optimality test.
package minimal

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/lp"
	"github.com/birdnn/birdnn/nn"
)

// Norm is the norm of the change that is minimized.
type Norm int

const (
	// LInf minimizes the largest |Δ| (the paper's choice).
	LInf Norm = iota
	// L1 minimizes the sum of |Δ|.
	L1
)

func (n Norm) String() string {
	if n == L1 {
		return "l1"
	}
	return "linf"
}

// ParseNorm reads "linf" or "l1".
func ParseNorm(s string) (Norm, error) {
	switch s {
	case "linf", "":
		return LInf, nil
	case "l1":
		return L1, nil
	}
	return 0, fmt.Errorf("norm %q: want linf or l1", s)
}

// Row is the constraint Coef·y >= Bound on a network's outputs y.
type Row struct {
	Coef  []float64
	Bound float64
}

// DecisionRows returns the rows that keep output winner the decision among m outputs by margin: the
// highest (y_winner - y_j >= margin for every other j) when highest, else the lowest
// (y_j - y_winner >= margin).
func DecisionRows(m, winner int, highest bool, margin float64) []Row {
	rows := make([]Row, 0, m-1)
	for j := 0; j < m; j++ {
		if j == winner {
			continue
		}
		c := make([]float64, m)
		if highest {
			c[winner], c[j] = 1, -1
		} else {
			c[j], c[winner] = 1, -1
		}
		rows = append(rows, Row{Coef: c, Bound: margin})
	}
	return rows
}

// Input is one input and the rows its outputs must satisfy: hard when Weight is 0, else soft, each unit
// of a row's violation costing Weight in the objective.
//
// UnitRows are rows on the changed layer's own pre-activations z (Coef over its units): z is affine in
// the change whatever the layers after it do, so these rows are exact for any layer. They state an
// intermediate specification, such as the activation pattern an input's class shares (NNrepair's oracle
// for intermediate-layer repair).
type Input struct {
	X        []float64
	Rows     []Row
	UnitRows []Row
	Weight   float64
}

// Options choose the layer and the norm.
type Options struct {
	// Layer is the index of the dense layer to change; -1 is the output layer.
	Layer int
	Norm  Norm
	// Bias lets the layer's biases change too (counted in the norm like weights).
	Bias bool
	// Lazy starts the program with one hard row an input (its least satisfied) and adds the rows the
	// answer violates, round by round, until it satisfies them all: the answer is then optimal for every
	// row (the rows left out were satisfied), and the bound certified on the rows kept is a bound for
	// all. It pays when many inputs each carry many rows (keep constraints over thousands of images).
	Lazy bool
	// Free, when not nil, lists the only entries that may change (indices into the change vector:
	// weights row-major as nn.Layer.W, then with Bias the biases); the others stay put. NNrepair's
	// localized weights.
	Free []int
	// Limit, when positive, bounds every change: |Δ| <= Limit (NNrepair's 0.5).
	Limit float64
	// BoxLimit bounds every change in the elastic program that measures an infeasible one (default 1e4,
	// or Limit when smaller).
	BoxLimit float64
	LP       lp.Options
}

// Result is a minimal change and what it proves.
type Result struct {
	// Net is the changed network (a copy); Delta the changes of the layer's weights (row-major, as
	// nn.Layer.W) followed, with Options.Bias, by those of its biases.
	Net   *nn.Network `json:"-"`
	Delta []float64   `json:"-"`
	Layer int         `json:"layer"`
	Norm  string      `json:"norm"`
	// Objective is the program's optimum: the norm of the change plus the priced slack of soft rows.
	Objective float64 `json:"objective"`
	// Change is the norm of Delta (L-infinity or L1 as chosen); MaxChange its largest |entry|,
	// L1Change the sum of |entries| and Changed how many entries moved by more than 1e-9.
	Change    float64 `json:"change"`
	MaxChange float64 `json:"max_change"`
	L1Change  float64 `json:"l1_change"`
	Changed   int     `json:"changed"`
	// LowerBound is the certified lower bound on the optimum (weak duality at the solver's
	// multipliers); Gap is (Objective - LowerBound) / max(Objective, 1e-12).
	LowerBound float64 `json:"lower_bound"`
	Gap        float64 `json:"gap"`
	// Slack is the total violation of soft rows the optimum accepts.
	Slack float64 `json:"slack"`
	// Rows (constraint rows, the norm's own not counted), Cols and Nonzeros are the (last) program's size; Iterations, Method and Seconds the solve's
	// (Iterations summed over the rounds of a lazy solve). AllRows counts the rows asked for; Rounds the
	// programs solved (1 unless Options.Lazy).
	AllRows    int     `json:"all_rows"`
	Rounds     int     `json:"rounds"`
	Rows       int     `json:"rows"`
	Cols       int     `json:"cols"`
	Nonzeros   int     `json:"nonzeros"`
	Iterations int     `json:"iterations"`
	Method     string  `json:"method"`
	Seconds    float64 `json:"seconds"`
	// PrimalResidual and DualResidual are the solver's relative residuals at the answer.
	PrimalResidual float64 `json:"primal_residual"`
	DualResidual   float64 `json:"dual_residual"`
	// Violated counts the hard rows the changed network violates under a plain forward pass (beyond a
	// rounding tolerance of 1e-7 relative); PatternMoved the inputs whose activation pattern after the
	// layer differs from the original's (a hidden layer's program assumed it fixed).
	Violated     int `json:"violated"`
	PatternMoved int `json:"pattern_moved"`
}

// ErrInfeasible says that no change of the layer satisfies the hard rows; the error's text gives the
// least total violation.
var ErrInfeasible = errors.New("no change of this layer satisfies every hard constraint")

// InfeasibleError is ErrInfeasible with the least total violation of the hard rows (within
// |Δ| <= BoxLimit).
type InfeasibleError struct {
	Layer int
	// LeastSlack is the least total violation found; Bound a lower bound on it proved by weak duality
	// (positive: no change within BoxLimit satisfies the hard rows).
	LeastSlack, Bound float64
	BoxLimit          float64
}

func (e *InfeasibleError) Error() string {
	if e.Bound < e.LeastSlack*(1-1e-6) {
		return fmt.Sprintf("layer %d: %v: the least total violation of the hard rows by any change with |Δ| <= %g is between %.6g (proved) and %.6g", e.Layer, ErrInfeasible, e.BoxLimit, e.Bound, e.LeastSlack)
	}
	return fmt.Sprintf("layer %d: %v: the least total violation of the hard rows by any change with |Δ| <= %g is %.6g", e.Layer, ErrInfeasible, e.BoxLimit, e.LeastSlack)
}

// elasticBound is the weak-duality lower bound on the elastic program's optimum that any multipliers
// 0 <= y <= 1 prove (y clipped to that range): Σ y_i b_i - limit Σ_j |Σ_i y_i a_ij| over the nd change
// columns, each |Δ_j| <= limit. It needs no convergence: every such y gives a valid bound.
func elasticBound(p *lp.Problem, y []float64, nd int, limit float64) float64 {
	if len(y) != len(p.Rows) {
		return 0
	}
	aty := make([]float64, nd)
	lb := 0.0
	for i, r := range p.Rows {
		yi := min(max(y[i], 0), 1)
		lb += yi * r.Lo
		for k, j := range r.Idx {
			if j < nd {
				aty[j] += yi * r.Val[k]
			}
		}
	}
	for _, v := range aty {
		lb -= limit * math.Abs(v)
	}
	return lb
}

func (e *InfeasibleError) Unwrap() error { return ErrInfeasible }

// acceptable is the largest relative residual and gap of a solve that Solve accepts when the solver
// stalls short of the tighter tolerance it asks (the certified lower bound does not rest on either).
const acceptable = 1e-7

// program is the linear model of the chosen layer's change on the inputs.
type program struct {
	net   *nn.Network
	layer int
	in    int // the layer's inputs
	out   int // the layer's units
	nd    int // change variables (weights, then biases; only the free ones with Options.Free)
	full  int // entries of the layer's whole change vector
	free  []int
	limit float64
	// per input: the original network's layer outputs (nn.Network.Trace), the layer's input h, the
	// original outputs y0, and J = dy/dz (outputs x units).
	acts  [][][]float64
	h, y0 [][]float64
	jac   [][]float64
	// the rows: coefficient on the change (dense over nd), right-hand side and weight.
	rows []linRow
}

type linRow struct {
	input  int
	coef   []float64 // length nd
	rhs    float64
	weight float64
}

// Solve finds the least change of the chosen layer that makes every input's rows hold.
func Solve(ctx context.Context, net *nn.Network, inputs []Input, opt Options) (*Result, error) {
	t0 := time.Now()
	pr, err := build(net, inputs, opt)
	if err != nil {
		return nil, err
	}
	if opt.LP.Tol == 0 {
		// The solver's gap is relative to 1 + |objective|; changes are often far below 1.
		opt.LP.Tol = 1e-11
	}
	all := pr.rows
	if opt.Lazy {
		pr.rows = initialRows(all)
	}
	var p *lp.Problem
	var sol *lp.Solution
	var dvar func([]float64, int) float64
	var slackVar func(int) int
	iters, rounds := 0, 0
	for {
		rounds++
		p, dvar, slackVar = pr.lp(opt.Norm)
		sol, err = lp.Solve(ctx, p, opt.LP)
		if err == nil && sol.Status != lp.Optimal && max(sol.PrimalResidual, sol.DualResidual, sol.Gap) > acceptable && !opt.LP.Dense && ctx.Err() == nil {
			// A stalled solve short of what is accepted below (Woodbury's end game): solve again with
			// dense normal equations throughout.
			d := opt.LP
			d.Dense = true
			if sd, e := lp.Solve(ctx, p, d); e == nil && max(sd.PrimalResidual, sd.DualResidual, sd.Gap) < max(sol.PrimalResidual, sol.DualResidual, sol.Gap) {
				sd.Iterations += sol.Iterations
				sol = sd
			}
		}
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		iters += sol.Iterations
		if sol.Status != lp.Optimal && max(sol.PrimalResidual, sol.DualResidual, sol.Gap) <= acceptable {
			// Short of the tight tolerance asked, but within 1e-7: accepted (the
			// certified bound below does not rest on it).
			sol.Status = lp.Optimal
		}
		if sol.Status != lp.Optimal {
			pr.rows = all
			return nil, pr.diagnose(ctx, opt, sol)
		}
		if !opt.Lazy {
			break
		}
		delta := make([]float64, pr.nd)
		for i := range delta {
			delta[i] = dvar(sol.X, i)
		}
		more := violatedRows(all, pr.rows, delta)
		if len(more) == 0 || rounds == 50 {
			break
		}
		pr.rows = append(pr.rows, more...)
	}
	res := &Result{Layer: pr.layer, Norm: opt.Norm.String(), Rows: len(pr.rows), Cols: len(p.C), Iterations: iters, Method: sol.Method,
		PrimalResidual: sol.PrimalResidual, DualResidual: sol.DualResidual, AllRows: len(all), Rounds: rounds}
	for _, r := range p.Rows {
		res.Nonzeros += len(r.Idx)
	}
	res.Delta = make([]float64, pr.nd)
	for i := range res.Delta {
		res.Delta[i] = dvar(sol.X, i)
	}
	for k := range pr.rows {
		if s := slackVar(k); s >= 0 {
			res.Slack += max(sol.X[s], 0)
		}
	}
	res.Objective = sol.Primal
	for _, d := range res.Delta {
		a := math.Abs(d)
		res.MaxChange = max(res.MaxChange, a)
		res.L1Change += a
		if a > 1e-9 {
			res.Changed++
		}
	}
	res.Change = res.MaxChange
	if opt.Norm == L1 {
		res.Change = res.L1Change
	}
	// The bound holds with Free and Limit too: they only shrink the feasible set.
	res.LowerBound = pr.lowerBound(opt.Norm, sol.Y)
	res.Gap = (res.Objective - res.LowerBound) / max(math.Abs(res.Objective), 1e-12)
	if pr.free != nil {
		full := make([]float64, pr.full)
		for t, f := range pr.free {
			full[f] = res.Delta[t]
		}
		res.Delta = full
	}
	res.Net = pr.apply(res.Delta)
	res.Violated, res.PatternMoved = pr.check(res.Net, inputs)
	res.Seconds = time.Since(t0).Seconds()
	return res, nil
}

// initialRows keeps every soft row and, of each input's hard rows, the least satisfied by the original.
func initialRows(all []linRow) []linRow {
	var out []linRow
	best := map[int]int{} // input -> index in out of its kept hard row
	for _, r := range all {
		if r.weight > 0 {
			out = append(out, r)
			continue
		}
		if k, ok := best[r.input]; ok {
			if r.rhs > out[k].rhs {
				out[k] = r
			}
			continue
		}
		best[r.input] = len(out)
		out = append(out, r)
	}
	return out
}

// violatedRows returns the hard rows of all, not among kept, of every input that the change makes
// violate one of them (by the linear model, beyond 1e-9 of the row's scale): such an input's rows are
// added together, which saves rounds.
func violatedRows(all, kept []linRow, delta []float64) []linRow {
	in := map[*float64]bool{}
	for _, r := range kept {
		if len(r.coef) > 0 {
			in[&r.coef[0]] = true
		}
	}
	bad := map[int]bool{}
	for _, r := range all {
		if r.weight > 0 || len(r.coef) == 0 || in[&r.coef[0]] || bad[r.input] {
			continue
		}
		v, scale := 0.0, math.Abs(r.rhs)
		for i, c := range r.coef {
			v += c * delta[i]
			scale = max(scale, math.Abs(c*delta[i]))
		}
		if v < r.rhs-1e-9*max(scale, 1e-3) {
			bad[r.input] = true
		}
	}
	var out []linRow
	for _, r := range all {
		if bad[r.input] && r.weight == 0 && len(r.coef) > 0 && !in[&r.coef[0]] {
			out = append(out, r)
		}
	}
	return out
}

// build checks the layer and the inputs and computes each input's layer input, outputs and Jacobian.
func build(net *nn.Network, inputs []Input, opt Options) (*program, error) {
	if err := net.Validate(); err != nil {
		return nil, err
	}
	k := opt.Layer
	if k < 0 {
		k = len(net.Layers) - 1
	}
	if k >= len(net.Layers) {
		return nil, fmt.Errorf("layer %d: the network has %d layers (0-%d)", opt.Layer, len(net.Layers), len(net.Layers)-1)
	}
	for j := k; j < len(net.Layers); j++ {
		if net.Layers[j].Kind != nn.Dense {
			return nil, fmt.Errorf("layer %d: minimal change needs dense layers from the changed one on; layer %d is not dense", k, j)
		}
	}
	last := &net.Layers[len(net.Layers)-1]
	if last.Act.Name != "identity" && k == len(net.Layers)-1 {
		return nil, fmt.Errorf("layer %d: the output layer's activation is %s; the outputs must be affine in the change (a linear output layer)", k, last.Act.Name)
	}
	if len(inputs) == 0 {
		return nil, errors.New("minimal change: no inputs")
	}
	l := &net.Layers[k]
	pr := &program{net: net, layer: k, in: l.In, out: l.Out, nd: l.In * l.Out, limit: opt.Limit}
	if opt.Bias {
		pr.nd += l.Out
	}
	pr.full = pr.nd
	if !(opt.Limit >= 0) || math.IsInf(opt.Limit, 0) {
		return nil, fmt.Errorf("limit %v: want a finite number >= 0 (0: none)", opt.Limit)
	}
	if opt.Free != nil {
		if len(opt.Free) == 0 {
			return nil, errors.New("minimal change: Free lists no entry")
		}
		seen := map[int]bool{}
		for _, f := range opt.Free {
			if f < 0 || f >= pr.full || seen[f] {
				return nil, fmt.Errorf("free entry %d: want distinct indices 0 to %d", f, pr.full-1)
			}
			seen[f] = true
		}
		pr.free = append([]int(nil), opt.Free...)
		pr.nd = len(pr.free)
	}
	d, m := net.Inputs(), net.Outputs()
	for i, inp := range inputs {
		if len(inp.X) != d {
			return nil, fmt.Errorf("input %d has %d values, the network takes %d", i, len(inp.X), d)
		}
		if !(inp.Weight >= 0) || math.IsInf(inp.Weight, 0) {
			return nil, fmt.Errorf("input %d: weight %v, want 0 (hard) or a finite positive number", i, inp.Weight)
		}
		for r, row := range inp.UnitRows {
			if len(row.Coef) != l.Out {
				return nil, fmt.Errorf("input %d, unit row %d: %d coefficients, layer %d has %d units", i, r, len(row.Coef), k, l.Out)
			}
			if math.IsNaN(row.Bound) || math.IsInf(row.Bound, 0) {
				return nil, fmt.Errorf("input %d, unit row %d: bound %v", i, r, row.Bound)
			}
		}
		for r, row := range inp.Rows {
			if len(row.Coef) != m {
				return nil, fmt.Errorf("input %d, row %d: %d coefficients, the network has %d outputs", i, r, len(row.Coef), m)
			}
			if math.IsNaN(row.Bound) || math.IsInf(row.Bound, 0) {
				return nil, fmt.Errorf("input %d, row %d: bound %v", i, r, row.Bound)
			}
		}
	}
	for i, inp := range inputs {
		acts := net.Trace(inp.X)
		h := inp.X
		if k > 0 {
			h = acts[k-1]
		}
		y0 := acts[len(acts)-1]
		jac := pr.jacobian(h)
		pr.acts = append(pr.acts, acts)
		pr.h, pr.y0, pr.jac = append(pr.h, h), append(pr.y0, y0), append(pr.jac, jac)
		// add appends the row Σ_j g_j (Σ_l Δ_jl h_l + Δb_j) >= rhs.
		add := func(g []float64, rhs float64) {
			coef := make([]float64, pr.full)
			for j, gj := range g {
				if gj == 0 {
					continue
				}
				for q, hv := range h {
					coef[j*pr.in+q] = gj * hv
				}
				if opt.Bias {
					coef[pr.in*pr.out+j] = gj
				}
			}
			if pr.free != nil {
				c := make([]float64, pr.nd)
				for t, f := range pr.free {
					c[t] = coef[f]
				}
				coef = c
			}
			pr.rows = append(pr.rows, linRow{input: i, coef: coef, rhs: rhs, weight: inp.Weight})
		}
		for _, row := range inp.Rows {
			// g = coef·J over the layer's units; the row is g·Δz >= bound - coef·y0.
			g := make([]float64, pr.out)
			for o, c := range row.Coef {
				if c == 0 {
					continue
				}
				for j := 0; j < pr.out; j++ {
					g[j] += c * jac[o*pr.out+j]
				}
			}
			rhs := row.Bound
			for o, c := range row.Coef {
				rhs -= c * y0[o]
			}
			add(g, rhs)
		}
		if len(inp.UnitRows) > 0 {
			z0 := preActivation(l, h)
			for _, row := range inp.UnitRows {
				rhs := row.Bound
				for j, c := range row.Coef {
					rhs -= c * z0[j]
				}
				add(row.Coef, rhs)
			}
		}
	}
	return pr, nil
}

// preActivation returns W h + B of a dense layer.
func preActivation(l *nn.Layer, h []float64) []float64 {
	z := make([]float64, l.Out)
	for j := range z {
		v := l.B[j]
		for q, hv := range h {
			v += l.W[j*l.In+q] * hv
		}
		z[j] = v
	}
	return z
}

// jacobian returns dy/dz for the layer's pre-activations z at layer input h, row-major (outputs x
// units), with every later activation's derivative taken at the original network's values.
func (pr *program) jacobian(h []float64) []float64 {
	net, k := pr.net, pr.layer
	l := &net.Layers[k]
	z := make([]float64, l.Out)
	for j := 0; j < l.Out; j++ {
		v := l.B[j]
		for q, hv := range h {
			v += l.W[j*l.In+q] * hv
		}
		z[j] = v
	}
	// J starts as diag(act'(z)) (units x units), then each later layer multiplies it on the left.
	n := l.Out
	jac := make([]float64, n*n)
	for j := 0; j < n; j++ {
		jac[j*n+j] = deriv(l.Act, z[j])
	}
	a := make([]float64, n)
	for j := range a {
		a[j] = l.Act.Value(z[j])
	}
	for t := k + 1; t < len(net.Layers); t++ {
		lt := &net.Layers[t]
		zt := make([]float64, lt.Out)
		next := make([]float64, lt.Out*n)
		for o := 0; o < lt.Out; o++ {
			v := lt.B[o]
			for q := 0; q < lt.In; q++ {
				v += lt.W[o*lt.In+q] * a[q]
			}
			zt[o] = v
			dv := deriv(lt.Act, v)
			if dv == 0 {
				continue
			}
			row := next[o*n : (o+1)*n]
			for q := 0; q < lt.In; q++ {
				w := lt.W[o*lt.In+q]
				if w == 0 {
					continue
				}
				src := jac[q*n : (q+1)*n]
				for j := range row {
					row[j] += w * src[j]
				}
			}
			for j := range row {
				row[j] *= dv
			}
		}
		a = make([]float64, lt.Out)
		for o := range a {
			a[o] = lt.Act.Value(zt[o])
		}
		jac = next
	}
	return jac
}

// deriv is the activation's derivative, ReLU's at 0 taken as 0 (the neuron counts as off).
func deriv(act activation.Activation, z float64) float64 {
	if act.Name == "relu" && z <= 0 {
		return 0
	}
	return act.Deriv(z)
}

// lp writes the program: the variables, and functions that read the change and a row's slack variable
// (-1 for a hard row) from a solution.
func (pr *program) lp(norm Norm) (*lp.Problem, func(x []float64, i int) float64, func(k int) int) {
	nd := pr.nd
	p := &lp.Problem{}
	var dvar func(x []float64, i int) float64
	var base int
	switch norm {
	case LInf:
		// δ (free), t >= 0; rows t - δ_i >= 0 and t + δ_i >= 0.
		base = nd + 1
		p.C = make([]float64, base)
		p.C[nd] = 1
		p.Lo, p.Hi = make([]float64, base), make([]float64, base)
		for i := 0; i < nd; i++ {
			p.Lo[i], p.Hi[i] = math.Inf(-1), math.Inf(1)
			if pr.limit > 0 {
				p.Lo[i], p.Hi[i] = -pr.limit, pr.limit
			}
		}
		p.Hi[nd] = math.Inf(1)
		for i := 0; i < nd; i++ {
			p.Rows = append(p.Rows, lp.Row{Idx: []int{nd, i}, Val: []float64{1, -1}}, lp.Row{Idx: []int{nd, i}, Val: []float64{1, 1}})
		}
		dvar = func(x []float64, i int) float64 { return x[i] }
	case L1:
		// δ = p - q with p, q >= 0.
		base = 2 * nd
		p.C = make([]float64, base)
		p.Lo, p.Hi = make([]float64, base), make([]float64, base)
		for i := range p.C {
			p.C[i] = 1
			p.Hi[i] = math.Inf(1)
			if pr.limit > 0 {
				p.Hi[i] = pr.limit // one of p, q is 0 at an optimum: |δ| <= limit
			}
		}
		dvar = func(x []float64, i int) float64 { return x[i] - x[nd+i] }
	}
	slack := make([]int, len(pr.rows))
	for k, r := range pr.rows {
		row := lp.Row{Lo: r.rhs}
		for i, c := range r.coef {
			if c == 0 {
				continue
			}
			row.Idx, row.Val = append(row.Idx, i), append(row.Val, c)
			if norm == L1 {
				row.Idx, row.Val = append(row.Idx, nd+i), append(row.Val, -c)
			}
		}
		slack[k] = -1
		if r.weight > 0 {
			slack[k] = len(p.C)
			p.C = append(p.C, r.weight)
			p.Lo, p.Hi = append(p.Lo, 0), append(p.Hi, math.Inf(1))
			row.Idx, row.Val = append(row.Idx, slack[k]), append(row.Val, 1)
		}
		p.Rows = append(p.Rows, row)
	}
	return p, dvar, func(k int) int { return slack[k] }
}

// lowerBound returns the weak-duality bound at the multipliers y of the solver's rows (the Linf box
// rows come first and are skipped: they are the norm's own).
func (pr *program) lowerBound(norm Norm, y []float64) float64 {
	off := 0
	if norm == LInf {
		off = 2 * pr.nd
	}
	u := make([]float64, pr.nd)
	rl, scale := 0.0, 1.0
	for k, r := range pr.rows {
		lam := max(y[off+k], 0)
		if r.weight > 0 && lam > r.weight {
			scale = max(scale, lam/r.weight)
		}
		rl += lam * r.rhs
		for i, c := range r.coef {
			u[i] += lam * c
		}
	}
	dual := 0.0 // ||u||_q: L1 for an L-infinity objective, L-infinity for an L1 one
	for _, v := range u {
		if norm == LInf {
			dual += math.Abs(v)
		} else {
			dual = max(dual, math.Abs(v))
		}
	}
	scale = max(scale, dual)
	b := rl / scale
	// A margin for the rounding of the sums above: 1e-12 of the largest term.
	return b - 1e-12*math.Abs(b) - 1e-15
}

// apply returns a copy of the network with the change added to the layer.
func (pr *program) apply(delta []float64) *nn.Network {
	out := pr.net.Clone()
	l := &out.Layers[pr.layer]
	for i := 0; i < pr.in*pr.out; i++ {
		l.W[i] += delta[i]
	}
	if len(delta) > pr.in*pr.out {
		for j := 0; j < pr.out; j++ {
			l.B[j] += delta[pr.in*pr.out+j]
		}
	}
	return out
}

// check counts the hard rows the changed network violates and the inputs whose activation pattern from
// the layer on moved.
func (pr *program) check(net *nn.Network, inputs []Input) (violated, moved int) {
	for i, inp := range inputs {
		acts := net.Trace(inp.X)
		orig := pr.acts[i]
		y := acts[len(acts)-1]
		if inp.Weight == 0 {
			broken := func(row Row, y []float64) bool {
				v, scale := -row.Bound, math.Abs(row.Bound)
				for o, c := range row.Coef {
					v += c * y[o]
					scale = max(scale, math.Abs(c*y[o]))
				}
				return v < -1e-7*max(scale, 1)
			}
			for _, row := range inp.Rows {
				if broken(row, y) {
					violated++
				}
			}
			if len(inp.UnitRows) > 0 {
				h := inp.X
				if pr.layer > 0 {
					h = acts[pr.layer-1]
				}
				z := preActivation(&net.Layers[pr.layer], h)
				for _, row := range inp.UnitRows {
					if broken(row, z) {
						violated++
					}
				}
			}
		}
		for t := pr.layer; t < len(net.Layers)-1; t++ {
			if net.Layers[t].Act.Name != "relu" {
				continue
			}
			same := true
			for j := range acts[t] {
				if (acts[t][j] > 0) != (orig[t][j] > 0) {
					same = false
					break
				}
			}
			if !same {
				moved++
				break
			}
		}
	}
	return violated, moved
}

// diagnose explains a solve that did not converge: it measures the least total violation of the hard
// rows by any change within the box limit; a positive one means the program is infeasible.
func (pr *program) diagnose(ctx context.Context, opt Options, sol *lp.Solution) error {
	limit := opt.BoxLimit
	if limit <= 0 {
		limit = 1e4
	}
	if pr.limit > 0 {
		limit = min(limit, pr.limit)
	}
	nd := pr.nd
	p := &lp.Problem{C: make([]float64, nd), Lo: make([]float64, nd), Hi: make([]float64, nd)}
	for i := 0; i < nd; i++ {
		p.Lo[i], p.Hi[i] = -limit, limit
	}
	for _, r := range pr.rows {
		if r.weight > 0 {
			continue
		}
		row := lp.Row{Lo: r.rhs}
		for i, c := range r.coef {
			if c != 0 {
				row.Idx, row.Val = append(row.Idx, i), append(row.Val, c)
			}
		}
		s := len(p.C)
		p.C = append(p.C, 1)
		p.Lo, p.Hi = append(p.Lo, 0), append(p.Hi, math.Inf(1))
		row.Idx, row.Val = append(row.Idx, s), append(row.Val, 1)
		p.Rows = append(p.Rows, row)
	}
	el, err := lp.Solve(ctx, p, opt.LP)
	if err != nil {
		return err
	}
	if el.Status == lp.Optimal && el.Primal > 1e-7 {
		return &InfeasibleError{Layer: pr.layer, LeastSlack: el.Primal, Bound: elasticBound(p, el.Y, nd, limit), BoxLimit: limit}
	}
	// Not converged: the multipliers may still prove the program infeasible.
	if lb := elasticBound(p, el.Y, nd, limit); lb > 1e-7 {
		return &InfeasibleError{Layer: pr.layer, LeastSlack: el.Primal, Bound: lb, BoxLimit: limit}
	}
	return fmt.Errorf("layer %d: the linear program did not converge in %d iterations (primal residual %.2g, dual %.2g, gap %.2g)",
		pr.layer, sol.Iterations, sol.PrimalResidual, sol.DualResidual, sol.Gap)
}

// Localize returns the k entries of the chosen layer's change vector (as Options.Free takes them) that
// hold the inputs' violated rows down the most: for a row Σ_e a_e Δ_e >= r violated by the network
// (r > 0), entry e (weight w_e, or bias) scores max(0, -w_e a_e), the part of the row's current value it
// pushes the wrong way (exact for the output layer, first order for a hidden one); scores add over the
// violated rows of every input. NNrepair localizes by each weight's contribution to the failing inputs;
// this is that rule written for any row. opt.Free must be nil; ties keep the lower index.
func Localize(net *nn.Network, inputs []Input, opt Options, k int) ([]int, error) {
	if opt.Free != nil {
		return nil, errors.New("localize: Free is the answer, not an option")
	}
	if k <= 0 {
		return nil, fmt.Errorf("localize: k = %d, want >= 1", k)
	}
	pr, err := build(net, inputs, opt)
	if err != nil {
		return nil, err
	}
	l := &net.Layers[pr.layer]
	score := make([]float64, pr.full)
	for _, r := range pr.rows {
		if !(r.rhs > 0) {
			continue
		}
		for e, a := range r.coef {
			if a == 0 {
				continue
			}
			var w float64
			if e < pr.in*pr.out {
				w = l.W[e]
			} else {
				w = l.B[e-pr.in*pr.out]
			}
			score[e] += max(0, -w*a)
		}
	}
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(score[b], score[a]) })
	return idx[:min(k, len(idx))], nil
}
