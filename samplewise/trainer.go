package samplewise

import (
	"fmt"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/train"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

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
		if rows.classifier {
			// Keep the class the highest: class a's conjunctions become {y_a - y_j <= 0}.
			for _, c := range dec {
				for i := range c[0].Coef {
					c[0].Coef[i] = -c[0].Coef[i]
				}
			}
		}
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
		for j, on := range unitMask(&net.Layers[k], mask[k]) {
			if on {
				cols[j] = 1
			}
		}
		en := gr.NewInput(fmt.Sprintf("expected%d", k), batch, size)
		iw := gr.NewInput(fmt.Sprintf("imit_w%d", k), batch, 1)
		post := gr.Post[k]
		if post.Dims() != 2 { // an image layer's values, Batch x C x H x W: one row an example
			if post, err = G.Reshape(post, tensor.Shape{batch, size}); err != nil {
				return fail(err)
			}
		}
		masked, err := G.BroadcastHadamardProd(post, gr.Constant(1, size, cols), nil, []byte{0})
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
