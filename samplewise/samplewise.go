// Package samplewise repairs a network on sampled inputs by behaviour imitation (BIRDNN): it finds the
// inputs a network gets wrong and the correct behaviour near them, then retrains the network or fine-tunes
// its most faulty neurons so that the wrong inputs imitate the correct behaviour while the rest stays put,
// and measures the result.
package samplewise

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/falsify"
	"github.com/birdnn/birdnn/imitate"
	"github.com/birdnn/birdnn/internal/progress"
	"github.com/birdnn/birdnn/localize"
	"github.com/birdnn/birdnn/minimal"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/netio"
	"github.com/birdnn/birdnn/property"
	"github.com/birdnn/birdnn/verify"
)

// Problem is what a repair works on: the network, its property, and the repair and test inputs, split by
// the original network into negatives (violating) and positives (satisfying). Inputs are row-major.
type Problem struct {
	Net      *nn.Network
	Prop     *property.Property
	Neg, Pos []float64
	// TestNeg and TestPos are held out: generalization and drawdown are measured on them.
	TestNeg, TestPos []float64
	// Start, when set, is the network gradient training starts from (an earlier repair of Net, in
	// domain-wise repair); targets, imitation and every measure still refer to Net.
	Start *nn.Network
	// Hard lists inputs (row-major; each also among Neg or Pos) that get the larger margin
	// configs.TrainSpec.HardMargin: domain-wise repair puts there the samples of the boxes its verifier left open.
	Hard []float64
	// Focus is how many counterexamples the samples were drawn around, when uniform samples held no
	// negative (0: none needed).
	Focus int
	// NetworkPath and PropertyPath name the files, for the report.
	NetworkPath, PropertyPath string
	// Classifier says the network is a classifier (a labelled dataset): fidelity compares classes,
	// the highest outputs, instead of the lowest.
	Classifier bool
}

// Result is a finished repair.
type Result struct {
	Repaired *nn.Network
	Report   *Report
}

