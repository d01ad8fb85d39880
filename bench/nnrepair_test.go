package bench

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/minimal"
	"github.com/birdnn/birdnn/nn"
)

// TestBackdoorSmall: before the repair the poisoned model shows NNrepair's published clean accuracy
// (98.63%) and the backdoor of results/mnist-models (99.92% to 7); the least change of the last layer on
// 30 triggered and 100 clean training images already breaks most of the backdoor.
func TestBackdoorSmall(t *testing.T) {
	if _, err := datasets.MNIST("test"); err != nil {
		t.Skipf("skipping: MNIST not available (%v)", err)
	}
	rows, err := RunBackdoor(context.Background(), BackdoorOptions{Fix: 30, Keep: 100, Margin: 0.01, Norms: []minimal.Norm{minimal.LInf}}, nil)
	if err != nil || len(rows) != 1 || rows[0].Err != "" {
		t.Fatalf("%v %+v", err, rows)
	}
	r := rows[0]
	if math.Abs(r.CleanBefore-98.63) > 1e-9 || math.Abs(r.BackdoorBefore-99.92) > 0.005 {
		t.Errorf("before: clean %.4f%% (published 98.63), backdoor %.4f%% (99.92)", r.CleanBefore, r.BackdoorBefore)
	}
	if !(r.BackdoorAfter < 50) || !(r.TriggeredAfter > r.TriggeredBefore+30) || !(r.Change > 0) || r.LowerBound > r.Change*(1+1e-6) {
		t.Errorf("after: %+v", r)
	}
	if md := string(BackdoorMarkdown(rows, BackdoorOptions{Fix: 30, Keep: 100, Margin: 0.01})); len(md) == 0 {
		t.Error("no table")
	}
}

// localizeLastLayer by hand: h = (1, 2) reaches a last layer with rows (-1, 0.5), (0, 0), (3, 1), so
// y = (0, 0, 5) answers 2 for label 0. Scores: w_20 h_0 = 3 (index 4), w_21 h_1 = 2 (index 5), and
// -w_00 h_0 = 1 (index 0); -w_01 h_1 < 0 scores nothing.
func TestLocalizeLastLayer(t *testing.T) {
	net := &nn.Network{Layers: []nn.Layer{
		{In: 2, Out: 2, W: []float64{1, 0, 0, 1}, B: []float64{0, 0}, Act: activation.ReLU},
		{In: 2, Out: 3, W: []float64{-1, 0.5, 0, 0, 3, 1}, B: []float64{0, 0, 0}, Act: activation.Identity},
	}}
	in := minimal.Input{X: []float64{1, 2}, Rows: minimal.DecisionRows(3, 0, true, 0)}
	if got := localizeLastLayer(net, []minimal.Input{in}, 3); !slices.Equal(got, []int{4, 5, 0}) {
		t.Errorf("localized %v, want [4 5 0]", got)
	}
}
