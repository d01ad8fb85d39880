package samplewise

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/birdnn/birdnn/configs"
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
	// anchors are inputs from the network's whole domain whose outputs should stay as they are.
	anchors  *imitate.Behaviour
	expected *imitate.Behaviour
	// mask, when set, marks the localized neurons: only they move, and negatives imitate the expected
	// behaviour at them (fine-tuning). Without it every weight moves and negatives imitate the expected
	// outputs (retraining).
	mask [][]bool
	// hard marks inputs (by their exact values) that get the violation term a second time with the larger
	// margin spec.HardMargin: where a verifier could not prove the property.
	hard map[string]bool
}

// rowKey is the exact value of an input row, as a map key.
func rowKey(x []float64) string {
	b := make([]byte, 0, 8*len(x))
	for _, v := range x {
		u := math.Float64bits(v)
		for i := 0; i < 8; i++ {
			b = append(b, byte(u>>(8*i)))
		}
	}
	return string(b)
}

// rowSet holds the training rows and their per-row weights, row-major.
type rowSet struct {
	n, d, m int
	// The rows are the negatives, then nPos positives, then the anchors.
	nNeg, nPos int
	x          []float64
	target     []float64 // m per row: expected output (negatives) or original output (positives)
	sseW       []float64 // weight of the output term
	cases      *caseSets
	caseOf     []int     // the set of property cases (caseSets) whose regions apply to the row
	violW      []float64 // weight of the violation term
	hardW      []float64 // weight of the violation term with the hard margin (hard rows only)
	hardMargin float64
	imit       [][]float64
	imitW      []float64
	// keepW weighs the decision-preserving hinge of the row (positives and anchors), whose original
	// decision (argmin) is keepClass.
	keepW     []float64
	keepClass []int
}

// fit trains net (all weights, or only the masked neurons) on the loss
//
//	alpha * imitation(negatives) + beta * MSE(positives, original)
//	  + anchor * MSE(anchors, original) + gamma * violation(all rows, margin)
//	  + keep * decision hinge(positives and anchors)
//
// and returns the repaired network. The decision hinge, sum over j != a of max(0, y_a - y_j) with a the
// original decision (argmin), is zero while a row keeps its decision. Each term is a mean over its rows,
// so the weights mean the same whatever the set sizes; every row of every batch contributes (an epoch is
// split into batches of even size, and the few padding rows of a short last batch get weight 0). After
// each epoch a plain forward pass measures the loss; an epoch that ends worse than the best so far is
// rolled back and the learning rate halved. A round of training stops when every repair row is safe (or
// a network within safeSlack of the best loss left them all safe) and the loss has not improved for
// spec.Patience epochs, or when the learning rate has been halved ten times. When rows stay unsafe,
// another round starts with the violation weighted four times more, up to four rounds, unless the rounds
// stall with every negative safe (stale); if negatives are still unsafe after the fourth, the network of
// least loss that left every negative safe, in the latest round that had one within fixedSlack of its
// best's loss (standIn), is returned instead of the best.
func fit(ctx context.Context, net *nn.Network, in fitInput, spec configs.TrainSpec, mask [][]bool, seed uint64, rep *progress.Reporter) (*nn.Network, error) {
	scale := outputScale(in.neg, in.pos)
	margin := spec.Margin * scale
	cs := newCaseSets(in.prop)
	best := net
	// fixed: of the latest round that had one, the network of least loss with every negative safe that may
	// stand in for the round's best.
	var fixed *nn.Network
	// least: the round network with the fewest unsafe rows, of the rounds that left every negative safe.
	var least *scored
	// Rounds: when training settles with repair rows still unsafe, train again from the best network with
	// the violation weighted four times more.
	for round := 0; round < 4; round++ {
		rows := buildRows(net, in, spec, scale, cs)
		b, f, err := fitRound(ctx, best, rows, cs, spec, mask, margin, seed+uint64(round), rep, round)
		if err != nil {
			return nil, err
		}
		best = b.net
		if b.unsafe == 0 {
			return best, nil
		}
		if stale(least, b) {
			return least.net, nil
		}
		if b.unsafeNeg == 0 {
			least = &b
		}
		if standIn(b, f) {
			fixed = f.net
		}
		if round == 3 && b.unsafeNeg > 0 && fixed != nil {
			// Out of rounds with negatives unsafe: the repair's first job is the negatives, so a network
			// that fixes them all (leaving some positives unsafe, or at a higher loss) goes first.
			return fixed, nil
		}
		spec.Gamma *= 4
		spec.LearnRate /= 2
	}
	return best, nil
}

