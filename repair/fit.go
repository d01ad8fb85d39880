package repair

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/birdnn/birdnn/imitate"
	"github.com/birdnn/birdnn/internal/progress"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/train"
	G "gorgonia.org/gorgonia"
)

// fitInput is the data a gradient repair trains on.
type fitInput struct {
	prop     *property.Property
	neg, pos *imitate.Behaviour
	expected *imitate.Behaviour
	// mask, when set, marks the localized neurons: only they move, and negatives imitate the expected
	// behaviour at them (fine-tuning). Without it every weight moves and negatives imitate the expected
	// outputs (retraining).
	mask [][]bool
}

// rowSet holds the training rows and their per-row weights, row-major.
type rowSet struct {
	n, d, m int
	x       []float64
	target  []float64 // m per row: expected output (negatives) or original output (positives)
	sseW    []float64 // weight of the output term
	caseOf  []int     // the property case whose region applies to the row
	violW   []float64 // weight of the violation term
	imit    [][]float64
	imitW   []float64
}

// fit trains net (all weights, or only the masked neurons) on the loss
//
//	alpha * imitation(negatives) + beta * MSE(positives, original) + gamma * violation(all rows, margin)
//
// and returns the repaired network. Each term is a mean over its rows, so the weights mean the same
// whatever the set sizes; every row of every batch contributes (padding rows of a short last batch get
// weight 0).
func fit(net *nn.Network, in fitInput, spec TrainSpec, mask [][]bool, seed uint64, rep *progress.Reporter) (*nn.Network, error) {
	rows := buildRows(net, in, spec)
	batch := min(spec.Batch, rows.n)
	conjs, caseConj := train.Conjunctions(in.prop)
	gr, err := train.NewGraph(net, batch, train.Options{Mask: mask})
	if err != nil {
		return nil, err
	}
	defer gr.Close()
	tn := gr.NewInput("target", batch, rows.m)
	wn := gr.NewInput("sse_w", batch, 1)
	cn := gr.NewInput("viol_w", batch, len(conjs))
	loss, err := gr.WeightedSSE(gr.Out, tn, wn)
	if err != nil {
		return nil, err
	}
	viol, err := gr.ViolationLoss(gr.Out, conjs, cn, spec.Margin)
	if err != nil {
		return nil, err
	}
	if loss, err = G.Add(loss, viol); err != nil {
		return nil, err
	}
	// Hidden imitation terms at the localized neurons (fine-tuning).
	type imitTerm struct {
		layer int
		e, w  *G.Node
		cols  []float64
	}
	var terms []imitTerm
	if rows.imit != nil {
		for k, e := range rows.imit {
			if e == nil {
				continue
			}
			size := net.Layers[k].Out
			cols := make([]float64, size)
			for j, on := range mask[k] {
				if on {
					cols[j] = 1
				}
			}
			en := gr.NewInput(fmt.Sprintf("expected%d", k), batch, size)
			iw := gr.NewInput(fmt.Sprintf("imit_w%d", k), batch, 1)
			masked, err := G.BroadcastHadamardProd(gr.Post[k], gr.Constant(1, size, cols), nil, []byte{0})
			if err != nil {
				return nil, err
			}
			term, err := gr.WeightedSSE(masked, en, iw)
			if err != nil {
				return nil, err
			}
			if loss, err = G.Add(loss, term); err != nil {
				return nil, err
			}
			terms = append(terms, imitTerm{layer: k, e: en, w: iw, cols: cols})
		}
	}
	if err := gr.Compile(loss); err != nil {
		return nil, err
	}
	var opt *train.Optimizer
	if spec.Optimizer == "sgd" {
		opt = train.NewSGD(spec.LearnRate, spec.Momentum)
	} else {
		opt = train.NewAdam(spec.LearnRate)
	}

	rng := rand.New(rand.NewPCG(seed, 4))
	perm := make([]int, rows.n)
	for i := range perm {
		perm[i] = i
	}
	// Batch buffers; a batch's weights are scaled by n/batch so that one epoch's steps add up to the
	// full loss.
	scale := float64(rows.n) / float64(batch)
	bx := make([]float64, batch*rows.d)
	bt := make([]float64, batch*rows.m)
	bw := make([]float64, batch)
	bc := make([]float64, batch*len(conjs))
	be := make(map[int][]float64)
	bi := make(map[int][]float64)
	for _, t := range terms {
		be[t.layer] = make([]float64, batch*net.Layers[t.layer].Out)
		bi[t.layer] = make([]float64, batch)
	}
	ph := rep.Start("repair epochs", spec.Epochs)
	best, bestScore := gr.Network(), math.Inf(1)
	calm := 0
	status := ""
	for epoch := 0; epoch < spec.Epochs; epoch++ {
		rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		for s := 0; s < rows.n; s += batch {
			clear(bw)
			clear(bc)
			for b := 0; b < batch; b++ {
				if s+b >= rows.n {
					clear(bx[b*rows.d : (b+1)*rows.d])
					continue
				}
				r := perm[s+b]
				copy(bx[b*rows.d:(b+1)*rows.d], rows.x[r*rows.d:(r+1)*rows.d])
				copy(bt[b*rows.m:(b+1)*rows.m], rows.target[r*rows.m:(r+1)*rows.m])
				bw[b] = rows.sseW[r] * scale
				for _, k := range caseConj[rows.caseOf[r]] {
					bc[b*len(conjs)+k] = rows.violW[r] * scale
				}
				for _, t := range terms {
					size := net.Layers[t.layer].Out
					copy(be[t.layer][b*size:(b+1)*size], rows.imit[t.layer][r*size:(r+1)*size])
					bi[t.layer][b] = rows.imitW[r] * scale
				}
			}
			for _, f := range []struct {
				n *G.Node
				v []float64
			}{{gr.X, bx}, {tn, bt}, {wn, bw}, {cn, bc}} {
				if err := gr.Feed(f.n, f.v); err != nil {
					return nil, err
				}
			}
			for _, t := range terms {
				if err := gr.Feed(t.e, be[t.layer]); err != nil {
					return nil, err
				}
				if err := gr.Feed(t.w, bi[t.layer]); err != nil {
					return nil, err
				}
			}
			if _, err := gr.Run(); err != nil {
				return nil, err
			}
			if err := opt.Step(gr); err != nil {
				return nil, err
			}
		}
		// Score the epoch with a plain forward pass: unsafe repair rows first, then the loss terms.
		cur := gr.Network()
		unsafe, lossVal := rows.score(cur, in.prop, spec)
		score := float64(unsafe)*1e6 + lossVal
		if score < bestScore-1e-12 {
			best, bestScore, calm = cur, score, 0
		} else {
			calm++
		}
		status = fmt.Sprintf("unsafe %d, loss %.4g", unsafe, lossVal)
		ph.Add(1, status)
		if unsafe == 0 && (calm >= spec.Patience || lossVal < 1e-9) {
			break
		}
	}
	ph.Finish(status)
	return best, nil
}

