package bench

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"

	"github.com/birdnn/birdnn/attack"
	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/minimal"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/netio"
)

// BackdoorOptions set the poisoned-model table of NNrepair's MNIST scenarios.
type BackdoorOptions struct {
	// Fix is how many triggered training images (of classes other than the target) must be classified
	// as their true label; Keep how many clean training images (the first the model gets right) must keep
	// their class. Margin is the logit lead the true label must get on a triggered image.
	Fix, Keep int
	Margin    float64
	// Norms of the least change of the last layer to run (default L-infinity and L1).
	Norms []minimal.Norm
	// Localized, when positive, adds the NNrepair-style row: only that many last-layer weights may change
	// (minimal.Localize on the triggered images), each by at most Limit (NNrepair: 5 and 0.5), the triggered images are soft rows
	// and Passing clean training images per class hard ones; the LP relaxation of NNrepair's MaxSMT
	// problem (least total violation, then least L1 change) picks the change. One repair, no experts.
	Localized, Passing int
	Limit              float64
}

// BackdoorRow is one repair of the poisoned model, measured on the 10,000 MNIST test images.
type BackdoorRow struct {
	Method string `json:"method"`
	// Clean is the test accuracy, Triggered the accuracy (true labels) once the trigger is stamped on every
	// test image, Backdoor the share of the triggered images of other classes classified as the target.
	CleanBefore, CleanAfter         float64
	TriggeredBefore, TriggeredAfter float64
	BackdoorBefore, BackdoorAfter   float64
	Change                          float64 `json:"change"`
	LowerBound                      float64 `json:"lower_bound"`
	Rows, AllRows, Rounds           int
	Seconds                         float64
	Err                             string `json:"err,omitempty"`
}

// nnrepairPoisoned is NNrepair's poisoned MNIST CNN: raw pixels, a white 3x3 square one pixel from the
// bottom-right corner (../shared/datasets/nnrepair/README.md) turns its answers to 7.
const nnrepairPoisoned = "nnrepair/mnist0_poisoned.onnx"

var nnrepairTrigger = attack.Trigger{C: 1, H: 28, W: 28, Size: 3, Margin: 1, Value: 255}

// RunBackdoor repairs NNrepair's poisoned model by the least change of its last layer (package minimal):
// opt.Fix triggered training images must get their true labels back while opt.Keep clean ones keep their
// class, every row hard; the keep rows enter lazily. done is called after each row.
func RunBackdoor(ctx context.Context, opt BackdoorOptions, done func(BackdoorRow)) ([]BackdoorRow, error) {
	if len(opt.Norms) == 0 {
		opt.Norms = []minimal.Norm{minimal.LInf, minimal.L1}
	}
	if opt.Fix <= 0 || opt.Keep < 0 || !(opt.Margin >= 0) {
		return nil, fmt.Errorf("backdoor table: fix %d, keep %d, margin %v: want fix > 0, keep >= 0, margin >= 0", opt.Fix, opt.Keep, opt.Margin)
	}
	dir, err := datasets.Dir()
	if err != nil {
		return nil, err
	}
	net, err := netio.Load(filepath.Join(dir, nnrepairPoisoned))
	if err != nil {
		return nil, err
	}
	train, err := datasets.MNIST("train")
	if err != nil {
		return nil, err
	}
	test, err := datasets.MNIST("test")
	if err != nil {
		return nil, err
	}
	const px, target = 255.0, 7
	raw := func(x []float64) []float64 {
		out := make([]float64, len(x))
		for i, v := range x {
			out[i] = px * v
		}
		return out
	}
	var ins, triggered []minimal.Input
	fixed, kept := 0, 0
	for i := 0; i < len(train.Labels) && (fixed < opt.Fix || kept < opt.Keep); i++ {
		x, l := raw(train.Data[i*784:(i+1)*784]), train.Labels[i]
		if kept < opt.Keep && nn.Argmax(net.Forward(x)) == l {
			ins = append(ins, minimal.Input{X: x, Rows: minimal.DecisionRows(10, l, true, 0)})
			kept++
		}
		if fixed < opt.Fix && l != target {
			xs := append([]float64(nil), x...)
			nnrepairTrigger.Stamp(xs)
			in := minimal.Input{X: xs, Rows: minimal.DecisionRows(10, l, true, opt.Margin)}
			ins, triggered = append(ins, in), append(triggered, in)
			fixed++
		}
	}
	tx := raw(test.Data)
	ts := append([]float64(nil), tx...)
	for i := range test.Labels {
		nnrepairTrigger.Stamp(ts[i*784 : (i+1)*784])
	}
	measure := func(n *nn.Network) (clean, triggered, backdoor float64) {
		backdoor, _ = attack.BackdoorSuccess(n, tx, test.Labels, nnrepairTrigger, target)
		return 100 * classAccuracy(n, tx, test.Labels), 100 * classAccuracy(n, ts, test.Labels), backdoor
	}
	c0, t0, b0 := measure(net)
	var rows []BackdoorRow
	finish := func(row BackdoorRow, res *minimal.Result, err error) {
		if err != nil {
			row.Err = err.Error()
		} else {
			row.CleanAfter, row.TriggeredAfter, row.BackdoorAfter = measure(res.Net)
			row.Change, row.LowerBound, row.Rows, row.AllRows, row.Rounds, row.Seconds = res.Change, res.LowerBound, res.Rows, res.AllRows, res.Rounds, res.Seconds
		}
		rows = append(rows, row)
		if done != nil {
			done(row)
		}
	}
	for _, norm := range opt.Norms {
		if err := ctx.Err(); err != nil {
			return rows, err
		}
		row := BackdoorRow{Method: "least " + norm.String() + " change of the last layer (LP)", CleanBefore: c0, TriggeredBefore: t0, BackdoorBefore: b0}
		res, err := minimal.Solve(ctx, net, ins, minimal.Options{Layer: -1, Norm: norm, Lazy: opt.Keep > 0})
		if ctx.Err() != nil {
			return rows, ctx.Err()
		}
		finish(row, res, err)
	}
	if opt.Localized > 0 {
		// Failing: the triggered images, soft (unit weight a row); passing: the first Passing clean
		// training images of each class that the model gets right, hard.
		var soft []minimal.Input
		for _, in := range triggered {
			in.Weight = 1
			soft = append(soft, in)
		}
		per := make([]int, 10)
		for i := 0; i < len(train.Labels); i++ {
			l := train.Labels[i]
			if per[l] >= opt.Passing {
				continue
			}
			x := raw(train.Data[i*784 : (i+1)*784])
			if nn.Argmax(net.Forward(x)) == l {
				soft = append(soft, minimal.Input{X: x, Rows: minimal.DecisionRows(10, l, true, 0)})
				per[l]++
			}
		}
		free, err := minimal.Localize(net, triggered, minimal.Options{Layer: -1}, opt.Localized)
		if err != nil {
			return rows, err
		}
		row := BackdoorRow{Method: fmt.Sprintf("NNrepair-style: %d localized weights, |change| <= %g, LP relaxation, %d passing a class (one repair, no experts)", opt.Localized, opt.Limit, opt.Passing),
			CleanBefore: c0, TriggeredBefore: t0, BackdoorBefore: b0}
		res, err := minimal.Solve(ctx, net, soft, minimal.Options{Layer: -1, Norm: minimal.L1, Free: free, Limit: opt.Limit})
		if ctx.Err() != nil {
			return rows, ctx.Err()
		}
		finish(row, res, err)
	}
	return rows, nil
}