// stale reports whether fit stops after a round that ended with b: b leaves every negative safe but no
// fewer repair rows unsafe than least, an earlier round's network that also left every negative safe
// (nil: none did), which fit then returns. Further rounds would only weigh the violation more. N1,9's
// elu student (sample-wise fine-tuning, property 7) ended its four rounds with 51, 1, 2 and 2 rows
// unsafe, every negative safe from the second on: the last two cost 6 of its 13 s and left one row more
// unsafe than the second.
func stale(least *scored, b scored) bool {
	return least != nil && b.unsafeNeg == 0 && b.unsafe >= least.unsafe
}

// fixedSlack is how much more loss than its round's best network a network that fixes every negative
// may have and still be returned for the negatives' sake when the rounds run out: N2,9's elu student's
// (sample-wise retraining) had 1.42 times the loss of a best that left one negative unsafe (1.49 the
// round before), while in its first two rounds the networks that fixed every negative had 21 and 13 times
// the best's (12.08 against 0.58, 13.34 against 1.00): networks that fix the negatives by moving far from
// the original everywhere else.
const fixedSlack = 1.0

// standIn reports whether f, a round's network of least loss among those that left every negative safe,
// may stand in for b, the round's best: it exists and its loss is at most 1+fixedSlack times b's.
func standIn(b, f scored) bool {
	return f.net != nil && f.loss <= b.loss*(1+fixedSlack)
}

// safeSlack is how much more loss than the best network's a training round accepts in a network that
// leaves every repair row safe, when the best leaves some unsafe: a row or two that the loss's optimum
// leaves just unsafe would otherwise cost whole further rounds, where an epoch close to the optimum had
// them all safe. Further off (an early epoch, twice the loss), the safe network gives up too much
// fidelity (on the ACAS Xu retraining tasks, taking any safe network cost up to 1.9 points of domain
// fidelity, N2,7), and the next round's heavier violation term does better.
const safeSlack = 0.05

// scored is a network with what rowSet.score measured of it: its unsafe repair rows, the negatives among
// them, and its loss.
type scored struct {
	net               *nn.Network
	unsafe, unsafeNeg int
	loss              float64
}

// keepLeast replaces *c by s when ok and s has the lower loss.
func keepLeast(c *scored, s scored, ok bool) {
	if ok && s.loss < c.loss {
		*c = s
	}
}