// Load builds the problem a configuration describes: it reads the network, the property and the data,
// checks that their dimensions agree, and splits the inputs into negatives and positives. ctx bounds the
// verifier's search for counterexamples when sampling finds none.
func Load(ctx context.Context, cfg *configs.Repair) (*Problem, error) {
	netPath, err := datasets.Resolve(cfg.Network)
	if err != nil {
		return nil, err
	}
	net, err := netio.Load(netPath)
	if err != nil {
		return nil, err
	}
	d := cfg.Dataset
	var repairX, testX []float64
	var repairL, testL []int
	for i, f := range []string{d.Negatives, d.Positives, d.TestNegatives, d.TestPositives} {
		x, l, err := readRows(f, net, d)
		if err != nil {
			return nil, err
		}
		if i < 2 {
			repairX, repairL = append(repairX, x...), append(repairL, l...)
		} else {
			testX, testL = append(testX, x...), append(testL, l...)
		}
	}
	var prop *property.Property
	propNames := cfg.Properties
	if len(propNames) == 0 && cfg.Property != "" {
		propNames = []string{cfg.Property}
	}
	if len(propNames) == 0 {
		// A classifier's repair: every input must get its label.
		prop, err = property.Classified(append(slices.Clone(repairX), testX...), net.Inputs(), append(slices.Clone(repairL), testL...), net.Outputs(), d.Margin)
		if err != nil {
			return nil, err
		}
		propNames = []string{fmt.Sprintf("classified as labelled (margin %g)", d.Margin)}
	} else {
		var props []*property.Property
		for _, name := range propNames {
			propPath, err := datasets.Resolve(name)
			if err != nil {
				return nil, err
			}
			prop, err := property.ReadFile(propPath)
			if err != nil {
				return nil, err
			}
			if err := prop.Check(net.Inputs(), net.Outputs()); err != nil {
				return nil, fmt.Errorf("%s and %s: %w", name, cfg.Network, err)
			}
			props = append(props, prop)
		}
		if prop, err = property.Merge(props...); err != nil {
			return nil, err
		}
	}
	p := &Problem{Net: net, Prop: prop, NetworkPath: cfg.Network, PropertyPath: strings.Join(propNames, " + "), Classifier: d.Labelled}
	if d.Negatives == "" {
		repairX = prop.Sample(rand.New(rand.NewPCG(cfg.Seed, 1)), d.Samples)
	}
	if d.TestNegatives == "" && d.TestPositives == "" {
		testX = prop.Sample(rand.New(rand.NewPCG(cfg.Seed, 2)), d.TestSamples)
	}
	p.Neg, p.Pos = imitate.Split(net, prop, repairX)
	p.TestNeg, p.TestPos = imitate.Split(net, prop, testX)
	if len(p.Neg) == 0 && cfg.Mode != "domain" && d.Negatives == "" {
		// Sampled, and no negative among the samples: draw half of each set around counterexamples.
		sec := d.FocusSeconds
		if sec <= 0 {
			sec = 60
		}
		cx := verify.Counterexamples(ctx, net, prop, 50, time.Duration(sec*float64(time.Second)), cfg.Seed)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if cx == nil {
			return nil, fmt.Errorf("%s satisfies %s on all %d repair samples, and neither a search nor the verifier (%gs) found a counterexample: nothing to repair",
				cfg.Network, cfg.Property, len(repairX)/net.Inputs(), sec)
		}
		p.Focus = len(cx) / net.Inputs()
		repairX = focusSamples(prop, repairX, cx, cfg.Seed)
		if d.TestNegatives == "" && d.TestPositives == "" {
			testX = focusSamples(prop, testX, cx, cfg.Seed+1)
		}
		p.Neg, p.Pos = imitate.Split(net, prop, repairX)
		p.TestNeg, p.TestPos = imitate.Split(net, prop, testX)
	}
	if len(p.Neg) == 0 && cfg.Mode != "domain" {
		return nil, fmt.Errorf("%s satisfies %s on all %d repair inputs: nothing to repair", cfg.Network, cfg.Property, len(repairX)/net.Inputs())
	}
	return p, nil
}

// readRows reads one dataset file for net: a CSV (with its class label as the last column when the
// dataset is labelled) or data:mnist/*, its first d.Limit rows when d.Limit > 0. Labels are returned
// for a labelled dataset only.
func readRows(ref string, net *nn.Network, d configs.Dataset) ([]float64, []int, error) {
	if ref == "" {
		return nil, nil, nil
	}
	in := net.Inputs()
	var t *datasets.Table
	var err error
	if strings.HasPrefix(ref, "data:mnist/") {
		if t, err = datasets.ReadInputs(ref, in); err != nil {
			return nil, nil, err
		}
	} else {
		rp, err := datasets.Resolve(ref)
		if err != nil {
			return nil, nil, err
		}
		cols := in
		if d.Labelled {
			cols++
		}
		if t, err = datasets.ReadCSVFile(rp, cols); err != nil {
			return nil, nil, err
		}
		if d.Labelled {
			x := make([]float64, 0, t.Rows()*in)
			t.Labels = make([]int, t.Rows())
			for r := 0; r < t.Rows(); r++ {
				row := t.Row(r)
				l := row[in]
				if l != math.Trunc(l) || l < 0 || int(l) >= net.Outputs() {
					return nil, nil, fmt.Errorf("%s: row %d: label %v is not a class of %d", ref, r+1, l, net.Outputs())
				}
				x, t.Labels[r] = append(x, row[:in]...), int(l)
			}
			t.Data = x
		}
	}
	n := t.Rows()
	if t.Labels != nil {
		n = len(t.Labels)
	}
	if d.Limit > 0 && d.Limit < n {
		n = d.Limit
	}
	x := t.Data[:n*in]
	if !d.Labelled {
		return x, nil, nil
	}
	if t.Labels == nil {
		return nil, nil, fmt.Errorf("%s has no labels", ref)
	}
	return x, t.Labels[:n], nil
}

