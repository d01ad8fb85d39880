package train

import (
	"fmt"

	"github.com/birdnn/birdnn/property"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// WeightedSSE builds sum over rows r of w_r * ||a_r - t_r||², where a and t are Batch x n nodes and
// w is a Batch x 1 node of row weights. Row weights let one graph mix terms (alpha for negatives, beta for
// positives, divided by their counts) and give padding rows weight 0.
func (gr *Graph) WeightedSSE(a, t, w *G.Node) (*G.Node, error) {
	d, err := G.Sub(a, t)
	if err != nil {
		return nil, fmt.Errorf("sse: %w", err)
	}
	sq, err := G.Square(d)
	if err != nil {
		return nil, fmt.Errorf("sse: %w", err)
	}
	ws, err := G.BroadcastHadamardProd(sq, w, nil, []byte{1})
	if err != nil {
		return nil, fmt.Errorf("sse: %w", err)
	}
	return G.Sum(ws)
}

// CrossEntropy builds -sum over rows r and classes j of t_rj * log softmax(a_r)_j, where a is the Batch x
// classes node of scores and t a Batch x classes node of target weights: a one-hot row scaled by the
// row's weight (1/Batch for the mean cross-entropy, 0 for a padding row).
func (gr *Graph) CrossEntropy(a, t *G.Node) (*G.Node, error) {
	logp, err := G.LogSoftMax(a)
	if err != nil {
		return nil, fmt.Errorf("cross-entropy: %w", err)
	}
	tl, err := G.HadamardProd(logp, t)
	if err != nil {
		return nil, fmt.Errorf("cross-entropy: %w", err)
	}
	s, err := G.Sum(tl)
	if err != nil {
		return nil, fmt.Errorf("cross-entropy: %w", err)
	}
	return G.Neg(s)
}

// ViolationLoss builds sum over rows r and conjunctions k of c_rk * max(0, want - m_k(y_r)), where
// m_k(y) = max_j (a_kj·y - b_kj) is how far y lies outside conjunction k (property.Conjunction.Margin),
// y = out is Batch x outputs, and c is a Batch x len(conjs) node of weights: a row's weight where
// conjunction k belongs to the unsafe region that applies to the row, 0 elsewhere. The loss is zero
// exactly when every row is outside its unsafe conjunctions by at least want; it matches
// property.Region.Loss row by row.
func (gr *Graph) ViolationLoss(out *G.Node, conjs []property.Conjunction, c *G.Node, want float64) (*G.Node, error) {
	if len(conjs) == 0 {
		return nil, fmt.Errorf("violation loss: no conjunctions")
	}
	nout, batch := out.Shape()[1], out.Shape()[0]
	if c.Shape()[0] != batch || c.Shape()[1] != len(conjs) {
		return nil, fmt.Errorf("violation loss: weights of shape %v, want (%d, %d)", c.Shape(), batch, len(conjs))
	}
	// Conjunctions of one constraint need no max: their slacks come from one matrix product. Each other
	// conjunction gets its own product and a max over its constraints. The hinge columns come out as
	// [singles..., others...]; a constant permutation puts c's columns in that order.
	var singles, others []int
	for k, conj := range conjs {
		if len(conj) == 0 {
			return nil, fmt.Errorf("violation loss: conjunction %d is empty (its region can never be left)", k)
		}
		for _, con := range conj {
			if len(con.Coef) != nout {
				return nil, fmt.Errorf("violation loss: constraint over %d outputs, network has %d", len(con.Coef), nout)
			}
		}
		if len(conj) == 1 {
			singles = append(singles, k)
		} else {
			others = append(others, k)
		}
	}
	wantNode := gr.Scalar(want)
	var cols []*G.Node
	if len(singles) > 0 {
		cons := make([]property.Constraint, len(singles))
		for i, k := range singles {
			cons[i] = conjs[k][0]
		}
		s, err := gr.slacks(out, cons)
		if err != nil {
			return nil, err
		}
		gap, err := G.Sub(wantNode, s)
		if err != nil {
			return nil, err
		}
		h, err := G.Rectify(gap)
		if err != nil {
			return nil, err
		}
		cols = append(cols, h)
	}
	for _, k := range others {
		s, err := gr.slacks(out, conjs[k])
		if err != nil {
			return nil, err
		}
		m, err := G.Max(s, 1)
		if err != nil {
			return nil, err
		}
		gap, err := G.Sub(wantNode, m)
		if err != nil {
			return nil, err
		}
		hinge, err := G.Rectify(gap)
		if err != nil {
			return nil, err
		}
		col, err := G.Reshape(hinge, tensor.Shape{batch, 1})
		if err != nil {
			return nil, err
		}
		cols = append(cols, col)
	}
	h := cols[0]
	if len(cols) > 1 {
		var err error
		if h, err = G.Concat(1, cols...); err != nil {
			return nil, err
		}
	}
	weights := c
	if len(others) > 0 && len(singles) > 0 || !sortedInts(others) || !sortedInts(singles) {
		// perm[k][col] = 1 where conjunction k's hinge sits in column col.
		order := append(append([]int(nil), singles...), others...)
		perm := make([]float64, len(conjs)*len(conjs))
		for col, k := range order {
			perm[k*len(conjs)+col] = 1
		}
		var err error
		if weights, err = G.Mul(c, gr.Constant(len(conjs), len(conjs), perm)); err != nil {
			return nil, err
		}
	}
	weighted, err := G.HadamardProd(h, weights)
	if err != nil {
		return nil, err
	}
	return G.Sum(weighted)
}

// ViolationLossPer is ViolationLoss with a margin per row and conjunction: want is a Batch x len(conjs)
// node, and it builds sum over r and k of c_rk * max(0, want_rk - m_k(y_r)). Each conjunction must have one
// constraint (as property.OrderConjunctions's do).
func (gr *Graph) ViolationLossPer(out *G.Node, conjs []property.Conjunction, c, want *G.Node) (*G.Node, error) {
	nout, batch := out.Shape()[1], out.Shape()[0]
	k := len(conjs)
	if k == 0 {
		return nil, fmt.Errorf("violation loss: no conjunctions")
	}
	for _, n := range []*G.Node{c, want} {
		if n.Shape()[0] != batch || n.Shape()[1] != k {
			return nil, fmt.Errorf("violation loss: weights or margins of shape %v, want (%d, %d)", n.Shape(), batch, k)
		}
	}
	cons := make([]property.Constraint, k)
	for j, conj := range conjs {
		if len(conj) != 1 {
			return nil, fmt.Errorf("violation loss with per-row margins: conjunction %d has %d constraints, want 1", j, len(conj))
		}
		if len(conj[0].Coef) != nout {
			return nil, fmt.Errorf("violation loss: constraint over %d outputs, network has %d", len(conj[0].Coef), nout)
		}
		cons[j] = conj[0]
	}
	s, err := gr.slacks(out, cons)
	if err != nil {
		return nil, err
	}
	gap, err := G.Sub(want, s)
	if err != nil {
		return nil, err
	}
	h, err := G.Rectify(gap)
	if err != nil {
		return nil, err
	}
	weighted, err := G.HadamardProd(h, c)
	if err != nil {
		return nil, err
	}
	return G.Sum(weighted)
}

// slacks builds the Batch x len(cons) node of a_j·y - b_j for the constraints cons on out's rows.
func (gr *Graph) slacks(out *G.Node, cons []property.Constraint) (*G.Node, error) {
	nout := out.Shape()[1]
	a := make([]float64, nout*len(cons)) // nout x len(cons)
	b := make([]float64, len(cons))
	for j, con := range cons {
		for i, v := range con.Coef {
			a[i*len(cons)+j] = v
		}
		b[j] = con.Bound
	}
	s, err := G.Mul(out, gr.Constant(nout, len(cons), a))
	if err != nil {
		return nil, err
	}
	return G.BroadcastSub(s, gr.Constant(1, len(cons), b), nil, []byte{0})
}

func sortedInts(v []int) bool {
	for i := 1; i < len(v); i++ {
		if v[i] < v[i-1] {
			return false
		}
	}
	return true
}

// Conjunctions flattens the unsafe regions of a property's cases into one list, and returns for each
// case the indices of its conjunctions in that list; use them to fill ViolationLoss's weights.
func Conjunctions(p *property.Property) ([]property.Conjunction, [][]int) {
	var all []property.Conjunction
	seen := map[string]int{} // equal conjunctions of different cases are one (a classifier's labels)
	idx := make([][]int, len(p.Cases))
	for i, c := range p.Cases {
		for _, conj := range c.Unsafe {
			key := fmt.Sprint(conj)
			k, ok := seen[key]
			if !ok {
				k = len(all)
				seen[key] = k
				all = append(all, conj)
			}
			idx[i] = append(idx[i], k)
		}
	}
	return all, idx
}