// fitRound is one training run from net. It returns the best network and the network of least loss that
// left every negative safe (net nil if none did). The best is the one of least loss, unless it leaves
// repair rows unsafe and the safe network (no repair row unsafe) of least loss is within safeSlack of it:
// then it is that one.
func fitRound(ctx context.Context, net *nn.Network, rows *rowSet, cs *caseSets,
	spec configs.TrainSpec, mask [][]bool, margin float64, seed uint64, rep *progress.Reporter, round int) (best, fixed scored, err error) {
	batch := evenBatch(rows.epochLen(spec.EpochRows), spec.Batch)
	lr := spec.LearnRate
	tr, err := newTrainer(net, rows, cs.all, batch, mask, margin, spec, lr)
	if err != nil {
		return best, fixed, err
	}
	defer func() { tr.gr.Close() }()
	rng := rand.New(rand.NewPCG(seed, 4))
	name := "repair epochs"
	if round > 0 {
		name = fmt.Sprintf("repair epochs (round %d, violation x%d)", round+1, 1<<(2*round))
	}
	ph := rep.Start(name, spec.Epochs)
	best = rows.score(net, cs.prop, margin)
	safe := scored{loss: math.Inf(1)} // the safe network of least loss
	fixed = scored{loss: math.Inf(1)}
	keepLeast(&safe, best, best.unsafe == 0)
	keepLeast(&fixed, best, best.unsafeNeg == 0)
	calm, epochs := 0, 0
	status := ""
	for epoch := 0; epoch < spec.Epochs; epoch++ {
		if err := ctx.Err(); err != nil {
			return best, fixed, err
		}
		epochs = epoch + 1
		order, factor := rows.epochOrder(rng, spec.EpochRows)
		if _, err := tr.epoch(order, factor, cs.conj); err != nil {
			return best, fixed, err
		}
		cur := rows.score(tr.gr.Network(), cs.prop, margin)
		status = fmt.Sprintf("unsafe %d, loss %.4g, lr %.2g", cur.unsafe, cur.loss, lr)
		ph.Add(1, status)
		keepLeast(&safe, cur, cur.unsafe == 0)
		keepLeast(&fixed, cur, cur.unsafeNeg == 0)
		switch {
		case cur.loss < best.loss*(1-1e-2):
			best, calm = cur, 0
		case cur.loss > best.loss:
			// Worse than the best: go back to it with half the learning rate.
			calm++
			lr /= 2
			tr.gr.Close()
			if tr, err = newTrainer(best.net, rows, cs.all, batch, mask, margin, spec, lr); err != nil {
				return best, fixed, err
			}
		default:
			calm++
			keepLeast(&best, cur, true)
		}
		// Stop when every repair row is safe (or a safe network is close enough to the best) and the loss
		// has settled, when it has not improved for a long while (the parameters that may move can do no
		// better), or when the rate has decayed away.
		settled := calm >= spec.Patience || best.loss < 1e-9
		if settled && (best.unsafe == 0 || safe.loss <= best.loss*(1+safeSlack)) || calm >= 4*spec.Patience || lr < spec.LearnRate/1000 {
			break
		}
	}
	if best.unsafe > 0 && safe.loss <= best.loss*(1+safeSlack) {
		best = safe
	}
	ph.Finish(fmt.Sprintf("unsafe %d, loss %.4g after %d epochs", best.unsafe, best.loss, epochs))
	return best, fixed, nil
}

// trainer is a compiled graph with its input nodes and optimizer, and the batch buffers.
type trainer struct {
	gr                 *train.Graph
	opt                *train.Optimizer
	rows               *rowSet
	batch, nconj       int
	tn, wn, cn, kn     *G.Node
	hn                 *G.Node // weights of the hard-margin violation term (nil without hard rows)
	bh                 []float64
	terms              []imitTerm
	bx, bt, bw, bc, bk []float64
	be, bi             map[int][]float64
}

// imitTerm is the hidden imitation term of one layer with localized neurons.
type imitTerm struct {
	layer int
	e, w  *G.Node
}

func newTrainer(net *nn.Network, rows *rowSet, conjs []property.Conjunction, batch int, mask [][]bool, margin float64, spec configs.TrainSpec, lr float64) (*trainer, error) {
	gr, err := train.NewGraph(net, batch, train.Options{Mask: mask})
	if err != nil {
		return nil, err
	}
	t := &trainer{gr: gr, rows: rows, batch: batch, nconj: len(conjs), be: map[int][]float64{}, bi: map[int][]float64{}}
	fail := func(err error) (*trainer, error) {
		gr.Close()
		return nil, err
	}
	t.tn = gr.NewInput("target", batch, rows.m)
	t.wn = gr.NewInput("sse_w", batch, 1)
	t.cn = gr.NewInput("viol_w", batch, len(conjs))
	loss, err := gr.WeightedSSE(gr.Out, t.tn, t.wn)
	if err != nil {
		return fail(err)
	}
	viol, err := gr.ViolationLoss(gr.Out, conjs, t.cn, margin)
	if err != nil {
		return fail(err)
	}
	if loss, err = G.Add(loss, viol); err != nil {
		return fail(err)
	}
	if rows.hardMargin > 0 {
		t.hn = gr.NewInput("hard_w", batch, len(conjs))
		hard, err := gr.ViolationLoss(gr.Out, conjs, t.hn, rows.hardMargin)
		if err != nil {
			return fail(err)
		}
		if loss, err = G.Add(loss, hard); err != nil {
			return fail(err)
		}
		t.bh = make([]float64, batch*len(conjs))
	}
	if spec.Keep > 0 {
		dec := property.OrderConjunctions(rows.m)
		t.kn = gr.NewInput("keep_w", batch, len(dec))
		keep, err := gr.ViolationLoss(gr.Out, dec, t.kn, 0)
		if err != nil {
			return fail(err)
		}
		if loss, err = G.Add(loss, keep); err != nil {
			return fail(err)
		}
		t.bk = make([]float64, batch*len(dec))
	}
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
			return fail(err)
		}
		term, err := gr.WeightedSSE(masked, en, iw)
		if err != nil {
			return fail(err)
		}
		if loss, err = G.Add(loss, term); err != nil {
			return fail(err)
		}
		t.terms = append(t.terms, imitTerm{layer: k, e: en, w: iw})
		t.be[k] = make([]float64, batch*size)
		t.bi[k] = make([]float64, batch)
	}
	if err := gr.Compile(loss); err != nil {
		return fail(err)
	}
	if spec.Optimizer == "sgd" {
		t.opt = train.NewSGD(lr, spec.Momentum)
	} else {
		t.opt = train.NewAdam(lr)
	}
	t.bx = make([]float64, batch*rows.d)
	t.bt = make([]float64, batch*rows.m)
	t.bw = make([]float64, batch)
	t.bc = make([]float64, batch*len(conjs))
	return t, nil
}

