package train

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	G "gorgonia.org/gorgonia"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/internal/progress"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/netio"
	"github.com/birdnn/birdnn/property"
)

// TestFromReLU checks the rewritten network against the teacher: each hidden neuron is off by at most
// 1/k (elu, alpha 1/k, here exact in float32) or log(2)/k (softplus), so the outputs differ by at most
// that error carried through the absolute weights, computed here layer by layer. The elu network keeps
// the teacher's weights.
func TestFromReLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	teacher := nn.Random(rng, []int{3, 12, 12, 2}, activation.ReLU, activation.Identity)
	for _, tc := range []struct {
		act string
		per float64
	}{{"elu", 1}, {"softplus", math.Ln2}} {
		act, _ := activation.Parse(tc.act)
		const k = 1024
		s, err := FromReLU(teacher, act, k)
		if err != nil {
			t.Fatal(err)
		}
		if tc.act == "elu" {
			for li, l := range s.Layers {
				if !slices.Equal(l.W, teacher.Layers[li].W) || !slices.Equal(l.B, teacher.Layers[li].B) {
					t.Errorf("elu: layer %d's weights are not the teacher's", li)
				}
				if li < len(s.Layers)-1 && l.Act.Param != 1.0/k {
					t.Errorf("elu: layer %d: alpha %v, want 1/%d", li, l.Act.Param, k)
				}
			}
		}
		// Error bound: e_1 = per/k on each neuron of layer 1; e_{l+1} = |W| e_l + per/k (activations are
		// 1-Lipschitz); the output gets |W_L| e_{L-1}.
		e := []float64{}
		for i := 0; i < teacher.Layers[0].Out; i++ {
			e = append(e, tc.per/k)
		}
		for li := 1; li < len(teacher.Layers); li++ {
			l := teacher.Layers[li]
			next := make([]float64, l.Out)
			for j := range next {
				for i := 0; i < l.In; i++ {
					next[j] += math.Abs(l.W[j*l.In+i]) * e[i]
				}
				if li < len(teacher.Layers)-1 {
					next[j] += tc.per / k
				}
			}
			e = next
		}
		x := make([]float64, 3*500)
		for i := range x {
			x[i] = 4*rng.Float64() - 2
		}
		ya, yb := teacher.Forward(x), s.Forward(x)
		for i := range ya {
			if d := math.Abs(ya[i] - yb[i]); d > e[i%2]*(1+1e-9)+1e-12 {
				t.Fatalf("%s: output %d off by %g, bound %g", tc.act, i, d, e[i%2])
			}
		}
	}
	if _, err := FromReLU(teacher, activation.Tanh, 10); err == nil {
		t.Error("tanh accepted")
	}
}

