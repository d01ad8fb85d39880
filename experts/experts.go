// Package experts builds and combines per-class repairs of a classifier (NNrepair's experts): one repair
// a class, each fixing only the failing inputs of that class, combined into one decision at inference.
//
// NNrepair (Usman et al., CAV 2021) names seven ways to combine: NAIVE, AVERAGE, PREC, CONF, VOTES, PVC
// and FULL. Their exact definitions are not in the sources birdnn holds (the paper's artifact has the
// combination code for CIFAR subjects only); the definitions here are birdnn's, written to match the
// names. With y_l the softmax of expert l's outputs, c_l its class, and l "claiming" when c_l = l:
//
//   - NAIVE: the original network picks the class l; expert l decides (c_l).
//   - AVERAGE: the class of the mean of the experts' outputs (logits). When the experts differ from the
//     original only in its linear output layer, this is exactly one network: the mean output layer.
//   - VOTES: the class most experts answer; ties go to the larger summed confidence of the voters, then
//     to the lower class.
//   - CONF: the claiming expert with the highest confidence y_l[l]; no claim: VOTES.
//   - PREC: the claiming expert with the highest precision on its class (measured on validation
//     inputs), ties by confidence; no claim: VOTES.
//   - PVC: the claiming expert with the highest precision x votes for its class / experts x confidence;
//     no claim: VOTES.
//   - FULL is no combination: one repair with every class's failing inputs at once (package minimal).
package experts

import (
	"fmt"
	"slices"
	"strings"

	"github.com/birdnn/birdnn/nn"
)

// Strategy is a way to combine the experts' outputs into one class.
type Strategy string

// The combination strategies (see the package comment).
const (
	Naive   Strategy = "naive"
	Average Strategy = "average"
	Prec    Strategy = "prec"
	Conf    Strategy = "conf"
	Votes   Strategy = "votes"
	PVC     Strategy = "pvc"
)

// Strategies lists every combination strategy.
var Strategies = []Strategy{Naive, Average, Prec, Conf, Votes, PVC}