// epoch runs one pass over the rows listed in order, one optimizer step a batch, and returns the sum of
// the batches' losses divided by the number of steps: the loss of the whole set at the start of each
// step. factor, when not nil, multiplies each row's weights (to stand for the rows of its class left out
// of a subsampled epoch).
func (t *trainer) epoch(order []int, factor []float64, caseConj [][]int) (float64, error) {
	rows, batch := t.rows, t.batch
	n := len(order)
	// A batch's weights are scaled by n/batch so that one epoch's steps add up to the full loss.
	stepScale := float64(n) / float64(batch)
	total := 0.0
	for s := 0; s < n; s += batch {
		clear(t.bw)
		clear(t.bc)
		clear(t.bk)
		clear(t.bh)
		for _, term := range t.terms {
			clear(t.bi[term.layer])
		}
		for b := 0; b < batch; b++ {
			if s+b >= n {
				clear(t.bx[b*rows.d : (b+1)*rows.d])
				continue
			}
			r := order[s+b]
			f := stepScale
			if factor != nil {
				f *= factor[r]
			}
			copy(t.bx[b*rows.d:(b+1)*rows.d], rows.x[r*rows.d:(r+1)*rows.d])
			copy(t.bt[b*rows.m:(b+1)*rows.m], rows.target[r*rows.m:(r+1)*rows.m])
			t.bw[b] = rows.sseW[r] * f
			if rows.violW[r] > 0 {
				for _, k := range caseConj[rows.caseOf[r]] {
					t.bc[b*t.nconj+k] = rows.violW[r] * f
					if t.hn != nil && rows.hardW[r] > 0 {
						t.bh[b*t.nconj+k] = rows.hardW[r] * f
					}
				}
			}
			if t.kn != nil && rows.keepW[r] > 0 {
				per := rows.m - 1
				base := b*rows.m*per + rows.keepClass[r]*per
				for j := 0; j < per; j++ {
					t.bk[base+j] = rows.keepW[r] * f
				}
			}
			for _, term := range t.terms {
				size := len(t.be[term.layer]) / batch
				copy(t.be[term.layer][b*size:(b+1)*size], rows.imit[term.layer][r*size:(r+1)*size])
				t.bi[term.layer][b] = rows.imitW[r] * f
			}
		}
		feeds := []struct {
			n *G.Node
			v []float64
		}{{t.gr.X, t.bx}, {t.tn, t.bt}, {t.wn, t.bw}, {t.cn, t.bc}}
		if t.kn != nil {
			feeds = append(feeds, struct {
				n *G.Node
				v []float64
			}{t.kn, t.bk})
		}
		if t.hn != nil {
			feeds = append(feeds, struct {
				n *G.Node
				v []float64
			}{t.hn, t.bh})
		}
		for _, term := range t.terms {
			feeds = append(feeds, struct {
				n *G.Node
				v []float64
			}{term.e, t.be[term.layer]}, struct {
				n *G.Node
				v []float64
			}{term.w, t.bi[term.layer]})
		}
		for _, f := range feeds {
			if err := t.gr.Feed(f.n, f.v); err != nil {
				return 0, err
			}
		}
		l, err := t.gr.Run()
		if err != nil {
			return 0, err
		}
		total += l / stepScale
		if err := t.opt.Step(t.gr); err != nil {
			return 0, err
		}
	}
	return total, nil
}