// TestTrainCSV learns a small labelled dataset (two classes split by a line) from a CSV and must reach
// high held-out agreement.
func TestTrainCSV(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "d.csv")
	rng := rand.New(rand.NewPCG(5, 6))
	f, _ := os.Create(path)
	f.WriteString("x0,x1,label\n")
	for i := 0; i < 4000; i++ {
		a, b := 2*rng.Float64()-1, 2*rng.Float64()-1
		c := 0
		if a+0.5*b > 0.1 {
			c = 1
		}
		f.WriteString(fmtRow(a, b, c))
	}
	f.Close()
	set, err := ReadCSV(path, 2, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	cfg := configs.TrainDefaults()
	cfg.Hidden, cfg.Activation, cfg.Epochs, cfg.Holdout, cfg.Batch, cfg.LearnRate = []int{16}, "tanh", 60, 500, 128, 0.01
	res, err := Fit(context.Background(), set, &cfg, progress.To(nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.Agreement < 97 {
		t.Fatalf("held-out agreement %.2f%%, want >= 97%%", res.Agreement)
	}
	if _, err := ReadCSV(path, 2, 1, true); err == nil {
		t.Error("label 1 accepted with one output")
	}
}

// TestTrainResume: training started from a saved network (init) with a negligible learning rate returns
// that network's function, widened or not; a saved network that is wider, of another depth or of another
// activation is refused.
func TestTrainResume(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 8))
	saved := nn.Random(rng, []int{2, 16, 2}, activation.Tanh, activation.Identity)
	path := filepath.Join(dir, "start.onnx")
	if err := netio.Save(path, saved, netio.Options{}); err != nil {
		t.Fatal(err)
	}
	x := make([]float64, 2*600)
	for i := range x {
		x[i] = 2*rng.Float64() - 1
	}
	set := &Set{X: x, Y: saved.Forward(x), D: 2, M: 2}
	for _, tc := range []struct {
		name   string
		hidden []int
		act    string
		ok     bool
	}{
		{"same shape", []int{16}, "tanh", true},
		{"wider", []int{24}, "tanh", true},
		{"narrower", []int{8}, "tanh", false},
		{"other depth", []int{16, 16}, "tanh", false},
		{"other activation", []int{16}, "sigmoid", false},
	} {
		cfg := configs.TrainDefaults()
		cfg.Hidden, cfg.Activation, cfg.Epochs, cfg.Holdout, cfg.Batch, cfg.LearnRate = tc.hidden, tc.act, 1, 100, 50, 1e-12
		cfg.Init = path
		res, err := Fit(context.Background(), set, &cfg, progress.To(nil))
		if !tc.ok {
			if err == nil {
				t.Errorf("%s: accepted", tc.name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want, got := saved.Forward(x[:20]), res.Net.Forward(x[:20])
		for i := range want {
			// The ONNX file holds float32 weights: the outputs agree to about 1e-6.
			if math.Abs(want[i]-got[i]) > 1e-5 {
				t.Fatalf("%s: output %d is %v, the saved network gives %v", tc.name, i, got[i], want[i])
			}
		}
	}
}

// TestWiden: a widened network computes the original's outputs, and its new neurons have random incoming
// weights (so that they differ from one another) and zero weights into the original neurons.
func TestWiden(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	net := nn.Random(rng, []int{3, 5, 4, 2}, activation.Sigmoid, activation.Identity)
	wide := widen(net, []int{3, 9, 7, 2}, rng)
	for k, want := range []int{9, 7, 2} {
		if l := wide.Layers[k]; l.Out != want || l.In != []int{3, 9, 7}[k] || len(l.W) != l.In*l.Out {
			t.Fatalf("layer %d: %d x %d with %d weights, want %d outputs", k, l.Out, l.In, len(l.W), want)
		}
	}
	x := make([]float64, 3*50)
	for i := range x {
		x[i] = 4*rng.Float64() - 2
	}
	want, got := net.Forward(x), wide.Forward(x)
	for i := range want {
		if math.Abs(want[i]-got[i]) > 1e-12 {
			t.Fatalf("output %d: %v, the original gives %v", i, got[i], want[i])
		}
	}
	l1, l2 := wide.Layers[0], wide.Layers[1]
	for j := 5; j < 9; j++ {
		if l1.W[j*3] == 0 || l1.W[j*3] == l1.W[(j-1)*3] {
			t.Errorf("new neuron %d of layer 1: incoming weight %v", j, l1.W[j*3])
		}
		for o := 0; o < 4; o++ { // to the original neurons; the new ones' are muted in turn
			if l2.W[o*9+j] != 0 {
				t.Errorf("new neuron %d of layer 1: weight to original neuron %d is %v", j, o, l2.W[o*9+j])
			}
		}
	}
}

func fmtRow(a, b float64, c int) string {
	return strconvF(a) + "," + strconvF(b) + "," + string(rune('0'+c)) + "\n"
}

func strconvF(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// TestConvert: a random tanh network and its sigmoid rewrite (and back) compute the same outputs.
func TestConvert(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	tn := nn.Random(rng, []int{4, 10, 10, 3}, activation.Tanh, activation.Identity)
	sn, err := Convert(tn, activation.Sigmoid)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Convert(sn, activation.Tanh)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, 4*200)
	for i := range x {
		x[i] = 6*rng.Float64() - 3
	}
	y0, y1, y2 := tn.Forward(x), sn.Forward(x), back.Forward(x)
	for i := range y0 {
		if math.Abs(y0[i]-y1[i]) > 1e-12 || math.Abs(y0[i]-y2[i]) > 1e-12 {
			t.Fatalf("output %d: tanh %v, sigmoid %v, back %v", i, y0[i], y1[i], y2[i])
		}
	}
	if _, err := Convert(sn, activation.Sigmoid); err == nil {
		t.Error("converted a sigmoid network to sigmoid")
	}
}

// TestConfigErrors: bad configs are refused before any work, with the key named.
// TestStandardize: each row becomes zero-mean with its spread (nearly) one, computed by hand here, and
// the order of the outputs within a row is kept.
func TestStandardize(t *testing.T) {
	y := []float64{1, 2, 3, 10, 10, 13}
	standardize(y, 3)
	// Row 1: mean 2, deviations -1, 0, 1, spread sqrt(2/3); row 2: mean 11, deviations -1, -1, 2,
	// spread sqrt(2). The floor is a thousandth of their mean spread.
	floor := 1e-3 * (math.Sqrt(2.0/3) + math.Sqrt(2)) / 2
	want := []float64{-1, 0, 1, -1, -1, 2}
	spread := []float64{math.Sqrt(2.0 / 3), math.Sqrt(2)}
	for i, w := range want {
		if got := y[i]; math.Abs(got-w/(spread[i/3]+floor)) > 1e-12 {
			t.Fatalf("y[%d] = %v, want %v", i, got, w/(spread[i/3]+floor))
		}
	}
}

// TestMineFindsDisagreements: every mined input (each fourth row; the others are its neighbours) is one
// where the two networks decide differently, and the targets are the teacher's.
func TestMineFindsDisagreements(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	teacher := nn.Random(rng, []int{2, 8, 3}, activation.ReLU, activation.Identity)
	student := nn.Random(rng, []int{2, 8, 3}, activation.Tanh, activation.Identity)
	box := property.Box{Lo: []float64{-1, -1}, Hi: []float64{1, 1}}
	cfg := configs.TrainDefaults()
	x, y := mine(student, teacher, box, 50, rng, &cfg)
	if len(x) == 0 || len(x)%(4*2) != 0 || len(y) != len(x)/2*3 {
		t.Fatalf("mined %d inputs, %d targets", len(x), len(y))
	}
	want := teacher.Forward(x)
	for r := 0; r < len(x)/2; r++ {
		if r%4 == 0 && nn.Argmin(student.Forward(x[2*r:2*r+2])) == nn.Argmin(want[3*r:3*r+3]) {
			t.Fatalf("row %d: the networks agree", r)
		}
		for i := 0; i < 3; i++ {
			if y[3*r+i] != want[3*r+i] {
				t.Fatalf("row %d: target %g, teacher %g", r, y[3*r+i], want[3*r+i])
			}
		}
		if !box.Contains(x[2*r : 2*r+2]) {
			t.Fatalf("row %d outside the box", r)
		}
	}
}

// TestHingeRow checks one row's hinge weights and capped margins by hand: targets (0.3, 0.1, 0.5) decide
// output 1; conjunction a*2+i says y_j <= y_a, i the index of j among the outputs other than a.
func TestHingeRow(t *testing.T) {
	tgt := []float64{0.3, 0.1, 0.5}
	for _, tc := range []struct {
		name     string
		rank     bool
		margin   float64
		wantK    []float64
		wantMarg []float64
	}{
		// Decision pairs (1, 0) and (1, 2): gaps 0.2 and 0.4, half of them 0.1 and 0.2.
		{"decision", false, 0.5, []float64{0, 0, 2, 2, 0, 0}, []float64{0, 0, 0.1, 0.2, 0, 0}},
		{"decision, narrow margin", false, 0.15, []float64{0, 0, 2, 2, 0, 0}, []float64{0, 0, 0.1, 0.15, 0, 0}},
		// The whole order 1 < 0 < 2: also (0, 2), gap 0.2.
		{"rank", true, 0.5, []float64{0, 2, 2, 2, 0, 0}, []float64{0, 0.1, 0.1, 0.2, 0, 0}},
	} {
		k, mg := make([]float64, 6), []float64{9, 9, 9, 9, 9, 9}
		hingeRow(tgt, tc.rank, 2, tc.margin, k, mg)
		for i := range k {
			if k[i] != tc.wantK[i] || math.Abs(mg[i]-tc.wantMarg[i]) > 1e-15 {
				t.Fatalf("%s: weights %v margins %v, want %v and %v", tc.name, k, mg, tc.wantK, tc.wantMarg)
			}
		}
	}
}

// TestCapMarginKeepsTeacher: with the margins capped, a network that computes the targets exactly is a
// zero of the whole loss (squared error and hinge), so training leaves it where it is; with a margin
// wider than the targets' own gaps the hinge is not zero there and pulls it away.
func TestCapMarginKeepsTeacher(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 1))
	net := nn.Random(rng, []int{2, 8, 3}, activation.ReLU, activation.Identity)
	const batch = 64
	x := make([]float64, 2*batch)
	for i := range x {
		x[i] = 2*rng.Float64() - 1
	}
	y := net.Forward(x)
	dec := property.OrderConjunctions(3)
	for _, capped := range []bool{true, false} {
		gr, err := rebuild(net, batch, dec, 10, capped)
		if err != nil {
			t.Fatal(err)
		}
		bw, bk, bm := make([]float64, batch), make([]float64, batch*6), make([]float64, batch*6)
		for r := 0; r < batch; r++ {
			bw[r] = 1
			hingeRow(y[r*3:(r+1)*3], false, 1, 10, bk[r*6:(r+1)*6], bm[r*6:(r+1)*6])
		}
		for _, f := range []struct {
			n *G.Node
			v []float64
		}{{gr.X, x}, {gr.tn, y}, {gr.wn, bw}, {gr.kn, bk}, {gr.mn, bm}} {
			if f.n != nil {
				if err := gr.Feed(f.n, f.v); err != nil {
					t.Fatal(err)
				}
			}
		}
		loss, err := gr.Run()
		gr.Close()
		if err != nil {
			t.Fatal(err)
		}
		// The graph's products round differently from nn.Forward's: the squared error is about 1e-31.
		if capped && !(loss < 1e-20) || !capped && !(loss > 1) {
			t.Errorf("capped %v: loss %v at the targets' network, want 0 (rounding) capped, > 1 with margin 10", capped, loss)
		}
	}
}