// focusSamples keeps the first half of the samples x and replaces the rest with points drawn within 1%
// of the box's width around the counterexamples cx (as many around each as fit).
func focusSamples(prop *property.Property, x, cx []float64, seed uint64) []float64 {
	d := prop.Inputs
	n := len(x) / d
	keep := n - n/2
	k := len(cx) / d
	around := falsify.Around(prop, cx, (n-keep+k-1)/k, 0.01, seed)
	return append(x[:keep*d:keep*d], around[:min(len(around), (n-keep)*d)]...)
}

// Run repairs p as cfg says, reporting progress to rep (which may be nil). It stops with ctx's error
// when ctx ends.
func Run(ctx context.Context, cfg *configs.Repair, p *Problem, rep *progress.Reporter) (*Result, error) {
	start := time.Now()
	report := &Report{Paradigm: cfg.Paradigm, Network: p.NetworkPath, Property: p.PropertyPath, Seed: cfg.Seed, Seconds: map[string]float64{}}
	switch cfg.Paradigm {
	case "minimal", "constraint":
		report.Optimizer = "linear program (" + cfg.Minimal.Norm + ")"
		t0 := time.Now()
		var repaired *nn.Network
		var res *minimal.Result
		var err error
		if cfg.Paradigm == "constraint" {
			report.Optimizer = "linear program: the LP relaxation of NNrepair's MaxSMT problem"
			if cfg.Constraint.Solver == "exact" {
				report.Optimizer = "branch and bound: NNrepair's MaxSMT problem, exactly (then the least L1 change)"
			}
			repaired, res, report.MaxSat, err = runConstraint(ctx, cfg, p)
		} else {
			repaired, res, err = runMinimal(ctx, cfg, p)
		}
		if err != nil {
			return nil, err
		}
		report.Minimal = res
		report.Seconds["repair"] = time.Since(t0).Seconds()
		t0 = time.Now()
		measure(report, p, repaired, cfg.Eval.DomainSamples, cfg.Seed)
		report.Seconds["evaluate"] = time.Since(t0).Seconds()
		report.Seconds["total"] = time.Since(start).Seconds()
		return &Result{Repaired: repaired, Report: report}, nil
	case "finetune":
		report.Optimizer = cfg.Finetune.Optimizer
	default:
		report.Optimizer = cfg.Retrain.Train.Optimizer
	}
	d := p.Net.Inputs()
	phase := func(name string, t0 time.Time) { report.Seconds[name] = time.Since(t0).Seconds() }

	// Imitation: positives near the negatives, and the behaviour each negative should imitate.
	t0 := time.Now()
	pool := p.Pos
	if cfg.Imitate.Search || len(p.Pos) == 0 {
		ph := rep.Start("search positives", 1)
		opt := imitate.DefaultSearch
		opt.Radius, opt.PerNegative = cfg.Imitate.Radius, cfg.Imitate.PerNegative
		found, missing, err := imitate.FindPositives(p.Net, p.Prop, p.Neg, opt, cfg.Seed)
		if err != nil {
			return nil, err
		}
		ph.Add(1, "")
		ph.Finish(fmt.Sprintf("%d found, %d negatives without one", len(found)/d, missing))
		pool = append(append([]float64(nil), p.Pos...), found...)
	}
	if len(pool) == 0 {
		return nil, fmt.Errorf("no positive inputs found to imitate")
	}
	neg := imitate.Record(p.Net, p.Neg)
	pos := imitate.Record(p.Net, pool)
	target, _ := imitate.ParseTarget(cfg.Imitate.Target)
	assign, err := imitate.Assign(neg, pos, target, cfg.Imitate.K)
	if err != nil {
		return nil, err
	}
	expected := imitate.Expected(pos, assign)
	var anchors *imitate.Behaviour
	if dc := cfg.Dataset; dc.Anchors > 0 || (dc.ShellAnchors > 0 && p.Prop != nil) {
		box, _, _ := p.Net.DomainBox(p.Prop)
		x := box.Sample(rand.New(rand.NewPCG(cfg.Seed, 6)), dc.Anchors)
		if dc.ShellAnchors > 0 && p.Prop != nil {
			x = append(x, p.Prop.Shell(rand.New(rand.NewPCG(cfg.Seed, 7)), box, dc.ShellWidth, dc.ShellAnchors)...)
		}
		anchors = imitate.Record(p.Net, x)
	}
	phase("imitate", t0)

	var repaired *nn.Network
	switch cfg.Paradigm {
	case "retrain":
		t0 = time.Now()
		repaired, err = fit(ctx, p.start(), fitInput{prop: p.Prop, neg: neg, pos: pos, anchors: anchors, expected: expected, hard: hardSet(p), classifier: p.Classifier}, cfg.Retrain.Train, nil, cfg.Seed, rep)
		phase("repair", t0)
	case "finetune":
		t0 = time.Now()
		var neurons []localize.Neuron
		ph := rep.Start("localize", 1)
		if neurons, err = localizeNeurons(cfg, p, neg, pos, expected); err != nil {
			return nil, err
		}
		ph.Add(1, "")
		ph.Finish(fmt.Sprintf("%d neurons (%s)", len(neurons), cfg.Localize.Method))
		report.Localized = neurons
		phase("localize", t0)
		t0 = time.Now()
		if cfg.Finetune.Optimizer == "pso" {
			if !p.Net.AllDense() {
				return nil, fmt.Errorf("finetune.optimizer pso: %w (use gradient)", nn.ErrNotDense)
			}
			var cost float64
			repaired, cost, err = runPSO(ctx, p.Net, p.Prop, neg, pos, neurons, cfg.Finetune.PSO, cfg.Seed, rep)
			report.PSOCost = Figure(cost)
		} else {
			mask := localize.Mask(maskSizes(p.Net), neurons)
			units := make([][]bool, len(mask))
			for k := range mask {
				units[k] = unitMask(&p.Net.Layers[k], mask[k])
			}
			repaired, err = fit(ctx, p.start(), fitInput{prop: p.Prop, neg: neg, pos: pos, anchors: anchors, expected: expected, mask: units, hard: hardSet(p), classifier: p.Classifier}, cfg.Finetune.Train, mask, cfg.Seed, rep)
		}
		phase("repair", t0)
	}
	if err != nil {
		return nil, err
	}
	t0 = time.Now()
	measure(report, p, repaired, cfg.Eval.DomainSamples, cfg.Seed)
	phase("evaluate", t0)
	report.Seconds["total"] = time.Since(start).Seconds()
	return &Result{Repaired: repaired, Report: report}, nil
}

