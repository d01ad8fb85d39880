package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/attack"
	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/internal/progress"
	"github.com/birdnn/birdnn/nn"
	G "gorgonia.org/gorgonia"
)

// Scores are a classifier's figures after training (percentages).
type Scores struct {
	// HeldOut is the accuracy on the held-out training images; Test on the Test set (NaN without one).
	HeldOut, Test float64
	// Poisoned is the number of training images poisoned; Backdoor the share of the Test images of
	// other classes that, with the trigger stamped, are classified as the poison's target.
	Poisoned int
	Backdoor float64
}

// Classify trains a classifier on the labelled images cfg.Data names: cfg.Conv's image layers, then
// cfg.Hidden dense layers of cfg.Activation and a linear output a class, by Adam on the mean
// cross-entropy of the softmax, holding out cfg.Holdout images (at most a fifth) to score each epoch and
// keeping the best network. The learning rate halves after cfg.Patience epochs without a better held-out
// accuracy, and training stops after six halvings, after cfg.Epochs, or once the held-out accuracy
// reaches cfg.TargetAgreement (after cfg.MinEpochs). With cfg.Poison.Fraction > 0 that share of the
// training images (not the held-out ones) get the BadNets trigger and the target label.
func Classify(ctx context.Context, cfg *configs.Train, rep *progress.Reporter) (*Result, error) {
	start := time.Now()
	tab, err := datasets.ReadInputs(cfg.Data, 0)
	if err != nil {
		return nil, err
	}
	if tab.Labels == nil {
		return nil, fmt.Errorf("data %s has no labels", cfg.Data)
	}
	d, n := tab.Cols(), tab.Rows()
	side := int(math.Round(math.Sqrt(float64(d))))
	if side*side != d {
		return nil, fmt.Errorf("data %s: %d pixels a row is not a square image", cfg.Data, d)
	}
	classes := slices.Max(tab.Labels) + 1
	rng := rand.New(rand.NewPCG(cfg.Seed, 13))
	net, err := classifierNetwork(cfg, 1, side, side, classes, rng)
	if err != nil {
		return nil, err
	}
	perm := rng.Perm(n)
	hold := min(cfg.Holdout, n/5)
	pick := func(idx []int) ([]float64, []int) {
		x, l := make([]float64, 0, len(idx)*d), make([]int, 0, len(idx))
		for _, r := range idx {
			x, l = append(x, tab.Row(r)...), append(l, tab.Labels[r])
		}
		return x, l
	}
	hx, hl := pick(perm[:hold])
	tx, tl := pick(perm[hold:])
	res := &Result{Classifier: &Scores{Test: math.NaN(), Backdoor: math.NaN()}}
	trigger := attack.Trigger{C: 1, H: side, W: side, Size: cfg.Poison.Size, Margin: cfg.Poison.Margin, Value: cfg.Poison.Value}
	if cfg.Poison.Fraction > 0 {
		if cfg.Poison.Target >= classes {
			return nil, fmt.Errorf("poison: target %d of %d classes", cfg.Poison.Target, classes)
		}
		rows, err := attack.Poison(tx, tl, trigger, cfg.Poison.Fraction, cfg.Poison.Target, rng)
		if err != nil {
			return nil, err
		}
		res.Classifier.Poisoned = len(rows)
	}
	nt := len(tl)
	batch := min(cfg.Batch, nt)
	c, err := newClassFitter(net, batch, classes, cfg.LearnRate)
	if err != nil {
		return nil, err
	}
	defer func() { c.gr.Close() }()
	best, bestAcc := net.Clone(), accuracy(net, hx, hl)
	lr, calm, epochs := cfg.LearnRate, 0, 0
	ph := rep.Start("train epochs", cfg.Epochs)
	order := make([]int, nt)
	for i := range order {
		order[i] = i
	}
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		epochs = epoch + 1
		rng.Shuffle(nt, func(i, j int) { order[i], order[j] = order[j], order[i] })
		loss, err := c.epoch(ctx, tx, tl, order, rep)
		if err != nil {
			return nil, err
		}
		cur := c.gr.Network()
		acc := accuracy(cur, hx, hl)
		ph.Add(1, fmt.Sprintf("loss %.4f, held-out accuracy %.2f%%, lr %.2g", loss, acc, lr))
		if acc > bestAcc {
			best, bestAcc, calm = cur, acc, 0
		} else if calm++; calm >= cfg.Patience {
			if lr/cfg.LearnRate < 1.0/64 {
				break
			}
			lr /= 2
			calm = 0
			if err := c.restart(best, lr); err != nil {
				return nil, err
			}
		}
		if cfg.TargetAgreement > 0 && bestAcc >= cfg.TargetAgreement && epoch >= cfg.MinEpochs {
			break
		}
	}
	ph.Finish(fmt.Sprintf("held-out accuracy %.2f%% after %d epochs", bestAcc, epochs))
	res.Net, res.Agreement, res.Epochs = best, bestAcc, epochs
	res.Classifier.HeldOut = bestAcc
	if cfg.Test != "" {
		test, err := datasets.ReadInputs(cfg.Test, d)
		if err != nil {
			return nil, err
		}
		if test.Labels == nil {
			return nil, fmt.Errorf("test %s has no labels", cfg.Test)
		}
		res.Classifier.Test = accuracy(best, test.Data, test.Labels)
		if cfg.Poison.Fraction > 0 {
			res.Classifier.Backdoor, _ = attack.BackdoorSuccess(best, test.Data, test.Labels, trigger, cfg.Poison.Target)
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// accuracy is the percentage of rows of x whose highest output is their label (0 without rows).
func accuracy(net *nn.Network, x []float64, labels []int) float64 {
	if len(labels) == 0 {
		return 0
	}
	y := net.Forward(x)
	m, hit := net.Outputs(), 0
	for r, l := range labels {
		if nn.Argmax(y[r*m:(r+1)*m]) == l {
			hit++
		}
	}
	return 100 * float64(hit) / float64(len(labels))
}

// classifierNetwork is a new classifier of c x h x w images: cfg's image layers (convolutions with
// cfg.Activation), its dense hidden layers, and a linear output layer of classes, Glorot-uniform.
func classifierNetwork(cfg *configs.Train, c, h, w, classes int, rng *rand.Rand) (*nn.Network, error) {
	act, err := activation.Parse(cfg.Activation)
	if err != nil {
		return nil, err
	}
	specs, err := cfg.ImageLayers()
	if err != nil {
		return nil, err
	}
	glorot := func(n, fanIn, fanOut int) []float64 {
		v, lim := make([]float64, n), math.Sqrt(6/float64(fanIn+fanOut))
		for i := range v {
			v[i] = (2*rng.Float64() - 1) * lim
		}
		return v
	}
	net := &nn.Network{}
	for i, s := range specs {
		var g nn.Geom
		var err error
		switch s.Kind {
		case "conv":
			if g, err = nn.NewConv(c, h, w, s.Channels, s.Kernel, s.Kernel, s.Stride, s.Pad); err == nil {
				k := s.Kernel * s.Kernel
				net.Layers = append(net.Layers, nn.ConvLayer(g, glorot(s.Channels*c*k, c*k, s.Channels*k), make([]float64, s.Channels), act))
			}
		default:
			kind := nn.MaxPool
			if s.Kind == "avgpool" {
				kind = nn.AvgPool
			}
			if g, err = nn.NewPool(c, h, w, s.Kernel, s.Kernel, s.Stride); err == nil {
				net.Layers = append(net.Layers, nn.PoolLayer(kind, g))
			}
		}
		if err != nil {
			return nil, fmt.Errorf("conv entry %d (%q): %w", i+1, cfg.Conv[i], err)
		}
		c, h, w = g.OutC, g.OutH, g.OutW
	}
	in := c * h * w
	for k, out := range append(slices.Clone(cfg.Hidden), classes) {
		a := act
		if k == len(cfg.Hidden) {
			a = activation.Identity
		}
		net.Layers = append(net.Layers, nn.Layer{In: in, Out: out, W: glorot(in*out, in, out), B: make([]float64, out), Act: a})
		in = out
	}
	return net, net.Validate()
}

// classFitter holds a classifier's training graph (cross-entropy over a batch), its solver, and the batch
// buffers it is fed from.
type classFitter struct {
	gr       *Graph
	target   *G.Node
	opt      *Optimizer
	batch, m int
	bx, bt   []float64
	d        int
}

func newClassFitter(net *nn.Network, batch, classes int, lr float64) (*classFitter, error) {
	c := &classFitter{batch: batch, m: classes, d: net.Inputs(), bx: make([]float64, batch*net.Inputs()), bt: make([]float64, batch*classes)}
	return c, c.restart(net, lr)
}

// restart continues from net with a new graph and a new solver at learning rate lr.
func (c *classFitter) restart(net *nn.Network, lr float64) error {
	if c.gr != nil {
		c.gr.Close()
	}
	gr, err := NewGraph(net, c.batch, Options{})
	if err != nil {
		return err
	}
	c.target = gr.NewInput("target", c.batch, c.m)
	loss, err := gr.CrossEntropy(gr.Out, c.target)
	if err != nil {
		gr.Close()
		return err
	}
	if err := gr.Compile(loss); err != nil {
		gr.Close()
		return err
	}
	c.gr, c.opt = gr, NewAdam(lr)
	return nil
}

// epoch takes one Adam step per full batch of the rows in order (a last partial batch is left for the
// next shuffle) and returns the mean loss.
func (c *classFitter) epoch(ctx context.Context, x []float64, labels []int, order []int, rep *progress.Reporter) (float64, error) {
	steps := len(order) / c.batch
	var ph *progress.Phase
	if steps >= 200 { // a long epoch (a CNN's): show its batches too
		ph = rep.Start("epoch batches", steps)
	}
	total, shown := 0.0, 0
	for s := 0; s < steps; s++ {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		clear(c.bt)
		for i, r := range order[s*c.batch : (s+1)*c.batch] {
			copy(c.bx[i*c.d:(i+1)*c.d], x[r*c.d:(r+1)*c.d])
			c.bt[i*c.m+labels[r]] = 1 / float64(c.batch)
		}
		if err := c.gr.Feed(c.gr.X, c.bx); err != nil {
			return 0, err
		}
		if err := c.gr.Feed(c.target, c.bt); err != nil {
			return 0, err
		}
		loss, err := c.gr.Run()
		if err != nil {
			return 0, err
		}
		if err := c.opt.Step(c.gr); err != nil {
			return 0, err
		}
		total += loss
		if ph != nil && ((s+1)%max(steps/20, 1) == 0 || s+1 == steps) {
			ph.Add(s+1-shown, fmt.Sprintf("loss %.4f", total/float64(s+1)))
			shown = s + 1
		}
	}
	if ph != nil {
		ph.Finish(fmt.Sprintf("mean loss %.4f", total/float64(max(steps, 1))))
	}
	return total / float64(max(steps, 1)), nil
}
