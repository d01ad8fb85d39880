package domain

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/verify"
)

// The local patch (paradigm patch): repair only where the property speaks.
//
// Each box of the property gets a constant output offset, switched on by a box indicator that is 1 on the
// box and 0 from a thin band outside it on (nn.Patch): the patched network is the original wherever no
// indicator is on, so the decision can change only on the boxes and their bands, a sliver of the domain.
// The offset of a box undoes each of its unsafe conjunctions along one direction of the outputs (fixes,
// choose): either one that gives every constraint of the conjunction slack (for a bound on outputs,
// property 1's COC score at most 1500, all outputs move down together, which keeps every decision; where
// one output is on the same side of every constraint, properties 3, 4, 7, 8, "i is not the least
// score", that output moves alone), or one output's move that gives one constraint slack and takes none
// from the others, since a conjunction is broken once any of its constraints is (property 2, "COC is not
// the largest": raise another advisory). Of these, the one whose move changes the decision on the fewest
// safe samples of the box is taken. How far is the conjunction's deficit on its box, bounded from below
// by samples and from above by branch and bound on CROWN's bounds, as for the output offset (Offset),
// and grown by the verifier's counterexamples; the verifier checks the patched network, and
// only its certificate ends the repair. Fu and Li's REASSURE (ICLR 2022) repairs with patch networks of
// this kind, local to linear regions; here they are local to the property's boxes.

// fixes reads p's unsafe conjunctions, each as the exclusions of the output directions that undo it (see
// the comment above): first the one of direction, which raises every constraint's slack, then each move
// of one output that raises some constraint's slack and lowers none (the others are neutral terms: a
// conjunction is broken once any constraint is). It says which conjunction no direction undoes.
func fixes(p *property.Property, outputs int) ([][]exclusion, error) {
	var all [][]exclusion
	for ci, c := range p.Cases {
		for k, conj := range c.Unsafe {
			if len(conj) == 0 {
				return nil, fmt.Errorf("case %d, conjunction %d: no constraints", ci+1, k+1)
			}
			for _, con := range conj {
				if len(con.Coef) != outputs {
					return nil, fmt.Errorf("case %d, conjunction %d: a constraint has %d coefficients, the network %d outputs", ci+1, k+1, len(con.Coef), outputs)
				}
			}
			var dirs [][]float64
			if dir := direction(conj, outputs); dir != nil {
				dirs = append(dirs, dir)
			}
			for o := range outputs {
				for _, side := range []float64{1, -1} {
					dir := make([]float64, outputs)
					dir[o] = side
					raised, lowered := false, false
					for _, con := range conj {
						a := con.Coef[o] * side
						raised, lowered = raised || a > 0, lowered || a < 0
					}
					if raised && !lowered && !slices.ContainsFunc(dirs, func(d []float64) bool { return slices.Equal(d, dir) }) {
						dirs = append(dirs, dir)
					}
				}
			}
			if len(dirs) == 0 {
				return nil, fmt.Errorf("case %d, conjunction %d: no move of the outputs raises a constraint's slack without lowering another's", ci+1, k+1)
			}
			var cands []exclusion
			for _, dir := range dirs {
				e := exclusion{box: c.Box, out: -1, dir: dir}
				for _, con := range conj {
					a := 0.0
					for o, v := range con.Coef {
						a += v * dir[o]
					}
					if a == 0 {
						e.terms = append(e.terms, excludedTerm{coef: con.Coef, t: con.Bound, neutral: true})
						continue
					}
					coef := make([]float64, outputs)
					for o, v := range con.Coef {
						coef[o] = v / a
					}
					e.terms = append(e.terms, excludedTerm{coef: coef, t: con.Bound / a})
				}
				cands = append(cands, e)
			}
			all = append(all, cands)
		}
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("no unsafe conjunctions")
	}
	return all, nil
}