// start is the network training starts from.
func (p *Problem) start() *nn.Network {
	if p.Start != nil {
		return p.Start
	}
	return p.Net
}

// hardSet returns p.Hard as a set of row keys.
func hardSet(p *Problem) map[string]bool {
	d := p.Net.Inputs()
	set := map[string]bool{}
	for i := 0; i+d <= len(p.Hard); i += d {
		set[rowKey(p.Hard[i:i+d])] = true
	}
	return set
}

// localizeNeurons scores the neurons and picks the top k.
func localizeNeurons(cfg *configs.Repair, p *Problem, neg, pos, expected *imitate.Behaviour) ([]localize.Neuron, error) {
	method, err := localize.ParseMethod(cfg.Localize.Method)
	if err != nil {
		return nil, err
	}
	in := localize.Inputs{Pos: pos, Neg: neg, Expected: expected}
	if method == localize.Gradient {
		margin := cfg.Finetune.Train.Margin * outputScale(neg, pos)
		if in.Grads, err = violationGrads(p.Net, p.Prop, p.Neg, margin); err != nil {
			return nil, err
		}
	}
	scores, err := localize.Scores(method, in)
	if err != nil {
		return nil, err
	}
	neurons, err := localize.Top(channelScores(p.Net, scores), cfg.Localize.TopK, cfg.Localize.Layers)
	if err != nil {
		return nil, fmt.Errorf("localize: %w", err)
	}
	if len(neurons) == 0 {
		return nil, fmt.Errorf("localize: no neuron scores above 0")
	}
	return neurons, nil
}

