package train

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/internal/progress"
	"github.com/birdnn/birdnn/nn"
)

// TestClassifierNetwork checks the layer sizes of a CNN built from conv entries, worked out by hand:
// 28 -(3x3)-> 26 -(3x3, stride 2, pad 1)-> 13 -(max 2)-> 6 -(avg 3, stride 1)-> 4, then dense.
func TestClassifierNetwork(t *testing.T) {
	cfg := configs.TrainDefaults()
	cfg.Conv = []string{"conv 4 3", "conv 6 3 2 1", "maxpool 2", "avgpool 3 1"}
	cfg.Hidden = []int{20}
	cfg.Activation = "relu"
	net, err := classifierNetwork(&cfg, 1, 28, 28, 10, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind    nn.Kind
		in, out int
	}{{nn.Conv, 784, 4 * 26 * 26}, {nn.Conv, 4 * 26 * 26, 6 * 13 * 13}, {nn.MaxPool, 6 * 13 * 13, 6 * 6 * 6}, {nn.AvgPool, 6 * 36, 6 * 16}, {nn.Dense, 96, 20}, {nn.Dense, 20, 10}}
	if len(net.Layers) != len(want) {
		t.Fatalf("%d layers, want %d", len(net.Layers), len(want))
	}
	for k, w := range want {
		if l := net.Layers[k]; l.Kind != w.kind || l.In != w.in || l.Out != w.out {
			t.Errorf("layer %d: %s %d -> %d, want %s %d -> %d", k, l.Kind, l.In, l.Out, w.kind, w.in, w.out)
		}
	}
	cfg.Conv = []string{"conv 4 29"}
	if _, err := classifierNetwork(&cfg, 1, 28, 28, 10, rand.New(rand.NewPCG(1, 2))); err == nil {
		t.Error("a 29x29 kernel on a 28x28 image: no error")
	}
}

// TestClassifyPoisoned trains a small FC classifier on the MNIST test set with 5% of it poisoned, and
// checks the reported accuracy against a recount and that the backdoor took.
func TestClassifyPoisoned(t *testing.T) {
	test, err := datasets.MNIST("test")
	if err != nil {
		t.Skipf("skipping: MNIST not available (%v)", err)
	}
	cfg := configs.TrainDefaults()
	cfg.Data, cfg.Test = "data:mnist/test", "data:mnist/test"
	cfg.Hidden, cfg.Activation = []int{32}, "relu"
	cfg.Epochs, cfg.Batch, cfg.LearnRate, cfg.Holdout = 3, 64, 0.002, 1000
	cfg.Poison = configs.Poison{Fraction: 0.05, Target: 0, Size: 3, Margin: 1, Value: 1}
	res, err := Classify(context.Background(), &cfg, progress.To(nil))
	if err != nil {
		t.Fatal(err)
	}
	s := res.Classifier
	y := res.Net.Forward(test.Data)
	hit := 0
	for r, l := range test.Labels {
		if nn.Argmax(y[r*10:(r+1)*10]) == l {
			hit++
		}
	}
	if want := 100 * float64(hit) / float64(len(test.Labels)); math.Abs(s.Test-want) > 1e-9 {
		t.Errorf("test accuracy %v, recount %v", s.Test, want)
	}
	if s.Poisoned != 450 || !(s.Backdoor > 90) || !(s.Test > 85) {
		t.Errorf("poisoned %d images, backdoor success %.2f%%, accuracy %.2f%%: want 450, > 90%%, > 85%%", s.Poisoned, s.Backdoor, s.Test)
	}
}
