package localize

import (
	"math"
	"testing"

	"github.com/birdnn/birdnn/imitate"
)

func TestScoresByHand(t *testing.T) {
	// One layer of two neurons. Positives: neuron 0 = 1, 3; neuron 1 = 0, 0. Negatives: neuron 0 = 2,
	// neuron 1 = 4.
	pos := &imitate.Behaviour{N: 2, Sizes: []int{2}, Layers: [][]float64{{1, 0, 3, 0}}}
	neg := &imitate.Behaviour{N: 1, Sizes: []int{2}, Layers: [][]float64{{2, 4}}}
	paper, err := Scores(Paper, Inputs{Pos: pos, Neg: neg})
	if err != nil {
		t.Fatal(err)
	}
	// |1+3 - 2| = 2, |0 - 4| = 4.
	if paper[0][0] != 2 || paper[0][1] != 4 {
		t.Errorf("paper scores %v, want [2 4]", paper[0])
	}
	norm, _ := Scores(Normalized, Inputs{Pos: pos, Neg: neg})
	// Neuron 0: means 2 and 2, so 0. Neuron 1: |0 - 4| / sd of {0, 0, 4} = 4 / sqrt(32/9).
	if norm[0][0] != 0 || math.Abs(norm[0][1]-4/math.Sqrt(32.0/9)) > 1e-12 {
		t.Errorf("normalized scores %v", norm[0])
	}
	exp := &imitate.Behaviour{N: 1, Sizes: []int{2}, Layers: [][]float64{{1, 1}}}
	grad, _ := Scores(Gradient, Inputs{Pos: pos, Neg: neg, Expected: exp, Grads: [][]float64{{0.5, -2}}})
	// |1 - 2| * 0.5 = 0.5; |1 - 4| * 2 = 6.
	if grad[0][0] != 0.5 || grad[0][1] != 6 {
		t.Errorf("gradient scores %v, want [0.5 6]", grad[0])
	}
	top, err := Top([][]float64{{0.5, 6}, {3, 0}}, 2, nil)
	if err != nil || len(top) != 2 || top[0] != (Neuron{0, 1, 6}) || top[1] != (Neuron{1, 0, 3}) {
		t.Errorf("top %v, %v", top, err)
	}
	top, _ = Top([][]float64{{0.5, 6}, {3, 0}}, 5, []int{1})
	if len(top) != 1 || top[0].Layer != 1 {
		t.Errorf("top of layer 1: %v (zero scores are never picked)", top)
	}
	if _, err := Top([][]float64{{1}}, 1, []int{3}); err == nil {
		t.Error("no error for a layer that does not exist")
	}
	m := Mask([]int{2, 3}, []Neuron{{Layer: 1, Index: 2}})
	if m[0] != nil || !m[1][2] || m[1][0] {
		t.Errorf("mask %v", m)
	}
}
