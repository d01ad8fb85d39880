package attack

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/nn"
)

// TestStamp checks the trigger's pixels by hand on a 2 x 5 x 4 image: a 2 x 2 square 1 pixel from the
// bottom and right edges covers rows 2-3 and columns 1-2 of each channel.
func TestStamp(t *testing.T) {
	tr := Trigger{C: 2, H: 5, W: 4, Size: 2, Margin: 1, Value: 9}
	x := make([]float64, 40)
	tr.Stamp(x)
	var got []int
	for i, v := range x {
		if v == 9 {
			got = append(got, i)
		}
	}
	want := []int{9, 10, 13, 14, 29, 30, 33, 34} // (c*5 + row)*4 + col
	if !slices.Equal(got, want) {
		t.Errorf("stamped %v, want %v", got, want)
	}
	for _, bad := range []Trigger{{C: 1, H: 3, W: 3, Size: 3, Margin: 1}, {C: 0, H: 3, W: 3, Size: 1}, {C: 1, H: 3, W: 3, Size: 0}} {
		if bad.Check() == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func TestPoison(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tr := Trigger{C: 1, H: 4, W: 4, Size: 1, Value: 1}
	labels := []int{0, 1, 2, 0, 1, 2, 0, 1, 2, 3}
	x := make([]float64, 16*len(labels))
	orig := slices.Clone(labels)
	rows, err := Poison(x, labels, tr, 0.3, 0, rng)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("poisoned %d rows, want 3", len(rows))
	}
	for r := range labels {
		poisoned := slices.Contains(rows, r)
		if poisoned && (orig[r] == 0 || labels[r] != 0 || x[r*16+15] != 1) {
			t.Errorf("row %d (label %d): poisoned badly (label %d, pixel %v)", r, orig[r], labels[r], x[r*16+15])
		}
		if !poisoned && (labels[r] != orig[r] || x[r*16+15] != 0) {
			t.Errorf("row %d: changed but not poisoned", r)
		}
	}
	if _, err := Poison(x, labels, tr, 0.9, 0, rng); err == nil {
		t.Error("more to poison than there are: no error")
	}
}

// TestBackdoorSuccess: a linear classifier that answers class 1 exactly when the corner pixel is lit has
// a backdoor that succeeds on every image of class 0.
func TestBackdoorSuccess(t *testing.T) {
	tr := Trigger{C: 1, H: 2, W: 2, Size: 1, Value: 1}
	net := &nn.Network{Layers: []nn.Layer{{In: 4, Out: 2, W: []float64{0, 0, 0, 0, 0, 0, 0, 1}, B: []float64{0.5, 0}, Act: activation.Identity}}}
	x := []float64{0.2, 0.3, 0.1, 0, 0.9, 0.9, 0.9, 0, 0, 0, 0, 0}
	if got, n := BackdoorSuccess(net, x, []int{0, 0, 1}, tr, 1); got != 100 || n != 2 {
		t.Errorf("success %v%% of %d, want 100%% of 2", got, n)
	}
}

// TestTriggerMethod: the trigger attack on the corner-pixel classifier turns every correctly classified
// image of class 0 into class 1, and leaves the others as they were.
func TestTriggerMethod(t *testing.T) {
	tr := Trigger{C: 1, H: 2, W: 2, Size: 1, Value: 1}
	net := &nn.Network{Layers: []nn.Layer{{In: 4, Out: 2, W: []float64{0, 0, 0, 0, 0, 0, 0, 1}, B: []float64{0.5, 0}, Act: activation.Identity}}}
	x := []float64{0.2, 0.3, 0.1, 0, 0.9, 0.9, 0.9, 0, 0, 0, 0, 0.9}
	res, err := Run(net, x, []int{0, 0, 1}, Options{Method: "trigger", Trigger: &tr, Target: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Attacked != 2 || res.Success != 100 || res.X[3] != 1 || res.X[7] != 1 || res.X[11] != 0.9 {
		t.Errorf("attacked %d, success %v%%, x %v", res.Attacked, res.Success, res.X)
	}
	if _, err := Run(net, x, []int{0, 0, 1}, Options{Method: "trigger", Target: 1}); err == nil {
		t.Error("trigger method without a trigger: no error")
	}
}
