package experts

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/minimal"
	"github.com/birdnn/birdnn/nn"
)

// TestDecide checks every strategy on hand-made outputs of three experts, the answers worked out by hand
// (confidences: softmax [2,0,0] -> e^2/(e^2+2) = 0.787, [0,0,3] -> 0.909, [0,0,1] -> 0.576).
func TestDecide(t *testing.T) {
	outs := [][]float64{{2, 0, 0}, {0, 0, 3}, {0, 0, 1}} // classes 0, 2, 2: experts 0 and 2 claim
	noClaim := [][]float64{{0, 5, 0}, {0, 0, 5}, {4, 0, 0}}
	for _, tt := range []struct {
		name string
		s    Strategy
		orig []float64
		outs [][]float64
		prec []float64
		want int
	}{
		{"naive follows the original's class 1 to expert 1", Naive, []float64{0, 1, 0}, outs, nil, 2},
		{"naive follows the original's class 0 to expert 0", Naive, []float64{1, 0, 0}, outs, nil, 0},
		{"average of logits [2/3, 0, 4/3]", Average, nil, outs, nil, 2},
		{"votes: two for class 2", Votes, nil, outs, nil, 2},
		{"conf: expert 0 (0.787) over expert 2 (0.576)", Conf, nil, outs, nil, 0},
		{"prec: expert 0 (0.9) over expert 2 (0.8)", Prec, nil, outs, []float64{0.9, 0.1, 0.8}, 0},
		{"pvc: 0.8*2/3*0.576 = 0.307 over 0.9*1/3*0.787 = 0.236", PVC, nil, outs, []float64{0.9, 0.1, 0.8}, 2},
		{"prec: expert 2 (0.8) over expert 0 (0.5)", Prec, nil, outs, []float64{0.5, 0.9, 0.8}, 2},
		{"conf without a claim: votes tie, support 0.987 for classes 1 and 2, the lower wins", Conf, nil, noClaim, nil, 1},
		{"votes tie broken by support: class 1 (0.987) over class 0 (0.965)", Votes, nil, noClaim, nil, 1},
	} {
		got, err := Decide(tt.s, tt.orig, tt.outs, tt.prec)
		if err != nil || got != tt.want {
			t.Errorf("%s: got %d, %v; want %d", tt.name, got, err, tt.want)
		}
	}
	for _, bad := range []struct {
		s    Strategy
		outs [][]float64
		prec []float64
	}{{Prec, outs, nil}, {Naive, outs, nil}, {Conf, [][]float64{{1, 2}}, nil}, {"best", outs, nil}} {
		if _, err := Decide(bad.s, nil, bad.outs, bad.prec); err == nil {
			t.Errorf("%s %v: no error", bad.s, bad.outs)
		}
	}
}

// TestBuildAndAverage: on a small random classifier, each expert built by Build satisfies its hard rows
// under a plain forward pass and moves at most the localized entries; the AVERAGE bundle's single network
// gives the mean of the experts' outputs (computed here by hand) and the same classes as the bundle.
func TestBuildAndAverage(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	net := nn.Random(rng, []int{4, 8, 3}, activation.ReLU, activation.Identity)
	x := make([]float64, 4*60)
	for i := range x {
		x[i] = rng.Float64()*2 - 1
	}
	y := net.Forward(x)
	// Failing: inputs relabelled with their second-best class; passing: others keep their class.
	var fail, pass []minimal.Input
	var labels []int
	for i := 0; i < 60; i++ {
		yi := y[i*3 : (i+1)*3]
		c := nn.Argmax(yi)
		if i < 9 {
			second := (c + 1) % 3
			if yi[(c+2)%3] > yi[second] {
				second = (c + 2) % 3
			}
			fail = append(fail, minimal.Input{X: x[i*4 : (i+1)*4], Rows: minimal.DecisionRows(3, second, true, 0.01)})
			labels = append(labels, second)
			continue
		}
		pass = append(pass, minimal.Input{X: x[i*4 : (i+1)*4], Rows: minimal.DecisionRows(3, c, true, 0)})
	}
	const k = 4
	exps, results, err := Build(context.Background(), net, fail, labels, pass, BuildOptions{Minimal: minimal.Options{Layer: -1, Norm: minimal.L1, Limit: 0.5}, Localized: k})
	if err != nil {
		t.Fatal(err)
	}
	for l, e := range exps {
		moved := 0
		for i, w := range e.Layers[1].W {
			if w != net.Layers[1].W[i] {
				moved++
			}
		}
		if moved > k {
			t.Errorf("expert %d moved %d weights, localized %d", l, moved, k)
		}
		for _, in := range pass {
			out := e.Forward(in.X)
			for _, r := range in.Rows {
				v := 0.0
				for j, c := range r.Coef {
					v += c * out[j]
				}
				if v < r.Bound-1e-7 {
					t.Errorf("expert %d breaks a hard row: %g < %g", l, v, r.Bound)
				}
			}
		}
		if results[l] == nil && moved > 0 {
			t.Errorf("expert %d: no result but moved", l)
		}
	}
	b := &Bundle{Strategy: Average, Original: net, Experts: exps}
	one, err := b.Network()
	if err != nil {
		t.Fatal(err)
	}
	classes, err := b.Classify(x)
	if err != nil {
		t.Fatal(err)
	}
	yo := one.Forward(x)
	for i := 0; i < 60; i++ {
		for c := 0; c < 3; c++ {
			mean := 0.0
			for _, e := range exps {
				mean += e.Forward(x[i*4 : (i+1)*4])[c] / 3
			}
			if math.Abs(yo[i*3+c]-mean) > 1e-12 {
				t.Fatalf("input %d output %d: average network %g, mean of experts %g", i, c, yo[i*3+c], mean)
			}
		}
		if nn.Argmax(yo[i*3:(i+1)*3]) != classes[i] {
			t.Errorf("input %d: average network says %d, the bundle %d", i, nn.Argmax(yo[i*3:(i+1)*3]), classes[i])
		}
	}
	if _, err := (&Bundle{Strategy: Conf, Original: net, Experts: exps}).Network(); err == nil {
		t.Error("CONF as one network: no error")
	}
}

// TestBundleRoundTrip: a bundle written and read back classifies every input as before, for every
// strategy; a bundle naming a network outside its folder, or of another format, is refused.
func TestBundleRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	net := nn.Random(rng, []int{4, 6, 3}, activation.ReLU, activation.Identity)
	var exps []*nn.Network
	for l := 0; l < 3; l++ {
		e := net.Clone()
		for i := range e.Layers[1].W {
			e.Layers[1].W[i] += 0.3 * (rng.Float64() - 0.5)
		}
		exps = append(exps, e)
	}
	x := make([]float64, 4*50)
	for i := range x {
		x[i] = rng.Float64()*2 - 1
	}
	dir := t.TempDir()
	for _, st := range Strategies {
		b := &Bundle{Strategy: st, Original: net, Experts: exps, Precision: []float64{0.9, 0.8, 0.95}}
		name := "bundle-" + string(st) + ".json"
		if err := WriteBundle(dir, name, b); err != nil {
			t.Fatal(err)
		}
		back, err := ReadBundle(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := b.Classify(x)
		got, err := back.Classify(x)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: read back classifies %v, written %v (%v)", st, got, want, err)
		}
	}
	for name, body := range map[string]string{
		"outside.json": `{"format": "birdnn-experts/1", "strategy": "conf", "original": "../original.onnx", "experts": []}`,
		"format.json":  `{"format": "other", "strategy": "conf", "original": "original.onnx"}`,
		"broken.json":  `{"format": `,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadBundle(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
