package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	G "gorgonia.org/gorgonia"

	"github.com/birdnn/birdnn/activation"
	"github.com/birdnn/birdnn/configs"
	"github.com/birdnn/birdnn/datasets"
	"github.com/birdnn/birdnn/internal/progress"
	"github.com/birdnn/birdnn/nn"
	"github.com/birdnn/birdnn/nn/netio"
	"github.com/birdnn/birdnn/property"
)

// Result is a trained network with its held-out scores.
type Result struct {
	Net *nn.Network
	// Agreement is the percentage of held-out rows whose argmin matches the target's; RMSE the output
	// error on them.
	Agreement, RMSE float64
	Epochs          int
	Seconds         float64
	// Classifier holds a classifier's scores (Classify; nil otherwise). Agreement is then its held-out
	// accuracy.
	Classifier *Scores
}

// Fit fits a new network (cfg.Hidden layers of cfg.Activation, a linear output layer) to the set,
// holding out cfg.Holdout rows to score it, with Adam, a decision hinge beside the squared error, and
// early stopping on held-out agreement. The best network on the held-out rows is returned.
func Fit(ctx context.Context, set *Set, cfg *configs.Train, rep *progress.Reporter) (*Result, error) {
	start := time.Now()
	rng := rand.New(rand.NewPCG(cfg.Seed, 12))
	hx, hy, tx, ty := holdOut(set, cfg.Holdout, rng)
	nt := len(tx) / set.D
	if nt == 0 {
		return nil, fmt.Errorf("no training rows")
	}
	net, err := initialNetwork(set, cfg, rng)
	if err != nil {
		return nil, err
	}
	// Scale: the targets' RMS, so that the weights of the loss mean the same for any output range.
	scale := 0.0
	for _, v := range ty {
		scale += v * v
	}
	scale = math.Sqrt(scale/float64(len(ty))) + 1e-12
	f, err := newFitter(net, set, cfg, min(cfg.Batch, nt), scale)
	if err != nil {
		return nil, err
	}
	defer func() { f.gr.Close() }()
	score := func(net *nn.Network) (float64, float64) { return heldOutScore(net, hx, hy, set.M) }
	best := &Result{Net: net.Clone()}
	best.Agreement, best.RMSE = score(net)
	lr, calm := cfg.LearnRate, 0
	ph := rep.Start("train epochs", cfg.Epochs)
	order := make([]int, nt)
	for i := range order {
		order[i] = i
	}
	epochs := 0
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		epochs = epoch + 1
		rng.Shuffle(nt, func(i, j int) { order[i], order[j] = order[j], order[i] })
		if err := f.epoch(tx, ty, order); err != nil {
			return nil, err
		}
		cur := f.gr.Network()
		agr, rmse := score(cur)
		if set.Teacher != nil && cfg.Mine > 0 && cfg.MineEvery > 0 && (epoch+1)%cfg.MineEvery == 0 {
			// Hard examples: where this student still decides differently from the teacher.
			if mx, my := mine(cur, set.Teacher, set.Box, cfg.Mine, rng, cfg); mx != nil {
				tx, ty = append(tx, mx...), append(ty, my...)
				for r := nt; r < len(tx)/set.D; r++ {
					order = append(order, r)
				}
				nt = len(tx) / set.D
			}
		}
		ph.Add(1, fmt.Sprintf("held-out agreement %.2f%%, rmse %.3g, lr %.2g", agr, rmse, lr))
		if agr > best.Agreement || (agr == best.Agreement && rmse < best.RMSE) {
			best.Net, best.Agreement, best.RMSE, calm = cur, agr, rmse, 0
		} else if calm++; calm >= cfg.Patience {
			if lr/cfg.LearnRate < 1.0/64 {
				break
			}
			// Plateau: continue from the best network with half the learning rate.
			lr /= 2
			calm = 0
			if err := f.restart(best.Net, lr); err != nil {
				return nil, err
			}
		}
		if best.Agreement >= cfg.TargetAgreement && cfg.TargetAgreement > 0 && epoch >= cfg.MinEpochs {
			break
		}
	}
	ph.Finish(fmt.Sprintf("held-out agreement %.2f%% after %d epochs", best.Agreement, epochs))
	best.Net.Norm = set.Normalize
	best.Epochs = epochs
	best.Seconds = time.Since(start).Seconds()
	return best, nil
}