// classes are the row ranges [start, end) of the negatives, the positives and the anchors.
func (rs *rowSet) classes() [][2]int {
	return [][2]int{{0, rs.nNeg}, {rs.nNeg, rs.nNeg + rs.nPos}, {rs.nNeg + rs.nPos, rs.n}}
}

// epochLen is the number of rows epochOrder lists: each class's rows, at most perClass of each (when
// perClass > 0).
func (rs *rowSet) epochLen(perClass int) int {
	n := 0
	for _, c := range rs.classes() {
		size := c[1] - c[0]
		if perClass > 0 {
			size = min(size, perClass)
		}
		n += size
	}
	return n
}

// evenBatch is the batch size that covers n rows in the fewest batches of at most limit rows, the rows
// spread evenly over them: only the last batch is short, by fewer rows than there are batches, so a
// graph pass carries (almost) no padding. With the limit itself as the batch, 4,209 rows would take two
// passes of 4,096, the second with 113 real rows.
func evenBatch(n, limit int) int {
	if n <= 0 || limit <= 0 {
		return 1
	}
	passes := (n + limit - 1) / limit
	return (n + passes - 1) / passes
}

// epochOrder returns the rows of one epoch in random order: all of them, or at most perClass negatives,
// positives and anchors each (a fresh draw every epoch), with the factor that makes the drawn rows stand
// for their whole class.
func (rs *rowSet) epochOrder(rng *rand.Rand, perClass int) ([]int, []float64) {
	var order []int
	var factor []float64
	for _, c := range rs.classes() {
		size := c[1] - c[0]
		if perClass <= 0 || size <= perClass {
			for r := c[0]; r < c[1]; r++ {
				order = append(order, r)
			}
			continue
		}
		if factor == nil {
			factor = make([]float64, rs.n)
			for i := range factor {
				factor[i] = 1
			}
		}
		for _, i := range rng.Perm(size)[:perClass] {
			order = append(order, c[0]+i)
		}
		f := float64(size) / float64(perClass)
		for r := c[0]; r < c[1]; r++ {
			factor[r] = f
		}
	}
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	return order, factor
}

// outputScale is the root mean square of the original network's outputs over the rows: the unit in which
// the loss measures output changes and margins, so that the loss weights mean the same for networks
// whose outputs are small (ACAS Xu's are about 0.05) or large.
func outputScale(b ...*imitate.Behaviour) float64 {
	s, n := 0.0, 0
	for _, x := range b {
		if x == nil {
			continue
		}
		for _, v := range x.Outputs() {
			s += v * v
			n++
		}
	}
	if n == 0 || s == 0 {
		return 1
	}
	return math.Sqrt(s / float64(n))
}