// ParseStrategy reads a strategy's name (any case).
func ParseStrategy(s string) (Strategy, error) {
	st := Strategy(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(Strategies, st) {
		return "", fmt.Errorf("strategy %q: want one of %v", s, Strategies)
	}
	return st, nil
}

// Decide returns the class strategy s picks for one input: orig holds the original network's outputs,
// outs[l] expert l's (one expert a class), prec[l] expert l's precision on class l (PREC and PVC only;
// may be nil otherwise).
func Decide(s Strategy, orig []float64, outs [][]float64, prec []float64) (int, error) {
	m := len(outs)
	for l, y := range outs {
		if len(y) != m {
			return 0, fmt.Errorf("decide: expert %d has %d outputs, want one a class (%d)", l, len(y), m)
		}
	}
	if (s == Prec || s == PVC) && len(prec) != m {
		return 0, fmt.Errorf("decide: %s needs a precision for each of %d experts, got %d", s, m, len(prec))
	}
	class := make([]int, m)
	conf := make([]float64, m) // expert l's softmax probability of its own answer
	votes := make([]int, m)
	support := make([]float64, m) // summed confidence of the experts answering each class
	for l, y := range outs {
		class[l] = nn.Argmax(y)
		conf[l] = nn.Softmax(y)[class[l]]
		votes[class[l]]++
		support[class[l]] += conf[l]
	}
	byVotes := func() int {
		best := 0
		for c := 1; c < m; c++ {
			if votes[c] > votes[best] || votes[c] == votes[best] && support[c] > support[best] {
				best = c
			}
		}
		return best
	}
	// claimed picks, among the claiming experts, the one of highest score (ties: higher confidence,
	// then lower class); no claim: VOTES.
	claimed := func(score func(l int) float64) int {
		best := -1
		for l := 0; l < m; l++ {
			if class[l] != l {
				continue
			}
			if best < 0 || score(l) > score(best) || score(l) == score(best) && conf[l] > conf[best] {
				best = l
			}
		}
		if best < 0 {
			return byVotes()
		}
		return best
	}
	switch s {
	case Naive:
		if len(orig) != m {
			return 0, fmt.Errorf("decide: naive needs the original's %d outputs, got %d", m, len(orig))
		}
		return class[nn.Argmax(orig)], nil
	case Average:
		mean := make([]float64, m)
		for _, y := range outs {
			for c, v := range y {
				mean[c] += v / float64(m)
			}
		}
		return nn.Argmax(mean), nil
	case Votes:
		return byVotes(), nil
	case Conf:
		return claimed(func(l int) float64 { return conf[l] }), nil
	case Prec:
		return claimed(func(l int) float64 { return prec[l] }), nil
	case PVC:
		return claimed(func(l int) float64 { return prec[l] * float64(votes[l]) / float64(m) * conf[l] }), nil
	}
	return 0, fmt.Errorf("decide: unknown strategy %q", s)
}

// Bundle is a combined model: the original network, one expert a class, their precisions and the
// strategy that combines them.
type Bundle struct {
	Strategy  Strategy
	Original  *nn.Network
	Experts   []*nn.Network
	Precision []float64
}

// Check reports whether the bundle is complete and its networks agree in shape.
func (b *Bundle) Check() error {
	if b.Original == nil {
		return fmt.Errorf("bundle: no original network")
	}
	m := b.Original.Outputs()
	if len(b.Experts) != m {
		return fmt.Errorf("bundle: %d experts for %d classes", len(b.Experts), m)
	}
	for l, e := range b.Experts {
		if e == nil || e.Inputs() != b.Original.Inputs() || e.Outputs() != m {
			return fmt.Errorf("bundle: expert %d does not take the original's %d inputs to %d outputs", l, b.Original.Inputs(), m)
		}
	}
	if !slices.Contains(Strategies, b.Strategy) {
		return fmt.Errorf("bundle: strategy %q: want one of %v", b.Strategy, Strategies)
	}
	if (b.Strategy == Prec || b.Strategy == PVC) && len(b.Precision) != m {
		return fmt.Errorf("bundle: %s needs %d precisions, has %d", b.Strategy, m, len(b.Precision))
	}
	return nil
}

// Classify returns the bundle's class for each row of x (row-major, the networks' inputs a row).
func (b *Bundle) Classify(x []float64) ([]int, error) {
	if err := b.Check(); err != nil {
		return nil, err
	}
	d, m := b.Original.Inputs(), b.Original.Outputs()
	if len(x)%d != 0 {
		return nil, fmt.Errorf("classify: %d values are not rows of %d inputs", len(x), d)
	}
	n := len(x) / d
	orig := b.Original.Forward(x)
	ys := make([][]float64, m)
	for l, e := range b.Experts {
		ys[l] = e.Forward(x)
	}
	out := make([]int, n)
	outs := make([][]float64, m)
	for i := range out {
		for l := range ys {
			outs[l] = ys[l][i*m : (i+1)*m]
		}
		c, err := Decide(b.Strategy, orig[i*m:(i+1)*m], outs, b.Precision)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// Precision returns each expert's precision on its own class over labelled inputs x: of the inputs
// expert l classifies l, the share labelled l (1 when it classifies none l).
func Precision(experts []*nn.Network, x []float64, labels []int) []float64 {
	prec := make([]float64, len(experts))
	for l, e := range experts {
		m := e.Outputs()
		y := e.Forward(x)
		said, right := 0, 0
		for i, lab := range labels {
			if nn.Argmax(y[i*m:(i+1)*m]) == l {
				said++
				if lab == l {
					right++
				}
			}
		}
		prec[l] = 1
		if said > 0 {
			prec[l] = float64(right) / float64(said)
		}
	}
	return prec
}

// Network returns the one network the AVERAGE strategy amounts to, when every expert equals the original
// but in its output layer and that layer is linear: the experts' mean output layer. Otherwise an error
// says why the combination is not one network.
func (b *Bundle) Network() (*nn.Network, error) {
	if b.Original == nil || len(b.Experts) == 0 {
		return nil, fmt.Errorf("bundle: no networks")
	}
	if b.Strategy != Average {
		return nil, fmt.Errorf("strategy %s picks one expert's answer: not one network (run the bundle)", b.Strategy)
	}
	o := b.Original
	k := len(o.Layers) - 1
	if o.Layers[k].Kind != nn.Dense || o.Layers[k].Act.Name != "identity" {
		return nil, fmt.Errorf("the output layer is not a linear dense layer: the average of outputs is not one network")
	}
	avg := o.Clone()
	out := &avg.Layers[k]
	clear(out.W)
	clear(out.B)
	for l, e := range b.Experts {
		if len(e.Layers) != len(o.Layers) {
			return nil, fmt.Errorf("expert %d has %d layers, the original %d", l, len(e.Layers), len(o.Layers))
		}
		for j := 0; j < k; j++ {
			if !slices.Equal(e.Layers[j].W, o.Layers[j].W) || !slices.Equal(e.Layers[j].B, o.Layers[j].B) {
				return nil, fmt.Errorf("expert %d changes layer %d, not only the output layer: the average is not one network", l, j)
			}
		}
		el := &e.Layers[k]
		if len(el.W) != len(out.W) || len(el.B) != len(out.B) {
			return nil, fmt.Errorf("expert %d's output layer has another shape", l)
		}
		for i, v := range el.W {
			out.W[i] += v / float64(len(b.Experts))
		}
		for i, v := range el.B {
			out.B[i] += v / float64(len(b.Experts))
		}
	}
	return avg, nil
}