// holdOut splits the set into held-out rows (up to holdout, at most a fifth of the set, or the set's own
// HX and HY) and training rows.
func holdOut(set *Set, holdout int, rng *rand.Rand) (hx, hy, tx, ty []float64) {
	n := set.Rows()
	hold := min(holdout, n/5)
	perm := rng.Perm(n)
	pick := func(idx []int, v []float64, w int) []float64 {
		out := make([]float64, 0, len(idx)*w)
		for _, i := range idx {
			out = append(out, v[i*w:(i+1)*w]...)
		}
		return out
	}
	hx, hy = pick(perm[:hold], set.X, set.D), pick(perm[:hold], set.Y, set.M)
	tx, ty = pick(perm[hold:], set.X, set.D), pick(perm[hold:], set.Y, set.M)
	if set.HX != nil {
		return set.HX, set.HY, set.X, set.Y
	}
	return hx, hy, tx, ty
}

// initialNetwork is the network training starts from: random weights, the ReLU teacher rewritten for
// the activation (init_from_teacher), or a saved network (init), with the set's normalization.
func initialNetwork(set *Set, cfg *configs.Train, rng *rand.Rand) (*nn.Network, error) {
	act, err := activation.Parse(cfg.Activation)
	if err != nil {
		return nil, err
	}
	sizes := append(append([]int{set.D}, cfg.Hidden...), set.M)
	net := nn.Random(rng, sizes, act, activation.Identity)
	if cfg.InitFromTeacher {
		if set.Teacher == nil {
			return nil, fmt.Errorf("init_from_teacher: no teacher (a CSV set)")
		}
		if net, err = FromReLU(set.Teacher, act, cfg.Sharpness); err != nil {
			return nil, err
		}
	}
	if cfg.Init != "" {
		if net, err = resume(cfg.Init, sizes, act, rng); err != nil {
			return nil, err
		}
	}
	net.Norm = set.Normalize
	return net, nil
}

// heldOutScore is the network's argmin agreement with the targets hy on the rows hx (0 without rows)
// and its output RMSE there.
func heldOutScore(net *nn.Network, hx, hy []float64, m int) (agreement, rmse float64) {
	if len(hx) == 0 {
		return 0, 0
	}
	y := net.Forward(hx)
	se := 0.0
	for i := range y {
		se += (y[i] - hy[i]) * (y[i] - hy[i])
	}
	return nn.Agreement(y, hy, m), math.Sqrt(se / float64(len(y)))
}

// fitter holds a training graph with its solver and the batch buffers it is fed from.
type fitter struct {
	gr                 *fitGraph
	opt                *Optimizer
	cfg                *configs.Train
	d, m, batch        int
	dec                []property.Conjunction
	margin             float64
	sseW, keepW        float64
	bx, bt, bw, bk, bm []float64
}

func newFitter(net *nn.Network, set *Set, cfg *configs.Train, batch int, scale float64) (*fitter, error) {
	dec := property.OrderConjunctions(set.M)
	f := &fitter{cfg: cfg, d: set.D, m: set.M, batch: batch, dec: dec, margin: cfg.Margin * scale,
		sseW:  1 / (float64(batch) * float64(set.M) * scale * scale),
		keepW: cfg.Keep / (float64(batch) * scale),
		bx:    make([]float64, batch*set.D), bt: make([]float64, batch*set.M), bw: make([]float64, batch),
		bk: make([]float64, batch*len(dec)), bm: make([]float64, batch*len(dec)),
		opt: NewAdam(cfg.LearnRate)}
	var err error
	f.gr, err = rebuild(net, batch, dec, f.margin, cfg.CapMargin)
	return f, err
}