// buildRows lays out the negatives, positives and anchors with their targets and weights. Output terms
// are divided by scale² and the violation term by scale, so that all terms are in units of the output
// scale.
func buildRows(net *nn.Network, in fitInput, spec configs.TrainSpec, scale float64, cs *caseSets) *rowSet {
	neg, pos, anc := in.neg, in.pos, in.anchors
	if anc == nil {
		anc = &imitate.Behaviour{Sizes: neg.Sizes, Layers: make([][]float64, len(neg.Sizes))}
	}
	rs := &rowSet{n: neg.N + pos.N + anc.N, d: net.Inputs(), m: net.Outputs(), nNeg: neg.N, nPos: pos.N, cases: cs}
	rs.x = append(append(append([]float64(nil), neg.Inputs...), pos.Inputs...), anc.Inputs...)
	nNeg, nPos, nAnc := float64(max(neg.N, 1)), float64(max(pos.N, 1)), float64(max(anc.N, 1))
	rs.target = append(append(append([]float64(nil), in.expected.Outputs()...), pos.Outputs()...), anc.Outputs()...)
	rs.sseW = make([]float64, rs.n)
	rs.violW = make([]float64, rs.n)
	rs.hardW = make([]float64, rs.n)
	if len(in.hard) > 0 && spec.HardMargin > spec.Margin {
		rs.hardMargin = spec.HardMargin * scale
	}
	rs.caseOf = make([]int, rs.n)
	rs.keepW = make([]float64, rs.n)
	rs.keepClass = make([]int, rs.n)
	m := float64(rs.m)
	for r := 0; r < rs.n; r++ {
		switch {
		case r < neg.N:
			if in.mask == nil {
				rs.sseW[r] = spec.Alpha / (nNeg * m * scale * scale) // retraining imitates the expected outputs
			}
			rs.violW[r] = spec.Gamma / (nNeg * scale)
		case r < neg.N+pos.N:
			rs.sseW[r] = spec.Beta / (nPos * m * scale * scale)
			rs.violW[r] = spec.Gamma / (nPos * scale)
			rs.keepW[r] = spec.Keep / (nPos * scale)
		default:
			rs.sseW[r] = spec.Anchor / (nAnc * m * scale * scale)
			rs.keepW[r] = spec.Keep / (nAnc * scale)
		}
		if rs.keepW[r] > 0 {
			rs.keepClass[r] = nn.Argmin(rs.target[r*rs.m : (r+1)*rs.m])
		}
		rs.caseOf[r] = cs.of(rs.x[r*rs.d : (r+1)*rs.d])
		if rs.caseOf[r] < 0 {
			rs.violW[r] = 0 // outside every box the property says nothing
			rs.caseOf[r] = 0
		}
		if rs.hardMargin > 0 && r < neg.N+pos.N && in.hard[rowKey(rs.x[r*rs.d:(r+1)*rs.d])] {
			rs.hardW[r] = rs.violW[r]
		}
	}
	if in.mask != nil {
		rs.imit = make([][]float64, len(net.Layers))
		rs.imitW = make([]float64, rs.n)
		for r := 0; r < neg.N; r++ {
			rs.imitW[r] = spec.Alpha / (nNeg * scale * scale)
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

// score counts the repair rows the network leaves unsafe, and the negatives among them, and computes the
// output and violation terms of the loss (the hidden imitation term is left out: it guides, it does not
// judge). The anchors do not count: the violation term leaves them out, so an anchor inside a box where
// the original network is unsafe keeps the original's outputs by design, and counting it sent fit
// through rounds that weigh a term it is not in (N1,9's elu student, sample-wise retraining: four
// rounds, the last two ending with two anchors unsafe and every negative and positive safe).
func (rs *rowSet) score(net *nn.Network, prop *property.Property, margin float64) scored {
	y := net.Forward(rs.x)
	unsafe, unsafeNeg, loss := 0, 0, 0.0
	for r := 0; r < rs.n; r++ {
		xr, yr := rs.x[r*rs.d:(r+1)*rs.d], y[r*rs.m:(r+1)*rs.m]
		if r < rs.nNeg+rs.nPos && prop.Unsafe(xr, yr) {
			unsafe++
			if r < rs.nNeg {
				unsafeNeg++
			}
		}
		if rs.violW[r] > 0 {
			loss += rs.violW[r] * rs.cases.region[rs.caseOf[r]].Loss(yr, margin, nil)
			if rs.hardW[r] > 0 {
				loss += rs.hardW[r] * rs.cases.region[rs.caseOf[r]].Loss(yr, rs.hardMargin, nil)
			}
		}
		if w := rs.keepW[r]; w > 0 {
			a := rs.keepClass[r]
			for j, v := range yr {
				if j != a && yr[a] > v {
					loss += w * (yr[a] - v)
				}
			}
		}
		if w := rs.sseW[r]; w > 0 {
			t := rs.target[r*rs.m : (r+1)*rs.m]
			for i, v := range yr {
				loss += w * (v - t[i]) * (v - t[i])
			}
		}
	}
	return scored{net: net, unsafe: unsafe, unsafeNeg: unsafeNeg, loss: loss}
}

// violationGrads returns, for each layer, the gradient of the violation loss (with the given margin) with
// respect to the layer's activations, one row per negative.
func violationGrads(net *nn.Network, prop *property.Property, neg []float64, margin float64) ([][]float64, error) {
	d := net.Inputs()
	n := len(neg) / d
	batch := evenBatch(n, 4096)
	cs := newCaseSets(prop)
	conjs := cs.all
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
			id := cs.of(bx[b*d : (b+1)*d])
			if id < 0 {
				continue
			}
			for _, k := range cs.conj[id] {
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