// Decision is the network's decision on one row of outputs: the argmax for a classifier's problem, else
// the argmin.
func (p *Problem) Decision() func([]float64) int {
	if p.Classifier {
		return nn.Argmax
	}
	return nn.Argmin
}

// Agreement is the percentage of rows (m outputs each) of ya and yb whose decisions agree: the argmax
// for a classifier's problem, else the argmin (nn.ClassAgreement, nn.Agreement).
func (p *Problem) Agreement(ya, yb []float64, m int) float64 {
	if p.Classifier {
		return nn.ClassAgreement(ya, yb, m)
	}
	return nn.Agreement(ya, yb, m)
}

// Measure fills r's figures for the repaired network against p: repair success, generalization,
// drawdown, fidelity on held-out positives and on domainSamples uniform samples of the input domain.
func Measure(r *Report, p *Problem, repaired *nn.Network, domainSamples int, seed uint64) {
	measure(r, p, repaired, domainSamples, seed)
}

// measure fills the report's figures by comparing the repaired network with the original. Each set is
// run through each network once.
func measure(r *Report, p *Problem, repaired *nn.Network, domainSamples int, seed uint64) {
	net, prop := p.Net, p.Prop
	d, m := net.Inputs(), net.Outputs()
	pct := func(a, b int) Figure {
		if b == 0 {
			return Figure(math.NaN())
		}
		return Figure(100 * float64(a) / float64(b))
	}
	rows := func(x []float64) int { return len(x) / d }
	// unsafe counts the rows of x whose outputs y violate the property.
	unsafe := func(x, y []float64) int {
		c := 0
		for i := 0; i < rows(x); i++ {
			if prop.Unsafe(x[i*d:(i+1)*d], y[i*m:(i+1)*m]) {
				c++
			}
		}
		return c
	}
	r.Counts.RepairNegatives, r.Counts.RepairPositives = rows(p.Neg), rows(p.Pos)
	r.Counts.TestNegatives, r.Counts.TestPositives = rows(p.TestNeg), rows(p.TestPos)
	r.RepairSuccessRate = pct(rows(p.Neg)-unsafe(p.Neg, repaired.Forward(p.Neg)), rows(p.Neg))
	r.Generalization = pct(rows(p.TestNeg)-unsafe(p.TestNeg, repaired.Forward(p.TestNeg)), rows(p.TestNeg))
	// Repair positives that became unsafe, for completeness.
	r.RepairDrawdown = pct(unsafe(p.Pos, repaired.Forward(p.Pos)), rows(p.Pos))

	y0, y1 := net.Forward(p.TestPos), repaired.Forward(p.TestPos)
	r.Drawdown = pct(unsafe(p.TestPos, y1), rows(p.TestPos))
	agree := p.Agreement
	r.Fidelity.Decision = "argmin"
	if p.Classifier {
		r.Fidelity.Decision = "argmax"
	}
	r.Fidelity.HeldOutPositives = Figure(agree(y0, y1, m))
	if len(y0) > 0 {
		num, den := 0.0, 0.0
		for i := range y0 {
			num += (y1[i] - y0[i]) * (y1[i] - y0[i])
			den += y0[i] * y0[i]
		}
		r.OutputDeviation = Figure(math.Sqrt(num / den))
	}

	box, name, _ := net.DomainBox(prop)
	r.Fidelity.DomainBox = name
	r.Fidelity.DomainSamples = domainSamples
	if p.Classifier {
		domainSamples = 0 // uniform noise over an image's pixel box says nothing of a classifier
		r.Fidelity.DomainSamples = 0
	}
	if domainSamples > 0 {
		x := box.Sample(rand.New(rand.NewPCG(seed, 3)), domainSamples)
		r.Fidelity.Domain = Figure(agree(net.Forward(x), repaired.Forward(x), m))
	}
	r.NeuronsChanged, r.ParametersChanged = changed(net, repaired)
	if p.Classifier {
		// The negatives are the misclassified inputs: accuracy before is the positives' share, after the
		// share of inputs left safe.
		n, np := rows(p.Neg), rows(p.Pos)
		tn, tp := rows(p.TestNeg), rows(p.TestPos)
		fixed := n - unsafe(p.Neg, repaired.Forward(p.Neg))
		kept := np - unsafe(p.Pos, repaired.Forward(p.Pos))
		tfixed := tn - unsafe(p.TestNeg, repaired.Forward(p.TestNeg))
		tkept := tp - unsafe(p.TestPos, y1)
		r.Accuracy = &Accuracy{RepairBefore: pct(np, n+np), RepairAfter: pct(fixed+kept, n+np),
			HeldOutBefore: pct(tp, tn+tp), HeldOutAfter: pct(tfixed+tkept, tn+tp)}
	}
}

