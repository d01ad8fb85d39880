package samplewise

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/imitate"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/netio"
)

func demoConfig(t *testing.T, sets ...string) *configs.Repair {
	t.Helper()
	y, err := configs.Get("demo")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.LoadRepair("", y, sets)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestLoadRejectsMismatchedDimensions(t *testing.T) {
	cfg := demoConfig(t, "property=data:acasxu/vnnlib/prop_1.vnnlib")
	if _, err := Load(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "declares 5 inputs") {
		if err != nil && strings.Contains(err.Error(), "data folder not found") {
			t.Skip("no shared data")
		}
		t.Fatalf("error %v", err)
	}
}

// repairDemo loads the demo problem of cfg and repairs it.
func repairDemo(t *testing.T, cfg *configs.Repair) (*Problem, *Result) {
	t.Helper()
	p, err := Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), cfg, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p, res
}

// TestEveryRowContributes checks that one epoch's batch losses add up to the loss of every row computed
// row by row with the plain forward pass: a batching that dropped or repeated rows (the published code
// trained on two rows a batch) would not add up.
func TestEveryRowContributes(t *testing.T) {
	cfg := demoConfig(t)
	p, err := Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	neg, pos := imitate.Record(p.Net, p.Neg), imitate.Record(p.Net, p.Pos)
	assign, _ := imitate.Assign(neg, pos, imitate.NearestInput, 1)
	in := fitInput{prop: p.Prop, neg: neg, pos: pos, expected: imitate.Expected(pos, assign)}
	spec := cfg.Retrain.Train
	scale := outputScale(neg, pos)
	cs := newCaseSets(p.Prop)
	rows := buildRows(p.Net, in, spec, scale, cs)
	want := rows.score(p.Net, p.Prop, spec.Margin*scale).loss
	conjs, caseConj := cs.all, cs.conj
	// One batch, batches with a short last one, and even batches.
	for _, batch := range []int{rows.n, 256, 100, evenBatch(rows.n, 256)} {
		spec.LearnRate = 1e-300 // steps that do not move the weights
		tr, err := newTrainer(p.Net, rows, conjs, batch, nil, spec.Margin*scale, spec, spec.LearnRate)
		if err != nil {
			t.Fatal(err)
		}
		perm := make([]int, rows.n)
		for i := range perm {
			perm[i] = (i * 7919) % rows.n // a fixed shuffle
		}
		got, err := tr.epoch(perm, nil, caseConj)
		tr.gr.Close()
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want) > 1e-9*math.Max(1, want) || want == 0 {
			t.Errorf("batch %d: epoch loss %v, row-by-row loss %v", batch, got, want)
		}
	}
}

// TestEvenBatch checks batch sizes worked out by hand: the fewest passes of at most limit rows, with the
// rows spread so that no pass is short by a row or more.
func TestEvenBatch(t *testing.T) {
	for _, c := range []struct{ n, limit, want int }{
		{4209, 4096, 2105},  // 2 passes: 2105 + 2104, not 4096 + 113
		{16664, 4096, 3333}, // 5 passes: 4 x 3333 + 3332
		{6144, 4096, 3072},
		{4096, 4096, 4096},
		{4097, 4096, 2049},
		{100, 4096, 100},
		{1, 4096, 1},
		{0, 4096, 1},
		{10, 0, 1},
	} {
		if got := evenBatch(c.n, c.limit); got != c.want {
			t.Errorf("evenBatch(%d, %d) = %d, want %d", c.n, c.limit, got, c.want)
		}
	}
}

// TestEpochLen checks that epochLen counts the rows epochOrder lists.
func TestEpochLen(t *testing.T) {
	rs := &rowSet{n: 4209 + 2048, nNeg: 113, nPos: 4096}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ perClass, want int }{{0, 6257}, {2048, 113 + 2048 + 2048}, {100, 300}} {
		order, _ := rs.epochOrder(rng, c.perClass)
		if got := rs.epochLen(c.perClass); got != c.want || len(order) != c.want {
			t.Errorf("perClass %d: epochLen %d, epochOrder lists %d rows, want %d", c.perClass, got, len(order), c.want)
		}
	}
}

// TestDemoRepair repairs the built-in demo with both paradigms and checks the report's promises.
func TestDemoRepair(t *testing.T) {
	for _, paradigm := range []string{"finetune", "retrain"} {
		cfg := demoConfig(t, "paradigm="+paradigm)
		_, res := repairDemo(t, cfg)
		r := res.Report
		if r.RepairSuccessRate != 100 || r.Generalization < 99 || r.Drawdown > 1 || r.Fidelity.Domain < 90 {
			t.Errorf("%s: success %v, generalization %v, drawdown %v, domain fidelity %v", paradigm, r.RepairSuccessRate, r.Generalization, r.Drawdown, r.Fidelity.Domain)
		}
		if paradigm == "finetune" && r.NeuronsChanged > cfg.Localize.TopK {
			t.Errorf("fine-tuning changed %d neurons, more than the %d localized", r.NeuronsChanged, cfg.Localize.TopK)
		}
		if r.Counts.RepairNegatives == 0 || r.Seconds["total"] <= 0 {
			t.Errorf("report incomplete: %+v", r)
		}
		js, err := r.JSON()
		if err != nil || !strings.Contains(string(js), `"repair_success_rate": 100`) {
			t.Errorf("report JSON: %v\n%s", err, js)
		}
	}
}

