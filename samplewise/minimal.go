package samplewise

import (
	"context"
	"fmt"
	"time"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/minimal"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
)

// runMinimal repairs p by the least change of one layer (package minimal): every repair negative must
// leave each unsafe conjunction that applies to it by cfg.Minimal.Margin, through the constraint of that
// conjunction the original comes closest to breaking, and up to cfg.Minimal.Keep repair positives keep
// their decision.
func runMinimal(ctx context.Context, cfg *configs.Repair, p *Problem) (*nn.Network, *minimal.Result, error) {
	mc := cfg.Minimal
	norm, err := minimal.ParseNorm(mc.Norm)
	if err != nil {
		return nil, nil, err
	}
	d, m := p.Net.Inputs(), p.Net.Outputs()
	var inputs []minimal.Input
	for i := 0; i+d <= len(p.Neg); i += d {
		x := p.Neg[i : i+d]
		rows := repairRows(p.Prop, x, p.Net.Forward(x), mc.Margin)
		if len(rows) > 0 {
			inputs = append(inputs, minimal.Input{X: x, Rows: rows})
		}
	}
	if len(inputs) == 0 {
		return nil, nil, fmt.Errorf("paradigm minimal: no repair negative lies in a box of the property")
	}
	kept := 0
	for i := 0; i+d <= len(p.Pos) && kept < mc.Keep; i += d {
		x := p.Pos[i : i+d]
		y := p.Net.Forward(x)
		winner := nn.Argmin(y)
		if p.Classifier {
			winner = nn.Argmax(y)
		}
		rows := minimal.DecisionRows(m, winner, p.Classifier, mc.KeepMargin)
		inputs = append(inputs, minimal.Input{X: x, Rows: rows, Weight: mc.KeepWeight})
		kept++
	}
	res, err := minimal.Solve(ctx, p.Net, inputs, minimal.Options{Layer: mc.Layer, Norm: norm, Bias: mc.Bias, Lazy: kept > 0})
	if err != nil {
		return nil, nil, fmt.Errorf("paradigm minimal: %w", err)
	}
	return res.Net, res, nil
}

// repairRows turns the property's unsafe region at x into rows that leave it: for every conjunction of
// every case whose box holds x, the constraint Coef·y <= Bound that y comes closest to breaking must
// break by margin (Coef·y >= Bound + margin).
func repairRows(prop *property.Property, x, y []float64, margin float64) []minimal.Row {
	var rows []minimal.Row
	for _, ci := range prop.CasesOf(x) {
		for _, conj := range prop.Cases[ci].Unsafe {
			best, bv := -1, 0.0
			for k, c := range conj {
				if v := c.Value(y); best < 0 || v > bv {
					best, bv = k, v
				}
			}
			if best >= 0 {
				c := conj[best]
				rows = append(rows, minimal.Row{Coef: append([]float64(nil), c.Coef...), Bound: c.Bound + margin})
			}
		}
	}
	return rows
}