// choose picks, for each conjunction, the direction whose move (what samples of its box show necessary,
// plus margin) changes the decision (decide) on the fewest of the box's samples that are safe: 5,000 a
// box and the counterexamples cx. Ties go to the earlier direction (the one that raises every constraint,
// when there is one).
func choose(net *nn.Network, p *property.Property, cands [][]exclusion, cx []float64, margin float64, decide func([]float64) int, seed uint64) []exclusion {
	d, m := net.Inputs(), net.Outputs()
	rng := rand.New(rand.NewPCG(seed, 9))
	out := make([]exclusion, len(cands))
	for k, cs := range cands {
		out[k] = cs[0]
		if len(cs) == 1 {
			continue
		}
		x := append(cs[0].box.Sample(rng, 5000), cx...)
		y := net.Forward(x)
		best := -1
		for _, e := range cs {
			need := 0.0
			for r := range len(x) / d {
				if e.box.Contains(x[r*d : (r+1)*d]) {
					need = math.Max(need, -e.slack(y[r*m:(r+1)*m]))
				}
			}
			if math.IsInf(need, 0) || math.IsNaN(need) {
				continue
			}
			changed := 0
			if need > 0 {
				z := make([]float64, m)
				for r := range len(x) / d {
					xr, yr := x[r*d:(r+1)*d], y[r*m:(r+1)*m]
					if !e.box.Contains(xr) || p.Unsafe(xr, yr) {
						continue
					}
					for o := range z {
						z[o] = yr[o] + (need+margin)*e.dir[o]
					}
					if decide(z) != decide(yr) {
						changed++
					}
				}
			}
			if best < 0 || changed < best {
				out[k], best = e, changed
			}
		}
	}
	return out
}

// direction is the output move that raises every constraint of conj (coef.dir > 0 for each), by the first
// rule that applies: all outputs together (+1 or -1 each) when every constraint's coefficients sum to the
// same sign; else e_i for an output i with a positive coefficient in every constraint; else -e_i for one
// with a negative coefficient in every constraint. nil when none applies.
func direction(conj property.Conjunction, outputs int) []float64 {
	sign, mixed := 0.0, false
	for _, con := range conj {
		s := 0.0
		for _, v := range con.Coef {
			s += v
		}
		if s == 0 || (sign != 0 && (s > 0) != (sign > 0)) {
			mixed = true
			break
		}
		sign = math.Copysign(1, s)
	}
	if !mixed {
		dir := make([]float64, outputs)
		for o := range dir {
			dir[o] = sign
		}
		return dir
	}
	for _, side := range []float64{1, -1} {
		for i := range outputs {
			all := true
			for _, con := range conj {
				all = all && con.Coef[i]*side > 0
			}
			if all {
				dir := make([]float64, outputs)
				dir[i] = side
				return dir
			}
		}
	}
	return nil
}

// PatchReport says how a local patch went (paradigm patch).
type PatchReport struct {
	// Band is the indicators' band, a fraction of the domain's width per input.
	Band float64 `json:"band"`
	// Boxes are the patched boxes with the output offset on each.
	Boxes []PatchedBox `json:"boxes"`
	// AddedNeurons is how many hidden neurons the indicators added.
	AddedNeurons int `json:"added_neurons"`
	// Untouched is the least share of the domain's volume (percent) on which the patched network computes
	// the original's outputs bit for bit: outside every patched box widened by its band (and a thousandth
	// of it for rounding), where each indicator is an exact 0 (nn.Patch).
	Untouched float64 `json:"untouched"`
	// Directions are the output moves chosen, per unsafe conjunction (in the property's order).
	Directions [][]float64 `json:"directions"`
	// Sampled is the least move that samples showed necessary, Bounded what branch and bound proved
	// enough (when it was needed), Moves the moves certified, per unsafe conjunction (in the property's
	// order).
	Sampled []float64 `json:"sampled"`
	Bounded []float64 `json:"bounded,omitempty"`
	Moves   []float64 `json:"moves,omitempty"`
	// Changed are the patched boxes widened by their bands: where the network may differ from the
	// original.
	Changed []property.Box `json:"-"`
	// Verdict is certified when the verifier proved the patched network safe; Tries counts verifier runs.
	Verdict         string  `json:"verdict"`
	Tries           int     `json:"tries"`
	VerifierSeconds float64 `json:"verifier_seconds"`
	Seconds         float64 `json:"seconds"`
}

// PatchedBox is one box of a patch and the output offset applied on it.
type PatchedBox struct {
	Lo     []float64 `json:"lo"`
	Hi     []float64 `json:"hi"`
	Offset []float64 `json:"offset"`
}