// TestSameSeedSameResult runs the demo twice: the repaired networks are identical.
func TestSameSeedSameResult(t *testing.T) {
	var nets [2][]float64
	for i := range nets {
		_, res := repairDemo(t, demoConfig(t, "finetune.train.epochs=5"))
		for _, l := range res.Repaired.Layers {
			nets[i] = append(append(nets[i], l.W...), l.B...)
		}
	}
	if !reflect.DeepEqual(nets[0], nets[1]) {
		t.Error("the same seed gave different networks")
	}
}

// A violation that uniform samples miss: y0 = relu(x0) on [0, 1]², unsafe where y0 >= 1 - 1e-9, a sliver
// on the face x0 = 1. Load must draw samples around counterexamples, and every negative it keeps must be
// one (checked on x0 directly, since y0 = x0 on the box).
func TestLoadFocusesOnRareViolations(t *testing.T) {
	dir := t.TempDir()
	net := &nn.Network{Layers: []nn.Layer{
		{In: 2, Out: 2, W: []float64{1, 0, 0, 1}, B: []float64{0, 0}, Act: activation.ReLU},
		{In: 2, Out: 2, W: []float64{1, 0, 0, 0}, B: []float64{0, 0.5}, Act: activation.Identity},
	}}
	netPath, propPath := filepath.Join(dir, "net.onnx"), filepath.Join(dir, "p.vnnlib")
	if err := netio.Save(netPath, net, netio.Options{}); err != nil {
		t.Fatal(err)
	}
	const th = 1 - 1e-9
	vnnlib := `(declare-const X_0 Real)
(declare-const X_1 Real)
(declare-const Y_0 Real)
(declare-const Y_1 Real)
(assert (>= X_0 0))
(assert (<= X_0 1))
(assert (>= X_1 0))
(assert (<= X_1 1))
(assert (>= Y_0 0.999999999))
`
	if err := os.WriteFile(propPath, []byte(vnnlib), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.LoadRepair("", []byte("network: "+netPath+"\nproperty: "+propPath+"\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p.Focus == 0 || len(p.Neg) == 0 || len(p.TestNeg) == 0 {
		t.Fatalf("focus on %d counterexamples, %d repair and %d test negatives", p.Focus, len(p.Neg)/2, len(p.TestNeg)/2)
	}
	for _, neg := range [][]float64{p.Neg, p.TestNeg} {
		for r := 0; r < len(neg)/2; r++ {
			if neg[2*r] < th {
				t.Fatalf("negative %v: x0 below %v", neg[2*r:2*r+2], th)
			}
		}
	}
	if n := (len(p.Neg) + len(p.Pos)) / 2; n != cfg.Dataset.Samples {
		t.Fatalf("%d repair inputs, want %d", n, cfg.Dataset.Samples)
	}
}

func TestFigurePercent(t *testing.T) {
	for _, c := range []struct {
		f    Figure
		want string
	}{{Figure(math.NaN()), "n/a"}, {99.5, "99.50%"}, {0, "0.00%"}, {100, "100.00%"}} {
		if got := c.f.Percent(); got != c.want {
			t.Errorf("Figure(%g).Percent() = %q, want %q", float64(c.f), got, c.want)
		}
	}
}

// TestFitRoundSafeSlack starts a training run from a repaired demo network (every repair row safe) on a
// loss whose optimum is the original, unsafe network (negatives imitate their own original outputs; no
// violation term): training drifts back towards it, and the safe start is soon far off the best loss. The
// run must return the best network, not the start, and report its unsafe rows (and the negatives among
// them) as the property counts them directly; a run on the demo's own retraining loss from the original
// must count right too. Each run must also return a network that leaves every negative safe.
func TestFitRoundSafeSlack(t *testing.T) {
	cfg := demoConfig(t, "paradigm=retrain")
	p, res := repairDemo(t, cfg)
	neg, pos := imitate.Record(p.Net, p.Neg), imitate.Record(p.Net, p.Pos)
	assign, _ := imitate.Assign(neg, pos, imitate.NearestInput, 1)
	scale := outputScale(neg, pos)
	cs := newCaseSets(p.Prop)
	x := append(append([]float64(nil), neg.Inputs...), pos.Inputs...) // the repair rows' inputs
	// unsafeRows counts the repair rows, and the negatives among them, that net leaves unsafe.
	unsafeRows := func(net *nn.Network) (n, nNeg int) {
		d, m := net.Inputs(), net.Outputs()
		y := net.Forward(x)
		for r := 0; r < len(x)/d; r++ {
			if p.Prop.Unsafe(x[r*d:(r+1)*d], y[r*m:(r+1)*m]) {
				n++
				if r < neg.N {
					nNeg++
				}
			}
		}
		return n, nNeg
	}
	if u, _ := unsafeRows(res.Repaired); u != 0 {
		t.Fatalf("the repaired network leaves %d repair rows unsafe", u)
	}
	for _, c := range []struct {
		name       string
		start      *nn.Network
		expected   *imitate.Behaviour
		gamma      float64
		wantUnsafe bool
	}{
		{"drift back from the repaired network", res.Repaired, neg, 0, true},
		{"repair the original", p.Net, imitate.Expected(pos, assign), cfg.Retrain.Train.Gamma, false},
	} {
		in := fitInput{prop: p.Prop, neg: neg, pos: pos, expected: c.expected}
		spec := cfg.Retrain.Train
		spec.Gamma = c.gamma
		rows := buildRows(p.Net, in, spec, scale, cs)
		best, fixed, err := fitRound(context.Background(), c.start, rows, cs, spec, nil, spec.Margin*scale, 1, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if u, uNeg := unsafeRows(best.net); u != best.unsafe || uNeg != best.unsafeNeg || (u > 0) != c.wantUnsafe {
			t.Errorf("%s: %d unsafe repair rows (%d negatives), fitRound says %d (%d), want unsafe %v", c.name, u, uNeg, best.unsafe, best.unsafeNeg, c.wantUnsafe)
		}
		// Both runs pass a network with every negative safe (the start of the first, the result of the
		// second), so each must return one.
		if fixed.net == nil {
			t.Errorf("%s: no network with every negative safe", c.name)
		} else if _, uNeg := unsafeRows(fixed.net); uNeg != 0 {
			t.Errorf("%s: the network returned as fixing every negative leaves %d unsafe", c.name, uNeg)
		}
	}
}

// TestStandIn: a network that fixes every negative stands in for the round's best only within fixedSlack
// of its loss (the losses are N2,9's elu student's, sample-wise retraining: rounds 4 and 1).
func TestStandIn(t *testing.T) {
	net := &nn.Network{}
	for _, c := range []struct {
		name string
		b, f scored
		want bool
	}{
		{"1.42 times the loss", scored{loss: 0.7234, unsafe: 1, unsafeNeg: 1}, scored{net: net, loss: 1.026}, true},
		{"21 times the loss", scored{loss: 0.5838, unsafe: 35, unsafeNeg: 35}, scored{net: net, loss: 12.08}, false},
		{"twice the loss", scored{loss: 1, unsafeNeg: 1}, scored{net: net, loss: 2}, true},
		{"none", scored{loss: 1, unsafeNeg: 1}, scored{loss: math.Inf(1)}, false},
	} {
		if got := standIn(c.b, c.f); got != c.want {
			t.Errorf("%s: standIn %v, want %v", c.name, got, c.want)
		}
	}
}

// TestStale: fit stops only when every negative is safe and no fewer rows are unsafe than in an earlier
// round that also had every negative safe.
func TestStale(t *testing.T) {
	second := &scored{unsafe: 1}
	for _, c := range []struct {
		name  string
		least *scored
		b     scored
		want  bool
	}{
		{"N1,9 elu, third round", second, scored{unsafe: 2}, true},
		{"as many unsafe", second, scored{unsafe: 1}, true},
		{"fewer unsafe", &scored{unsafe: 3}, scored{unsafe: 1}, false},
		{"negatives unsafe", second, scored{unsafe: 4, unsafeNeg: 2}, false},
		{"no earlier round with every negative safe", nil, scored{unsafe: 2}, false},
	} {
		if got := stale(c.least, c.b); got != c.want {
			t.Errorf("%s: stale %v, want %v", c.name, got, c.want)
		}
	}
}

// TestScoreLeavesAnchorsOut: score counts the unsafe negatives and positives, counted here by the
// property itself, and not the anchors, even where they are unsafe (here: the negatives' own inputs, on
// the original network, which is unsafe on every one of them).
func TestScoreLeavesAnchorsOut(t *testing.T) {
	cfg := demoConfig(t)
	p, err := Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	neg, pos := imitate.Record(p.Net, p.Neg), imitate.Record(p.Net, p.Pos)
	anchors := imitate.Record(p.Net, p.Neg[:10*p.Net.Inputs()])
	cs := newCaseSets(p.Prop)
	rows := buildRows(p.Net, fitInput{prop: p.Prop, neg: neg, pos: pos, anchors: anchors, expected: neg}, cfg.Retrain.Train, 1, cs)
	want := 0
	x := append(append([]float64(nil), p.Neg...), p.Pos...)
	y := p.Net.Forward(x)
	d, m := p.Net.Inputs(), p.Net.Outputs()
	for r := 0; r < len(x)/d; r++ {
		if p.Prop.Unsafe(x[r*d:(r+1)*d], y[r*m:(r+1)*m]) {
			want++
		}
	}
	got := rows.score(p.Net, p.Prop, 0)
	if want != neg.N || got.unsafe != want || got.unsafeNeg != neg.N {
		t.Errorf("score: %d unsafe (%d negatives), want %d (%d); %d negatives", got.unsafe, got.unsafeNeg, want, neg.N, neg.N)
	}
}
