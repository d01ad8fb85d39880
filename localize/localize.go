// Package localize scores each neuron by how much it contributes to a network's fault, and picks the
// neurons a fine-tuning repair should change.
package localize

import (
	"fmt"
	"math"
	"sort"

	"github.com/birdnn/birdnn/imitate"
)

// Method names a fault-localization score.
type Method string

// The scores.
const (
	// Paper is BIRDNN's score, |sum over positives of h_j - sum over negatives of h_j|: raw sums, so it
	// favours layers with large activations and depends on how many positives and negatives there are.
	Paper Method = "paper"
	// Normalized is |mean over positives - mean over negatives| divided by the neuron's standard deviation
	// over both sets: a standardized effect size, comparable across layers and set sizes.
	Normalized Method = "normalized"
	// Gradient is the mean over negatives of |expected h_j - actual h_j| * |dL/dh_j|, with L the
	// violation loss: how far the neuron is from the behaviour to imitate, times how much moving it would
	// reduce the violation.
	Gradient Method = "gradient"
)

// ParseMethod checks a method name.
func ParseMethod(s string) (Method, error) {
	switch m := Method(s); m {
	case Paper, Normalized, Gradient:
		return m, nil
	}
	return "", fmt.Errorf("unknown localization method %q (paper, normalized, gradient)", s)
}

// Neuron identifies one neuron and its score.
type Neuron struct {
	Layer int     `json:"layer"`
	Index int     `json:"index"`
	Score float64 `json:"score"`
}

// Inputs gathers what the scores need. Gradient needs Expected and Grads; the others only Pos and Neg.
type Inputs struct {
	Pos, Neg *imitate.Behaviour
	// Expected is the behaviour each negative should imitate (imitate.Expected).
	Expected *imitate.Behaviour
	// Grads[k] holds the gradient of the violation loss with respect to layer k's activations, one row per
	// negative.
	Grads [][]float64
}

// Scores returns every neuron's score, layer by layer.
func Scores(m Method, in Inputs) ([][]float64, error) {
	if in.Pos == nil || in.Neg == nil || in.Neg.N == 0 {
		return nil, fmt.Errorf("localization needs negatives and positives")
	}
	sizes := in.Neg.Sizes
	out := make([][]float64, len(sizes))
	for k, size := range sizes {
		out[k] = make([]float64, size)
		switch m {
		case Paper, Normalized:
			if in.Pos.N == 0 {
				return nil, fmt.Errorf("localization method %s needs positives", m)
			}
			for j := 0; j < size; j++ {
				sp, sn := column(in.Pos, k, j), column(in.Neg, k, j)
				if m == Paper {
					out[k][j] = math.Abs(sp.sum - sn.sum)
					continue
				}
				mp, mn := sp.sum/float64(sp.n), sn.sum/float64(sn.n)
				n := float64(sp.n + sn.n)
				mean := (sp.sum + sn.sum) / n
				variance := (sp.sq+sn.sq)/n - mean*mean
				sd := math.Sqrt(math.Max(variance, 0))
				if sd < 1e-12 {
					continue // a neuron that never varies cannot explain the fault
				}
				out[k][j] = math.Abs(mp-mn) / sd
			}
		case Gradient:
			if in.Expected == nil || in.Grads == nil {
				return nil, fmt.Errorf("localization method gradient needs expected behaviour and gradients")
			}
			for r := 0; r < in.Neg.N; r++ {
				act, exp := in.Neg.Row(k, r), in.Expected.Row(k, r)
				g := in.Grads[k][r*size : (r+1)*size]
				for j := range act {
					out[k][j] += math.Abs(exp[j]-act[j]) * math.Abs(g[j])
				}
			}
			for j := range out[k] {
				out[k][j] /= float64(in.Neg.N)
			}
		default:
			return nil, fmt.Errorf("unknown localization method %q", m)
		}
	}
	return out, nil
}

type colStats struct {
	n       int
	sum, sq float64
}

func column(b *imitate.Behaviour, k, j int) colStats {
	s := colStats{n: b.N}
	size := b.Sizes[k]
	for r := 0; r < b.N; r++ {
		v := b.Layers[k][r*size+j]
		s.sum += v
		s.sq += v * v
	}
	return s
}

// Top returns the k highest-scoring neurons of the given layers (all layers when layers is empty), best
// first; ties go to the earlier layer and neuron. Neurons scoring 0 are never picked.
func Top(scores [][]float64, k int, layers []int) ([]Neuron, error) {
	use := map[int]bool{}
	for _, l := range layers {
		if l < 0 || l >= len(scores) {
			return nil, fmt.Errorf("layer %d does not exist (the network has layers 0 to %d)", l, len(scores)-1)
		}
		use[l] = true
	}
	var all []Neuron
	for l, s := range scores {
		if len(layers) > 0 && !use[l] {
			continue
		}
		for j, v := range s {
			if v > 0 && !math.IsNaN(v) {
				all = append(all, Neuron{Layer: l, Index: j, Score: v})
			}
		}
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].Score > all[b].Score })
	if len(all) > k {
		all = all[:k]
	}
	return all, nil
}

// Mask turns a list of neurons into a per-layer mask for train.Options.Mask.
func Mask(sizes []int, neurons []Neuron) [][]bool {
	m := make([][]bool, len(sizes))
	for _, n := range neurons {
		if m[n.Layer] == nil {
			m[n.Layer] = make([]bool, sizes[n.Layer])
		}
		m[n.Layer][n.Index] = true
	}
	return m
}