// restart continues from net with a new solver at learning rate lr.
func (f *fitter) restart(net *nn.Network, lr float64) error {
	f.gr.Close()
	var err error
	if f.gr, err = rebuild(net, f.batch, f.dec, f.margin, f.cfg.CapMargin); err != nil {
		return err
	}
	f.opt = NewAdam(lr)
	return nil
}

// epoch takes one solver step on each whole batch of the training rows in order; the shuffle covers
// the rest over epochs.
func (f *fitter) epoch(tx, ty []float64, order []int) error {
	d, m, w := f.d, f.m, len(f.dec) // w: hinge entries per row
	for s := 0; s+f.batch <= len(order); s += f.batch {
		for b := 0; b < f.batch; b++ {
			r := order[s+b]
			copy(f.bx[b*d:(b+1)*d], tx[r*d:(r+1)*d])
			t := ty[r*m : (r+1)*m]
			copy(f.bt[b*m:(b+1)*m], t)
			f.bw[b] = f.sseW
			hingeRow(t, f.cfg.Rank, f.keepW, f.margin, f.bk[b*w:(b+1)*w], f.bm[b*w:(b+1)*w])
		}
		for _, in := range []struct {
			n *G.Node
			v []float64
		}{{f.gr.X, f.bx}, {f.gr.tn, f.bt}, {f.gr.wn, f.bw}, {f.gr.kn, f.bk}, {f.gr.mn, f.bm}} {
			if in.n == nil {
				continue
			}
			if err := f.gr.Feed(in.n, in.v); err != nil {
				return err
			}
		}
		if _, err := f.gr.Run(); err != nil {
			return err
		}
		if err := f.opt.Step(f.gr.Graph); err != nil {
			return err
		}
	}
	return nil
}

// hingeRow fills one row's decision-hinge weights k and margins mg (m(m-1) each; conjunction a*(m-1)+i
// says y_j <= y_a, i the index of j among the outputs other than a) for the targets t: weight keepW for
// the decision's pairs (a the argmin of t, every j), or with rank for every pair that t orders (t_a <
// t_j), and 0 elsewhere; each weighed pair's margin capped at half the targets' own gap,
// min(margin, (t_j - t_a)/2), so that the targets are a zero of the hinge with room to spare (at a gap of
// exactly the margin a hinge's gradient is not zero). CapMargin feeds mg; else the margin is margin.
func hingeRow(t []float64, rank bool, keepW, margin float64, k, mg []float64) {
	m := len(t)
	clear(k)
	clear(mg)
	dec := nn.Argmin(t)
	for a := 0; a < m; a++ {
		if !rank && a != dec {
			continue
		}
		for j, i := 0, 0; j < m; j++ {
			if j == a {
				continue
			}
			if !rank || t[a] < t[j] {
				k[a*(m-1)+i] = keepW
				mg[a*(m-1)+i] = min(margin, (t[j]-t[a])/2)
			}
			i++
		}
	}
}

// resume loads the network to start from and checks that it has the layer sizes and hidden activation
// asked for, and a linear output layer. A network with as many layers but narrower hidden ones is widened
// first (widen): it computes the same function, with room to grow.
func resume(path string, sizes []int, act activation.Activation, rng *rand.Rand) (*nn.Network, error) {
	file, err := datasets.Resolve(path)
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	net, err := netio.Load(file)
	if err != nil {
		return nil, fmt.Errorf("init: %w", err)
	}
	if !net.AllDense() {
		return nil, fmt.Errorf("init %s: %w", path, nn.ErrNotDense)
	}
	got := []int{net.Inputs()}
	for _, l := range net.Layers {
		got = append(got, l.Out)
	}
	narrower := len(got) == len(sizes) && got[0] == sizes[0] && got[len(got)-1] == sizes[len(sizes)-1]
	for k := range got {
		narrower = narrower && got[k] <= sizes[k]
	}
	if !narrower {
		return nil, fmt.Errorf("init %s: layer sizes %v, the config asks for %v", path, got, sizes)
	}
	for k, l := range net.Layers {
		want := act
		if k == len(net.Layers)-1 {
			want = activation.Identity
		}
		if l.Act != want {
			return nil, fmt.Errorf("init %s: layer %d is %s, the config asks for %s", path, k+1, l.Act, want)
		}
	}
	if !slices.Equal(got, sizes) {
		net = widen(net, sizes, rng)
	}
	return net, nil
}