// changed counts the neurons whose incoming weights or bias differ, and the parameters that differ.
func changed(a, b *nn.Network) (neurons, params int) {
	for k := range a.Layers {
		la, lb := &a.Layers[k], &b.Layers[k]
		units := len(la.B) // a dense layer's neurons, a convolution's channels (none for pooling)
		if units == 0 {
			continue
		}
		per := len(la.W) / units
		for j := 0; j < units; j++ {
			c := 0
			for i := j * per; i < (j+1)*per; i++ {
				if la.W[i] != lb.W[i] {
					c++
				}
			}
			if la.B[j] != lb.B[j] {
				c++
			}
			if c > 0 {
				neurons++
				params += c
			}
		}
	}
	return neurons, params
}

// unitMask expands a layer's mask by channel (a convolution's) to one by unit, as behaviours are
// recorded; other layers' masks are by unit already.
func unitMask(l *nn.Layer, m []bool) []bool {
	if l.Kind != nn.Conv || m == nil {
		return m
	}
	per := l.Geom.OutH * l.Geom.OutW
	out := make([]bool, l.Out)
	for c, on := range m {
		if on {
			for u := c * per; u < (c+1)*per; u++ {
				out[u] = true
			}
		}
	}
	return out
}

// channelScores turns localization scores by unit into scores by what training can move alone: a
// convolution's channels (the sum of their units' scores), none for pooling layers.
func channelScores(net *nn.Network, scores [][]float64) [][]float64 {
	out := make([][]float64, len(scores))
	for k, l := range net.Layers {
		switch l.Kind {
		case nn.Dense:
			out[k] = scores[k]
		case nn.Conv:
			per := l.Geom.OutH * l.Geom.OutW
			out[k] = make([]float64, l.Geom.OutC)
			for u, v := range scores[k] {
				out[k][u/per] += v
			}
		default:
			out[k] = make([]float64, 1) // a pooling layer has no parameters: a zero score is never picked
		}
	}
	return out
}

// maskSizes is the length of each layer's mask: neurons, channels, or 1 for pooling (never set).
func maskSizes(net *nn.Network) []int {
	out := make([]int, len(net.Layers))
	for k, l := range net.Layers {
		switch l.Kind {
		case nn.Dense:
			out[k] = l.Out
		case nn.Conv:
			out[k] = l.Geom.OutC
		default:
			out[k] = 1
		}
	}
	return out
}