// Patch repairs net on p's boxes with a local patch (see the comment above): band is the indicators'
// band as a fraction of domain's width per input, budget the time it may take, decide the network's
// decision (nn.Argmin, nn.Argmax). The moves start from what samples show necessary and grow by what each
// counterexample of the patched network lacks, until the verifier certifies the patched network (for a
// third of the budget); failing that, the moves that branch and bound on the deficits proves enough (a
// quarter of the rest) are tried, then those of the unsplit boxes (which the verifier proves at its
// first box). It returns the patched network, the original in the same shape (every offset 0: it
// computes what net does, for differential verification against the patched one), and a report; both
// networks are nil when the verifier certified no patch. An error says that p or net is not of the form
// a patch needs.
func Patch(ctx context.Context, net *nn.Network, p *property.Property, domain property.Box, band float64, budget time.Duration, decide func([]float64) int, seed uint64) (patched, twin *nn.Network, rep *PatchReport, err error) {
	start := time.Now()
	m := net.Outputs()
	cands, err := fixes(p, m)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("patch: %w", err)
	}
	if !(band > 0) {
		return nil, nil, nil, fmt.Errorf("patch: band %g: want a positive fraction of the domain's width", band)
	}
	widths := make([]float64, net.Inputs())
	for i := range widths {
		widths[i] = band * (domain.Hi[i] - domain.Lo[i])
	}
	if _, err := nn.Patch(net, nil, widths); err != nil {
		return nil, nil, nil, err // the network's form, before any time is spent
	}
	rep = &PatchReport{Band: band, Verdict: string(verify.Unknown)}
	pad := 1e-6
	for _, b := range net.Layers[len(net.Layers)-1].B {
		pad = math.Max(pad, 1e-6*math.Abs(b))
	}
	first := make([]exclusion, len(cands))
	for k, cs := range cands {
		first[k] = cs[0]
	}
	cx := search(net, p, seed)
	// Every candidate of a conjunction shares its box, so one set of samples serves them all.
	xs, ys, rms := boxSamples(net, first, cx, seed)
	// Each move overshoots what it is known to need by a fiftieth of the outputs' RMS: a patch that just
	// suffices is slow to prove, and overshooting costs decisions only on the box.
	margin := math.Max(0.02*rms, pad)
	ex := choose(net, p, cands, cx, margin, decide, seed)
	for _, e := range ex {
		rep.Directions = append(rep.Directions, e.dir)
	}
	d := net.Inputs()
	need := deficits(ex, xs, ys, d, m)
	rep.Sampled = need
	move := make([]float64, len(ex))
	for i, v := range need {
		if v > 0 {
			move[i] = v + margin
		}
	}
	// try verifies the patch of moves within t: certified, violated (with counterexamples) or unknown.
	try := func(moves []float64, t time.Duration, collect int) (*nn.Network, []nn.BoxPatch, verify.Result, error) {
		patches := patchesOf(ex, moves, m)
		cand, err := nn.Patch(net, patches, widths)
		if err != nil {
			return nil, nil, verify.Result{}, err
		}
		rep.Tries++
		t = max(t, time.Second)
		v := verify.Verify(ctx, cand, p, verify.Options{Timeout: t, BreadthFirst: true, Collect: collect, CollectFor: t / 10})
		rep.VerifierSeconds += v.Seconds
		return cand, patches, v, nil
	}
	done := func(cand *nn.Network, patches []nn.BoxPatch, moves []float64) (*nn.Network, *nn.Network, *PatchReport, error) {
		zero := make([]nn.BoxPatch, len(patches))
		for i, pt := range patches {
			zero[i] = nn.BoxPatch{Box: pt.Box, Offset: make([]float64, m)}
			rep.Boxes = append(rep.Boxes, PatchedBox{Lo: pt.Box.Lo, Hi: pt.Box.Hi, Offset: pt.Offset})
		}
		twin, err := nn.Patch(net, zero, widths)
		if err != nil {
			return nil, nil, nil, err
		}
		rep.Verdict = string(verify.Certified)
		rep.Moves = moves
		rep.AddedNeurons = cand.Hidden() - net.Hidden()
		rep.Changed = widened(patches, widths)
		rep.Untouched = 100 * untouched(rep.Changed, domain)
		rep.Seconds = time.Since(start).Seconds()
		return cand, twin, rep, nil
	}
	// Counterexample-driven, for a third of the budget: each violation raises the moves of the exclusions it
	// breaks by what they lack there, and the margin (or a twentieth) more.
	third, end := start.Add(budget/3), start.Add(budget)
	for round := 0; round < 16 && time.Until(third) > 0 && ctx.Err() == nil; round++ {
		cand, patches, v, err := try(move, time.Until(third), 32)
		if err != nil {
			return nil, nil, nil, err
		}
		if v.Verdict == verify.Certified {
			return done(cand, patches, move)
		}
		if v.Verdict != verify.Violated {
			break
		}
		xs := v.Counterexample.Input
		if v.More != nil {
			xs = v.More
		}
		ys := cand.Forward(xs)
		lack := make([]float64, len(ex)) // per exclusion, the most any counterexample lacks
		grew := false
		for r := 0; r+d <= len(xs); r += d {
			x, y := xs[r:r+d], ys[r/d*m:(r/d+1)*m]
			for i, e := range ex {
				if s := e.slack(y); e.box.Contains(x) && s <= 0 {
					lack[i], grew = math.Max(lack[i], -s), true
				}
			}
		}
		if !grew {
			break // a counterexample no exclusion owns: not one the moves can mend
		}
		for i, l := range lack {
			if l > 0 {
				move[i] += l + math.Max(0.05*move[i], margin)
			}
		}
	}
	if ctx.Err() != nil {
		rep.Seconds = time.Since(start).Seconds()
		return nil, nil, rep, nil
	}
	// The bounds: branch and bound on the deficits for a quarter of the time left; then the verifier on the
	// moves a quarter of the way to what the bounds prove enough (a patch that overshoots less), on
	// those, and on the unsplit boxes' bounds.
	hi, root := deficit(ctx, net, ex, need, time.Now().Add(time.Until(end)/4))
	rep.Bounded = hi
	toward := func(bound []float64, f float64) []float64 {
		moves := make([]float64, len(ex))
		for i := range moves {
			if bound[i] >= 0 || move[i] > 0 {
				moves[i] = move[i] + f*math.Max(bound[i]-move[i], 0) + pad
			}
		}
		return moves
	}
	tries := [][]float64{toward(hi, 0.25), toward(hi, 1)}
	if !slices.Equal(root, hi) {
		tries = append(tries, toward(root, 1))
	}
	for k, moves := range tries {
		cand, patches, v, err := try(moves, max(time.Until(end)/time.Duration(len(tries)-k), budget/10), 0)
		if err != nil {
			return nil, nil, nil, err
		}
		if v.Verdict == verify.Certified {
			return done(cand, patches, moves)
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	return nil, nil, rep, nil
}

// untouched is the least share of domain outside every one of the widened boxes.
func untouched(widened []property.Box, domain property.Box) float64 {
	touched := 0.0
	for _, b := range widened {
		touched += b.Share(domain)
	}
	return math.Max(0, 1-touched)
}

// widened is each patch's box widened by its band, w (per input), and a thousandth of it (room for
// rounding, and for the indicators to be provably off beyond): where the patched network may differ
// from the original.
func widened(patches []nn.BoxPatch, w []float64) []property.Box {
	var out []property.Box
	for _, pt := range patches {
		b := property.Box{Lo: slices.Clone(pt.Box.Lo), Hi: slices.Clone(pt.Box.Hi)}
		for i := range b.Lo {
			b.Lo[i] -= w[i] * (1 + 1e-3)
			b.Hi[i] += w[i] * (1 + 1e-3)
		}
		out = append(out, b)
	}
	return out
}

// patchesOf turns the exclusions' moves into one patch per box that needs one: on each box, for each
// distinct direction, the largest move of the box's exclusions along it; a box whose moves are all 0
// gets none.
func patchesOf(ex []exclusion, moves []float64, m int) []nn.BoxPatch {
	var patches []nn.BoxPatch
	var dirs [][][]float64 // per patch, its directions
	var amount [][]float64 // per patch and direction, the move
	for i, e := range ex {
		if !(moves[i] > 0) {
			continue
		}
		p := slices.IndexFunc(patches, func(pt nn.BoxPatch) bool {
			return slices.Equal(pt.Box.Lo, e.box.Lo) && slices.Equal(pt.Box.Hi, e.box.Hi)
		})
		if p < 0 {
			patches = append(patches, nn.BoxPatch{Box: e.box, Offset: make([]float64, m)})
			dirs, amount = append(dirs, nil), append(amount, nil)
			p = len(patches) - 1
		}
		q := slices.IndexFunc(dirs[p], func(d []float64) bool { return slices.Equal(d, e.dir) })
		if q < 0 {
			dirs[p], amount[p] = append(dirs[p], e.dir), append(amount[p], 0)
			q = len(dirs[p]) - 1
		}
		amount[p][q] = math.Max(amount[p][q], moves[i])
	}
	for p := range patches {
		for q, d := range dirs[p] {
			for o := range m {
				patches[p].Offset[o] += amount[p][q] * d[o]
			}
		}
	}
	return patches
}