// widen returns net with its hidden layers grown to sizes (which keeps its input and output sizes and
// its depth, and is nowhere narrower). The new neurons' incoming weights and biases are random, as
// nn.Random draws them, and their weights into the original neurons are zero, so the widened network
// computes net's function exactly; training moves those weights first (their gradients are the new
// neurons' outputs times the next layer's), the incoming ones after.
func widen(net *nn.Network, sizes []int, rng *rand.Rand) *nn.Network {
	out := &nn.Network{Norm: net.Norm}
	for k, l := range net.Layers {
		in, o := sizes[k], sizes[k+1]
		w := nn.Layer{In: in, Out: o, W: make([]float64, in*o), B: make([]float64, o), Act: l.Act}
		lim := math.Sqrt(6 / float64(in+o))
		copy(w.B, l.B)
		for j := range l.Out { // the original neurons: their weights, zero from the new inputs
			copy(w.W[j*in:], l.W[j*l.In:(j+1)*l.In])
		}
		for j := l.Out; j < o; j++ {
			w.B[j] = (2*rng.Float64() - 1) * 0.1
			for i := range in {
				w.W[j*in+i] = (2*rng.Float64() - 1) * lim
			}
		}
		out.Layers = append(out.Layers, w)
	}
	return out
}

// fitGraph is a compiled training graph with its extra inputs.
type fitGraph struct {
	*Graph
	tn, wn, kn *G.Node
	mn         *G.Node // the hinge's margin per row and pair (nil: margin, the same for all)
}

// rebuild compiles the training graph of net: the weighted squared error plus the decision hinge over the
// conjunctions dec, with the margin given, or (capped) a margin per row and pair fed at mn.
func rebuild(net *nn.Network, batch int, dec []property.Conjunction, margin float64, capped bool) (*fitGraph, error) {
	gr, err := NewGraph(net, batch, Options{})
	if err != nil {
		return nil, err
	}
	g := &fitGraph{Graph: gr}
	g.tn = gr.NewInput("target", batch, net.Outputs())
	g.wn = gr.NewInput("sse_w", batch, 1)
	g.kn = gr.NewInput("keep_w", batch, len(dec))
	loss, err := gr.WeightedSSE(gr.Out, g.tn, g.wn)
	if err == nil {
		var keep *G.Node
		if capped {
			g.mn = gr.NewInput("keep_margin", batch, len(dec))
			keep, err = gr.ViolationLossPer(gr.Out, dec, g.kn, g.mn)
		} else {
			keep, err = gr.ViolationLoss(gr.Out, dec, g.kn, margin)
		}
		if err == nil {
			if loss, err = G.Add(loss, keep); err == nil {
				err = gr.Compile(loss)
			}
		}
	}
	if err != nil {
		gr.Close()
		return nil, err
	}
	return g, nil
}

func standardize(y []float64, m int) {
	n := len(y) / m
	total := 0.0
	spreads := make([]float64, n)
	for r := 0; r < n; r++ {
		row := y[r*m : (r+1)*m]
		mean := 0.0
		for _, v := range row {
			mean += v / float64(m)
		}
		ss := 0.0
		for i := range row {
			row[i] -= mean
			ss += row[i] * row[i]
		}
		spreads[r] = math.Sqrt(ss / float64(m))
		total += spreads[r]
	}
	floor := 1e-3*total/float64(max(n, 1)) + 1e-300
	for r := 0; r < n; r++ {
		for i := r * m; i < (r+1)*m; i++ {
			y[i] /= spreads[r] + floor
		}
	}
}