// BackdoorMarkdown renders the rows beside NNrepair's and VeRe's published figures.
func BackdoorMarkdown(rows []BackdoorRow, opt BackdoorOptions) []byte {
	var b bytes.Buffer
	b.WriteString("# Backdoor removal: NNrepair's poisoned MNIST CNN\n\n")
	fmt.Fprintf(&b, "%s (Conv 2 - Conv 4 - MaxPool - Dense 128 - Dense 10, raw pixels, backdoor to 7 by a white 3x3 square one pixel "+
		"from the bottom-right corner). Repair set: the first %d training images of classes other than 7 with the trigger stamped, "+
		"each to be classified as its true label by %g logits, and the first %d clean training images the model gets right, each to "+
		"keep its class (hard rows, added lazily). Measured on the 10,000 MNIST test images: clean accuracy; triggered accuracy "+
		"(the trigger stamped on every image, true labels); backdoor success (the triggered images of other classes classified 7).",
		nnrepairPoisoned, opt.Fix, opt.Margin, opt.Keep)
	if opt.Localized > 0 {
		fmt.Fprintf(&b, " NNrepair-style row: only the %d last-layer weights that contribute most to the triggered images' wrong answers "+
			"may change, each by at most %g; the triggered images are soft rows, the first %d clean training images of each class "+
			"hard ones; the program minimizes the total violation plus the L1 change (the LP relaxation of NNrepair's MaxSMT "+
			"problem); one repair for all classes, not NNrepair's ten experts.", opt.Localized, opt.Limit, opt.Passing)
	}
	b.WriteString("\n\n")
	b.WriteString("| method | clean % before -> after | triggered accuracy % before -> after | backdoor success % before -> after | change | certified lower bound | rows (of all) | rounds | s |\n")
	b.WriteString("|---|---|---|---|---:|---:|---|---:|---:|\n")
	for _, r := range rows {
		if r.Err != "" {
			fmt.Fprintf(&b, "| %s | error: %s | | | | | | | |\n", r.Method, cell(r.Err))
			continue
		}
		fmt.Fprintf(&b, "| %s | %.2f -> %.2f | %.2f -> %.2f | %.2f -> %.2f | %.4g | %.4g | %d (%d) | %d | %.1f |\n", r.Method,
			r.CleanBefore, r.CleanAfter, r.TriggeredBefore, r.TriggeredAfter, r.BackdoorBefore, r.BackdoorAfter, r.Change, r.LowerBound, r.Rows, r.AllRows, r.Rounds, r.Seconds)
	}
	b.WriteString("| NNrepair (published: last layer, 50 passing tests, CONF experts) | 98.63 -> 95.52 | 10.38 -> 55.94 | | | | | | |\n")
	b.WriteString("| VeRe (published, on its own BadNets MNIST model) | 99.70 -> 99.27 | | 99.83% of the attack defeated | | | | | 108 |\n")
	return b.Bytes()
}