// runConstraint repairs p as NNrepair does, by the LP relaxation of its MaxSMT problem (package minimal):
// the cfg.Constraint.Weights entries of the layer that hold the negatives' violated rows down the most
// (minimal.Localize) may change, each within Limit; every negative's rows are soft, priced FailWeight a
// unit, and the first Passing positives of each decision class keep their decision (hard rows); the
// program minimizes the total violation plus the L1 change.
//
// At a hidden layer with constraint.oracle pattern (or auto) a negative's rows are NNrepair's inferred
// specification instead (patternOracle), and each passing positive also keeps the sign of every unit the
// localized entries reach, so the program's linear model holds for it.
//
// With constraint.solver exact it solves the MaxSMT problem itself (minimal.MaxSatisfied) and also returns
// what that search proved.
func runConstraint(ctx context.Context, cfg *configs.Repair, p *Problem) (*nn.Network, *minimal.Result, *minimal.MaxSatResult, error) {
	cc := cfg.Constraint
	d, m := p.Net.Inputs(), p.Net.Outputs()
	var fail []minimal.Input
	for i := 0; i+d <= len(p.Neg); i += d {
		x := p.Neg[i : i+d]
		if rows := repairRows(p.Prop, x, p.Net.Forward(x), cc.Margin); len(rows) > 0 {
			fail = append(fail, minimal.Input{X: x, Rows: rows, Weight: cc.FailWeight})
		}
	}
	if len(fail) == 0 {
		return nil, nil, nil, fmt.Errorf("paradigm constraint: no repair negative lies in a box of the property")
	}
	var err error
	// The first Passing positives of each decision class keep it (hard).
	var passX []float64
	var passC []int
	perClass := map[int]int{}
	for i := 0; i+d <= len(p.Pos); i += d {
		x := p.Pos[i : i+d]
		y := p.Net.Forward(x)
		winner := nn.Argmin(y)
		if p.Classifier {
			winner = nn.Argmax(y)
		}
		if perClass[winner] >= cc.Passing {
			continue
		}
		perClass[winner]++
		passX, passC = append(passX, x...), append(passC, winner)
	}
	k := cc.Layer
	if k < 0 {
		k = len(p.Net.Layers) - 1
	}
	pattern := cc.Oracle == "pattern" || cc.Oracle == "auto" && k < len(p.Net.Layers)-1
	if pattern {
		if k >= len(p.Net.Layers)-1 || p.Net.Layers[k].Kind != nn.Dense || p.Net.Layers[k].Act.Name != "relu" {
			return nil, nil, nil, fmt.Errorf("paradigm constraint: oracle pattern needs a hidden dense ReLU layer; layer %d is not one", cc.Layer)
		}
		if fail, err = patternOracle(p.Net, k, fail, passX, passC, m, cc); err != nil {
			return nil, nil, nil, fmt.Errorf("paradigm constraint: %w", err)
		}
	}
	opt := minimal.Options{Layer: cc.Layer, Norm: minimal.L1, Limit: cc.Limit}
	free, err := minimal.Localize(p.Net, fail, opt, cc.Weights)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("paradigm constraint: %w", err)
	}
	opt.Free = free
	inputs := fail
	var reached []int
	if pattern {
		reached = minimal.ReachedUnits(free, p.Net.Layers[k].In, p.Net.Layers[k].Out)
	}
	for i, c := range passC {
		x := passX[i*d : (i+1)*d]
		in := minimal.Input{X: x, Rows: minimal.DecisionRows(m, c, p.Classifier, 0)}
		if pattern {
			in.UnitRows = minimal.SignRows(minimal.PreActivations(p.Net, k, x), reached)
		}
		inputs = append(inputs, in)
	}
	if cc.Solver == "exact" {
		ms, err := minimal.MaxSatisfied(ctx, p.Net, inputs, opt, minimal.MaxSatOptions{Nodes: cc.Nodes, Timeout: time.Duration(cc.Seconds * float64(time.Second))})
		if err != nil {
			return nil, nil, nil, fmt.Errorf("paradigm constraint (exact): %w", err)
		}
		return ms.Change.Net, ms.Change, ms, nil
	}
	res, err := minimal.Solve(ctx, p.Net, inputs, opt)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("paradigm constraint: %w", err)
	}
	return res.Net, res, nil, nil
}

// patternOracle replaces each failing input's rows by NNrepair's specification at hidden layer k: the
// activation pattern that the passing inputs of its expected class share (minimal.Patterns), its expected
// class being that of its nearest passing input (for a classifier's triggered or adversarial image, its
// clean twin's class as a rule), as soft rows on the layer's pre-activations by cc.Margin.
func patternOracle(net *nn.Network, k int, fail []minimal.Input, passX []float64, passC []int, m int, cc configs.Constraint) ([]minimal.Input, error) {
	if len(passC) == 0 {
		return nil, fmt.Errorf("oracle pattern: no passing input to infer the patterns from (constraint.passing is 0)")
	}
	pats, err := minimal.Patterns(net, k, passX, passC, m)
	if err != nil {
		return nil, err
	}
	d := net.Inputs()
	var out []minimal.Input
	for _, in := range fail {
		best, bd := -1, 0.0
		for i := range passC {
			dist := 0.0
			for q, v := range passX[i*d : (i+1)*d] {
				dist += (v - in.X[q]) * (v - in.X[q])
			}
			if best < 0 || dist < bd {
				best, bd = i, dist
			}
		}
		rows := pats[passC[best]].Rows(cc.Margin)
		if len(rows) == 0 {
			continue // the class's passing inputs share no unit's sign: nothing to ask
		}
		out = append(out, minimal.Input{X: in.X, UnitRows: rows, Weight: in.Weight})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("oracle pattern: the passing inputs of no class share an activation pattern at layer %d", k)
	}
	return out, nil
}
