package bench

import (
	"context"
	"math"
	"testing"

	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/minimal"
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
