package samplewise

import (
	"math"
	"math/rand/v2"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/imitate"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/property"
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
	// classifier keeps each positive's class (argmax) instead of its argmin decision.
	classifier bool
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
	// classifier: the kept decision is the class, the highest output (else the argmin).
	classifier bool
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
	// decision (argmin, or for a classifier the class) is keepClass.
	keepW     []float64
	keepClass []int
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
	rs := &rowSet{n: neg.N + pos.N + anc.N, d: net.Inputs(), m: net.Outputs(), nNeg: neg.N, nPos: pos.N, cases: cs, classifier: in.classifier}
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
			if rs.classifier {
				rs.keepClass[r] = nn.Argmax(rs.target[r*rs.m : (r+1)*rs.m])
			}
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
				switch {
				case j == a:
				case rs.classifier && v > yr[a]:
					loss += w * (v - yr[a])
				case !rs.classifier && yr[a] > v:
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
