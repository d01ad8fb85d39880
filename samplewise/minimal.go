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
	opt := minimal.Options{Layer: cc.Layer, Norm: minimal.L1, Limit: cc.Limit}
	free, err := minimal.Localize(p.Net, fail, opt, cc.Weights)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("paradigm constraint: %w", err)
	}
	opt.Free = free
	inputs := fail
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
		inputs = append(inputs, minimal.Input{X: x, Rows: minimal.DecisionRows(m, winner, p.Classifier, 0)})
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