// buildRows lays out the negatives and positives with their targets and weights.
func buildRows(net *nn.Network, in fitInput, spec TrainSpec) *rowSet {
	neg, pos := in.neg, in.pos
	rs := &rowSet{n: neg.N + pos.N, d: net.Inputs(), m: net.Outputs()}
	rs.x = append(append([]float64(nil), neg.Inputs...), pos.Inputs...)
	nNeg, nPos := float64(max(neg.N, 1)), float64(max(pos.N, 1))
	rs.target = append(append([]float64(nil), in.expected.Outputs()...), pos.Outputs()...)
	rs.sseW = make([]float64, rs.n)
	rs.violW = make([]float64, rs.n)
	rs.caseOf = make([]int, rs.n)
	for r := 0; r < rs.n; r++ {
		if r < neg.N {
			if in.mask == nil {
				rs.sseW[r] = spec.Alpha / nNeg // retraining imitates the expected outputs
			}
			rs.violW[r] = spec.Gamma / nNeg
		} else {
			rs.sseW[r] = spec.Beta / nPos
			rs.violW[r] = spec.Gamma / nPos
		}
		rs.caseOf[r] = max(in.prop.CaseOf(rs.x[r*rs.d:(r+1)*rs.d]), 0)
	}
	if in.mask != nil {
		rs.imit = make([][]float64, len(net.Layers))
		rs.imitW = make([]float64, rs.n)
		for r := 0; r < neg.N; r++ {
			rs.imitW[r] = spec.Alpha / nNeg
		}
		for k, m := range in.mask {
			if m == nil {
				continue
			}
			size := net.Layers[k].Out
			e := make([]float64, rs.n*size)
			for r := 0; r < neg.N; r++ {
				row := in.expected.Row(k, r)
				for j, on := range m {
					if on {
						e[r*size+j] = row[j]
					}
				}
			}
			rs.imit[k] = e
		}
	}
	return rs
}

// score counts the repair rows the network leaves unsafe and computes the output and violation terms of
// the loss (the hidden imitation term is left out: it guides, it does not judge).
func (rs *rowSet) score(net *nn.Network, prop *property.Property, spec TrainSpec) (int, float64) {
	y := net.Forward(rs.x)
	unsafe := 0
	loss := 0.0
	for r := 0; r < rs.n; r++ {
		xr, yr := rs.x[r*rs.d:(r+1)*rs.d], y[r*rs.m:(r+1)*rs.m]
		region := prop.Cases[rs.caseOf[r]].Unsafe
		if prop.Unsafe(xr, yr) {
			unsafe++
		}
		loss += rs.violW[r] * region.Loss(yr, spec.Margin, nil)
		if w := rs.sseW[r]; w > 0 {
			t := rs.target[r*rs.m : (r+1)*rs.m]
			for i, v := range yr {
				loss += w * (v - t[i]) * (v - t[i])
			}
		}
	}
	return unsafe, loss
}

// violationGrads returns, for each layer, the gradient of the violation loss (with the given margin) with
// respect to the layer's activations, one row per negative.
func violationGrads(net *nn.Network, prop *property.Property, neg []float64, margin float64) ([][]float64, error) {
	d := net.Inputs()
	n := len(neg) / d
	batch := min(n, 4096)
	conjs, caseConj := train.Conjunctions(prop)
	gr, err := train.NewGraph(net, batch, train.Options{ActivationGrads: true})
	if err != nil {
		return nil, err
	}
	defer gr.Close()
	cn := gr.NewInput("viol_w", batch, len(conjs))
	loss, err := gr.ViolationLoss(gr.Out, conjs, cn, margin)
	if err != nil {
		return nil, err
	}
	if err := gr.Compile(loss); err != nil {
		return nil, err
	}
	out := make([][]float64, len(net.Layers))
	bx := make([]float64, batch*d)
	bc := make([]float64, batch*len(conjs))
	for s := 0; s < n; s += batch {
		clear(bx)
		clear(bc)
		rows := min(batch, n-s)
		copy(bx, neg[s*d:(s+rows)*d])
		for b := 0; b < rows; b++ {
			for _, k := range caseConj[max(prop.CaseOf(bx[b*d:(b+1)*d]), 0)] {
				bc[b*len(conjs)+k] = 1
			}
		}
		if err := gr.Feed(gr.X, bx); err != nil {
			return nil, err
		}
		if err := gr.Feed(cn, bc); err != nil {
			return nil, err
		}
		if _, err := gr.Run(); err != nil {
			return nil, err
		}
		for k := range net.Layers {
			g := gr.ActivationGrad(k)
			out[k] = append(out[k], g[:rows*net.Layers[k].Out]...)
		}
	}
	return out, nil
}
